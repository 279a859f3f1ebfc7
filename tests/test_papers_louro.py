"""The methods-comparison paper (Louro et al.), ``mer_utils.papers.louro``: its protocol,
nested tuning through ``evaluation.tune``, the 90 % stop through the training engine,
many-to-one decisions, augmentation (the Hybrid's, audiomentations', DeepSMOTE) of training
clips only, the row registry and paper values, part 2's substitutions and transfer schedule,
an expanded 4Q set, and notebook 50 on the real 4Q dev clips.
(Network shapes and parameter counts: ``test_models_mel_cnn.py``, ``test_models_hybrid.py``,
``test_models_won_tagging.py``, ``test_models_autoencoder.py``, ``test_models_won_torch.py``,
``test_models_artists_cnn.py``.)"""
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
from mer_utils.papers import louro
from mer_utils.papers.louro import config as C
from mer_utils.papers.louro import pipeline as P
from mer_utils.papers.louro import rows as R
from mer_utils.papers.louro import tables as T
from mer_utils.results import Unit

LABELS = list(C.LABELS)


def _fake_data(n_per=(30, 30, 30, 30), frames=96, n_feat=6, seed=0) -> P.LouroData:
    """A LouroData without audio: ids, quadrants, random mels, informative features."""
    rng = np.random.default_rng(seed)
    q = np.repeat(LABELS, n_per)
    ids = [f"MT{i:05d}" for i in range(len(q))]
    df = pd.DataFrame({"track_id": ids, "path": [f"/nonexistent/{i}.mp3" for i in ids], "quadrant": q})
    y = df["quadrant"].map({c: i for i, c in enumerate(LABELS)}).to_numpy()
    F = rng.normal(size=(len(q), n_feat)) + y[:, None] * 0.8
    feats = pd.DataFrame(F, index=pd.Index(ids, name="track_id"),
                         columns=[f"F{j}" for j in range(n_feat)]).assign(quadrant=q)
    return P.LouroData(df=df, corpus="fake", real=False, features=feats, features_desc="fake",
                       full_features=feats, full_desc="fake",
                       mel_all=rng.normal(size=(len(q), frames, 128)).astype(np.float32))


# --------------------------------------------------------------------------- protocol
def test_protocol_100_units_stratified_saved_identical_no_overlap(tmp_path):
    data = _fake_data()
    ctx = types.SimpleNamespace(results_dir=tmp_path)
    cfg = C.Config.for_profile("full")
    splits = P.make_splits(ctx, cfg, data)
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
    again = P.make_splits(ctx, cfg, data)
    assert all(np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
               for a, b in zip(splits, again))
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes


def test_split_summary_reports_coverage_and_overlap(tmp_path):
    data = _fake_data()
    splits = P.make_splits(types.SimpleNamespace(results_dir=tmp_path), C.Config.for_profile("full"), data)
    summ = P.split_summary(splits, data)
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
        predict, best = P.tune_svm(poisoned, y, split, C=(1.0, 10.0), gamma=(0.01, 0.1), k=3, select_k=select)
        assert best["C"] in (1.0, 10.0) and best["gamma"] in (0.01, 0.1)
        scores, pred = predict(split.train)
        assert scores.shape == (len(split.train), 4) and np.isfinite(scores).all()


def test_the_test_fold_check_can_fail(monkeypatch):
    """Inner folds that include the test rows fail: evaluation.tune passes only the training
    rows to the search, so a test row cannot even be addressed (KeyError); a tuner that did
    read them would trip over the poisoned rows (ValueError: NaN)."""
    import mer_utils.evaluation.protocols as ev

    X, y, split = _tuning_case()
    poisoned = X.copy()
    poisoned[split.test] = np.nan
    real = ev.inner_cv

    def leaky(split, y, groups=None, *, k=5, seed=0):
        return [(np.concatenate([a, split.test]), b) for a, b in real(split, y, groups, k=k, seed=seed)]

    monkeypatch.setattr(ev, "inner_cv", leaky)                # what evaluation.tune calls
    with pytest.raises((ValueError, KeyError)):
        P.tune_svm(poisoned, y, split, C=(1.0,), gamma=(0.1,), k=3)


