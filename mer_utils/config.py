"""Paths, profiles, seeding and run manifests: the bottom layer of the package.

This module imports nothing from ``mer_utils`` (``tests/test_layers.py`` checks it), so
every other module may import it. The run context a notebook starts with
(:func:`mer_utils.context.setup_run`) is built on top of it in :mod:`mer_utils.context`.

``Profile`` holds the knobs shared by all notebooks (demo-corpus size, caps on real data,
workers, generic training defaults). A paper's own settings per profile live in its
module under :mod:`mer_utils.papers`.
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
_HASH_SEED_AT_START = os.environ.get("PYTHONHASHSEED", "unset")


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


def new_stamped_folder(parent: Path, prefix: str, what: str = "folder") -> Path:
    """A folder of its own, ``<parent>/<prefix>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... when
    another one was made in the same second), created atomically: never an earlier one, so
    nothing a user ran or saved before is overwritten (run folders, saved models)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = parent / (f"{prefix}-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a {what} under {parent}")


DETERMINISTIC_ENV = "MER_DETERMINISTIC"
_deterministic_override: bool | None = None    # set by seed_everything(..., deterministic=...)
_determinism_applied: dict[str, Any] = {}      # backend + settings, once switched on

_DETERMINISM_NOTES = {
    "tensorflow": {
        "default": "seeded (Python, numpy, Keras/TF global seeds); TF kernels may still reduce "
                   "in a varying order (multi-threaded CPU ops, GPU atomics): reruns can differ "
                   "in the last bits",
        "deterministic": "tf.config.experimental.enable_op_determinism(): every op runs a "
                         "deterministic kernel (ops without one raise); tf.data stays ordered; "
                         "slower, mostly on GPU",
    },
    "torch": {
        "default": "seeded (Python, numpy, torch.manual_seed via Keras); cuDNN autotuning and "
                   "atomic adds on GPU may vary between reruns; CPU kernels are deterministic "
                   "for a fixed number of threads",
        "deterministic": "torch.use_deterministic_algorithms(True) (ops without a deterministic "
                         "kernel raise), torch.backends.cudnn.deterministic=True, "
                         "cudnn.benchmark=False, CUBLAS_WORKSPACE_CONFIG=:4096:8",
    },
    "jax": {
        "default": "seeded (Python, numpy, Keras's JAX seed generator); XLA on CPU is "
                   "deterministic; on GPU some reductions and scatters use atomics",
        "deterministic": "XLA_FLAGS=--xla_gpu_deterministic_ops=true (GPU only, and only when "
                         "set before JAX starts its backend: start the kernel with "
                         "MER_DETERMINISTIC=1); CPU runs are deterministic already",
    },
}


def deterministic_mode() -> bool:
    """Whether deterministic kernels are asked for: ``seed_everything(..., deterministic=)``
    when given, else the environment variable ``MER_DETERMINISTIC`` (1/true/yes/on)."""
    if _deterministic_override is not None:
        return _deterministic_override
    return os.environ.get(DETERMINISTIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _prepare_environment_for_determinism() -> None:
    """Environment variables the torch and JAX GPU back ends read when they start (no import).

    Set before Keras (and its backend) is imported they take effect; set later they may
    not, which :func:`determinism_info` records.
    """
    global _xla_flag_late
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")      # deterministic cuBLAS
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_gpu_deterministic_ops=true").strip()
        _xla_flag_late = "jax" in sys.modules


_xla_flag_late = False


def _apply_determinism(backend: str) -> None:
    """Switch the backend to deterministic kernels (imports only what Keras already did).

    Once on, it stays on for the rest of the process.
    """
    global _determinism_applied
    if _determinism_applied.get("backend") == backend:
        return
    settings: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        settings.append("tf.config.experimental.enable_op_determinism()")
    elif backend == "torch":
        import torch

        cuda_started = bool(torch.cuda.is_available() and torch.cuda.is_initialized())
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        settings += ["torch.use_deterministic_algorithms(True)", "torch.backends.cudnn.deterministic=True",
                     "torch.backends.cudnn.benchmark=False",
                     f"CUBLAS_WORKSPACE_CONFIG={os.environ.get('CUBLAS_WORKSPACE_CONFIG')}"
                     + (" (set after CUDA started: may not apply)" if cuda_started else "")]
    elif backend == "jax":
        settings.append(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')}"
                        + (" (set after JAX was imported: may not apply on GPU)" if _xla_flag_late else ""))
    _determinism_applied = {"backend": backend, "settings": settings}


#: JAX's persistent compilation cache (a folder of the disposable cache; see below)
JAX_CACHE_DIR = CACHE_DIR / "jax-compilation"


def prepare_compilation_cache() -> str | None:
    """Keep JAX's compiled XLA programs on disk, in ``<MER_CACHE>/jax-compilation``.

    Under JAX every training step is compiled with XLA, once per model and input shape:
    10-40 s per step on 2 CPU cores, most of a smoke run (EfficientNetB0 in notebook 20:
    ~70 s of its ~130 s of training). The persistent cache lets a second process (a rerun,
    the test suite's next kernel) load them instead: the same programs, so the same
    numbers. Every compile is kept (JAX's default keeps only those over 1 s, which leaves
    out the ~50 weight initialisers of a network, ~0.5 s each). Environment variables are
    read when JAX is imported, so this sets them (unless already set: an empty
    ``JAX_COMPILATION_CACHE_DIR`` switches the cache off); when JAX is already imported
    its config is updated too, which applies until its first compile. Other backends
    ignore the variables. Returns the cache folder (None when off).
    """
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(JAX_CACHE_DIR))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    folder = os.environ["JAX_COMPILATION_CACHE_DIR"] or None
    if "jax" in sys.modules:
        import jax

        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs",
                          float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
    return folder


