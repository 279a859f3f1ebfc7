"""Spectrogram front ends (one named config per paper), handcrafted feature sets, extraction.

Front ends (:data:`FRONT_ENDS`, frozen :class:`FrontEnd` configs)
-----------------------------------------------------------------
All are mel spectrograms computed with librosa (keyword arguments only), Hann windows,
centred frames (``center=True``: frame ``t`` is centred on sample ``t * hop``, so ``N``
samples give ``1 + floor(N / hop)`` frames), returned as ``(frames, bands)`` float32.

``javadi_cnn`` — multi-label paper, 22,050 Hz, 128 bands, 29.1 s, the paper's (128, 1407).
    29.1 s at 22,050 Hz is N = 641,655 samples. With librosa's default hop of 512 that
    is only 1 + 1253 = 1254 frames, so the paper's 1407 frames imply a hop of about
    N / 1406 = 456.4 samples (20.7 ms). We use ``hop_length=456``, ``n_fft=2048``:
    1 + floor(641,655 / 456) = 1 + 1407 = 1408 centred frames, of which the first 1407
    are kept (the last one is centred on the clip's final 0.35 ms, i.e. mostly padding).
    No integer hop gives exactly 1407 centred frames for 29.1 s (it would need a hop in
    (456.05, 456.37]). Clips are cut to their first 29.1 s (the paper trims every clip to
    the data set's shortest, 29.1 s); shorter clips are zero-padded. dB (ref 1.0, top 80 dB).

``cazzaniga_image`` — multi-source paper, 22,050 Hz, mel in dB with the reference = the
    maximum over each *source data set's* spectrograms, rendered as 300×300×3 images.
    Central 24 s (songs shorter than 24 s are dropped: ``AudioError`` -> recorded skip),
    ``n_fft=2048``, ``hop_length=512`` (librosa defaults): 1 + floor(529,200 / 512) = 1034
    frames. Because the dB reference depends on the whole source, :func:`spectrogram`
    returns *unreferenced* dB (``10 log10(mel power)``, cached per track); step 1
    :func:`source_reference` takes the maximum over one source's spectrograms, step 2
    :func:`spectrogram_image` subtracts it, clips to [-80, 0] dB, and renders an RGB image
    (``size`` = ``ctx.p.image_size``: 300 in ``full``, smaller under smoke/demo);
    :func:`render_source_images` does both per source and can save PNGs.

``sun_segment`` — semi-supervised paper: 128 mel bins, Hann window 1,024, hop 512, per
    segment (22,050 Hz). :func:`extract_segments` cuts each clip into 1-5 s segments with a
    1-s hop (no padding) and returns one spectrogram per segment: a 3-s segment is 66,150
    samples -> 1 + floor(66,150 / 512) = 130 frames. For whole-clip use
    (:func:`extract_spectrograms`) the first 30 s are taken (zero-padded): 1 + 1291 = 1292.

``velankar_crnn`` — CRNN paper: window 2,048, hop 512, dB, 640 × 128.
    640 frames of hop 512 span 640 × 512 = 327,680 samples; for that to be a ~30-s clip
    the rate must be ~11 kHz. We resample to 11,025 Hz (a quarter of CD rate): 30 s =
    330,750 samples -> 1 + 645 = 646 centred frames, of which the first 640 (29.7 s) are
    kept; shorter clips are repeat-padded (this is our choice; the paper gives no padding).

``louro_mel`` — methods-comparison paper: librosa defaults at 16 kHz (``n_fft=2048``,
    ``hop_length=512``, 128 mels, power 2, dB ref 1.0 / top 80 dB). 942 frames means
    1 + floor(N / 512) = 942, i.e. N in [481,792, 482,304) samples = 30.11-30.14 s: the
    length of the 4Q previews as the paper had them. Our 4Q copies are 30.06 s (940
    frames), so every clip is cut / zero-padded to exactly 942 frames.

Handcrafted sets (:data:`FEATURE_SETS`)
---------------------------------------
``javadi477`` — the multi-label paper's 477-D set, 22,050 Hz, first 29.1 s,
    ``n_fft=2048``, ``hop_length=512``. One STFT per clip; every frame-level feature is
    derived from it (or, for ZCR and RMS, from cumulative sums over the same frames):

    * 4 segment-level features (the paper does not list them; our documented choice,
      all standard clip-level descriptors of the arousal cues tempo/density/dynamics):
      ``tempo_bpm`` (librosa's tempo estimate of the onset envelope), ``onset_rate`` (detected
      onsets per second), ``low_energy_ratio`` (fraction of frames whose RMS is below the
      clip's mean RMS, Tzanetakis' "low energy" texture feature), ``dynamic_range_db``
      (20 log10 of the 95th / 5th percentile of frame RMS).
    * 4 frame-level features × 11 statistics: ``zcr``, ``rms``, ``spectral_centroid``,
      ``spectral_rolloff85`` (85 % roll-off).
    * MFCC 1-13, their velocity (``mfcc_d``) and acceleration (``mfcc_dd``; librosa
      ``delta`` with width 9) × 11 statistics.
    * statistics (:data:`STATS`): mean, median, std, rms, max, min, q1, q3, iqr, skewness,
      kurtosis (excess; both 0 for a constant row, never NaN).

    4 + 4 × 11 + 3 × 13 × 11 = 477 named columns (:func:`feature_names`).

``emotion`` — a broader set for the methods-comparison paper's SVM/DNN baselines (its
    1,714 published features are not available), same single STFT at 22,050 Hz:
    timbre (MFCC 1-20 + deltas, centroid, bandwidth, roll-off, flatness, ZCR, spectral
    contrast in 7 bands), dynamics (RMS, loudness, low-energy ratio, dynamic range),
    rhythm (tempo, onset rate, pulse clarity, onset strength), tonality (chroma 12,
    tonnetz 6, key strength and clarity from Krumhansl-Kessler profile correlations,
    major/minor mode and the major-minor correlation difference). Frame-level rows get
    6 statistics (:data:`EMOTION_STATS`).

Extraction
----------
:func:`extract_spectrograms` / :func:`extract_features` / :func:`extract_segments` run one
pure per-file function through :func:`mer_utils.cache.cached_map`: cached per (track,
config hash) under ``ctx.cache_dir / "features"``, joblib-parallel (``ctx.p.n_jobs``),
with a progress bar. A file that fails (corrupt, silent, too short) is skipped, recorded
with ``ctx.manifest.skip`` and absent from ``kept_df`` (``on_error="raise"`` raises instead).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.audio import AudioError
from mer_utils.cache import FeatureCache, cached_map, default_cache_root

__all__ = [
    "align_on_ids",
    "FrontEnd", "FRONT_ENDS", "get_front_end", "expected_frames", "prepare_clip", "spectrogram",
    "segment_spectrograms", "extract_spectrograms", "extract_segments",
    "source_reference", "spectrogram_image", "render_source_images", "save_png",
    "FEATURE_SETS", "STATS", "EMOTION_STATS", "feature_names", "compute_features",
    "frame_stats", "extract_features", "load_top100",
]

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


# --------------------------------------------------------------------------- per-file workers
def _load_for(path, sr: int, min_duration: float | None = None) -> np.ndarray:
    return audio.load_audio(path, sr=sr, min_duration=min_duration)


def _spectrogram_file(path: str, fe: FrontEnd) -> np.ndarray:
    if fe.clip == "central":  # decode only what is needed, but check the whole length first
        info = audio.audio_info(path)
        if info["duration"] + 1e-6 < fe.clip_seconds:
            raise AudioError(path, f"too short for the central {fe.clip_seconds:g} s: "
                                   f"{info['duration']:.2f} s",
                             "the multi-source front end drops such songs (recorded skip)")
        offset = (info["duration"] - fe.clip_seconds) / 2
        y = audio.load_audio(path, sr=fe.sr, offset=max(0.0, offset - 0.05),
                             duration=fe.clip_seconds + 0.1)
    else:
        y = _load_for(path, fe.sr, fe.min_seconds)
    return spectrogram(y, fe.sr, fe, path=path)


def _segments_file(path: str, fe: FrontEnd, seconds: float, hop_seconds: float) -> np.ndarray:
    y = _load_for(path, fe.sr)
    return segment_spectrograms(y, fe.sr, fe, seconds=seconds, hop_seconds=hop_seconds, path=path)


# --------------------------------------------------------------------------- frames helpers
def _cache_for(ctx, namespace: str, config: Any, cache: bool | FeatureCache | None):
    if isinstance(cache, FeatureCache):
        return cache
    if not cache:
        return None
    return FeatureCache(default_cache_root(ctx) / "features", namespace, config)


def _n_jobs(ctx, n_jobs):
    if n_jobs is not None:
        return n_jobs
    return int(ctx.p.n_jobs) if ctx is not None else 1


def _check_df(df: pd.DataFrame) -> None:
    missing = {"track_id", "path"} - set(df.columns)
    if missing:
        raise ValueError(f"the track table needs columns track_id and path (missing {sorted(missing)})")


def _run(df, fn, namespace, config, *, ctx, n_jobs, cache, on_error, progress, desc):
    _check_df(df)
    c = _cache_for(ctx, namespace, config, cache)
    res = cached_map(fn, [str(p) for p in df["path"]], ids=list(df["track_id"]),
                     paths=[str(p) for p in df["path"]], cache=c, n_jobs=_n_jobs(ctx, n_jobs),
                     on_error=on_error, manifest=ctx.manifest if ctx is not None else None,
                     desc=desc, progress=progress)
    kept_df = df.iloc[res.kept].reset_index(drop=True)
    return res, kept_df


def extract_spectrograms(df: pd.DataFrame, name: str | FrontEnd, *, ctx=None, n_jobs: int | None = None,
                         cache: bool | FeatureCache = True, on_error: str = "skip",
                         progress: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """Spectrograms of every track -> (X (n, frames, bands) float32, kept_df).

    ``kept_df`` holds the rows that were kept, in the order of ``X`` (failed files are
    skipped and recorded in ``ctx.manifest``; ``on_error="raise"`` raises instead).
    """
    fe = get_front_end(name)
    res, kept_df = _run(df, functools.partial(_spectrogram_file, fe=fe), f"spec-{fe.name}",
                        fe.cache_config(), ctx=ctx, n_jobs=n_jobs, cache=cache,
                        on_error=on_error, progress=progress, desc=f"spectrogram {fe.name}")
    if not res.values:
        return np.zeros((0, expected_frames(fe, 30.0), fe.n_mels), np.float32), kept_df
    shapes = {v.shape for v in res.values}
    if len(shapes) > 1:
        raise ValueError(f"{fe.name}: clips gave different shapes {sorted(shapes)[:3]}...; "
                         "give the front end a fixed n_frames (dataclasses.replace(fe, n_frames=...))")
    return np.stack(res.values).astype(np.float32, copy=False), kept_df


def extract_segments(df: pd.DataFrame, name: str | FrontEnd = "sun_segment", *, seconds: float | None = None,
                     hop_seconds: float | None = None, ctx=None, n_jobs: int | None = None,
                     cache: bool | FeatureCache = True, on_error: str = "skip", progress: bool = True
                     ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Per-segment spectrograms -> (X (n_segments, frames, bands), segments, kept_df).

    ``segments`` has one row per segment: ``track_id``, ``segment`` (0-based), ``start_s``,
    and ``row`` (the track's row in ``kept_df``), so that splits can group by track (segments
    of one song must never straddle a split).
    """
    fe = get_front_end(name)
    seconds = float(seconds or fe.segment_seconds or 3.0)
    hop_seconds = float(hop_seconds or fe.segment_hop)
    cfg = {**fe.cache_config(), "segment_seconds": seconds, "segment_hop": hop_seconds}
    fn = functools.partial(_segments_file, fe=fe, seconds=seconds, hop_seconds=hop_seconds)
    res, kept_df = _run(df, fn, f"seg-{fe.name}", cfg, ctx=ctx, n_jobs=n_jobs, cache=cache,
                        on_error=on_error, progress=progress, desc=f"segments {fe.name}")
    rows = []
    for r, (tid, v) in enumerate(zip(kept_df["track_id"], res.values)):
        rows += [{"track_id": tid, "segment": k, "start_s": k * hop_seconds, "row": r} for k in range(len(v))]
    frames = fe.frames_for(seconds)
    X = np.concatenate(res.values).astype(np.float32) if res.values else np.zeros((0, frames, fe.n_mels), np.float32)
    return X, pd.DataFrame(rows, columns=["track_id", "segment", "start_s", "row"]), kept_df


