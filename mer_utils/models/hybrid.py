"""The feature DNN and the Hybrid (CNN + DNN) of Louro, Redinho, Malheiro, Paiva & Panda,
"Exploring deep learning methodologies for music emotion recognition" (Sec. 3.4, Fig. 2).
Keras 3, ``keras.layers`` only. Where the paper is silent we follow the team's released code
(exploring-dl-for-mer), read for its architecture only; every choice is a keyword argument.
The Hybrid's CNN branch is the DL baseline of :mod:`mer_utils.models.mel_cnn`.

Feature DNN (:func:`build_feature_dnn`) — the Hybrid's feature branch as released:
    BatchNorm(input) -> Dropout 0.2 -> Dense 500 -> 300 -> 100 (ReLU) -> softmax.

Hybrid (:func:`build_hybrid`) — paper Fig. 2: a pre-trained CNN and a pre-trained feature
    DNN, their penultimate outputs (300 + 100) concatenated and "post-processed by a
    smaller DNN": BatchNorm -> Dense 200 -> Dense 100 (ReLU, he_normal) -> softmax, as
    released. Both branches are frozen (the released code freezes the DNN; the paper says
    both are pre-trained and shows one training of the fused model).
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

__all__ = ["build_feature_dnn", "build_hybrid"]


def build_feature_dnn(n_features: int, n_classes: int = 4, *, units: Sequence[int] = (500, 300, 100),
                      input_dropout: float = 0.2, name: str = "louro_feature_dnn") -> keras.Model:
    """Louro et al.'s Hybrid feature branch (Sec. 3.4, Fig. 2; layers as released): BatchNorm -> Dropout -> Dense 500/300/100 -> softmax.

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
    """Louro et al.'s Hybrid (Sec. 3.4, Fig. 2): the CNN's and the DNN's ``features`` layers concatenated, then
    BatchNorm -> Dense 200 -> Dense 100 -> softmax. Inputs: ``[mel, handcrafted]``.

    ``cnn`` and ``dnn`` are the pre-trained branches (built by
    :func:`mer_utils.models.mel_cnn.build_baseline_cnn`
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
