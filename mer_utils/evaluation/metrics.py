"""The one set of metrics: every score of every table, the scorecard and the leaderboard is
computed here, from stored predictions (:class:`~mer_utils.results.FoldPredictions`) or from
label arrays. No other module of the package calls a metric function of scikit-learn
(``tests/test_evaluation_metrics.py`` checks it).

Single-label scores of one unit (:data:`METRICS`, :func:`label_scores`):

=====================  ==========================================================
``accuracy``           share of items predicted right
``balanced_accuracy``  mean recall over the classes present in the truth
``precision``          macro precision (unweighted mean over the classes)
``recall``             macro recall
``f1``                 macro F1 (``macro_f1`` is the same number under its long name)
``weighted_*``         precision / recall / F1 weighted by class support
``binary_f1``          F1 of the positive class (the second label) of a two-class task
``mcc``                Matthews correlation coefficient (multi-class: Gorodkin's R_K),
                       the measure the unit meta-analyses of MER report
=====================  ==========================================================

A class never predicted has precision 0 (``zero_division=0``), as scikit-learn reports it.
Per-unit tables (:func:`unit_scores`), a paired comparison against a reference with the
corrected resampled t-test (:func:`paired_comparisons`), classification reports and
confusion matrices (over one unit or summed over units), and one parameter count
(:func:`parameter_count`) complete the set. Multi-label metrics (ROC-AUC, PR-AUC,
thresholds, the MediaEval check) are in :mod:`mer_utils.evaluation.multilabel`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

REPORT_COLUMNS = ["precision", "recall", "f1-score", "support"]

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




# --------------------------------------------------------------------------- scores of one unit
def label_scores(y_true: Iterable, y_pred: Iterable, labels: Sequence[str]) -> dict[str, float]:
    """Every single-label score of :data:`METRICS` for one set of predictions.

    ``y_true`` and ``y_pred`` are class names or indices into ``labels`` (the class order;
    a class of ``labels`` absent from both still counts in the macro averages, as in
    scikit-learn with ``labels=``).
    """
    from sklearn import metrics as M

    labels = [str(l) for l in labels]
    yt, yp = as_label_names(y_true, labels), as_label_names(y_pred, labels)
    if len(yt) != len(yp):
        raise ValueError(f"y_true ({len(yt)}) and y_pred ({len(yp)}) differ in length")
    if len(yt) == 0:
        return {k: float("nan") for k in METRIC_NAMES}
    out: dict[str, float] = {"accuracy": float(np.mean(yt == yp))}
    for avg in ("macro", "weighted"):
        p, r, f, _ = M.precision_recall_fscore_support(yt, yp, labels=labels, average=avg, zero_division=0)
        pre = "" if avg == "macro" else "weighted_"
        out.update({f"{pre}precision": float(p), f"{pre}recall": float(r), f"{pre}f1": float(f)})
    out["macro_f1"] = out["f1"]
    present = [l for l in labels if l in set(yt)]
    out["balanced_accuracy"] = float(M.recall_score(yt, yp, labels=present, average="macro", zero_division=0))
    out["binary_f1"] = (float(M.f1_score(yt, yp, pos_label=labels[1], average="binary", zero_division=0))
                        if len(labels) == 2 else float("nan"))
    out["mcc"] = float(M.matthews_corrcoef(yt, yp)) if len(set(yt) | set(yp)) > 1 else 0.0
    return out


METRIC_NAMES = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_f1",
                "weighted_precision", "weighted_recall", "weighted_f1", "binary_f1", "mcc")


def _unit_metric(name: str) -> Callable[[Any], float]:
    def metric(fp) -> float:
        return label_scores(*fold_labels(fp), fp.labels)[name]
    metric.__name__ = name
    metric.__doc__ = f"{name} of one stored unit (see :func:`label_scores`)."
    return metric


METRICS: dict[str, Callable[[Any], float]] = {name: _unit_metric(name) for name in METRIC_NAMES}
"""name -> fn(FoldPredictions) -> float, for :func:`mer_utils.results.score_experiment`."""

SINGLE_LABEL_METRICS: dict[str, Callable[[Any], float]] = {
    k: METRICS[k] for k in ("accuracy", "macro_f1", "balanced_accuracy", "mcc")}
"""The default columns of a single-label table (accuracy, macro F1, balanced accuracy, MCC)."""


def metric_fns(names: Sequence[str]) -> dict[str, Callable[[Any], float]]:
    """The unit metrics called ``names`` (a clear error for an unknown one)."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise KeyError(f"unknown metric(s) {unknown}; known: {list(METRIC_NAMES)}")
    return {n: METRICS[n] for n in names}


