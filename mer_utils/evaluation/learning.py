"""Did a network learn? One check for every deep row of the compendium, from its stored
predictions.

A table of scores cannot tell a network that learned a little from one that predicts the
same class for every clip, or one whose training was broken outright. This module answers
two questions for each experiment, from the units the results store holds (never from a
score typed in):

* **Does it beat chance?** (:func:`beats_chance`) — the test predictions of all its units
  pooled: single-label, a one-sided binomial test of the number of correct predictions
  against the best *constant* predictor of those test sets (the majority class's share),
  p < :data:`ALPHA`, and more than one class predicted; multi-label, the ROC-AUC over every
  (clip, label) pair of the clips' ranks *within* each label (so that knowing how common a tag
  is earns nothing) against 0.5 (Mann-Whitney), p < :data:`ALPHA`.
  This is what the smoke runs of the notebooks assert for at least one network per notebook
  (``tests/test_notebooks.py``), and what a deliberately broken fit
  (``MER_SABOTAGE=shuffle-labels``, :mod:`mer_utils.training.engine`) fails.
* **Did it learn enough to be shown with a score?** (:data:`BARS`) — the demo's bar: a
  4-quadrant network reaches macro-F1 >= 0.40 (mean over its units; chance is 0.25 at
  best), a 3-class network accuracy >= 0.55, a multi-label network macro ROC-AUC >= 0.60, and
  no unit predicts a single class for every test item.

:func:`learning_table` puts both in one table, one row per experiment.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

ALPHA = 0.01


@dataclasses.dataclass(frozen=True)
class Bar:
    """The score a network must reach (mean over units) to count as having learned."""

    metric: str          # a key of :data:`mer_utils.evaluation.metrics.METRICS` or "roc_auc_macro"
    value: float
    words: str

    def describe(self) -> str:
        return f"{self.metric} >= {self.value:g} ({self.words})"


BARS: dict[str, Bar] = {
    "quadrant": Bar("f1", 0.40, "4 quadrants, mean macro-F1 over units; chance <= 0.25"),
    "label3": Bar("accuracy", 0.55, "3 classes, mean accuracy over units; chance about 0.33"),
    "binary": Bar("accuracy", 0.60, "2 classes, mean accuracy over units; chance about 0.5"),
    "multilabel": Bar("roc_auc_macro", 0.60, "multi-label, mean macro ROC-AUC over units; chance 0.5"),
}


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p) (exact)."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p))


def _auc_p(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """ROC-AUC of scores ``s`` for binary truth ``y`` and its one-sided p-value against 0.5."""
    from scipy.stats import mannwhitneyu

    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan"), 1.0
    res = mannwhitneyu(pos, neg, alternative="greater")
    return float(res.statistic / (len(pos) * len(neg))), float(res.pvalue)


def beats_chance(folds) -> dict:
    """Whether the pooled test predictions of ``folds`` (stored units of one experiment)
    beat chance (see the module docstring). Returns a dict with ``beats_chance`` (bool),
    ``p_value``, ``test_items``, ``classes_predicted`` / ``roc_auc_pooled`` and ``chance``."""
    folds = list(folds)
    if not folds:
        return {"beats_chance": False, "p_value": 1.0, "test_items": 0, "why": "no stored unit"}
    if np.asarray(folds[0].y_true).ndim == 2:              # multi-label
        # within-label ranks: a network that only learned how common each tag is (the same
        # score for every clip) ranks clips at random within a label and gets AUC 0.5
        ys, ss = [], []
        for f in folds:
            Y, S = np.asarray(f.y_true, dtype=int), np.asarray(f.y_score, dtype=float)
            for j in range(Y.shape[1]):
                if 0 < Y[:, j].sum() < len(Y):
                    from scipy.stats import rankdata

                    ys.append(Y[:, j])
                    ss.append(rankdata(S[:, j]) / (len(Y) + 1))
        if not ys:
            return {"beats_chance": False, "p_value": 1.0, "test_items": int(len(folds[0].y_true)),
                    "why": "no label with both classes in a test set"}
        auc, p = _auc_p(np.concatenate(ys), np.concatenate(ss))
        return {"beats_chance": bool(p < ALPHA and auc > 0.5), "p_value": p, "test_items": int(len(folds[0].y_true)),
                "roc_auc_pooled": auc, "chance": 0.5}
    yt = np.concatenate([np.asarray(f.y_true).astype(str) for f in folds])
    yp = np.concatenate([np.asarray(f.predicted()).astype(str) for f in folds])
    labels = [str(l) for l in folds[0].labels]
    # predictions stored as indices into the labels: compare as names
    if set(np.unique(yp)) <= {str(i) for i in range(len(labels))} and not set(np.unique(yt)) <= {
            str(i) for i in range(len(labels))}:
        yp = np.asarray(labels)[yp.astype(int)]
    n, correct = len(yt), int((yt == yp).sum())
    majority = float(pd.Series(yt).value_counts(normalize=True).iloc[0]) if n else 1.0
    p = _binom_sf(correct, n, majority) if n else 1.0
    k = int(len(np.unique(yp)))
    return {"beats_chance": bool(p < ALPHA and k > 1), "p_value": p, "test_items": n,
            "accuracy_pooled": correct / n if n else float("nan"), "chance": majority, "classes_predicted": k}


def _unit_metric(f, metric: str) -> float:
    if metric == "roc_auc_macro":
        from mer_utils.evaluation.multilabel import macro_roc_auc

        return float(macro_roc_auc(np.asarray(f.y_true), np.asarray(f.y_score)))
    from mer_utils.evaluation.metrics import METRICS

    return float(METRICS[metric](f))


def _single_class(f) -> bool:
    if np.asarray(f.y_true).ndim == 2:
        return bool(np.ptp(np.asarray(f.y_score, dtype=float), axis=0).max() < 1e-6)
    return len(np.unique(np.asarray(f.predicted()).astype(str))) < 2


def learning_record(folds, task: str) -> dict:
    """The learning check of one experiment's stored units (``folds``) under ``task``'s bar
    (:data:`BARS`): ``units, metric, mean, bar, single-class units, p vs chance, beats chance,
    learned`` (bar reached and no single-class unit) and ``verdict`` in words."""
    if task not in BARS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(BARS)}")
    bar = BARS[task]
    folds = list(folds)
    vals = [_unit_metric(f, bar.metric) for f in folds]
    single = sum(_single_class(f) for f in folds)
    chance = beats_chance(folds)
    mean = float(np.nanmean(vals)) if len(vals) and not all(math.isnan(v) for v in vals) else np.nan
    learned = bool(np.isfinite(mean) and mean >= bar.value and single == 0)
    why = ("learned" if learned else
           f"below the bar ({bar.metric} {mean:.3f} < {bar.value:g})" if np.isfinite(mean) and mean < bar.value
           else f"{single} of {len(folds)} unit(s) predict one class" if single else "no score")
    return {"units": len(folds), "metric": bar.metric, "mean": mean, "bar": bar.value,
            "single-class units": int(single), "p vs chance": chance["p_value"],
            "beats chance": chance["beats_chance"], "learned": learned, "verdict": why}


def not_trained(network: str, experiment: str, verdict: str, **extra) -> dict:
    """A learning-table row for a network with no stored unit here: never trained under this
    profile ("full profile only: <why>"), not runnable, or not run; ``extra`` columns (a task)
    as the caller's table has them."""
    return {"network": network, **extra, "experiment": experiment, "units": 0, "metric": np.nan, "mean": np.nan,
            "bar": np.nan, "single-class units": 0, "p vs chance": np.nan, "beats chance": False, "learned": False,
            "verdict": verdict}


