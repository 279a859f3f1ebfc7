"""Music-tagging architectures from Won et al.'s model collection ("Evaluation of CNN-based
automatic music tagging models", SMC 2020, sota-music-tagging-models) as the methods-comparison
paper (Louro et al., Sec. 3.3-3.4: "CRNN", "ShortChunk CNN", "Sample CNN") adapts them, rebuilt in Keras 3
(``keras.layers`` only) with a softmax over classes instead of their sigmoid over tags.
Read for their architecture only; no code is copied.

All blocks are Won's: ``conv -> BatchNorm -> ReLU -> MaxPool`` ("Conv_2d" / "Conv_1d", 3-wide
kernels, "same" padding), and a BatchNorm on the input spectrogram ("spec_bn"). The mel
front end is outside the networks (``features.FRONT_ENDS["louro_mel"]``), so the models take
``(frames, bands)`` spectrograms — or raw samples for SampleCNN.

CRNN (:func:`build_won_crnn`) — Choi et al. 2017 as in Won's collection: spec BN, 4 x Conv_2d
    with 64, 128, 128, 128 channels and square pools 2, 3, 4, 4 ("valid", i.e. floor);
    the bands axis collapses to 1 (128 -> 64 -> 21 -> 5 -> 1) and the time axis becomes the
    GRU's sequence (942 -> 471 -> 157 -> 39 -> 9 steps of 128 values); two GRU(32) layers,
    the last step's output, Dropout 0.5, softmax. 393,480 parameters on 942 x 128 (4 classes).
    Needs at least 96 frames.

ShortChunk CNN (:func:`build_shortchunk_cnn`) — Won et al. 2020: spec BN, 7 x Conv_2d with
    128, 128, 256, 256, 256, 256, 512 channels and 2 x 2 pools, a global max over what is
    left of time, Dense(512) -> BatchNorm -> ReLU -> Dropout 0.5 -> softmax. Won's chunk is
    59,049 samples at hop 256 (231 frames); the paper's is 116 x 128 (librosa's hop 512),
    and seven floor-halvings of 116 frames reach 0, so our pools use "same" padding (ceil:
    116 -> 58 -> 29 -> 15 -> 8 -> 4 -> 2 -> 1; the 128 bands halve exactly to 1).
    The paper's released code trains a residual variant of it instead; we build the one the
    paper names. 3,668,360 parameters for 4 classes.

SampleCNN (:func:`build_samplecnn`) — Lee et al. 2017, the 3^9 model as in Won's collection:
    59,049 raw samples; Conv_1d(128, 3, stride 3) without pool (-> 19,683 steps), nine
    blocks of Conv_1d(k=3) + MaxPool 3 with 128, 128, 256, 256, 256, 256, 256, 256, 512
    channels (-> 1 step), Conv_1d(512, 1), Dropout 0.5, softmax. 1,852,164 parameters for
    4 classes ("stacked 1-D conv blocks of size 3" — the paper's words).
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

SAMPLECNN_SAMPLES = 59049          # 3^10 samples (~3.7 s at 16 kHz; the paper's "~3.5 s")
SHORTCHUNK_FRAMES = 116            # 1 + floor(59,049 / 512) centred frames


def conv2d_block(x, filters: int, pool, *, pool_padding: str = "valid", name: str):
    """Won's Conv_2d: 3x3 conv ("same") -> BatchNorm -> ReLU -> MaxPool."""
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.MaxPooling2D(pool, padding=pool_padding, name=f"{name}_pool")(x)


