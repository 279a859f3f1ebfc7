"""Sun et al. (notebook 30, mer_utils.papers.sun): segment counts, labels, folds by song,
Eq. 10 -> SVM, the paper's values, the configuration per profile, the fidelity points, the
scores (song-level F1 as before, diagnostics through mer_utils.evaluation) and one unit of
the pipeline through the engine."""
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
from mer_utils.papers.sun import pipeline as SP, tables as ST

SR = sun.config.SR


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
    assert [SP.segment_count(n, d) for d in (1, 2, 3, 4, 5)] == expected
    # the closed form 1 + floor((T - L) / hop), 0 when T < L
    for d, e in zip((1, 2, 3, 4, 5), expected):
        L = d * SR
        assert e == (0 if n < L else 1 + (n - L) // SR)


def test_resampled_length_matches_soxr():
    import soxr

    for sr, n in ((16000, 480_001), (32000, 12_345), (44100, 1_323_000), (48000, 480_001), (22050, 777)):
        assert SP.resampled_length(n, sr) == len(soxr.resample(np.zeros(n, np.float32), sr, SR, quality="HQ"))


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
    counts = SP.segment_counts(df, [1, 2, 3])
    assert counts.loc["t0"].tolist() == [0, 0, 0]          # shorter than every segment
    assert counts.loc["t3"].tolist() == [3, 2, 1]
    for d in (1, 2, 3):
        X, segs, kept = extract_segments(df, "sun_segment", seconds=d, cache=False, n_jobs=1, progress=False)
        got = segs.groupby("track_id").size().reindex(counts.index, fill_value=0)
        assert got.tolist() == counts[d].tolist(), d
        assert "t0" not in set(kept["track_id"])               # skipped, not padded
        assert X.shape[1:] == (1 + (d * SR) // 512, 128)
    # with a crop to the first N s (demo), the rule counts only segments inside it
    assert SP.segment_counts(df, [1], max_seconds=2.0)[1].tolist() == [0, 1, 2, 2, 2]
    lengths = SP.song_lengths(df)
    assert SP.has_segment(lengths, 3).tolist() == [False, False, False, True, True]


# --------------------------------------------------------------------------- labels
def test_task_labels_from_quadrants_and_static_va():
    df = pd.DataFrame({"quadrant": ["Q1", "Q2", "Q3", "Q4"], "valence": [0.9, 0.2, 0.5, 0.51],
                       "arousal": [0.8, 0.7, 0.1, 0.5]})
    assert SP.task_labels(df, "4Q", "valence").tolist() == ["V+", "V-", "V-", "V+"]
    assert SP.task_labels(df, "4Q", "arousal").tolist() == ["A+", "A+", "A-", "A-"]
    assert SP.task_labels(df, "EiM", "quadrant").tolist() == ["Q1", "Q2", "Q3", "Q4"]
    # PMEmo: its static V/A in [0, 1], 0.5 itself is low
    assert SP.task_labels(df, "PMEmo", "valence").tolist() == ["V+", "V-", "V-", "V+"]
    assert SP.task_labels(df, "PMEmo", "arousal").tolist() == ["A+", "A+", "A-", "A-"]
    with pytest.raises(ValueError):
        SP.task_labels(df, "4Q", "dominance")


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
    pred, score = SP.song_svm(F[::2], y[::2], F[1::2], ["A-", "A+"])
    assert (pred == y[1::2]).all()
    assert score.shape == (10, 2) and np.allclose(score.sum(1), 1) and (score.argmax(1) == pred).all()
    # four classes, one absent from training: its score column is 0
    y4 = np.repeat([0, 1, 2], 6)
    F4 = rng.normal(0, 0.1, (18, 28)) + y4[:, None]
    pred, score = SP.song_svm(F4, y4, F4[:3], ["Q1", "Q2", "Q3", "Q4"])
    assert score.shape == (3, 4) and np.allclose(score[:, 3], 0)
    # a training set with one class predicts it
    pred, score = SP.song_svm(F[:5], np.zeros(5, int), F[5:8], ["A-", "A+"])
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
    chk = ST.paper_table1_check()
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
    c = sun.Config.for_profile("demo", **sun.config.notebook_overrides(sun.config.NOISE_STUDY, epochs=3, folds=None))
    assert c.epochs == 3 and c.max_songs == 60 and c.datasets == ("4Q",) and c.folds == 3
    st = SP.sssl_settings(full, "proposed_star")
    assert st.method == "sssl" and st.lam == 0.0
    assert SP.sssl_settings(full, "simple").method == "simple"
    assert SP.sssl_settings(full, "proposed").lam == full.lam > 0
    with pytest.raises(ValueError):
        SP.sssl_settings(full, "dividemix")


def test_plans_cover_the_papers_tables():
    full = sun.Config.for_profile("full")
    corpus = SP.Corpus("real", {}, {d: pd.DataFrame() for d in sun.config.DATASETS}, {}, "")
    t2 = SP.plan_table2(full, corpus)
    assert len(t2) == 2 * 2 * 5 and {e.dataset for e in t2} == {"PMEmo", "4Q"}
    t3 = SP.plan_table3(full, corpus)
    assert len(t3) == (2 + 3 + 1) * 3
    assert {(e.task, e.duration) for e in t3} == {("valence", 3), ("arousal", 1), ("quadrant", 3)}
    # Table 3's Proposed valence / arousal are Table 2 runs (same experiment, run once)
    assert {e.name for e in t3 if e.method == "proposed" and e.task != "quadrant"} <= {e.name for e in t2}
    noise = SP.plan_noise(full, corpus)
    assert [e.method for e in noise] == list(full.noise_methods) and all(e.noise == 0.3 for e in noise)
    assert noise[0].name == "sun_4q_arousal_1s_simple_noise30"
    assert SP.longest_duration(full, ["EiM"]) == 5


def test_full_only_tasks_are_left_out_of_the_plans_and_listed_with_their_reason():
    corpus = SP.Corpus("demo", {}, {d: pd.DataFrame() for d in sun.config.DATASETS}, {}, "")
    demo = sun.Config.for_profile("demo")
    assert not demo.trains("valence") and demo.trains("arousal") and not demo.trains("quadrant")
    planned = SP.plan_table2(demo, corpus) + SP.plan_table3(demo, corpus) + SP.plan_noise(demo, corpus)
    assert planned and not {"valence", "quadrant"} & {e.task for e in planned}
    skipped = SP.plan_full_only(demo, corpus)
    assert {e.task for e, _ in skipped} == {"valence", "quadrant"}
    assert {e.dataset for e, _ in skipped if e.task == "valence"} == {"PMEmo", "4Q"}
    assert {e.dataset for e, _ in skipped if e.task == "quadrant"} == {"4Q", "EiM"}
    assert all("smoke and full" in why for _, why in skipped)
    for profile in ("smoke", "full"):
        cfg = sun.Config.for_profile(profile)
        assert SP.plan_full_only(cfg, corpus) == [] and "valence" in {e.task for e in SP.plan_table3(cfg, corpus)}
    # the noise study is not run when its task is full profile only
    assert SP.plan_noise(sun.Config.for_profile("demo", full_only=(("arousal", "why"),)), corpus) == []


def test_learning_table_reads_the_stored_units_and_lists_full_profile_only(tmp_path):
    from types import SimpleNamespace

    from mer_utils.experiment import UnitResult, run_protocol
    from mer_utils.evaluation.protocols import Split
    from mer_utils.results import Unit

    songs = pd.DataFrame({"track_id": [f"s{i}" for i in range(8)]})
    corpus = SP.Corpus("demo", {}, {"4Q": songs}, {}, "")
    only_valence = (("valence", sun.config.VALENCE_DEMO),)      # the quadrant networks trained here
    cfg = sun.Config.for_profile("demo", table3_methods=("simple",), injected_noise=0.0, full_only=only_valence)
    ctx = SimpleNamespace(results_dir=tmp_path, profile="demo")
    exp = SP.Exp("4Q", "quadrant", cfg.duration_quadrant, "simple")
    y = np.array(["Q1", "Q2", "Q3", "Q4"] * 20)

    truth = np.eye(4)[np.arange(80) % 4]
    rng = np.random.default_rng(0)

    def unit(segment_P):        # the SVM right on every song; two segments per song
        def fit_predict(split):
            hist = [{"epoch": e, "loss_total": 1.0 / e, "pass_accuracy": 0.2 * e} for e in (1, 2, 3)]
            segs = {"song": list(range(80)) * 2, "start_s": [0.0] * 160, "P": segment_P.tolist()}
            return UnitResult(ids=np.array([f"t{i}" for i in range(80)]), y_true=y, y_score=truth,
                              labels=list(sun.config.LABELS["quadrant"]), info={"history": hist, "segments": segs})
        return fit_predict

    split = [Split(Unit(0, 0), np.arange(4), np.arange(4, 8))]
    run_protocol(tmp_path, exp.name, split, config={"t": 1}, fit_predict=unit(np.vstack([truth, truth])),
                 progress=False)
    # a network whose segment outputs carry nothing: the SVM's right answers do not count for it
    noise = SP.Exp("4Q", "quadrant", cfg.duration_quadrant, "proposed")
    cfg = sun.Config.for_profile("demo", table3_methods=("simple", "proposed"), injected_noise=0.0,
                                 full_only=only_valence)
    run_protocol(tmp_path, noise.name, split, config={"t": 1}, progress=False,
                 fit_predict=unit(rng.dirichlet(np.ones(4), size=160)))
    table = ST.learning(ctx, cfg, corpus).set_index("network")
    assert table.loc[exp.title, "learned"] and table.loc[exp.title, "beats chance"]
    assert table.loc[noise.title, "SVM mean"] == 1.0 and not table.loc[noise.title, "beats chance"]
    assert not table.loc[noise.title, "learned"]
    assert table.loc["4Q arousal 1 s, Inherited labels", "verdict"] == "not run"
    valence = table.loc["4Q valence 1 s, Inherited labels"]
    assert valence["verdict"].startswith("full profile only: ") and not valence["learned"]
    fig = sun.figures.learning_curves(ctx, cfg, corpus)
    assert any(exp.title in ax.get_title(loc="left") for ax in fig.axes)


def test_fidelity_table_is_complete():
    fid = sun.fidelity.fidelity(sun.Config.for_profile("full"))
    assert {"segment classifier", "R-Drop (Eq. 8)", "song-level decision (Eq. 10)", "bad input"} <= set(fid["point"])
    assert fid.loc[fid.point == "segment classifier", "status"].item() == "same"
    assert set(fid["status"]) <= {"same", "departure", "paper silent"}
    demo = sun.fidelity.fidelity(sun.Config.for_profile("demo"))
    assert demo.loc[demo.point == "segment classifier", "status"].item() == "departure"
    assert "11 of 12" in fid.loc[fid.point == "Table 1 counts", "ours"].item()


def test_fidelity_points_include_the_papers_silences():
    fid = {p.point: p for p in sun.FIDELITY}
    assert fid["PMEmo labels"].status == "paper silent" and "> 0.5" in fid["PMEmo labels"].ours
    assert fid["input standardisation"].status == "paper silent"
    assert fid["segment classifier"].status == "same" and fid["protocol"].status == "same"
    assert [p.point for p in sun.FIDELITY] == [p.point for p in sun.fidelity.points(sun.Config.for_profile("full"))]
    assert "data" not in fid                                       # the data used depends on the run
    t = sun.fidelity.fidelity(sun.Config.for_profile("smoke"))
    assert t["point"].iloc[-1] == "data" and t["status"].iloc[-1] == "departure"


# --------------------------------------------------------------------------- scores
def _fold(labels, y_true, y_pred, info=None):
    from mer_utils.results import FoldPredictions

    y_true = np.asarray(y_true, dtype=object)
    return FoldPredictions("e", 0, np.arange(len(y_true)), y_true, np.zeros((len(y_true), len(labels))),
                           list(labels), y_pred=np.asarray(y_pred, dtype=object), info=info or {})


def test_song_f1_is_the_high_class_for_binary_tasks_and_macro_for_quadrants():
    # binary: F1 of A+ (the second label): TP 2, FP 1, FN 1 -> 2/3 (the macro F1 would differ)
    fp = _fold(["A-", "A+"], ["A+", "A+", "A+", "A-", "A-", "A-"], ["A+", "A+", "A-", "A+", "A-", "A-"])
    m = ST.song_metrics(fp.labels)
    assert m["f1"](fp) == pytest.approx(2 / 3) and m["accuracy"](fp) == pytest.approx(4 / 6)
    # four classes: macro F1 over all four labels (Q4 never present: 0), as the old _f1 did
    fp4 = _fold(["Q1", "Q2", "Q3", "Q4"], ["Q1", "Q1", "Q2", "Q3"], ["Q1", "Q2", "Q2", "Q3"])
    f1s = [2 / 3, 2 / 3, 1.0, 0.0]                                  # Q1: P 1 R .5; Q2: P .5 R 1; Q3; Q4
    assert ST.song_metrics(fp4.labels)["f1"](fp4) == pytest.approx(np.mean(f1s))
    assert ST.f1_metric(("V-", "V+")) == "binary_f1" and ST.f1_metric(sun.config.LABELS["quadrant"]) == "f1"


def test_diagnostics_from_the_stored_segment_probabilities():
    # two test songs, A+ and A-; segment argmaxes: song 0 A+, A+, A-; song 1 A+, A+, A-
    P = [[0.2, 0.8], [0.4, 0.6], [0.8, 0.2], [0.45, 0.55], [0.45, 0.55], [0.9, 0.1]]
    info = {"segments": {"song": [0, 0, 0, 1, 1, 1], "start_s": [0, 1, 2, 0, 1, 2], "P": P}}
    fp = _fold(["A-", "A+"], ["A+", "A-"], ["A+", "A-"], info)
    d = ST.DIAGNOSTICS
    assert d["segment_accuracy"](fp) == pytest.approx(3 / 6)          # against the song's label
    assert d["mean_probability_accuracy"](fp) == pytest.approx(1.0)   # A+ means 0.533 and 0.4
    assert d["majority_vote_accuracy"](fp) == pytest.approx(0.5)      # song 1's majority is A+: wrong
    assert np.isnan(d["segment_accuracy"](_fold(["A-", "A+"], ["A+"], ["A+"])))


# --------------------------------------------------------------------------- the segment classifier
@pytest.mark.backend
def test_one_unit_of_the_segment_classifier_through_the_engine():
    """The pipeline's fit path: one Trainer per shape, the SSSL step, per-epoch rows, a
    reused trainer equal to a fresh one (every unit starts from the init under ctx.seed)."""
    from mer_utils.evaluation import parameter_count
    from mer_utils.models.vgg import vgg16_parameter_count
    from mer_utils.training.sssl import epoch_rows

    cfg = sun.Config.for_profile("smoke", epochs=2, warmup_epochs=1, fc_units=8)
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 12)
    X = (rng.normal(0, 1, (24, 44, 128)) + 2 * y[:, None, None]).astype(np.float32)
    tr = SP.segment_trainer(cfg, X.shape[1:], 2)
    st = SP.sssl_settings(cfg, "proposed")
    scaler, h = SP.fit_segment_classifier(tr, X, y, 2, st, seed=0)
    P = SP.predict_segments(tr, X, scaler, chunk=10)
    rows = epoch_rows(h)
    assert [r["phase"].split(" (")[0] for r in rows] == ["warm-up", "SSSL"]
    assert all(np.isfinite(r["loss_total"]) and r["seconds"] >= 0 for r in rows)
    assert P.shape == (24, 2) and np.allclose(P.sum(1), 1, atol=1e-5)
    assert parameter_count(tr.model)["trainable"] == vgg16_parameter_count((44, 128), 2, width=cfg.vgg_width,
                                                                            fc_units=8)
    _, h2 = SP.fit_segment_classifier(tr, X, y, 2, st, seed=0)     # the same unit again: same numbers
    np.testing.assert_allclose(h["loss_total"], h2["loss_total"], rtol=1e-5)
    np.testing.assert_allclose(SP.predict_segments(tr, X, scaler), P, atol=1e-5)


# --------------------------------------------------------------------------- notebook on real data
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_30_runs_on_the_4q_dev_clips(out_dir):
    """Notebook 30 under smoke on the real 4Q subset: the manifest must say real 4Q was used."""
    root = require(FOURQ_DEV)
    from test_notebooks import NB_DIR, _run
    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label

    _run(NB_DIR / "30_sun_sssl.ipynb", out_dir / "real-sun", profile="smoke", data_root=str(root))
    label = output_label("smoke", root)
    manifest = json.loads((RESULTS_DIR / label / "manifests" / "30_sun_sssl" / "manifest.json").read_text())
    assert any("4q-dev" in v and v.startswith("real") for v in manifest["data_sources"].values())
    t1 = pd.read_csv(RESULTS_DIR / label / "sun_table1.csv")
    row = t1[(t1["data set"] == "4Q") & (t1["duration (s)"] == 1)].iloc[0]
    assert row["our songs"] == 120 and row["data"] == "real"
    assert math.isnan(t1[t1["data set"] == "PMEmo"]["our songs"].iloc[0])
