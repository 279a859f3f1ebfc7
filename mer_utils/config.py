"""Paths, profiles, seeding and run manifests: the single source of knobs.

Every notebook starts with::

    ctx = setup_run("40_velankar_crnn", profile=profile, data_root=data_root, seed=seed)

and from then on reads its knobs from ``ctx.p`` (the profile), writes tables with
``ctx.save_table``, figures with ``ctx.savefig`` and records data sources and
substitutions in ``ctx.manifest``, which is written beside every result.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(os.environ.get("MER_ROOT", Path(__file__).resolve().parents[1]))
DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"          # real data sets, never written to
CACHE_DIR = Path(os.environ.get("MER_CACHE", DATA_DIR / "cache"))  # derived, disposable
RESULTS_DIR = Path(os.environ.get("MER_RESULTS", ROOT / "results"))
FIGURES_DIR = Path(os.environ.get("MER_FIGURES", ROOT / "figures"))
PACKAGE_DATA = Path(__file__).resolve().parent / "data"

PROFILE_NAMES = ("smoke", "demo", "full")


@dataclasses.dataclass(frozen=True)
class Profile:
    """One named parameter set. Values live here and nowhere else.

    Notebooks may override single values through their parameters cell
    (``Profile.replace(epochs=3)``), which is then recorded in the manifest.
    """

    name: str
    # demo corpus
    demo_clips_per_quadrant: int   # clips per quadrant per demo source
    demo_sources: tuple[str, ...]  # which mimicked sources the demo corpus has
    demo_sr: int                   # sample rate the demo corpus is written at
    # training
    epochs: int
    batch_size: int
    folds: int                     # k of k-fold CV
    repeats: int                   # repeats of repeated k-fold (methods paper: 10)
    seeds: tuple[int, ...]         # seeds for repeated training runs
    patience: int                  # early stopping patience (validation only)
    # front ends / models
    image_size: int                # multi-source paper image side (300 in the paper)
    max_tracks: int | None         # cap on real tracks per data set (None: all)
    n_jobs: int                    # joblib workers for feature extraction
    # free-form extras a notebook may read with ctx.p.get("name", default)
    extras: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        if hasattr(self, key) and key != "extras":
            return getattr(self, key)
        return dict(self.extras).get(key, default)

    def replace(self, **changes: Any) -> "Profile":
        known = {f.name for f in dataclasses.fields(self)}
        direct = {k: v for k, v in changes.items() if k in known}
        extra = dict(self.extras)
        extra.update({k: v for k, v in changes.items() if k not in known})
        return dataclasses.replace(self, **direct, extras=tuple(sorted(extra.items())))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["extras"] = dict(self.extras)
        return d


_ALL_SOURCES = ("4q", "pmemo", "deam", "bimodal")

PROFILES: dict[str, Profile] = {
    # CI minutes: a tiny corpus, one epoch, two folds.
    "smoke": Profile(
        name="smoke", demo_clips_per_quadrant=4, demo_sources=_ALL_SOURCES, demo_sr=16000,
        epochs=1, batch_size=8, folds=2, repeats=1, seeds=(0,), patience=1,
        image_size=64, max_tracks=16, n_jobs=2,
    ),
    # The default main job on a 2-core laptop: learnable, in minutes.
    "demo": Profile(
        name="demo", demo_clips_per_quadrant=15, demo_sources=_ALL_SOURCES, demo_sr=16000,
        epochs=8, batch_size=16, folds=5, repeats=2, seeds=(0, 1, 2), patience=3,
        image_size=128, max_tracks=None, n_jobs=2,
    ),
    # Paper settings on real data (a GPU box).
    "full": Profile(
        name="full", demo_clips_per_quadrant=60, demo_sources=_ALL_SOURCES, demo_sr=22050,
        epochs=100, batch_size=32, folds=5, repeats=10, seeds=(0, 1, 2, 3, 4), patience=10,
        image_size=300, max_tracks=None, n_jobs=max(1, (os.cpu_count() or 2)),
    ),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}.")
    return PROFILES[name]


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and Keras (and through Keras the backend)."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules or _keras_importable():
        import keras

        keras.utils.set_random_seed(seed)


def _keras_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("keras") is not None


# --------------------------------------------------------------------------- manifest
def git_commit(root: Path = ROOT) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        sha = out.stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_VERSIONED = ("numpy", "scipy", "pandas", "scikit-learn", "scikit-multilearn-ng", "librosa",
              "soundfile", "keras", "tensorflow-cpu", "tensorflow", "torch", "jax", "gensim",
              "matplotlib", "papermill")


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def backend_info() -> dict[str, str]:
    """Keras backend and the device it computes on (without forcing a TF import)."""
    info = {"keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    if "keras" in sys.modules:
        import keras

        info["keras_backend"] = keras.backend.backend()
        try:
            if info["keras_backend"] == "tensorflow":
                import tensorflow as tf

                gpus = tf.config.list_physical_devices("GPU")
                info["device"] = f"GPU x{len(gpus)}" if gpus else "CPU"
            elif info["keras_backend"] == "torch":
                import torch

                info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
            elif info["keras_backend"] == "jax":
                import jax

                info["device"] = str(jax.devices()[0])
        except Exception as exc:  # pragma: no cover - informative only
            info["device"] = f"unknown ({exc})"
    info.setdefault("device", "CPU (keras not imported)")
    info["platform"] = platform.platform()
    return info


@dataclasses.dataclass
class Manifest:
    """What produced a result: written as ``manifest.json`` beside it."""

    notebook: str
    profile: dict[str, Any]
    seed: int
    data_root: str | None
    data_sources: dict[str, str] = dataclasses.field(default_factory=dict)
    substitutions: list[dict[str, str]] = dataclasses.field(default_factory=list)
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add_source(self, name: str, description: str) -> None:
        self.data_sources[name] = description

    def substitute(self, what: str, used: str, reason: str) -> None:
        """Record that ``used`` stands in for ``what`` (e.g. VGGish weights absent)."""
        entry = {"what": what, "used": used, "reason": reason}
        if entry not in self.substitutions:
            self.substitutions.append(entry)

    def skip(self, item: str, reason: str) -> None:
        """Record an input that was left out (corrupt, silent or too-short audio...)."""
        self.skipped.append({"item": item, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            git_commit=git_commit(),
            packages=package_versions(),
            backend=backend_info(),
        )
        return d

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "manifest.json"
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, default=str))
        return path


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- run context
@dataclasses.dataclass
class RunContext:
    """Everything a notebook needs: profile, seed, output folders, data roots, manifest."""

    notebook: str
    p: Profile
    seed: int
    data_root: Path | None
    results_dir: Path
    figures_dir: Path
    manifest: Manifest

    @property
    def profile(self) -> str:
        return self.p.name

    @property
    def cache_dir(self) -> Path:
        return CACHE_DIR

    def datasets(self) -> dict[str, Path]:
        """Real data sets found under the data root (name -> folder), by publisher layout."""
        from mer_utils.datasets import discover

        roots = [self.data_root] if self.data_root else [RAW_DIR]
        found: dict[str, Path] = {}
        for r in roots:
            found.update(discover(r))
        return found

    def save_table(self, df, name: str, *, index: bool = False, floatfmt: str = ".3f") -> Path:
        """Write a table as CSV and Markdown under results/<profile>/ and refresh the manifest."""
        from mer_utils.results import write_table

        path = write_table(df, self.results_dir / name, index=index, floatfmt=floatfmt)
        self.write_manifest()
        return path

    def savefig(self, fig, name: str, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG under figures/<profile>/."""
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        path = self.figures_dir / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def write_manifest(self) -> Path:
        return self.manifest.write(self.results_dir / "manifests" / self.notebook)


