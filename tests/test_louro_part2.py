"""Methods-comparison paper, part 2: audio augmentation of training clips only, Borderline-SMOTE 2
in a latent space, the autoencoder, the transfer schedule, Won's .pth -> Keras CRNN, the Artists
CNN weight loader, substitution records, and the part-2 paper cells."""
from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from conftest import write_tone
from mer_utils.evaluation import Split
from mer_utils.papers import louro as L
from mer_utils.results import Unit

LABELS = list(L.LABELS)


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
    return L.LouroData(df=df, corpus="tones", real=False, features=None, features_desc="", full_features=None,
                       full_desc="", mel_all=rng.normal(size=(len(q), frames, 128)).astype(np.float32))


# --------------------------------------------------------------------------- augmentation: training clips only
@pytest.mark.parametrize("key", ["tfm", "sb", "rg"])
def test_audio_augmentation_transforms_training_clips_only(tmp_path, monkeypatch, key):
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    from mer_utils import augment_audio

    data = _wav_data(tmp_path)
    ctx = _ctx(tmp_path)
    cfg = L.Config.for_profile("smoke", input_frames=32)
    seen = []
    real = augment_audio.augment_audio

    def spy(y, sr, clip_id, k, **kw):
        seen.append(clip_id)
        return real(y, sr, clip_id, k, **kw)
    monkeypatch.setattr(augment_audio, "augment_audio", spy)

    class Dummy:
        def predict(self, X, batch_size=32, verbose=0):
            return np.full((len(X), 4), 0.25, np.float32)
    trained_on = {}

    def fake_fit(ctx_, cfg_, row_, build, X_tr, y_tr, seed, **kw):
        trained_on["n"] = len(X_tr)
        return Dummy(), {}
    monkeypatch.setattr(L, "_fit_dl", fake_fit)
    split = Split(Unit(0, 0), train=np.arange(0, 8), test=np.arange(8, 12))
    res = L.ROWS[f"baseline_{key}"].fit(ctx, cfg, data, L.ROWS[f"baseline_{key}"])(split)
    train_ids, test_ids = set(data.ids[split.train]), set(data.ids[split.test])
    assert set(seen) == train_ids                         # every training clip, once
    assert not set(seen) & test_ids                       # never a test clip
    assert trained_on["n"] == 2 * len(split.train)        # real + one copy each
    assert list(res.ids) == list(data.ids[split.test])
    # cached: a second unit with the same training clips transforms nothing again
    seen.clear()
    L.ROWS[f"baseline_{key}"].fit(ctx, cfg, data, L.ROWS[f"baseline_{key}"])(split)
    assert seen == []


