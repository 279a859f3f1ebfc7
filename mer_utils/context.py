"""The run context a notebook starts with: profile, seed, output folders, data root, manifest.

Every notebook's first code cell after its parameters is::

    ctx = setup_run("40_velankar_crnn", profile=profile, data_root=data_root, seed=seed)

and from then on it reads shared knobs from ``ctx.p`` (the profile), writes tables with
``ctx.save_table``, figures with ``ctx.savefig`` and records data sources and
substitutions in ``ctx.manifest``, which is written beside every result. A paper's own
settings come from its module (``mer_utils.papers.<paper>.config(ctx)``).

Outputs are replaced only by a complete run. Under the runner (``run_all.sh``, which sets
``MER_STAGE``) tables, figures and the manifest are written to a staging folder,
``results/<label>/.incomplete/<notebook>/``, and moved into place (file by file, the
manifest last) only when the notebook has finished without error; a failed, killed or
interrupted run leaves the previous complete run's outputs as they were, and its staging
folder is discarded when that notebook next starts. Without ``MER_STAGE`` (a notebook
opened in Jupyter) outputs are written in place, as each cell runs. Stored predictions
stage themselves unit by unit (:mod:`mer_utils.results`); under the runner a complete set is
not swapped into ``predictions/`` at once but with the notebook's tables when it completes
(:func:`mer_utils.results.defer_commits`), so a killed notebook never leaves new
predictions beside old tables.

This module sits above :mod:`mer_utils.config`, :mod:`mer_utils.datasets` and
:mod:`mer_utils.results`; it imports no model code, so starting a run imports no Keras.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from mer_utils.config import (CACHE_DIR, FIGURES_DIR, RAW_DIR, RESULTS_DIR, ROOT, Manifest,
                              Profile, atomic_write_text, get_profile, prepare_compilation_cache,
                              seed_everything)
from mer_utils.results import defer_commits, swap_deferred

__all__ = ["RunContext", "setup_run", "check_notebook_parameters", "unknown_parameters", "output_label", "resolve_data_root", "commit_stage",
           "recover_stage", "stage_dir", "STAGE_ENV"]

#: Set by the runner to a folder of its own: a notebook started with it stages its outputs
#: and registers its staging folder there, for the runner to commit on success.
STAGE_ENV = "MER_STAGE"
STAGE_FOLDER = ".incomplete"
_COMPLETE = "COMPLETE"      # marker: the notebook finished; the stage may be moved into place
_STAGE_INFO = "stage.json"  # where the staged files go, and which run staged them


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
    stage: Path | None = None  # staging folder under the runner; None: write in place

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

    def output_dir(self, name: str = "", *, kind: str = "results") -> Path:
        """Folder this notebook writes its own outputs into: ``results/<label>/<name>`` (or
        ``figures/<label>/<name>`` with ``kind="figures"``), or the matching place in its
        staging folder under the runner. Read earlier notebooks' outputs from
        ``ctx.results_dir``, which holds committed (complete) runs only."""
        if kind not in ("results", "figures"):
            raise ValueError(f"kind must be 'results' or 'figures', not {kind!r}")
        if self.stage is not None:
            d = self.stage / kind / name
        else:
            d = (self.results_dir if kind == "results" else self.figures_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def save_table(self, df, name: str, *, index: bool = False, floatfmt: str = ".3f",
                   caption: str = "") -> Path:
        """Write a table as CSV and Markdown under results/<label>/ and refresh the manifest.

        ``caption``: a line written above the Markdown table (what it shows, on which data,
        how it departs from the paper); the CSV holds the data only. Under the runner both
        go to the staging folder first (the returned path is there) and replace the
        previous run's only when the notebook completes."""
        from mer_utils.config import atomic_write_text
        from mer_utils.results import write_table

        path = write_table(df, self.output_dir() / name, index=index, floatfmt=floatfmt)
        if caption:
            md = path.with_suffix(".md")
            atomic_write_text(md, f"{caption}\n\n{md.read_text()}")
        self.write_manifest()
        return path

    def savefig(self, fig, name: str, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG under figures/<label>/ (staged under the runner)."""
        path = self.output_dir(kind="figures") / f"{name}.png"
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
        return path

    def write_manifest(self) -> Path:
        return self.manifest.write(self.output_dir("manifests") / self.notebook)


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
    check_notebook_parameters(notebook)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{notebook}: the parameter 'seed' must be a non-negative integer, not {seed!r}")
    p = get_profile(profile)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        p = p.replace(**overrides)
    prepare_compilation_cache()      # JAX's compiled programs kept across processes
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
    sabotage = os.environ.get("MER_SABOTAGE", "").strip()    # training.engine.SABOTAGE_ENV
    if sabotage:
        msg = (f"MER_SABOTAGE={sabotage}: every network of this run is trained on broken labels on purpose "
               "(the check that the learning tests can fail); its scores mean nothing")
        print("WARNING:", msg)
        man.notes.append(msg)
    stage = _open_stage(results_dir, figures_dir, notebook, os.environ.get(STAGE_ENV) or None)
    defer_commits(stage)     # under the runner, stored predictions are swapped in with the tables
    return RunContext(notebook=notebook, p=p, seed=seed, data_root=root,
                      results_dir=results_dir, figures_dir=figures_dir, manifest=man, stage=stage)


# --------------------------------------------------------------------------- parameters
#: The first line of the cell papermill injects after a notebook's ``parameters`` cell.
INJECTED_HEADER = "# Parameters"


def _assigned_names(source: str) -> list[str]:
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def unknown_parameters(parameters_cell: str, injected_cell: str) -> list[str]:
    """Names the injected cell sets that the notebook's ``parameters`` cell does not have."""
    known = set(_assigned_names(parameters_cell))
    return [n for n in _assigned_names(injected_cell) if n not in known]


def check_notebook_parameters(notebook: str) -> None:
    """In a kernel that papermill (or the runner) drives: refuse a parameter the notebook does
    not have (``-p epochz 3`` would otherwise be a silent no-op that papermill only warns
    about). Reads the cells this kernel executed: the injected one and the ``parameters``
    cell just before it. Outside IPython, or without injected parameters, does nothing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    history = list(ip.user_ns.get("In") or []) if ip is not None else []
    for i, src in enumerate(history):
        if i and isinstance(src, str) and src.lstrip().startswith(INJECTED_HEADER):
            unknown = unknown_parameters(history[i - 1] or "", src)
            if unknown:
                known = _assigned_names(history[i - 1] or "")
                raise ValueError(f"{notebook}: unknown parameter(s) {unknown} (given with papermill -p or "
                                 f"the runner); this notebook's parameters are {known}")
            return


# --------------------------------------------------------------------------- output staging
def stage_dir(results_dir: Path | str, notebook: str) -> Path:
    """``results/<label>/.incomplete/<notebook>/``: where a runner-started notebook stages."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in notebook) or "notebook"
    return Path(results_dir) / STAGE_FOLDER / safe


def _open_stage(results_dir: Path, figures_dir: Path, notebook: str, token: str | None) -> Path | None:
    """Finish or discard what an earlier run of this notebook left staged; under the runner
    (``token`` = its ``MER_STAGE`` folder) open a fresh staging folder and register it."""
    stage = stage_dir(results_dir, notebook)
    info = _read_info(stage)
    if token is not None and info.get("token") == token and not (stage / _COMPLETE).exists():
        return stage  # setup_run called again in the same notebook run: keep what it staged
    recover_stage(stage)
    if token is None:
        return None
    stage.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stage / _STAGE_INFO, json.dumps(
        {"notebook": notebook, "results_dir": str(results_dir), "figures_dir": str(figures_dir),
         "token": token, "pid": os.getpid()}, indent=2))
    registry = Path(token)
    key = hashlib.sha1(str(stage).encode()).hexdigest()[:12]
    atomic_write_text(registry / f"{key}.json", json.dumps({"stage": str(stage)}))
    return stage


