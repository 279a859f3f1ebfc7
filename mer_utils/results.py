"""Results store: predictions per experiment x repeat x fold (x seed), tables built from them,
the papers' values beside.

Layout under ``results/<label>/``::

    predictions/<experiment>/r00-f03.npz     one unit: ids, y_true, y_score (+ y_pred), labels,
                                             info (JSON: history, timings...)
    predictions/<experiment>/meta.json       config, config_hash, units, what the experiment is
    predictions/.staging/<experiment>-<hash>/  units of a run not yet complete
    <table>.csv / <table>.md                 tables built from the stored predictions
    manifests/<notebook>/manifest.json       how they were produced

**Resumable, never half-deleted.** An :class:`ExperimentRun` is one experiment under one
configuration (its hash covers everything that changes the numbers: settings, split files,
features). Units are written to the staging folder as they finish; a rerun under the same
hash skips units stored there or in the committed folder; when every unit is stored the
staging folder is swapped in for the committed one in two renames. An interrupted run
therefore leaves the previous complete run's predictions, and every table built from
them, as they were. ``mer_utils.experiment.run_protocol`` is the loop that drives it.

**Paper values.** The papers' reported numbers live in
``mer_utils/data/paper_values_<paper>.csv`` (one file per paper, columns ``paper, table,
row, metric, value, note``; ``#`` lines are comments), transcribed from the paper, never
guessed, and never typed into a notebook. :func:`paper_values` reads them (a duplicated
cell or a value that is not a number is an error naming the file); :func:`compare_with_paper`
puts them beside ours. A cell the paper does not report is left out of the file, never
written with an empty value: :func:`empty_paper_values` lists empty ones, and the test suite
fails on any.

**Every compared cell has a paper value.** A paper module declares the cells its notebook
compares, and the comparison demands them:

1. in ``mer_utils/papers/<paper>.py`` (``<paper>`` is also the CSV's ``paper`` column),
   define ``PAPER_CELLS``: a tuple of ``(table, row, metric)`` -- every cell its notebook
   passes to :func:`compare_with_paper` (build it from the same names the steps use, so
   the two cannot drift apart; an empty tuple when the notebook compares nothing);
2. call ``compare_with_paper(ours, "<paper>", table, ..., require_paper=True)``: a
   reproduced cell without a paper value raises :class:`MissingPaperValue`, naming the
   cells, instead of showing NaN;
3. ``tests/test_paper_values.py`` imports every paper module and checks
   (:func:`missing_paper_values`) that each registered cell has a value in the CSV, so a
   missing one fails the suite before any notebook runs.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.config import PACKAGE_DATA, atomic_write_text

PAPER_VALUE_COLUMNS = ["paper", "table", "row", "metric", "value", "note"]
_SAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")
_UNIT_RE = re.compile(r"^r(\d+)-f(\d+)(?:-s(\d+))?$")
STAGING = ".staging"
_OLD = ".replaced"


class ResultsError(RuntimeError):
    """Stored predictions are missing, unreadable or belong to something else."""


def _safe(name: str) -> str:
    return _SAFE.sub("_", str(name)).strip("_") or "x"


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a configuration (canonical JSON; numpy values as lists)."""
    def norm(v):
        if isinstance(v, Mapping):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        if isinstance(v, np.ndarray):
            return norm(v.tolist())
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (np.floating,)):
            return float(v)
        if isinstance(v, Path):
            return str(v)
        return v
    text = json.dumps(norm(dict(config)), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass(frozen=True, order=True)
class Unit:
    """One train/test unit of a protocol: repeat ``r``, fold ``f`` and, where training is
    repeated with several seeds on one split, the seed."""

    repeat: int = 0
    fold: int = 0
    seed: int | None = None

    @property
    def key(self) -> str:
        k = f"r{int(self.repeat):02d}-f{int(self.fold):02d}"
        return k if self.seed is None else f"{k}-s{int(self.seed)}"

    @classmethod
    def from_key(cls, key: str) -> "Unit":
        m = _UNIT_RE.match(key)
        if not m:
            raise ValueError(f"not a unit key: {key!r} (expected r<repeat>-f<fold>[-s<seed>])")
        return cls(int(m[1]), int(m[2]), None if m[3] is None else int(m[3]))

    def __str__(self) -> str:
        return self.key


def as_unit(unit: "Unit | int") -> Unit:
    """A :class:`Unit`; a bare int means fold ``n`` of repeat 0."""
    return unit if isinstance(unit, Unit) else Unit(0, int(unit))


@dataclass
class FoldPredictions:
    """The stored predictions of one unit (repeat x fold [x seed]) of one experiment."""

    experiment: str
    fold: int
    ids: np.ndarray
    y_true: np.ndarray
    y_score: np.ndarray
    labels: list[str]
    y_pred: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    repeat: int = 0
    seed: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> Unit:
        return Unit(self.repeat, self.fold, self.seed)

    def predicted(self) -> np.ndarray:
        """Hard predictions: stored ones, else argmax (single-label) / 0.5 (multi-label)."""
        if self.y_pred is not None:
            return self.y_pred
        if self.y_true.ndim == 2:
            return (self.y_score >= 0.5).astype(int)
        return np.asarray(self.labels)[np.argmax(self.y_score, axis=1)] \
            if self.y_true.dtype.kind in "UO" else np.argmax(self.y_score, axis=1)


def predictions_dir(results_dir: Path | str, experiment: str) -> Path:
    return Path(results_dir) / "predictions" / _safe(experiment)


def _check_arrays(experiment: str, unit: Unit, ids, y_true, y_score, labels):
    ids = np.asarray([str(i) for i in ids])
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float32)
    if len(ids) != len(y_true) or len(ids) != len(y_score):
        raise ValueError(f"{experiment} {unit}: ids ({len(ids)}), y_true ({len(y_true)}) and "
                         f"y_score ({len(y_score)}) must have the same length")
    if y_score.ndim != 2 or y_score.shape[1] != len(labels):
        raise ValueError(f"{experiment} {unit}: y_score shape {y_score.shape} does not match "
                         f"{len(labels)} labels")
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].head(3).tolist()
        raise ValueError(f"{experiment} {unit}: duplicated ids {dup}: each item is predicted once "
                         "per unit (namespace ids by source when data sets are merged)")
    return ids, y_true, y_score


