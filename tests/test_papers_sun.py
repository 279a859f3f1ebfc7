"""Sun et al. (notebook 30): segment counts, labels, folds by song, Eq. 10 -> SVM, the
paper's values, the configuration per profile, and VGG16."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import FOURQ_DEV, require
from mer_utils.evaluation import kfold, load_or_make_splits, segment_statistics
from mer_utils.papers import sun

SR = sun.SR


# --------------------------------------------------------------------------- segments
@pytest.mark.parametrize("seconds, expected", [
    # song length (s) -> segments of 1, 2, 3, 4, 5 s with a 1-s hop, no padding
    (0.5, [0, 0, 0, 0, 0]),          # shorter than every segment
    (0.999, [0, 0, 0, 0, 0]),
    (1.0, [1, 0, 0, 0, 0]),
    (2.5, [2, 1, 0, 0, 0]),          # non-integer length: the last half second is dropped
    (4.99, [4, 3, 2, 1, 0]),
    (30.06, [30, 29, 28, 27, 26]),   # a 4Q preview
])
def test_segment_counts_on_constructed_lengths(seconds, expected):
    n = int(round(seconds * SR))
    assert [sun.segment_count(n, d) for d in (1, 2, 3, 4, 5)] == expected
    # the closed form 1 + floor((T - L) / hop), 0 when T < L
    for d, e in zip((1, 2, 3, 4, 5), expected):
        L = d * SR
        assert e == (0 if n < L else 1 + (n - L) // SR)


def test_resampled_length_matches_soxr():
    import soxr

    for sr, n in ((16000, 480_001), (32000, 12_345), (44100, 1_323_000), (48000, 480_001), (22050, 777)):
        assert sun.resampled_length(n, sr) == len(soxr.resample(np.zeros(n, np.float32), sr, SR, quality="HQ"))


def _tones(folder: Path, seconds, sr=16000):
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, s in enumerate(seconds):
        t = np.arange(int(round(s * sr))) / sr
        path = folder / f"t{i}.wav"
        sf.write(path, 0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t) * (1 + 0.3 * np.sin(3 * t)), sr)
        rows.append({"track_id": f"t{i}", "path": str(path), "duration": s, "quadrant": "Q1"})
    return pd.DataFrame(rows)


def test_rule_counts_equal_extracted_segments_and_short_songs_yield_none(tmp_path):
    from mer_utils.features import extract_segments

    df = _tones(tmp_path / "a", [0.7, 1.0, 2.5, 3.3, 4.2])
    counts = sun.segment_counts(df, [1, 2, 3])
    assert counts.loc["t0"].tolist() == [0, 0, 0]          # shorter than every segment
    assert counts.loc["t3"].tolist() == [3, 2, 1]
    for d in (1, 2, 3):
        X, segs, kept = extract_segments(df, "sun_segment", seconds=d, cache=False, n_jobs=1, progress=False)
        got = segs.groupby("track_id").size().reindex(counts.index, fill_value=0)
        assert got.tolist() == counts[d].tolist(), d
        assert "t0" not in set(kept["track_id"])               # skipped, not padded
        assert X.shape[1:] == (1 + (d * SR) // 512, 128)
    # with a crop to the first N s (demo), the rule counts only segments inside it
    assert sun.segment_counts(df, [1], max_seconds=2.0)[1].tolist() == [0, 1, 2, 2, 2]
    lengths = sun.song_lengths(df)
    assert sun.has_segment(lengths, 3).tolist() == [False, False, False, True, True]


# --------------------------------------------------------------------------- labels
def test_task_labels_from_quadrants_and_static_va():
    df = pd.DataFrame({"quadrant": ["Q1", "Q2", "Q3", "Q4"], "valence": [0.9, 0.2, 0.5, 0.51],
                       "arousal": [0.8, 0.7, 0.1, 0.5]})
    assert sun.task_labels(df, "4Q", "valence").tolist() == ["V+", "V-", "V-", "V+"]
    assert sun.task_labels(df, "4Q", "arousal").tolist() == ["A+", "A+", "A-", "A-"]
    assert sun.task_labels(df, "EiM", "quadrant").tolist() == ["Q1", "Q2", "Q3", "Q4"]
    # PMEmo: its static V/A in [0, 1], 0.5 itself is low
    assert sun.task_labels(df, "PMEmo", "valence").tolist() == ["V+", "V-", "V-", "V+"]
    assert sun.task_labels(df, "PMEmo", "arousal").tolist() == ["A+", "A+", "A-", "A-"]
    with pytest.raises(ValueError):
        sun.task_labels(df, "4Q", "dominance")


# --------------------------------------------------------------------------- folds
def test_no_song_in_two_folds(tmp_path):
    songs = pd.DataFrame({"track_id": [f"s{i:02d}" for i in range(40)],
                          "label": np.repeat(["V+", "V-"], 20)})
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(40), rng.integers(1, 12, 40))     # segments per song vary
    splits = load_or_make_splits(tmp_path, kfold(10, seed=0), songs["track_id"], songs["label"], name="t")
    tested = np.zeros(40, int)
    for sp in splits:
        seg = sp.expand(owner)
        assert not set(owner[seg.train]) & set(owner[seg.test])
        assert len(seg.train) + len(seg.test) == len(owner)
        tested[np.unique(owner[seg.test])] += 1
    assert (tested == 1).all()                                     # every song tested exactly once


# --------------------------------------------------------------------------- song level
def test_eq10_features_on_a_constructed_sequence():
    # one song, 5 segments, 2 classes; class-1 probabilities 0.1, 0.3, 0.6, 0.8, 0.95
    p1 = np.array([0.1, 0.3, 0.6, 0.8, 0.95])
    P = np.stack([1 - p1, p1], axis=1)
    F = segment_statistics(["a"] * 5, P, threshold=0.5, labels=["A-", "A+"])
    assert F.shape == (1, 14)                                      # 7 x K
    r = F.loc["a"]
    assert r["A+_max"] == 0.95 and r["A+_min"] == 0.1
    assert r["A+_q1"] == pytest.approx(0.3) and r["A+_median"] == pytest.approx(0.6)
    assert r["A+_q3"] == pytest.approx(0.8) and r["A+_mean"] == pytest.approx(2.75 / 5)
    assert r["A+_share_above"] == pytest.approx(3 / 5)             # 0.6, 0.8, 0.95 > 0.5
    assert r["A-_share_above"] == pytest.approx(2 / 5)


def test_song_svm_trains_on_training_songs_only():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 10)
    F = rng.normal(0, 0.1, (20, 14)) + y[:, None]
    pred, score = sun.song_svm(F[::2], y[::2], F[1::2], ["A-", "A+"])
    assert (pred == y[1::2]).all()
    assert score.shape == (10, 2) and np.allclose(score.sum(1), 1) and (score.argmax(1) == pred).all()
    # four classes, one absent from training: its score column is 0
    y4 = np.repeat([0, 1, 2], 6)
    F4 = rng.normal(0, 0.1, (18, 28)) + y4[:, None]
    pred, score = sun.song_svm(F4, y4, F4[:3], ["Q1", "Q2", "Q3", "Q4"])
    assert score.shape == (3, 4) and np.allclose(score[:, 3], 0)
    # a training set with one class predicts it
    pred, score = sun.song_svm(F[:5], np.zeros(5, int), F[5:8], ["A-", "A+"])
    assert pred.tolist() == [0, 0, 0] and score[:, 0].tolist() == [1, 1, 1]


# --------------------------------------------------------------------------- paper values
def test_paper_values_transcribed_as_fractions():
    from mer_utils.results import paper_values

    pv = paper_values("sun")
    assert set(pv["table"]) == {"1", "2", "3"}
    t2 = pv[pv["table"] == "2"]
    assert len(t2) == 2 * 5 * 4 and t2["value"].between(0, 1).all()
    get = lambda t, r, m: float(pv[(pv.table == t) & (pv.row == r) & (pv.metric == m)]["value"].iloc[0])  # noqa: E731
    assert get("1", "4Q 1 s", "segments") == 26957 and get("1", "EiM 5 s", "segments") == 25971
    assert get("2", "PMEmo 3 s", "valence_accuracy") == 0.8319
    assert get("2", "4Q 1 s", "arousal_f1") == 0.8667
    assert get("3", "4Q Proposed", "quadrant_accuracy") == 0.7649
    assert get("3", "4Q SVM [17]", "quadrant_f1") == 0.7641
    # Table 3's Proposed rows reuse Table 2's best rows (PMEmo)
    assert get("3", "PMEmo Proposed", "valence_accuracy") == get("2", "PMEmo 3 s", "valence_accuracy")
    assert get("3", "PMEmo Proposed", "arousal_f1") == get("2", "PMEmo 1 s", "arousal_f1")


def test_the_papers_table1_against_its_own_rule():
    chk = sun.paper_table1_check()
    assert len(chk) == 12
    bad = chk[~chk["possible under the rule"]]
    assert len(bad) == 11 and chk.iloc[0]["possible under the rule"]       # only PMEmo 1 -> 2 fits


# --------------------------------------------------------------------------- configuration
def test_config_full_is_the_paper_and_scaled_profiles_say_so():
    full = sun.Config.for_profile("full")
    assert full.folds == 10 and full.durations == (1, 2, 3, 4, 5) and full.hop_seconds == 1.0
    assert full.vgg_width == 1.0 and full.fc_units == 4096 and not full.narrowed
    assert full.datasets == ("PMEmo", "4Q", "EiM") and full.max_songs is None and full.max_seconds is None
    assert full.table3_methods == ("simple", "proposed_star", "proposed")
    for p in ("smoke", "demo"):
        c = sun.Config.for_profile(p)
        assert c.narrowed and c.folds < 10
    t = full.table()
    for name in ("tau", "temperature", "alpha", "lam", "epochs", "warmup_epochs", "optimizer", "learning_rate"):
        row = t[t.setting == name].iloc[0]
        assert "not given" in row["paper"], name                   # the paper is silent ...
    for name in ("tau", "temperature", "alpha", "lam", "svm_c"):
        assert t[t.setting == name].iloc[0]["note"], name           # ... and we say where ours comes from
    assert "empirical" in t[t.setting == "theta"].iloc[0]["paper"]
    demo = sun.Config.for_profile("demo", injected_noise=0.4, durations=[1, 3])
    assert demo.injected_noise == 0.4 and demo.durations == (1, 3) and "injected_noise" in demo.overrides
    c = sun.config_for("demo", sun.NOISE_STUDY, epochs=3, folds=None)
    assert c.epochs == 3 and c.max_songs == 60 and c.datasets == ("4Q",) and c.folds == 3
    st = sun.sssl_settings(full, "proposed_star")
    assert st.method == "sssl" and st.lam == 0.0
    assert sun.sssl_settings(full, "simple").method == "simple"
    assert sun.sssl_settings(full, "proposed").lam == full.lam > 0
    with pytest.raises(ValueError):
        sun.sssl_settings(full, "dividemix")


def test_plans_cover_the_papers_tables():
    full = sun.Config.for_profile("full")
    corpus = sun.Corpus("real", {}, {d: pd.DataFrame() for d in sun.DATASETS}, {}, "")
    t2 = sun.plan_table2(full, corpus)
    assert len(t2) == 2 * 2 * 5 and {e.dataset for e in t2} == {"PMEmo", "4Q"}
    t3 = sun.plan_table3(full, corpus)
    assert len(t3) == (2 + 3 + 1) * 3
    assert {(e.task, e.duration) for e in t3} == {("valence", 3), ("arousal", 1), ("quadrant", 3)}
    # Table 3's Proposed valence / arousal are Table 2 runs (same experiment, run once)
    assert {e.name for e in t3 if e.method == "proposed" and e.task != "quadrant"} <= {e.name for e in t2}
    noise = sun.plan_noise(full, corpus)
    assert [e.method for e in noise] == list(full.noise_methods) and all(e.noise == 0.3 for e in noise)
    assert noise[0].name == "sun_4q_arousal_1s_simple_noise30"
    assert sun.longest_duration(full, ["EiM"]) == 5


def test_fidelity_table_is_complete():
    fid = sun.fidelity(sun.Config.for_profile("full"))
    assert {"segment classifier", "R-Drop (Eq. 8)", "song-level decision (Eq. 10)", "bad input"} <= set(fid["point"])
    assert fid.loc[fid.point == "segment classifier", "status"].item() == "same"
    assert set(fid["status"]) <= {"same", "departure", "paper silent"}
    demo = sun.fidelity(sun.Config.for_profile("demo"))
    assert demo.loc[demo.point == "segment classifier", "status"].item() == "departure"
    assert "11 of 12" in fid.loc[fid.point == "Table 1 counts", "ours"].item()


# --------------------------------------------------------------------------- VGG16
def test_vgg16_matches_keras_applications_layer_by_layer():
    keras = pytest.importorskip("keras")
    from mer_utils.models.vgg import build_vgg16, parameter_counts, vgg16_parameter_count, vgg_output_shape

    ours = build_vgg16((44, 128), 4)
    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(44, 128, 1))
    conv = [l for l in ours.layers if l.name.startswith("block")]
    assert [l.name for l in conv] == [l.name for l in ref.layers if l.name.startswith("block")]
    for a in conv:
        b = ref.get_layer(a.name)
        assert a.output.shape[1:] == b.output.shape[1:], a.name
        assert [tuple(w.shape) for w in a.weights] == [tuple(w.shape) for w in b.weights], a.name
    assert vgg_output_shape((44, 128)) == (1, 4, 512)
    # conv part 14,712,384 (VGG16's 14,714,688 less 2 x 576 for one input channel instead of three)
    conv_params = 14_714_688 - 9 * 2 * 64
    fc = (2048 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 4 + 4)
    assert parameter_counts(ours)["trainable"] == conv_params + fc == vgg16_parameter_count((44, 128), 4)
    assert [l.rate for l in ours.layers if "drop" in l.name] == [0.5, 0.5]


def test_narrowed_vgg_and_input_checks():
    pytest.importorskip("keras")
    from mer_utils.models.vgg import build_vgg16, parameter_counts, vgg16_parameter_count

    m = build_vgg16((87, 128), 2, width=1 / 16, fc_units=64)
    convs = [l.filters for l in m.layers if l.name.startswith("block") and "conv" in l.name]
    assert convs == [4, 4, 8, 8, 16, 16, 16, 32, 32, 32, 32, 32, 32]
    assert parameter_counts(m)["trainable"] == vgg16_parameter_count((87, 128), 2, width=1 / 16, fc_units=64)
    assert m.output.shape[-1] == 2
    with pytest.raises(ValueError, match="32"):
        build_vgg16((31, 128), 2)
    with pytest.raises(ValueError):
        build_vgg16((44, 128, 3), 2)
    with pytest.raises(ValueError):
        build_vgg16((44, 128), 2, width=1.5)


# --------------------------------------------------------------------------- notebook on real data
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_30_runs_on_the_4q_dev_clips(out_dir):
    """Notebook 30 under smoke on the real 4Q subset: the manifest must say real 4Q was used."""
    root = require(FOURQ_DEV)
    from test_notebooks import NB_DIR, _run
    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label

    _run(NB_DIR / "30_sun_sssl.ipynb", out_dir / "real-sun", profile="smoke", data_root=str(root))
    label = output_label("smoke", root)
    manifest = json.loads((RESULTS_DIR / label / "manifests" / "30_sun_sssl" / "manifest.json").read_text())
    assert any("4q-dev" in v and v.startswith("real") for v in manifest["data_sources"].values())
    t1 = pd.read_csv(RESULTS_DIR / label / "sun_table1.csv")
    row = t1[(t1["data set"] == "4Q") & (t1["duration (s)"] == 1)].iloc[0]
    assert row["our songs"] == 120 and row["data"] == "real"
    assert math.isnan(t1[t1["data set"] == "PMEmo"]["our songs"].iloc[0])
