"""The run context a notebook starts with: profile, seed, output folders, data root, manifest.

Every notebook's first code cell after its parameters is::

    ctx = setup_run("40_velankar_crnn", profile=profile, data_root=data_root, seed=seed)

and from then on it reads shared knobs from ``ctx.p`` (the profile), writes tables with
``ctx.save_table``, figures with ``ctx.savefig`` and records data sources and
substitutions in ``ctx.manifest``, which is written beside every result. A paper's own
settings come from its module (``mer_utils.papers.<paper>.config(ctx)``).

This module sits above :mod:`mer_utils.config`, :mod:`mer_utils.datasets` and
:mod:`mer_utils.results`; it imports no model code, so starting a run imports no Keras.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from mer_utils.config import (CACHE_DIR, FIGURES_DIR, RAW_DIR, RESULTS_DIR, ROOT, Manifest,
                              Profile, get_profile, seed_everything)

__all__ = ["RunContext", "setup_run", "output_label", "resolve_data_root"]


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
        """Write a table as CSV and Markdown under results/<label>/ and refresh the manifest."""
        from mer_utils.results import write_table

        path = write_table(df, self.results_dir / name, index=index, floatfmt=floatfmt)
        self.write_manifest()
        return path

    def savefig(self, fig, name: str, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG under figures/<label>/."""
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        path = self.figures_dir / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def write_manifest(self) -> Path:
        return self.manifest.write(self.results_dir / "manifests" / self.notebook)


def resolve_data_root(data_root: str | os.PathLike | None) -> Path | None:
    """The data root as an absolute path (``None``: data/raw/ and the demo corpus).

    Relative paths are tried against the working directory, then the project root
    (papermill runs a notebook with its working directory in ``notebooks/``).
    """
    if data_root in (None, ""):
        env = os.environ.get("MER_DATA")
        if not env:
            return None
        data_root = env
    path = Path(data_root).expanduser()
    if not path.is_absolute():
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
    """Folder name for a run's outputs: the profile, plus the data root's name and a short
    hash of its absolute path when one is given.

    ``results/demo/`` holds the default run (data/raw/ and the demo corpus); a run with
    ``--data ../shared/data/4q-dev`` writes to ``results/demo-4q-dev-<hash>/``: two data
    roots never share an output folder, even when their folders have the same name.
    """
    if data_root is None:
        return profile
    absolute = str(Path(data_root).expanduser().resolve())
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(absolute).name).strip("-.")
    digest = hashlib.sha1(absolute.encode()).hexdigest()[:6]
    return f"{profile}-{slug or 'data'}-{digest}"


def setup_run(notebook: str, *, profile: str = "demo", data_root: str | None = None,
              seed: int = 0, **overrides: Any) -> RunContext:
    """Resolve profile + overrides, seed, create output folders, start a manifest.

    ``overrides`` whose value is ``None`` are ignored, so a notebook's parameters cell can
    hold ``epochs = None`` meaning "take it from the profile".
    """
    p = get_profile(profile)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        p = p.replace(**overrides)
    seed_everything(seed)
    root = resolve_data_root(data_root)
    label = output_label(p.name, root)
    results_dir = RESULTS_DIR / label
    figures_dir = FIGURES_DIR / label
    results_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    man = Manifest(notebook=notebook, profile=p.to_dict(), seed=seed,
                   data_root=str(root) if root else None)
    if overrides:
        man.notes.append(f"profile overrides: {overrides}")
    return RunContext(notebook=notebook, p=p, seed=seed, data_root=root,
                      results_dir=results_dir, figures_dir=figures_dir, manifest=man)
