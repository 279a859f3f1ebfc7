"""Audio front end: decode, mix down, resample, and the clip policies the papers use.

Decoding uses libsndfile through ``soundfile`` (WAV, FLAC, OGG and — libsndfile >= 1.1 —
MP3, which covers the 4Q previews without ffmpeg). A file libsndfile cannot read is tried
once more with ``audioread`` (through librosa), which works where ffmpeg/GStreamer is
installed. Resampling is ``soxr`` at "HQ" quality (the same as librosa's
``res_type="soxr_hq"``): a band-limited, anti-aliased resampler.

Bad input never becomes a silent NaN: :func:`load_audio` raises :class:`AudioError`
naming the file, what is wrong and what to do, for

* a missing file, a path that is not a regular file, an empty (0-byte) file, an
  undecodable / corrupt file;
* non-finite samples;
* a silent file: RMS below ``SILENCE_RMS`` (1e-4 of full scale, about -80 dBFS; an
  all-zero file is the extreme case) — such clips carry no emotion cue and make
  dB-scaled features -inf / constant;
* a too-short file, when ``min_duration`` is given (the clip policies below raise for
  too-short clips too, or return None when asked to). The length that counts is the
  decoded one: a truncated MP3 whose header promises 30 s but decodes to 0.85 s is 0.85 s.

:func:`check_file` runs exactly these checks on a file without extracting anything
(``datasets.validate`` uses it, so validation finds what extraction finds), and
:func:`required_seconds` says how long a clip must be for a front end's crop.
Audio files are matched by extension case-insensitively (:func:`is_audio_file`: ``.MP3``
is as much an MP3 as ``.mp3``).

Clip policies (all on 1-D float arrays; ``sr`` in Hz, lengths in seconds unless noted):

* :func:`central_crop` — multi-source paper: the central 24 s; shorter songs dropped
  (``on_short="raise"`` raises ``AudioError``; ``on_short="none"`` returns None, so the
  caller can drop the song and record it).
* :func:`first_seconds` / :func:`trim_to_shortest` — multi-label paper: every clip cut to
  the first 29.1 s, i.e. to the shortest clip of the data set.
* :func:`pad` — ``"none"`` (leave it shorter), ``"zero"`` (append zeros), ``"repeat"``
  (tile the clip) up to a target length; longer input is cut to the target.
* :func:`segment` — semi-supervised paper: fixed-length segments (1-5 s) with a hop of
  1 s (overlap = segment - 1 s), no padding: ``1 + floor((T - L) / hop)`` segments, so a
  30-s clip with 3-s segments gives 28.
* :func:`chunks` — fixed, non-overlapping chunks: ShortChunk CNN 3.5 s
  (:data:`SHORTCHUNK_SECONDS`), SampleCNN 59,049 = 3^10 samples
  (:data:`SAMPLECNN_SAMPLES`).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = [
    "AudioError", "load_audio", "audio_info", "check_signal", "check_file", "required_seconds",
    "is_audio_file", "AUDIO_EXTENSIONS", "MIN_SECONDS", "resample", "to_mono",
    "central_crop", "first_seconds", "trim_to_shortest", "pad", "segment", "n_segments",
    "chunks", "SILENCE_RMS", "SHORTCHUNK_SECONDS", "SAMPLECNN_SAMPLES",
]

#: RMS (full scale = 1.0) below which a clip counts as silent (about -80 dBFS).
SILENCE_RMS = 1e-4
#: Decoded length below which no front end uses a clip (``FrontEnd.min_seconds``'s default).
MIN_SECONDS = 1.0
#: Extensions taken for audio, compared lower-cased (``.MP3`` counts).
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aiff", ".aif")
#: ShortChunk CNN input length (Won et al. 2020), seconds.
SHORTCHUNK_SECONDS = 3.5
#: SampleCNN input length, samples (3^10; ~2.7 s at 22.05 kHz).
SAMPLECNN_SAMPLES = 59049


class AudioError(Exception):
    """A clip that cannot be used: says which file, what is wrong and what to do."""

    def __init__(self, path, reason: str, hint: str = ""):
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        msg = f"{self.path}: {reason}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)

    def __reduce__(self):  # picklable across joblib workers
        return (type(self), (self.path, self.reason, self.hint))


def is_audio_file(path) -> bool:
    """An audio file by its extension, whatever its case (``a.MP3``, ``b.Wav``); hidden files
    (``._a.mp3`` from macOS archives) are not."""
    path = Path(path)
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


# --------------------------------------------------------------------------- decoding
def _check_path(path) -> Path:
    """A path that exists, is a regular file and is not empty, or :class:`AudioError`."""
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file not found",
                         "check the data root and that the loader's paths exist (datasets.validate)")
    if not path.is_file():
        raise AudioError(path, "not a regular file (a folder, pipe or device)",
                         "point the loader at the audio files themselves")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)",
                         "the download or copy was interrupted; re-download or re-export it")
    return path


def audio_info(path) -> dict:
    """Sample rate, channels, frames and duration of a file, without decoding it.

    The duration is the header's: a truncated file may decode to less (see :func:`check_file`).
    """
    import soundfile as sf

    path = _check_path(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise AudioError(path, f"cannot read the audio header ({exc})",
                         "the file is corrupt or in an unsupported format; re-download it or "
                         "convert it to WAV/FLAC") from None
    return {"sr": int(info.samplerate), "channels": int(info.channels),
            "frames": int(info.frames), "duration": float(info.frames / info.samplerate)}


def _decode_soundfile(path: Path, offset: float, duration: float | None):
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        native = int(f.samplerate)
        start = int(round(offset * native))
        if start:
            f.seek(min(start, f.frames))
        frames = -1 if duration is None else int(round(duration * native))
        y = f.read(frames=frames, dtype="float32", always_2d=True)
    return y, native


def _decode_audioread(path: Path, offset: float, duration: float | None):
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, native = librosa.load(path=str(path), sr=None, mono=False, offset=offset,
                                 duration=duration, dtype=np.float32)
    y = np.atleast_2d(y).T  # (frames, channels)
    return y, int(native)


def _decode(path: Path, offset: float = 0.0, duration: float | None = None):
    """(frames, channels) float32 and the native rate: soundfile, then audioread."""
    try:
        return _decode_soundfile(path, offset, duration)
    except Exception as sf_exc:
        try:
            return _decode_audioread(path, offset, duration)
        except Exception:
            raise AudioError(path, f"cannot decode ({type(sf_exc).__name__}: {sf_exc})",
                             "the file is corrupt or in a format libsndfile cannot read; "
                             "re-download it, convert it to WAV/FLAC, or install ffmpeg so "
                             "that audioread can decode it") from None


def to_mono(y: np.ndarray) -> np.ndarray:
    """Mix (frames, channels) down to mono by averaging the channels."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    return y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Anti-aliased resampling (soxr HQ, = librosa ``res_type="soxr_hq"``), along axis 0."""
    if int(orig_sr) == int(target_sr):
        return y
    import soxr

    return soxr.resample(y, int(orig_sr), int(target_sr), quality="HQ").astype(np.float32, copy=False)


