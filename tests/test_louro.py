"""The methods-comparison paper (Louro et al.): its protocol, nested tuning, the 90 % stop,
many-to-one decisions, augmentation of training clips only, the row registry and paper
values, an expanded 4Q set, and notebook 50 on the real 4Q dev clips.
(Network shapes and parameter counts: ``test_louro_models.py``.)"""
from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FOURQ_DEV, require, write_tone
from mer_utils.evaluation import Split
from mer_utils.papers import louro as L
from mer_utils.results import Unit

LABELS = list(L.LABELS)


def _fake_data(n_per=(30, 30, 30, 30), frames=96, n_feat=6, seed=0) -> L.LouroData:
    """A LouroData without audio: ids, quadrants, random mels, informative features."""
    rng = np.random.default_rng(seed)
    q = np.repeat(LABELS, n_per)
    ids = [f"MT{i:05d}" for i in range(len(q))]
    df = pd.DataFrame({"track_id": ids, "path": [f"/nonexistent/{i}.mp3" for i in ids], "quadrant": q})
    y = df["quadrant"].map({c: i for i, c in enumerate(LABELS)}).to_numpy()
    F = rng.normal(size=(len(q), n_feat)) + y[:, None] * 0.8
    feats = pd.DataFrame(F, index=pd.Index(ids, name="track_id"),
                         columns=[f"F{j}" for j in range(n_feat)]).assign(quadrant=q)
    return L.LouroData(df=df, corpus="fake", real=False, features=feats, features_desc="fake",
                       full_features=feats, full_desc="fake",
                       mel_all=rng.normal(size=(len(q), frames, 128)).astype(np.float32))


# --------------------------------------------------------------------------- protocol
def test_protocol_100_units_stratified_saved_identical_no_overlap(tmp_path):
    data = _fake_data()
    ctx = types.SimpleNamespace(results_dir=tmp_path)
    cfg = L.Config.for_profile("full")
    splits = L.make_splits(ctx, cfg, data)
    assert len(splits) == 100
    assert {(s.unit.repeat, s.unit.fold) for s in splits} == {(r, f) for r in range(10) for f in range(10)}
    folder = next((tmp_path / "splits").iterdir())
    assert len(list(folder.glob("r*-f*.csv"))) == 100 and (folder / "protocol.json").exists()
    assert json.loads((folder / "protocol.json").read_text())["repeats"] == 10
    y = data.df["quadrant"].to_numpy()
    n = len(y)
    for r in range(10):
        mine = [s for s in splits if s.unit.repeat == r]
        tests = np.concatenate([s.test for s in mine])
        assert sorted(tests) == list(range(n))                       # each clip tested once per repeat
        for s in mine:
            assert not np.intersect1d(s.train, s.test).size          # no overlap
            assert len(s.train) + len(s.test) == n
            assert (pd.Series(y[s.test]).value_counts() == 3).all()  # 30 per class / 10 folds
    # repeats reshuffle
    assert not np.array_equal(splits[0].test, splits[10].test)
    # identical on rerun, read from the files (not rewritten)
    mtimes = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = L.make_splits(ctx, cfg, data)
    assert all(np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
               for a, b in zip(splits, again))
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes


def test_split_summary_reports_coverage_and_overlap(tmp_path):
    data = _fake_data()
    splits = L.make_splits(types.SimpleNamespace(results_dir=tmp_path), L.Config.for_profile("full"), data)
    summ = L.split_summary(splits, data)
    assert len(summ) == 10 and summ["each clip tested once"].all() and (summ["train/test overlap"] == 0).all()
    assert (summ["Q1 per test fold"] == "3-3").all()


# --------------------------------------------------------------------------- nested tuning
def _tuning_case(seed=0):
    data = _fake_data(seed=seed)
    X = data.features.drop(columns="quadrant").to_numpy()
    y = data.y
    rng = np.random.default_rng(seed)
    test = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in range(4)]))
    train = np.setdiff1d(np.arange(len(y)), test)
    return X, y, Split(Unit(0, 0), train, test)


def test_nested_tuning_never_reads_the_test_fold():
    X, y, split = _tuning_case()
    poisoned = X.copy()
    poisoned[split.test] = np.nan          # any fit, scaling or selection that read these would fail
    for select in (None, 3):
        predict, best, inner = L.tune_svm(poisoned, y, split, C=(1.0, 10.0), gamma=(0.01, 0.1), k=3,
                                          select_k=select)
        assert best["C"] in (1.0, 10.0) and best["gamma"] in (0.01, 0.1) and len(inner) == 4
        scores, pred = predict(split.train)
        assert scores.shape == (len(split.train), 4) and np.isfinite(scores).all()


