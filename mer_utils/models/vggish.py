"""VGGish (Hershey et al. 2017, the AudioSet embedding network) in Keras 3.

A port of the official TF-Slim release (``tensorflow/models/research/audioset/vggish``):

* :func:`waveform_to_examples` — the exact numpy front end of ``vggish_input.py`` /
  ``mel_features.py``: 16 kHz mono; STFT magnitude with a 25 ms (400-sample) *periodic*
  Hann window, FFT 512 (next power of two), 10 ms (160-sample) hop, no centring/padding;
  64 mel bands between 125 and 7,500 Hz on the HTK mel scale
  (``1127 ln(1 + f/700)``, triangles in the mel domain, DC bin zeroed); ``log(mel + 0.01)``;
  non-overlapping 0.96-s examples of 96 frames (a trailing partial example is dropped).
  Resampling to 16 kHz uses soxr HQ (the official code uses resampy; both are
  band-limited, so results differ only by resampler ripple).
* :func:`build_vggish` — the architecture of ``vggish_slim.define_vggish_slim``: conv 3x3
  (64) - pool - conv (128) - pool - 2 x conv (256) - pool - 2 x conv (512) - pool, all
  convs 'SAME' + ReLU, pools 2x2/2; flatten; fc 4096 ReLU, fc 4096 ReLU, fc2 128
  *linear* (the official embedding has no final ReLU since 2020). 72,141,184 parameters.
* :func:`convert_checkpoint` — reads the official TF1 checkpoint ``vggish_model.ckpt``
  (variables ``vggish/conv1/weights``, ``vggish/conv3/conv3_1/biases``,
  ``vggish/fc1/fc1_2/weights``, ``vggish/fc2/weights`` ...) once with TensorFlow's
  checkpoint reader into a plain ``.npz``; :func:`load_weights` sets the Keras layers from
  it by name, checking shapes and that every variable is used.
* :class:`Postprocessor` — ``vggish_postprocess.py``: PCA (``vggish_pca_params.npz``:
  ``pca_eigen_vectors`` 128x128, ``pca_means`` 128) + clip to [-2, 2] + 8-bit quantisation,
  which is the format of the released AudioSet embeddings.
* :func:`ensure_vggish_files` — finds the two files in a user-supplied folder or
  ``data/cache/weights/``, else downloads them from the official location (checksum
  verified) through :func:`mer_utils.download.fetch`; offline it raises
  :class:`VGGishUnavailable`, whose message says where to put the files. Nothing here ever
  substitutes an untrained network.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = [
    "SAMPLE_RATE", "NUM_FRAMES", "NUM_BANDS", "EMBEDDING_SIZE", "CHECKPOINT_URL", "PCA_URL",
    "VGGishUnavailable", "hertz_to_mel", "spectrogram_to_mel_matrix", "periodic_hann", "frame",
    "stft_magnitude", "log_mel_spectrogram", "waveform_to_examples", "build_vggish",
    "convert_checkpoint", "load_weights", "Postprocessor", "ensure_vggish_files", "load_model",
    "VARIABLE_FOR_LAYER",
]

# --------------------------------------------------------------------------- vggish_params.py
SAMPLE_RATE = 16000
STFT_WINDOW_LENGTH_SECONDS = 0.025
STFT_HOP_LENGTH_SECONDS = 0.010
NUM_MEL_BINS = NUM_BANDS = 64
MEL_MIN_HZ = 125
MEL_MAX_HZ = 7500
LOG_OFFSET = 0.01
EXAMPLE_WINDOW_SECONDS = 0.96
EXAMPLE_HOP_SECONDS = 0.96
NUM_FRAMES = 96
EMBEDDING_SIZE = 128
QUANTIZE_MIN_VAL = -2.0
QUANTIZE_MAX_VAL = +2.0
PCA_EIGEN_VECTORS_NAME = "pca_eigen_vectors"
PCA_MEANS_NAME = "pca_means"

CHECKPOINT_URL = "https://storage.googleapis.com/audioset/vggish_model.ckpt"
PCA_URL = "https://storage.googleapis.com/audioset/vggish_pca_params.npz"
CHECKPOINT_FILE = "vggish_model.ckpt"
PCA_FILE = "vggish_pca_params.npz"
#: sha256 of the official files. Not pinned: the files cannot be reached from the machine
#: this was written on, and no published sha256 was found. Put the values here once known;
#: until then the published MD5 sums below are verified after every download.
SHA256 = {CHECKPOINT_FILE: None, PCA_FILE: None}
#: MD5 sums of the official files as published by the OpenMIC-2018 project (vggish/params.py)
MD5 = {CHECKPOINT_FILE: "d1c7011e6366aa34176bb05c705e31a8",
       PCA_FILE: "c80cae691033abe7c7ecd11ea39fc834"}
#: bump when the port changes its output (invalidates embedding caches)
PORT_VERSION = 1


class VGGishUnavailable(FileNotFoundError):
    """The official VGGish checkpoint / PCA parameters are absent and cannot be fetched."""


# --------------------------------------------------------------------------- mel_features.py
_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(frequencies_hertz):
    """HTK mel scale: 1127 ln(1 + f / 700)."""
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + (np.asarray(frequencies_hertz) / _MEL_BREAK_FREQUENCY_HERTZ))


def spectrogram_to_mel_matrix(num_mel_bins: int = 20, num_spectrogram_bins: int = 129,
                              audio_sample_rate: float = 8000, lower_edge_hertz: float = 125.0,
                              upper_edge_hertz: float = 3800.0) -> np.ndarray:
    """(num_spectrogram_bins, num_mel_bins) matrix M with mel = spectrogram @ M.

    Triangles linear in the *mel* domain, band edges equally spaced in mel between the
    lower and upper edge; the DC bin gets zero weight (HTK).
    """
    nyquist_hertz = audio_sample_rate / 2.0
    if lower_edge_hertz < 0.0:
        raise ValueError(f"lower_edge_hertz {lower_edge_hertz:.1f} must be >= 0")
    if lower_edge_hertz >= upper_edge_hertz:
        raise ValueError(f"lower_edge_hertz {lower_edge_hertz:.1f} >= upper_edge_hertz {upper_edge_hertz:.1f}")
    if upper_edge_hertz > nyquist_hertz:
        raise ValueError(f"upper_edge_hertz {upper_edge_hertz:.1f} is greater than Nyquist {nyquist_hertz:.1f}")
    spectrogram_bins_hertz = np.linspace(0.0, nyquist_hertz, num_spectrogram_bins)
    spectrogram_bins_mel = hertz_to_mel(spectrogram_bins_hertz)
    band_edges_mel = np.linspace(hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz),
                                 num_mel_bins + 2)
    mel_weights_matrix = np.empty((num_spectrogram_bins, num_mel_bins))
    for i in range(num_mel_bins):
        lower_edge_mel, center_mel, upper_edge_mel = band_edges_mel[i:i + 3]
        lower_slope = (spectrogram_bins_mel - lower_edge_mel) / (center_mel - lower_edge_mel)
        upper_slope = (upper_edge_mel - spectrogram_bins_mel) / (upper_edge_mel - center_mel)
        mel_weights_matrix[:, i] = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    mel_weights_matrix[0, :] = 0.0
    return mel_weights_matrix


def periodic_hann(window_length: int) -> np.ndarray:
    """Periodic Hann window (as the official code; not numpy's symmetric ``np.hanning``)."""
    return 0.5 - (0.5 * np.cos(2 * np.pi / window_length * np.arange(window_length)))


def frame(data: np.ndarray, window_length: int, hop_length: int) -> np.ndarray:
    """(num_frames, window_length, ...) view; num_frames = 1 + (N - window) // hop, no padding."""
    num_samples = data.shape[0]
    num_frames = 1 + int(np.floor((num_samples - window_length) / hop_length))
    if num_frames < 1:
        return np.zeros((0, window_length) + data.shape[1:], dtype=data.dtype)
    shape = (num_frames, window_length) + data.shape[1:]
    strides = (data.strides[0] * hop_length,) + data.strides
    return np.lib.stride_tricks.as_strided(data, shape=shape, strides=strides, writeable=False)


def stft_magnitude(signal: np.ndarray, fft_length: int, hop_length: int, window_length: int) -> np.ndarray:
    frames = frame(signal, window_length, hop_length)
    window = periodic_hann(window_length)
    return np.abs(np.fft.rfft(frames * window, int(fft_length)))


def log_mel_spectrogram(data: np.ndarray, audio_sample_rate: float = 8000, log_offset: float = 0.0,
                        window_length_secs: float = 0.025, hop_length_secs: float = 0.010,
                        **kwargs) -> np.ndarray:
    """log(mel(|STFT|) + log_offset), (frames, num_mel_bins); kwargs go to the mel matrix."""
    window_length_samples = int(round(audio_sample_rate * window_length_secs))
    hop_length_samples = int(round(audio_sample_rate * hop_length_secs))
    fft_length = 2 ** int(np.ceil(np.log(window_length_samples) / np.log(2.0)))
    spectrogram = stft_magnitude(data, fft_length=fft_length, hop_length=hop_length_samples,
                                 window_length=window_length_samples)
    mel = spectrogram @ spectrogram_to_mel_matrix(num_spectrogram_bins=spectrogram.shape[1],
                                                  audio_sample_rate=audio_sample_rate, **kwargs)
    return np.log(mel + log_offset)


def waveform_to_examples(data: np.ndarray, sample_rate: int, *, hop_frames: int | None = None
                         ) -> np.ndarray:
    """VGGish input examples (n, 96, 64) float32 from a waveform in [-1, 1].

    2-D input (samples, channels) is averaged to mono; other rates are resampled to 16 kHz
    (soxr HQ). A clip shorter than 0.975 s yields zero examples.

    ``hop_frames``: frames (of 10 ms) between example starts; ``None`` = 96, the official
    non-overlapping 0.96-s examples. ``hop_frames=2`` gives the overlapping sequence the
    multi-label paper's "1407 x 128" implies: 29.1 s -> 1 + floor((29,100 - 25) / 10) =
    2,908 frames -> 1 + floor((2,908 - 96) / 2) = 1,407 examples.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim > 1:
        data = np.mean(data, axis=1)
    if sample_rate != SAMPLE_RATE:
        from mer_utils.audio import resample

        data = resample(data.astype(np.float32), sample_rate, SAMPLE_RATE).astype(np.float64)
    log_mel = log_mel_spectrogram(data, audio_sample_rate=SAMPLE_RATE, log_offset=LOG_OFFSET,
                                  window_length_secs=STFT_WINDOW_LENGTH_SECONDS,
                                  hop_length_secs=STFT_HOP_LENGTH_SECONDS,
                                  num_mel_bins=NUM_MEL_BINS, lower_edge_hertz=MEL_MIN_HZ,
                                  upper_edge_hertz=MEL_MAX_HZ)
    features_sample_rate = 1.0 / STFT_HOP_LENGTH_SECONDS
    example_window_length = int(round(EXAMPLE_WINDOW_SECONDS * features_sample_rate))
    example_hop_length = (int(round(EXAMPLE_HOP_SECONDS * features_sample_rate))
                          if hop_frames is None else int(hop_frames))
    if example_hop_length < 1:
        raise ValueError(f"hop_frames must be >= 1, not {hop_frames}")
    if log_mel.shape[0] < example_window_length:
        return np.zeros((0, example_window_length, NUM_MEL_BINS), dtype=np.float32)
    return np.ascontiguousarray(frame(log_mel, example_window_length, example_hop_length),
                                dtype=np.float32)


# --------------------------------------------------------------------------- model
#: Keras layer name -> TF1 variable scope of the official checkpoint
VARIABLE_FOR_LAYER = {
    "conv1": "vggish/conv1", "conv2": "vggish/conv2",
    "conv3_1": "vggish/conv3/conv3_1", "conv3_2": "vggish/conv3/conv3_2",
    "conv4_1": "vggish/conv4/conv4_1", "conv4_2": "vggish/conv4/conv4_2",
    "fc1_1": "vggish/fc1/fc1_1", "fc1_2": "vggish/fc1/fc1_2", "fc2": "vggish/fc2",
}


def build_vggish(*, conv_widths=(64, 128, 256, 512), fc_width: int = 4096,
                 embedding_size: int = EMBEDDING_SIZE, name: str = "vggish"):
    """The VGGish network (defaults = the official sizes). Input (batch, 96, 64) log-mel
    examples; output (batch, embedding_size) pre-activation embeddings (``vggish/embedding``).
    Smaller widths exist only so tests can build a tiny checkpoint with the same layout."""
    import keras
    from keras import layers

    w1, w2, w3, w4 = conv_widths
    x_in = keras.Input(shape=(NUM_FRAMES, NUM_BANDS), name="input_features")
    x = layers.Reshape((NUM_FRAMES, NUM_BANDS, 1))(x_in)

    def conv(h, n, nm):
        return layers.Conv2D(n, (3, 3), strides=1, padding="same", activation="relu", name=nm)(h)

    def pool(h, nm):
        return layers.MaxPooling2D(pool_size=(2, 2), strides=2, padding="same", name=nm)(h)

    x = pool(conv(x, w1, "conv1"), "pool1")
    x = pool(conv(x, w2, "conv2"), "pool2")
    x = pool(conv(conv(x, w3, "conv3_1"), w3, "conv3_2"), "pool3")
    x = pool(conv(conv(x, w4, "conv4_1"), w4, "conv4_2"), "pool4")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(fc_width, activation="relu", name="fc1_1")(x)
    x = layers.Dense(fc_width, activation="relu", name="fc1_2")(x)
    x = layers.Dense(embedding_size, activation=None, name="fc2")(x)
    return keras.Model(x_in, x, name=name)


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``vggish/...`` variables of a TF1 checkpoint (V1 single file or V2 prefix).

    A V2 prefix is read by the numpy reader :mod:`mer_utils.models.tf_checkpoint` (no
    TensorFlow); the official release is a V1 single file, which needs TensorFlow's reader
    once (``pip install -e .[tensorflow]``) — or carry the converted npz to the machine.
    """
    from mer_utils.models import tf_checkpoint

    arrays = tf_checkpoint.read_any(path, VGGishUnavailable,
                                    "Converting a V1 TF checkpoint needs TensorFlow once (pip install -e "
                                    ".[tensorflow]), or copy the converted vggish npz here from a machine "
                                    "that has it; afterwards the .npz is used without TensorFlow.")
    return {n: arrays[n] for n in sorted(arrays) if n.startswith("vggish/")}


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from mer_utils.models.tf_checkpoint import atomic_savez

    atomic_savez(path, arrays)


def convert_checkpoint(ckpt: str | os.PathLike, out_npz: str | os.PathLike) -> Path:
    """Official TF1 checkpoint -> npz of named arrays (``vggish/conv1/weights`` ...)."""
    arrays = read_checkpoint(ckpt)
    if not arrays:
        raise ValueError(f"{ckpt} holds no 'vggish/...' variables: not a VGGish checkpoint")
    out = Path(out_npz)
    _atomic_savez(out, arrays)
    return out


def load_weights(model, arrays) -> set[str]:
    """Set the Keras layers from TF1-named arrays; checks shapes and that all are used."""
    from mer_utils.models.tf_checkpoint import set_weights_from

    plan = [(model.get_layer(name), [f"{scope}/weights", f"{scope}/biases"]) for name, scope in VARIABLE_FOR_LAYER.items()]
    return set_weights_from(plan, arrays, {k for k in arrays if k.startswith("vggish/")})


# --------------------------------------------------------------------------- postprocessing
class Postprocessor:
    """PCA (+ whitening) and 8-bit quantisation of ``vggish_postprocess.py``."""

    def __init__(self, pca_params_npz_path: str | os.PathLike):
        with np.load(pca_params_npz_path) as params:
            self._pca_matrix = np.asarray(params[PCA_EIGEN_VECTORS_NAME])
            self._pca_means = np.asarray(params[PCA_MEANS_NAME]).reshape(-1, 1)
        if self._pca_matrix.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE):
            raise ValueError(f"Bad PCA matrix shape: {self._pca_matrix.shape}")
        if self._pca_means.shape != (EMBEDDING_SIZE, 1):
            raise ValueError(f"Bad PCA means shape: {self._pca_means.shape}")

    def pca(self, embeddings_batch: np.ndarray) -> np.ndarray:
        """PCA-projected, unclipped float embeddings."""
        return np.dot(self._pca_matrix, (np.asarray(embeddings_batch).T - self._pca_means)).T

    def postprocess(self, embeddings_batch: np.ndarray) -> np.ndarray:
        """(n, 128) raw embeddings -> (n, 128) uint8, the AudioSet release format."""
        embeddings_batch = np.asarray(embeddings_batch)
        if embeddings_batch.ndim != 2 or embeddings_batch.shape[1] != EMBEDDING_SIZE:
            raise ValueError(f"Bad batch shape: {embeddings_batch.shape}")
        clipped = np.clip(self.pca(embeddings_batch), QUANTIZE_MIN_VAL, QUANTIZE_MAX_VAL)
        quantized = (clipped - QUANTIZE_MIN_VAL) * (255.0 / (QUANTIZE_MAX_VAL - QUANTIZE_MIN_VAL))
        return quantized.astype(np.uint8)