def check_signal(y: np.ndarray, sr: int, path="<array>", *, min_duration: float | None = None,
                 rms_floor: float | None = SILENCE_RMS) -> np.ndarray:
    """Raise :class:`AudioError` for empty, non-finite, silent or too-short audio."""
    if y.size and not np.all(np.isfinite(y)):
        _nonfinite(path)
    _verdict(path, n=y.shape[0], sr=sr, sumsq=float(np.sum(np.square(y, dtype=np.float64))) if y.size else 0.0,
             min_duration=min_duration, rms_floor=rms_floor)
    return y


def _nonfinite(path) -> None:
    raise AudioError(path, "audio contains NaN/inf samples", "the file is corrupt; re-download or re-encode it")


def _verdict(path, *, n: int, sr: int, sumsq: float, min_duration: float | None,
             rms_floor: float | None) -> None:
    """The checks on a (finite) mono signal of ``n`` samples at ``sr`` Hz whose squares sum to
    ``sumsq``: the one place of their verdicts, for a whole signal and for a streamed file."""
    if n == 0:
        raise AudioError(path, "no audio samples (empty file or offset past the end)",
                         "re-export the file, or check offset/duration")
    dur = n / float(sr)
    if min_duration is not None and dur + 1e-9 < min_duration:
        raise AudioError(path, f"too short: {dur:.2f} s < required {min_duration:.2f} s",
                         "drop the clip (features skip it and record it in the run manifest) "
                         "or choose a padding policy")
    if rms_floor is not None:
        rms = math.sqrt(sumsq / n)
        if rms < rms_floor:
            raise AudioError(path, f"silent: RMS {rms:.2e} below the floor {rms_floor:.0e} "
                                   f"(~{20 * math.log10(rms_floor):.0f} dBFS)",
                             "check the file (it has no usable signal); it is skipped and "
                             "recorded in the run manifest")


