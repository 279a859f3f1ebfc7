"""Results store: fold-level predictions as files, tables built from them, paper values beside.

Layout under ``results/<profile>/``::

    predictions/<experiment>/fold-000.npz   ids, y_true, y_score (+ y_pred), labels
    predictions/<experiment>/meta.json      what the experiment was (model, features, ...)
    <table>.csv / <table>.md                tables built from the stored predictions
    manifests/<notebook>/manifest.json      how they were produced

The papers' reported numbers live in ``mer_utils/data/paper_values_*.csv`` (one file per
paper, columns ``paper, table, row, metric, value, note``): tables show them beside ours,
and no reproduced number is ever typed in.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mer_utils.config import PACKAGE_DATA, atomic_write_text

PAPER_VALUE_COLUMNS = ["paper", "table", "row", "metric", "value", "note"]
_SAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")


def _safe(name: str) -> str:
    return _SAFE.sub("_", str(name)).strip("_") or "x"


@dataclass
class FoldPredictions:
    """The predictions of one fold (or one split) of one experiment."""

    experiment: str
    fold: int
    ids: np.ndarray
    y_true: np.ndarray
    y_score: np.ndarray
    labels: list[str]
    y_pred: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

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


def save_predictions(results_dir: Path | str, experiment: str, fold: int, *, ids: Sequence,
                     y_true: np.ndarray, y_score: np.ndarray, labels: Sequence[str],
                     y_pred: np.ndarray | None = None, meta: dict[str, Any] | None = None) -> Path:
    """Store one fold's predictions and ground truth (atomically) and return the file path.

    ``y_true`` is (n,) class labels/indices for single-label tasks or (n, L) 0/1 for
    multi-label; ``y_score`` is (n, L) probabilities/scores with columns in ``labels`` order.
    """
    ids = np.asarray([str(i) for i in ids])
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float32)
    if len(ids) != len(y_true) or len(ids) != len(y_score):
        raise ValueError(f"{experiment} fold {fold}: ids ({len(ids)}), y_true ({len(y_true)}) and "
                         f"y_score ({len(y_score)}) must have the same length")
    if y_score.ndim != 2 or y_score.shape[1] != len(labels):
        raise ValueError(f"{experiment} fold {fold}: y_score shape {y_score.shape} does not match "
                         f"{len(labels)} labels")
    d = predictions_dir(results_dir, experiment)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"fold-{int(fold):03d}.npz"
    tmp = d / f".fold-{int(fold):03d}.tmp{os.getpid()}.npz"
    arrays = dict(ids=ids, y_true=y_true, y_score=y_score, labels=np.asarray(list(labels), dtype=str))
    if y_pred is not None:
        arrays["y_pred"] = np.asarray(y_pred)
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    if meta is not None:
        meta_path = d / "meta.json"
        old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        old.update({k: v for k, v in meta.items()})
        atomic_write_text(meta_path, json.dumps(old, indent=2, default=str))
    return path


def load_predictions(results_dir: Path | str, experiment: str) -> list[FoldPredictions]:
    d = predictions_dir(results_dir, experiment)
    files = sorted(d.glob("fold-*.npz"))
    if not files:
        raise FileNotFoundError(
            f"No stored predictions for experiment {experiment!r} under {d}. Run the notebook "
            f"that trains it first (run_all.sh --only <notebook>).")
    meta = json.loads((d / "meta.json").read_text()) if (d / "meta.json").exists() else {}
    out = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            out.append(FoldPredictions(
                experiment=experiment, fold=int(f.stem.split("-")[1]), ids=z["ids"],
                y_true=z["y_true"], y_score=z["y_score"], labels=[str(x) for x in z["labels"]],
                y_pred=z["y_pred"] if "y_pred" in z.files else None, meta=meta))
    return out


def list_experiments(results_dir: Path | str) -> list[str]:
    d = Path(results_dir) / "predictions"
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.exists() else []


def clear_experiment(results_dir: Path | str, experiment: str) -> None:
    """Remove an experiment's stored folds (generated files only) before re-running it."""
    d = predictions_dir(results_dir, experiment)
    for f in d.glob("fold-*.npz"):
        f.unlink()


def score_experiment(results_dir: Path | str, experiment: str, metrics: dict[str, Any]) -> pd.DataFrame:
    """Apply ``metrics`` (name -> fn(FoldPredictions) -> float) to every stored fold.

    Returns one row per fold; aggregate with :func:`summarise`.
    """
    rows = []
    for fp in load_predictions(results_dir, experiment):
        row = {"experiment": experiment, "fold": fp.fold}
        for name, fn in metrics.items():
            row[name] = float(fn(fp))
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(fold_scores: pd.DataFrame, by: str | list[str] = "experiment") -> pd.DataFrame:
    """Mean and std over folds of every numeric metric column."""
    by = [by] if isinstance(by, str) else list(by)
    metric_cols = [c for c in fold_scores.columns if c not in by + ["fold"]
                   and pd.api.types.is_numeric_dtype(fold_scores[c])]
    g = fold_scores.groupby(by)[metric_cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = mean.copy()
    for c in metric_cols:
        out[f"{c}_std"] = std[c]
    out["n_folds"] = g.size()
    return out.reset_index()


# --------------------------------------------------------------------------- paper values
def paper_values(paper: str | None = None, table: str | None = None) -> pd.DataFrame:
    """The papers' reported numbers (from the package's data files), optionally filtered."""
    files = sorted(PACKAGE_DATA.glob("paper_values_*.csv"))
    frames = [pd.read_csv(f, comment="#", dtype={"table": str, "row": str}) for f in files]
    if not frames:
        return pd.DataFrame(columns=PAPER_VALUE_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    missing = set(PAPER_VALUE_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"paper value files lack columns {sorted(missing)}")
    if paper is not None:
        df = df[df["paper"] == paper]
    if table is not None:
        df = df[df["table"].astype(str) == str(table)]
    return df.reset_index(drop=True)


def compare_with_paper(reproduced: pd.DataFrame, paper: str, table: str,
                       *, row_col: str = "row", metric_cols: Iterable[str] | None = None,
                       ) -> pd.DataFrame:
    """Put the paper's reported values beside reproduced ones.

    ``reproduced`` has one row per ``row_col`` value (e.g. a model name) and one column
    per metric (optionally ``<metric>_std``). The result is long-format:
    ``row, metric, paper, reproduced, reproduced_std, delta`` with NaN where the paper
    does not report the metric (or we did not reproduce it).
    """
    pv = paper_values(paper, table)
    if metric_cols is None:
        metric_cols = [c for c in reproduced.columns
                       if c != row_col and not c.endswith("_std") and c != "n_folds"
                       and pd.api.types.is_numeric_dtype(reproduced[c])]
    rows = []
    for _, r in reproduced.iterrows():
        for m in metric_cols:
            rows.append({"row": str(r[row_col]), "metric": m, "reproduced": r[m],
                         "reproduced_std": r.get(f"{m}_std", np.nan)})
    rep = pd.DataFrame(rows, columns=["row", "metric", "reproduced", "reproduced_std"])
    paper_part = pv[["row", "metric", "value"]].rename(columns={"value": "paper"})
    out = paper_part.merge(rep, on=["row", "metric"], how="outer")
    out["delta"] = out["reproduced"] - out["paper"]
    order = {r: i for i, r in enumerate(list(dict.fromkeys(list(rep["row"]) + list(paper_part["row"]))))}
    out["_o"] = out["row"].map(order)
    out = out.sort_values(["_o", "metric"]).drop(columns="_o").reset_index(drop=True)
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
