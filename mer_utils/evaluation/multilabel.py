"""Multi-label (tagging) metrics: F1 at 0.5 and at validation-chosen thresholds, ROC-AUC, PR-AUC.

Conventions (the same as the MediaEval "Emotion and Theme Recognition in Music" task, whose
evaluation script calls ``sklearn.metrics`` directly, so our numbers are comparable):

* ``y_true`` is an (n, L) 0/1 (or bool) matrix, ``y_score`` an (n, L) matrix of scores
  (probabilities), columns in the same label order.
* ROC-AUC / PR-AUC (= average precision, the step-wise area under the precision-recall
  curve, ``sklearn.metrics.average_precision_score``) are computed per label and averaged
  (``macro``) or over the flattened matrix (``micro``).
* A label that has a single class in the evaluated split (no positive, or no negative)
  has no ROC curve. sklearn raises on such a label; we **leave it out of the macro
  average and report how many were left out** (``n_labels_skipped_auc``). When no label is
  left out the value is identical to sklearn's ``average="macro"``.
* Hard decisions: ``score >= threshold``. Thresholds are chosen per label to maximise that
  label's F1 on the **validation** split (:func:`select_thresholds`), never on test.
  F1 at the fixed threshold 0.5 is reported too.
* Precision / recall / F1 use ``zero_division=0`` (a label never predicted and never
  present scores 0), as sklearn's default does after its warning (the MediaEval figures
  were produced that way).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

__all__ = [
    "as_label_matrix", "single_class_labels", "macro_roc_auc", "macro_average_precision",
    "micro_roc_auc", "micro_average_precision", "per_label_scores", "select_thresholds",
    "binarize", "precision_recall_f1", "evaluate_multilabel", "mediaeval_scores",
    "read_mediaeval_results", "load_mediaeval_baseline", "fold_metrics", "MEDIAEVAL_METRICS",
    "group_split_multilabel", "store_thresholded_run", "validation_thresholded",
    "MEDIAEVAL_DROPPED_TAGS", "mediaeval_tags",
]

# The 3 of the 59 mood/theme tags that split-0 drops (moodtheme.txt minus moodtheme_split.txt):
# MediaEval's 56-tag task is the 59-tag vocabulary without them.
MEDIAEVAL_DROPPED_TAGS = ("ambiental", "horror", "mellow")


def mediaeval_tags(vocabulary: Sequence[str]) -> list[str]:
    """The tags of ``vocabulary`` that belong to MediaEval's 56-tag split-0 task, in order."""
    return [t for t in vocabulary if t not in MEDIAEVAL_DROPPED_TAGS]


MEDIAEVAL_METRICS = ("ROC-AUC-macro", "PR-AUC-macro", "precision-macro", "recall-macro",
                     "F-score-macro", "ROC-AUC-micro", "PR-AUC-micro", "precision-micro",
                     "recall-micro", "F-score-micro")


# --------------------------------------------------------------------------- checks
def as_label_matrix(y: Any, name: str = "y_true") -> np.ndarray:
    """(n, L) int matrix of 0/1; raises a clear error for anything else."""
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_tracks, n_labels) 0/1 matrix, got shape {y.shape}")
    if y.dtype == bool:
        return y.astype(np.int8)
    vals = np.unique(y)
    if not np.isin(vals, [0, 1]).all():
        raise ValueError(f"{name} must hold only 0/1 (or bool); found values {vals[:10]}")
    return y.astype(np.int8)


def _check(y_true: Any, y_score: Any, score_name: str = "y_score") -> tuple[np.ndarray, np.ndarray]:
    yt = as_label_matrix(y_true)
    ys = np.asarray(y_score, dtype=np.float64)
    if ys.shape != yt.shape:
        raise ValueError(f"{score_name} shape {ys.shape} does not match y_true shape {yt.shape}")
    if not np.isfinite(ys).all():
        raise ValueError(f"{score_name} holds NaN or infinite values")
    return yt, ys


