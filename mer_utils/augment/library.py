"""Waveform augmentations with ``audiomentations`` at the library's default parameter ranges.

The methods-comparison paper (Louro et al., Sec. 3.6) trains its DL baseline with one extra
transform at a time "using the audiomentations library": **Time-Frequency Masking** (TFM,
"a mask over a portion of the time- and frequency-domain"), **Seven-Band Parametric
Equalization** (SB, "a seven-filter pass on the sample") and **Random Gain** (RG, "between
[-12.0, 12.0] dB"); "these intervals have been kept the same as the default values in the
library". :data:`AUDIO_TRANSFORMS` are those three, every transform applied with ``p=1``
(each copy is transformed; the paper does not say it skipped any):

* ``tfm`` — ``Compose([TimeMask(), BandStopFilter()])``: audiomentations' waveform time mask
  (1-20 % of the clip silenced, 5-ms fades) followed by its band-stop filter (centre
  200-4000 Hz, bandwidth 0.5-1.99 x the centre, roll-off 12-24 dB/octave), the library's frequency
  mask (``FrequencyMask`` was renamed ``BandStopFilter``);
* ``sb`` — ``SevenBandParametricEQ()``: seven peaking/shelf filters, gains -12..+12 dB;
* ``rg`` — ``Gain()``: -12..+12 dB.

audiomentations draws its parameters from Python's ``random`` and numpy's global generator.
:func:`augment_audio` seeds both from (clip id, transform, seed) — the generator of
:func:`mer_utils.augment.waveform.transform_rng` — and restores their previous states, so a copy is
the same on every run and can be cached per (clip, transform, parameters, seed)
(:func:`transform_config` is the parameter part of that key). Which clips are transformed
is the caller's business; the rule is that only a unit's training rows ever are.

audiomentations 0.43.1 and its own dependencies are pinned in pyproject.toml (main
dependencies; soxr is pinned below 1.0 for it). Where it is missing (an older environment),
:func:`available` is False and the rows that need it say so.
"""
from __future__ import annotations

import contextlib
import random
from typing import Any

import numpy as np

from mer_utils.augment.waveform import transform_rng

__all__ = ["AUDIO_TRANSFORMS", "TRANSFORM_NAMES", "available", "build_transform", "augment_audio",
           "transform_config", "AUDIOMENTATIONS_VERSION"]

#: the version whose default ranges the copies use (part of every cache key)
AUDIOMENTATIONS_VERSION = "0.43.1"

#: transform key -> (audiomentations classes applied in order, paper's name)
AUDIO_TRANSFORMS: dict[str, tuple[tuple[str, ...], str]] = {
    "tfm": (("TimeMask", "BandStopFilter"), "Time-Frequency Masking"),
    "sb": (("SevenBandParametricEQ",), "Seven-Band Parametric Equalization"),
    "rg": (("Gain",), "Random Gain (-12..+12 dB)"),
}
TRANSFORM_NAMES = {k: v[1] for k, v in AUDIO_TRANSFORMS.items()}


def available() -> tuple[bool, str]:
    """(importable, reason): whether audiomentations can be used here."""
    try:
        import audiomentations
    except ImportError as exc:  # pragma: no cover - depends on the environment
        return False, f"audiomentations is not installed ({exc}); `pip install -e .` installs the pinned version"
    return True, f"audiomentations {audiomentations.__version__}"


def build_transform(key: str):
    """The audiomentations transform of ``key`` at the library's default ranges, p=1."""
    import audiomentations as A

    if key not in AUDIO_TRANSFORMS:
        raise ValueError(f"unknown transform {key!r}; choose one of {', '.join(AUDIO_TRANSFORMS)}")
    parts = [getattr(A, name)(p=1.0) for name in AUDIO_TRANSFORMS[key][0]]
    return parts[0] if len(parts) == 1 else A.Compose(parts, p=1.0)


def transform_config(key: str) -> dict[str, Any]:
    """What decides a copy besides (clip, seed): the classes, their default arguments, the
    library version (the cache key's parameter part)."""
    import inspect

    import audiomentations as A

    out = {"transform": key, "audiomentations": A.__version__, "p": 1.0}
    for name in AUDIO_TRANSFORMS[key][0]:
        sig = inspect.signature(getattr(A, name).__init__)
        out[name] = {k: v.default for k, v in sig.parameters.items()
                     if k not in ("self", "p", "kwargs") and v.default is not inspect.Parameter.empty}
    return out


@contextlib.contextmanager
def _seeded(seed_int: int):
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed_int)
    np.random.seed(seed_int % (2 ** 32))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def augment_audio(y: np.ndarray, sr: int, clip_id: str, key: str, *, seed: int = 0,
                  transform=None) -> tuple[np.ndarray, dict]:
    """One transformed copy of clip ``clip_id`` and the parameters drawn for it.

    Reproducible per (clip, transform, seed); the global random states are left as found.
    """
    tf = transform if transform is not None else build_transform(key)
    seed_int = int(transform_rng(clip_id, f"audiomentations:{key}", seed).integers(0, 2 ** 63 - 1))
    with _seeded(seed_int):
        z = tf(samples=np.asarray(y, dtype=np.float32), sample_rate=int(sr))
    params = {}
    for t in getattr(tf, "transforms", [tf]):
        params[type(t).__name__] = {k: (float(v) if isinstance(v, (np.floating, float)) else v)
                                    for k, v in t.parameters.items() if k != "should_apply"
                                    and np.isscalar(v)}
    return np.asarray(z, dtype=np.float32), params