def stored_fingerprint(path: Path) -> str | None:
    """The input fingerprint a unit file was stored with (None for files without one)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["input_fingerprint"]) if "input_fingerprint" in z.files else None
    except Exception:  # noqa: BLE001 - an unreadable unit is not reused either
        return None


def _write_unit(directory: Path, experiment: str, unit: Unit, *, ids, y_true, y_score, labels,
                y_pred=None, info: Mapping[str, Any] | None = None, fingerprint: str | None = None) -> Path:
    ids, y_true, y_score = _check_arrays(experiment, unit, ids, y_true, y_score, labels)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{unit.key}.npz"
    tmp = directory / f".{unit.key}.tmp{os.getpid()}.npz"
    arrays = dict(ids=ids, y_true=y_true, y_score=y_score,
                  labels=np.asarray(list(labels), dtype=str),
                  experiment=np.asarray(experiment), unit=np.asarray(unit.key),
                  info=np.asarray(json.dumps(dict(info or {}), default=str)))
    if y_pred is not None:
        arrays["y_pred"] = np.asarray(y_pred)
    if fingerprint is not None:
        arrays["input_fingerprint"] = np.asarray(fingerprint)
    if arrays["y_true"].dtype == object or arrays.get("y_pred", np.zeros(1)).dtype == object:
        raise ValueError(f"{experiment} {unit}: y_true / y_pred must be numbers or strings, not objects")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path


def _rerun_hint(experiment: str, where: Path) -> str:
    return (f"Delete {where} and rerun the notebook that trains {experiment!r} "
            "(./run_all.sh --only <notebook>); stored predictions are regenerated, never repaired.")


def _read_unit(path: Path, experiment: str, meta: dict[str, Any]) -> FoldPredictions:
    try:
        unit = Unit.from_key(path.stem)
        with np.load(path, allow_pickle=False) as z:
            stored_exp = str(z["experiment"]) if "experiment" in z.files else experiment
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ResultsError(f"{path}: holds Python objects, which the results store never "
                               f"writes and never loads. {_rerun_hint(experiment, path.parent)}") from None
        raise ResultsError(f"{path}: not a stored unit ({exc}). {_rerun_hint(experiment, path.parent)}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ResultsError(f"{path}: stored predictions are unreadable ({type(exc).__name__}: {exc}). "
                           f"{_rerun_hint(experiment, path.parent)}") from None
    missing = [k for k in ("ids", "y_true", "y_score", "labels") if k not in data]
    if missing:
        raise ResultsError(f"{path}: lacks {missing}. {_rerun_hint(experiment, path.parent)}")
    if stored_exp != experiment and _safe(stored_exp) != _safe(experiment):
        raise ResultsError(f"{path}: holds predictions of experiment {stored_exp!r}, not {experiment!r}. "
                           f"{_rerun_hint(experiment, path.parent)}")
    try:
        info = json.loads(str(data["info"])) if "info" in data else {}
    except json.JSONDecodeError:
        info = {}
    return FoldPredictions(
        experiment=experiment, fold=unit.fold, repeat=unit.repeat, seed=unit.seed,
        ids=data["ids"], y_true=data["y_true"], y_score=data["y_score"],
        labels=[str(x) for x in data["labels"]], y_pred=data.get("y_pred"), meta=meta, info=info)


def _read_meta(d: Path, experiment: str) -> dict[str, Any]:
    path = d / "meta.json"
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: unreadable ({exc}). {_rerun_hint(experiment, d)}") from None
    if not isinstance(meta, dict):
        raise ResultsError(f"{path}: not a JSON object. {_rerun_hint(experiment, d)}")
    return meta


def _unit_files(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("*.npz") if _UNIT_RE.match(p.stem))


# --------------------------------------------------------------------------- deferred commits
#: Where this process records complete runs whose swap waits for the notebook to finish
#: (set by :func:`defer_commits`; ``mer_utils.context.setup_run`` sets it under the runner).
_DEFER: dict[str, Any] = {"file": None}
DEFERRED_FILE = "predictions.json"


def defer_commits(stage: Path | str | None) -> None:
    """From now on, in this process, :meth:`ExperimentRun.commit` does not swap a complete set
    of units into ``predictions/`` but records the swap in ``<stage>/predictions.json``; the
    sets are read from their staging folders by this process (:func:`load_predictions`), and
    :func:`swap_deferred` moves them into place when the notebook has completed, with its
    tables. A notebook killed before that leaves ``predictions/`` as the last complete run
    left it; its complete sets stay staged and a rerun resumes from them. ``None`` turns
    deferral off."""
    _DEFER["file"] = None if stage is None else Path(stage) / DEFERRED_FILE


def _deferred(file: Path | None = None) -> list[dict[str, str]]:
    file = file or _DEFER["file"]
    if file is None or not Path(file).exists():
        return []
    try:
        rows = json.loads(Path(file).read_text())
    except (OSError, ValueError):
        return []
    return rows if isinstance(rows, list) else []


def _deferred_dir(results_dir: Path | str, experiment: str) -> Path | None:
    """The staged complete set this process committed for ``experiment`` (deferred), if any."""
    final = str(predictions_dir(results_dir, experiment))
    for row in reversed(_deferred()):
        if row.get("final") == final and Path(row["staged"]).is_dir():
            return Path(row["staged"])
    return None


def _swap_in(staged: Path, final: Path) -> Path:
    """Replace ``final`` by the complete set in ``staged`` in two renames (old one removed last)."""
    old = final.parent / _OLD / final.name
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(final, old)
    os.replace(staged, final)
    if old.exists():
        shutil.rmtree(old)
    return final


def swap_deferred(stage: Path | str) -> list[Path]:
    """Swap in every complete set recorded in ``<stage>/predictions.json`` (the last one per
    experiment; earlier ones of the same experiment are removed). Idempotent: a swap already
    done (its staging folder gone) is skipped, so a commit cut short can be finished."""
    rows = _deferred(Path(stage) / DEFERRED_FILE)
    last: dict[str, str] = {}
    for row in rows:
        if row.get("final") in last and last[row["final"]] != row["staged"]:
            shutil.rmtree(last[row["final"]], ignore_errors=True)
        last[row["final"]] = row["staged"]
    done = []
    for final, staged in last.items():
        if Path(staged).is_dir():
            done.append(_swap_in(Path(staged), Path(final)))
    return done


def _recover(results_dir: Path | str, experiment: str) -> None:
    """Finish a swap that was interrupted between its two renames."""
    final = predictions_dir(results_dir, experiment)
    old = final.parent / _OLD / final.name
    if not final.exists() and old.exists():
        os.replace(old, final)


class ExperimentRun:
    """One experiment under one configuration, unit by unit, resumable.

    >>> run = ExperimentRun(ctx.results_dir, "louro_svm", config, units)
    >>> for unit in run.pending():
    ...     run.save(unit, ids=..., y_true=..., y_score=..., labels=...)
    >>> run.commit()           # swaps the complete set in; the old one is removed last

    ``config`` is everything that changes the numbers (settings, split folder, features);
    its hash decides what may be reused. ``meta`` is descriptive (model name, corpus...).
    """

    def __init__(self, results_dir: Path | str, experiment: str, config: Mapping[str, Any],
                 units: Iterable[Unit], *, meta: Mapping[str, Any] | None = None,
                 fingerprints: Mapping[Unit, str] | None = None):
        self.results_dir = Path(results_dir)
        self.fingerprints = {as_unit(u): str(f) for u, f in (fingerprints or {}).items()}
        self.experiment = str(experiment)
        self.config = dict(config)
        self.hash = config_hash(self.config)
        self.units = sorted({as_unit(u) for u in units})
        if not self.units:
            raise ValueError(f"{experiment}: a run needs at least one unit")
        self.meta = dict(meta or {})
        _recover(self.results_dir, self.experiment)
        self.final_dir = predictions_dir(self.results_dir, self.experiment)
        self.staging_dir = self.final_dir.parent / STAGING / f"{self.final_dir.name}-{self.hash}"

    # what is stored already
    def _final_matches(self) -> bool:
        return _read_meta(self.final_dir, self.experiment).get("config_hash") == self.hash

    def stored(self) -> dict[Unit, Path]:
        """Units stored under this configuration (committed or staged) -> file. With input
        fingerprints, a unit stored from other inputs (a replaced audio file, a changed
        feature value) does not count: it is trained again."""
        out: dict[Unit, Path] = {}
        if self.final_dir.exists() and self._final_matches():
            out.update({Unit.from_key(p.stem): p for p in _unit_files(self.final_dir)})
        if self.staging_dir.exists():
            out.update({Unit.from_key(p.stem): p for p in _unit_files(self.staging_dir)})
        if self.fingerprints:
            out = {u: p for u, p in out.items() if u not in self.fingerprints
                   or stored_fingerprint(p) == self.fingerprints[u]}
        return out

    def stale(self) -> list[Unit]:
        """Units stored under this configuration whose inputs have changed since."""
        if not self.fingerprints:
            return []
        files = {}
        for d in (self.final_dir if self.final_dir.exists() and self._final_matches() else None,
                  self.staging_dir if self.staging_dir.exists() else None):
            if d is not None:
                files.update({Unit.from_key(p.stem): p for p in _unit_files(d)})
        return sorted(u for u, p in files.items()
                      if u in self.fingerprints and stored_fingerprint(p) != self.fingerprints[u])

    def pending(self) -> list[Unit]:
        have = self.stored()
        return [u for u in self.units if u not in have]

    def complete(self) -> bool:
        return not self.pending()

    def is_committed(self) -> bool:
        """The committed folder holds every unit of this configuration (nothing to run)."""
        deferred = _deferred_dir(self.results_dir, self.experiment)
        if deferred is not None and deferred == self.staging_dir and (deferred / "meta.json").exists():
            have = {Unit.from_key(p.stem) for p in _unit_files(deferred)}
            return all(u in have for u in self.units)
        if not (self.final_dir.exists() and self._final_matches()):
            return False
        have = {Unit.from_key(p.stem) for p in _unit_files(self.final_dir)}
        return all(u in have for u in self.units)

    def save(self, unit: Unit | int, *, ids: Sequence, y_true, y_score, labels: Sequence[str],
             y_pred=None, info: Mapping[str, Any] | None = None) -> Path:
        """Store one unit's test predictions (staged until the run is complete)."""
        unit = as_unit(unit)
        if unit not in self.units:
            raise ValueError(f"{self.experiment}: {unit} is not a unit of this run")
        return _write_unit(self.staging_dir, self.experiment, unit, ids=ids, y_true=y_true,
                           y_score=y_score, labels=labels, y_pred=y_pred, info=info,
                           fingerprint=self.fingerprints.get(unit))

    def commit(self) -> Path:
        """Swap the complete set of units in for the committed folder; return it."""
        missing = self.pending()
        if missing:
            raise ResultsError(f"{self.experiment}: {len(missing)} unit(s) not stored yet "
                               f"(e.g. {[u.key for u in missing[:3]]}); the committed results are kept")
        if self.is_committed() and not self.staging_dir.exists():
            return self.final_dir
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        if self.final_dir.exists() and self._final_matches():
            for p in _unit_files(self.final_dir):       # keep what the same config stored before
                target = self.staging_dir / p.name
                u = Unit.from_key(p.stem)
                if u in self.fingerprints and stored_fingerprint(p) != self.fingerprints[u]:
                    continue                              # stale: its retrained copy is staged
                if not target.exists():
                    try:
                        os.link(p, target)
                    except OSError:
                        shutil.copy2(p, target)
        keys = sorted(Unit.from_key(p.stem).key for p in _unit_files(self.staging_dir))
        meta = dict(self.meta, experiment=self.experiment, config=self.config,
                    config_hash=self.hash, units=keys, complete=True,
                    committed=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        atomic_write_text(self.staging_dir / "meta.json", json.dumps(meta, indent=2, default=str))
        if _DEFER["file"] is not None:                  # the notebook's completion swaps it in
            rows = [r for r in _deferred() if r.get("staged") != str(self.staging_dir)]
            rows.append({"experiment": self.experiment, "staged": str(self.staging_dir),
                         "final": str(self.final_dir)})
            Path(_DEFER["file"]).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(_DEFER["file"]), json.dumps(rows, indent=2))
            return self.staging_dir
        return _swap_in(self.staging_dir, self.final_dir)

    def __repr__(self) -> str:
        return (f"ExperimentRun({self.experiment!r}, hash {self.hash}, {len(self.units)} units, "
                f"{len(self.units) - len(self.pending())} stored)")


