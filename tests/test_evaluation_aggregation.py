"""Segment -> song aggregation and the corrected resampled t-test, on hand-made values."""
import numpy as np
import pytest

from mer_utils.evaluation import aggregation as A
from mer_utils.evaluation.stats import corrected_resampled_ttest


OWNER = ["s1", "s1", "s1", "s2", "s2"]
P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4],       # s1: votes 0, 1, 0
              [0.3, 0.7], [0.45, 0.55]])                # s2: votes 1, 1


def test_mean_probability_and_vote():
    songs, M = A.mean_probability(OWNER, P)
    assert list(songs) == ["s1", "s2"]
    np.testing.assert_allclose(M, [[1.7 / 3, 1.3 / 3], [0.375, 0.625]])
    songs, v = A.majority_vote(OWNER, P)
    assert list(v) == [0, 1]
    # a tie goes to the class with the higher mean probability
    _, tie = A.majority_vote(["a", "a"], np.array([[0.6, 0.4], [0.1, 0.9]]))
    assert list(tie) == [1]
    assert list(A.chunk_decision(OWNER, P, "mean")[1]) == [0, 1]


def test_segment_statistics_eq10():
    F = A.segment_statistics(OWNER, P, threshold=0.5, labels=["neg", "pos"])
    assert F.shape == (2, 14) and list(F.index) == ["s1", "s2"]
    s1 = F.loc["s1"]
    assert s1["neg_max"] == 0.9 and s1["neg_min"] == 0.2
    assert s1["neg_q1"] == pytest.approx(0.4) and s1["neg_median"] == pytest.approx(0.6)
    assert s1["neg_q3"] == pytest.approx(0.75) and s1["neg_mean"] == pytest.approx(1.7 / 3)
    assert s1["neg_share_above"] == pytest.approx(2 / 3)        # 0.9 and 0.6 > 0.5
    assert F.loc["s2", "pos_share_above"] == 1.0
    assert list(F.columns[:7]) == [f"neg_{s}" for s in A.STAT_NAMES]


def test_corrected_ttest():
    a = np.array([0.8, 0.82, 0.79, 0.81, 0.8])
    b = a - np.array([0.01, 0.03, 0.02, 0.02, 0.02])
    t, p = corrected_resampled_ttest(a, b, n_train=90, n_test=10)
    d = a - b
    expect = d.mean() / np.sqrt((1 / 5 + 10 / 90) * d.var(ddof=1))
    assert t == pytest.approx(expect) and 0 < p < 0.05
    # the correction makes it more conservative than the plain paired t-test
    from scipy import stats
    assert p > stats.ttest_rel(a, b).pvalue
    assert corrected_resampled_ttest(a, a, n_train=9, n_test=1) == (0.0, 1.0)
