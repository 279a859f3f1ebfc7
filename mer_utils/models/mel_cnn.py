"""Mel-spectrogram CNNs of Louro, Redinho, Malheiro, Paiva & Panda, "Exploring deep learning
methodologies for music emotion recognition": the DL baseline (Choi et al.'s fully
convolutional tagger adapted to four quadrants) and the baseline with two GRU layers. The
Hybrid's feature DNN and fusion network are in :mod:`mer_utils.models.hybrid`.
Keras 3, ``keras.layers`` only. Inputs are mel spectrograms shaped ``(frames, bands)`` =
``(942, 128)`` (16 kHz, librosa defaults, ~30 s; ``features.FRONT_ENDS["louro_mel"]``).

The paper describes these networks in words only ("a CNN architecture based on the research
done by Choi et al. [...] modified [...] to process the extracted features on a small DNN
that predicts one of the four quadrants"; "incorporating two Gated Recurrent Units"; Fig. 2
for the Hybrid). Where it is silent we follow the team's released code
(exploring-dl-for-mer), read for its architecture only; every choice is a keyword
argument.

DL baseline (:func:`build_baseline_cnn`) — Choi et al. 2016's fully convolutional tagger
    (5 x [conv 3x3, pool]) adapted by the team: 4 x [Conv2D(16, 5x5, "valid", ReLU,
    he_normal) -> MaxPool ((2,2), (2,2), (3,2), (3,2); "same", i.e. ceil) -> BatchNorm ->
    Dropout 0.1] (the fourth block without BatchNorm / Dropout), then Flatten -> Dropout
    0.4 -> Dense(300, ReLU) -> Dense(4, softmax): the "small DNN" that replaces Choi's
    sigmoid tag layer. On 942 x 128 the feature map is 25 x 5 x 16 = 2,000 values.
    Parameters: 621,360 (621,264 trainable + 96 batch-norm statistics).

Baseline with GRU (:func:`build_baseline_gru`) — the paper: "two Gated Recurrent Units
    [...] to enable learning time-domain-specific features". Ours (default,
    ``time_axis=True``): the baseline's four blocks, the 25 x 5 x 16 map read as 25 time
    steps of 80 values, GRU(32, sequences) -> GRU(32) -> Dropout 0.5 -> Dense(300) ->
    Dense(75) -> softmax (the released head). 32 units follows Choi et al. 2017's CRNN
    (the paper's next row); the paper gives no size. The released code instead reshapes
    the flattened 2,000 values to a sequence of **one** step and stacks two GRU(2000)
    (~48 M parameters) — a GRU over one step sees no time; ``time_axis=False,
    gru_units=2000`` builds that variant for comparison.

Input scaling (our choice; the released code feeds raw dB values): the callers standardise
spectrograms with the training rows' mean and std.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

__all__ = ["build_baseline_cnn", "build_baseline_gru", "INPUT_SHAPE", "BASELINE_POOLS"]

INPUT_SHAPE = (942, 128)       # frames x mel bands at 16 kHz, librosa defaults (Table 1)
BASELINE_POOLS = ((2, 2), (2, 2), (3, 2), (3, 2))


def _check(input_shape: Sequence[int], n_classes: int) -> tuple[int, int]:
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (frames, bands), got {tuple(input_shape)}")
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    return int(input_shape[0]), int(input_shape[1])


def _baseline_blocks(x, *, filters: int, kernel: tuple[int, int], pools, dropout: float,
                     prefix: str = ""):
    """The baseline's four conv blocks (the last one without BatchNorm / Dropout)."""
    for i, pool in enumerate(pools, 1):
        x = layers.Conv2D(filters, kernel, padding="valid", activation="relu",
                          kernel_initializer="he_normal", name=f"{prefix}conv_{i}")(x)
        x = layers.MaxPooling2D(pool, padding="same", name=f"{prefix}mp_{i}")(x)
        if i < len(pools):
            x = layers.BatchNormalization(name=f"{prefix}batch_norm_{i}")(x)
            if dropout:
                x = layers.Dropout(dropout, name=f"{prefix}drop_{i}")(x)
    return x


def build_baseline_cnn(input_shape: Sequence[int] = INPUT_SHAPE, n_classes: int = 4, *,
                       filters: int = 16, kernel: tuple[int, int] = (5, 5),
                       pools: Sequence[tuple[int, int]] = BASELINE_POOLS,
                       block_dropout: float = 0.1, flat_dropout: float = 0.4,
                       dense_units: int = 300, name: str = "louro_dl_baseline") -> keras.Model:
    """Louro et al.'s DL baseline ("a CNN architecture based on the research done by Choi et al.",
    Sec. 3.1; Choi et al. 2016 adapted): 4 conv blocks -> Dense(300) -> softmax.

    The 300-unit layer is named ``features`` (the Hybrid taps it). Uncompiled.
    """
    frames, bands = _check(input_shape, n_classes)
    inp = keras.Input(shape=(frames, bands), name="mel")
    x = layers.Reshape((frames, bands, 1), name="as_image")(inp)
    x = _baseline_blocks(x, filters=filters, kernel=kernel, pools=pools, dropout=block_dropout)
    x = layers.Flatten(name="flatten")(x)
    if flat_dropout:
        x = layers.Dropout(flat_dropout, name="drop_final")(x)
    x = layers.Dense(dense_units, activation="relu", name="features")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)


def build_baseline_gru(input_shape: Sequence[int] = INPUT_SHAPE, n_classes: int = 4, *,
                       gru_units: int = 32, time_axis: bool = True, filters: int = 16,
                       kernel: tuple[int, int] = (5, 5),
                       pools: Sequence[tuple[int, int]] = BASELINE_POOLS,
                       block_dropout: float = 0.1, flat_dropout: float = 0.4,
                       gru_dropout: float = 0.5, dense_units: Sequence[int] = (300, 75),
                       name: str = "louro_baseline_gru") -> keras.Model:
    """Louro et al.'s baseline with two GRU layers ("incorporating two Gated Recurrent Units",
    Sec. 3.2). ``time_axis=True`` (ours): the GRUs run over the
    conv map's time steps; ``False``: the released variant (one step of the flattened map).
    """
    frames, bands = _check(input_shape, n_classes)
    inp = keras.Input(shape=(frames, bands), name="mel")
    x = layers.Reshape((frames, bands, 1), name="as_image")(inp)
    x = _baseline_blocks(x, filters=filters, kernel=kernel, pools=pools, dropout=block_dropout)
    steps, width, ch = (int(d) for d in x.shape[1:])
    if time_axis:
        x = layers.Reshape((steps, width * ch), name="as_sequence")(x)
        if flat_dropout:
            x = layers.Dropout(flat_dropout, name="drop_final")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
        if flat_dropout:
            x = layers.Dropout(flat_dropout, name="drop_final")(x)
        x = layers.Reshape((1, steps * width * ch), name="as_one_step")(x)
    x = layers.GRU(gru_units, return_sequences=True, name="gru_0")(x)
    x = layers.GRU(gru_units, name="gru_1")(x)
    if gru_dropout:
        x = layers.Dropout(gru_dropout, name="drop_gru")(x)
    for i, units in enumerate(dense_units, 1):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)