def single_class_labels(y_true: Any) -> np.ndarray:
    """Boolean mask of labels with only one class (all 0 or all 1) in ``y_true``."""
    yt = as_label_matrix(y_true)
    pos = yt.sum(axis=0)
    return (pos == 0) | (pos == yt.shape[0])


# --------------------------------------------------------------------------- ranking metrics
def _macro(fn, y_true, y_score, return_skipped: bool):
    yt, ys = _check(y_true, y_score)
    skip = single_class_labels(yt)
    keep = np.flatnonzero(~skip)
    value = float(np.mean([fn(yt[:, j], ys[:, j]) for j in keep])) if len(keep) else float("nan")
    return (value, int(skip.sum())) if return_skipped else value


def macro_roc_auc(y_true, y_score, *, return_skipped: bool = False):
    """Macro ROC-AUC over labels with both classes present; ``(value, n_skipped)`` on request."""
    return _macro(skm.roc_auc_score, y_true, y_score, return_skipped)


def macro_average_precision(y_true, y_score, *, return_skipped: bool = False):
    """Macro PR-AUC (average precision) over labels with both classes present.

    A label without positives has no defined average precision; it is left out (and
    counted) exactly like in :func:`macro_roc_auc`, so both macros use the same labels.
    """
    return _macro(skm.average_precision_score, y_true, y_score, return_skipped)


def micro_roc_auc(y_true, y_score) -> float:
    yt, ys = _check(y_true, y_score)
    if yt.min() == yt.max():
        return float("nan")
    return float(skm.roc_auc_score(yt.ravel(), ys.ravel()))


def micro_average_precision(y_true, y_score) -> float:
    yt, ys = _check(y_true, y_score)
    if yt.sum() == 0:
        return float("nan")
    return float(skm.average_precision_score(yt.ravel(), ys.ravel()))


def per_label_scores(y_true, y_score, labels: Sequence[str] | None = None,
                     y_pred: Any = None) -> pd.DataFrame:
    """One row per label: positives, ROC-AUC, PR-AUC (NaN when single-class), F1 of y_pred."""
    yt, ys = _check(y_true, y_score)
    labels = list(labels) if labels is not None else [f"label_{j}" for j in range(yt.shape[1])]
    skip = single_class_labels(yt)
    rows = []
    for j, lab in enumerate(labels):
        r = {"label": lab, "n_pos": int(yt[:, j].sum()), "prevalence": float(yt[:, j].mean()),
             "roc_auc": np.nan if skip[j] else float(skm.roc_auc_score(yt[:, j], ys[:, j])),
             "pr_auc": np.nan if skip[j] else float(skm.average_precision_score(yt[:, j], ys[:, j]))}
        if y_pred is not None:
            yp = as_label_matrix(y_pred, "y_pred")
            r["f1"] = float(skm.f1_score(yt[:, j], yp[:, j], zero_division=0))
        rows.append(r)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- thresholds
def select_thresholds(y_true_val, y_score_val, *, default: float = 0.5) -> np.ndarray:
    """Per-label threshold that maximises that label's F1 on the given (validation) data.

    For each label the candidates are the distinct validation scores (decision
    ``score >= t``); the best F1 wins, ties go to the **highest** threshold (fewer
    positives). A label without a positive in the validation data has no F1 to maximise
    and keeps ``default``. Call this with validation predictions only, then apply the
    thresholds to the test predictions with :func:`binarize`.
    """
    yt, ys = _check(y_true_val, y_score_val, "y_score_val")
    out = np.full(yt.shape[1], float(default))
    for j in range(yt.shape[1]):
        pos = int(yt[:, j].sum())
        if pos == 0:
            continue
        order = np.argsort(-ys[:, j], kind="mergesort")
        s, t = ys[order, j], yt[order, j]
        tp = np.cumsum(t)
        fp = np.cumsum(1 - t)
        # the cut after position i predicts the first i+1 items; only cuts at the last
        # occurrence of a score value are realisable with `score >= s[i]`
        last = np.r_[s[1:] != s[:-1], True]
        f1 = 2 * tp / (tp + fp + pos)
        f1 = np.where(last, f1, -1.0)
        best = np.flatnonzero(f1 == f1.max())
        out[j] = float(s[best[0]])    # smallest i = highest threshold among ties
    return out