# --------------------------------------------------------------------------- images (cazzaniga)
def source_reference(spectrograms: np.ndarray | Sequence[np.ndarray]) -> float:
    """Step 1: the dB reference of one source = the maximum over its spectrograms.

    Pass only the spectrograms that may set it (e.g. a training split, to keep test
    clips out of the normalisation; the paper uses the whole source data set).
    """
    if isinstance(spectrograms, np.ndarray):
        return float(np.max(spectrograms))
    return float(max(np.max(s) for s in spectrograms))


def spectrogram_image(S_db: np.ndarray, ref_db: float, size: int = 300, *, top_db: float = 80.0,
                      cmap: str = "magma") -> np.ndarray:
    """Step 2: (frames, bands) unreferenced dB -> (size, size, 3) uint8 RGB image.

    dB relative to ``ref_db`` clipped to [-top_db, 0] and scaled to [0, 1]; time runs left
    to right and low frequencies sit at the bottom; resized bilinearly; coloured with a
    matplotlib colormap (3 channels, as the ImageNet-style image model expects).
    """
    from matplotlib import colormaps
    from PIL import Image

    D = np.clip(np.asarray(S_db, dtype=np.float32) - ref_db, -top_db, 0.0)
    D = (D + top_db) / top_db
    img = Image.fromarray(np.ascontiguousarray(D.T[::-1]), mode="F").resize(
        (int(size), int(size)), resample=Image.BILINEAR)
    G = np.clip(np.asarray(img), 0.0, 1.0)
    rgb = colormaps[cmap](G)[..., :3]
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an (h, w, 3) uint8 image as PNG (atomically)."""
    import os

    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def render_source_images(X: np.ndarray, sources: Sequence[str], *, size: int = 300,
                         refs: dict[str, float] | None = None, out_dir: str | Path | None = None,
                         ids: Sequence[str] | None = None, top_db: float = 80.0
                         ) -> tuple[np.ndarray, dict[str, float]]:
    """Both steps for a stack of ``cazzaniga_image`` spectrograms.

    ``refs`` maps source -> reference dB (default: :func:`source_reference` over each
    source's rows of ``X``). Returns (images (n, size, size, 3) uint8, refs); with
    ``out_dir`` also writes ``<out_dir>/<source>/<id>.png``.
    """
    sources = np.asarray([str(s) for s in sources])
    if len(sources) != len(X):
        raise ValueError("one source per spectrogram")
    refs = {str(k): float(v) for k, v in (refs or {}).items()}
    for s in map(str, np.unique(sources)):
        if s not in refs:
            refs[s] = source_reference(X[sources == s])
    images = np.stack([spectrogram_image(x, refs[s], size, top_db=top_db) for x, s in zip(X, sources)]) \
        if len(X) else np.zeros((0, size, size, 3), np.uint8)
    if out_dir is not None:
        ids = [str(i) for i in (ids if ids is not None else range(len(X)))]
        for img, s, i in zip(images, sources, ids):
            save_png(img, Path(out_dir) / s / f"{i}.png")
    return images, refs


# =========================================================================== handcrafted
STATS = ("mean", "median", "std", "rms", "max", "min", "q1", "q3", "iqr", "skewness", "kurtosis")
EMOTION_STATS = ("mean", "std", "median", "iqr", "skewness", "kurtosis")


def frame_stats(M: np.ndarray, stats: Sequence[str] = STATS) -> np.ndarray:
    """Statistics over time of each row of (rows, frames) -> (rows, len(stats)), vectorised.

    Skewness and (excess) kurtosis are population moments; for a (numerically) constant
    row both are 0, so a flat feature never produces NaN.
    """
    M = np.asarray(M, dtype=np.float64)
    if M.ndim == 1:
        M = M[None]
    mean = M.mean(axis=1)
    c = M - mean[:, None]
    m2 = np.mean(c * c, axis=1)
    q1, med, q3 = np.percentile(M, [25, 50, 75], axis=1)
    out = {"mean": mean, "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1,
           "max": M.max(axis=1), "min": M.min(axis=1), "std": np.sqrt(m2),
           "rms": np.sqrt(np.mean(M * M, axis=1))}
    if "skewness" in stats or "kurtosis" in stats:
        flat = m2 <= (1e-9 * np.maximum(1.0, np.abs(mean))) ** 2
        safe = np.where(flat, 1.0, m2)
        c2 = c * c
        out["skewness"] = np.where(flat, 0.0, np.mean(c2 * c, axis=1) / safe ** 1.5)
        out["kurtosis"] = np.where(flat, 0.0, np.mean(c2 * c2, axis=1) / safe ** 2 - 3.0)
    return np.stack([out[s] for s in stats], axis=1)


@dataclasses.dataclass(frozen=True)
class FeatureSetConfig:
    name: str
    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 13
    clip_seconds: float | None = None   # first N s (None = whole clip)
    min_seconds: float = 1.0            # shorter clips -> AudioError (too short)
    version: int = 1


FEATURE_SETS: dict[str, FeatureSetConfig] = {
    "javadi477": FeatureSetConfig(name="javadi477", n_mfcc=13, clip_seconds=29.1),
    "emotion": FeatureSetConfig(name="emotion", n_mfcc=20, clip_seconds=None),
}

_SEGMENT_477 = ("tempo_bpm", "onset_rate", "low_energy_ratio", "dynamic_range_db")
_FRAME_477 = ("zcr", "rms", "spectral_centroid", "spectral_rolloff85")
_EMO_SCALARS = ("tempo_bpm", "onset_rate", "pulse_clarity", "low_energy_ratio", "dynamic_range_db",
                "loudness_db", "key_strength", "key_clarity", "mode_major", "major_minor_corr_diff")
_PITCHES = ("C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B")


def _emotion_rows(cfg: FeatureSetConfig) -> list[str]:
    n = cfg.n_mfcc
    return ([f"mfcc{i:02d}" for i in range(1, n + 1)] + [f"mfcc_d{i:02d}" for i in range(1, n + 1)]
            + ["spectral_centroid", "spectral_bandwidth", "spectral_rolloff85", "spectral_flatness", "zcr",
               "rms"] + [f"spectral_contrast{b}" for b in range(7)] + [f"chroma_{p}" for p in _PITCHES]
            + [f"tonnetz{k}" for k in range(6)] + ["onset_strength"])


@functools.lru_cache(maxsize=None)
def feature_names(set_name: str) -> tuple[str, ...]:
    """Column names of a feature set, in order."""
    cfg = FEATURE_SETS[set_name]
    if set_name == "javadi477":
        n = cfg.n_mfcc
        rows = list(_FRAME_477) + [f"mfcc{i:02d}" for i in range(1, n + 1)] \
            + [f"mfcc_d{i:02d}" for i in range(1, n + 1)] + [f"mfcc_dd{i:02d}" for i in range(1, n + 1)]
        return tuple(_SEGMENT_477) + tuple(f"{r}_{s}" for r in rows for s in STATS)
    if set_name == "emotion":
        return tuple(_EMO_SCALARS) + tuple(f"{r}_{s}" for r in _emotion_rows(cfg) for s in EMOTION_STATS)
    raise ValueError(f"Unknown feature set {set_name!r}; choose one of {', '.join(FEATURE_SETS)}")


class _Analysis:
    """One STFT of a clip and everything derived from it (computed lazily, once).

    Time-major layout: ``S``/``P`` are (frames, bins) magnitude / power, float32. The STFT
    is librosa's (periodic Hann window, centred frames, constant padding), computed with
    one batched real FFT over a strided view of the padded signal; ZCR and RMS use the
    same (unwindowed) frames, as ``librosa.feature.zero_crossing_rate`` / ``rms`` do.
    """

    def __init__(self, y: np.ndarray, cfg: FeatureSetConfig):
        import scipy.fft
        import scipy.signal

        self.y, self.cfg, self.sr = y, cfg, cfg.sr
        n_fft, hop = cfg.n_fft, cfg.hop_length
        yp = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
        self.frames = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop]  # view
        win = _hann(n_fft)
        self.S = np.abs(scipy.fft.rfft(self.frames * win, axis=1, workers=1)).astype(np.float32)
        self.P = self.S * self.S
        self.freqs = np.linspace(0, self.sr / 2, 1 + n_fft // 2).astype(np.float32)
        self.n_frames = self.S.shape[0]
        self.duration = len(y) / self.sr
        self._tot = np.maximum(self.S.sum(axis=1), _AMIN)

    @functools.cached_property
    def zcr_rms(self) -> tuple[np.ndarray, np.ndarray]:
        """As librosa: RMS over constant-padded frames, ZCR over edge-padded frames
        (a sample counts as negative below -1e-10; zero counts as positive)."""
        fr = self.frames
        n_fft, hop = self.cfg.n_fft, self.cfg.hop_length
        rms = np.sqrt(np.einsum("ij,ij->i", fr, fr, dtype=np.float64) / n_fft)
        neg = np.pad(np.asarray(self.y) < -1e-10, n_fft // 2, mode="edge")
        nf = np.lib.stride_tricks.sliding_window_view(neg, n_fft)[::hop][: self.n_frames]
        zcr = np.count_nonzero(nf[:, 1:] != nf[:, :-1], axis=1) / n_fft
        return zcr.astype(np.float64), rms

    @functools.cached_property
    def centroid(self) -> np.ndarray:
        return np.einsum("tf,f->t", self.S, self.freqs) / self._tot

    @functools.cached_property
    def bandwidth(self) -> np.ndarray:
        # sqrt(sum S (f - c)^2 / sum S) = sqrt(E[f^2] - c^2)
        m2 = np.einsum("tf,f->t", self.S, self.freqs * self.freqs) / self._tot
        return np.sqrt(np.maximum(m2 - self.centroid.astype(np.float64) ** 2, 0.0))

    @functools.cached_property
    def rolloff(self) -> np.ndarray:
        cs = np.cumsum(self.S, axis=1)
        idx = np.argmax(cs >= 0.85 * cs[:, -1:], axis=1)
        return self.freqs[idx]

    @functools.cached_property
    def flatness(self) -> np.ndarray:
        P = np.maximum(self.P, _AMIN)
        return np.exp(np.mean(np.log(P), axis=1)) / np.mean(P, axis=1)

    @functools.cached_property
    def logmel(self) -> np.ndarray:
        """(mels, frames) dB mel power, librosa.power_to_db(ref=1, top_db=80)."""
        mel = _mel_basis(self.sr, self.cfg.n_fft, self.cfg.n_mels, 0.0, None) @ self.P.T
        db = 10.0 * np.log10(np.maximum(mel, _AMIN))
        return np.maximum(db, db.max() - 80.0)

    @functools.cached_property
    def mfcc(self) -> np.ndarray:
        import scipy.fft

        return scipy.fft.dct(self.logmel, axis=0, type=2, norm="ortho")[: self.cfg.n_mfcc]

    def delta(self, order: int) -> np.ndarray:
        import librosa

        width = min(9, self.n_frames if self.n_frames % 2 else self.n_frames - 1)
        return librosa.feature.delta(self.mfcc, width=max(3, width), order=order, mode="interp")

    @functools.cached_property
    def onset_env(self) -> np.ndarray:
        import librosa

        return librosa.onset.onset_strength(S=self.logmel, sr=self.sr, hop_length=self.cfg.hop_length)

    @functools.cached_property
    def _onset_acf(self) -> np.ndarray:
        o = self.onset_env - self.onset_env.mean()
        return np.fft.irfft(np.abs(np.fft.rfft(o, n=2 * len(o))) ** 2)[: len(o)]

    @functools.cached_property
    def tempo(self) -> float:
        """librosa.feature.tempo (8-s autocorrelation tempogram, averaged, log-normal prior
        around 120 BPM, max 320 BPM), with the tempogram evaluated every 4th frame instead
        of every frame: the average (and so the estimate) is the same up to sampling, at a
        quarter of the cost."""
        import librosa

        hop = self.cfg.hop_length
        win = int(librosa.time_to_frames(8.0, sr=self.sr, hop_length=hop))
        o = np.asarray(self.onset_env, dtype=np.float64)
        n = len(o)
        op = np.pad(o, win // 2, mode="linear_ramp", end_values=[0, 0])
        frames = np.lib.stride_tricks.sliding_window_view(op, win)[:n:4]
        w = librosa.filters.get_window("hann", win, fftbins=True)
        ac = np.fft.irfft(np.abs(np.fft.rfft(frames * w, n=2 * win, axis=1)) ** 2, axis=1)[:, :win]
        peak = np.max(np.abs(ac), axis=1, keepdims=True)
        tg = np.mean(np.where(peak > 0, ac / np.where(peak > 0, peak, 1.0), 0.0), axis=0)
        bpms = librosa.tempo_frequencies(win, hop_length=hop, sr=self.sr)
        with np.errstate(divide="ignore"):
            logprior = -0.5 * (np.log2(bpms) - np.log2(120.0)) ** 2
        logprior[: int(np.argmax(bpms < 320.0))] = -np.inf
        return float(bpms[np.argmax(np.log1p(1e6 * tg) + logprior)])

    def pulse_clarity(self) -> float:
        """Max normalised autocorrelation of the onset envelope at 30-240 BPM lags."""
        ac = self._onset_acf
        if ac[0] <= 0:
            return 0.0
        fps = self.sr / self.cfg.hop_length
        lo, hi = max(1, int(fps * 60 / 240)), min(len(ac) - 1, int(fps * 60 / 30))
        return float(np.max(ac[lo:hi + 1]) / ac[0]) if hi > lo else 0.0

    @functools.cached_property
    def onset_rate(self) -> float:
        import librosa

        on = librosa.onset.onset_detect(onset_envelope=self.onset_env, sr=self.sr,
                                        hop_length=self.cfg.hop_length, units="frames")
        return float(len(on) / max(self.duration, 1e-9))

    def dynamics(self) -> tuple[float, float, float]:
        rms = self.zcr_rms[1]
        low_energy = float(np.mean(rms < rms.mean()))
        p5, p95 = np.percentile(rms, [5, 95])
        dyn = float(20 * np.log10(max(p95, 1e-5) / max(p5, 1e-5)))
        loud = float(20 * np.log10(max(np.sqrt(np.mean(rms ** 2)), 1e-5)))
        return low_energy, dyn, loud

    @functools.cached_property
    def chroma(self) -> np.ndarray:
        import librosa

        fb = _chroma_basis(self.sr, self.cfg.n_fft)
        raw = fb @ self.P.T  # (12, frames), = librosa.feature.chroma_stft(S=P, tuning=0)
        return librosa.util.normalize(raw, norm=np.inf, axis=0)

    def contrast(self) -> np.ndarray:
        import librosa

        return librosa.feature.spectral_contrast(S=self.S.T, sr=self.sr, n_fft=self.cfg.n_fft,
                                                 hop_length=self.cfg.hop_length)

    def tonnetz(self) -> np.ndarray:
        import librosa

        return librosa.feature.tonnetz(sr=self.sr, chroma=self.chroma)


@functools.lru_cache(maxsize=16)
def _window(window: str, n_fft: int, win_length: int | None = None) -> np.ndarray:
    """librosa's analysis window: periodic, centred and zero-padded to n_fft."""
    import librosa

    w = librosa.filters.get_window(window, win_length or n_fft, fftbins=True)
    return librosa.util.pad_center(w, size=n_fft).astype(np.float32)


def _hann(n: int) -> np.ndarray:
    return _window("hann", n)


@functools.lru_cache(maxsize=8)
def _chroma_basis(sr: int, n_fft: int) -> np.ndarray:
    import librosa

    return librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0, n_chroma=12).astype(np.float32)