def _read_info(stage: Path) -> dict:
    try:
        return json.loads((stage / _STAGE_INFO).read_text())
    except (OSError, ValueError):
        return {}


def staged_outputs(stage: Path | str) -> list[tuple[Path, Path]]:
    """(staged file, its final place) for every file in ``stage``; manifests last."""
    stage = Path(stage)
    info = _read_info(stage)
    if not info:
        return []
    pairs = []
    for kind, dest in (("results", info["results_dir"]), ("figures", info["figures_dir"])):
        base = stage / kind
        if not base.is_dir():
            continue
        for src in sorted(base.rglob("*")):
            if src.is_file() and not src.name.startswith("."):  # .name.tmpPID: an unfinished write
                pairs.append((src, Path(dest) / src.relative_to(base)))
    pairs.sort(key=lambda pair: "manifests" in pair[0].relative_to(stage).parts)  # stable: manifests last
    return pairs


def commit_stage(stage: Path | str) -> list[Path]:
    """Move a finished notebook's staged outputs into place and remove the staging folder.

    First a ``COMPLETE`` marker is written (from then on the stage counts as a complete
    run: a commit cut short, even by SIGKILL, is finished by :func:`recover_stage` when
    the notebook next starts); then the complete prediction sets the notebook stored are
    swapped into ``predictions/`` (:func:`mer_utils.results.swap_deferred`), then each file
    replaces its final copy atomically (``os.replace``), tables and figures first,
    manifests last. Returns the final paths.
    """
    stage = Path(stage)
    if not stage.is_dir():
        return []
    marker = stage / _COMPLETE
    if not marker.exists():
        atomic_write_text(marker, "complete\n")
    moved = swap_deferred(stage)          # the notebook's complete prediction sets first
    for src, dst in staged_outputs(stage):
        _replace(src, dst)
        moved.append(dst)
    shutil.rmtree(stage, ignore_errors=True)
    _remove_if_empty(stage.parent)
    return moved


def recover_stage(stage: Path | str) -> str | None:
    """What an earlier run left in ``stage``: finish its commit if it had completed
    (``"committed"``), else discard the partial outputs (``"discarded"``); None if nothing."""
    stage = Path(stage)
    if not stage.exists():
        return None
    if (stage / _COMPLETE).exists():
        commit_stage(stage)
        return "committed"
    shutil.rmtree(stage, ignore_errors=True)
    _remove_if_empty(stage.parent)
    return "discarded"


def _replace(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # figures/ on another file system than results/: copy beside, then rename in place
        tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
        src.unlink()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
