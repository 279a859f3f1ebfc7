"""Keras 3 builders for Javadi et al.'s two networks over a VGGish sequence (or a mel
spectrogram): a strided CNN and a patch Transformer, multi-label, sigmoid outputs.

Both take a (rows, frames) input — the paper's "(16, 1, 128, 1407)" batch: the 1407 x 128
VGGish sequence transposed to (128, 1407) (:func:`mer_utils.embeddings.embed_sequence`), or,
as an ablation, the (128, 1407) mel spectrogram of the ``"javadi_cnn"`` front end — and end
in one sigmoid per label. The builders only build: the paper's training ("100 epochs using
learning rate = 0.001 and adam optimizer", binary cross-entropy) is a
:class:`mer_utils.training.Recipe` in :mod:`mer_utils.papers.javadi.pipeline`, and scores
come from :meth:`mer_utils.training.Trainer.predict`. Use :func:`to_model_input` to turn
(n, frames, rows) arrays into (n, rows, frames).

* :func:`build_javadi_cnn`, after Javadi et al., Sec. 3.3: "four convolutional blocks", "by applying
  strides and kernels we reduce the width and height of the features", then the maps are
  "pooled and flattened to a shape of (16, 128)" and fed to "the Linear layer" and a
  sigmoid. So: four blocks of Conv2D (3 x 3, **stride 2**, same padding) -> BatchNorm ->
  ReLU, with no pooling layers (the strides do the down-sampling), the last block with 128
  filters; global average pooling to a 128-d vector; ``Dense(n_labels)``; sigmoid. The
  kernel size, the first three filter counts (16, 32, 64: "step up the depth" to 128) and
  the kind of pooling are not given in the paper: ours are documented defaults.
* :func:`build_javadi_transformer`: a ViT-style encoder over non-overlapping 2-D patches
  of the same input ("the 2D array is divided to patches"): linear patch embedding as a
  strided Conv2D, learned position embeddings, pre-norm encoder blocks, mean pooling over
  patches, linear + sigmoid. Sizes are ours (the paper gives none).

Only ``keras.layers`` / ``keras.ops`` are used, so the builders run under the TensorFlow,
torch and JAX backends.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["to_model_input", "build_javadi_cnn", "build_javadi_transformer", "PatchPositionEmbedding"]


def to_model_input(X: np.ndarray, *, max_frames: int | None = None) -> np.ndarray:
    """(n, frames, rows) spectrograms or embedding sequences -> (n, rows, frames) float32,
    optionally cropped.

    ``max_frames`` keeps the central ``max_frames`` frames (the smoke/demo profiles use a
    shorter excerpt to fit a 2-core CPU; ``None`` keeps everything, the paper setting).
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"expected (n, frames, rows) arrays, got shape {X.shape}")
    if max_frames is not None and X.shape[1] > max_frames:
        start = (X.shape[1] - max_frames) // 2
        X = X[:, start:start + max_frames]
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)))


def build_javadi_cnn(input_shape: Sequence[int], n_labels: int, *,
                     filters: Sequence[int] = (16, 32, 64, 128), kernel_size: int = 3,
                     strides: int = 2, dropout: float = 0.0):
    """Javadi et al.'s CNN (Sec. 3.3): four strided conv blocks -> global average pool (128) -> linear -> sigmoid.

    ``input_shape`` is (rows, frames), e.g. (128, 1407); ``frames`` may be ``None``
    (variable length: the global pooling makes the head length-independent).
    ``filters[-1]`` must be 128 (the paper pools to a 128-d vector). Each block halves both
    axes (``strides=2``): (128, 1407) -> (8, 88) x 128 after four blocks.
    """
    import keras
    from keras import layers

    if len(filters) != 4:
        raise ValueError("the paper's CNN has exactly four conv blocks (4 filter counts)")
    if filters[-1] != 128:
        raise ValueError("the last block must have 128 filters (pooled to a 128-d vector)")
    if int(strides) < 1:
        raise ValueError("strides must be >= 1")
    rows, frames = input_shape
    inp = keras.Input(shape=(rows, frames), name="input")
    x = layers.Reshape((rows, -1, 1))(inp)
    x = layers.BatchNormalization(name="input_norm")(x)
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, kernel_size, strides=int(strides), padding="same", use_bias=False,
                          name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
    x = layers.GlobalAveragePooling2D(name="pool_to_128")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    logits = layers.Dense(n_labels, name="linear")(x)
    out = layers.Activation("sigmoid", name="sigmoid")(logits)
    return keras.Model(inp, out, name="javadi_cnn")


