"""musicnn (Pons & Serra 2019) rebuilt in Keras 3, loading the checkpoints of the PyPI wheel.

The wheel ``musicnn==0.1.0`` ships four pre-trained music-tagging checkpoints in TF1
format: ``MTT_musicnn`` and ``MSD_musicnn`` (the musically motivated CNN, 50 tags of
MagnaTagATune / the Million Song Dataset) and ``MTT_vgg`` / ``MSD_vgg`` (a small VGG-like
baseline). Its metadata pins an ancient numpy, so we never ``import musicnn``; instead:

1. :func:`ensure_musicnn_wheel` finds ``musicnn-0.1.0-py3-none-any.whl`` in the weights
   folder (``data/cache/weights/``) or fetches it with
   ``python -m pip download --no-deps musicnn==0.1.0 -d data/cache/weights`` (a set-up
   step; offline it fails with that command in the message) and checks its sha256;
2. :func:`convert_checkpoint` unzips one checkpoint from the wheel and reads its variables
   *once* with a numpy reader of TF's checkpoint format (:mod:`mer_utils.models.tf_checkpoint`;
   no TensorFlow needed, so a torch/JAX-only GPU box converts them too), saving the model variables (optimizer slots
   dropped) as a plain ``.npz`` of named arrays;
3. :func:`build_musicnn` / :func:`build_vgg` rebuild the networks of the wheel's
   ``musicnn/models.py`` with ``keras.layers``/``keras.ops`` only, and
   :func:`load_npz_weights` loads the arrays by their TF1 variable names (batch-norm
   moving statistics included), checking every shape and that every variable is used.
   Inference therefore needs only the npz and runs under any Keras backend.

Input (the wheel's ``extractor.batch_data``): 16 kHz mono, ``librosa`` mel spectrogram
with n_fft 512, hop 256, 96 bands (power 2, Slaney mel), cast to float16, then
``log10(10000 x + 1)``; non-overlapping patches of 187 frames (3 s). See
:func:`log_mel` and :func:`patches`.

Verification (tests/test_embeddings.py): the wheel's own ``models.py``, read as text and
run as the original TF1 graph (``tf.compat.v1``, via tf_keras; its outputs frozen in
``tests/data/`` by ``make_musicnn_tf1_reference.py``), restored from the same
checkpoint, agrees with this port on every output of all four checkpoints to float32
round-off (max abs diff 2.6e-4 on activations up to ~60; logits <= 8e-6); every model
variable of each checkpoint is consumed (only Adam slots / beta powers are dropped); and
tag predictions are plausible (drum loop -> techno/beat/electronic, piano-like tones ->
slow/piano; real 4Q Q2 previews score far higher on metal/punk/hard rock than Q4 ones).

Outputs of :func:`build_musicnn` (names as in the wheel's ``extractor``): ``taggram``
(sigmoid tag probabilities), ``logits``, ``mean_pool`` and ``max_pool`` (753-d temporal
pooling of the mid-end feature map), ``penultimate`` (200-d, the back end's dense layer
after batch norm).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from mer_utils.download import sha256sum

__all__ = [
    "SR", "FFT_SIZE", "FFT_HOP", "N_MELS", "N_FRAMES", "MTT_LABELS", "MSD_LABELS",
    "CHECKPOINTS", "WHEEL_NAME", "WHEEL_SHA256", "MusicnnUnavailable",
    "ensure_musicnn_wheel", "convert_checkpoint", "ensure_musicnn_weights",
    "log_mel", "patches", "build_musicnn", "build_vgg", "build", "load_npz_weights",
    "load_model", "labels_for",
]

# --------------------------------------------------------------------------- constants
# musicnn/configuration.py of the wheel
SR = 16000
FFT_HOP = 256
FFT_SIZE = 512
N_MELS = 96
#: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1 (extractor.py)
N_FRAMES = 187

MTT_LABELS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock',
              'fast', 'piano', 'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian',
              'opera', 'male', 'singing', 'vocals', 'no vocals', 'harpsichord', 'loud', 'quiet',
              'flute', 'woman', 'male vocal', 'no vocal', 'pop', 'soft', 'sitar', 'solo', 'man',
              'classic', 'choir', 'voice', 'new age', 'dance', 'male voice', 'female vocal',
              'beats', 'harp', 'cello', 'no voice', 'weird', 'country', 'metal', 'female voice',
              'choral']
MSD_LABELS = ['rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance',
              '00s', 'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout',
              'male vocalists', 'classic rock', 'soul', 'indie rock', 'Mellow', 'electronica',
              '80s', 'folk', '90s', 'chill', 'instrumental', 'punk', 'oldies', 'blues',
              'hard rock', 'ambient', 'acoustic', 'experimental', 'female vocalist', 'guitar',
              'Hip-Hop', '70s', 'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk',
              'electro', 'heavy metal', 'Progressive rock', '60s', 'rnb', 'indie pop', 'sad',
              'House', 'happy']

#: checkpoints in the wheel: architecture, labels, and the score its experiment.result reports
CHECKPOINTS = {
    "MTT_musicnn": {"arch": "musicnn", "labels": "MTT",
                    "reported": "MagnaTagATune test ROC-AUC 0.9067, PR-AUC 0.3831"},
    "MSD_musicnn": {"arch": "musicnn", "labels": "MSD",
                    "reported": "MSD test ROC-AUC 0.8802, PR-AUC 0.2891"},
    "MTT_vgg": {"arch": "vgg", "labels": "MTT",
                "reported": "MagnaTagATune test ROC-AUC 0.9030, PR-AUC 0.3823"},
    "MSD_vgg": {"arch": "vgg", "labels": "MSD",
                "reported": "MSD test ROC-AUC 0.8768, PR-AUC 0.2819"},
}

WHEEL_NAME = "musicnn-0.1.0-py3-none-any.whl"
#: sha256 of the wheel as published on PyPI (pip also checks PyPI's own hash on download)
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
SETUP_COMMAND = "python -m pip download --no-deps musicnn==0.1.0 -d {dest}"
#: bump when the conversion or the port changes its output (invalidates caches)
PORT_VERSION = 1

_OPTIMIZER_SUFFIXES = ("/Adam", "/Adam_1")
_OPTIMIZER_NAMES = ("beta1_power", "beta2_power")


class MusicnnUnavailable(FileNotFoundError):
    """The musicnn wheel / weights are not here and cannot be fetched; says what to run."""


def _default_weights_dir() -> Path:
    from mer_utils.config import CACHE_DIR

    return Path(CACHE_DIR) / "weights"


def labels_for(checkpoint: str) -> list[str]:
    return list(MTT_LABELS if CHECKPOINTS[checkpoint]["labels"] == "MTT" else MSD_LABELS)


# --------------------------------------------------------------------------- fetching
def ensure_musicnn_wheel(dest_dir: str | os.PathLike | None = None, *, download: bool = True,
                         timeout: float = 300.0) -> Path:
    """Path of the verified ``musicnn-0.1.0`` wheel in ``dest_dir`` (default data/cache/weights/).

    When the wheel is absent and ``download`` is true, runs
    ``python -m pip download --no-deps musicnn==0.1.0 -d <dest_dir>`` (pip talks to the
    package index only; nothing is installed). Raises :class:`MusicnnUnavailable` with the
    exact command to run when that fails (offline) or is not allowed.
    """
    dest = Path(dest_dir) if dest_dir is not None else _default_weights_dir()
    wheel = dest / WHEEL_NAME
    cmd_text = SETUP_COMMAND.format(dest=dest)
    if not wheel.exists():
        if not download or os.environ.get("MER_OFFLINE") == "1":
            raise MusicnnUnavailable(
                f"The musicnn wheel (pre-trained music-tagging checkpoints) is not at {wheel}. "
                f"Fetch it once with:\n    {cmd_text}")
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "musicnn==0.1.0", "-d", str(dest)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise MusicnnUnavailable(
                f"Could not run pip to fetch the musicnn wheel ({exc}). Run by hand:\n    {cmd_text}"
            ) from exc
        if out.returncode != 0 or not wheel.exists():
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            raise MusicnnUnavailable(
                "Could not download the musicnn wheel (no access to the package index?).\n"
                f"  pip said: {' | '.join(tail)}\n"
                f"  Run this where the index is reachable and copy the wheel to {dest}:\n"
                f"    {cmd_text}")
    got = sha256sum(wheel)
    if got != WHEEL_SHA256:
        raise MusicnnUnavailable(
            f"{wheel} has sha256 {got}, expected {WHEEL_SHA256} (corrupt or a different build). "
            f"Delete it and run:\n    {cmd_text}")
    return wheel


def _extract_checkpoint(wheel: Path, checkpoint: str, out_dir: Path) -> str:
    """Unzip ``musicnn/<checkpoint>/.index|.data-*`` and return the TF checkpoint prefix."""
    prefix_in_zip = f"musicnn/{checkpoint}/"
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist()
                 if n.startswith(prefix_in_zip) and (n.endswith(".index") or ".data-" in n)]
        if not names:
            raise MusicnnUnavailable(f"{wheel} holds no checkpoint {checkpoint!r}")
        for n in names:
            target = out_dir / checkpoint / Path(n).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(n))
    # the checkpoint files are named ".index" / ".data-00000-of-00001": the prefix is the folder
    return str(out_dir / checkpoint) + os.sep


def read_tf_checkpoint(prefix: str, *, keep_optimizer: bool = False) -> dict[str, np.ndarray]:
    """All variables of a TF1 checkpoint as numpy arrays (conversion only).

    Read with the numpy reader :mod:`mer_utils.models.tf_checkpoint` (no TensorFlow needed:
    the wheel's checkpoints are in the V2 file format); TensorFlow's reader is used only for
    a file that reader does not handle, when TensorFlow is installed.
    """
    from mer_utils.models import tf_checkpoint

    arrays = tf_checkpoint.read_any(prefix, MusicnnUnavailable,
                                    "Reading it needs TensorFlow once (pip install -e .[tensorflow]); "
                                    "afterwards the converted .npz is used without it.")
    return {name: arrays[name] for name in sorted(arrays)
            if keep_optimizer or not (name.endswith(_OPTIMIZER_SUFFIXES) or name in _OPTIMIZER_NAMES)}


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from mer_utils.models.tf_checkpoint import atomic_savez

    atomic_savez(path, arrays)


def convert_checkpoint(wheel: str | os.PathLike, checkpoint: str, out_npz: str | os.PathLike) -> Path:
    """Read one checkpoint of the wheel (numpy reader) and save its model variables as npz."""
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"Unknown musicnn checkpoint {checkpoint!r}; choose from {sorted(CHECKPOINTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = _extract_checkpoint(Path(wheel), checkpoint, Path(tmp))
        arrays = read_tf_checkpoint(prefix)
    arrays["__port_version__"] = np.asarray(PORT_VERSION)
    out = Path(out_npz)
    _atomic_savez(out, arrays)
    return out


def ensure_musicnn_weights(checkpoint: str = "MSD_musicnn", *,
                           weights_dir: str | os.PathLike | None = None,
                           download: bool = True) -> Path:
    """Path of ``<weights_dir>/musicnn/<checkpoint>.npz``, converting it from the wheel once."""
    wdir = Path(weights_dir) if weights_dir is not None else _default_weights_dir()
    npz = wdir / "musicnn" / f"{checkpoint}.npz"
    if npz.exists():
        return npz
    wheel = ensure_musicnn_wheel(wdir, download=download)
    return convert_checkpoint(wheel, checkpoint, npz)


# --------------------------------------------------------------------------- input
def log_mel(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """musicnn input representation, (frames, 96) float32, as ``extractor.batch_data``.

    ``librosa.feature.melspectrogram`` (n_fft 512, hop 256, 96 bands, power 2, Slaney mel)
    with ``pad_mode="reflect"`` (librosa's default when the models were trained; librosa
    >= 0.10 defaults to zero padding), rounded to float16 as the original does, then
    ``log10(10000 x + 1)`` computed in float32.

    One deliberate deviation: the wheel's extractor evaluates ``10000 * x`` on the float16
    array, which overflows to inf for mel power above 6.55 (with numpy's current casting
    rules; ~0.1-5 % of the bins of mastered music at 16 kHz), and the network then returns
    NaN. Here the float16-rounded values are promoted to float32 first, which is identical
    wherever the original is finite.
    """
    import librosa

    if sr != SR:
        raise ValueError(f"musicnn expects {SR} Hz audio, got {sr} Hz; resample first "
                         f"(mer_utils.audio.load_audio(path, sr={SR}))")
    mel = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=SR,
                                         n_fft=FFT_SIZE, hop_length=FFT_HOP, n_mels=N_MELS,
                                         pad_mode="reflect").T
    mel = np.minimum(mel, np.finfo(np.float16).max).astype(np.float16).astype(np.float32)
    return np.log10(10000 * mel + 1).astype(np.float32)


def patches(spec: np.ndarray, n_frames: int = N_FRAMES, hop: int | None = None) -> np.ndarray:
    """Cut (frames, bands) into (n, n_frames, bands) patches (default: non-overlapping).

    As the original, a trailing partial patch is dropped. A clip shorter than one patch
    (< 3 s) is repeat-padded to one patch (the training set-up's ``pad_short:
    repeat-pad``), where the original extractor would fail.
    """
    hop = hop or n_frames
    if spec.shape[0] < n_frames:
        reps = int(np.ceil(n_frames / max(1, spec.shape[0])))
        spec = np.tile(spec, (reps, 1))[:n_frames]
    starts = range(0, spec.shape[0] - n_frames + 1, hop)
    return np.stack([spec[s:s + n_frames] for s in starts]).astype(np.float32)


# --------------------------------------------------------------------------- Keras model
def _layers():
    import keras
    from keras import layers, ops

    class ReduceMax(layers.Layer):
        """max over one axis (keras.ops), dropping it."""

        def __init__(self, axis, **kw):
            super().__init__(**kw)
            self.axis = axis

        def call(self, x):
            return ops.max(x, axis=self.axis)

        def get_config(self):
            return {**super().get_config(), "axis": self.axis}

    class ReduceMean(ReduceMax):
        def call(self, x):
            return ops.mean(x, axis=self.axis)

    class InterleavePool(layers.Layer):
        """flatten(concat([max_pool[..., None], mean_pool[..., None]], -1)) as in the TF1 code."""

        def call(self, inputs):
            mx, mn = inputs
            st = ops.stack([mx, mn], axis=-1)
            return ops.reshape(st, (-1, st.shape[1] * 2))

    return keras, layers, ops, ReduceMax, ReduceMean, InterleavePool


def build_musicnn(num_classes: int = 50, *, n_mels: int = N_MELS, n_frames: int | None = None,
                  num_filt_frontend: float = 1.6, num_filt_midend: int = 64,
                  num_units_backend: int = 200, name: str = "musicnn"):
    """``build_musicnn`` of the wheel's models.py (inference mode), layer names = TF1 scopes.

    Front end: batch norm on the input; timbral filters 7 x int(0.4*96) and 7 x int(0.7*96)
    (204 each, time-padded by 3, 'valid'), temporal filters 128/64/32 x 1 (51 each, TF
    'same' padding = 63/64, 31/32, 15/16 zeros), each ReLU -> batch norm -> max over
    frequency. Mid end: three 7-tap convolutions (64) over the 561 front-end channels with
    batch norm and residual connections. Back end: max and mean over time of the 753-d
    dense-connected map, interleaved (max_0, mean_0, max_1, ...), batch norm, dense 200
    ReLU, batch norm (= ``penultimate``), dense ``num_classes`` (= ``logits``).
    ``n_frames=None`` accepts any patch length (the model is fully convolutional over time).
    """
    keras, layers, ops, ReduceMax, ReduceMean, InterleavePool = _layers()

    x_in = keras.Input(shape=(n_frames, n_mels), name="log_mel")
    x = layers.Reshape((-1, n_mels, 1))(x_in) if n_frames is None else layers.Reshape((n_frames, n_mels, 1))(x_in)
    x = layers.BatchNormalization(epsilon=1e-3, name="batch_normalization")(x)

    counter = {"conv": 0, "bn": 1}

    def conv_name():
        i = counter["conv"]
        counter["conv"] += 1
        return "conv2d" if i == 0 else f"conv2d_{i}"

    def bn_name():
        i = counter["bn"]
        counter["bn"] += 1
        return f"batch_normalization_{i}"

    nf = int(num_filt_frontend * 128)
    feats = []
    # timbral blocks (f74, f77)
    pad7 = layers.ZeroPadding2D(padding=((3, 3), (0, 0)))(x)
    for frac in (0.4, 0.7):
        c = layers.Conv2D(nf, (7, int(frac * n_mels)), padding="valid", activation="relu",
                          name=conv_name())(pad7)
        c = layers.BatchNormalization(epsilon=1e-3, name=bn_name())(c)
        feats.append(ReduceMax(axis=2)(c))
    # temporal blocks (s1, s2, s3), TF 'same' padding made explicit
    ns = int(num_filt_frontend * 32)
    for k in (128, 64, 32):
        p = layers.ZeroPadding2D(padding=(((k - 1) // 2, k - 1 - (k - 1) // 2), (0, 0)))(x)
        c = layers.Conv2D(ns, (k, 1), padding="valid", activation="relu", name=conv_name())(p)
        c = layers.BatchNormalization(epsilon=1e-3, name=bn_name())(c)
        feats.append(ReduceMax(axis=2)(c))
    front = layers.Concatenate(axis=-1, name="frontend")(feats)
    timbral = layers.Concatenate(axis=-1, name="timbral")(feats[:2])
    temporal = layers.Concatenate(axis=-1, name="temporal")(feats[2:])

    # mid end: 7-tap convs spanning all channels (Conv2D over the full width == Conv1D)
    def mid_conv(h):
        h = layers.ZeroPadding1D(padding=(3, 3))(h)
        h = layers.Conv1D(num_filt_midend, 7, padding="valid", activation="relu", name=conv_name())(h)
        return layers.BatchNormalization(epsilon=1e-3, name=bn_name())(h)

    cnn1 = mid_conv(front)
    cnn2 = layers.Add(name="cnn2")([mid_conv(cnn1), cnn1])
    cnn3 = layers.Add(name="cnn3")([mid_conv(cnn2), cnn2])
    mid = layers.Concatenate(axis=-1, name="midend")([front, cnn1, cnn2, cnn3])

    # back end
    max_pool = ReduceMax(axis=1, name="max_pool")(mid)
    mean_pool = ReduceMean(axis=1, name="mean_pool")(mid)
    flat = InterleavePool(name="flat_pool")([max_pool, mean_pool])
    flat = layers.BatchNormalization(epsilon=1e-3, name=bn_name())(flat)
    dense = layers.Dense(num_units_backend, activation="relu", name="dense")(flat)
    penultimate = layers.BatchNormalization(epsilon=1e-3, name=bn_name())(dense)
    logits = layers.Dense(num_classes, name="dense_1")(penultimate)
    taggram = layers.Activation("sigmoid", name="taggram")(logits)
    outputs = {"taggram": taggram, "logits": logits, "timbral": timbral, "temporal": temporal,
               "cnn1": cnn1, "cnn2": cnn2, "cnn3": cnn3, "mean_pool": mean_pool,
               "max_pool": max_pool, "penultimate": penultimate}
    return keras.Model(x_in, outputs, name=name)


def build_vgg(num_classes: int = 50, *, n_mels: int = N_MELS, n_frames: int = N_FRAMES,
              num_filters: int = 128, name: str = "musicnn_vgg"):
    """``vgg`` of the wheel's models.py (inference mode): 5 x (conv 3x3 'same' ReLU, batch
    norm, max pool [4,1]/2, [2,2]/2 x3, [4,4]/4), flatten, dense. Outputs ``pool1``..``pool5``
    as the original extractor plus ``logits``/``taggram``."""
    keras, layers, ops, *_ = _layers()
    x_in = keras.Input(shape=(n_frames, n_mels), name="log_mel")
    x = layers.Reshape((n_frames, n_mels, 1))(x_in)
    x = layers.BatchNormalization(epsilon=1e-3, name="batch_normalization")(x)
    pools = {}
    pool_cfg = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]
    for i, (ps, st) in enumerate(pool_cfg, start=1):
        x = layers.Conv2D(num_filters, (3, 3), padding="same", activation="relu", name=f"{i}CNN")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"batch_normalization_{i}")(x)
        x = layers.MaxPooling2D(pool_size=ps, strides=st, padding="valid", name=f"pool{i}")(x)
        pools[f"pool{i}"] = x
    flat = layers.Flatten()(x)
    logits = layers.Dense(num_classes, name="dense")(flat)
    taggram = layers.Activation("sigmoid", name="taggram")(logits)
    return keras.Model(x_in, {"taggram": taggram, "logits": logits, **pools}, name=name)


def build(checkpoint: str):
    arch = CHECKPOINTS[checkpoint]["arch"]
    n = len(labels_for(checkpoint))
    if arch == "musicnn":
        return build_musicnn(n, name=checkpoint)
    return build_vgg(n, name=checkpoint)


_VAR_FOR_WEIGHT = {
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "Conv2D": ("kernel", "bias"), "Conv1D": ("kernel", "bias"), "Dense": ("kernel", "bias"),
}


def load_npz_weights(model, arrays) -> set[str]:
    """Set ``model``'s weights from TF1-named arrays (``<layer name>/<kernel|bias|gamma|...>``).

    Every layer with weights must find all its variables with matching shapes (a Conv1D
    kernel (k, in, out) accepts the TF1 Conv2D kernel (k, in, 1, out) it was built from),
    and every model variable in ``arrays`` must be used; both raise ``ValueError``
    otherwise. Returns the set of variable names consumed.
    """
    from mer_utils.models.tf_checkpoint import set_weights_from

    plan = []
    for layer in model.layers:
        if not layer.weights:
            continue
        kind = type(layer).__name__
        if kind not in _VAR_FOR_WEIGHT:
            raise ValueError(f"layer {layer.name} ({kind}) has weights but no checkpoint mapping")
        plan.append((layer, [f"{layer.name}/{var}" for var in _VAR_FOR_WEIGHT[kind]][:len(layer.weights)]))

    def conv2d_as_conv1d(layer, a, want):
        if type(layer).__name__ == "Conv1D" and a.ndim == 4 and a.shape[2] == 1 and \
                (a.shape[0], a.shape[1], a.shape[3]) == want:
            return a[:, :, 0, :]
        return a
    return set_weights_from(plan, arrays, {k for k in arrays if not k.startswith("__")}, adapt=conv2d_as_conv1d)


def load_model(checkpoint: str = "MSD_musicnn", *, weights_dir: str | os.PathLike | None = None,
               npz: str | os.PathLike | None = None, download: bool = True):
    """Keras model with the wheel's trained weights (converting them once if needed)."""
    path = Path(npz) if npz is not None else ensure_musicnn_weights(
        checkpoint, weights_dir=weights_dir, download=download)
    model = build(checkpoint)
    with np.load(path) as z:
        load_npz_weights(model, {k: z[k] for k in z.files})
    return model