@pytest.mark.parametrize("select", [None, 3])
def test_svm_tuning_is_evaluation_tune_on_the_paper_pipeline(select):
    """tune_svm is evaluation.tune on StandardScaler [-> SelectKBest] -> RBF SVC: the same
    parameters and predictions; and it picks what the former one-scaler-per-inner-fold search
    picked (macro F1 per inner fold, mean over folds, first best in C-then-gamma order)."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mer_utils.evaluation import inner_cv, label_scores, tune

    X, y, split = _tuning_case(seed=3)
    C, G = (0.1, 1.0, 10.0), (0.01, 0.1, 1.0)
    steps = [("scale", StandardScaler())] + ([("select", SelectKBest(f_classif, k=select))] if select else [])
    model, best = tune(Pipeline(steps + [("svm", SVC(kernel="rbf"))]), {"svm__C": C, "svm__gamma": G},
                       X, y, split, k=3, seed=7)
    predict, mine = P.tune_svm(X, y, split, C=C, gamma=G, k=3, select_k=select, seed=7)
    assert mine == {"C": best["svm__C"], "gamma": best["svm__gamma"]}
    assert np.array_equal(predict(split.test)[1], model.predict(X[split.test]))
    # the former search, written out
    grid = [(c, g) for c in C for g in G]
    scores = np.zeros(len(grid))
    folds = inner_cv(split, y, k=3, seed=7)
    for a, b in folds:
        pre = [StandardScaler().fit(X[a])]
        if select:
            pre.append(SelectKBest(f_classif, k=select).fit(pre[0].transform(X[a]), y[a]))
        Za, Zb = X[a], X[b]
        for st in pre:
            Za, Zb = st.transform(Za), st.transform(Zb)
        for i, (c, g) in enumerate(grid):
            pred = SVC(kernel="rbf", C=c, gamma=g).fit(Za, y[a]).predict(Zb)
            present = sorted(set(y[b]) | set(pred))
            scores[i] += label_scores(y[b], pred, [str(k) for k in present])["f1"] / len(folds)
    c, g = grid[int(np.flatnonzero(scores == scores.max())[0])]
    assert mine == {"C": c, "gamma": g}





# --------------------------------------------------------------------------- the 90 % stop
keras = pytest.importorskip("keras")





@pytest.mark.backend
def test_the_90_percent_rule_stops_at_the_first_epoch_reaching_it_through_the_trainer():
    """Louro et al. (Sec. 3.1): training halts "when the training set accuracy reached a value
    equal to or greater than 90%" — through the engine, with the recipe the rows use."""
    from mer_utils.training import Trainer

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 40)
    X = (rng.normal(size=(160, 8)) + np.eye(4, 8)[y] * 2.5).astype("float32")
    row = R.Row("tiny", "tiny", "dl", "x", fit=None, epochs=300, batch_size=16, learning_rate=0.02)
    cfg = C.Config.for_profile("full", execution="eager")

    def build():
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="softmax")])
    recipe = P._recipe(cfg, row)
    assert recipe.stop.threshold == 0.9 and recipe.optimizer == "sgd" and recipe.epochs == 300
    h = Trainer(build, recipe).fit(X, y, seed=0)
    acc = h["accuracy"]
    assert 1 < len(acc) < 300
    assert h["stopped_at"] == len(acc) and acc[-1] >= 0.9 and all(a < 0.9 for a in acc[:-1])
    h2 = Trainer(build, P._recipe(dataclasses.replace(cfg, stop_train_accuracy=0.0, max_epochs=3), row)).fit(
        X, y, seed=0)
    assert len(h2["accuracy"]) == 3 and h2["stopped_at"] is None


def test_gradient_accumulation_keeps_the_table1_batch():
    from mer_utils.training import accumulation_steps

    assert accumulation_steps(50, 10, 54) == 5             # 5 micro-batches of 10 per update
    assert accumulation_steps(150, 10, 270) == 15
    assert accumulation_steps(150, 10, 54) == 1            # fewer clips than one batch: one step
    assert accumulation_steps(50, None, 500) == 1 and accumulation_steps(50, 64, 500) == 1
    assert accumulation_steps(300, 16, 900) == 20          # 15 samples per pass (divides 300)
    rec = P._recipe(C.Config.for_profile("smoke"), R.ROWS["dl_baseline"])
    assert (rec.batch_size, rec.micro_batch, rec.learning_rate) == (150, 5, 1e-2)   # Table 1 batch kept


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
    assert list(P._pick_chunks(owner, rows, None)) == list(range(8, 16)) + list(range(24, 32))
    two = P._pick_chunks(owner, rows, 2)
    assert list(two) == [8, 15, 24, 31]                         # first and last chunk of each clip
    assert set(owner[P._pick_chunks(owner, rows, 1)]) == {1, 3}


@pytest.mark.backend
def test_chunk_row_decides_per_clip_from_its_chunks():
    """The ShortChunk path end to end on constructed chunks: training on chunks of training
    clips only, one stored prediction per test clip = the mean of its chunks' probabilities."""
    data = _fake_data(n_per=(4, 4, 4, 4))
    n_chunks = 3
    owner = np.repeat(np.arange(16), n_chunks)
    rng = np.random.default_rng(0)
    work = P.Workspace(arrays={"chunk_mels": (rng.normal(size=(len(owner), 20, 8)).astype("float32"), owner)})

    def tiny(cfg, data, frames):
        return keras.Sequential([keras.Input((frames, 8)), keras.layers.Flatten(),
                                 keras.layers.Dense(4, activation="softmax")])
    row = R.Row("tiny_chunks", "tiny", "dl", "chunks", fit=None, build=tiny, epochs=1, batch_size=8,
                learning_rate=1e-2)
    cfg = dataclasses.replace(C.Config.for_profile("smoke"), test_chunks_per_clip=None,
                              train_chunks_per_clip=None)            # all chunks of every clip
    test = np.array([0, 4, 8, 12])
    split = Split(Unit(0, 0), np.setdiff1d(np.arange(16), test), test)
    res = P._chunk_fit(types.SimpleNamespace(seed=0), cfg, data, row, work, waves=False).fit_predict(split)
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

    monkeypatch.setattr(P, "augmented_mels", spy)
    cfg = C.Config.for_profile("smoke")
    fit = P._hybrid_fit(types.SimpleNamespace(seed=0, manifest=None), cfg, data, R.ROWS["hybrid"],
                        P.Workspace()).fit_predict
    test = np.array([0, 5, 10, 15])
    split = Split(Unit(0, 0), np.setdiff1d(np.arange(20), test), test)
    with pytest.raises(Stop):
        fit(split)
    assert np.array_equal(np.sort(seen["rows"]), split.train)
    assert not np.intersect1d(seen["rows"], split.test).size


