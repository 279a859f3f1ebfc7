"""Single-label evaluation: stratified splits (saved as files), classification reports,
confusion matrices and fold-level metrics for :func:`mer_utils.results.score_experiment`.

Nothing here is specific to one paper or model. Typical use::

    split = stratified_split(df["label"], test_size=0.2, val_size=0.2, seed=0)
    save_split(ctx.results_dir / "splits" / "my_split.csv", df["track_id"], split)
    ...
    folds = load_predictions(ctx.results_dir, "my_experiment")
    report = report_over_folds(folds)                # per-class P/R/F1, mean and std
    cm = confusion_matrix_df(y_true, y_pred, labels)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mer_utils.config import atomic_write_text

SPLITS = ("train", "validation", "test")
REPORT_COLUMNS = ["precision", "recall", "f1-score", "support"]


# --------------------------------------------------------------------------- splits
def stratified_split(labels: Sequence, *, test_size: float = 0.2, val_size: float = 0.2,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Stratified train/validation/test split of row positions.

    ``test_size`` and ``val_size`` are fractions of the whole set. Each class is shuffled
    (seeded) and cut separately, so every split holds every class in (rounded) proportion;
    each class needs at least 3 members so that every split gets at least one.
    Returns ``{"train": idx, "validation": idx, "test": idx}`` (sorted int arrays, disjoint,
    covering ``range(len(labels))``).
    """
    y = np.asarray(pd.Series(labels).astype(str))
    if not (0 < test_size < 1 and 0 < val_size < 1 and test_size + val_size < 1):
        raise ValueError(f"test_size ({test_size}) and val_size ({val_size}) must be fractions "
                         "in (0, 1) whose sum is below 1")
    if pd.isna(pd.Series(labels)).any():
        raise ValueError("labels contain missing values; drop unlabelled rows before splitting")
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for cls in sorted(set(y)):
        idx = np.flatnonzero(y == cls)
        if len(idx) < 3:
            raise ValueError(f"class {cls!r} has {len(idx)} example(s); a stratified "
                             "train/validation/test split needs at least 3 per class")
        idx = rng.permutation(idx)
        n = len(idx)
        n_test = min(max(1, int(round(test_size * n))), n - 2)
        n_val = min(max(1, int(round(val_size * n))), n - n_test - 1)
        out["test"].extend(idx[:n_test])
        out["validation"].extend(idx[n_test:n_test + n_val])
        out["train"].extend(idx[n_test + n_val:])
    return {s: np.sort(np.asarray(v, dtype=int)) for s, v in out.items()}


def split_frame(ids: Sequence, split: dict[str, np.ndarray],
                labels: Sequence | None = None) -> pd.DataFrame:
    """The split as a table: one row per item, columns ``track_id, split`` (+ ``label``)."""
    ids = np.asarray([str(i) for i in ids])
    col = np.full(len(ids), "", dtype=object)
    for name, idx in split.items():
        col[np.asarray(idx, dtype=int)] = name
    if (col == "").any():
        raise ValueError(f"{int((col == '').sum())} item(s) belong to no split")
    df = pd.DataFrame({"track_id": ids, "split": col})
    if labels is not None:
        df["label"] = np.asarray(labels).astype(str)
    return df


def save_split(path: Path | str, ids: Sequence, split: dict[str, np.ndarray],
               labels: Sequence | None = None) -> Path:
    """Write a split as CSV (``track_id, split[, label]``), atomically; return the path."""
    path = Path(path)
    atomic_write_text(path, split_frame(ids, split, labels).to_csv(index=False))
    return path