def test_audio_augmentation_is_seeded_and_leaves_global_random_state():
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    import random

    from mer_utils import augment_audio

    y = np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 0.1
    random.seed(5)
    np.random.seed(5)
    before = (random.random(), np.random.rand())
    random.seed(5)
    np.random.seed(5)
    a, pa = augment_audio.augment_audio(y, 16000, "MT1", "rg", seed=0)
    assert (random.random(), np.random.rand()) == before
    b, _ = augment_audio.augment_audio(y, 16000, "MT1", "rg", seed=0)
    c, _ = augment_audio.augment_audio(y, 16000, "MT1", "rg", seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    ratio = pa["Gain"]["amplitude_ratio"]
    assert 10 ** (-12 / 20) - 1e-6 <= ratio <= 10 ** (12 / 20) + 1e-6     # RG: -12..+12 dB
    assert augment_audio.transform_config("rg")["Gain"] == {"min_gain_db": -12.0, "max_gain_db": 12.0}


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


# --------------------------------------------------------------------------- autoencoder
@pytest.mark.parametrize("frames", [942, 100])
def test_autoencoder_round_trip_shape_and_compression(frames):
    from mer_utils.models.autoencoder import build_autoencoder, latent_shape, scale_11, unscale_11

    ae, enc, dec = build_autoencoder((frames, 128))
    x = np.random.default_rng(0).normal(size=(2, frames, 128)).astype(np.float32)
    xs, c, h = scale_11(x)
    assert xs.min() >= -1 and xs.max() <= 1
    z = enc.predict(xs, verbose=0)
    assert z.shape == (2, int(np.prod(latent_shape((frames, 128)))))
    assert dec.predict(z, verbose=0).shape == x.shape == ae.predict(xs, verbose=0).shape
    if frames == 942:
        assert z.shape[1] == 59 * 8 * 128 == 60416            # the paper's "482k to 60k"
    assert unscale_11(xs, c, h).shape == x.shape


# --------------------------------------------------------------------------- the transfer schedule
def test_transfer_schedule_at_epochs_79_80_100_120():
    from mer_utils.training.schedules import WON_TRANSFER

    got = {e: (WON_TRANSFER.at(e).optimizer, WON_TRANSFER.at(e).learning_rate) for e in (0, 79, 80, 99, 100, 119, 120, 199)}
    assert got == {0: ("adam", 1e-3), 79: ("adam", 1e-3), 80: ("sgd", 1e-4), 99: ("sgd", 1e-4),
                   100: ("sgd", 1e-5), 119: ("sgd", 1e-5), 120: ("sgd", 1e-6), 199: ("sgd", 1e-6)}
    assert [(lo, hi) for _, lo, hi in WON_TRANSFER.segments(200)] == [(0, 80), (80, 100), (100, 120), (120, 200)]
    assert [(lo, hi) for _, lo, hi in WON_TRANSFER.segments(90)] == [(0, 80), (80, 90)]


def test_fit_phases_switches_the_optimizer_at_the_boundaries():
    import keras

    from mer_utils.training.schedules import OptimizerSchedule, Phase, fit_phases

    sched = OptimizerSchedule((Phase(0, "adam", 1e-3), Phase(2, "sgd", 1e-4), Phase(3, "sgd", 1e-5)))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    seen = []

    def compile_fn(m, opt):
        seen.append((type(opt).__name__, float(keras.ops.convert_to_numpy(opt.learning_rate))))
        m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    hist = fit_phases(model, X, np.arange(8) % 2, schedule=sched, epochs=4, batch_size=4, compile_fn=compile_fn)
    assert [s[0] for s in seen] == ["Adam", "SGD", "SGD"]
    assert np.allclose([s[1] for s in seen], [1e-3, 1e-4, 1e-5])
    assert hist["epoch"] == [1, 2, 3, 4] and [p["from"] for p in hist["phases"]] == [0, 2, 3]


# --------------------------------------------------------------------------- Won's CRNN .pth -> Keras
def _torch_crnn(channels=(4, 8, 8, 8), n_class=5):
    """Won et al.'s CRNN module layout (training/model.py), small channels, softmax head."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Conv_2d(nn.Module):
        def __init__(self, i, o, pooling):
            super().__init__()
            self.conv = nn.Conv2d(i, o, 3, padding=1)
            self.bn = nn.BatchNorm2d(o)
            self.relu = nn.ReLU()
            self.mp = nn.MaxPool2d(pooling)

        def forward(self, x):
            return self.mp(self.relu(self.bn(self.conv(x))))

    class CRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.spec_bn = nn.BatchNorm2d(1)
            self.layer1, self.layer2 = Conv_2d(1, channels[0], 2), Conv_2d(channels[0], channels[1], 3)
            self.layer3, self.layer4 = Conv_2d(channels[1], channels[2], 4), Conv_2d(channels[2], channels[3], 4)
            self.layer5 = nn.GRU(channels[3], 32, 2, batch_first=True)
            self.dropout = nn.Dropout(0.5)
            self.dense = nn.Linear(32, n_class)

        def forward(self, x):                                # x: (batch, freq, time)
            x = self.spec_bn(x.unsqueeze(1))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x, _ = self.layer5(x.squeeze(2).permute(0, 2, 1))
            return torch.softmax(self.dense(self.dropout(x[:, -1, :])), -1)

    torch.manual_seed(0)
    m = CRNN()
    for mod in m.modules():                                  # non-trivial batch-norm statistics
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval(), torch


def test_won_pth_converts_to_the_keras_crnn_with_equal_outputs(tmp_path):
    from mer_utils.models.tagging import build_crnn
    from mer_utils.models.won_torch import convert_state_dict, load_state_dict

    m, torch = _torch_crnn()
    sd = dict(m.state_dict())
    sd["spec.mel_scale.fb"] = torch.zeros(3, 3)              # torchaudio buffers in Won's file: skipped
    torch.save(sd, tmp_path / "best_model.pth")
    x = np.random.default_rng(0).standard_normal((2, 96, 150)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    k = build_crnn((150, 96), 5, channels=(4, 8, 8, 8))
    used = convert_state_dict(k, load_state_dict(tmp_path / "best_model.pth"), head=True)
    assert "layer5.weight_hh_l1" in used and "spec.mel_scale.fb" not in used
    out = np.asarray(k.predict(x.transpose(0, 2, 1), verbose=0))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    # head dropped (the paper's new 4-quadrant output): the body still loads into a 4-class CRNN
    k4 = build_crnn((150, 96), 4, channels=(4, 8, 8, 8))
    convert_state_dict(k4, load_state_dict(tmp_path / "best_model.pth"))
    # a missing key is an error, not a silently random layer
    bad = {kk: v for kk, v in load_state_dict(tmp_path / "best_model.pth").items() if kk != "layer3.conv.weight"}
    with pytest.raises(ValueError, match="layer3.conv.weight"):
        convert_state_dict(build_crnn((150, 96), 4, channels=(4, 8, 8, 8)), bad)


# --------------------------------------------------------------------------- Artists CNN
def test_artists_cnn_shape_and_keras2_h5_loader(tmp_path):
    import h5py

    from mer_utils.models.artists_cnn import BLOCKS, build_artists_cnn, load_keras2_h5

    m = build_artists_cnn(n_classes=4, frozen=True)
    assert m.output_shape == (None, 4) and m.get_layer("item_sem").output.shape[-1] == 256
    assert [l.name for l in m.layers if l.trainable and l.weights] == ["quadrants"]
    rng = np.random.default_rng(0)
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:                           # Keras-2 layout: layer groups, weight_names
        names, cin = [], 128
        for i, (filt, k, _) in enumerate(BLOCKS, 1):
            for lname, arrays in ((f"conv1d_{i}", {"kernel:0": rng.normal(size=(k, cin, filt)), "bias:0": rng.normal(size=filt)}),
                                  (f"batch_normalization_{i}", {w: rng.uniform(0.5, 1.5, filt) for w in
                                                                ("gamma:0", "beta:0", "moving_mean:0", "moving_variance:0")})):
                g = f.create_group(lname).create_group(lname)
                for w, a in arrays.items():
                    g.create_dataset(w, data=a.astype(np.float32))
                f[lname].attrs["weight_names"] = [f"{lname}/{w}".encode() for w in arrays]
                names.append(lname.encode())
            cin = filt
        f.create_group("dense_1").attrs["weight_names"] = []
        f.attrs["layer_names"] = names + [b"dense_1"]
    assert load_keras2_h5(m, path) == 10
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(m.get_layer("conv3").get_weights()[0], f["conv1d_3/conv1d_3/kernel:0"][()])


# --------------------------------------------------------------------------- substitutions when weights are absent
def test_rows_without_weights_record_their_substitution(tmp_path, monkeypatch):
    data = _wav_data(tmp_path)
    ctx = _ctx(tmp_path)
    cfg = L.Config.for_profile("smoke", artists_weights=str(tmp_path / "none.h5"),
                               crnn_mtat_weights=str(tmp_path / "none.pth"))
    with pytest.raises(L.NotRunnable, match="weights absent"):
        L.ROWS["artists_cnn"].fit(ctx, cfg, data, L.ROWS["artists_cnn"])
    assert any("Artists CNN" in s["what"] for s in ctx.manifest.substitutions)

    from mer_utils.models import musicnn
    monkeypatch.setattr(musicnn, "ensure_musicnn_weights", lambda *a, **k: (_ for _ in ()).throw(
        musicnn.MusicnnUnavailable("no wheel here")))
    with pytest.raises(L.NotRunnable, match="musicnn MTT stand-in"):
        L.ROWS["crnn_mtat"].fit(ctx, cfg, data, L.ROWS["crnn_mtat"])

    from mer_utils import openl3
    monkeypatch.setattr(openl3, "openl3_available", lambda: (False, "openl3 not importable"))
    import mer_utils.embeddings as E
    monkeypatch.setattr(E, "embed_sequence", lambda df, model, **kw: (
        np.ones((len(df), 5, 3), np.float32), df.reset_index(drop=True), model))
    L.ROWS["openl3_rf"].fit(ctx, cfg, data, L.ROWS["openl3_rf"])
    sub = [s for s in ctx.manifest.substitutions if s["what"].startswith("OpenL3")]
    assert sub and "musicnn" in sub[0]["used"] and sub[0]["reason"] == "openl3 not importable"
    assert "substitute" in data._cache["labels"]["openl3_rf"]


def test_crnn_mtat_substitute_recorded_when_pth_absent(tmp_path):
    from mer_utils.models import musicnn

    try:
        musicnn.ensure_musicnn_weights("MTT_musicnn", download=False)
    except Exception:
        pytest.skip("musicnn MTT weights not in this cache")
    data = _wav_data(tmp_path, seconds=3.5)
    ctx = _ctx(tmp_path)
    cfg = L.Config.for_profile("smoke", crnn_mtat_weights=str(tmp_path / "none.pth"))
    fp = L.ROWS["crnn_mtat"].fit(ctx, cfg, data, L.ROWS["crnn_mtat"])
    assert any(s["what"].startswith("CRNN pre-trained on MagnaTagATune") for s in ctx.manifest.substitutions)
    assert "musicnn MTT" in data._cache["labels"]["crnn_mtat"]
    # smoke trains the head only: the label and the manifest say so, and one unit runs on the
    # frozen body's vectors (computed once, for the patches the units read)
    assert cfg.transfer_train == "head" and "body frozen" in data._cache["labels"]["crnn_mtat"]
    assert any("body frozen" in s["used"] for s in ctx.manifest.substitutions)
    split = types.SimpleNamespace(train=np.arange(0, 12, 2), test=np.arange(1, 12, 2), unit=Unit(0, 0))
    res = fp(split)
    assert res.info["trained"] == "head only" and res.y_score.shape == (6, 4)
    assert np.allclose(res.y_score.sum(1), 1, atol=1e-5)
    body = [v for k, v in data._cache.items() if isinstance(k, tuple) and k[0] == "musicnn_mtt_body"]
    assert len(body) == 1 and body[0].shape[1] == 200 and np.abs(body[0]).sum(1).min() > 0


def test_full_profile_keeps_paper_part2_settings_and_scalings_are_stated():
    full, demo = L.Config.for_profile("full"), L.Config.for_profile("demo")
    assert (full.transfer_train, full.ae_epochs, full.smote_per_class, full.rf_trees,
            full.transfer_patches_per_clip, full.part2_units) == ("all", 100, 1.0, 100, None, None)
    note = L.scale_note(demo, 100)
    assert demo.transfer_train == "head" and "only the new head trained" in note
    assert f"autoencoder {demo.ae_epochs} epoch(s)" in note and f"part-2 rows on the first {demo.part2_units}" in note
    assert "DeepSMOTE 0.5 x" in note
    assert "head" not in L.scale_note(full, 100)


# --------------------------------------------------------------------------- registry and paper cells
def test_part2_rows_registered_with_paper_cells():
    from mer_utils.results import paper_values

    assert set(L.PART2_ROWS) <= set(L.ROWS) and L.ALL_ROWS == L.PART1_ROWS + L.PART2_ROWS
    cells = set(L.PAPER_CELLS)
    for key in L.PART2_ROWS:
        for m in ("precision", "recall", "f1"):
            assert (f"3/{L.DATASET}", L.ROWS[key].table3, m) in cells
    assert ("1", "CRNN MTAT", "batch_size") in cells and ("1", "CRNN MTAT", "learning_rate") not in cells
    assert ("1", "Artists CNN", "input_frames") in cells
    pv = paper_values("louro", f"3/{L.DATASET}").set_index(["row", "metric"])["value"]
    assert pv[("Baseline + DeepSMOTE", "f1")] == pytest.approx(0.607)
    assert pv[("CRNN Pre-trained MTAT", "f1")] == pytest.approx(0.5021)


def test_table1_and_table3_include_part2_rows_with_require_paper():
    cfg = L.Config.for_profile("demo")
    t1 = L.table1(cfg)
    assert {"Baseline + TFM", "Artists CNN", "CRNN MTAT"} <= set(t1["row"])
    status = pd.DataFrame([{"row": k, "status": "not runnable", "reason": "x", "units": 0, "seconds": 0.0,
                            "label": ""} for k in L.PART2_ROWS])
    wide, long = L.table3(types.SimpleNamespace(), cfg, status, pd.DataFrame())
    assert len(wide) == len(L.PART2_ROWS) and wide["paper F1"].notna().all()


# --------------------------------------------------------------------------- the notebook on real 4Q: part-2 rows
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_50_part2_rows_on_the_4q_dev_clips(out_dir):
    import json

    from conftest import FOURQ_DEV, require
    from test_notebooks import NB_DIR, _run

    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label

    root = require(FOURQ_DEV)
    _run(NB_DIR / "50_louro_methods.ipynb", out_dir / "real50p2", profile="smoke", data_root=str(root))
    res = RESULTS_DIR / output_label("smoke", root)
    t3 = pd.read_csv(res / "louro_table3.csv")
    t3.index = t3["method"].str.split(" [", regex=False).str[0]     # the row name without its label
    for key in L.PART2_ROWS:                              # every part-2 row is in Table 3 on real clips
        assert L.ROWS[key].name in t3.index, key
    for key in ("baseline_tfm", "baseline_sb", "baseline_rg", "baseline_deepsmote", "ae_rf", "openl3_rf",
                "crnn_mtat"):                             # these run offline (Artists CNN: weights absent)
        assert t3.loc[L.ROWS[key].name, "units"] == 1, key
        assert np.isfinite(float(str(t3.loc[L.ROWS[key].name, "f1"]).split(" ")[0])), key
    assert "substitute" in t3.loc["CRNN Pre-trained MTAT", "method"]
    manifest = json.loads((res / "manifests" / "50_louro_methods" / "manifest.json").read_text())
    assert any("4q-dev" in v for v in manifest["data_sources"].values())
    assert any(s["what"].startswith("CRNN pre-trained on MagnaTagATune") for s in manifest["substitutions"])


def test_augmentation_cost_has_a_finite_cost_per_transform(tmp_path):
    import audiomentations  # noqa: F401  (a main dependency: missing is a failure, not a skip)
    data = _wav_data(tmp_path, n_per=1, seconds=3.5)
    cost = L.augmentation_cost(_ctx(tmp_path), data, n_clips=1, frames=32)
    assert len(cost) == 4 and cost["transform"].str.startswith("Hybrid").sum() == 1
    num = cost[["transform seconds", "decode + transform + mel seconds"]].to_numpy()
    assert np.isfinite(num).all() and (num > 0).all()