def seed_everything(seed: int, *, deterministic: bool | None = None) -> None:
    """Seed Python's and numpy's global generators, and Keras's (hence the backend's) when
    Keras is already imported; with deterministic mode on, also switch the backend to
    deterministic kernels.

    This is the one place that reseeds global generators: it is called when a run starts
    (:func:`mer_utils.context.setup_run`) and right before a network is built and trained
    (:mod:`mer_utils.training`). Everything else in the package draws from local,
    explicitly seeded generators (``np.random.default_rng(seed)``).

    Keras is not imported here (importing it pulls in the backend, seconds of start-up
    for notebooks that train nothing): code that builds a model seeds again after
    importing Keras, and that call also applies the deterministic mode. The mode is off by
    default; ``MER_DETERMINISTIC=1`` in the environment (``MER_DETERMINISTIC=1
    ./run_all.sh ...``; kernels inherit it) or ``deterministic=True`` here switches it on
    for the rest of the process. Per backend: TensorFlow
    ``tf.config.experimental.enable_op_determinism()``; torch
    ``torch.use_deterministic_algorithms(True)`` with cuDNN's deterministic flags and
    ``CUBLAS_WORKSPACE_CONFIG``; JAX: deterministic on CPU already, on GPU
    ``XLA_FLAGS=--xla_gpu_deterministic_ops=true`` (set at the first seeding, before
    Keras/JAX start). The manifest's ``determinism`` entry records what ran
    (:func:`determinism_info`).

    ``PYTHONHASHSEED`` only takes effect when set before the interpreter starts; the
    runner sets it for every kernel, and the manifest records the value the kernel
    started with (:func:`hash_seed`) rather than claiming one.
    """
    global _deterministic_override
    if deterministic is not None:
        _deterministic_override = bool(deterministic)
    on = deterministic_mode()
    if on:
        _prepare_environment_for_determinism()
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        import keras

        if on:
            _apply_determinism(keras.backend.backend())
        keras.utils.set_random_seed(seed)


def determinism_info() -> dict[str, Any]:
    """The manifest's ``determinism`` entry: the mode (``default`` or ``deterministic``),
    what asked for it, the backend, the settings applied, and what the mode guarantees."""
    applied = bool(_determinism_applied)
    mode = "deterministic" if (applied or deterministic_mode()) else "default"
    if applied:
        backend = _determinism_applied["backend"]
    elif "keras" in sys.modules:
        backend = sys.modules["keras"].backend.backend()
    else:
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    settings = list(_determinism_applied.get("settings", []))
    if mode == "deterministic" and not applied:
        settings = ["pending: no Keras model was seeded in this process (nothing to apply)"]
    return {
        "mode": mode,
        "requested_by": ("seed_everything(deterministic=...)" if _deterministic_override is not None
                         else f"{DETERMINISTIC_ENV}={os.environ.get(DETERMINISTIC_ENV, '') or 'unset'}"),
        "backend": backend,
        "applied": settings,
        "note": _DETERMINISM_NOTES.get(backend, {}).get(mode, ""),
    }


def hash_seed() -> str:
    """``PYTHONHASHSEED`` as this interpreter started with it ("unset" when random)."""
    return _HASH_SEED_AT_START


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
                info["compilation_cache"] = str(jax.config.jax_compilation_cache_dir or "off")
        except Exception as exc:  # pragma: no cover - informative only
            info["device"] = f"unknown ({exc})"
    info.setdefault("device", "CPU (keras not imported)")
    if os.environ.get("MER_SCHEDULER"):  # feature extraction on a dask cluster (runner --scheduler)
        info["feature_scheduler"] = os.environ["MER_SCHEDULER"]
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
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)  # paper configurations

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
            determinism=determinism_info(),
            python_hash_seed=hash_seed(),
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