def _position_embedding_layer():
    import keras

    @keras.saving.register_keras_serializable(package="mer_utils")
    class PatchPositionEmbedding(keras.layers.Layer):
        """Adds a learned embedding per patch position to a (batch, patches, dim) tensor."""

        def build(self, input_shape):
            self.pos = self.add_weight(shape=(1, input_shape[1], input_shape[2]),
                                       initializer=keras.initializers.RandomNormal(stddev=0.02),
                                       name="pos")

        def call(self, x):
            return x + keras.ops.cast(self.pos, x.dtype)

    return PatchPositionEmbedding


PatchPositionEmbedding = None  # bound lazily (keeps `import mer_utils.models.vggish_sequence` light)


def build_javadi_transformer(input_shape: Sequence[int], n_labels: int, *,
                             patch_size: tuple[int, int] = (16, 16), d_model: int = 64,
                             num_heads: int = 4, num_layers: int = 2, mlp_dim: int = 128,
                             dropout: float = 0.1):
    """Javadi et al.'s Transformer (Sec. 3.4): an encoder over 2-D patches of the (bands, frames) input.

    Non-overlapping ``patch_size`` patches (a frame remainder is dropped) are linearly
    embedded to ``d_model``, get learned position embeddings, pass ``num_layers`` pre-norm
    blocks (multi-head self-attention + MLP, residual), are mean-pooled and mapped to
    ``n_labels`` sigmoid outputs. Sizes are documented defaults (not given in the paper).
    """
    import keras
    from keras import layers

    global PatchPositionEmbedding
    if PatchPositionEmbedding is None:
        PatchPositionEmbedding = _position_embedding_layer()
    bands, frames = input_shape
    if frames is None:
        raise ValueError("the Transformer needs a fixed number of frames (position embeddings)")
    ph, pw = patch_size
    if bands < ph or frames < pw:
        raise ValueError(f"input {tuple(input_shape)} is smaller than one patch {patch_size}")
    n_patches = (bands // ph) * (frames // pw)
    inp = keras.Input(shape=(bands, frames), name="input")
    x = layers.Reshape((bands, frames, 1))(inp)
    x = layers.BatchNormalization(name="input_norm")(x)
    x = layers.Conv2D(d_model, kernel_size=patch_size, strides=patch_size, padding="valid",
                      name="patch_embed")(x)
    x = layers.Reshape((n_patches, d_model), name="patches")(x)
    x = PatchPositionEmbedding(name="pos_embed")(x)
    x = layers.Dropout(dropout)(x)
    for i in range(num_layers):
        h = layers.LayerNormalization(epsilon=1e-6, name=f"ln_a{i}")(x)
        h = layers.MultiHeadAttention(num_heads=num_heads, key_dim=d_model // num_heads,
                                      dropout=dropout, name=f"mha{i}")(h, h)
        x = layers.Add(name=f"res_a{i}")([x, h])
        h = layers.LayerNormalization(epsilon=1e-6, name=f"ln_b{i}")(x)
        h = layers.Dense(mlp_dim, activation="gelu", name=f"mlp{i}_1")(h)
        h = layers.Dropout(dropout)(h)
        h = layers.Dense(d_model, name=f"mlp{i}_2")(h)
        x = layers.Add(name=f"res_b{i}")([x, h])
    x = layers.LayerNormalization(epsilon=1e-6, name="ln_out")(x)
    x = layers.GlobalAveragePooling1D(name="mean_over_patches")(x)
    logits = layers.Dense(n_labels, name="linear")(x)
    out = layers.Activation("sigmoid", name="sigmoid")(logits)
    return keras.Model(inp, out, name="javadi_transformer")