def load_audio(path, *, sr: int | None, mono: bool = True, offset: float = 0.0,
               duration: float | None = None, min_duration: float | None = None,
               rms_floor: float | None = SILENCE_RMS) -> np.ndarray:
    """Decode ``path`` to float32 at ``sr`` Hz (None = native), mono by default.

    Returns a 1-D array (mono) or (channels, samples) with ``mono=False``.
    Raises :class:`AudioError` (file, reason, hint) for missing, corrupt, empty, silent
    (RMS < ``rms_floor``; pass None to allow silence) or, given ``min_duration``,
    too-short audio. ``offset``/``duration`` are in seconds of the source file.
    """
    path = _check_path(path)
    y, native = _decode(path, offset, duration)
    if mono:
        y = to_mono(y)
    else:
        y = np.ascontiguousarray(y.T)
    if sr is not None:
        y = resample(y if mono else y.T, native, sr)
        if not mono:
            y = np.ascontiguousarray(y.T)
    out_sr = sr or native
    check_signal(y if mono else y.mean(axis=0), out_sr, path,
                 min_duration=min_duration, rms_floor=rms_floor)
    return np.ascontiguousarray(y, dtype=np.float32)


def required_seconds(front_end=None, *, min_seconds: float | None = None) -> float:
    """Decoded length a clip needs so that extraction with ``front_end`` keeps it.

    ``front_end`` is a :class:`mer_utils.features.FrontEnd` (read through its attributes,
    so this module needs no import of the features package): the central-crop front end
    needs its whole crop (the multi-source paper drops shorter songs), a segment front end
    one full segment, every front end at least its ``min_seconds``. Without a front end:
    ``min_seconds``, else :data:`MIN_SECONDS`.
    """
    if front_end is None:
        return float(MIN_SECONDS if min_seconds is None else min_seconds)
    need = float(getattr(front_end, "min_seconds", MIN_SECONDS) or 0.0)
    if getattr(front_end, "clip", None) == "central" and getattr(front_end, "clip_seconds", None):
        need = max(need, float(front_end.clip_seconds))
    if getattr(front_end, "segment_seconds", None):
        need = max(need, float(front_end.segment_seconds))
    if min_seconds is not None:
        need = max(need, float(min_seconds))
    return need