# --------------------------------------------------------------------------- windowed sequence
#: the three back-end layers between the pooled 1,506-d vector and ``penultimate``
BACKEND_LAYERS = ("batch_normalization_9", "dense", "batch_normalization_10")


def midend_map(outputs: dict) -> np.ndarray:
    """The (batch, frames, 753) map that ``max_pool`` / ``mean_pool`` reduce over time,
    rebuilt from a musicnn model's outputs: [timbral (408), temporal (153), cnn1, cnn2,
    cnn3 (64 each)], the order of ``build_musicnn``'s ``midend`` concatenation."""
    return np.concatenate([np.asarray(outputs[k], dtype=np.float32)
                           for k in ("timbral", "temporal", "cnn1", "cnn2", "cnn3")], axis=-1)


def backend_penultimate(model, max_pool: np.ndarray, mean_pool: np.ndarray) -> np.ndarray:
    """The back end of ``model`` (inference mode) from pooled vectors to ``penultimate``.

    ``max_pool`` / ``mean_pool``: (n, 753) max and mean over a window of the mid-end map.
    Interleaved as the TF1 code does (max_0, mean_0, max_1, ...), batch norm, dense 200
    ReLU, batch norm -> (n, 200); numpy with the model's weights, so any number of windows
    of any length can be pooled from one pass of the network over a whole clip.
    """
    x = np.stack([max_pool, mean_pool], axis=-1).reshape(len(max_pool), -1).astype(np.float64)

    def bn(h, layer):
        gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
        return (h - mean) / np.sqrt(var + layer.epsilon) * gamma + beta

    bn1, dense, bn2 = (model.get_layer(n) for n in BACKEND_LAYERS)
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in dense.get_weights())
    h = np.maximum(bn(x, bn1) @ kernel + bias, 0.0)
    return bn(h, bn2).astype(np.float32)


def window_pool(mid: np.ndarray, centres: np.ndarray, width: int = N_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Max and mean over time of ``mid`` (frames, channels) in windows of ``width`` frames
    centred on frames ``centres`` (clipped at the clip's edges) -> two (len(centres), channels)."""
    from scipy.ndimage import maximum_filter1d

    mid = np.asarray(mid, dtype=np.float32)
    T = mid.shape[0]
    half = width // 2
    centres = np.clip(np.asarray(centres, dtype=int), 0, T - 1)
    # 'nearest' repeats edge frames, which cannot change a maximum over the clipped window
    mx = maximum_filter1d(mid, size=2 * half + 1, axis=0, mode="nearest")[centres]
    lo = np.maximum(centres - half, 0)
    hi = np.minimum(centres + half + 1, T)
    cs = np.concatenate([np.zeros((1, mid.shape[1]), np.float64), np.cumsum(mid, axis=0, dtype=np.float64)])
    mean = (cs[hi] - cs[lo]) / (hi - lo)[:, None]
    return mx, mean.astype(np.float32)