def binarize(y_score, thresholds: Any = 0.5, *, strict: bool = False) -> np.ndarray:
    """Decisions ``score >= threshold`` (scalar or one threshold per label).

    ``strict=True`` gives ``score > threshold``, the rule behind MediaEval's published
    baseline decisions (its thresholds file reproduces its decisions file only that way).
    """
    ys = np.asarray(y_score, dtype=np.float64)
    th = np.asarray(thresholds, dtype=np.float64)
    if th.ndim == 1 and th.shape[0] != ys.shape[1]:
        raise ValueError(f"{th.shape[0]} thresholds for {ys.shape[1]} labels")
    return ((ys > th) if strict else (ys >= th)).astype(np.int8)


def precision_recall_f1(y_true, y_pred, average: str = "macro") -> tuple[float, float, float]:
    """Precision, recall, F1 over labels (``macro``: mean of per-label values; ``micro``:
    from summed counts), ``zero_division=0``. Same as sklearn's multilabel-indicator
    results, also for a single label column (which sklearn would treat as binary and
    average over the two classes)."""
    yt = as_label_matrix(y_true)
    yp = as_label_matrix(y_pred, "y_pred")
    if yp.shape != yt.shape:
        raise ValueError(f"y_pred shape {yp.shape} does not match y_true shape {yt.shape}")
    tp = (yt & yp).sum(axis=0).astype(np.float64)
    fp = ((1 - yt) & yp).sum(axis=0).astype(np.float64)
    fn = (yt & (1 - yp)).sum(axis=0).astype(np.float64)

    def prf(tp, fp, fn):
        p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
        f = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
        return p, r, f

    if average == "macro":
        p, r, f = prf(tp, fp, fn)
        return float(p.mean()), float(r.mean()), float(f.mean())
    if average == "micro":
        p, r, f = prf(np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()]))
        return float(p[0]), float(r[0]), float(f[0])
    raise ValueError(f"average must be 'macro' or 'micro', not {average!r}")


# --------------------------------------------------------------------------- summaries
def evaluate_multilabel(y_true, y_score, *, thresholds: Any = None, y_pred: Any = None
                        ) -> dict[str, float]:
    """All figures a table needs, as a flat dict.

    ``f1_macro_05``/``f1_micro_05`` use the fixed threshold 0.5; ``f1_macro``/``f1_micro``
    use ``y_pred`` when given, else ``thresholds`` (chosen on validation), else 0.5.
    ``n_labels_skipped_auc`` counts labels left out of the macro ROC-/PR-AUC.
    """
    yt, ys = _check(y_true, y_score)
    out: dict[str, float] = {}
    out["roc_auc_macro"], skipped = macro_roc_auc(yt, ys, return_skipped=True)
    out["pr_auc_macro"] = macro_average_precision(yt, ys)
    out["roc_auc_micro"] = micro_roc_auc(yt, ys)
    out["pr_auc_micro"] = micro_average_precision(yt, ys)
    d05 = binarize(ys, 0.5)
    out["f1_macro_05"] = precision_recall_f1(yt, d05, "macro")[2]
    out["f1_micro_05"] = precision_recall_f1(yt, d05, "micro")[2]
    if y_pred is None:
        y_pred = binarize(ys, 0.5 if thresholds is None else thresholds)
    for avg in ("macro", "micro"):
        p, r, f = precision_recall_f1(yt, y_pred, avg)
        out[f"precision_{avg}"], out[f"recall_{avg}"], out[f"f1_{avg}"] = p, r, f
    out["n_labels"] = float(yt.shape[1])
    out["n_labels_skipped_auc"] = float(skipped)
    return out


