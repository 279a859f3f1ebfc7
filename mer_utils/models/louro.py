"""The networks of the methods-comparison paper's own team (Louro, Redinho, Malheiro, Paiva &
Panda, "Exploring deep learning methodologies for music emotion recognition"): the DL
baseline, the baseline with two GRU layers, the feature DNN and the Hybrid (CNN + DNN).
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

Feature DNN (:func:`build_feature_dnn`) — the Hybrid's feature branch as released:
    BatchNorm(input) -> Dropout 0.2 -> Dense 500 -> 300 -> 100 (ReLU) -> softmax.

Hybrid (:func:`build_hybrid`) — paper Fig. 2: a pre-trained CNN and a pre-trained feature
    DNN, their penultimate outputs (300 + 100) concatenated and "post-processed by a
    smaller DNN": BatchNorm -> Dense 200 -> Dense 100 (ReLU, he_normal) -> softmax, as
    released. Both branches are frozen (the released code freezes the DNN; the paper says
    both are pre-trained and shows one training of the fused model).

Input scaling (our choice; the released code feeds raw dB values): the callers standardise
spectrograms with the training rows' mean and std.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

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
    """The DL baseline (Choi et al. 2016 adapted): 4 conv blocks -> Dense(300) -> softmax.

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
    """The baseline with two GRU layers. ``time_axis=True`` (ours): the GRUs run over the
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


def build_feature_dnn(n_features: int, n_classes: int = 4, *, units: Sequence[int] = (500, 300, 100),
                      input_dropout: float = 0.2, name: str = "louro_feature_dnn") -> keras.Model:
    """The Hybrid's feature branch: BatchNorm -> Dropout -> Dense 500/300/100 -> softmax.

    The last hidden layer is named ``features`` (the Hybrid taps it). Uncompiled.
    """
    if n_features < 1:
        raise ValueError(f"need at least one feature, got {n_features}")
    inp = keras.Input(shape=(int(n_features),), name="handcrafted")
    x = layers.BatchNormalization(name="batch_1_dnn")(inp)
    if input_dropout:
        x = layers.Dropout(input_dropout, name="drop_1_dnn")(x)
    for i, u in enumerate(units, 1):
        x = layers.Dense(u, activation="relu", name="features" if i == len(units) else f"dense_{i}_dnn")(x)
    out = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=name)


def build_hybrid(cnn: keras.Model, dnn: keras.Model, n_classes: int = 4, *,
                 units: Sequence[int] = (200, 100), freeze: bool = True,
                 name: str = "louro_hybrid") -> keras.Model:
    """Paper Fig. 2: the CNN's and the DNN's ``features`` layers concatenated, then
    BatchNorm -> Dense 200 -> Dense 100 -> softmax. Inputs: ``[mel, handcrafted]``.

    ``cnn`` and ``dnn`` are the pre-trained branches (built by :func:`build_baseline_cnn`
    and :func:`build_feature_dnn`); with ``freeze`` their weights are not trained further.
    """
    cnn_feat = keras.Model(cnn.input, cnn.get_layer("features").output, name="cnn_branch")
    dnn_feat = keras.Model(dnn.input, dnn.get_layer("features").output, name="dnn_branch")
    if freeze:
        cnn_feat.trainable = False
        dnn_feat.trainable = False
    mel = keras.Input(shape=tuple(cnn.input.shape[1:]), name="mel")
    hand = keras.Input(shape=tuple(dnn.input.shape[1:]), name="handcrafted")
    x = layers.Concatenate(name="concat")([cnn_feat(mel), dnn_feat(hand)])
    x = layers.BatchNormalization(name="batch_0_final")(x)
    for i, u in enumerate(units, 1):
        x = layers.Dense(u, activation="relu", kernel_initializer="he_normal", name=f"dense_{i}_output")(x)
    out = layers.Dense(n_classes, activation="softmax", kernel_initializer="he_normal", name="softmax")(x)
    return keras.Model([mel, hand], out, name=name)


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Total, trainable and non-trainable parameter counts of a built model."""
    def size(ws):
        n = 0
        for w in ws:
            k = 1
            for s in w.shape:
                k *= int(s)
            n += k
        return n
    trainable, frozen = size(model.trainable_weights), size(model.non_trainable_weights)
    return {"total": trainable + frozen, "trainable": trainable, "non_trainable": frozen}