def conv1d_block(x, filters: int, *, kernel: int = 3, stride: int = 1, pool: int = 3, name: str):
    """Won's Conv_1d: conv ("same") -> BatchNorm -> ReLU -> MaxPool (``pool`` 1: none)."""
    x = layers.Conv1D(filters, kernel, strides=stride, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    if pool > 1:
        x = layers.MaxPooling1D(pool, name=f"{name}_pool")(x)
    return x


def _spec_input(input_shape: Sequence[int], n_classes: int):
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (frames, bands), got {tuple(input_shape)}")
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    frames, bands = int(input_shape[0]), int(input_shape[1])
    inp = keras.Input(shape=(frames, bands), name="mel")
    x = layers.Reshape((frames, bands, 1), name="as_image")(inp)
    return inp, layers.BatchNormalization(name="spec_bn")(x)


def build_won_crnn(input_shape: Sequence[int] = (942, 128), n_classes: int = 4, *,
               channels: Sequence[int] = (64, 128, 128, 128), pools: Sequence[int] = (2, 3, 4, 4),
               gru_units: int = 32, dropout: float = 0.5, name: str = "crnn_choi2017") -> keras.Model:
    """Choi et al. 2017's CRNN in Won et al.'s version, Louro et al.'s "CRNN" row: 4 Conv_2d blocks, 2 GRUs over time, softmax."""
    need = 1
    for p in pools:
        need *= int(p)
    if min(int(input_shape[0]), int(input_shape[-1])) < need:
        raise ValueError(f"input {tuple(input_shape)} is too small for pools {tuple(pools)}: "
                         f"both axes need at least {need}")
    inp, x = _spec_input(input_shape, n_classes)
    for i, (c, p) in enumerate(zip(channels, pools), 1):
        x = conv2d_block(x, c, p, name=f"layer{i}")
    steps, bands, ch = (int(d) for d in x.shape[1:])
    x = layers.Reshape((steps, bands * ch), name="as_sequence")(x)   # bands collapse to 1 on 128
    x = layers.GRU(gru_units, return_sequences=True, name="gru_0")(x)
    x = layers.GRU(gru_units, name="gru_1")(x)                       # the last step's output
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)


def build_shortchunk_cnn(input_shape: Sequence[int] = (SHORTCHUNK_FRAMES, 128), n_classes: int = 4, *,
                         channels: Sequence[int] = (128, 128, 256, 256, 256, 256, 512),
                         dropout: float = 0.5, name: str = "shortchunk_cnn") -> keras.Model:
    """Won et al.'s ShortChunk CNN: 7 Conv_2d blocks (2x2 pools, ceil), global max, dense head."""
    inp, x = _spec_input(input_shape, n_classes)
    for i, c in enumerate(channels, 1):
        x = conv2d_block(x, c, 2, pool_padding="same", name=f"layer{i}")
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    width = int(channels[-1])
    x = layers.Dense(width, name="dense1")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)


def build_samplecnn(n_samples: int = SAMPLECNN_SAMPLES, n_classes: int = 4, *,
                    channels: Sequence[int] = (128, 128, 256, 256, 256, 256, 256, 256, 512),
                    first_channels: int = 128, last_channels: int = 512, dropout: float = 0.5,
                    name: str = "samplecnn") -> keras.Model:
    """Lee et al.'s SampleCNN (3^9 model): strided conv, 9 x [conv 3 + pool 3], 1x1 conv, softmax."""
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    steps = int(n_samples) // 3
    for _ in channels:
        steps //= 3
    if steps < 1:
        raise ValueError(f"{n_samples} samples are too few for {len(channels)} pools of 3 after a "
                         f"stride-3 conv (need 3^{len(channels) + 1} = {3 ** (len(channels) + 1)})")
    inp = keras.Input(shape=(int(n_samples),), name="waveform")
    x = layers.Reshape((int(n_samples), 1), name="as_sequence")(inp)
    x = conv1d_block(x, first_channels, stride=3, pool=1, name="layer1")
    for i, c in enumerate(channels, 2):
        x = conv1d_block(x, c, name=f"layer{i}")
    x = conv1d_block(x, last_channels, kernel=1, pool=1, name=f"layer{len(channels) + 2}")
    x = layers.GlobalMaxPooling1D(name="squeeze")(x)                 # one step left on 3^10
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)
