"""Pretrained embeddings: VGGish front end / loader / postprocessing, the musicnn port, embed_tracks.

The musicnn tests need the ``musicnn==0.1.0`` wheel (found in data/cache/weights/ after
set-up, else fetched into a temporary folder with ``pip download``); they skip with the
reason when it cannot be had. The strongest check compares the Keras port with the
original TF1 graph built from the wheel's own ``models.py``; running that graph needs
``tf-keras`` (and with it a second, full TensorFlow build), so its outputs are frozen in
``tests/data/musicnn_tf1_reference.npz`` by ``tests/data/make_musicnn_tf1_reference.py``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_utils import config as mer_config
from mer_utils import embeddings as emb
from mer_utils.config import Manifest, get_profile
from mer_utils.models import musicnn, vggish

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "data"
SR = 16000

tf = pytest.importorskip("tensorflow", reason="TensorFlow is needed to read TF1 checkpoints")


# --------------------------------------------------------------------------- helpers
def _ctx(tmp_path):
    man = Manifest(notebook="test", profile={}, seed=0, data_root=None)
    return types.SimpleNamespace(manifest=man, cache_dir=tmp_path / "cache", p=get_profile("smoke"))


def _drums(seconds=9.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    y = np.zeros_like(t)
    for k in range(int(seconds / 0.25)):
        s, n = int(k * 0.25 * SR), int(0.2 * SR)
        n = min(n, len(y) - s)
        tt = np.arange(n) / SR
        if k % 2 == 0:   # kick: decaying pitch sweep
            f = 50 + 100 * np.exp(-tt * 30)
            y[s:s + n] += 0.8 * np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-tt * 12)
        else:            # snare / hat: noise burst
            y[s:s + n] += 0.5 * rng.standard_normal(n) * np.exp(-tt / 0.03)
    return (0.9 * y / np.abs(y).max()).astype(np.float32)


def _piano(seconds=9.0):
    t_all = int(SR * seconds)
    y = np.zeros(t_all)
    notes = [261.63, 329.63, 392.0, 523.25, 392.0, 329.63]
    for k in range(int(seconds / 1.5)):
        s, n = int(k * 1.5 * SR), int(1.5 * SR)
        tt = np.arange(n) / SR
        tone = sum((0.6 ** h) * np.sin(2 * np.pi * notes[k % 6] * (h + 1) * tt) for h in range(6))
        y[s:s + n] += tone * np.exp(-tt * 2.5)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def _write_wav(path, y, sr=SR):
    import soundfile as sf

    sf.write(str(path), y, sr, subtype="PCM_16")
    return str(path)


# --------------------------------------------------------------------------- VGGish front end
def test_vggish_mel_matrix_matches_tf_signal():
    """Independent implementation: tf.signal's HTK mel matrix (documented to match mel_features)."""
    ours = vggish.spectrogram_to_mel_matrix(64, 257, 16000, 125.0, 7500.0)
    ref = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125.0, 7500.0, dtype=tf.float64).numpy()
    assert ours.shape == (257, 64)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert np.all(ours[0] == 0)                               # DC bin excluded (HTK)
    centres = vggish.hertz_to_mel(np.array([125.0, 7500.0]))
    assert np.isclose(vggish.hertz_to_mel(700.0), 1127.0 * np.log(2.0))
    assert centres[0] < centres[1]