def load_split(path: Path | str, ids: Sequence | None = None) -> dict[str, np.ndarray]:
    """Read a split file written by :func:`save_split`.

    With ``ids`` (the current table's track ids, in order), returns row positions into
    ``ids``; every saved track must be present, else a clear error (the data changed since
    the split was made: delete the file to make a new split). Without ``ids``, returns
    positions in the file's order.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype={"track_id": str, "split": str})
    unknown = set(df["split"]) - set(SPLITS)
    if unknown:
        raise ValueError(f"{path}: unknown split name(s) {sorted(unknown)}; expected {SPLITS}")
    if ids is None:
        pos = np.arange(len(df))
    else:
        ids = [str(t) for t in ids]
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].head(3).tolist()
            raise ValueError(f"{path}: the data have duplicated track ids {dup}; a split maps ids "
                             "to rows, so ids must be unique (namespace merged sources: "
                             "mer_utils.datasets.merge.merge_sources)")
        where = {t: i for i, t in enumerate(ids)}
        missing = [t for t in df["track_id"] if t not in where]
        if missing:
            raise ValueError(f"{path}: {len(missing)} track(s) in the split file are not in the "
                             f"data (e.g. {missing[:3]}); delete the file to make a new split")
        pos = np.asarray([where[t] for t in df["track_id"]], dtype=int)
    return {s: np.sort(pos[df["split"].to_numpy() == s]) for s in SPLITS}


def load_or_make_split(path: Path | str, ids: Sequence, labels: Sequence, *,
                       test_size: float = 0.2, val_size: float = 0.2, seed: int = 0,
                       ) -> dict[str, np.ndarray]:
    """Reuse the split saved at ``path`` when it covers exactly ``ids``; else make and save one."""
    path = Path(path)
    if path.exists():
        saved = pd.read_csv(path, dtype={"track_id": str})
        if sorted(saved["track_id"]) == sorted(str(i) for i in ids):
            return load_split(path, ids)
    split = stratified_split(labels, test_size=test_size, val_size=val_size, seed=seed)
    save_split(path, ids, split, labels)
    return split


# --------------------------------------------------------------------------- label helpers
def as_label_names(y: Iterable, labels: Sequence[str]) -> np.ndarray:
    """Class names for ``y`` given either as names or as integer indices into ``labels``."""
    y = np.asarray(list(y) if not isinstance(y, np.ndarray) else y)
    if y.dtype.kind in "iu":
        if len(y) and (y.min() < 0 or y.max() >= len(labels)):
            raise ValueError(f"class index out of range 0..{len(labels) - 1}")
        return np.asarray(labels, dtype=object)[y].astype(str)
    return y.astype(str)


def fold_labels(fp) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) as class names from a stored single-label fold (FoldPredictions)."""
    if np.asarray(fp.y_true).ndim != 1:
        raise ValueError(f"{fp.experiment} fold {fp.fold}: y_true is not single-label")
    return as_label_names(fp.y_true, fp.labels), as_label_names(fp.predicted(), fp.labels)


# --------------------------------------------------------------------------- reports
def classification_report_df(y_true: Iterable, y_pred: Iterable, labels: Sequence[str],
                             ) -> pd.DataFrame:
    """sklearn's classification report as a DataFrame.

    Rows: one per label (in ``labels`` order), then ``accuracy``, ``macro avg``,
    ``weighted avg``; columns ``precision, recall, f1-score, support``. ``y_true`` and
    ``y_pred`` may be class names or indices into ``labels``. A class never predicted has
    precision 0 (sklearn's ``zero_division=0``). In the ``accuracy`` row all three score
    columns hold the accuracy (as sklearn prints it) and support is the number of items.
    """
    from sklearn.metrics import classification_report

    labels = [str(l) for l in labels]
    yt, yp = as_label_names(y_true, labels), as_label_names(y_pred, labels)
    if len(yt) != len(yp):
        raise ValueError(f"y_true ({len(yt)}) and y_pred ({len(yp)}) differ in length")
    rep = classification_report(yt, yp, labels=labels, output_dict=True, zero_division=0)
    acc = float(np.mean(yt == yp)) if len(yt) else float("nan")
    rows = {l: rep[l] for l in labels}
    rows["accuracy"] = {"precision": acc, "recall": acc, "f1-score": acc, "support": len(yt)}
    rows["macro avg"] = rep["macro avg"]
    rows["weighted avg"] = rep["weighted avg"]
    df = pd.DataFrame.from_dict(rows, orient="index")[REPORT_COLUMNS]
    df["support"] = df["support"].astype(int)
    df.index.name = "class"
    return df