def check_file(path, *, decode: bool = True, min_duration: float | None = MIN_SECONDS,
               rms_floor: float | None = SILENCE_RMS) -> dict:
    """Run the checks extraction runs, without extracting; raise :class:`AudioError`.

    Always: the file exists, is a regular non-empty file. ``decode=False`` then reads the
    header only (readable, header duration >= ``min_duration``). ``decode=True`` decodes
    the whole file as :func:`load_audio` does (soundfile, then audioread) and checks the
    decoded mono signal with :func:`check_signal`, as :func:`load_audio` does: no samples,
    NaN/inf samples, decoded length below ``min_duration``, silence (RMS below
    ``rms_floor``). Returns ``sr, channels, frames, duration`` (the decoded ones when
    decoding, else the header's).
    """
    path = _check_path(path)
    if not decode:
        info = audio_info(path)
        if min_duration is not None and info["duration"] + 1e-9 < min_duration:
            raise AudioError(path, f"too short: {info['duration']:.2f} s < required {min_duration:.2f} s",
                             "drop the clip (features skip it and record it in the run manifest) "
                             "or choose a padding policy")
        return info
    try:
        return _check_streamed(path, min_duration=min_duration, rms_floor=rms_floor)
    except _NotStreamable:
        pass
    y, native = _decode(path)
    channels = int(y.shape[1]) if y.ndim == 2 else 1
    y = to_mono(y)
    check_signal(y, native, path, min_duration=min_duration, rms_floor=rms_floor)
    return {"sr": int(native), "channels": channels, "frames": int(len(y)),
            "duration": len(y) / float(native)}


class _NotStreamable(Exception):
    pass


#: Seconds of audio decoded at a time when a file is checked (memory stays ~this x rate x 4 B).
CHECK_BLOCK_SECONDS = 10.0


def _check_streamed(path: Path, *, min_duration: float | None, rms_floor: float | None) -> dict:
    """:func:`check_signal`'s checks block by block (soundfile), so a two-hour file is checked
    in a few MB instead of its whole decoded length; the same verdicts. Files soundfile cannot
    open raise :class:`_NotStreamable` (the caller decodes them whole, as extraction does)."""
    import soundfile as sf

    try:
        f = sf.SoundFile(str(path))
    except Exception:
        raise _NotStreamable() from None
    n, sumsq = 0, 0.0
    with f:
        native, channels = int(f.samplerate), int(f.channels)
        block = max(1, int(CHECK_BLOCK_SECONDS * native))
        try:
            while True:
                # read() returns only the frames decoded (blocks() would pad a truncated file's
                # last block with whatever its buffer held)
                y = f.read(frames=block, dtype="float32", always_2d=True)
                if not len(y):
                    break
                y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
                if not np.all(np.isfinite(y)):
                    _nonfinite(path)
                n += len(y)
                sumsq += float(np.dot(y.astype(np.float64), y.astype(np.float64)))
        except AudioError:
            raise
        except Exception:
            if n == 0:
                raise _NotStreamable() from None
            # a truncated file: what decoded so far is what extraction would get
    _verdict(path, n=n, sr=native, sumsq=sumsq, min_duration=min_duration, rms_floor=rms_floor)
    dur = n / float(native)
    return {"sr": native, "channels": channels, "frames": n, "duration": dur}


# --------------------------------------------------------------------------- clip policies
def _too_short(path, have: float, need: float, on_short: str, what: str):
    if on_short == "raise":
        raise AudioError(path, f"too short for {what}: {have:.2f} s < {need:.2f} s",
                         "drop the song (pass on_short='none' to get None and skip it) or pad it")
    if on_short == "none":
        return None
    raise ValueError(f"on_short must be 'raise', 'none' or 'keep', not {on_short!r}")


def central_crop(y: np.ndarray, sr: int, seconds: float, *, on_short: str = "raise",
                 path="<array>") -> np.ndarray | None:
    """The central ``seconds`` of ``y``.

    Shorter input: ``on_short="raise"`` -> :class:`AudioError`; ``"none"`` -> None (the
    multi-source paper drops such songs); ``"keep"`` -> ``y`` unchanged.
    """
    n = int(round(seconds * sr))
    if y.shape[-1] < n:
        if on_short == "keep":
            return y
        return _too_short(path, y.shape[-1] / sr, seconds, on_short, "a central crop")
    start = (y.shape[-1] - n) // 2
    return y[..., start:start + n]