def learning_table(results_dir: Path | str, experiments: Mapping[str, str], task: str,
                   not_trained_rows: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """One row per ``{name: experiment}``: :func:`learning_record` of its stored units.
    Experiments with no stored unit are listed as ``not run``; ``not_trained_rows``
    (``{name: (experiment, verdict)}``) follow, networks this profile does not train
    (:func:`not_trained`)."""
    from mer_utils.results import load_predictions

    if task not in BARS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(BARS)}")
    recs = []
    for name, exp in experiments.items():
        try:
            folds = load_predictions(results_dir, exp)
        except FileNotFoundError:
            recs.append({**not_trained(name, exp, "not run"), "metric": BARS[task].metric, "bar": BARS[task].value})
            continue
        recs.append({"network": name, "experiment": exp, **learning_record(folds, task)})
    recs += [not_trained(name, exp, verdict) for name, (exp, verdict) in (not_trained_rows or {}).items()]
    return pd.DataFrame(recs)


def stored_histories(results_dir: Path | str, experiments: Mapping[str, str], *, key: str = "history",
                     unit: int = 0) -> dict[str, dict]:
    """``{name: history}``: the training history (the engine's dict of per-epoch lists) that
    unit ``unit`` of each experiment stored in its ``info[key]``; experiments without a
    stored unit or a history are left out."""
    from mer_utils.results import load_predictions

    out = {}
    for name, exp in experiments.items():
        try:
            folds = load_predictions(results_dir, exp)
        except FileNotFoundError:
            continue
        if len(folds) > unit and isinstance(folds[unit].info.get(key), Mapping) and folds[unit].info[key].get("epoch"):
            out[name] = dict(folds[unit].info[key])
    return out
