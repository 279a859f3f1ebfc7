"""Spectrogram front ends: one named, frozen configuration per paper, and the DSP behind them
(see the package docstring for each front end's derivation)."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from mer_utils import audio
from mer_utils.audio import AudioError

_AMIN = 1e-10


# =========================================================================== front ends
@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """One spectrogram front end. ``derivation``/``paper`` are documentation, not hashed."""

    name: str
    paper: str
    sr: int
    n_fft: int
    hop_length: int
    n_mels: int = 128
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    fmin: float = 0.0
    fmax: float | None = None
    power: float = 2.0
    ref: str = "1.0"                 # "1.0" (librosa default) | "source_max" (per source, at render)
    top_db: float | None = 80.0
    clip: str = "first"              # "first" | "central" | "none"
    clip_seconds: float | None = None
    pad: str = "zero"                # "none" | "zero" | "repeat" (to clip_seconds / n_frames)
    n_frames: int | None = None      # fixed frame count (crop / pad), None = what the clip gives
    segment_seconds: float | None = None
    segment_hop: float = 1.0
    image_size: int | None = None
    min_seconds: float = 1.0         # shorter decoded audio -> AudioError (skipped), whatever the padding
    derivation: str = ""
    version: int = 1

    def cache_config(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("derivation")
        d.pop("paper")
        return d

    def frames_for(self, seconds: float) -> int:
        """Centred frames that ``seconds`` of audio give (before fixing to ``n_frames``)."""
        n = int(round(seconds * self.sr))
        if self.center:
            return 1 + n // self.hop_length
        return 0 if n < self.n_fft else 1 + (n - self.n_fft) // self.hop_length


FRONT_ENDS: dict[str, FrontEnd] = {
    "javadi_cnn": FrontEnd(
        name="javadi_cnn", paper="multi-label (Javadi et al.)", sr=22050, n_fft=2048,
        hop_length=456, clip="first", clip_seconds=29.1, pad="zero", n_frames=1407,
        derivation="29.1 s x 22050 Hz = 641,655 samples; hop 456 (= 641,655/1406 rounded): "
                   "1 + floor(641,655/456) = 1408 centred frames, first 1407 kept"),
    "cazzaniga_image": FrontEnd(
        name="cazzaniga_image", paper="multi-source (Cazzaniga et al.)", sr=22050, n_fft=2048,
        hop_length=512, ref="source_max", top_db=80.0, clip="central", clip_seconds=24.0,
        pad="none", n_frames=None, image_size=300,
        derivation="central 24 s x 22050 Hz = 529,200 samples: 1 + floor(529,200/512) = 1034 "
                   "frames; dB re the max over the source's spectrograms, 300x300x3 image"),
    "sun_segment": FrontEnd(
        name="sun_segment", paper="semi-supervised (Sun et al.)", sr=22050, n_fft=1024,
        hop_length=512, clip="first", clip_seconds=30.0, pad="zero", n_frames=1292,
        segment_seconds=3.0, segment_hop=1.0,
        derivation="per segment: 3 s = 66,150 samples -> 1 + floor(66,150/512) = 130 frames; "
                   "whole clip: 30 s -> 1 + floor(661,500/512) = 1292 frames"),
    "velankar_crnn": FrontEnd(
        name="velankar_crnn", paper="CRNN (Velankar et al.)", sr=11025, n_fft=2048,
        hop_length=512, clip="first", clip_seconds=30.0, pad="repeat", n_frames=640,
        derivation="640 x 512 = 327,680 samples ~ 30 s at ~11 kHz: 30 s x 11025 Hz = 330,750 "
                   "samples -> 646 centred frames, first 640 (29.7 s) kept"),
    "louro_mel": FrontEnd(
        name="louro_mel", paper="methods comparison (Louro et al.)", sr=16000, n_fft=2048,
        hop_length=512, clip="none", clip_seconds=None, pad="zero", n_frames=942,
        derivation="librosa defaults at 16 kHz: 942 = 1 + floor(N/512) for N in "
                   "[481,792, 482,304) samples = 30.11-30.14 s; cut / zero-padded to 942"),
}


def get_front_end(name: str | FrontEnd) -> FrontEnd:
    if isinstance(name, FrontEnd):
        return name
    try:
        return FRONT_ENDS[name]
    except KeyError:
        raise ValueError(f"Unknown front end {name!r}; choose one of {', '.join(FRONT_ENDS)}") from None


def expected_frames(name: str | FrontEnd, seconds: float | None = None) -> int:
    """Frames :func:`spectrogram` returns for a clip of ``seconds`` (fixed ones: n_frames)."""
    fe = get_front_end(name)
    if fe.n_frames is not None:
        return fe.n_frames
    if fe.clip_seconds is not None:
        return fe.frames_for(fe.clip_seconds)
    if seconds is None:
        raise ValueError(f"{fe.name} has no fixed length; pass seconds")
    return fe.frames_for(seconds)


@functools.lru_cache(maxsize=32)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


def prepare_clip(y: np.ndarray, sr: int, fe: FrontEnd, path="<array>") -> np.ndarray:
    """Resample to ``fe.sr`` if needed and apply the front end's clip / pad policy."""
    if sr != fe.sr:
        y = audio.resample(y, sr, fe.sr)
    if fe.clip == "central":
        y = audio.central_crop(y, fe.sr, fe.clip_seconds, on_short="raise", path=path)
    elif fe.clip == "first" and fe.clip_seconds is not None:
        y = audio.first_seconds(y, fe.sr, fe.clip_seconds, on_short="keep")
        if fe.pad != "none" and fe.n_frames is None:
            y = audio.pad(y, int(round(fe.clip_seconds * fe.sr)), fe.pad)
    if fe.n_frames is not None:
        # exactly the samples whose centred frames are the first n_frames (frames past
        # them would need samples we drop), padded with the policy when the clip is short
        need = (fe.n_frames - 1) * fe.hop_length + (fe.n_fft // 2 if fe.center else fe.n_fft)
        y = audio.pad(y, need, fe.pad if fe.pad != "none" else "zero") if len(y) < need else y[:need]
    return y


def _stft_mag(y: np.ndarray, n_fft: int, hop: int, *, center: bool = True, window: str = "hann",
              win_length: int | None = None) -> np.ndarray:
    """|STFT| as librosa computes it (centred frames with constant padding, periodic
    window), time-major: (..., frames, bins) float32. One batched single-threaded real FFT
    over a strided view of the signal (no copies besides the windowed frames)."""
    import scipy.fft

    y = np.asarray(y, dtype=np.float32)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)])
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft, axis=-1)[..., ::hop, :]
    return np.abs(scipy.fft.rfft(frames * _window(window, n_fft, win_length), axis=-1, workers=1))