def first_seconds(y: np.ndarray, sr: int, seconds: float, *, on_short: str = "keep",
                  path="<array>") -> np.ndarray | None:
    """The first ``seconds`` of ``y`` (shorter input: kept as is / None / AudioError)."""
    n = int(round(seconds * sr))
    if y.shape[-1] < n and on_short != "keep":
        return _too_short(path, y.shape[-1] / sr, seconds, on_short, "a first-N-seconds cut")
    return y[..., :n]


def trim_to_shortest(ys: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Cut every clip to the length of the shortest one (the multi-label paper's 29.1 s)."""
    if not len(ys):
        return []
    n = min(y.shape[-1] for y in ys)
    return [y[..., :n] for y in ys]


def pad(y: np.ndarray, size: int, mode: str = "zero") -> np.ndarray:
    """Bring ``y`` to ``size`` samples: ``"zero"`` appends zeros, ``"repeat"`` tiles the clip,
    ``"none"`` leaves shorter input as is. Longer input is cut to ``size`` in every mode."""
    size = int(size)
    n = y.shape[-1]
    if n >= size:
        return y[..., :size]
    if mode == "none":
        return y
    if mode == "zero":
        width = [(0, 0)] * (y.ndim - 1) + [(0, size - n)]
        return np.pad(y, width)
    if mode == "repeat":
        if n == 0:
            raise ValueError("cannot repeat-pad an empty signal")
        reps = -(-size // n)
        return np.concatenate([y] * reps, axis=-1)[..., :size]
    raise ValueError(f"pad mode must be 'none', 'zero' or 'repeat', not {mode!r}")


def n_segments(n_samples: int, seg_samples: int, hop_samples: int) -> int:
    """Number of full segments (no padding): 1 + floor((T - L) / hop), or 0 if T < L."""
    if n_samples < seg_samples:
        return 0
    return 1 + (n_samples - seg_samples) // hop_samples


def segment(y: np.ndarray, sr: int, seconds: float, hop_seconds: float = 1.0, *,
            overlap_seconds: float | None = None) -> np.ndarray:
    """Fixed-length segments, no padding -> array (n_segments, samples_per_segment).

    The semi-supervised paper uses 1-5 s segments with a 1-s hop (overlap = segment - 1 s);
    pass ``overlap_seconds`` instead of ``hop_seconds`` to state the overlap. A 30-s clip
    with 3-s segments and 2-s overlap gives 28 segments. A clip shorter than one segment
    gives an empty (0, L) array.
    """
    if overlap_seconds is not None:
        hop_seconds = seconds - overlap_seconds
    L = int(round(seconds * sr))
    hop = int(round(hop_seconds * sr))
    if L <= 0 or hop <= 0:
        raise ValueError(f"segment length and hop must be positive (got {seconds} s, hop {hop_seconds} s)")
    y = np.asarray(y)
    k = n_segments(y.shape[-1], L, hop)
    if k == 0:
        return np.zeros((0, L), dtype=y.dtype)
    view = np.lib.stride_tricks.sliding_window_view(y, L)[::hop][:k]
    return np.ascontiguousarray(view)


def chunks(y: np.ndarray, size: int, *, hop: int | None = None, mode: str = "none") -> np.ndarray:
    """Fixed chunks of ``size`` samples (hop = size: non-overlapping) -> (n, size).

    The remainder is dropped with ``mode="none"`` and padded (``"zero"``/``"repeat"``)
    otherwise. Use ``int(SHORTCHUNK_SECONDS * sr)`` for ShortChunk, ``SAMPLECNN_SAMPLES``
    for SampleCNN. A clip shorter than one chunk gives (0, size) with ``mode="none"``.
    """
    size = int(size)
    hop = int(hop or size)
    y = np.asarray(y)
    n = y.shape[-1]
    if mode != "none" and n > 0:
        k = max(1, math.ceil(max(n - size, 0) / hop) + 1)
        y = pad(y, (k - 1) * hop + size, mode)
    k = n_segments(y.shape[-1], size, hop)
    if k == 0:
        return np.zeros((0, size), dtype=y.dtype)
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(y, size)[::hop][:k])
