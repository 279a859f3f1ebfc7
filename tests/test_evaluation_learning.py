"""The learning checks (mer_utils.evaluation.learning): a network that learned passes, one
that predicts one class or guesses does not, from predictions stored in a results folder."""
import numpy as np
import pytest

from mer_utils.evaluation import learning as L
from mer_utils.results import FoldPredictions, save_predictions

LABELS = ["Q1", "Q2", "Q3", "Q4"]


def _unit(y, pred, k=4):
    score = np.eye(k)[pred] * 0.7 + 0.3 / k
    return y, score, pred


def _store(tmp_path, name, pairs, labels=LABELS):
    from mer_utils.results import Unit

    for i, (y, pred) in enumerate(pairs):
        yt, score, yp = _unit(np.asarray(y), np.asarray(pred), len(labels))
        save_predictions(tmp_path, name, Unit(0, i, None), ids=[f"c{i}_{j}" for j in range(len(yt))],
                         y_true=yt, y_score=score, labels=labels, y_pred=yp)


def test_a_network_that_learned_passes_and_constant_or_random_ones_fail(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    good = [(y, np.where(rng.random(40) < 0.7, y, rng.integers(0, 4, 40))) for _ in range(2)]
    const = [(y, np.zeros(40, int)) for _ in range(2)]
    guess = [(y, rng.integers(0, 4, 40)) for _ in range(2)]
    for name, pairs in (("good", good), ("const", const), ("guess", guess)):
        _store(tmp_path, name, pairs)
    t = L.learning_table(tmp_path, {"good": "good", "const": "const", "guess": "guess", "absent": "absent"},
                         "quadrant").set_index("network")
    assert t.loc["good", "learned"] and t.loc["good", "beats chance"]
    assert t.loc["good", "mean"] >= 0.4
    assert not t.loc["const", "learned"] and not t.loc["const", "beats chance"]
    assert t.loc["const", "single-class units"] == 2
    assert not t.loc["guess", "beats chance"] and not t.loc["guess", "learned"]
    assert t.loc["absent", "verdict"] == "not run" and t.loc["absent", "units"] == 0
    with pytest.raises(ValueError, match="unknown task"):
        L.learning_table(tmp_path, {"good": "good"}, "regression")


def test_beats_chance_compares_with_the_majority_class_not_uniform_guessing():
    # 80 % of the test items are Q1: always answering Q1 is 80 % accurate and beats nothing
    y = np.array([0] * 80 + [1] * 20)
    fp = FoldPredictions("x", 0, np.arange(100).astype(str), y, np.eye(4)[np.zeros(100, int)], LABELS,
                         y_pred=np.zeros(100, int))
    r = L.beats_chance([fp])
    assert r["chance"] == pytest.approx(0.8) and not r["beats_chance"]
    fp_ok = FoldPredictions("x", 0, np.arange(100).astype(str), y, np.eye(4)[y], LABELS, y_pred=y)
    assert L.beats_chance([fp_ok])["beats_chance"]


def test_multilabel_chance_is_the_pooled_roc_auc():
    rng = np.random.default_rng(1)
    Y = (rng.random((60, 5)) < 0.3).astype(int)
    informative = np.clip(Y * 0.6 + rng.random((60, 5)) * 0.5, 0, 1)
    noise = rng.random((60, 5))
    f_inf = FoldPredictions("m", 0, np.arange(60).astype(str), Y, informative, list("abcde"))
    f_noise = FoldPredictions("m", 0, np.arange(60).astype(str), Y, noise, list("abcde"))
    assert L.beats_chance([f_inf])["beats_chance"]
    assert not L.beats_chance([f_noise])["beats_chance"]


def test_multilabel_chance_ignores_how_common_each_label_is():
    """A network that learned only the tags' frequencies (one score per tag, the same for
    every clip, plus noise) does not beat chance; pooled raw scores would say it does."""
    rng = np.random.default_rng(2)
    prevalence = np.linspace(0.05, 0.6, 8)
    Y = (rng.random((80, 8)) < prevalence).astype(int)
    freq_only = prevalence[None, :] + rng.normal(0, 0.01, (80, 8))
    f = FoldPredictions("m", 0, np.arange(80).astype(str), Y, freq_only, list("abcdefgh"))
    assert not L.beats_chance([f])["beats_chance"]
