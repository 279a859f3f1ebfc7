import numpy as np
import pytest

from mer_utils import labels as L


@pytest.mark.parametrize("ds,thr,lo,hi", [("pmemo", 0.5, 0.0, 1.0), ("deam", 5.0, 1.0, 9.0),
                                          ("bimodal", 0.0, -4.0, 4.0)])
def test_quadrant_rule_at_boundaries(ds, thr, lo, hi):
    eps = 1e-9
    # exactly at the threshold is "low" (<=), just above is "high" (Table 2 of the multi-source paper)
    v = [thr + 1, thr, thr, thr + 1, thr + eps, lo, hi]
    a = [thr + 1, thr + 1, thr, thr, thr + eps, lo, hi]
    assert list(L.quadrant_for_dataset(ds, v, a)) == ["Q1", "Q2", "Q3", "Q4", "Q1", "Q3", "Q1"]


def test_quadrant_names_follow_russell():
    assert L.QUADRANT_NAMES == {"Q1": "A+V+", "Q2": "A+V-", "Q3": "A-V-", "Q4": "A-V+"}
    for q in L.QUADRANTS:
        sv, sa = L.quadrant_to_va_signs(q)
        assert L.quadrant_from_va([sv * 0.5], [sa * 0.5], 0.0)[0] == q


def test_unknown_dataset_and_nan_are_errors():
    with pytest.raises(KeyError, match="No V/A"):
        L.quadrant_for_dataset("4q", [1], [1])
    with pytest.raises(ValueError, match="NaN"):
        L.quadrant_from_va([np.nan], [0.2], 0.0)


@pytest.mark.parametrize("ds", ["pmemo", "deam", "bimodal"])
def test_unit_scale_round_trip_keeps_threshold_at_zero(ds):
    lo, hi = L.VA_RANGES[ds]
    x = np.linspace(lo, hi, 11)
    u = L.to_unit_scale(x, ds)
    assert u.min() == pytest.approx(-1) and u.max() == pytest.approx(1)
    assert L.to_unit_scale([L.VA_THRESHOLDS[ds]], ds)[0] == pytest.approx(0)
    np.testing.assert_allclose(L.from_unit_scale(u, ds), x)


def test_tags_to_matrix():
    y = L.tags_to_matrix([["happy"], ["mood/theme---sad", "film"], []], ["film", "happy", "sad"])
    np.testing.assert_array_equal(y, [[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    with pytest.raises(KeyError, match="not in the vocabulary"):
        L.tags_to_matrix([["nope"]], ["film"])


def test_vocabulary_matches_real_file(jamendo_root):
    real = [l.strip() for l in (jamendo_root / "data/tags/moodtheme.txt").read_text().splitlines() if l.strip()]
    assert tuple(L.strip_tag_prefix(t) for t in real) == L.MOODTHEME_TAGS