def test_the_test_fold_check_can_fail(monkeypatch):
    """A tuner whose inner folds include the test rows trips over the poisoned rows."""
    import mer_utils.evaluation as ev

    X, y, split = _tuning_case()
    poisoned = X.copy()
    poisoned[split.test] = np.nan
    real = ev.inner_cv

    def leaky(split, y, groups=None, *, k=5, seed=0):
        return [(np.concatenate([a, split.test]), b) for a, b in real(split, y, groups, k=k, seed=seed)]

    monkeypatch.setattr(ev, "inner_cv", leaky)
    with pytest.raises(ValueError, match="NaN"):
        L.tune_svm(poisoned, y, split, C=(1.0,), gamma=(0.1,), k=3)


@pytest.mark.parametrize("select", [None, 3])
def test_fast_grid_search_picks_what_evaluation_tune_picks(select):
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mer_utils.evaluation import tune

    X, y, split = _tuning_case(seed=3)
    C, G = (0.1, 1.0, 10.0), (0.01, 0.1, 1.0)
    steps = [("scale", StandardScaler())] + ([("select", SelectKBest(f_classif, k=select))] if select else [])
    model, best = tune(Pipeline(steps + [("svm", SVC(kernel="rbf"))]), {"svm__C": C, "svm__gamma": G},
                       X, y, split, k=3, seed=7)
    predict, mine, _ = L.tune_svm(X, y, split, C=C, gamma=G, k=3, select_k=select, seed=7)
    assert mine == {"C": best["svm__C"], "gamma": best["svm__gamma"]}
    assert np.array_equal(predict(split.test)[1], model.predict(X[split.test]))


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.integers(0, 4, 30), rng.integers(0, 3, 30)       # a class never predicted
        assert L.macro_f1(a, b) == pytest.approx(f1_score(a, b, average="macro"))


# --------------------------------------------------------------------------- the 90 % stop
keras = pytest.importorskip("keras")


def test_train_accuracy_stop_fires_at_the_threshold_only():
    from mer_utils.training.callbacks import TrainAccuracyStop

    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    m.stop_training = False                     # what Model.fit sets before the first epoch
    cb = TrainAccuracyStop(0.9)
    cb.set_model(m)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"accuracy": 0.8999, "val_accuracy": 1.0})   # validation is never read
    assert not m.stop_training and cb.stopped_epoch is None
    cb.on_epoch_end(1, {"accuracy": 0.9})
    assert m.stop_training and cb.stopped_epoch == 1
    with pytest.raises(ValueError, match="training metric"):
        TrainAccuracyStop(0.9, monitor="val_accuracy")
    with pytest.raises(KeyError, match="accuracy"):
        TrainAccuracyStop(0.9).on_epoch_end(0, {"loss": 1.0})