def fold_metrics() -> dict[str, Any]:
    """Metric functions for :func:`mer_utils.results.score_experiment` (multi-label folds).

    ``f1_*`` use the fold's stored ``y_pred`` (decisions at validation-chosen thresholds)
    when present, else 0.5; ``f1_*_05`` always use 0.5.
    """
    def _ev(fp):
        if _cache.get("fp") is not fp:      # holding fp keeps its identity unique
            _cache["fp"], _cache["val"] = fp, evaluate_multilabel(fp.y_true, fp.y_score,
                                                                   y_pred=fp.y_pred)
        return _cache["val"]

    _cache: dict[str, Any] = {}
    names = ["f1_macro", "f1_micro", "f1_macro_05", "f1_micro_05", "roc_auc_macro",
             "pr_auc_macro", "roc_auc_micro", "pr_auc_micro", "n_labels", "n_labels_skipped_auc"]
    return {n: (lambda fp, n=n: _ev(fp)[n]) for n in names}


# --------------------------------------------------------------------------- protocol
def validation_thresholded(Y_val, S_val, S_test) -> tuple[np.ndarray, dict[str, Any]]:
    """Test decisions at per-label thresholds chosen on the validation predictions.

    Returns ``(y_pred, info)``: ``y_pred`` = ``S_test >= thresholds`` (int8) and ``info`` =
    the thresholds, the rule and the validation size, to store beside the predictions
    (``UnitResult.info`` or a meta dict). Test data never influence the thresholds.
    """
    th = select_thresholds(Y_val, S_val)
    info = {"thresholds": [float(t) for t in th], "threshold_rule": "max F1 per label on validation",
            "n_val": int(len(Y_val))}
    return binarize(S_test, th), info