@pytest.mark.backend
def test_hybrid_head_takes_each_units_pretrained_branches(monkeypatch):
    """Three trainers reused over units: on every unit the fused network's frozen branches hold
    the CNN and DNN just pre-trained on that unit (the pipeline checks it after each fit)."""
    data = _fake_data(n_per=(5, 5, 5, 5))
    frames = data.mel_all.shape[1]

    def copies(ctx, data_, rows, frames_, seed=0):             # one "synthesised" copy per clip
        return data_.mel_all[rows, :frames_] + 0.1, np.asarray(rows)
    monkeypatch.setattr(P, "augmented_mels", copies)
    cfg = C.Config.for_profile("smoke", input_frames=frames, micro_batch=None)
    fitted = P._hybrid_fit(types.SimpleNamespace(seed=0, manifest=None), cfg, data, R.ROWS["hybrid"], P.Workspace())
    firsts = []
    for f in range(2):
        test = np.array([0, 5, 10, 15]) + f
        res = fitted.fit_predict(Split(Unit(0, f), np.setdiff1d(np.arange(20), test), test))
        assert res.y_score.shape == (4, 4) and res.info["n_augmented"] == 16
        firsts.append(res.info["history_cnn"]["loss"][0])
    assert firsts[0] != firsts[1]                                # each unit pre-trains its own CNN
    # the check bites: with one seed for every unit the engine keeps the first unit's initial
    # state for the head (same init_seed), so the second unit's branches would be stale
    monkeypatch.setattr(P, "_unit_seed", lambda ctx, split: 5)
    fitted = P._hybrid_fit(types.SimpleNamespace(seed=0, manifest=None), cfg, data, R.ROWS["hybrid"], P.Workspace())
    test = np.array([0, 5, 10, 15])
    fitted.fit_predict(Split(Unit(0, 0), np.setdiff1d(np.arange(20), test), test))
    with pytest.raises(RuntimeError, match="pre-trained weights"):
        fitted.fit_predict(Split(Unit(0, 1), np.setdiff1d(np.arange(20), test + 1), test + 1))


# --------------------------------------------------------------------------- registry, values
def test_registry_rows_and_table1_settings_match_the_paper():
    from mer_utils.results import paper_values

    assert set(R.PART1_ROWS) <= set(R.ROWS)
    pv = paper_values("louro", "1")
    for key in R.PART1_ROWS:
        row = R.ROWS[key]
        if row.kind != "dl":
            continue
        p = pv[pv["row"] == row.table1].set_index("metric")["value"]
        assert (row.epochs, row.batch_size, row.learning_rate) == \
            (p["epochs"], p["batch_size"], p["learning_rate"]), key
    cfg = C.Config.for_profile("full")
    assert cfg.folds == 10 and cfg.repeats == 10 and cfg.dl_units is None and cfg.max_epochs is None
    assert cfg.epochs(R.ROWS["samplecnn"]) == 150 and C.Config.for_profile("demo").epochs(R.ROWS["crnn"]) == 20


def test_register_adds_a_row():
    row = R.Row("test_extra", "Extra", "dl", "mel", fit=P._mel_fit, build=P._b_baseline, epochs=200,
                batch_size=150, learning_rate=1e-2, paper_row="Baseline + TFM")
    try:
        assert R.register(row) is row and R.ROWS["test_extra"].table3 == "Baseline + TFM"
        assert row.experiment == "louro_test_extra"
    finally:
        R.ROWS.pop("test_extra")


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
    fid = louro.fidelity.fidelity()
    assert len(fid) == len(louro.FIDELITY)
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
    from mer_utils.context import setup_run

    df = load("4q", expanded_4q)
    assert df["quadrant"].value_counts().to_dict() == {"Q1": 12, "Q2": 11, "Q3": 10, "Q4": 10}
    ctx = setup_run("50_louro_methods", profile="demo", data_root=str(expanded_4q))
    cfg = C.Config.for_profile("demo", repeats=1, svm_C=(1.0,), svm_gamma=(0.1,), inner_folds=2)
    data = P.load_data(ctx, cfg)
    assert data.real and len(data.df) == 43 and data.mel_all.shape == (43, 942, 128)
    # 43 clips are none of Table 3's data sets, whatever the folder calls itself
    assert data.column.name is None and data.column.stands_for == "Original-4QAED"
    assert ctx.manifest.data_sources[C.COLUMN_SOURCE].startswith("different data: 4Q: 43 clips")
    t2 = T.table2(data).set_index("data set")
    assert t2.iloc[-1][["Q1", "Q2", "Q3", "Q4", "total"]].tolist() == [12, 11, 10, 10, 43]
    splits = P.make_splits(ctx, cfg, data)
    assert len(splits) == 10
    status = P.run_rows(ctx, cfg, data, splits, rows=("svm_baseline", "svm_infold")).set_index("row")
    assert status.loc["svm_baseline", "status"] == "run" and status.loc["svm_baseline", "units"] == 10
    assert status.loc["svm_infold", "status"] == "not runnable"
    assert "1714" in status.loc["svm_infold", "reason"]
    # with the full feature release beside the data, the in-fold row runs
    full = pd.read_csv(expanded_4q / "top100_features.csv")
    full.insert(1, "F0", np.random.default_rng(1).normal(size=len(full)))
    full.to_csv(expanded_4q / "4QAED_1714_features.csv", index=False)
    data2 = P.load_data(ctx, cfg)
    assert data2.full_features.shape[1] == 7 and "1714" in data2.full_desc
    status2 = P.run_rows(ctx, cfg, data2, splits, rows=("svm_infold",)).set_index("row")
    assert status2.loc["svm_infold", "status"] == "run"