# Krumhansl-Kessler key profiles (C major / C minor)
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_features(chroma_mean: np.ndarray) -> tuple[float, float, float, float]:
    """(key strength, key clarity, mode_major, major-minor corr diff) from mean chroma."""
    c = np.asarray(chroma_mean, dtype=np.float64)
    if np.std(c) < 1e-12:
        return 0.0, 0.0, 0.0, 0.0
    maj = np.array([np.corrcoef(c, np.roll(_KK_MAJOR, k))[0, 1] for k in range(12)])
    mnr = np.array([np.corrcoef(c, np.roll(_KK_MINOR, k))[0, 1] for k in range(12)])
    allc = np.sort(np.concatenate([maj, mnr]))
    return float(allc[-1]), float(allc[-1] - allc[-2]), float(maj.max() >= mnr.max()), float(maj.max() - mnr.max())


def compute_features(y: np.ndarray, sr: int, set_name: str, *, path="<array>") -> np.ndarray:
    """One clip's feature vector (float32, in :func:`feature_names` order)."""
    cfg = FEATURE_SETS[set_name]
    y = np.asarray(y, dtype=np.float32)
    if sr != cfg.sr:
        y = audio.resample(y, sr, cfg.sr)
    if cfg.clip_seconds is not None:
        y = audio.first_seconds(y, cfg.sr, cfg.clip_seconds, on_short="keep")
    audio.check_signal(y, cfg.sr, path, min_duration=cfg.min_seconds)
    a = _Analysis(y, cfg)
    zcr, rms = a.zcr_rms
    low_energy, dyn, loud = a.dynamics()
    if set_name == "javadi477":
        rows = np.vstack([zcr, rms, a.centroid, a.rolloff, a.mfcc, a.delta(1), a.delta(2)])
        vec = np.concatenate([[a.tempo, a.onset_rate, low_energy, dyn], frame_stats(rows, STATS).ravel()])
    elif set_name == "emotion":
        chroma = a.chroma
        rows = np.vstack([a.mfcc, a.delta(1), a.centroid, a.bandwidth, a.rolloff, a.flatness, zcr, rms,
                          a.contrast(), chroma, a.tonnetz(), a.onset_env])
        ks, kc, major, diff = key_features(chroma.mean(axis=1))
        scalars = [a.tempo, a.onset_rate, a.pulse_clarity(), low_energy, dyn, loud, ks, kc, major, diff]
        vec = np.concatenate([scalars, frame_stats(rows, EMOTION_STATS).ravel()])
    else:
        raise ValueError(f"Unknown feature set {set_name!r}")
    if not np.all(np.isfinite(vec)):
        bad = [n for n, v in zip(feature_names(set_name), vec) if not np.isfinite(v)][:5]
        raise AudioError(path, f"non-finite features ({', '.join(bad)})",
                         "the clip is probably degenerate (near-silent or constant); check it")
    return vec.astype(np.float32)