def save_predictions(results_dir: Path | str, experiment: str, fold: Unit | int, *, ids: Sequence,
                     y_true: np.ndarray, y_score: np.ndarray, labels: Sequence[str],
                     y_pred: np.ndarray | None = None, meta: dict[str, Any] | None = None,
                     config: Mapping[str, Any] | None = None,
                     info: Mapping[str, Any] | None = None) -> Path:
    """Store one unit as a complete run on its own (staged, then swapped in).

    For experiments of one unit (a holdout split, a published baseline). Units of the same
    ``config`` stored earlier are kept; a different ``config`` replaces them. Multi-unit
    protocols use :class:`ExperimentRun` (through ``mer_utils.experiment.run_protocol``).
    ``y_true`` is (n,) class labels/indices for single-label tasks or (n, L) 0/1 for
    multi-label; ``y_score`` is (n, L) scores with columns in ``labels`` order.
    """
    unit = as_unit(fold)
    run = ExperimentRun(results_dir, experiment, dict(config or {}), [unit], meta=meta)
    # keep the other units that the same configuration stored earlier
    run.units = sorted(set(run.units) | set(run.stored()))
    run.save(unit, ids=ids, y_true=y_true, y_score=y_score, labels=labels, y_pred=y_pred, info=info)
    return run.commit() / f"{unit.key}.npz"