# --------------------------------------------------------------------------- the notebook on real 4Q
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_50_on_the_4q_dev_clips(out_dir):
    from test_notebooks import NB_DIR, _run

    root = require(FOURQ_DEV)
    _run(NB_DIR / "50_louro_methods.ipynb", out_dir / "real50", profile="smoke", data_root=str(root))
    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label

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
    out = T.paired_comparisons(scores, splits).set_index("method")
    a = scores[scores.row == "crnn"].f1.to_numpy()
    b = scores[(scores.row == "dl_baseline") & (scores.repeat == 0)].f1.to_numpy()
    t, p = corrected_resampled_ttest(a, b, n_train=108, n_test=12)
    assert out.loc["CRNN", "units"] == 10
    assert out.loc["CRNN", "t"] == pytest.approx(t) and out.loc["CRNN", "p"] == pytest.approx(p)
    const = scores.copy()
    const.loc[const.row == "crnn", "f1"] = b + 0.1          # constant difference: no test
    out2 = T.paired_comparisons(const, splits).set_index("method")
    assert np.isnan(out2.loc["CRNN", "p"]) and "undefined" in out2.loc["CRNN", "note"]
    del data


# =========================================================================== part 2
class _Manifest:
    def __init__(self):
        self.substitutions, self.skipped = [], []

    def substitute(self, what, used, reason):
        self.substitutions.append({"what": what, "used": used, "reason": reason})

    def skip(self, item, reason):
        self.skipped.append({"item": item, "reason": reason})


def _ctx(tmp_path):
    return types.SimpleNamespace(p=types.SimpleNamespace(n_jobs=1), cache_dir=tmp_path / "cache", seed=0,
                                 results_dir=tmp_path / "results", manifest=_Manifest())


def _wav_data(tmp_path, n_per=3, frames=32, seconds=1.2):
    """LouroData over real (tiny) WAV files, so augmentation reads audio."""
    q = np.repeat(LABELS, n_per)
    ids = [f"C{i:03d}" for i in range(len(q))]
    paths = [str(write_tone(tmp_path / "wav" / f"{i}.wav", seconds=seconds, sr=16000, freq=220 + 40 * k))
             for k, i in enumerate(ids)]
    df = pd.DataFrame({"track_id": ids, "path": paths, "quadrant": q})
    rng = np.random.default_rng(0)
    return P.LouroData(df=df, corpus="tones", real=False, features=None, features_desc="", full_features=None,
                       full_desc="", mel_all=rng.normal(size=(len(q), frames, 128)).astype(np.float32))


# --------------------------------------------------------------------------- augmentation: training clips only
@pytest.mark.parametrize("key", ["tfm", "sb", "rg"])
def test_audio_augmentation_transforms_training_clips_only(tmp_path, monkeypatch, key):
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    from mer_utils import augment

    data = _wav_data(tmp_path)
    ctx = _ctx(tmp_path)
    cfg = C.Config.for_profile("smoke", input_frames=32)
    seen = []
    real = augment.augment_audio

    def spy(y, sr, clip_id, k, **kw):
        seen.append(clip_id)
        return real(y, sr, clip_id, k, **kw)
    monkeypatch.setattr(augment, "augment_audio", spy)

    trained_on = {}

    class Dummy:                                   # stands in for the row's training.Trainer
        def fit(self, X_tr, y_tr, *, seed):
            trained_on["n"] = len(X_tr)
            return {}

        def predict(self, X):
            return np.full((len(X), 4), 0.25, np.float32)
    monkeypatch.setattr(P, "_trainer", lambda build, recipe, name: Dummy())
    split = Split(Unit(0, 0), train=np.arange(0, 8), test=np.arange(8, 12))
    res = R.ROWS[f"baseline_{key}"].fit(ctx, cfg, data, R.ROWS[f"baseline_{key}"], P.Workspace()).fit_predict(split)
    train_ids, test_ids = set(data.ids[split.train]), set(data.ids[split.test])
    assert set(seen) == train_ids                         # every training clip, once
    assert not set(seen) & test_ids                       # never a test clip
    assert trained_on["n"] == 2 * len(split.train)        # real + one copy each
    assert list(res.ids) == list(data.ids[split.test])
    # cached: a second unit with the same training clips transforms nothing again
    seen.clear()
    R.ROWS[f"baseline_{key}"].fit(ctx, cfg, data, R.ROWS[f"baseline_{key}"], P.Workspace()).fit_predict(split)
    assert seen == []