def _mel_power(y: np.ndarray, fe: FrontEnd) -> np.ndarray:
    """(..., n_mels, frames) mel power of y (any leading batch dims allowed)."""
    S = _stft_mag(y, fe.n_fft, fe.hop_length, center=fe.center, window=fe.window, win_length=fe.win_length)
    if fe.power != 1.0:
        S = S ** fe.power if fe.power != 2.0 else S * S
    mel = _mel_basis(fe.sr, fe.n_fft, fe.n_mels, fe.fmin, fe.fmax)
    return np.swapaxes(S @ mel.T, -1, -2)


def _to_db(M: np.ndarray, fe: FrontEnd) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(M, _AMIN))
    if fe.ref == "source_max":
        return db  # referenced and clipped per source at render time
    if fe.top_db is not None:
        top = db.max(axis=(-2, -1), keepdims=True)
        db = np.maximum(db, top - fe.top_db)
    return db


def spectrogram(y: np.ndarray, sr: int, name: str | FrontEnd, *, clip: bool = True,
                path="<array>") -> np.ndarray:
    """Mel spectrogram of one clip with the named front end -> (frames, bands) float32.

    ``clip=True`` applies the front end's clip/pad policy and fixed frame count;
    ``clip=False`` transforms ``y`` as given. Input at another rate is resampled.
    For ``cazzaniga_image`` the values are unreferenced dB (see :func:`spectrogram_image`).
    """
    fe = get_front_end(name)
    y = np.asarray(y, dtype=np.float32)
    if clip:
        y = prepare_clip(y, sr, fe, path)
    elif sr != fe.sr:
        y = audio.resample(y, sr, fe.sr)
    M = _mel_power(y, fe)
    if clip and fe.n_frames is not None:
        M = M[:, : fe.n_frames]
    return np.ascontiguousarray(_to_db(M, fe).T, dtype=np.float32)


def segment_spectrograms(y: np.ndarray, sr: int, name: str | FrontEnd = "sun_segment", *,
                         seconds: float | None = None, hop_seconds: float | None = None,
                         path="<array>") -> np.ndarray:
    """Segment the clip (no padding, hop 1 s) and return (n_segments, frames, bands)."""
    fe = get_front_end(name)
    seconds = seconds or fe.segment_seconds or 3.0
    hop_seconds = hop_seconds or fe.segment_hop
    if sr != fe.sr:
        y = audio.resample(np.asarray(y, dtype=np.float32), sr, fe.sr)
    segs = audio.segment(y, fe.sr, seconds, hop_seconds)
    if len(segs) == 0:
        raise AudioError(path, f"too short for one {seconds:g}-s segment ({len(y) / fe.sr:.2f} s)",
                         "segments are not padded; drop the clip or use shorter segments")
    M = _mel_power(segs, fe)  # (n, mels, frames), one batched STFT
    return np.ascontiguousarray(np.swapaxes(_to_db(M, fe), 1, 2), dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _window(window: str, n_fft: int, win_length: int | None = None) -> np.ndarray:
    """librosa's analysis window: periodic, centred and zero-padded to n_fft."""
    import librosa

    w = librosa.filters.get_window(window, win_length or n_fft, fftbins=True)
    return librosa.util.pad_center(w, size=n_fft).astype(np.float32)


def _hann(n: int) -> np.ndarray:
    return _window("hann", n)
