"""EfficientNet backbone + a dense head: the image classifier of Cazzaniga, Gasparini &
Saibene, *A multi-source deep learning model for music emotion recognition* (AIxHMI 2024).

The paper's model (Sec. 4.2): EfficientNetB3 "pre-trained using ImageNet", then

    Flatten -> Dense 512 ReLU -> Dropout 0.5 -> Dense 128 ReLU -> Dropout 0.3
            -> Dense 64 ReLU -> Dropout 0.1 -> Dense 4 softmax

trained with sparse categorical cross-entropy and Adam (learning rate 1e-5).

* :func:`build_classifier` — backbone (``keras.applications``, ``include_top=False``) +
  that head. The backbone takes RGB images with values in [0, 255] (Keras's EfficientNets
  rescale and normalise inside the network). The paper flattens "the last layer of
  EfficientNetB3": we read that as the un-pooled feature map (``pooling=None``; 10 x 10 x
  1536 at 300 x 300, so the first dense layer alone has 78.6 M weights); ``pooling="avg"``
  / ``"max"`` gives the common pooled variant (Flatten is then a no-op on 1536 values).
* ImageNet weights: :func:`imagenet_weights` fetches Keras's official file (the same URL
  and hash ``keras.applications`` uses) or finds it already on disk, and returns its
  path; offline it returns ``None`` and the reason, so the caller can fall back to random
  initialisation *and record that it did* (never presenting it as ImageNet). The file is
  then loaded by ``keras.applications.<Backbone>(weights=<path>)`` — the code path Keras
  itself uses after downloading, so a local weights file (``tests/test_models_efficientnet.py``
  makes one) exercises exactly what an online user runs.
* :func:`head_summary` — the head's layers and their parameters (the backbone / head split
  of a model's size; the total is :func:`mer_utils.evaluation.parameter_count`).

Training (Adam, early stopping, the reset between folds) is the engine's
(:class:`mer_utils.training.Trainer`); this file only says what the network is.

Only ``keras.layers`` / ``keras.applications`` / ``keras.ops`` are used (no ``tf.*``), so
the builder runs under ``KERAS_BACKEND=tensorflow``, ``torch`` or ``jax``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import keras

__all__ = ["BACKBONES", "HEAD_UNITS", "HEAD_DROPOUTS", "IMAGENET_FILES", "imagenet_weights",
           "build_backbone", "build_classifier", "head_summary", "head_parameter_count"]

# Backbones by name (narrower ones are offered for CPU-sized runs; the paper uses B3).
BACKBONES = {
    "EfficientNetB0": keras.applications.EfficientNetB0,
    "EfficientNetB1": keras.applications.EfficientNetB1,
    "EfficientNetB2": keras.applications.EfficientNetB2,
    "EfficientNetB3": keras.applications.EfficientNetB3,
}

# Keras's ImageNet "notop" weight files (keras.src.applications.efficientnet): name, hash.
WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"
IMAGENET_FILES = {
    "EfficientNetB0": ("efficientnetb0_notop.h5", "50bc09e76180e00e4465e1a485ddc09d"),
    "EfficientNetB1": ("efficientnetb1_notop.h5", "74c4e6b3e1f6a1eea24c589628592432"),
    "EfficientNetB2": ("efficientnetb2_notop.h5", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "EfficientNetB3": ("efficientnetb3_notop.h5", "af6d107764bb5b1abb91932881670226"),
}

HEAD_UNITS = (512, 128, 64)       # the paper's dense layers (ReLU)
HEAD_DROPOUTS = (0.5, 0.3, 0.1)   # the dropout after each of them


def _check_backbone(name: str) -> None:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


def imagenet_weights(backbone: str = "EfficientNetB3", *, search: Sequence[str | os.PathLike] = (),
                     download: bool = True) -> tuple[str | None, str]:
    """Path of the backbone's ImageNet weights (no top), and how it was found.

    Looks for Keras's file name (e.g. ``efficientnetb3_notop.h5``) in ``search`` folders
    first (e.g. ``data/cache/weights/``, where an offline user can place it), then asks
    ``keras.utils.get_file`` — which reuses ``~/.keras/models/`` and otherwise downloads
    from Keras's official location, checking the file's hash. Returns ``(path, "...")`` or,
    when the file cannot be had (offline, no copy), ``(None, reason)``.
    """
    _check_backbone(backbone)
    fname, file_hash = IMAGENET_FILES[backbone]
    for folder in search:
        p = Path(folder) / fname
        if p.is_file():
            return str(p), f"ImageNet weights from {p}"
    if not download:
        return None, f"{fname} not found in {[str(s) for s in search]} and downloading is off"
    try:
        path = keras.utils.get_file(fname, WEIGHTS_URL + fname, cache_subdir="models",
                                    file_hash=file_hash)
    except Exception as exc:  # noqa: BLE001 - offline: any fetch failure means "not available"
        return None, (f"{fname} could not be fetched from {WEIGHTS_URL} "
                      f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
    return str(path), f"ImageNet weights {fname} (Keras's official file, hash checked)"


def build_backbone(input_shape: Sequence[int], *, backbone: str = "EfficientNetB3",
                   weights: str | os.PathLike | None = None, pooling: str | None = None,
                   bn_momentum: float | None = None):
    """``keras.applications.<backbone>(include_top=False, weights=weights, ...)``.

    ``bn_momentum``: None keeps Keras's batch-normalisation momentum (0.99); a smaller value
    makes the moving mean and variance (what inference uses) follow the batches faster — a
    network trained from random initialisation for a few dozen steps otherwise predicts with
    statistics still close to their initial (0, 1) and gives one class for every input.

    ``weights``: None (random initialisation), a weights file (loaded by Keras exactly as
    after its own ImageNet download), or ``"imagenet"`` (Keras downloads it; prefer
    :func:`imagenet_weights`, which fails softly offline).
    """
    _check_backbone(backbone)
    if weights is not None and weights != "imagenet":
        weights = str(weights)
        if not Path(weights).is_file():
            raise FileNotFoundError(f"backbone weights file {weights} does not exist")
    base = BACKBONES[backbone](include_top=False, weights=weights, input_shape=tuple(input_shape),
                               pooling=pooling)
    if bn_momentum is not None:
        if not 0.0 <= float(bn_momentum) < 1.0:
            raise ValueError(f"bn_momentum must be in [0, 1), not {bn_momentum!r}")
        for layer in base._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = float(bn_momentum)
    return base


def build_classifier(input_shape: Sequence[int] = (300, 300, 3), n_classes: int = 4, *,
                     backbone: str = "EfficientNetB3", weights: str | os.PathLike | None = None,
                     pooling: str | None = None, units: Sequence[int] = HEAD_UNITS,
                     dropouts: Sequence[float] = HEAD_DROPOUTS, trainable_backbone: bool = True,
                     bn_momentum: float | None = None, name: str = "cazzaniga_efficientnet") -> keras.Model:
    """Backbone + Flatten + (Dense ReLU, Dropout) x len(units) + Dense softmax: Cazzaniga et
    al.'s classifier (Sec. 4.2: EfficientNetB3, Dense 512/128/64 ReLU with Dropout 0.5/0.3/0.1,
    Dense 4 softmax) with the paper's values as defaults.

    Input: (height, width, 3) images with values in [0, 255] (float or uint8-valued).
    """
    if len(units) != len(dropouts):
        raise ValueError(f"one dropout per dense layer: {len(units)} units, {len(dropouts)} dropouts")
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), not {tuple(input_shape)}")
    base = build_backbone(input_shape, backbone=backbone, weights=weights, pooling=pooling,
                          bn_momentum=bn_momentum)
    base.trainable = bool(trainable_backbone)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = base(inputs)
    x = keras.layers.Flatten(name="head_flatten")(x)
    for i, (u, d) in enumerate(zip(units, dropouts), 1):
        x = keras.layers.Dense(int(u), activation="relu", name=f"head_dense{i}")(x)
        x = keras.layers.Dropout(float(d), name=f"head_dropout{i}")(x)
    outputs = keras.layers.Dense(int(n_classes), activation="softmax", name="head_output")(x)
    return keras.Model(inputs, outputs, name=name)


def head_summary(model: keras.Model) -> list[dict[str, Any]]:
    """The layers after the backbone of a :func:`build_classifier` model (Cazzaniga et al.'s
    head): name, class, units / rate / activation, parameters. Their sum is the head's size;
    the backbone's is :func:`mer_utils.evaluation.parameter_count` minus it."""
    rows = []
    for layer in model.layers:
        if not layer.name.startswith("head_"):
            continue
        cfg = layer.get_config()
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "units": cfg.get("units"), "rate": cfg.get("rate"),
                     "activation": cfg.get("activation"), "parameters": int(layer.count_params())})
    return rows


def head_parameter_count(features: int, units: Sequence[int] = HEAD_UNITS, n_classes: int = 4) -> int:
    """Parameters of the head on ``features`` flattened backbone outputs (by hand)."""
    sizes = [int(features), *map(int, units), int(n_classes)]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