def test_audio_augmentation_is_seeded_and_leaves_global_random_state():
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    import random

    from mer_utils import augment

    y = np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 0.1
    random.seed(5)
    np.random.seed(5)
    before = (random.random(), np.random.rand())
    random.seed(5)
    np.random.seed(5)
    a, pa = augment.augment_audio(y, 16000, "MT1", "rg", seed=0)
    assert (random.random(), np.random.rand()) == before
    b, _ = augment.augment_audio(y, 16000, "MT1", "rg", seed=0)
    c, _ = augment.augment_audio(y, 16000, "MT1", "rg", seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    ratio = pa["Gain"]["amplitude_ratio"]
    assert 10 ** (-12 / 20) - 1e-6 <= ratio <= 10 ** (12 / 20) + 1e-6     # RG: -12..+12 dB
    assert augment.transform_config("rg")["Gain"] == {"min_gain_db": -12.0, "max_gain_db": 12.0}


# --------------------------------------------------------------------------- Borderline-SMOTE 2
def test_borderline_smote2_count_and_balance_on_a_constructed_set():
    import imblearn  # noqa: F401  (a main dependency)
    from mer_utils.training.deepsmote import borderline_smote2

    rng = np.random.default_rng(0)
    sizes = (30, 20, 25, 15)
    Z = np.concatenate([rng.normal(0.7 * c, 1.0, (n, 6)) for c, n in enumerate(sizes)])   # overlapping classes
    y = np.repeat(np.arange(4), sizes)
    Zn, yn = borderline_smote2(Z, y, 10, seed=0)
    assert Zn.shape == (40, 6)
    assert np.bincount(yn, minlength=4).tolist() == [10, 10, 10, 10]
    Zn, yn = borderline_smote2(Z, y, 1.0, seed=0)            # one new sample per real one, per class
    assert np.bincount(yn, minlength=4).tolist() == list(sizes)
    # synthetic points lie between real points (borderline-2 also steps toward other classes'
    # neighbours, so: inside the data's bounding box, not necessarily their class's)
    lo, hi = Z.min(0), Z.max(0)
    assert ((Zn >= lo - 1e-5) & (Zn <= hi + 1e-5)).all()
    # never a copy of a real row
    assert not any((np.abs(Z - p).sum(1) < 1e-9).any() for p in Zn)


# --------------------------------------------------------------------------- the transfer schedule
def test_transfer_schedule_at_epochs_79_80_100_120():
    """Louro et al. (Sec. 3.7): Adam 1e-3 until epoch 80, then SGD 1e-4, 1e-5 at 100, 1e-6 at
    120 — the recipe of the CRNN MTAT row."""
    from mer_utils.training import WON_TRANSFER

    got = {e: (WON_TRANSFER.at(e).optimizer, WON_TRANSFER.at(e).learning_rate) for e in (0, 79, 80, 99, 100, 119, 120, 199)}
    assert got == {0: ("adam", 1e-3), 79: ("adam", 1e-3), 80: ("sgd", 1e-4), 99: ("sgd", 1e-4),
                   100: ("sgd", 1e-5), 119: ("sgd", 1e-5), 120: ("sgd", 1e-6), 199: ("sgd", 1e-6)}
    assert [(lo, hi) for _, lo, hi in WON_TRANSFER.segments(200)] == [(0, 80), (80, 100), (100, 120), (120, 200)]
    rec = P._recipe(C.Config.for_profile("full"), R.ROWS["crnn_mtat"], schedule=WON_TRANSFER)
    assert (rec.schedule, rec.epochs, rec.batch_size, rec.stop.threshold) == (WON_TRANSFER, 200, 16, 0.9)


# --------------------------------------------------------------------------- substitutions when weights are absent
def test_rows_without_weights_record_their_substitution(tmp_path, monkeypatch):
    data = _wav_data(tmp_path)
    ctx = _ctx(tmp_path)
    cfg = C.Config.for_profile("smoke", artists_weights=str(tmp_path / "none.h5"),
                               crnn_mtat_weights=str(tmp_path / "none.pth"))
    with pytest.raises(R.NotRunnable, match="weights absent"):
        R.ROWS["artists_cnn"].fit(ctx, cfg, data, R.ROWS["artists_cnn"], P.Workspace())
    assert any("Artists CNN" in s["what"] for s in ctx.manifest.substitutions)

    from mer_utils.models import musicnn
    monkeypatch.setattr(musicnn, "ensure_musicnn_weights", lambda *a, **k: (_ for _ in ()).throw(
        musicnn.MusicnnUnavailable("no wheel here")))
    with pytest.raises(R.NotRunnable, match="musicnn MTT stand-in"):
        R.ROWS["crnn_mtat"].fit(ctx, cfg, data, R.ROWS["crnn_mtat"], P.Workspace())

    from mer_utils.embeddings import openl3
    monkeypatch.setattr(openl3, "openl3_available", lambda: (False, "openl3 not importable"))
    import mer_utils.embeddings as E
    monkeypatch.setattr(E, "embed_sequence", lambda df, model, **kw: (
        np.ones((len(df), 5, 3), np.float32), df.reset_index(drop=True), model))
    fitted = R.ROWS["openl3_rf"].fit(ctx, cfg, data, R.ROWS["openl3_rf"], P.Workspace())
    sub = [s for s in ctx.manifest.substitutions if s["what"].startswith("OpenL3")]
    assert sub and "musicnn" in sub[0]["used"] and sub[0]["reason"] == "openl3 not importable"
    assert "substitute" in fitted.label                    # returned, not written into the data
    assert not hasattr(data, "_cache")


def test_crnn_mtat_substitute_recorded_when_pth_absent(tmp_path):
    from mer_utils.models import musicnn

    try:
        musicnn.ensure_musicnn_weights("MTT_musicnn", download=False)
    except Exception:
        pytest.skip("musicnn MTT weights not in this cache")
    data = _wav_data(tmp_path, seconds=3.5)
    ctx = _ctx(tmp_path)
    cfg = C.Config.for_profile("smoke", crnn_mtat_weights=str(tmp_path / "none.pth"))
    work = P.Workspace()
    fitted = R.ROWS["crnn_mtat"].fit(ctx, cfg, data, R.ROWS["crnn_mtat"], work)
    fp = fitted.fit_predict
    assert any(s["what"].startswith("CRNN pre-trained on MagnaTagATune") for s in ctx.manifest.substitutions)
    assert "musicnn MTT" in fitted.label
    # smoke trains the head only: the label and the manifest say so, and one unit runs on the
    # frozen body's vectors (computed once, for the patches the units read)
    assert cfg.transfer_train == "head" and "body frozen" in fitted.label
    assert any("body frozen" in s["used"] for s in ctx.manifest.substitutions)
    split = types.SimpleNamespace(train=np.arange(0, 12, 2), test=np.arange(1, 12, 2), unit=Unit(0, 0))
    res = fp(split)
    assert res.info["trained"] == "head only" and res.y_score.shape == (6, 4)
    assert np.allclose(res.y_score.sum(1), 1, atol=1e-5)
    assert res.info["history"]["phases"][0]["optimizer"] == "adam"          # WON_TRANSFER's first phase
    body = [v for k, v in work.arrays.items() if isinstance(k, tuple) and k[0] == "musicnn_mtt_body"]
    assert len(body) == 1 and body[0].shape[1] == 200 and np.abs(body[0]).sum(1).min() > 0


def test_full_profile_keeps_paper_part2_settings_and_scalings_are_stated():
    full, demo = C.Config.for_profile("full"), C.Config.for_profile("demo")
    assert (full.transfer_train, full.ae_epochs, full.smote_per_class, full.rf_trees,
            full.transfer_patches_per_clip, full.part2_units) == ("all", 100, 1.0, 100, None, None)
    note = P.scale_note(demo, 100)
    assert demo.transfer_train == "head" and "only the new head trained" in note
    assert f"autoencoder {demo.ae_epochs} epoch(s)" in note and f"part-2 rows on the first {demo.part2_units}" in note
    assert "DeepSMOTE 0.5 x" in note
    assert "head" not in P.scale_note(full, 100)


# --------------------------------------------------------------------------- registry and paper cells
def test_part2_rows_registered_with_paper_cells():
    from mer_utils.results import paper_values

    assert set(R.PART2_ROWS) <= set(R.ROWS) and R.ALL_ROWS == R.PART1_ROWS + R.PART2_ROWS
    cells = set(P.PAPER_CELLS)
    for key in R.PART2_ROWS:
        for m in ("precision", "recall", "f1"):
            for col in C.COLUMNS:
                assert (f"3/{col}", R.ROWS[key].table3, m) in cells
    assert ("1", "CRNN MTAT", "batch_size") in cells and ("1", "CRNN MTAT", "learning_rate") not in cells
    assert ("1", "Artists CNN", "input_frames") in cells
    pv = paper_values("louro", f"3/{C.DATASET}").set_index(["row", "metric"])["value"]
    assert pv[("Baseline + DeepSMOTE", "f1")] == pytest.approx(0.607)
    assert pv[("CRNN Pre-trained MTAT", "f1")] == pytest.approx(0.5021)


def test_table1_and_table3_include_part2_rows_with_require_paper():
    cfg = C.Config.for_profile("demo")
    t1 = T.table1(cfg)
    assert {"Baseline + TFM", "Artists CNN", "CRNN MTAT"} <= set(t1["row"])
    status = pd.DataFrame([{"row": k, "status": "not runnable", "reason": "x", "units": 0, "seconds": 0.0,
                            "label": ""} for k in R.PART2_ROWS])
    wide, long = T.table3(types.SimpleNamespace(), cfg, status, pd.DataFrame())
    assert len(wide) == len(R.PART2_ROWS)
    for col in C.COLUMNS:                                 # every row of the paper in its three columns
        assert wide[f"{col} F1"].notna().all(), col


# --------------------------------------------------------------------------- the notebook on real 4Q: part-2 rows
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_50_part2_rows_on_the_4q_dev_clips(out_dir):
    import json

    from conftest import FOURQ_DEV, require
    from test_notebooks import NB_DIR, _run

    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label

    root = require(FOURQ_DEV)
    _run(NB_DIR / "50_louro_methods.ipynb", out_dir / "real50p2", profile="smoke", data_root=str(root))
    res = RESULTS_DIR / output_label("smoke", root)
    t3 = pd.read_csv(res / "louro_table3.csv")
    t3.index = t3["method"].str.split(" [", regex=False).str[0]     # the row name without its label
    for key in R.PART2_ROWS:                              # every part-2 row is in Table 3 on real clips
        assert R.ROWS[key].name in t3.index, key
    for key in ("baseline_tfm", "baseline_sb", "baseline_rg", "baseline_deepsmote", "ae_rf", "openl3_rf",
                "crnn_mtat"):                             # these run offline (Artists CNN: weights absent)
        assert t3.loc[R.ROWS[key].name, "units"] == 1, key
        assert np.isfinite(float(str(t3.loc[R.ROWS[key].name, "ours F1"]).split(" ")[0])), key
    assert "substitute" in t3.loc["CRNN Pre-trained MTAT", "method"]
    manifest = json.loads((res / "manifests" / "50_louro_methods" / "manifest.json").read_text())
    assert any("4q-dev" in v for v in manifest["data_sources"].values())
    assert any(s["what"].startswith("CRNN pre-trained on MagnaTagATune") for s in manifest["substitutions"])


def test_augmentation_cost_has_a_finite_cost_per_transform(tmp_path):
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    data = _wav_data(tmp_path, n_per=1, seconds=3.5)
    cost = P.augmentation_cost(_ctx(tmp_path), data, n_clips=1, frames=32)
    assert len(cost) == 4 and cost["transform"].str.startswith("Hybrid").sum() == 1
    num = cost[["transform seconds", "decode + transform + mel seconds"]].to_numpy()
    assert np.isfinite(num).all() and (num > 0).all()


def test_a_profile_can_replace_table1_recipes_and_list_rows_it_does_not_train():
    """demo replaces Table 1's optimizer, rate and batch (stated in the caption), sets epochs per
    row, and lists rows it does not train with the reason; full keeps the paper's."""
    demo, full = C.Config.for_profile("demo"), C.Config.for_profile("full")
    base = R.ROWS["dl_baseline"]
    rec = P._recipe(demo, base)
    assert (rec.optimizer, rec.learning_rate, rec.batch_size) == ("adam", 1e-3, 16)
    rec_full = P._recipe(full, base)
    assert (rec_full.optimizer, rec_full.learning_rate, rec_full.batch_size, rec_full.epochs) == ("sgd", 1e-2, 150, 200)
    assert demo.epochs(R.ROWS["baseline_tfm"]) == 10 and demo.epochs(base) == 20
    assert full.epochs(R.ROWS["baseline_tfm"]) == 200
    note = P.scale_note(demo, 100)
    assert "adam" in note and "batch 16" in note and "full profile only" in note
    assert {k for k, _ in demo.full_only} <= set(R.ALL_ROWS) and not full.full_only
    assert all(len(why) > 40 for _, why in demo.full_only)          # a reason, not a word
    with pytest.raises(ValueError):
        C.Config.for_profile("demo", optimizer="rmsprop")


def test_rows_listed_full_only_are_not_trained_and_say_why(tmp_path):
    from types import SimpleNamespace

    cfg = C.Config.for_profile("smoke", full_only=(("dl_baseline", "too slow on a laptop here"),))
    ctx = SimpleNamespace(results_dir=tmp_path, seed=0, manifest=SimpleNamespace(skip=lambda *a: None))
    status = P.run_rows(ctx, cfg, data=None, splits=[], rows=("dl_baseline",))
    r = status.iloc[0]
    assert (r["status"], r["units"]) == ("full profile only", 0) and "too slow" in r["reason"]


# --------------------------------------------------------------------------- Table 3's data-set columns
def _clips(counts, dataset="4q", collection=None) -> pd.DataFrame:
    q = np.repeat(LABELS, counts)
    df = pd.DataFrame({"track_id": [f"S{i}" for i in range(len(q))], "quadrant": q, "dataset": dataset})
    return df.assign(collection=collection) if collection else df


def test_the_column_comes_from_the_clips_counts():
    """Table 2's counts (read from the transcribed paper values) decide the column, not the name."""
    assert P.paper_column(_clips((225,) * 4)).name == "Original-4QAED"
    c = P.paper_column(_clips((434, 440, 397, 358), "new-4qaed", "New-4QAED C"))
    assert (c.name, c.stands_for) == ("New-4QAED C", "New-4QAED C") and c.record.startswith("New-4QAED C (real)")
    assert P.paper_column(_clips((343,) * 4, "new-4qaed", "New-4QAED B")).name == "New-4QAED B"
    assert P.paper_column(_clips((434, 440, 397, 358))).name == "New-4QAED C"   # C's clips in a 4Q layout
    dev = P.paper_column(_clips((30,) * 4))                                         # the 4Q dev copy
    assert dev.name is None and dev.stands_for == "Original-4QAED"
    assert dev.label.startswith("none: different data (4Q: 120 clips, 30/30/30/30 per quadrant")
    assert dev.record.startswith("different data:") and "Original-4QAED" not in dev.record
    merge = P.paper_column(_clips((875, 915, 808, 956), "new-4qaed", "MERGE Audio Complete"))
    assert merge.name is None and merge.stands_for == "New-4QAED C"
    assert P.paper_column(_clips((343,) * 4, "new-4qaed", "MERGE Audio Balanced")).name == "New-4QAED B"
    demo = P.paper_column(_clips((225,) * 4, "demo"))                               # never a paper column
    assert demo.name is None and "demo corpus" in demo.record


@pytest.fixture
def new_4qaed_c(tmp_path) -> Path:
    """New-4QAED C in the released code's layout, with Table 2's exact counts (empty audio
    files: the loader only needs them to exist when durations are not read)."""
    from mer_utils.results import paper_values

    t2 = paper_values("louro", "2").pivot(index="row", columns="metric", values="value")
    folder = tmp_path / "New_MERGE_Complete_Data"
    rows = []
    for q in LABELS:
        (folder / q).mkdir(parents=True)
        for i in range(int(t2.loc["New-4QAED C", q])):
            song = f"A{q}{i:04d}"
            (folder / q / f"{song}.mp3").touch()
            rows.append((song, q))
    pd.DataFrame(rows, columns=["SongID", "Quadrant"]).to_csv(folder / "new_pub_complete_targets.csv", index=False)
    return tmp_path


def test_a_new_4qaed_fixture_is_compared_against_its_own_column(new_4qaed_c):
    from mer_utils.datasets import load
    from mer_utils.scorecard import data_verdict

    df = load("new-4qaed", new_4qaed_c, with_duration=False)
    assert len(df) == 1629
    column = P.paper_column(df)
    assert column.name == "New-4QAED C"
    rng = np.random.default_rng(0)
    scores = pd.DataFrame([{"row": k, "repeat": 0, "fold": f, "seed": 0, "precision": v, "recall": v, "f1": v,
                            "method": R.ROWS[k].name}
                           for k in ("svm_baseline", "dl_baseline") for f in range(3)
                           for v in [0.6 + 0.01 * rng.normal()]])
    status = pd.DataFrame([{"row": k, "status": "run", "reason": "", "units": 3, "seconds": 0.0, "label": ""}
                           for k in ("svm_baseline", "dl_baseline")])
    wide, long = T.table3(types.SimpleNamespace(), C.Config.for_profile("demo"), status, scores, column=column)
    ours = long[long["reproduced"].notna()]
    assert set(ours["data set"]) == {"New-4QAED C"} and len(ours) == 6              # 2 rows x P / R / F1
    from mer_utils.results import paper_values

    c_f1 = paper_values("louro", "3/New-4QAED C").set_index(["row", "metric"])["value"]
    assert ours.set_index(["row", "metric"]).loc[("SVM Baseline", "f1"), "paper"] == c_f1[("SVM Baseline", "f1")]
    assert len(long[long["data set"] == "Original-4QAED"]) == 6                      # shown, with no value of ours
    cols = list(wide.columns)
    assert cols.index("ours F1") == cols.index("New-4QAED C F1") + 3   # ours right after C
    assert "New-4QAED C column" in T.table3_caption(column)
    # the scorecard compares these cells only on that column's data
    sources = {C.COLUMN_SOURCE: column.record}
    assert data_verdict(C.PAPER_DATA["3/New-4QAED C"], sources)[0]
    assert not data_verdict(C.PAPER_DATA["3/Original-4QAED"], sources)[0]
    assert not data_verdict(C.PAPER_DATA["3/New-4QAED B"], sources)[0]
    sub = P.paper_column(df.iloc[:-1])                                              # one clip fewer
    assert sub.name is None and not data_verdict(C.PAPER_DATA["3/New-4QAED C"], {C.COLUMN_SOURCE: sub.record})[0]


def test_load_data_reads_the_released_layout_and_sets_ours_beside_its_column(tmp_path):
    """The released code's New-4QAED layout through the notebook's path: loaded, features beside
    it, SVM run, and Table 3's values of ours beside the C column (as different data: 43 clips)."""
    from mer_utils.context import setup_run

    folder = tmp_path / "New_MERGE_Complete_Data"
    rows, feats = [], []
    rng = np.random.default_rng(0)
    for qi, (q, n) in enumerate({"Q1": 12, "Q2": 11, "Q3": 10, "Q4": 10}.items()):
        for i in range(n):
            song = f"A{qi}{i:03d}"
            write_tone(folder / q / f"{song}.wav", 1.5, sr=16000, freq=200 + 60 * qi + 7 * i)
            rows.append((song, q))
            feats.append([song, *(rng.normal(size=5) + qi), q])
    pd.DataFrame(rows, columns=["SongID", "Quadrant"]).to_csv(folder / "new_pub_complete_targets.csv", index=False)
    pd.DataFrame(feats, columns=["SongID", "F1", "F2", "F3", "F4", "F5", "Quadrant"]).to_csv(
        tmp_path / "top100_features.csv", index=False)
    ctx = setup_run("50_louro_methods", profile="demo", data_root=str(tmp_path))
    cfg = C.Config.for_profile("demo", repeats=1, svm_C=(1.0,), svm_gamma=(0.1,), inner_folds=2)
    data = P.load_data(ctx, cfg)
    assert data.corpus.startswith("New-4QAED C (real)") and data.features is not None
    assert data.column.name is None and data.column.stands_for == "New-4QAED C"
    splits = P.make_splits(ctx, cfg, data)
    status = P.run_rows(ctx, cfg, data, splits, rows=("svm_baseline",))
    scores = T.unit_scores(ctx, status)
    wide, long = T.table3(ctx, cfg, status, scores, column=data.column)
    assert set(long.loc[long["reproduced"].notna(), "data set"]) == {"New-4QAED C"}
    assert wide.loc[0, "units"] == 10 and "do not compare" in T.table3_caption(data.column)


def test_every_table3_row_of_the_paper_has_a_row_here():
    """Each of the paper's Table 3 methods is a row of ours (run, or shown with why not)."""
    from mer_utils.results import paper_values

    for col in C.COLUMNS:
        paper_rows = set(paper_values("louro", f"3/{col}")["row"])
        ours = {R.ROWS[k].table3 for k in R.ALL_ROWS if k != "svm_infold"}
        assert paper_rows == ours, (col, paper_rows ^ ours)
