"""Multi-label metrics: threshold selection, single-class labels, and the MediaEval check."""
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from mer_utils.evaluation import multilabel as mm
from mer_utils.results import save_predictions, score_experiment

MEDIAEVAL = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtg-jamendo"
             / "results" / "mediaeval").resolve()


@pytest.fixture
def mediaeval_dir() -> Path:
    if not (MEDIAEVAL / "groundtruth.npy").exists():
        pytest.skip(f"MTG-Jamendo MediaEval files not present at {MEDIAEVAL} (development "
                    f"machines only; a fresh clone has none)")
    return MEDIAEVAL


def _random_problem(seed=0, n=200, L=6):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, L)) < 0.3).astype(int)
    s = np.clip(y * 0.3 + rng.random((n, L)) * 0.7, 0, 1)
    return y, s


def test_macro_auc_equals_sklearn_when_all_labels_have_both_classes():
    y, s = _random_problem()
    v, skipped = mm.macro_roc_auc(y, s, return_skipped=True)
    assert skipped == 0
    assert v == pytest.approx(skm.roc_auc_score(y, s, average="macro"), abs=1e-12)
    assert mm.macro_average_precision(y, s) == pytest.approx(
        skm.average_precision_score(y, s, average="macro"), abs=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_single_class_label_is_skipped_and_counted():
    y, s = _random_problem()
    y[:, 2] = 0                      # no positive in this split
    y[:, 4] = 1                      # no negative in this split
    try:                             # sklearn raises or returns NaN on such labels
        sk = skm.roc_auc_score(y, s, average="macro")
    except ValueError:
        sk = np.nan
    assert not np.isfinite(sk)
    v, skipped = mm.macro_roc_auc(y, s, return_skipped=True)
    assert skipped == 2
    keep = [0, 1, 3, 5]
    assert v == pytest.approx(skm.roc_auc_score(y[:, keep], s[:, keep], average="macro"))
    ev = mm.evaluate_multilabel(y, s)
    assert ev["n_labels_skipped_auc"] == 2 and np.isfinite(ev["pr_auc_macro"])
    table = mm.per_label_scores(y, s, labels=list("abcdef"))
    assert table["roc_auc"].isna().sum() == 2


def test_all_labels_single_class_gives_nan_not_crash():
    y = np.zeros((5, 3), int)
    v, skipped = mm.macro_roc_auc(y, np.random.rand(5, 3), return_skipped=True)
    assert np.isnan(v) and skipped == 3


def test_threshold_selection_constructed_case():
    # label 0: positives have scores 0.9, 0.8, 0.35; negatives 0.7, 0.3, 0.1
    # cut >= 0.8 -> F1 0.8 ; >= 0.7 -> 0.667 ; >= 0.35 -> 0.857 (best) ; >= 0.3 -> 0.75
    s0 = np.array([0.9, 0.8, 0.7, 0.35, 0.3, 0.1])
    y0 = np.array([1, 1, 0, 1, 0, 0])
    # label 1: perfectly separable -> best threshold is the lowest positive score (0.6),
    # ties (every cut between 0.6 and 0.2) resolved to the highest threshold
    s1 = np.array([0.95, 0.6, 0.2, 0.2, 0.1, 0.05])
    y1 = np.array([1, 1, 0, 0, 0, 0])
    # label 2: no positive in validation -> default threshold
    y2 = np.zeros(6, int)
    s2 = np.linspace(0, 1, 6)
    th = mm.select_thresholds(np.c_[y0, y1, y2], np.c_[s0, s1, s2], default=0.5)
    assert th == pytest.approx([0.35, 0.6, 0.5])
    d = mm.binarize(np.c_[s0, s1, s2], th)
    assert mm.precision_recall_f1(y0[:, None], d[:, :1], "macro")[2] == pytest.approx(6 / 7)
    assert (d[:, 1] == y1).all()


def test_threshold_selection_with_tied_scores():
    s = np.array([0.9, 0.5, 0.5, 0.5, 0.1])[:, None]
    y = np.array([1, 1, 0, 0, 0])[:, None]
    # ">= 0.5" predicts three items (one of the ties cannot be split off)
    th = mm.select_thresholds(y, s)
    assert th[0] == pytest.approx(0.9)    # F1(>=0.9)=0.667 > F1(>=0.5)=0.571


def test_precision_recall_f1_matches_sklearn_multilabel():
    y, s = _random_problem(3)
    d = mm.binarize(s, 0.6)
    for avg in ("macro", "micro"):
        ref = skm.precision_recall_fscore_support(y, d, average=avg, zero_division=0)[:3]
        assert mm.precision_recall_f1(y, d, avg) == pytest.approx(ref, abs=1e-12)


def test_f1_at_05_and_tuned_differ_and_use_given_decisions():
    y, s = _random_problem(1)
    th = mm.select_thresholds(y, s)
    ev = mm.evaluate_multilabel(y, s, thresholds=th)
    assert ev["f1_macro"] >= ev["f1_macro_05"]          # tuned on this very data
    ev2 = mm.evaluate_multilabel(y, s, y_pred=np.zeros_like(y))
    assert ev2["f1_macro"] == 0.0 and ev2["f1_micro"] == 0.0


def test_bad_input_is_rejected_with_clear_errors():
    with pytest.raises(ValueError, match="0/1"):
        mm.macro_roc_auc(np.full((3, 2), 2), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        mm.macro_roc_auc(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        mm.macro_roc_auc(np.eye(2), np.array([[np.nan, 0], [0, 1]]))


def test_fold_metrics_through_results_store(tmp_path):
    y, s = _random_problem(2, n=50, L=4)
    th = np.full(4, 0.4)
    save_predictions(tmp_path, "exp", 0, ids=range(50), y_true=y, y_score=s, labels=list("abcd"),
                     y_pred=mm.binarize(s, th))
    save_predictions(tmp_path, "exp2", 0, ids=range(50), y_true=y, y_score=1 - s,
                     labels=list("abcd"))
    r1 = score_experiment(tmp_path, "exp", mm.fold_metrics())
    r2 = score_experiment(tmp_path, "exp2", mm.fold_metrics())
    ref = mm.evaluate_multilabel(y, s, thresholds=th)
    assert r1.loc[0, "roc_auc_macro"] == pytest.approx(ref["roc_auc_macro"], abs=1e-6)
    assert r1.loc[0, "f1_macro"] == pytest.approx(ref["f1_macro"], abs=1e-6)
    assert r2.loc[0, "roc_auc_macro"] == pytest.approx(1 - ref["roc_auc_macro"], abs=1e-6)


def test_group_split_is_disjoint_deterministic_and_covers_labels():
    rng = np.random.default_rng(0)
    n = 120
    artists = rng.integers(0, 30, n)
    Y = (rng.random((n, 5)) < 0.25).astype(int)
    a = mm.group_split_multilabel(Y, artists, seed=0)
    b = mm.group_split_multilabel(Y, artists, seed=0)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(n))
    sets = {k: set(artists[v]) for k, v in a.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["validation"])
    assert not (sets["validation"] & sets["test"])
    assert (Y[a["train"]].sum(axis=0) > 0).all()
    assert 0.1 < len(a["test"]) / n < 0.35


@pytest.mark.realdata
def test_mediaeval_vggish_baseline_reproduces_published_scores(mediaeval_dir):
    b = mm.load_mediaeval_baseline(mediaeval_dir, "vggish")
    pub = b["published"]
    assert pub["ROC-AUC-macro"] == pytest.approx(0.725821)
    assert pub["PR-AUC-macro"] == pytest.approx(0.107734)
    assert b["groundtruth"].shape == (4231, 56)
    # decision-based figures from the published decisions file ...
    ours = mm.mediaeval_scores(b["groundtruth"], b["predictions"], b["decisions"])
    assert set(pub) == set(ours) == set(mm.MEDIAEVAL_METRICS)
    for k, v in pub.items():
        assert round(ours[k], 4) == round(v, 4), k
        assert ours[k] == pytest.approx(v, abs=1e-6), k
    # ... and from the published thresholds (MediaEval decides score > threshold)
    dec = mm.binarize(b["predictions"], b["thresholds"], strict=True)
    assert (dec == b["decisions"]).all()
    ours_t = mm.mediaeval_scores(b["groundtruth"], b["predictions"], dec)
    for k, v in pub.items():
        assert ours_t[k] == pytest.approx(v, abs=1e-6), k
    # the project's summary uses the same numbers
    ev = mm.evaluate_multilabel(b["groundtruth"], b["predictions"], y_pred=dec)
    assert ev["roc_auc_macro"] == pytest.approx(0.725821, abs=5e-7)
    assert ev["pr_auc_macro"] == pytest.approx(0.107734, abs=5e-7)
    assert ev["f1_micro"] == pytest.approx(pub["F-score-micro"], abs=5e-7)
    assert ev["n_labels_skipped_auc"] == 0


@pytest.mark.realdata
def test_mediaeval_popular_baseline_decisions(mediaeval_dir):
    b = mm.load_mediaeval_baseline(mediaeval_dir, "popular")
    pub = b["published"]
    # the "popular" baseline has no scores: its decisions are its predictions
    ours = mm.mediaeval_scores(b["groundtruth"], b["decisions"].astype(float), b["decisions"])
    for k, v in pub.items():
        assert ours[k] == pytest.approx(v, abs=1e-6), k


def test_missing_mediaeval_folder_gives_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="groundtruth.npy"):
        mm.load_mediaeval_baseline(tmp_path)


@pytest.mark.realdata
def test_dropped_tags_match_split0_vocabulary(mediaeval_dir):
    tags_dir = mediaeval_dir.parents[1] / "data" / "tags"
    read = lambda f: [l.strip().split("---")[-1] for l in (tags_dir / f).read_text().splitlines() if l.strip()]
    all59, kept56 = read("moodtheme.txt"), read("moodtheme_split.txt")
    assert mm.mediaeval_tags(all59) == kept56
    b = mm.load_mediaeval_baseline(mediaeval_dir)
    assert b["tags"] == kept56                      # predictions' column order


def test_store_thresholded_run_uses_validation_only(tmp_path):
    from mer_utils.results import load_predictions

    y_val = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    s_val = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.2]])
    y_te = np.array([[1, 1], [0, 0]])
    s_te = np.array([[0.75, 0.5], [0.6, 0.9]])
    info = mm.store_thresholded_run(tmp_path, "e", labels=["a", "b"], ids_test=["x", "y"],
                                    Y_val=y_val, S_val=s_val, Y_test=y_te, S_test=s_te)
    assert info["thresholds"] == pytest.approx([0.7, 0.8])
    fp = load_predictions(tmp_path, "e")[0]
    assert fp.y_pred.tolist() == [[1, 0], [0, 1]]
    assert fp.meta["thresholds"] == pytest.approx([0.7, 0.8])


def test_validation_thresholded_decides_test_with_validation_thresholds():
    y_val = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    s_val = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.2]])
    s_te = np.array([[0.75, 0.5], [0.6, 0.9]])
    y_pred, info = mm.validation_thresholded(y_val, s_val, s_te)
    assert info["thresholds"] == pytest.approx([0.7, 0.8]) and info["n_val"] == 4
    assert y_pred.tolist() == [[1, 0], [0, 1]] and y_pred.dtype == np.int8
    # test scores never move the thresholds
    _, info2 = mm.validation_thresholded(y_val, s_val, 1 - s_te)
    assert info2["thresholds"] == info["thresholds"]