# --------------------------------------------------------------------------- files
def _default_weights_dir() -> Path:
    from mer_utils.config import CACHE_DIR

    return Path(CACHE_DIR) / "weights"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _locate(name: str, folders: list[Path]) -> Path | None:
    for d in folders:
        if (d / name).is_file():
            return d / name
    return None


def ensure_vggish_files(path: str | os.PathLike | None = None, *,
                        weights_dir: str | os.PathLike | None = None,
                        download: bool = True, verify_md5: bool = True) -> tuple[Path, Path]:
    """(checkpoint npz, PCA npz) of the official VGGish, converting the checkpoint once.

    Looked for, in order: ``path`` (a folder holding ``vggish_model.ckpt`` and
    ``vggish_pca_params.npz``), ``$MER_VGGISH_DIR``, then ``weights_dir`` (default
    ``data/cache/weights/``); a converted ``vggish/vggish_model.npz`` there is used
    directly. Missing files are downloaded from the official location into ``weights_dir``
    when ``download`` is true (MD5 checked against the published sums; sha256 where pinned).
    Raises :class:`VGGishUnavailable` saying where to put the files otherwise.
    """
    wdir = Path(weights_dir) if weights_dir is not None else _default_weights_dir()
    folders = [Path(p) for p in (path, os.environ.get("MER_VGGISH_DIR")) if p]
    folders.append(wdir)
    converted = wdir / "vggish" / "vggish_model.npz"
    pca = _locate(PCA_FILE, folders)
    ckpt = None if converted.exists() else _locate(CHECKPOINT_FILE, folders)

    missing = ([PCA_FILE] if pca is None else []) + \
        ([CHECKPOINT_FILE] if ckpt is None and not converted.exists() else [])
    if missing and download and os.environ.get("MER_OFFLINE") != "1":
        from mer_utils.download import DownloadError, fetch

        try:
            for n in missing:
                url = PCA_URL if n == PCA_FILE else CHECKPOINT_URL
                got = fetch(url, wdir / n, sha256=SHA256[n], what=f"VGGish {n}")
                if verify_md5 and MD5.get(n) and _md5(got) != MD5[n]:
                    got.unlink()
                    raise VGGishUnavailable(f"{n} downloaded from {url} does not match its "
                                            f"published MD5 {MD5[n]}; deleted it, try again.")
                if n == PCA_FILE:
                    pca = got
                else:
                    ckpt = got
            missing = []
        except DownloadError as exc:
            reason = str(exc)
        else:
            reason = ""
    else:
        reason = "downloads disabled" if missing else ""
    if missing:
        raise VGGishUnavailable(
            "VGGish weights are not available: missing " + ", ".join(missing) + ".\n"
            f"  Put {CHECKPOINT_FILE} ({CHECKPOINT_URL}) and {PCA_FILE} ({PCA_URL})\n"
            f"  into {wdir} (or a folder given as weights path / $MER_VGGISH_DIR).\n"
            + (f"  Download attempt: {reason.splitlines()[0]}" if reason else ""))
    if not converted.exists():
        convert_checkpoint(ckpt, converted)
    return converted, pca


def load_model(path: str | os.PathLike | None = None, *, weights_dir=None, download: bool = True):
    """(Keras VGGish with the official weights, Postprocessor)."""
    npz, pca = ensure_vggish_files(path, weights_dir=weights_dir, download=download)
    model = build_vggish()
    with np.load(npz) as z:
        load_weights(model, {k: z[k] for k in z.files})
    return model, Postprocessor(pca)