def store_thresholded_run(results_dir, experiment: str, *, labels: Sequence[str], ids_test: Sequence,
                          Y_val, S_val, Y_test, S_test, fold: int = 0,
                          meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Choose per-label thresholds on the validation predictions, store the test fold.

    A single-unit run (``mer_utils.results.save_predictions``): the stored unit holds the
    test ``y_true``/``y_score`` and ``y_pred`` = test scores thresholded with the validation
    thresholds; the thresholds go into ``meta.json``. Returns the meta dict written. For
    protocols of several units, return :func:`validation_thresholded`'s decisions and info
    from the ``fit_predict`` given to ``mer_utils.experiment.run_protocol`` instead.
    """
    from mer_utils.results import save_predictions

    y_pred, th_info = validation_thresholded(Y_val, S_val, S_test)
    info = dict(meta or {})
    info.update(th_info, n_test=int(len(Y_test)), labels=list(map(str, labels)))
    save_predictions(results_dir, experiment, fold, ids=ids_test, y_true=as_label_matrix(Y_test),
                     y_score=S_test, labels=labels, y_pred=y_pred, meta=info)
    return info


def group_split_multilabel(Y, groups: Sequence | None = None, *, val_size: float = 0.15,
                           test_size: float = 0.2, seed: int = 0, n_tries: int = 50
                           ) -> dict[str, np.ndarray]:
    """Train / validation / test row indices, group-disjoint (e.g. artist), label-balanced.

    For corpora without an official split (the demo corpus). ``n_tries`` seeded random
    group splits (``GroupShuffleSplit``) are drawn and the one whose per-label positive
    rates in the three parts are closest to the overall rates wins (labels with positives
    missing from the training part are penalised first). Deterministic for a seed.
    ``groups=None`` treats every row as its own group.
    """
    from sklearn.model_selection import GroupShuffleSplit

    Y = as_label_matrix(Y, "Y")
    n = len(Y)
    g = np.arange(n) if groups is None else np.asarray(pd.Series(list(groups)).astype(str))
    if len(g) != n:
        raise ValueError(f"groups has {len(g)} entries for {n} rows")
    if len(np.unique(g)) < 3:
        raise ValueError("need at least 3 groups for a group-disjoint 3-way split")
    overall = Y.mean(axis=0)
    rng = np.random.default_rng(seed)
    best, best_cost = None, np.inf
    for _ in range(n_tries):
        rs = int(rng.integers(2**31 - 1))
        outer = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=rs)
        rest, test = next(outer.split(np.zeros(n), groups=g))
        inner = GroupShuffleSplit(n_splits=1, test_size=val_size / (1 - test_size), random_state=rs + 1)
        tr, va = next(inner.split(np.zeros(len(rest)), groups=g[rest]))
        parts = {"train": np.sort(rest[tr]), "validation": np.sort(rest[va]), "test": np.sort(test)}
        if min(len(v) for v in parts.values()) == 0:
            continue
        missing = int(((Y[parts["train"]].sum(axis=0) == 0) & (Y.sum(axis=0) > 0)).sum())
        cost = missing * 10.0 + sum(np.abs(Y[idx].mean(axis=0) - overall).sum()
                                    for idx in parts.values())
        if cost < best_cost:
            best, best_cost = parts, cost
    if best is None:
        raise ValueError("could not make a non-empty group split; lower val_size/test_size")
    return best


# --------------------------------------------------------------------------- MediaEval
def mediaeval_scores(y_true, y_score, y_pred: Any = None) -> dict[str, float]:
    """The MediaEval 2019-2021 emotion/theme figures, named as in its results files.

    ROC-AUC and PR-AUC come from the scores; precision/recall/F-score from the decisions
    ``y_pred`` (omitted when None). Macro averages leave single-class labels out (MediaEval's
    test split has none, so this is exactly sklearn's ``average="macro"`` there).
    """
    yt, ys = _check(y_true, y_score)
    out = {"ROC-AUC-macro": macro_roc_auc(yt, ys), "PR-AUC-macro": macro_average_precision(yt, ys)}
    if y_pred is not None:
        out["precision-macro"], out["recall-macro"], out["F-score-macro"] = \
            precision_recall_f1(yt, y_pred, "macro")
    out["ROC-AUC-micro"] = micro_roc_auc(yt, ys)
    out["PR-AUC-micro"] = micro_average_precision(yt, ys)
    if y_pred is not None:
        out["precision-micro"], out["recall-micro"], out["F-score-micro"] = \
            precision_recall_f1(yt, y_pred, "micro")
    return out


def read_mediaeval_results(path: Path | str) -> dict[str, float]:
    """Read a MediaEval ``*_results.tsv`` (``metric<TAB>value`` lines, no header)."""
    path = Path(path)
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            k, v = line.split("\t")[:2]
            out[k.strip()] = float(v)
    return out


def load_mediaeval_baseline(mediaeval_dir: Path | str, system: str = "vggish") -> dict[str, Any]:
    """Ground truth, predictions, decisions, thresholds and published scores of a baseline.

    ``mediaeval_dir`` is MTG-Jamendo's ``results/mediaeval`` folder (``groundtruth.npy``,
    ``baseline_<system>_{predictions,decisions}.npy``, ``baseline_<system>_thresholds.txt``,
    ``baseline_<system>_results.tsv``). Missing optional files give ``None``.
    """
    d = Path(mediaeval_dir)
    gt = d / "groundtruth.npy"
    if not gt.exists():
        raise FileNotFoundError(
            f"{gt} not found: point to MTG-Jamendo's results/mediaeval folder (from the "
            f"mtg-jamendo-dataset repository), which holds groundtruth.npy and the baselines.")
    out: dict[str, Any] = {"groundtruth": np.load(gt)}
    for key, name in (("predictions", f"baseline_{system}_predictions.npy"),
                      ("decisions", f"baseline_{system}_decisions.npy")):
        out[key] = np.load(d / name) if (d / name).exists() else None
    th = d / f"baseline_{system}_thresholds.txt"
    if th.exists():
        t = pd.read_csv(th, sep="\t", header=None, names=["tag", "threshold"])
        out["thresholds"] = t["threshold"].to_numpy(dtype=np.float64)
        out["tags"] = [s.split("---")[-1] for s in t["tag"]]
    else:
        out["thresholds"], out["tags"] = None, None
    res = d / f"baseline_{system}_results.tsv"
    out["published"] = read_mediaeval_results(res) if res.exists() else None
    return out


def _quiet():  # pragma: no cover - helper for notebooks
    warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
