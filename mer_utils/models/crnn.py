"""The two models of Velankar, Thombre & Wadkar, "Evaluating deep learning models for
music emotion recognition": a CRNN and a parallel CNN-RNN (Keras 3, ``keras.layers`` only).

Both take a mel spectrogram shaped ``(frames, bands)`` = ``(640, 128)`` (time first, as
``mer_utils.features.extract_spectrograms(df, "velankar_crnn")`` returns it) and end in a
softmax over the classes.

What the paper fixes, and what we chose where it is silent (every choice is a keyword
argument, so a reader can try the alternatives):

CRNN (:func:`build_crnn`)
    paper: 3 x [Conv1D over time, 56 filters, kernel 5 -> ReLU -> batch norm -> 1-D
    max-pool] -> LSTM(96) -> Dense(64) -> softmax. The 128 mel bands are the Conv1D's
    input channels. Regularisation: "both L2 and dropout regularization was used between
    all the layers" -- neither the L2 weight nor the dropout rate is given.
    ours: "valid" convolutions, pool size 2 (640 -> 636 -> 318 -> 314 -> 157 -> 153 -> 76
    time steps reach the LSTM), ReLU on the 64-unit dense layer; L2 (``l2``, default 1e-4)
    on the weights of every layer that has them (the three convolutions, the LSTM's input
    and recurrent kernels, the dense and the output layer) and dropout 0.3 after each
    block, after the LSTM and after the dense layer; batch-norm momentum 0.9 instead of
    Keras's 0.99: with ~100 training clips an epoch is only ~7 batches, and at 0.99 the
    moving statistics used at validation/test time would still be mostly their initial
    values after several epochs (validation accuracy stuck at chance).
    Output layer: the paper's "has 8 hidden units in order to determine the probabilities
    of the three classes" contradicts itself -- a softmax over 8 units gives 8
    probabilities, 5 of them for classes that do not exist. We keep ``n_classes`` (3)
    units, the only size that yields one probability per class.

Parallel CNN-RNN (:func:`build_parallel_cnn_rnn`)
    paper: CNN branch of 5 x [Conv2D kernel (3, 1), filters 16/32/64/64/64 -> ReLU ->
    max-pool] flattened to 256; RNN branch max-pools the spectrogram (4, 2) and feeds a
    bidirectional GRU(64) (128 outputs); concatenation (384) -> softmax. The paper names
    no regularisation for this model.
    ours: "valid" convolutions and pools (2,2), (2,2), (2,2), (4,4), (4,4) -- the sizes
    that give exactly the paper's 256 = 4 x 1 x 64 on a 640 x 128 input (time
    640 -> 638 -> 319 -> 317 -> 158 -> 156 -> 78 -> 76 -> 19 -> 17 -> 4, bands
    128 -> 64 -> 32 -> 16 -> 4 -> 1). The (4, 2) pool of the RNN branch uses strides equal
    to its size (160 steps x 64 bands reach the GRU); the CRNN's regularisation carried
    over: L2 (``l2``) on every kernel and dropout 0.3 on the 384-d concatenation.

L2 adds penalties to the loss but no weights: the parameter counts for 3 classes (derived
by hand in ``tests/test_models_crnn.py``, counted by :func:`mer_utils.evaluation.parameter_count`)
are CRNN 133,195 (132,859 trainable + 336 batch-norm statistics) and parallel CNN-RNN 83,619, with or without it.

These functions only build: the paper's training (Adam 1e-3, 25 epochs; the paper names no
optimizer) is a :class:`mer_utils.training.Recipe` in :mod:`mer_utils.papers.velankar.pipeline`.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

INPUT_SHAPE = (640, 128)   # (frames, mel bands), the paper's spectrogram shape
L2 = 1e-4                  # L2 weight: the paper uses L2 but gives no weight


def _l2(weight: float):
    """An L2 penalty of ``weight`` on a layer's weights (``None`` when ``weight`` is 0)."""
    if weight < 0:
        raise ValueError(f"the L2 weight must be >= 0, not {weight}")
    return keras.regularizers.L2(weight) if weight else None