def report_over_folds(folds: Sequence, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Classification reports of several folds/seeds: mean and std of every cell.

    Long format: ``class, metric, mean, std, n_folds`` (support is summed, not averaged).
    """
    frames = []
    for fp in folds:
        lab = list(labels) if labels is not None else list(fp.labels)
        yt, yp = fold_labels(fp)
        r = classification_report_df(yt, yp, lab).reset_index()
        r["fold"] = fp.fold
        frames.append(r)
    if not frames:
        raise ValueError("no folds given")
    long = pd.concat(frames).melt(id_vars=["class", "fold"], var_name="metric", value_name="value")
    order = {c: i for i, c in enumerate(frames[0]["class"])}
    g = long.groupby(["class", "metric"], sort=False)["value"]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0),
                        "n_folds": g.size()}).reset_index()
    sup = out["metric"] == "support"
    out.loc[sup, "mean"] = g.sum()[sup.values].values
    out.loc[sup, "std"] = np.nan
    out["_o"] = out["class"].map(order)
    out["_m"] = out["metric"].map({m: i for i, m in enumerate(REPORT_COLUMNS)})
    return out.sort_values(["_o", "_m"]).drop(columns=["_o", "_m"]).reset_index(drop=True)


def pivot_report(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mean, std) wide tables (rows classes, columns metrics) from :func:`report_over_folds`."""
    order = list(dict.fromkeys(long["class"]))
    cols = [c for c in REPORT_COLUMNS if c in set(long["metric"])]
    mean = long.pivot(index="class", columns="metric", values="mean").loc[order, cols]
    std = long.pivot(index="class", columns="metric", values="std").loc[order, cols]
    mean.columns.name = std.columns.name = None
    return mean, std


def confusion_matrix_df(y_true: Iterable, y_pred: Iterable, labels: Sequence[str], *,
                        normalize: str | None = None) -> pd.DataFrame:
    """Confusion matrix with true classes as rows and predicted classes as columns.

    ``normalize``: None (counts), ``"true"`` (rows sum to 1: recall on the diagonal),
    ``"pred"`` (columns sum to 1) or ``"all"``. Rows/columns with no items give 0.
    """
    labels = [str(l) for l in labels]
    yt, yp = as_label_names(y_true, labels), as_label_names(y_pred, labels)
    pos = {l: i for i, l in enumerate(labels)}
    bad = sorted((set(yt) | set(yp)) - set(labels))
    if bad:
        raise ValueError(f"labels {bad} are not among {labels}")
    cm = np.zeros((len(labels), len(labels)), dtype=float)
    np.add.at(cm, ([pos[t] for t in yt], [pos[p] for p in yp]), 1)
    cm = _normalize(cm, normalize)
    df = pd.DataFrame(cm, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted"))
    return df if normalize else df.astype(int)


def confusion_over_folds(folds: Sequence, labels: Sequence[str] | None = None, *,
                         normalize: str | None = None) -> pd.DataFrame:
    """Sum of the folds' confusion matrices (then normalised if asked)."""
    total = None
    for fp in folds:
        lab = list(labels) if labels is not None else list(fp.labels)
        cm = confusion_matrix_df(*fold_labels(fp), lab)
        total = cm if total is None else total + cm
    if total is None:
        raise ValueError("no folds given")
    if normalize:
        total = pd.DataFrame(_normalize(total.to_numpy(dtype=float), normalize),
                             index=total.index, columns=total.columns)
    return total


def _normalize(cm: np.ndarray, normalize: str | None) -> np.ndarray:
    if normalize is None:
        return cm
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        else:
            raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', not {normalize!r}")
    return np.nan_to_num(cm)


# --------------------------------------------------------------------------- metrics
def _accuracy(fp) -> float:
    yt, yp = fold_labels(fp)
    return float(np.mean(yt == yp))


def _macro_f1(fp) -> float:
    from sklearn.metrics import f1_score

    yt, yp = fold_labels(fp)
    return float(f1_score(yt, yp, labels=list(fp.labels), average="macro", zero_division=0))


def _balanced_accuracy(fp) -> float:
    from sklearn.metrics import recall_score

    yt, yp = fold_labels(fp)
    present = [l for l in fp.labels if l in set(yt)]
    return float(recall_score(yt, yp, labels=present, average="macro", zero_division=0))


SINGLE_LABEL_METRICS: dict[str, Any] = {
    "accuracy": _accuracy,
    "macro_f1": _macro_f1,
    "balanced_accuracy": _balanced_accuracy,
}
"""name -> fn(FoldPredictions) -> float, for :func:`mer_utils.results.score_experiment`."""


def per_class_metrics(fp) -> dict[str, float]:
    """Flat ``{"<class>/<metric>": value}`` of one fold (precision/recall/f1 per class)."""
    rep = classification_report_df(*fold_labels(fp), fp.labels)
    return {f"{c}/{m}": float(rep.loc[c, m]) for c in fp.labels for m in ("precision", "recall", "f1-score")}


def format_mean_std(mean: float, std: float, digits: int = 2) -> str:
    """``0.54 ± 0.03`` (or just the mean when std is NaN)."""
    if std is None or (isinstance(std, float) and np.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
