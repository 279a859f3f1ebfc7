"""The one set of metrics (mer_utils.evaluation.metrics): values against hand computations,
per-unit tables from stored predictions, the paired comparison, and the rule that no other
module of the package calls a scikit-learn metric."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_utils.evaluation import metrics as M
from mer_utils.evaluation.protocols import Split
from mer_utils.results import Unit, save_predictions

PKG = Path(__file__).resolve().parents[1] / "mer_utils"
LABELS = ["Q1", "Q2", "Q3", "Q4"]


def test_label_scores_by_hand():
    yt = ["Q1", "Q1", "Q2", "Q3", "Q4", "Q4"]
    yp = ["Q1", "Q2", "Q2", "Q3", "Q4", "Q1"]
    s = M.label_scores(yt, yp, LABELS)
    assert s["accuracy"] == pytest.approx(4 / 6)
    # per class P: Q1 1/2, Q2 1/2, Q3 1, Q4 1; R: Q1 1/2, Q2 1, Q3 1, Q4 1/2
    p = [0.5, 0.5, 1, 1]
    r = [0.5, 1, 1, 0.5]
    f = [2 * a * b / (a + b) for a, b in zip(p, r)]
    assert s["precision"] == pytest.approx(np.mean(p))
    assert s["recall"] == pytest.approx(np.mean(r)) == pytest.approx(s["balanced_accuracy"])
    assert s["f1"] == pytest.approx(np.mean(f)) == pytest.approx(s["macro_f1"])
    support = [2, 1, 1, 2]
    assert s["weighted_f1"] == pytest.approx(np.average(f, weights=support))
    # MCC (Gorodkin's R_K) from the confusion matrix
    C = M.confusion_matrix_df(yt, yp, LABELS).to_numpy().astype(float)
    t, pk, c, n = C.sum(1), C.sum(0), np.trace(C), C.sum()
    mcc = (c * n - t @ pk) / np.sqrt((n ** 2 - pk @ pk) * (n ** 2 - t @ t))
    assert s["mcc"] == pytest.approx(mcc)


def test_one_class_for_everything_scores_what_it_is():
    yt = np.array([0, 1, 2, 3] * 5)
    s = M.label_scores(yt, np.zeros_like(yt), LABELS)
    assert s["accuracy"] == pytest.approx(0.25)
    assert s["f1"] == pytest.approx(0.1)            # F1 0.4 on Q1, 0 elsewhere
    assert s["mcc"] == 0.0
    b = M.label_scores(["V-", "V+", "V+"], ["V+", "V+", "V-"], ["V-", "V+"])
    assert b["binary_f1"] == pytest.approx(0.5)     # of the positive (second) label


def test_unit_scores_and_paired_comparisons(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 40)
    splits = []
    for f in range(5):
        test = np.arange(f * 8, f * 8 + 8)
        splits.append(Split(Unit(0, f), np.setdiff1d(np.arange(40), test), test))
        for name, noise in (("good", 0.1), ("bad", 0.7)):
            pred = np.where(rng.random(8) < noise, rng.integers(0, 4, 8), y[test])
            P = np.eye(4, dtype=np.float32)[pred]
            save_predictions(tmp_path, name, Unit(0, f), ids=[str(i) for i in test], y_true=y[test],
                             y_score=P, labels=LABELS, info={"seconds": 1.5, "parameters": 10})
    s = M.unit_scores(tmp_path, {"Good model": "good", "Bad model": "bad"}, metrics=("f1", "mcc"), key="entry")
    assert list(s.columns[:4]) == ["entry", "repeat", "fold", "seed"]
    assert len(s) == 10 and set(s["entry"]) == {"Good model", "Bad model"}
    assert (s["seconds"] == 1.5).all() and (s["parameters"] == 10).all()
    assert s.groupby("entry")["f1"].mean()["Good model"] > s.groupby("entry")["f1"].mean()["Bad model"]
    cmp = M.paired_comparisons(s, splits, "Good model", key="entry")
    assert cmp.loc[0, "entry"] == "Bad model" and cmp.loc[0, "units"] == 5
    assert cmp.loc[0, "mean f1 difference"] < 0 and 0 <= cmp.loc[0, "p"] <= 1
    with pytest.raises(KeyError, match="unknown metric"):
        M.unit_scores(tmp_path, ["good"], metrics=("f2",))


def _sklearn_metric_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sklearn.metrics"):
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "sklearn" and any(a.name == "metrics" for a in node.names):
            found.append("from sklearn import metrics")
        elif isinstance(node, ast.Import) and any(a.name.startswith("sklearn.metrics") for a in node.names):
            found.append("import sklearn.metrics")
    return found


def test_no_sklearn_metric_outside_evaluation():
    """Scores come from mer_utils.evaluation only: no other module imports sklearn.metrics."""
    offenders = {str(p.relative_to(PKG)): calls for p in PKG.rglob("*.py")
                 if "evaluation" not in p.relative_to(PKG).parts and (calls := _sklearn_metric_calls(p))}
    assert not offenders, offenders
