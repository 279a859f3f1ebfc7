"""Audio augmentation: synthesised copies of training clips.

The methods-comparison paper (Louro et al., Sec. 3.6) pre-trains its Hybrid's CNN with four
transformed copies of every training clip, each transform "randomly increase or decrease a
factor": **time shift** ("shifts start or end by five seconds"), **pitch shift** ("by two
semitones"), **time stretch** ("speeding up or slowing down by 50%") and **gain** ("increasing
or decreasing amplitude by 10 dB"). :data:`HYBRID_TRANSFORMS` are those four; where the paper
gives a bound and not a rule we follow the team's released code (read, not copied):

* ``time_shift`` — roll by a whole number of samples drawn uniformly below ``max_seconds`` x
  sr, in a random direction, the vacated part set to silence (length unchanged);
* ``pitch_shift`` — ``librosa.effects.pitch_shift`` by +-``semitones`` (random sign);
* ``time_stretch`` — ``librosa.effects.time_stretch`` at rate 1 +- ``factor`` (0.5 or 1.5),
  then cut or zero-padded back to the input length;
* ``gain`` — multiply by 10^(+-``db``/20) (the released code adds +-10 dB to the dB mel
  spectrogram, which is the same thing up to the 80-dB floor).

Every transform takes a local ``numpy.random.Generator``: :func:`augment` seeds one per
(clip id, transform, seed), so a copy is the same on every run and every machine, and can be
cached per (clip, transform, parameters, seed). Which clips get copies is the caller's
business — the rule is that only the training rows of a unit are ever transformed.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

__all__ = ["time_shift", "pitch_shift", "time_stretch", "gain", "HYBRID_TRANSFORMS", "augment",
           "transform_rng", "input_needed"]


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.integers(0, 2) else -1.0


def time_shift(y: np.ndarray, sr: int, rng: np.random.Generator, *, max_seconds: float = 5.0) -> np.ndarray:
    """Shift the clip by up to ``max_seconds`` (random direction), filling with silence."""
    y = np.asarray(y, dtype=np.float32)
    n = int(rng.integers(0, max(1, int(round(max_seconds * sr)))))
    n = min(n, len(y))
    out = np.zeros_like(y)
    if _sign(rng) > 0:          # later: silence first
        out[n:] = y[:len(y) - n]
    else:                       # earlier: silence at the end
        out[:len(y) - n] = y[n:]
    return out


def pitch_shift(y: np.ndarray, sr: int, rng: np.random.Generator, *, semitones: float = 2.0) -> np.ndarray:
    """Pitch up or down by ``semitones`` (random sign), duration unchanged."""
    import librosa

    return librosa.effects.pitch_shift(y=np.asarray(y, dtype=np.float32), sr=sr,
                                       n_steps=_sign(rng) * semitones).astype(np.float32)


def time_stretch(y: np.ndarray, sr: int, rng: np.random.Generator, *, factor: float = 0.5) -> np.ndarray:
    """Speed up or slow down by ``factor`` (rate 1 +- factor), back to the input length."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    rate = 1.0 + _sign(rng) * factor
    out = librosa.effects.time_stretch(y=y, rate=rate).astype(np.float32)
    return out[:len(y)] if len(out) >= len(y) else np.pad(out, (0, len(y) - len(out)))


def gain(y: np.ndarray, sr: int, rng: np.random.Generator, *, db: float = 10.0) -> np.ndarray:
    """Louder or quieter by ``db`` decibels (random sign)."""
    return (np.asarray(y, dtype=np.float32) * np.float32(10.0 ** (_sign(rng) * db / 20.0))).astype(np.float32)


#: The Hybrid's four transforms with the paper's magnitudes.
HYBRID_TRANSFORMS: dict[str, tuple[Callable, dict]] = {
    "time_shift": (time_shift, {"max_seconds": 5.0}),
    "pitch_shift": (pitch_shift, {"semitones": 2.0}),
    "time_stretch": (time_stretch, {"factor": 0.5}),
    "gain": (gain, {"db": 10.0}),
}


def transform_rng(clip_id: str, transform: str, seed: int) -> np.random.Generator:
    """The generator of one (clip, transform, seed): stable across runs and machines."""
    digest = hashlib.sha1(f"{clip_id}\x1f{transform}\x1f{int(seed)}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def augment(y: np.ndarray, sr: int, clip_id: str, transform: str, *, seed: int = 0,
            transforms: dict[str, tuple[Callable, dict]] = HYBRID_TRANSFORMS, **params) -> np.ndarray:
    """One transformed copy of clip ``clip_id`` (same length as ``y``), reproducible per seed.

    ``params`` override the transform's default magnitudes.
    """
    if transform not in transforms:
        raise ValueError(f"unknown transform {transform!r}; choose one of {', '.join(transforms)}")
    fn, defaults = transforms[transform]
    return fn(y, sr, transform_rng(clip_id, transform, seed), **{**defaults, **params})


def input_needed(n_out: int, sr: int, *, max_shift_seconds: float = 5.0, max_rate: float = 1.5) -> int:
    """Samples of input a transform may read to produce the first ``n_out`` output samples
    (a 1.5x stretch reads 1.5 n_out; a shift reads up to 5 s more). Transforming only that
    excerpt gives the same first ``n_out`` samples as transforming the whole clip (up to the
    edge effects of pitch shifting at the excerpt's end), at a fraction of the cost."""
    return int(np.ceil(max_rate * n_out)) + int(round(max_shift_seconds * sr)) + 4096