def build_crnn(input_shape: Sequence[int] = INPUT_SHAPE, n_classes: int = 3, *,
               filters: int = 56, kernel_size: int = 5, n_blocks: int = 3,
               pool_size: int = 2, lstm_units: int = 96, dense_units: int = 64,
               dropout: float = 0.3, l2: float = L2, bn_momentum: float = 0.9,
               name: str = "velankar_crnn") -> keras.Model:
    """Velankar et al.'s CRNN (Sec. III.C): ``n_blocks`` x [Conv1D -> ReLU -> BatchNorm -> MaxPool1D] -> LSTM -> Dense -> softmax.

    ``l2`` penalises the weights of every convolution, the LSTM (input and recurrent
    kernels), the dense and the output layer; ``dropout`` follows every block, the LSTM
    and the dense layer ("both L2 and dropout regularization was used between all the
    layers"). The output has ``n_classes`` units, not the paper's self-contradictory 8
    (module docstring). Returns an uncompiled model; compile it with
    :func:`mer_utils.training.compile_classifier`.
    """
    _check_shape(input_shape, n_classes)
    inp = keras.Input(shape=tuple(input_shape), name="mel")
    x = inp
    for i in range(n_blocks):
        x = layers.Conv1D(filters, kernel_size, padding="valid", kernel_regularizer=_l2(l2),
                          name=f"conv{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i + 1}")(x)
        x = layers.MaxPooling1D(pool_size, name=f"pool{i + 1}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"drop{i + 1}")(x)
    x = layers.LSTM(lstm_units, kernel_regularizer=_l2(l2), recurrent_regularizer=_l2(l2),
                    name="lstm")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop_lstm")(x)
    x = layers.Dense(dense_units, activation="relu", kernel_regularizer=_l2(l2), name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop_dense")(x)
    out = layers.Dense(n_classes, activation="softmax", kernel_regularizer=_l2(l2), name="softmax")(x)
    return keras.Model(inp, out, name=name)


def build_parallel_cnn_rnn(input_shape: Sequence[int] = INPUT_SHAPE, n_classes: int = 3, *,
                           cnn_filters: Sequence[int] = (16, 32, 64, 64, 64),
                           cnn_kernel: tuple[int, int] = (3, 1),
                           cnn_pools: Sequence[tuple[int, int]] = ((2, 2), (2, 2), (2, 2), (4, 4), (4, 4)),
                           rnn_pool: tuple[int, int] = (4, 2), gru_units: int = 64,
                           dropout: float = 0.3, l2: float = L2,
                           name: str = "velankar_parallel_cnn_rnn") -> keras.Model:
    """Velankar et al.'s parallel CNN-RNN (Sec. III.D): a Conv2D branch and a pooled BiGRU branch, concatenated.

    ``l2`` penalises every convolution, the GRU's kernels (both directions) and the output
    layer; ``dropout`` acts on the concatenation (the paper names no regularisation for
    this model: the CRNN's is carried over). Returns an uncompiled model; compile it with
    :func:`mer_utils.training.compile_classifier`.
    """
    _check_shape(input_shape, n_classes)
    if len(cnn_filters) != len(cnn_pools):
        raise ValueError(f"cnn_filters ({len(cnn_filters)}) and cnn_pools ({len(cnn_pools)}) "
                         "must have one entry per CNN block")
    frames, bands = int(input_shape[0]), int(input_shape[1])
    inp = keras.Input(shape=(frames, bands), name="mel")
    img = layers.Reshape((frames, bands, 1), name="as_image")(inp)

    # CNN branch
    c = img
    for i, (f, pool) in enumerate(zip(cnn_filters, cnn_pools)):
        c = layers.Conv2D(f, cnn_kernel, padding="valid", activation="relu",
                          kernel_regularizer=_l2(l2), name=f"cnn_conv{i + 1}")(c)
        c = layers.MaxPooling2D(pool, name=f"cnn_pool{i + 1}")(c)
    c = layers.Flatten(name="cnn_flat")(c)

    # RNN branch: pool the spectrogram, drop the channel axis, run a bidirectional GRU over time
    r = layers.MaxPooling2D(rnn_pool, name="rnn_pool")(img)
    steps, feats = frames // rnn_pool[0], bands // rnn_pool[1]
    r = layers.Reshape((steps, feats), name="rnn_seq")(r)
    r = layers.Bidirectional(layers.GRU(gru_units, kernel_regularizer=_l2(l2),
                                        recurrent_regularizer=_l2(l2)), name="bigru")(r)

    x = layers.Concatenate(name="concat")([c, r])
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    out = layers.Dense(n_classes, activation="softmax", kernel_regularizer=_l2(l2), name="softmax")(x)
    return keras.Model(inp, out, name=name)


BUILDERS = {"crnn": build_crnn, "parallel_cnn_rnn": build_parallel_cnn_rnn}


def _check_shape(input_shape: Sequence[int], n_classes: int) -> None:
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (frames, bands), got {tuple(input_shape)}")
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
