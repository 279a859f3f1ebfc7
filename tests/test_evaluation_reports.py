"""Single-label evaluation: stratified splits and their files, classification reports and
confusion matrices on constructed predictions with known values, fold metrics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer_utils import evaluation as ev
from mer_utils.results import load_predictions, save_predictions, score_experiment, summarise

LABELS = ["calm", "happy", "sad"]
# 10 items. calm: 4 (3 right, 1 -> sad); happy: 3 (all right); sad: 3 (1 right, 1 -> calm, 1 -> happy)
Y_TRUE = ["calm"] * 4 + ["happy"] * 3 + ["sad"] * 3
Y_PRED = ["calm", "calm", "calm", "sad", "happy", "happy", "happy", "sad", "calm", "happy"]


def test_classification_report_known_values():
    rep = ev.classification_report_df(Y_TRUE, Y_PRED, LABELS)
    assert list(rep.index) == LABELS + ["accuracy", "macro avg", "weighted avg"]
    assert list(rep.columns) == ["precision", "recall", "f1-score", "support"]
    # calm: predicted 4 times, 3 right -> P 3/4; 4 true, 3 found -> R 3/4
    assert rep.loc["calm", "precision"] == pytest.approx(0.75)
    assert rep.loc["calm", "recall"] == pytest.approx(0.75)
    # happy: predicted 4 times, 3 right -> P 3/4; R 3/3
    assert rep.loc["happy", "precision"] == pytest.approx(0.75)
    assert rep.loc["happy", "recall"] == pytest.approx(1.0)
    assert rep.loc["happy", "f1-score"] == pytest.approx(2 * 0.75 / 1.75)
    # sad: predicted twice, 1 right -> P 1/2; R 1/3; F1 = 2PR/(P+R) = 0.4
    assert rep.loc["sad", "precision"] == pytest.approx(0.5)
    assert rep.loc["sad", "recall"] == pytest.approx(1 / 3)
    assert rep.loc["sad", "f1-score"] == pytest.approx(0.4)
    assert rep.loc["accuracy", "precision"] == pytest.approx(0.7)
    assert rep.loc["accuracy", "support"] == 10
    assert rep.loc["macro avg", "recall"] == pytest.approx((0.75 + 1 + 1 / 3) / 3)
    assert list(rep["support"][:3]) == [4, 3, 3]


def test_report_accepts_indices_and_never_predicted_class():
    idx_true = [LABELS.index(v) for v in Y_TRUE]
    idx_pred = [LABELS.index(v) for v in Y_PRED]
    pd.testing.assert_frame_equal(ev.classification_report_df(idx_true, idx_pred, LABELS),
                                  ev.classification_report_df(Y_TRUE, Y_PRED, LABELS))
    rep = ev.classification_report_df(["a", "b", "b"], ["a", "a", "a"], ["a", "b"])
    assert rep.loc["b", "precision"] == 0.0 and rep.loc["b", "recall"] == 0.0


def test_confusion_matrix_known_values():
    cm = ev.confusion_matrix_df(Y_TRUE, Y_PRED, LABELS)
    expected = np.array([[3, 0, 1],     # calm -> calm x3, sad x1
                         [0, 3, 0],     # happy -> happy x3
                         [1, 1, 1]])    # sad -> calm, happy, sad
    np.testing.assert_array_equal(cm.to_numpy(), expected)
    assert cm.index.name == "true" and cm.columns.name == "predicted"
    assert list(cm.index) == LABELS and list(cm.columns) == LABELS
    norm = ev.confusion_matrix_df(Y_TRUE, Y_PRED, LABELS, normalize="true")
    np.testing.assert_allclose(norm.to_numpy().sum(axis=1), 1.0)
    assert norm.loc["sad", "sad"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="not among"):
        ev.confusion_matrix_df(["x"], ["calm"], LABELS)


def test_stratified_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(LABELS, [20, 15, 10])
    s = ev.stratified_split(labels, test_size=0.2, val_size=0.2, seed=3)
    allidx = np.concatenate([s["train"], s["validation"], s["test"]])
    assert sorted(allidx) == list(range(len(labels)))                       # partition
    for name, frac in (("test", 0.2), ("validation", 0.2)):
        counts = pd.Series(labels[s[name]]).value_counts()
        assert counts["calm"] == 4 and counts["happy"] == 3 and counts["sad"] == 2
    again = ev.stratified_split(labels, test_size=0.2, val_size=0.2, seed=3)
    other = ev.stratified_split(labels, test_size=0.2, val_size=0.2, seed=4)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    assert not np.array_equal(s["test"], other["test"])


def test_stratified_split_tiny_classes_and_errors():
    s = ev.stratified_split(["a"] * 3 + ["b"] * 3, test_size=0.1, val_size=0.1, seed=0)
    assert all(len(s[k]) == 2 for k in s)                 # one of each class everywhere
    with pytest.raises(ValueError, match="at least 3"):
        ev.stratified_split(["a", "a", "b", "b", "b"], test_size=0.2, val_size=0.2)
    with pytest.raises(ValueError, match="fractions"):
        ev.stratified_split(["a"] * 9, test_size=0.6, val_size=0.5)


def test_split_file_round_trip(tmp_path):
    ids = [f"t{i}" for i in range(30)]
    labels = np.repeat(LABELS, 10)
    s = ev.stratified_split(labels, test_size=0.2, val_size=0.2, seed=0)
    path = ev.save_split(tmp_path / "splits" / "x.csv", ids, s, labels)
    df = pd.read_csv(path)
    assert list(df.columns) == ["track_id", "split", "label"]
    back = ev.load_split(path, ids)
    assert all(np.array_equal(back[k], s[k]) for k in s)
    # rows in another order map back to the same tracks
    shuffled = list(reversed(ids))
    back2 = ev.load_split(path, shuffled)
    assert sorted(shuffled[i] for i in back2["test"]) == sorted(ids[i] for i in s["test"])
    with pytest.raises(ValueError, match="not in the data"):
        ev.load_split(path, ids[:-1])
    # load_or_make_split reuses the file, and makes a new one when the data changed
    again = ev.load_or_make_split(path, ids, labels, seed=99)
    assert all(np.array_equal(again[k], s[k]) for k in s)
    fewer = ev.load_or_make_split(path, ids[:-3], labels[:-3], seed=0)
    assert len(np.concatenate(list(fewer.values()))) == 27


def test_fold_metrics_and_report_over_folds(tmp_path):
    scores = np.eye(3)[[LABELS.index(v) for v in Y_PRED]]
    save_predictions(tmp_path, "exp", 0, ids=range(10), y_true=np.array(Y_TRUE), y_score=scores,
                     labels=LABELS)
    perfect = np.eye(3)[[LABELS.index(v) for v in Y_TRUE]]
    save_predictions(tmp_path, "exp", 1, ids=range(10), y_true=np.array(Y_TRUE), y_score=perfect,
                     labels=LABELS)
    fs = score_experiment(tmp_path, "exp", ev.SINGLE_LABEL_METRICS)
    assert fs["accuracy"].tolist() == pytest.approx([0.7, 1.0])
    assert fs["macro_f1"].iloc[1] == pytest.approx(1.0)
    summ = summarise(fs)
    assert summ["accuracy"].iloc[0] == pytest.approx(0.85)
    folds = load_predictions(tmp_path, "exp")
    rep = ev.report_over_folds(folds)
    row = rep[(rep["class"] == "sad") & (rep["metric"] == "recall")].iloc[0]
    assert row["mean"] == pytest.approx((1 / 3 + 1) / 2)
    assert row["std"] == pytest.approx(np.std([1 / 3, 1], ddof=1))
    sup = rep[(rep["class"] == "calm") & (rep["metric"] == "support")].iloc[0]
    assert sup["mean"] == 8                                     # summed over the two folds
    mean, std = ev.pivot_report(rep)
    assert list(mean.index[:3]) == LABELS and list(mean.columns) == ["precision", "recall", "f1-score", "support"]
    assert mean.loc["sad", "recall"] == pytest.approx(2 / 3) and std.loc["sad", "recall"] > 0
    cm = ev.confusion_over_folds(folds)
    assert cm.loc["sad", "sad"] == 1 + 3 and cm.to_numpy().sum() == 20
    assert ev.per_class_metrics(folds[0])["sad/f1-score"] == pytest.approx(0.4)


def test_plots_render(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from mer_utils.plots.classification import (
        plot_classification_report, plot_confusion_matrix, plot_training_curves,
    )

    rep = ev.classification_report_df(Y_TRUE, Y_PRED, LABELS)
    cm = ev.confusion_matrix_df(Y_TRUE, Y_PRED, LABELS)
    hist = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.4, 0.6],
            "val_accuracy": [0.3, 0.5], "epoch": [1, 2], "best_epoch": 2}
    paper = pd.DataFrame({"precision": [0.6, np.nan]}, index=["calm", "sad"])
    for i, fig in enumerate([plot_classification_report(rep, title="r", paper=paper),
                             plot_confusion_matrix(cm, title="c"),
                             plot_training_curves([hist, hist], title="t")]):
        fig.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000