def test_vggish_stft_matches_librosa_with_periodic_hann():
    import librosa

    y = np.random.default_rng(1).standard_normal(SR * 2)
    ours = vggish.stft_magnitude(y, fft_length=512, hop_length=160, window_length=400)
    # librosa centres the 400-sample window in the 512 frame: shift the signal by 56 samples
    ref = np.abs(librosa.stft(y=np.pad(y, (56, 56)), n_fft=512, hop_length=160, win_length=400,
                              window="hann", center=False)).T
    assert ours.shape == ref.shape == (1 + (len(y) - 400) // 160, 257)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    # periodic, not symmetric, Hann
    w = vggish.periodic_hann(400)
    assert w[0] == 0 and w[-1] > 0 and np.isclose(w[200], 1.0)


def test_vggish_examples_on_known_signals():
    t = np.arange(3 * SR) / SR
    ex = vggish.waveform_to_examples(np.sin(2 * np.pi * 1000 * t), SR)
    assert ex.shape == (3, 96, 64) and ex.dtype == np.float32
    # the loudest band is the one whose centre is closest to 1 kHz
    edges = np.linspace(vggish.hertz_to_mel(125.0), vggish.hertz_to_mel(7500.0), 66)
    centres_hz = 700.0 * (np.exp(edges[1:-1] / 1127.0) - 1.0)
    assert int(np.argmax(ex.mean(axis=(0, 1)))) == int(np.argmin(np.abs(centres_hz - 1000.0)))
    # silence -> log(0 + 0.01) everywhere
    silent = vggish.waveform_to_examples(np.zeros(SR * 2), SR)
    assert silent.shape == (2, 96, 64) and np.allclose(silent, np.log(0.01))
    # example counts: 96 frames need 400 + 95 * 160 = 15,600 samples (0.975 s)
    assert vggish.waveform_to_examples(np.ones(15600) * 0.1, SR).shape[0] == 1
    assert vggish.waveform_to_examples(np.ones(15599) * 0.1, SR).shape[0] == 0
    # stereo (samples, channels) is averaged; other rates are resampled to 16 kHz
    st = np.stack([np.sin(2 * np.pi * 1000 * t)] * 2, axis=1)
    np.testing.assert_allclose(vggish.waveform_to_examples(st, SR), ex, atol=1e-5)
    t22 = np.arange(3 * 22050) / 22050
    ex22 = vggish.waveform_to_examples(np.sin(2 * np.pi * 1000 * t22), 22050)
    assert ex22.shape == (3, 96, 64)
    assert np.argmax(ex22.mean(axis=(0, 1))) == np.argmax(ex.mean(axis=(0, 1)))


# --------------------------------------------------------------------------- VGGish model + loader
def test_vggish_architecture_is_the_official_one():
    m = vggish.build_vggish()
    assert m.count_params() == 72_141_184          # the official VGGish parameter count
    assert tuple(m.output.shape) == (None, 128)
    assert m.get_layer("fc2").activation.__name__ == "linear"
    assert m.get_layer("fc1_2").get_config()["activation"] == "relu"
    shapes = {l.name: tuple(l.weights[0].shape) for l in m.layers if l.weights}
    assert shapes["fc1_1"] == (6 * 4 * 512, 4096) and shapes["conv4_2"] == (3, 3, 512, 512)
    assert set(shapes) == set(vggish.VARIABLE_FOR_LAYER)


def _np_vggish(x, w):
    """Numpy reference of the official TF-Slim graph (conv SAME + ReLU, pool 2x2/2, fc)."""
    def conv(h, k, b):
        kh, kw = k.shape[:2]
        hp = np.pad(h, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
        out = sum(hp[:, i:i + h.shape[1], j:j + h.shape[2], :] @ k[i, j]
                  for i in range(kh) for j in range(kw))
        return np.maximum(out + b, 0)

    def pool(h):
        n, hh, ww, c = h.shape
        return h.reshape(n, hh // 2, 2, ww // 2, 2, c).max(axis=(2, 4))

    h = x[..., None].astype(np.float64)
    for scopes in (["conv1"], ["conv2"], ["conv3/conv3_1", "conv3/conv3_2"],
                   ["conv4/conv4_1", "conv4/conv4_2"]):
        for s in scopes:
            h = conv(h, w[f"vggish/{s}/weights"], w[f"vggish/{s}/biases"])
        h = pool(h)
    h = h.reshape(h.shape[0], -1)
    h = np.maximum(h @ w["vggish/fc1/fc1_1/weights"] + w["vggish/fc1/fc1_1/biases"], 0)
    h = np.maximum(h @ w["vggish/fc1/fc1_2/weights"] + w["vggish/fc1/fc1_2/biases"], 0)
    return h @ w["vggish/fc2/weights"] + w["vggish/fc2/biases"]


def _tiny_vggish_checkpoint(folder: Path, widths=(4, 6, 8, 8), fc=16, v1=True):
    """A small TF1 checkpoint with the official variable names (+ a global_step, as a Saver adds)."""
    rng = np.random.default_rng(0)
    c1, c2, c3, c4 = widths
    shapes = {"conv1": (3, 3, 1, c1), "conv2": (3, 3, c1, c2), "conv3/conv3_1": (3, 3, c2, c3),
              "conv3/conv3_2": (3, 3, c3, c3), "conv4/conv4_1": (3, 3, c3, c4),
              "conv4/conv4_2": (3, 3, c4, c4), "fc1/fc1_1": (6 * 4 * c4, fc), "fc1/fc1_2": (fc, fc),
              "fc2": (fc, 128)}
    values = {}
    for s, shp in shapes.items():
        fan_in = int(np.prod(shp[:-1]))
        values[f"vggish/{s}/weights"] = (rng.standard_normal(shp) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        values[f"vggish/{s}/biases"] = (0.1 * rng.standard_normal(shp[-1])).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    g = tf.Graph()
    with g.as_default():
        for name, v in values.items():
            tf.compat.v1.get_variable(name, initializer=v)
        tf.compat.v1.get_variable("global_step", initializer=np.int64(7))
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            version = tf.compat.v1.train.SaverDef.V1 if v1 else tf.compat.v1.train.SaverDef.V2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tf.compat.v1.train.Saver(write_version=version).save(
                    sess, str(folder / vggish.CHECKPOINT_FILE), write_meta_graph=False)
    return values


@pytest.mark.parametrize("v1", [True, False], ids=["V1-single-file", "V2"])
def test_vggish_loader_puts_weights_in_the_right_layers(tmp_path, v1):
    values = _tiny_vggish_checkpoint(tmp_path / "ckpt", v1=v1)
    npz = vggish.convert_checkpoint(tmp_path / "ckpt" / vggish.CHECKPOINT_FILE, tmp_path / "v.npz")
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    assert set(arrays) == set(values)                     # only vggish/... variables kept
    model = vggish.build_vggish(conv_widths=(4, 6, 8, 8), fc_width=16)
    used = vggish.load_weights(model, arrays)
    assert used == set(values)
    x = np.random.default_rng(3).normal(-2, 1.5, size=(3, 96, 64)).astype(np.float32)
    got = np.asarray(model.predict(x, verbose=0))
    ref = _np_vggish(x, arrays)
    assert got.shape == (3, 128)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # a wrong mapping would not pass: swapping two same-shaped layers changes the output
    swapped = dict(arrays)
    swapped["vggish/conv3/conv3_2/weights"], swapped["vggish/fc1/fc1_2/weights"] = (
        arrays["vggish/conv3/conv3_2/weights"], arrays["vggish/fc1/fc1_2/weights"].T.copy())
    vggish.load_weights(model, swapped)
    assert np.abs(np.asarray(model.predict(x, verbose=0)) - ref).max() > 1e-3


def test_vggish_loader_rejects_incomplete_or_mismatched_checkpoints(tmp_path):
    values = _tiny_vggish_checkpoint(tmp_path / "ckpt")
    model = vggish.build_vggish(conv_widths=(4, 6, 8, 8), fc_width=16)
    missing = {k: v for k, v in values.items() if k != "vggish/conv2/biases"}
    with pytest.raises(ValueError, match="vggish/conv2/biases"):
        vggish.load_weights(model, missing)
    with pytest.raises(ValueError, match="shape mismatch"):
        vggish.load_weights(vggish.build_vggish(conv_widths=(4, 6, 8, 8), fc_width=32), values)
    extra = dict(values, **{"vggish/fc3/weights": np.zeros((2, 2), np.float32)})
    with pytest.raises(ValueError, match="not used"):
        vggish.load_weights(model, extra)


def test_vggish_postprocessor(tmp_path):
    pca = tmp_path / "pca.npz"
    np.savez(pca, pca_eigen_vectors=np.eye(128), pca_means=np.zeros(128))
    post = vggish.Postprocessor(pca)
    e = np.zeros((2, 128))
    e[0, :3] = [-3.0, 2.0, 0.0]
    e[1, :3] = [1.0, -1.0, 2.5]
    q = post.postprocess(e)
    assert q.dtype == np.uint8 and q.shape == (2, 128)
    assert q[0, :3].tolist() == [0, 255, 127]        # clip to [-2, 2], map to 0..255, floor
    assert q[1, :3].tolist() == [191, 63, 255]
    # PCA is applied before quantisation: a permutation matrix permutes the outputs
    perm = np.eye(128)[::-1]
    np.savez(pca, pca_eigen_vectors=perm, pca_means=np.full(128, 0.5))
    q2 = vggish.Postprocessor(pca).postprocess(e)
    assert q2[0, -1] == 0 and q2[0, -2] == int((1.5 + 2) * 255 / 4)
    with pytest.raises(ValueError):
        post.postprocess(np.zeros((2, 64)))


def test_vggish_files_offline_error_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_OFFLINE", "1")
    monkeypatch.delenv("MER_VGGISH_DIR", raising=False)
    with pytest.raises(vggish.VGGishUnavailable) as err:
        vggish.ensure_vggish_files(weights_dir=tmp_path / "w")
    msg = str(err.value)
    assert "vggish_model.ckpt" in msg and "vggish_pca_params.npz" in msg
    assert str(tmp_path / "w") in msg and vggish.CHECKPOINT_URL in msg


def test_vggish_files_download_verify_and_user_path(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_OFFLINE", raising=False)
    monkeypatch.delenv("MER_VGGISH_DIR", raising=False)
    src = tmp_path / "mirror"
    _tiny_vggish_checkpoint(src)
    np.savez(src / vggish.PCA_FILE, pca_eigen_vectors=np.eye(128), pca_means=np.zeros(128))
    md5 = {n: hashlib.md5((src / n).read_bytes()).hexdigest()
           for n in (vggish.CHECKPOINT_FILE, vggish.PCA_FILE)}
    monkeypatch.setattr(vggish, "CHECKPOINT_URL", (src / vggish.CHECKPOINT_FILE).as_uri())
    monkeypatch.setattr(vggish, "PCA_URL", (src / vggish.PCA_FILE).as_uri())
    # a mirror serving a different file is rejected by the published checksum
    with pytest.raises(vggish.VGGishUnavailable, match="MD5"):
        vggish.ensure_vggish_files(weights_dir=tmp_path / "bad")
    monkeypatch.setattr(vggish, "MD5", md5)
    npz, pca = vggish.ensure_vggish_files(weights_dir=tmp_path / "w")
    assert npz == tmp_path / "w" / "vggish" / "vggish_model.npz" and npz.exists()
    assert pca == tmp_path / "w" / vggish.PCA_FILE
    with np.load(npz) as z:
        assert "vggish/fc2/weights" in z.files
    # a user-supplied folder is used as it is (no download needed)
    monkeypatch.setenv("MER_OFFLINE", "1")
    npz2, pca2 = vggish.ensure_vggish_files(src, weights_dir=tmp_path / "w2")
    assert pca2 == src / vggish.PCA_FILE and npz2.exists()


# --------------------------------------------------------------------------- musicnn wheel
@pytest.fixture(scope="session")
def musicnn_weights(tmp_path_factory):
    """Folder with musicnn/<checkpoint>.npz for all four checkpoints, or a skip."""
    candidates = [Path(mer_config.CACHE_DIR) / "weights", REPO / "data" / "cache" / "weights"]
    wheel = next((d / musicnn.WHEEL_NAME for d in candidates if (d / musicnn.WHEEL_NAME).exists()), None)
    if wheel is not None:
        wheel = musicnn.ensure_musicnn_wheel(wheel.parent, download=False)
    else:
        try:
            wheel = musicnn.ensure_musicnn_wheel(tmp_path_factory.mktemp("wheel"))
        except musicnn.MusicnnUnavailable as exc:
            pytest.skip(f"musicnn wheel absent and not downloadable: {str(exc).splitlines()[0]}")
    out = tmp_path_factory.mktemp("weights")
    for ck in musicnn.CHECKPOINTS:
        musicnn.convert_checkpoint(wheel, ck, out / "musicnn" / f"{ck}.npz")
    return types.SimpleNamespace(wheel=wheel, dir=out)


@pytest.fixture()
def musicnn_default_dir(musicnn_weights, monkeypatch):
    """Point the default weights folder (data/cache/weights) at the converted test weights."""
    monkeypatch.setattr(musicnn, "_default_weights_dir", lambda: musicnn_weights.dir)
    return musicnn_weights.dir


def test_musicnn_wheel_missing_offline_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_OFFLINE", "1")
    with pytest.raises(musicnn.MusicnnUnavailable) as err:
        musicnn.ensure_musicnn_wheel(tmp_path)
    assert "pip download --no-deps musicnn==0.1.0" in str(err.value) and str(tmp_path) in str(err.value)
    bad = tmp_path / musicnn.WHEEL_NAME
    bad.write_bytes(b"not a wheel")
    with pytest.raises(musicnn.MusicnnUnavailable, match="sha256"):
        musicnn.ensure_musicnn_wheel(tmp_path)


@pytest.mark.parametrize("checkpoint", sorted(musicnn.CHECKPOINTS))
def test_musicnn_every_checkpoint_variable_is_consumed(musicnn_weights, checkpoint):
    import tempfile

    with np.load(musicnn_weights.dir / "musicnn" / f"{checkpoint}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    model = musicnn.build(checkpoint)
    used = musicnn.load_npz_weights(model, arrays)
    assert used == {k for k in arrays if not k.startswith("__")}
    # what the conversion dropped is optimizer state only
    with tempfile.TemporaryDirectory() as tmp:
        prefix = musicnn._extract_checkpoint(musicnn_weights.wheel, checkpoint, Path(tmp))
        everything = musicnn.read_tf_checkpoint(prefix, keep_optimizer=True)
    dropped = set(everything) - used
    assert dropped and all(n.endswith(("/Adam", "/Adam_1")) or n in ("beta1_power", "beta2_power")
                           for n in dropped)
    n_bn = sum(1 for k in used if k.endswith("moving_variance"))
    assert n_bn == (11 if "musicnn" in checkpoint else 6)   # batch-norm statistics loaded too
    # the moving statistics are real (not the 0/1 initial values)
    assert not np.allclose(arrays["batch_normalization_1/moving_variance"], 1.0)


# The original TF1 graph (the wheel's own models.py under tf.compat.v1.layers) needs tf-keras,
# which would put a second, full TensorFlow build into the environment; its outputs on a fixed
# input are frozen in tests/data/ by the script beside them (rerun it to regenerate).
REFERENCE = REPO / "tests" / "data" / "musicnn_tf1_reference.npz"


def _reference_script():
    path = REPO / "tests" / "data" / "make_musicnn_tf1_reference.py"
    spec = importlib.util.spec_from_file_location("make_musicnn_tf1_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_musicnn_reference_input_is_still_the_port_front_end():
    """The frozen input was made by log_mel + patches from the script's synthetic mix."""
    with np.load(REFERENCE) as ref:
        x = ref["input"]
    assert x.shape == (3, 187, 96) and x.dtype == np.float32
    # float16 rounding inside log_mel may flip a last bit between librosa builds: ~4e-4 in log10
    np.testing.assert_allclose(_reference_script().reference_input(), x, rtol=0, atol=1e-3)


@pytest.mark.backend
def test_musicnn_port_matches_the_original_tf1_graph(musicnn_weights):
    """The Keras 3 port vs the wheel's own models.py run as a TF1 graph, restored from the same
    checkpoints: every output of all four checkpoints (large maps on a regular grid)."""
    gen = _reference_script()
    with np.load(REFERENCE) as z:
        ref = {k: z[k] for k in z.files}
    meta = json.loads(str(ref["__meta__"]))
    assert meta["wheel_sha256"] == musicnn.WHEEL_SHA256        # made from the same checkpoints
    x = ref["input"]
    report = {}
    for ck in musicnn.CHECKPOINTS:
        model = musicnn.load_model(ck, npz=musicnn_weights.dir / "musicnn" / f"{ck}.npz")
        out = model.predict(x, verbose=0)
        keys = [k for k in ref if k.startswith(ck + "/")]
        assert len(keys) == (9 if "musicnn" in ck else 6)
        for key in keys:
            b = gen.squeeze_nonbatch(out[key.split("/", 1)[1]])
            assert b.shape == tuple(ref[f"__shape__/{key}"]), key
            a, b = ref[key], gen.thin(b, ref[f"__step__/{key}"])
            assert np.abs(a).max() > 0.1                       # not a degenerate all-zero output
            diff = float(np.abs(a - b).max())
            report[key] = diff
            assert diff <= 1e-5 * float(np.abs(a).max()) + 5e-4, (key, diff)
    assert max(report.values()) < 1e-3
    print("max abs diff per output:", json.dumps(report))


def test_musicnn_input_representation():
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(30 * SR) / SR)).astype(np.float32)
    spec = musicnn.log_mel(y)
    assert spec.shape == (1 + 30 * SR // 256, 96) and spec.dtype == np.float32
    assert musicnn.patches(spec).shape == (10, 187, 96)       # non-overlapping 3-s patches
    assert musicnn.patches(spec[:100]).shape == (1, 187, 96)   # < 3 s: repeat-padded
    # loud input: no float16 overflow (inf) as in the original extractor
    loud = musicnn.log_mel((0.99 * np.sign(y)).astype(np.float32))
    assert np.isfinite(loud).all() and loud.max() > np.log10(10000 * 6.55 + 1)
    with pytest.raises(ValueError, match="16000"):
        musicnn.log_mel(y, sr=22050)


def test_musicnn_tags_are_plausible_on_distinct_signals(musicnn_default_dir):
    drums = dict(emb.predict_tags(_drums(), SR, "musicnn_mtt", top=None))
    piano = dict(emb.predict_tags(_piano(), SR, "musicnn_mtt", top=None))
    top_d = sorted(drums, key=drums.get, reverse=True)[:3]
    top_p = sorted(piano, key=piano.get, reverse=True)[:3]
    assert set(top_d) <= {"techno", "beat", "electronic", "beats", "drums", "dance", "fast", "loud"}, top_d
    assert "piano" in top_p or "slow" in top_p, top_p
    assert not set(top_d) & set(top_p)
    assert piano["piano"] > 3 * drums["piano"] and drums["beat"] > 3 * piano["beat"]


def _real_4q():
    root = SHARED / "4q-dev"
    if not root.exists():
        pytest.skip(f"real 4Q clips not found at {root}")
    return root


@pytest.mark.realdata
def test_musicnn_msd_tags_separate_real_4q_quadrants(musicnn_default_dir):
    """Q2 (angry/tense) previews should sound more 'metal/punk/hard rock' than Q4 (calm) ones."""
    from mer_utils.audio import load_audio

    root = _real_4q()
    heavy = {"metal", "heavy metal", "hard rock", "punk"}
    score = {}
    for q in ("Q2", "Q4"):
        files = sorted((root / q).glob("*.mp3"))[:3]
        vals = []
        for f in files:
            tags = dict(emb.predict_tags(load_audio(f, sr=SR, duration=9.6), SR, "musicnn_msd", top=None))
            vals.append(sum(tags[h] for h in heavy))
        score[q] = float(np.mean(vals))
    assert score["Q2"] > 2 * score["Q4"], score


# --------------------------------------------------------------------------- embed_tracks
def _corpus(tmp_path):
    d = tmp_path / "wav"
    d.mkdir()
    rows = [("drums", _write_wav(d / "drums.wav", _drums(7.0))),
            ("piano", _write_wav(d / "piano.wav", _piano(7.0))),
            ("silent", _write_wav(d / "silent.wav", np.zeros(SR * 4, np.float32)))]
    bad = d / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    rows.append(("corrupt", str(bad)))
    return pd.DataFrame(rows, columns=["track_id", "path"])


def test_embed_tracks_vggish_absent_falls_back_visibly(tmp_path, monkeypatch, musicnn_default_dir):
    monkeypatch.setenv("MER_OFFLINE", "1")
    monkeypatch.delenv("MER_VGGISH_DIR", raising=False)
    monkeypatch.setattr(vggish, "_default_weights_dir", lambda: tmp_path / "no-weights")
    df = _corpus(tmp_path)
    ctx = _ctx(tmp_path)
    with pytest.raises(vggish.VGGishUnavailable, match="vggish_model.ckpt"):
        emb.embed_tracks(df, "vggish", ctx=ctx, fallback=None, n_jobs=1, progress=False)
    with pytest.warns(UserWarning, match="using musicnn_msd"):
        E, kept, used = emb.embed_tracks(df, "vggish", ctx=ctx, fallback="musicnn_msd", n_jobs=1,
                                         progress=False)
    assert used == "musicnn_msd"
    assert [s["what"] for s in ctx.manifest.substitutions] == ["VGGish embedding"]
    assert "musicnn_msd" in ctx.manifest.substitutions[0]["used"]
    assert "vggish" in ctx.manifest.substitutions[0]["reason"].lower()
    # bad files are skipped and listed, never NaN rows
    assert kept["track_id"].tolist() == ["drums", "piano"]
    assert E.shape == (2, 753) and E.dtype == np.float32 and np.isfinite(E).all()
    skipped = " ".join(s["item"] + s["reason"] for s in ctx.manifest.skipped)
    assert "silent" in skipped and "corrupt" in skipped
    assert np.abs(E[0] - E[1]).max() > 0.1


def test_embed_tracks_musicnn_cache_and_layers(tmp_path, monkeypatch, musicnn_default_dir):
    df = _corpus(tmp_path).iloc[:2]
    ctx = _ctx(tmp_path)
    E, kept, used, frames = emb.embed_tracks(df, "musicnn_mtt", ctx=ctx, n_jobs=1, progress=False,
                                             return_frames=True)
    assert used == "musicnn_mtt" and E.shape == (2, 753)
    assert [f.shape for f in frames] == [(2, 753), (2, 753)]       # 7 s -> two 3-s patches
    np.testing.assert_allclose(E, np.stack([f.mean(axis=0) for f in frames]), rtol=1e-6)
    # same as embedding the waveform directly
    from mer_utils.audio import load_audio

    direct = emb.embed_audio(load_audio(df.path[0], sr=SR), SR, "musicnn_mtt")
    np.testing.assert_allclose(frames[0], direct, rtol=1e-4, atol=1e-4)
    # second run: served from the cache, the front end is not called
    def boom(*a, **k):
        raise AssertionError("front end called on a cached track")
    monkeypatch.setattr(emb, "_frontend_file", boom)
    E2, kept2, _ = emb.embed_tracks(df, "musicnn_mtt", ctx=ctx, n_jobs=1, progress=False)
    np.testing.assert_array_equal(E, E2)
    # another layer is another cache entry
    monkeypatch.undo()
    monkeypatch.setattr(musicnn, "_default_weights_dir", lambda: musicnn_default_dir)
    P, _, _ = emb.embed_tracks(df, "musicnn_mtt", ctx=ctx, n_jobs=1, progress=False, layer="penultimate")
    assert P.shape == (2, 200)
    V, _, _ = emb.embed_tracks(df, "musicnn_msd_vgg", ctx=ctx, n_jobs=1, progress=False)
    assert V.shape == (2, 128) and np.isfinite(V).all()
    with pytest.raises(ValueError, match="track_id"):
        emb.embed_tracks(df.drop(columns="track_id"), "musicnn_mtt", ctx=ctx)


def _tiny_vggish_weights(tmp_path, monkeypatch):
    """A tiny official-layout VGGish checkpoint + PCA file as a user path, offline, with the
    builder narrowed to match; returns (folder, checkpoint values)."""
    import functools

    src = tmp_path / "user-weights"
    values = _tiny_vggish_checkpoint(src)
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.standard_normal((128, 128)))
    np.savez(src / vggish.PCA_FILE, pca_eigen_vectors=q, pca_means=0.1 * rng.standard_normal(128))
    monkeypatch.setenv("MER_OFFLINE", "1")
    monkeypatch.setattr(vggish, "_default_weights_dir", lambda: tmp_path / "w")
    monkeypatch.setattr(vggish, "build_vggish",
                        functools.partial(vggish.build_vggish, conv_widths=(4, 6, 8, 8), fc_width=16))
    emb._load_network.cache_clear()
    return src, values


def test_embed_tracks_vggish_path_with_user_supplied_weights(tmp_path, monkeypatch):
    """The whole VGGish path of embed_tracks (front end -> network -> PCA/quantisation ->
    mean), on a tiny checkpoint with the official layout given as a user path."""
    src, values = _tiny_vggish_weights(tmp_path, monkeypatch)
    df = _corpus(tmp_path).iloc[:2]
    ctx = _ctx(tmp_path)
    E, kept, used, frames = emb.embed_tracks(df, "vggish", ctx=ctx, weights_path=src, n_jobs=1,
                                             progress=False, return_frames=True)
    emb._load_network.cache_clear()
    assert used == "vggish" and not ctx.manifest.substitutions
    assert E.shape == (2, 128) and [f.shape[0] for f in frames] == [7, 7]   # 7 s -> 7 examples
    assert frames[0].min() >= 0 and frames[0].max() <= 255
    assert np.all(frames[0] == np.round(frames[0]))                         # 8-bit values
    # reference: numpy network + official postprocessing on the same examples
    from mer_utils.audio import load_audio

    x = vggish.waveform_to_examples(load_audio(df.path[0], sr=SR), SR)
    ref = vggish.Postprocessor(src / vggish.PCA_FILE).postprocess(_np_vggish(x, values))
    assert np.mean(frames[0] == ref) > 0.98          # up to float round-off at quantisation edges
    np.testing.assert_allclose(E[0], ref.mean(axis=0), atol=1.0)


# --------------------------------------------------------------------------- the 1407-example sequence
def test_vggish_sequence_of_29_1_s_has_1407_examples():
    """The multi-label paper's "1407 x 128": examples every 2 frames over the first 29.1 s.

    29.1 s = 465,600 samples -> 1 + (465,600 - 400) // 160 = 2,908 frames of 10 ms;
    1 + (2,908 - 96) // 2 = 1,407 examples of 96 frames.
    """
    y = 0.1 * np.random.default_rng(0).standard_normal(int(29.1 * SR)).astype(np.float32)
    ex = vggish.waveform_to_examples(y, SR, hop_frames=2)
    assert ex.shape == (1407, 96, 64)
    assert emb.sequence_length(29.1, 0.02) == 1407
    assert emb.sequence_length(29.1, 0.96) == vggish.waveform_to_examples(y, SR).shape[0] == 30
    # example k starts at frame 2k of the same log-mel: consecutive examples overlap by 94 frames
    np.testing.assert_array_equal(ex[1, :94], ex[0, 2:])
    np.testing.assert_array_equal(vggish.waveform_to_examples(y, SR)[1], ex[48])
    with pytest.raises(ValueError, match="whole number"):
        emb.sequence_length(29.1, 0.015)


def test_embed_sequence_vggish_path_batched_and_cached(tmp_path, monkeypatch):
    """With (tiny, official-layout) VGGish weights: one 1407 x 128 sequence per track of the
    network + PCA + 8-bit values, the same as the examples run one by one; cached per track;
    shorter clips zero-padded to 29.1 s; the mean over the sequence is the track vector."""
    src, values = _tiny_vggish_weights(tmp_path, monkeypatch)
    d = tmp_path / "wav"
    d.mkdir()
    df = pd.DataFrame([("drums", _write_wav(d / "drums.wav", _drums(30.0))),
                       ("piano", _write_wav(d / "piano.wav", _piano(12.0)))], columns=["track_id", "path"])
    ctx = _ctx(tmp_path)
    try:
        S, kept, used = emb.embed_sequence(df, "vggish", ctx=ctx, weights_path=src, n_jobs=1,
                                           progress=False, chunk_size=1)
        assert used == "vggish" and not ctx.manifest.substitutions
        assert S.shape == (2, 1407, 128) and S.dtype == np.float32
        assert S.min() >= 0 and S.max() <= 255 and np.all(S == np.round(S))
        # reference: the numpy network on the examples of the first 29.1 s, one by one
        from mer_utils.audio import load_audio

        y = load_audio(df.path[0], sr=SR)[: int(29.1 * SR)]
        x = vggish.waveform_to_examples(y, SR, hop_frames=2)
        ref = vggish.Postprocessor(src / vggish.PCA_FILE).postprocess(_np_vggish(x[::100], values))
        assert np.mean(S[0, ::100] == ref) > 0.97               # float round-off at quantisation edges
        # the 12-s clip is zero-padded: its tail examples are those of silence, all equal
        assert np.all(S[1, -500:] == S[1, -1])
        # cached: a second call computes nothing
        monkeypatch.setattr(emb, "_sequence_frontend_file",
                            lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
        S2, _, _ = emb.embed_sequence(df, "vggish", ctx=_ctx(tmp_path), weights_path=src, n_jobs=1,
                                      progress=False)
        np.testing.assert_array_equal(S, S2)
    finally:
        emb._load_network.cache_clear()


def test_musicnn_window_pool_and_backend_match_the_network(musicnn_default_dir):
    """One pass over a clip + windowed pooling + the back end in numpy = the network on a
    patch, when the window is the whole patch (the substitute sequence's building block)."""
    y = _drums(3.0)
    x = musicnn.log_mel(y)[: musicnn.N_FRAMES]
    net = emb.get_model("musicnn_msd")
    out = net.predict(x[None], verbose=0)
    mid = musicnn.midend_map(out)[0]
    assert mid.shape == (musicnn.N_FRAMES, 753)
    np.testing.assert_allclose(mid.max(axis=0), out["max_pool"][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mid.mean(axis=0), out["mean_pool"][0], rtol=1e-5, atol=1e-5)
    mx, mn = musicnn.window_pool(mid, np.array([musicnn.N_FRAMES // 2]))
    np.testing.assert_allclose(musicnn.backend_penultimate(net, mx, mn)[0], out["penultimate"][0],
                               rtol=1e-4, atol=1e-4)
    # windows are clipped at the edges: a 5-frame window at frame 0 pools frames 0..2
    mx0, mn0 = musicnn.window_pool(mid, np.array([0, 10]), width=5)
    np.testing.assert_allclose(mx0[0], mid[:3].max(axis=0))
    np.testing.assert_allclose(mn0[1], mid[8:13].mean(axis=0), rtol=1e-5)


def test_embed_sequence_falls_back_to_musicnn_at_the_same_hop(tmp_path, monkeypatch, musicnn_default_dir):
    """Offline (no VGGish weights): the recorded musicnn substitute, 1407 x 200 per track."""
    monkeypatch.setenv("MER_OFFLINE", "1")
    monkeypatch.setattr(vggish, "_default_weights_dir", lambda: tmp_path / "no-weights")
    emb._load_network.cache_clear()
    d = tmp_path / "wav"
    d.mkdir()
    df = pd.DataFrame([("drums", _write_wav(d / "drums.wav", _drums(29.1))),
                       ("silent", _write_wav(d / "silent.wav", np.zeros(SR * 4, np.float32)))],
                      columns=["track_id", "path"])
    ctx = _ctx(tmp_path)
    with pytest.raises(vggish.VGGishUnavailable):
        emb.embed_sequence(df, "vggish", ctx=ctx, fallback=None, n_jobs=1, progress=False)
    with pytest.warns(UserWarning, match="using musicnn_msd"):
        S, kept, used = emb.embed_sequence(df, "vggish", ctx=ctx, n_jobs=1, progress=False)
    assert used == "musicnn_msd" and kept["track_id"].tolist() == ["drums"]
    assert S.shape == (1, 1407, 200) and np.isfinite(S).all()
    assert [s["what"] for s in ctx.manifest.substitutions] == ["VGGish embedding sequence (1407 x 128)"]
    assert "1407 x 200" in ctx.manifest.substitutions[0]["used"]
    assert "silent" in " ".join(s["item"] for s in ctx.manifest.skipped)
    assert "substitute" in emb.describe_sequence(used)
    # window centres = the VGGish example centres (k x 20 ms + 0.4875 s) in musicnn frames (16 ms)
    c = emb._musicnn_centres(1407, 0.02)
    assert c[0] == round(7800 / 256) and c[-1] == round((1406 * 320 + 7800) / 256)
    # the sequence varies along time on drums and equals sequence_from_audio
    assert np.abs(np.diff(S[0], axis=0)).max() > 0
    from mer_utils.audio import load_audio

    direct = emb.sequence_from_audio(load_audio(df.path[0], sr=SR), SR, "musicnn_msd")
    np.testing.assert_allclose(S[0], direct, rtol=2e-3, atol=2e-2)      # the cache keeps float16
