"""Convolutional autoencoder of a mel spectrogram (DeepSMOTE's and the embedding rows' encoder).

Louro et al. (Sec. 3.6) compress each sample with "the autoencoder applied for training the
above-mentioned GAN", "from around 482k to 60k" values, then oversample in that space
(DeepSMOTE). Their released code (read, not copied) gives the network, rebuilt here with
``keras.layers`` only:

* encoder: four Conv2D (16, 32, 64, 128 filters, 5 x 5, stride 2, "same") each followed by
  LeakyReLU(0.2), then Flatten. A (942, 128) spectrogram becomes 59 x 8 x 128 = 60,416
  values (the paper's "60k"); the time axis is ceil-halved four times, so any frame count
  works;
* decoder: the mirror image — four Conv2DTranspose (128, 64, 32, 16, 5 x 5, stride 2) with
  LeakyReLU(0.2), a Conv2D(1, 5 x 5, tanh), and a crop back to the input's frames;
* inputs scaled to [-1, 1] per sample (min/max, :func:`scale_11`), MSE loss, Adam 2e-4.

:func:`build_autoencoder` returns ``(autoencoder, encoder, decoder)`` sharing their layers:
train the first, encode with the second, decode latent vectors (real or synthetic) with the
third.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["build_autoencoder", "parts", "encode", "decode", "latent_shape", "scale_11", "unscale_11"]


def latent_shape(input_shape: Sequence[int], filters: Sequence[int] = (16, 32, 64, 128)) -> tuple[int, int, int]:
    """(frames, bands, channels) of the encoder's last map ("same" stride-2: ceil halvings)."""
    f, b = int(input_shape[0]), int(input_shape[1])
    for _ in filters:
        f, b = math.ceil(f / 2), math.ceil(b / 2)
    return f, b, int(filters[-1])


def build_autoencoder(input_shape: Sequence[int] = (942, 128), *, filters: Sequence[int] = (16, 32, 64, 128),
                      kernel: int = 5, name: str = "mel_autoencoder"):
    """(autoencoder, encoder, decoder) Keras models; the encoder's output is flat."""
    import keras
    from keras import layers

    frames, bands = int(input_shape[0]), int(input_shape[1])
    lf, lb, lc = latent_shape(input_shape, filters)
    if lb * 2 ** len(filters) != bands:
        raise ValueError(f"bands ({bands}) must be divisible by {2 ** len(filters)}")
    enc_layers = []
    for i, f in enumerate(filters, 1):
        enc_layers += [layers.Conv2D(f, kernel, strides=2, padding="same", name=f"enc_conv{i}"),
                       layers.LeakyReLU(0.2, name=f"enc_lrelu{i}")]
    dec_layers = [layers.Reshape((lf, lb, lc), name="dec_reshape")]
    for i, f in enumerate(reversed(filters), 1):
        dec_layers += [layers.Conv2DTranspose(f, kernel, strides=2, padding="same", name=f"dec_deconv{i}"),
                       layers.LeakyReLU(0.2, name=f"dec_lrelu{i}")]
    dec_layers += [layers.Conv2D(1, kernel, padding="same", activation="tanh", name="dec_out"),
                   layers.Cropping2D(((0, lf * 2 ** len(filters) - frames), (0, 0)), name="dec_crop"),
                   layers.Reshape((frames, bands), name="dec_mel")]

    def decode(z):
        for lay in dec_layers:
            z = lay(z)
        return z

    inp = keras.Input((frames, bands), name="mel")
    x = layers.Reshape((frames, bands, 1), name="enc_image")(inp)
    for lay in enc_layers:
        x = lay(x)
    flat = layers.Flatten(name="enc_flat")
    z = flat(x)
    out = decode(z)
    autoencoder = keras.Model(inp, out, name=name)
    encoder = keras.Model(inp, z, name=f"{name}_encoder")
    z_in = keras.Input((lf * lb * lc,), name="latent")
    decoder = keras.Model(z_in, decode(z_in), name=f"{name}_decoder")
    return autoencoder, encoder, decoder


def parts(autoencoder):
    """(encoder, decoder) sharing the layers of an ``autoencoder`` from :func:`build_autoencoder`
    (e.g. the model a :class:`~mer_utils.training.Trainer` trained): the encoder maps a mel
    spectrogram to the flat ``enc_flat`` output, the decoder applies the ``dec_*`` layers."""
    import keras

    encoder = keras.Model(autoencoder.input, autoencoder.get_layer("enc_flat").output,
                          name=f"{autoencoder.name}_encoder")
    z_in = keras.Input(tuple(autoencoder.get_layer("enc_flat").output.shape[1:]), name="latent")
    z = z_in
    for lay in autoencoder.layers:
        if lay.name.startswith("dec_"):
            z = lay(z)
    return encoder, keras.Model(z_in, z, name=f"{autoencoder.name}_decoder")


def encode(autoencoder, X: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Latent codes (n, latent values) of ``X`` (already scaled to [-1, 1]) by the encoder of a
    trained ``autoencoder``, in inference mode."""
    encoder, _ = parts(autoencoder)
    return np.asarray(encoder.predict(X, batch_size=batch_size, verbose=0), dtype=np.float32)


def decode(autoencoder, Z: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Spectrograms in [-1, 1] decoded from latent codes ``Z`` by a trained ``autoencoder``'s
    decoder (an empty ``Z`` gives an empty (0, frames, bands) array)."""
    _, decoder = parts(autoencoder)
    if len(Z) == 0:
        return np.zeros((0, *decoder.output_shape[1:]), np.float32)
    return np.asarray(decoder.predict(Z, batch_size=batch_size, verbose=0), dtype=np.float32)


def scale_11(X: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Each sample to [-1, 1] by its own min / max (the released code's ``normalize_11``);
    also returns the mean centre and half-range over the samples, to map decoded samples back."""
    X = np.asarray(X, dtype=np.float32)
    axes = tuple(range(1, X.ndim))
    lo, hi = X.min(axis=axes, keepdims=True), X.max(axis=axes, keepdims=True)
    centre, half = (hi + lo) / 2, np.maximum((hi - lo) / 2, 1e-6)
    return ((X - centre) / half).astype(np.float32), float(centre.mean()), float(half.mean())


def unscale_11(X: np.ndarray, centre: float, half: float) -> np.ndarray:
    """Back from [-1, 1] with one centre / half-range (the released code's ``denormalize``)."""
    return (np.asarray(X, dtype=np.float32) * half + centre).astype(np.float32)
