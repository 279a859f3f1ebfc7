"""Park et al. 2018's artist-label CNN ("Representation learning of music using artist
labels", ISMIR; repository ismir2018-artist), the "basic" model, in Keras 3.

The methods-comparison paper (Sec. 3.7) took "the simpler model [...] a series of 5
one-dimensional convolutional blocks, a global average pooling layer, and a dense layer that
produces a 256-value vector", loaded its released weights, froze them and "substituted the
last layer with a dense layer that outputs to one of the quadrants"; input 129 x 128 mel
frames (~3 s) at 22,050 Hz (Table 1).

Architecture (the repository's ``model_basic``, read for its structure only): on a
``(129, 128)`` mel input (time x bands, bands as channels) Conv1D(128, 4) -> BN -> ReLU ->
MaxPool 4; Conv1D(128, 4) ... MaxPool 4; Conv1D(128, 4) ... MaxPool 4; Conv1D(128, 2) ...
MaxPool 2; Conv1D(256, 1) -> BN -> ReLU; global average pool (the 256-d vector); Dense
softmax. :func:`build_artists_cnn` builds it with a 4-class head; ``frozen=True`` freezes
everything below the head.

Weights: the repository publishes Keras-2 ``.h5`` files (e.g.
``models/model_siamese_10000_4_0.40/weights.*.h5``), not reachable offline. Put one at
``<MER_CACHE>/weights/artists_cnn/weights.h5`` (:func:`default_path`);
:func:`load_keras2_h5` copies its five Conv1D and five BatchNormalization layers, in file
order, into ours (the artist-classification head is not used).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["build_artists_cnn", "load_keras2_h5", "default_path", "ARTISTS_SR", "ARTISTS_FRAMES",
           "BLOCKS", "mel_22k"]

ARTISTS_SR = 22050
ARTISTS_FRAMES = 129
#: (filters, kernel, pool) of the five conv blocks (pool 1: none)
BLOCKS: tuple[tuple[int, int, int], ...] = ((128, 4, 4), (128, 4, 4), (128, 4, 4), (128, 2, 2), (256, 1, 1))


def default_path() -> Path:
    from mer_utils.config import CACHE_DIR

    return Path(os.environ.get("MER_CACHE", CACHE_DIR)) / "weights" / "artists_cnn" / "weights.h5"


def build_artists_cnn(input_shape: Sequence[int] = (ARTISTS_FRAMES, 128), n_classes: int = 4, *,
                      frozen: bool = False, name: str = "artists_cnn"):
    import keras
    from keras import layers

    inp = keras.Input((int(input_shape[0]), int(input_shape[1])), name="mel")
    x = inp
    for i, (f, k, p) in enumerate(BLOCKS, 1):
        x = layers.Conv1D(f, k, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        if p > 1:
            x = layers.MaxPooling1D(p, name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling1D(name="item_sem")(x)
    out = layers.Dense(n_classes, activation="softmax", name="quadrants")(x)
    model = keras.Model(inp, out, name=name)
    if frozen:
        for layer in model.layers:
            if layer.name != "quadrants":
                layer.trainable = False
    return model


def load_keras2_h5(model, path: str | os.PathLike) -> int:
    """Copy the conv and batch-norm weights of a Keras-2 ``.h5`` (weights file or full model)
    into ``model`` in layer order; returns the number of layers set. Raises ``ValueError``
    when the file does not hold five Conv1D kernels of the expected shapes."""
    import h5py

    with h5py.File(str(path), "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["layer_names"]]
        convs, bns = [], []
        for n in names:
            wn = [w.decode() if isinstance(w, bytes) else w for w in g[n].attrs.get("weight_names", [])]
            arrays = [np.asarray(g[n][w]) for w in wn]
            if not arrays:
                continue
            if arrays[0].ndim == 3:
                convs.append(arrays)
            elif len(arrays) == 4 and arrays[0].ndim == 1:
                bns.append(arrays)
    if len(convs) != len(BLOCKS) or len(bns) != len(BLOCKS):
        raise ValueError(f"{path}: expected {len(BLOCKS)} Conv1D and BN layers, found {len(convs)} / {len(bns)}")
    for i, (c, b) in enumerate(zip(convs, bns), 1):
        for lname, vals in ((f"conv{i}", c), (f"bn{i}", b)):
            layer = model.get_layer(lname)
            want = [tuple(w.shape) for w in layer.get_weights()]
            if want != [tuple(v.shape) for v in vals]:
                raise ValueError(f"{lname}: model {want}, file {[v.shape for v in vals]}")
            layer.set_weights(vals)
    return 2 * len(BLOCKS)


def mel_22k(y: np.ndarray, sr: int) -> np.ndarray:
    """(frames, 128) dB mel at 22,050 Hz, librosa defaults (n_fft 2048, hop 512)."""
    import librosa

    if sr != ARTISTS_SR:
        y = librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=ARTISTS_SR)
    S = librosa.feature.melspectrogram(y=y, sr=ARTISTS_SR, n_mels=128)
    return librosa.power_to_db(S).T.astype(np.float32)