def test_fit_until_train_accuracy_stops_at_the_first_epoch_reaching_90():
    from mer_utils.training.callbacks import fit_until_train_accuracy

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 40)
    X = (rng.normal(size=(160, 8)) + np.eye(4, 8)[y] * 2.5).astype("float32")

    def model():
        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="softmax")])
        m.compile(optimizer=keras.optimizers.SGD(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m

    h = fit_until_train_accuracy(model(), X, y, epochs=300, batch_size=16, threshold=0.9, seed=0)
    acc = h["accuracy"]
    assert 1 < len(acc) < 300
    assert h["stopped_at"] == len(acc) and acc[-1] >= 0.9 and all(a < 0.9 for a in acc[:-1])
    h2 = fit_until_train_accuracy(model(), X, y, epochs=3, batch_size=16, threshold=None, seed=0)
    assert len(h2["accuracy"]) == 3 and h2["stopped_at"] is None


def test_gradient_accumulation_keeps_the_table1_batch():
    assert L.accumulation_steps(50, 10, 54) == 5             # 5 micro-batches of 10 per update
    assert L.accumulation_steps(150, 10, 270) == 15
    assert L.accumulation_steps(150, 10, 54) == 1            # fewer clips than one batch: one step
    assert L.accumulation_steps(50, None, 500) == 1 and L.accumulation_steps(50, 64, 500) == 1
    assert L.accumulation_steps(300, 16, 900) == 20          # 15 samples per pass (divides 300)


# --------------------------------------------------------------------------- many-to-one
def test_many_to_one_on_constructed_chunk_predictions():
    from mer_utils.evaluation import chunk_decision, mean_probability

    owner = np.array([0, 0, 0, 1, 1, 2])
    P = np.array([[.6, .4, 0, 0], [.6, .4, 0, 0], [0, 1., 0, 0],     # clip 0: votes say 0, mean says 1
                  [.1, .2, .3, .4], [.45, .3, .2, .05],              # clip 1: tie of votes, mean says 0
                  [0, 0, 1., 0]])
    clips, M = mean_probability(owner, P)
    assert list(clips) == ["0", "1", "2"]
    np.testing.assert_allclose(M[0], [0.4, 0.6, 0, 0])
    assert list(chunk_decision(owner, P, "mean")[1]) == [1, 0, 2]
    assert list(chunk_decision(owner, P, "vote")[1]) == [0, 0, 2]


def test_pick_chunks_caps_per_clip_and_stays_inside_the_rows():
    owner = np.repeat(np.arange(5), 8)                         # 5 clips x 8 chunks
    rows = np.array([1, 3])
    assert list(L._pick_chunks(owner, rows, None)) == list(range(8, 16)) + list(range(24, 32))
    two = L._pick_chunks(owner, rows, 2)
    assert list(two) == [8, 15, 24, 31]                         # first and last chunk of each clip
    assert set(owner[L._pick_chunks(owner, rows, 1)]) == {1, 3}


def test_chunk_row_decides_per_clip_from_its_chunks():
    """The ShortChunk path end to end on constructed chunks: training on chunks of training
    clips only, one stored prediction per test clip = the mean of its chunks' probabilities."""
    data = _fake_data(n_per=(4, 4, 4, 4))
    n_chunks = 3
    owner = np.repeat(np.arange(16), n_chunks)
    rng = np.random.default_rng(0)
    data._cache["chunk_mels"] = (rng.normal(size=(len(owner), 20, 8)).astype("float32"), owner)

    def tiny(cfg, data, frames):
        return keras.Sequential([keras.Input((frames, 8)), keras.layers.Flatten(),
                                 keras.layers.Dense(4, activation="softmax")])
    row = L.Row("tiny_chunks", "tiny", "dl", "chunks", fit=None, build=tiny, epochs=1, batch_size=8,
                learning_rate=1e-2)
    cfg = dataclasses.replace(L.Config.for_profile("smoke"), test_chunks_per_clip=None,
                              train_chunks_per_clip=None)            # all chunks of every clip
    test = np.array([0, 4, 8, 12])
    split = Split(Unit(0, 0), np.setdiff1d(np.arange(16), test), test)
    res = L._chunk_fit(types.SimpleNamespace(seed=0), cfg, data, row, waves=False)(split)
    assert list(res.ids) == list(data.ids[test])
    assert res.y_score.shape == (4, 4) and np.allclose(res.y_score.sum(1), 1, atol=1e-5)
    assert np.array_equal(res.y_pred, res.y_score.argmax(1))
    assert res.info["n_test_chunks"] == 4 * n_chunks and res.info["n_train_chunks"] == 12 * n_chunks


# --------------------------------------------------------------------------- augmentation
def test_augment_is_reproducible_and_keeps_the_length():
    from mer_utils import augment

    sr = 16000
    t = np.arange(3 * sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    for name in augment.HYBRID_TRANSFORMS:
        a = augment.augment(y, sr, "MT1", name, seed=0)
        assert a.shape == y.shape and a.dtype == np.float32
        assert np.array_equal(a, augment.augment(y, sr, "MT1", name, seed=0))
    g = augment.augment(y, sr, "MT1", "gain", seed=0)
    assert np.max(np.abs(g)) / np.max(np.abs(y)) == pytest.approx(10 ** (1 / 2), rel=1e-4) or \
        np.max(np.abs(g)) / np.max(np.abs(y)) == pytest.approx(10 ** (-1 / 2), rel=1e-4)
    shifted = augment.time_shift(y, sr, np.random.default_rng(3), max_seconds=1.0)
    zeros = np.flatnonzero(shifted == 0)
    assert len(zeros) > 0 and (zeros[0] == 0 or zeros[-1] == len(y) - 1)


def test_augmenting_an_excerpt_matches_the_whole_clip_where_the_network_looks():
    from mer_utils import augment

    sr = 16000
    rng = np.random.default_rng(0)
    y = (0.1 * rng.normal(size=20 * sr)).astype(np.float32)
    n_out = 2 * sr
    ex = y[:augment.input_needed(n_out, sr)]
    for name in ("time_shift", "gain", "time_stretch"):
        for seed in range(3):
            whole = augment.augment(y, sr, "c", name, seed=seed)[:n_out]
            part = augment.augment(ex, sr, "c", name, seed=seed)[:n_out]
            np.testing.assert_allclose(part, whole, atol=1e-4)


def test_hybrid_augments_training_clips_only(monkeypatch):
    data = _fake_data(n_per=(5, 5, 5, 5))
    seen = {}

    class Stop(Exception):
        pass

    def spy(ctx, data, rows, frames, seed=0):
        seen["rows"] = np.asarray(rows)
        raise Stop

    monkeypatch.setattr(L, "augmented_mels", spy)
    cfg = L.Config.for_profile("smoke")
    fit = L._hybrid_fit(types.SimpleNamespace(seed=0, manifest=None), cfg, data, L.ROWS["hybrid"])
    test = np.array([0, 5, 10, 15])
    split = Split(Unit(0, 0), np.setdiff1d(np.arange(20), test), test)
    with pytest.raises(Stop):
        fit(split)
    assert np.array_equal(np.sort(seen["rows"]), split.train)
    assert not np.intersect1d(seen["rows"], split.test).size


# --------------------------------------------------------------------------- registry, values
def test_registry_rows_and_table1_settings_match_the_paper():
    from mer_utils.results import paper_values

    assert set(L.PART1_ROWS) <= set(L.ROWS)
    pv = paper_values("louro", "1")
    for key in L.PART1_ROWS:
        row = L.ROWS[key]
        if row.kind != "dl":
            continue
        p = pv[pv["row"] == row.table1].set_index("metric")["value"]
        assert (row.epochs, row.batch_size, row.learning_rate) == \
            (p["epochs"], p["batch_size"], p["learning_rate"]), key
    cfg = L.Config.for_profile("full")
    assert cfg.folds == 10 and cfg.repeats == 10 and cfg.dl_units is None and cfg.max_epochs is None
    assert cfg.epochs(L.ROWS["samplecnn"]) == 150 and L.Config.for_profile("demo").epochs(L.ROWS["crnn"]) == 1


def test_register_adds_a_row():
    row = L.Row("test_extra", "Extra", "dl", "mel", fit=L._mel_fit, build=L._b_baseline, epochs=200,
                batch_size=150, learning_rate=1e-2, paper_row="Baseline + TFM")
    try:
        assert L.register(row) is row and L.ROWS["test_extra"].table3 == "Baseline + TFM"
        assert row.experiment == "louro_test_extra"
    finally:
        L.ROWS.pop("test_extra")


def test_paper_values_cover_tables_1_to_3():
    from mer_utils.results import paper_values

    t3 = paper_values("louro")
    t3 = t3[t3["table"].str.startswith("3/")]
    assert len(t3) == 15 * 3 * 3
    assert t3["value"].between(0, 1).all()
    orig = t3[t3["table"] == "3/Original-4QAED"].set_index(["row", "metric"])["value"]
    assert orig[("SVM Baseline", "f1")] == pytest.approx(0.7559)
    assert orig[("DL Baseline", "f1")] == pytest.approx(0.6062)
    assert orig[("Hybrid Augmented", "f1")] == pytest.approx(0.6804)
    t2 = paper_values("louro", "2").pivot(index="row", columns="metric", values="value")
    assert (t2[["Q1", "Q2", "Q3", "Q4"]].sum(axis=1) == t2["total"]).all()
    assert t2.loc["Original-4QAED", "total"] == 900


def test_fidelity_table_is_complete():
    fid = L.fidelity()
    assert {"same", "departure", "paper silent"} >= set(fid["status"])
    assert {"protocol", "validation data", "Hybrid", "many-to-one"} <= set(fid["point"])


# --------------------------------------------------------------------------- an expanded 4Q set
@pytest.fixture
def expanded_4q(tmp_path) -> Path:
    """A 4Q set in the publisher's layout with more (and unbalanced) clips, like New-4QAED C."""
    root = tmp_path / "new4q"
    base = root / "MER_audio_taffc_dataset"
    counts = {"Q1": 12, "Q2": 11, "Q3": 10, "Q4": 10}
    rows, feats = [], []
    rng = np.random.default_rng(0)
    for qi, (q, n) in enumerate(counts.items()):
        for i in range(n):
            song = f"MT{qi}{i:04d}"
            write_tone(base / q / f"{song}.wav", 1.5, sr=16000, freq=200 + 60 * qi + 7 * i)
            rows.append((song, q))
            feats.append([song, *(rng.normal(size=5) + qi), q])
    pd.DataFrame(rows, columns=["Song", "Quadrant"]).to_csv(base / "panda_dataset_taffc_annotations.csv",
                                                            index=False)
    pd.DataFrame(feats, columns=["SongID", "F1", "F2", "F3", "F4", "F5", "Quadrant"]).to_csv(
        root / "top100_features.csv", index=False)
    return root


def test_loader_takes_an_expanded_4q_set_unchanged(expanded_4q):
    from mer_utils.datasets import load
    from mer_utils.run import setup_run

    df = load("4q", expanded_4q)
    assert df["quadrant"].value_counts().to_dict() == {"Q1": 12, "Q2": 11, "Q3": 10, "Q4": 10}
    ctx = setup_run("50_louro_methods", profile="demo", data_root=str(expanded_4q))
    cfg = L.Config.for_profile("demo", repeats=1, svm_C=(1.0,), svm_gamma=(0.1,), inner_folds=2)
    data = L.load_data(ctx, cfg)
    assert data.real and len(data.df) == 43 and data.mel_all.shape == (43, 942, 128)
    t2 = L.table2(data).set_index("data set")
    assert t2.iloc[-1][["Q1", "Q2", "Q3", "Q4", "total"]].tolist() == [12, 11, 10, 10, 43]
    splits = L.make_splits(ctx, cfg, data)
    assert len(splits) == 10
    status = L.run_rows(ctx, cfg, data, splits, rows=("svm_baseline", "svm_infold")).set_index("row")
    assert status.loc["svm_baseline", "status"] == "run" and status.loc["svm_baseline", "units"] == 10
    assert status.loc["svm_infold", "status"] == "not runnable"
    assert "1714" in status.loc["svm_infold", "reason"]
    # with the full feature release beside the data, the in-fold row runs
    full = pd.read_csv(expanded_4q / "top100_features.csv")
    full.insert(1, "F0", np.random.default_rng(1).normal(size=len(full)))
    full.to_csv(expanded_4q / "4QAED_1714_features.csv", index=False)
    data2 = L.load_data(ctx, cfg)
    assert data2.full_features.shape[1] == 7 and "1714" in data2.full_desc
    status2 = L.run_rows(ctx, cfg, data2, splits, rows=("svm_infold",)).set_index("row")
    assert status2.loc["svm_infold", "status"] == "run"


# --------------------------------------------------------------------------- the notebook on real 4Q
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_50_on_the_4q_dev_clips(out_dir):
    from test_notebooks import NB_DIR, _run

    root = require(FOURQ_DEV)
    _run(NB_DIR / "50_louro_methods.ipynb", out_dir / "real50", profile="smoke", data_root=str(root))
    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label

    res = RESULTS_DIR / output_label("smoke", root)
    manifest = json.loads((res / "manifests" / "50_louro_methods" / "manifest.json").read_text())
    assert any("4q-dev" in v for v in manifest["data_sources"].values())      # real 4Q, not the demo
    t3 = pd.read_csv(res / "louro_table3.csv").set_index("method")
    assert t3.loc["SVM Baseline", "units"] == 4                               # smoke: 2 folds x 2 repeats
    assert t3.loc["SVM, features selected in each training fold", "units"] == 0   # no 1714 file in 4q-dev
    assert any("top-100" in s["used"] for s in manifest["substitutions"])     # Hybrid on the top-100


def test_paired_comparison_uses_shared_units_and_the_corrected_test():
    from mer_utils.evaluation import corrected_resampled_ttest

    rng = np.random.default_rng(0)
    rows = []
    for r in range(2):
        for f in range(10):
            rows.append({"row": "dl_baseline", "repeat": r, "fold": f, "f1": 0.5 + 0.05 * rng.normal()})
            if r == 0:                                   # the other row ran on repeat 0 only
                rows.append({"row": "crnn", "repeat": r, "fold": f, "f1": 0.6 + 0.05 * rng.normal()})
    scores = pd.DataFrame(rows)
    data = _fake_data()
    splits = [Split(Unit(0, f), np.arange(108), np.arange(108, 120)) for f in range(10)]
    out = L.paired_comparisons(scores, splits).set_index("method")
    a = scores[scores.row == "crnn"].f1.to_numpy()
    b = scores[(scores.row == "dl_baseline") & (scores.repeat == 0)].f1.to_numpy()
    t, p = corrected_resampled_ttest(a, b, n_train=108, n_test=12)
    assert out.loc["CRNN", "units"] == 10
    assert out.loc["CRNN", "t"] == pytest.approx(t) and out.loc["CRNN", "p"] == pytest.approx(p)
    const = scores.copy()
    const.loc[const.row == "crnn", "f1"] = b + 0.1          # constant difference: no test
    out2 = L.paired_comparisons(const, splits).set_index("method")
    assert np.isnan(out2.loc["CRNN", "p"]) and "undefined" in out2.loc["CRNN", "note"]
    del data
