"""Cached, parallel extraction of spectrograms and segment spectrograms (per-file workers)."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.audio import AudioError
from mer_utils.cache import FeatureCache, cached_map, default_cache_root
from mer_utils.features.frontends import FrontEnd, get_front_end, expected_frames, spectrogram, segment_spectrograms

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


def _run(df, fn, namespace, config, *, ctx, n_jobs, cache, on_error, progress, desc, load=True):
    _check_df(df)
    c = _cache_for(ctx, namespace, config, cache)
    res = cached_map(fn, [str(p) for p in df["path"]], ids=list(df["track_id"]),
                     paths=[str(p) for p in df["path"]], cache=c, n_jobs=_n_jobs(ctx, n_jobs),
                     on_error=on_error, manifest=ctx.manifest if ctx is not None else None,
                     desc=desc, progress=progress, load=load)
    kept_df = df.iloc[res.kept].reset_index(drop=True)
    return (res, kept_df, c) if not load else (res, kept_df)


class CachedStack:
    """The spectrograms of ``kept_df``'s tracks, read from the feature cache one at a time.

    A sequence: ``len(stack)``, ``stack[i]`` (the (frames, bands) float32 array of
    ``kept_df.iloc[i]``), iteration; ``stack.shape`` as the stacked array's would be;
    :meth:`load` stacks them all (what :func:`extract_spectrograms` returns). Memory stays at
    one spectrogram however large the corpus.
    """

    def __init__(self, cache: FeatureCache, kept_df: pd.DataFrame):
        from mer_utils.cache import track_key

        self.cache, self.kept_df = cache, kept_df
        self._keys = [track_key(t, str(p)) for t, p in zip(kept_df["track_id"], kept_df["path"])]
        self._shape = None

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, i: int) -> np.ndarray:
        v = self.cache.get(self._keys[i])
        if v is None:
            raise KeyError(f"{self.kept_df['track_id'].iloc[i]}: its cache entry is gone or unreadable "
                           f"(under {self.cache.folder}); extract again")
        return np.asarray(v, dtype=np.float32)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def shape(self) -> tuple[int, ...]:
        if self._shape is None:
            self._shape = (len(self),) + (self[0].shape if len(self) else (0, 0))
        return self._shape

    def load(self) -> np.ndarray:
        return np.stack(list(self)).astype(np.float32, copy=False) if len(self) else np.zeros(self.shape, np.float32)


def spectrogram_stack(df: pd.DataFrame, name: str | FrontEnd, *, ctx=None, n_jobs: int | None = None,
                      on_error: str = "skip", progress: bool = True) -> tuple[CachedStack, pd.DataFrame]:
    """As :func:`extract_spectrograms`, but streamed into the cache: -> (:class:`CachedStack`,
    kept_df). Workers write each spectrogram to the cache and send nothing back; cached
    tracks are not read. Use it where the whole stack need not sit in memory (e.g. rendering
    one image per clip, or a corpus of thousands of clips)."""
    fe = get_front_end(name)
    res, kept_df, c = _run(df, functools.partial(_spectrogram_file, fe=fe), f"spec-{fe.name}",
                           fe.cache_config(), ctx=ctx, n_jobs=n_jobs, cache=True, on_error=on_error,
                           progress=progress, desc=f"spectrogram {fe.name}", load=False)
    return CachedStack(c, kept_df), kept_df


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
