"""VGG16 (Simonyan & Zisserman 2015, configuration "D") for one-channel spectrograms, in
Keras 3 (``keras.layers`` only).

Sun et al. (semi-supervised self-learning paper): "Our segment classifier uses VGG16 [19],
we only modify the input channel and output number of classification."
:func:`build_vgg16` is that network:

* input ``(frames, bands)`` (a mel spectrogram as :func:`mer_utils.features.extract_segments`
  returns it) reshaped to ``(frames, bands, 1)``: **one input channel** instead of RGB;
* 13 convolutions 3 x 3, "same" padding, ReLU, in five blocks of 64, 64 | 128, 128 |
  256 x 3 | 512 x 3 | 512 x 3 filters, each block ending in a 2 x 2 max-pool with stride 2
  ("valid", as in VGG16 and ``keras.applications.VGG16``);
* the classifier of the original paper: flatten -> FC 4096 -> ReLU -> dropout 0.5 ->
  FC 4096 -> ReLU -> dropout 0.5 -> FC ``n_classes`` -> softmax (**the number of
  outputs** changed). ``keras.applications.VGG16``'s top has no dropout; we keep the
  original paper's two dropout layers, which R-Drop (Eq. 8 of Sun et al.) needs: its two
  stochastic passes differ only through dropout.

The convolutional part has exactly the layers and shapes of
``keras.applications.VGG16(include_top=False, weights=None, input_shape=(f, b, 1))``
(``tests/test_models_vgg.py`` compares them layer by layer). Weights are randomly
initialised (Keras defaults: Glorot-uniform kernels, zero biases): the paper does not say
that its VGG16 was pretrained, and ImageNet weights could not serve a one-channel
spectrogram input unchanged (nor can they be fetched offline here).

Input size. Five 2 x 2 pools divide each side by 32 (with flooring), so each side must be
at least 32. A 1-s segment at 22,050 Hz with hop 512 has 1 + floor(22,050 / 512) = 44
centred frames (43 without centring): 44 -> 22 -> 11 -> 5 -> 2 -> 1 frames and
128 -> 64 -> 32 -> 16 -> 8 -> 4 bands, so the last block outputs 1 x 4 x 512 = 2,048
features and no padding or resizing is needed. A 5-s segment (216 frames) gives
6 x 4 x 512 = 12,288. Shorter inputs raise ``ValueError``.

Scaled variants (not the paper's network, label them so): ``width`` multiplies every
convolution's filters (``width=1/16``: 4, 8, 16, 32, 32) and ``fc_units`` sets the two
fully connected layers (4096 in VGG16). ``batch_norm=True`` inserts batch normalisation
after every convolution (the common "VGG16-BN"; not in the original paper; off by default).
"""
from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers

#: VGG16 ("D"): filters per convolution, "M" = 2 x 2 max-pool.
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
MIN_SIDE = 32


def vgg_output_shape(input_shape: Sequence[int], width: float = 1.0) -> tuple[int, int, int]:
    """(frames, bands, channels) after the five blocks (floor division by 2 per pool)."""
    t, f = int(input_shape[0]), int(input_shape[1])
    for _ in range(VGG16_CONFIG.count("M")):
        t, f = t // 2, f // 2
    return t, f, _filters(512, width)


def _filters(n: int, width: float) -> int:
    return max(1, int(math.floor(n * width + 0.5)))


def build_vgg16(input_shape: Sequence[int], n_classes: int, *, width: float = 1.0,
                fc_units: int = 4096, dropout: float = 0.5, batch_norm: bool = False,
                name: str = "vgg16") -> keras.Model:
    """VGG16 with one input channel and ``n_classes`` softmax outputs (uncompiled): Sun et
    al.'s segment classifier, "VGG16, we only modify the input channel and output number of
    classification" (Simonyan & Zisserman's configuration "D" with its two dropout layers).

    ``input_shape`` is ``(frames, bands)`` or ``(frames, bands, 1)``. ``width`` and
    ``fc_units`` scale the network down (``width=1, fc_units=4096`` is VGG16);
    ``dropout`` is the rate of the two dropout layers of the classifier.
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        if shape[2] != 1:
            raise ValueError(f"VGG16 here takes one input channel, not {shape[2]}")
        shape = shape[:2]
    if len(shape) != 2:
        raise ValueError(f"input_shape must be (frames, bands), not {input_shape}")
    if min(shape) < MIN_SIDE:
        raise ValueError(f"VGG16's five 2x2 pools need both sides >= {MIN_SIDE}; got {shape} "
                         "(a 1-s segment at 22,050 Hz / hop 512 has 44 frames)")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, not {n_classes}")
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1], not {width}")
    inp = keras.Input(shape=shape, name="mel")
    x = layers.Reshape(shape + (1,), name="channel")(inp)
    block, conv = 1, 1
    for item in VGG16_CONFIG:
        if item == "M":
            x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
            block, conv = block + 1, 1
            continue
        x = layers.Conv2D(_filters(item, width), (3, 3), padding="same",
                          activation=None if batch_norm else "relu",
                          name=f"block{block}_conv{conv}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = layers.Activation("relu", name=f"block{block}_relu{conv}")(x)
        conv += 1
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(int(fc_units), activation="relu", name="fc1")(x)
    x = layers.Dropout(dropout, name="drop1")(x)
    x = layers.Dense(int(fc_units), activation="relu", name="fc2")(x)
    x = layers.Dropout(dropout, name="drop2")(x)
    out = layers.Dense(int(n_classes), activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=name)


def vgg16_parameter_count(input_shape: Sequence[int], n_classes: int, *, width: float = 1.0,
                          fc_units: int = 4096) -> int:
    """Trainable parameters of :func:`build_vgg16` (no batch norm), counted without building
    (for the paper-size network on a CPU box): 3 x 3 kernels + biases per convolution, then
    the three dense layers. A built model's count is
    :func:`mer_utils.evaluation.parameter_count`."""
    total, c_in = 0, 1
    for item in VGG16_CONFIG:
        if item == "M":
            continue
        c_out = _filters(item, width)
        total += 9 * c_in * c_out + c_out
        c_in = c_out
    t, f, c = vgg_output_shape(input_shape, width)
    flat = t * f * c
    return total + (flat * fc_units + fc_units) + (fc_units * fc_units + fc_units) + (fc_units * n_classes + n_classes)