#: What a unit's ``info`` may say about its cost, copied into :func:`unit_scores`.
COST_COLUMNS = ("seconds", "train_seconds", "predict_seconds", "parameters")


def unit_scores(results_dir: Path | str, experiments: Mapping[str, str] | Sequence[str], *,
                metrics: Sequence[str] = ("precision", "recall", "f1", "accuracy"),
                key: str = "experiment", cost: bool = True) -> pd.DataFrame:
    """One row per (experiment, unit) from the stored predictions: ``key`` (the experiment,
    or the name the mapping gives it), ``repeat, fold, seed``, one column per metric and,
    with ``cost``, the seconds and parameters the unit recorded (NaN where it did not)."""
    from mer_utils.results import load_predictions, score_experiment

    pairs = list(experiments.items()) if isinstance(experiments, Mapping) else [(e, e) for e in experiments]
    fns = metric_fns(list(metrics))
    frames = []
    for name, exp in pairs:
        s = score_experiment(results_dir, exp, fns)
        if cost and len(s):
            info = {(fp.repeat, fp.fold, -1 if fp.seed is None else fp.seed): fp.info
                    for fp in load_predictions(results_dir, exp)}
            units = list(zip(s["repeat"], s["fold"], s["seed"]))
            for c in COST_COLUMNS:
                s[c] = [info[u].get(c, np.nan) if info[u].get(c) is not None else np.nan for u in units]
        s = s.drop(columns=["experiment"])
        s.insert(0, key, name)
        frames.append(s)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- paired comparisons
def paired_comparisons(scores: pd.DataFrame, splits: Sequence, reference: str, *, key: str = "experiment",
                       metric: str = "f1", names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every ``key`` value of ``scores`` against ``reference`` on the units both have: the mean
    per-unit ``metric`` difference and Nadeau & Bengio's corrected resampled t-test (the
    training sets of CV units overlap, so the variance is inflated by n_test / n_train;
    n_train and n_test are the mean sizes of ``splits``). ``names`` relabels the rows."""
    from mer_utils.evaluation.stats import corrected_resampled_ttest

    names = dict(names or {})
    if not len(scores) or reference not in set(scores[key]):
        return pd.DataFrame(columns=[key, "vs", "units", f"mean {metric} difference", "t", "p", "note"])
    n_train = int(round(float(np.mean([len(s.train) for s in splits]))))
    n_test = int(round(float(np.mean([len(s.test) for s in splits]))))
    ref = scores[scores[key] == reference].set_index(["repeat", "fold"])[metric]
    recs = []
    for name, g in scores[scores[key] != reference].groupby(key, sort=False):
        a = g.set_index(["repeat", "fold"])[metric]
        common = a.index.intersection(ref.index)
        d = (a[common] - ref[common]).to_numpy()
        rec = {key: names.get(name, name), "vs": names.get(reference, reference), "units": len(common),
               f"mean {metric} difference": float(d.mean()) if len(d) else np.nan}
        if len(d) < 2:
            rec.update(t=np.nan, p=np.nan, note="fewer than 2 shared units: no test")
        elif np.ptp(d) < 1e-12:                         # constant up to round-off
            rec.update(t=np.nan, p=np.nan, note="the same difference on every unit: the test is undefined")
        else:
            t, p = corrected_resampled_ttest(a[common].to_numpy(), ref[common].to_numpy(),
                                             n_train=n_train, n_test=n_test)
            rec.update(t=t, p=p, note="—" if len(d) >= 10 else f"{len(d)} units: little power")
        recs.append(rec)
    return pd.DataFrame(recs)


# --------------------------------------------------------------------------- model size
def parameter_count(model) -> dict[str, int]:
    """Total and trainable parameters of a built Keras model (no Keras import needed here)."""
    total = int(model.count_params())
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    return {"parameters": total, "trainable": trainable}


def per_class_metrics(fp) -> dict[str, float]:
    """Flat ``{"<class>/<metric>": value}`` of one fold (precision/recall/f1 per class)."""
    rep = classification_report_df(*fold_labels(fp), fp.labels)
    return {f"{c}/{m}": float(rep.loc[c, m]) for c in fp.labels for m in ("precision", "recall", "f1-score")}


def format_mean_std(mean: float, std: float, digits: int = 2) -> str:
    """``0.54 ± 0.03`` (or just the mean when std is NaN)."""
    if std is None or (isinstance(std, float) and np.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
