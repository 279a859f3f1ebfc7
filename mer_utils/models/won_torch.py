"""Won et al.'s PyTorch CRNN weights (sota-music-tagging-models) -> the Keras CRNN.

The methods-comparison paper (Sec. 3.7) fine-tunes "the available weights for the CRNN model
on Won's repository", trained on MagnaTagATune (``models/mtat/crnn/best_model.pth``, a
~1.7 MB state dict; not redistributed here). Put it at
``<MER_CACHE>/weights/won_crnn_mtat/best_model.pth`` (:func:`default_path`);
:func:`load_state_dict` reads it with ``torch`` (an optional dependency, imported only
there) and :func:`convert_state_dict` copies it into :func:`mer_utils.models.won_tagging.build_won_crnn`.

Key names (Won's ``training/model.py`` ``CRNN``, also the paper's copy of it): ``spec_bn``
(BatchNorm2d(1)), ``layer1..4.conv`` / ``.bn`` (Conv_2d blocks 64, 128, 128, 128), ``layer5``
(``nn.GRU(128, 32, 2, batch_first=True)``: ``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, then ``_l1``), ``dense`` (Linear(32, 50)); ``spec.*`` (the
torchaudio mel front end's buffers) and ``num_batches_tracked`` are not weights of the
network and are skipped. The tagging head ``dense`` is dropped (``head=False``): the paper
replaces it with a 4-quadrant output.

Layout conversions:

* conv: torch ``(out, in, freq, time)`` on a ``(batch, 1, freq, time)`` input; our Keras
  CRNN reads ``(frames, bands)`` as an image ``(time, freq, 1)``, so the kernel becomes
  ``(time, freq, in, out)``;
* batch norm: gamma/beta/mean/var as they are; PyTorch's eps (1e-5) is set on the Keras
  layers (Keras's default is 1e-3);
* GRU: torch stacks gates (r, z, n), Keras (z, r, h); both use the reset gate after the
  recurrent matmul (Keras ``reset_after=True``), so kernels are transposed and reordered and
  the two biases stacked as Keras's ``(2, 3 units)`` bias.

Won's CRNN sees 96 mel bands (torchaudio, n_fft 512); the paper fed it its own 128-band
librosa mel (942 x 128) — the convolutions do not care, the GRU sees the same 128 channels.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

__all__ = ["default_path", "load_state_dict", "convert_state_dict", "gru_weights", "TORCH_BN_EPS"]

TORCH_BN_EPS = 1e-5


def default_path() -> Path:
    """Where a user puts Won's MTAT CRNN state dict (``best_model.pth``)."""
    from mer_utils.config import CACHE_DIR

    return Path(os.environ.get("MER_CACHE", CACHE_DIR)) / "weights" / "won_crnn_mtat" / "best_model.pth"


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``.pth`` state dict as numpy arrays (needs ``torch``; loaded on CPU, weights only)."""
    import torch

    sd = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    return {k.removeprefix("module."): v.detach().cpu().numpy() for k, v in sd.items()}


def gru_weights(w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> list[np.ndarray]:
    """One torch GRU layer -> Keras GRU ``[kernel, recurrent_kernel, bias]`` (reset_after)."""
    def reorder(a):                    # torch (r, z, n) -> keras (z, r, n) along axis 0
        r, z, n = np.split(np.asarray(a, dtype=np.float32), 3, axis=0)
        return np.concatenate([z, r, n], axis=0)
    return [reorder(w_ih).T.copy(), reorder(w_hh).T.copy(), np.stack([reorder(b_ih), reorder(b_hh)])]


def convert_state_dict(model, sd: Mapping[str, np.ndarray], *, head: bool = False) -> list[str]:
    """Copy Won's CRNN state dict into a Keras CRNN from ``build_won_crnn``; returns keys used.

    Raises ``ValueError`` on a missing key, a shape mismatch, or an unused network key.
    ``head=True`` also copies ``dense`` into the model's ``softmax`` layer (class counts must
    match).
    """
    used: list[str] = []

    def get(k):
        if k not in sd:
            raise ValueError(f"state dict has no {k!r} (keys: {sorted(sd)[:8]}...)")
        used.append(k)
        return np.asarray(sd[k], dtype=np.float32)

    def set_layer(name, values):
        layer = model.get_layer(name)
        want = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if want != got:
            raise ValueError(f"{name}: model shapes {want}, converted {got}")
        layer.set_weights(values)

    def bn(prefix, name):
        set_layer(name, [get(f"{prefix}.weight"), get(f"{prefix}.bias"), get(f"{prefix}.running_mean"),
                         get(f"{prefix}.running_var")])
        model.get_layer(name).epsilon = TORCH_BN_EPS

    bn("spec_bn", "spec_bn")
    for i in range(1, 5):
        w = get(f"layer{i}.conv.weight")                       # (out, in, freq, time)
        set_layer(f"layer{i}_conv", [w.transpose(3, 2, 1, 0), get(f"layer{i}.conv.bias")])
        bn(f"layer{i}.bn", f"layer{i}_bn")
    for l in range(2):
        set_layer(f"gru_{l}", gru_weights(get(f"layer5.weight_ih_l{l}"), get(f"layer5.weight_hh_l{l}"),
                                          get(f"layer5.bias_ih_l{l}"), get(f"layer5.bias_hh_l{l}")))
    if head:
        set_layer("softmax", [get("dense.weight").T.copy(), get("dense.bias")])
    else:
        used += [k for k in ("dense.weight", "dense.bias") if k in sd]
    left = [k for k in sd if k not in used and not k.startswith("spec.") and not k.endswith("num_batches_tracked")]
    if left:
        raise ValueError(f"state dict keys not used by the Keras CRNN: {left[:10]}")
    return used