def load_predictions(results_dir: Path | str, experiment: str) -> list[FoldPredictions]:
    """Every committed unit of ``experiment``, in (repeat, fold, seed) order."""
    _recover(results_dir, experiment)
    d = _deferred_dir(results_dir, experiment) or predictions_dir(results_dir, experiment)
    files = _unit_files(d) if d.exists() else []
    if not files:
        raise FileNotFoundError(
            f"No stored predictions for experiment {experiment!r} under {d}. Run the notebook "
            f"that trains it first (run_all.sh --only <notebook>).")
    meta = _read_meta(d, experiment)
    return [_read_unit(f, experiment, meta) for f in files]


def load_meta(results_dir: Path | str, experiment: str) -> dict[str, Any]:
    """The committed ``meta.json`` of an experiment (config, hash, units, description)."""
    d = _deferred_dir(results_dir, experiment) or predictions_dir(results_dir, experiment)
    return _read_meta(d, experiment)


def list_experiments(results_dir: Path | str) -> list[str]:
    d = Path(results_dir) / "predictions"
    names = {p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")} if d.exists() else set()
    names |= {Path(r["final"]).name for r in _deferred() if Path(r["final"]).parent == d}
    return sorted(names)


def score_experiment(results_dir: Path | str, experiment: str, metrics: dict[str, Any]) -> pd.DataFrame:
    """Apply ``metrics`` (name -> fn(FoldPredictions) -> float) to every stored fold.

    Returns one row per unit (``experiment, repeat, fold, seed`` and one column per
    metric; ``seed`` is -1 where units carry none); aggregate with :func:`summarise`.
    """
    rows = []
    for fp in load_predictions(results_dir, experiment):
        row = {"experiment": experiment, "repeat": fp.repeat, "fold": fp.fold,
               "seed": -1 if fp.seed is None else fp.seed}
        for name, fn in metrics.items():
            row[name] = float(fn(fp))
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(fold_scores: pd.DataFrame, by: str | list[str] = "experiment", *,
              per_repeat: bool = False) -> pd.DataFrame:
    """Mean and std of every numeric metric column over units.

    Default: over all units (for 10x10 CV, the 100 splits, as the methods paper reports);
    ``<metric>_std`` is their standard deviation and ``n_folds`` how many units. With
    ``per_repeat=True`` one row per (``by``, repeat): mean and std over that repeat's folds.
    """
    by = [by] if isinstance(by, str) else list(by)
    if per_repeat and "repeat" not in by:
        by = by + ["repeat"]
    unit_cols = {"fold", "repeat", "seed"}
    metric_cols = [c for c in fold_scores.columns if c not in by and c not in unit_cols
                   and pd.api.types.is_numeric_dtype(fold_scores[c])]
    g = fold_scores.groupby(by)[metric_cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = mean.copy()
    for c in metric_cols:
        out[f"{c}_std"] = std[c]
    out["n_folds"] = g.size()
    if "repeat" in fold_scores.columns and not per_repeat:
        out["n_repeats"] = fold_scores.groupby(by)["repeat"].nunique()
    return out.reset_index()


# --------------------------------------------------------------------------- paper values
PaperCell = tuple  # (table, row, metric), e.g. ("fig6", "Sad", "recall")


class MissingPaperValue(ValueError):
    """A compared cell has no paper value (see the module docstring, "Paper values")."""


def _read_paper_file(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, comment="#", dtype={"paper": str, "table": str, "row": str,
                                                "metric": str, "note": str})
    missing = set(PAPER_VALUE_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path.name}: lacks column(s) {sorted(missing)}; expected {PAPER_VALUE_COLUMNS}")
    value = pd.to_numeric(df["value"], errors="coerce")
    bad = df[value.isna() & df["value"].notna()]
    if len(bad):
        raise ValueError(f"{path.name}: value(s) that are not numbers, e.g. "
                         f"{bad[['table', 'row', 'metric', 'value']].head(3).to_dict('records')}")
    dup = df[df.duplicated(["paper", "table", "row", "metric"], keep=False)]
    if len(dup):
        raise ValueError(f"{path.name}: cell(s) given twice, e.g. "
                         f"{dup[['table', 'row', 'metric']].head(3).to_dict('records')}")
    df["value"] = value
    df["file"] = path.name
    return df


@dataclass(frozen=True)
class PaperData:
    """The data a paper measured some of its reported numbers on, as each paper declares it
    (``PAPER_DATA`` of ``mer_utils.papers.<paper>``: table, ``(table, row)`` or
    ``(table, row prefix)`` -> PaperData) and as :mod:`mer_utils.scorecard` recognises it in a
    run's manifest.

    * ``name``: the data set as the paper names it (with its size);
    * ``recorded_as``: the key under which the paper's notebook records the data these
      numbers are computed from in its manifest (``ctx.manifest.add_source(key, ...)``);
      empty when no loader of the compendium reads this data set (a run is never on it);
    * ``marker``: words that recorded description holds when it is this (real) data set;
    * ``items``: the sizes the description states when the whole set is used (clips,
      songs, tracks: every one must appear), so a subset (the 120 dev clips of 4Q's 900, a
      capped smoke run) is not the paper's data;
    * ``settings``: the numbers are settings (epochs, learning rates, input sizes), not
      measured on any data: they compare whatever data the run used (:data:`SETTINGS`).
    """

    name: str
    recorded_as: str = ""
    marker: str = ""
    items: tuple[int, ...] = ()
    settings: bool = False


SETTINGS = PaperData("settings (not measured on data)", settings=True)
"""Declared for tables of settings: compared on any data."""


def measured_on(declared: Mapping, table: str, row: str) -> PaperData | None:
    """The :class:`PaperData` a paper declares for one of its cells: ``(table, row)``, then
    ``(table, prefix)`` for a row ``"<prefix> ..."``, then ``table``; None when undeclared."""
    table, row = str(table), str(row)
    if (table, row) in declared:
        return declared[(table, row)]
    for key, value in declared.items():
        if isinstance(key, tuple) and key[0] == table and row.startswith(f"{key[1]} "):
            return value
    return declared.get(table)


def _paper_files() -> list[Path]:
    return sorted(PACKAGE_DATA.glob("paper_values_*.csv"))


def paper_values(paper: str | None = None, table: str | None = None, *,
                 include_empty: bool = False) -> pd.DataFrame:
    """The papers' reported numbers (from the package's data files), optionally filtered.

    Columns ``paper, table, row, metric, value, note, file``. Cells whose value is empty
    are left out unless ``include_empty`` (an empty cell is a transcription still owed).
    """
    frames = [_read_paper_file(f) for f in _paper_files()]
    if not frames:
        return pd.DataFrame(columns=PAPER_VALUE_COLUMNS + ["file"])
    df = pd.concat(frames, ignore_index=True)
    if paper is not None:
        df = df[df["paper"] == paper]
    if table is not None:
        df = df[df["table"].astype(str) == str(table)]
    if not include_empty:
        df = df[df["value"].notna()]
    return df.reset_index(drop=True)


def empty_paper_values() -> pd.DataFrame:
    """Cells written into a paper-values file without a value (``file, table, row, metric``)."""
    df = paper_values(include_empty=True)
    return df.loc[df["value"].isna(), ["file", "paper", "table", "row", "metric"]].reset_index(drop=True)


def missing_paper_values(paper: str, cells: Iterable[PaperCell]) -> list[PaperCell]:
    """The ``(table, row, metric)`` cells of ``cells`` that have no value for ``paper``."""
    pv = paper_values(paper)
    have = set(zip(pv["table"].astype(str), pv["row"].astype(str), pv["metric"].astype(str)))
    return [tuple(map(str, c)) for c in cells if tuple(map(str, c)) not in have]


def compare_with_paper(reproduced: pd.DataFrame, paper: str, table: str,
                       *, row_col: str = "row", metric_cols: Iterable[str] | None = None,
                       require_paper: bool = False) -> pd.DataFrame:
    """Put the paper's reported values beside reproduced ones.

    ``reproduced`` has one row per ``row_col`` value (e.g. a model name) and one column
    per metric (optionally ``<metric>_std``). The result is long-format:
    ``row, metric, paper, reproduced, reproduced_std, delta`` with NaN where the paper
    does not report the metric (or we did not reproduce it); a cell that neither side
    has (NaN in ``reproduced``, nothing in the paper) is left out.

    ``require_paper=True``: every reproduced (non-NaN) cell must have a paper value, else
    :class:`MissingPaperValue` lists the cells that lack one (a table that claims to set
    the paper beside us never shows a silent NaN). Paper cells we did not reproduce are
    still shown, with NaN in ``reproduced``.
    """
    pv = paper_values(paper, table)
    if metric_cols is None:
        metric_cols = [c for c in reproduced.columns
                       if c != row_col and not c.endswith("_std") and c != "n_folds"
                       and pd.api.types.is_numeric_dtype(reproduced[c])]
    metric_cols = list(metric_cols)
    absent = [m for m in metric_cols if m not in reproduced.columns]
    if absent:
        raise KeyError(f"compare_with_paper: reproduced table has no column(s) {absent}")
    rows = []
    for _, r in reproduced.iterrows():
        for m in metric_cols:
            rows.append({"row": str(r[row_col]), "metric": m, "reproduced": r[m],
                         "reproduced_std": r.get(f"{m}_std", np.nan)})
    rep = pd.DataFrame(rows, columns=["row", "metric", "reproduced", "reproduced_std"])
    rep["reproduced"] = pd.to_numeric(rep["reproduced"], errors="coerce")
    rep["reproduced_std"] = pd.to_numeric(rep["reproduced_std"], errors="coerce")
    paper_part = pv[["row", "metric", "value"]].rename(columns={"value": "paper"})
    out = paper_part.merge(rep, on=["row", "metric"], how="outer")
    out = out[out["paper"].notna() | out["reproduced"].notna()]
    if require_paper:
        lacking = out[out["reproduced"].notna() & out["paper"].isna()]
        if len(lacking):
            cells = [(str(table), r, m) for r, m in zip(lacking["row"], lacking["metric"])]
            raise MissingPaperValue(
                f"{len(cells)} compared cell(s) of {paper!r} table {table!r} have no paper value: "
                f"{cells[:12]}{' ...' if len(cells) > 12 else ''}. Transcribe them into "
                f"mer_utils/data/paper_values_{paper}.csv (from the paper, never guessed), or "
                "stop comparing cells the paper does not report.")
    out["delta"] = out["reproduced"] - out["paper"]
    order = {r: i for i, r in enumerate(list(dict.fromkeys(list(rep["row"]) + list(paper_part["row"]))))}
    morder = {m: i for i, m in enumerate(list(dict.fromkeys(metric_cols + list(paper_part["metric"]))))}
    out["_o"] = out["row"].map(order)
    out["_m"] = out["metric"].map(morder)
    out = out.sort_values(["_o", "_m"]).drop(columns=["_o", "_m"]).reset_index(drop=True)
    return out[["row", "metric", "paper", "reproduced", "reproduced_std", "delta"]]


# --------------------------------------------------------------------------- tables
def to_markdown(df: pd.DataFrame, *, index: bool = False, floatfmt: str = ".3f") -> str:
    """Markdown without the optional `tabulate` dependency."""
    d = df.reset_index() if index else df
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        return str(v)
    cols = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in d.iterrows():
        lines.append("| " + " | ".join(fmt(v) for v in r.values) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, stem: Path | str, *, index: bool = False,
                floatfmt: str = ".3f") -> Path:
    """Write ``stem.csv`` and ``stem.md`` atomically; return the CSV path."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path = stem.with_suffix(".csv")
    atomic_write_text(csv_path, df.to_csv(index=index))
    atomic_write_text(stem.with_suffix(".md"), to_markdown(df, index=index, floatfmt=floatfmt))
    return csv_path