def _features_file(path: str, set_name: str) -> np.ndarray:
    cfg = FEATURE_SETS[set_name]
    duration = None if cfg.clip_seconds is None else cfg.clip_seconds + 0.05
    y = audio.load_audio(path, sr=cfg.sr, duration=duration)
    return compute_features(y, cfg.sr, set_name, path=path)


def extract_features(df: pd.DataFrame, set_name: str, *, ctx=None, n_jobs: int | None = None,
                     cache: bool | FeatureCache = True, on_error: str = "skip", progress: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Handcrafted features -> (F indexed by track_id with named columns, kept_df).

    ``set_name``: ``"javadi477"`` (477 columns) or ``"emotion"``. Failed files are skipped
    and recorded (never a NaN row); ``kept_df`` is in the order of ``F``.
    """
    if set_name not in FEATURE_SETS:
        raise ValueError(f"Unknown feature set {set_name!r}; choose one of {', '.join(FEATURE_SETS)}")
    cfg = FEATURE_SETS[set_name]
    res, kept_df = _run(df, functools.partial(_features_file, set_name=set_name), f"feat-{set_name}",
                        dataclasses.asdict(cfg), ctx=ctx, n_jobs=n_jobs, cache=cache,
                        on_error=on_error, progress=progress, desc=f"features {set_name}")
    names = list(feature_names(set_name))
    data = np.stack(res.values) if res.values else np.zeros((0, len(names)), np.float32)
    F = pd.DataFrame(data, columns=names, index=pd.Index(kept_df["track_id"].astype(str), name="track_id"))
    return F, kept_df


# =========================================================================== 4Q top-100
def load_top100(root: str | Path) -> pd.DataFrame:
    """The official 4Q ``top100_features.csv`` -> DataFrame indexed by ``track_id``.

    ``root`` is the CSV itself or a folder holding it (searched up to three levels deep,
    so the 4Q download folder or a data root both work). Columns: the 100 published
    features under their original names (float) and ``quadrant`` (from ``Quadrant``).
    """
    root = Path(root)
    path = root if root.is_file() else None
    if path is None and root.is_dir():
        for pattern in ("top100_features.csv", "*/top100_features.csv", "*/*/top100_features.csv",
                        "*/*/*/top100_features.csv"):
            hits = sorted(root.glob(pattern))
            if hits:
                path = hits[0]
                break
    if path is None:
        raise FileNotFoundError(
            f"top100_features.csv not found under {root}. It comes with the 4Q emotion data set's "
            "feature release (Panda, Malheiro & Paiva 2018); place it in the 4Q data folder "
            "(e.g. data/raw/4q/top100_features.csv).")
    df = pd.read_csv(path)
    if "SongID" not in df.columns:
        raise ValueError(f"{path}: expected a 'SongID' column (official 4Q top-100 feature file)")
    df = df.rename(columns={"SongID": "track_id", "Quadrant": "quadrant"})
    df["track_id"] = df["track_id"].astype(str)
    df = df.set_index("track_id")
    feats = [c for c in df.columns if c != "quadrant"]
    df[feats] = df[feats].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return df


from mer_utils.datasets.merge import align_on_ids  # noqa: E402,F401  (moved; kept importable here)