def _resolve_data_root(data_root: str | os.PathLike | None) -> Path | None:
    if data_root in (None, ""):
        env = os.environ.get("MER_DATA")
        if not env:
            return None
        data_root = env
    path = Path(data_root).expanduser()
    if not path.is_absolute():
        # papermill runs a notebook with cwd = notebooks/; users pass paths relative to the
        # project root or to where they stand. Try both, in that order.
        for base in (Path.cwd(), ROOT):
            if (base / path).exists():
                return (base / path).resolve()
    if not path.exists():
        raise FileNotFoundError(
            f"Data root {str(data_root)!r} does not exist. Pass --data with a folder that holds "
            f"one data set or several (one sub-folder each, as in data/raw/<name>/), "
            f"or leave it empty to use data/raw/ and the demo corpus.")
    return path.resolve()


def output_label(profile: str, data_root: Path | None) -> str:
    """Folder name for a run's outputs: the profile, plus the data root's name when one is given.

    ``results/demo/`` holds the default run (data/raw/ and the demo corpus); a run with
    ``--data ../shared/data/4q-dev`` writes to ``results/demo-4q-dev/``, so runs on other
    data never overwrite each other.
    """
    if data_root is None:
        return profile
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(data_root).name).strip("-.")
    return f"{profile}-{slug or 'data'}"


def setup_run(notebook: str, *, profile: str = "demo", data_root: str | None = None,
              seed: int = 0, **overrides: Any) -> RunContext:
    """Resolve profile + overrides, seed everything, create output folders, start a manifest.

    ``overrides`` whose value is ``None`` are ignored, so a notebook's parameters cell can
    hold ``epochs = None`` meaning "take it from the profile".
    """
    p = get_profile(profile)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        p = p.replace(**overrides)
    seed_everything(seed)
    root = _resolve_data_root(data_root)
    label = output_label(p.name, root)
    results_dir = RESULTS_DIR / label
    figures_dir = FIGURES_DIR / label
    results_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    man = Manifest(notebook=notebook, profile=p.to_dict(), seed=seed,
                   data_root=str(root) if root else None)
    if overrides:
        man.notes.append(f"profile overrides: {overrides}")
    ctx = RunContext(notebook=notebook, p=p, seed=seed, data_root=root,
                     results_dir=results_dir, figures_dir=figures_dir, manifest=man)
    return ctx
