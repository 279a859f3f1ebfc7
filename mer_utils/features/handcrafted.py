"""Handcrafted feature sets: the tagging paper's 477-D set (Brown et al.'s recipe, and our
earlier variant) and the emotion set.

``javadi477`` — the paper's set. Javadi et al. (Sec. 3.1) extract it with "the same
approach as Brown C. et al. in [5]" (Brown et al. 2020, *Exploring Automatic Diagnosis of
COVID-19 from Crowdsourced Respiratory Sound Data*, arXiv:2006.05919) and count
"4 + 4 × 11 + 3 × 13 × 11 = 477". :func:`brown477` follows that work's published feature
extraction script (``training/01_extract_handcrafted_features.py`` of its supplementary code,
T. Xia / J. Han, repository cam-mobsys/covid19-sounds-kdd20) step by step; sources of each choice:

* audio: 22,050 Hz mono (Brown's ``SR``; Javadi: "resampled them to 22KHz"), the first
  29.1 s (Javadi: every clip "trimmed as 29.1s clips");
* peak normalisation ``y / max|y|`` and silence trimming
  (``librosa.effects.trim``, top_db 60, 100-ms frames, 50 % overlap) — Brown's code;
* 4 segment-level scalars (Brown's code): ``duration_s`` of the trimmed signal,
  ``tempo_bpm`` (``librosa.beat.beat_track``), ``onset_count`` (``librosa.onset.onset_detect``
  on the mean-aggregated onset strength), ``period_s`` (1 / the frequency of the peak of
  the magnitude spectrum of the Hilbert envelope of the normalised, untrimmed signal,
  searched from FFT bin 3 to Nyquist). Departure: Brown's code divides the duration by
  ``argmax + 2`` where the peak sits at bin ``argmax + 3`` (its search starts at bin 3),
  i.e. it reports the period of the next-lower bin; we use the peak's own bin, so a click
  every second gives 1.0 s (the cited code would give 10/9 s on a 10-s signal);
* 4 frame-level series, 100-ms frames (n_fft 2205), 50 % overlap (hop 1102), each
  summarised by 11 statistics: ``rms`` (Brown's code calls ``librosa.feature.rms`` with its
  defaults, 2048-sample frames / hop 512 — kept), ``spectral_centroid`` and
  ``spectral_rolloff85`` of the magnitude STFT, ``zcr``;
* 13 MFCCs with **DCT type III** (``librosa.feature.mfcc(..., dct_type=3)``, Slaney mel, 128
  bands, power-to-dB), their velocity and acceleration (``librosa.feature.delta``, width
  9), each coefficient summarised by the 11 statistics;
* the 11 statistics, in Brown's order (:data:`BROWN_STATS`): mean, min, max, std
  (population), rms, median, Q1, Q3 (linear percentiles), IQR (= upper quartile by the
  ``higher`` rule minus lower quartile by the ``lower`` rule, as Brown's ``sta_fun``),
  skewness and kurtosis (pandas' bias-corrected sample skewness and excess kurtosis).

``javadi477_ours`` — the set this compendium used before the recipe was traced (kept as
a named variant): tempo, onset rate, low-energy ratio and dynamic range as the 4 scalars,
2048/512 frames, DCT-II MFCCs, statistics in :data:`STATS` order.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.audio import AudioError
from mer_utils.cache import FeatureCache
from mer_utils.features.frontends import _AMIN, _mel_basis, _hann
from mer_utils.features.extract import _run

# =========================================================================== handcrafted
STATS = ("mean", "median", "std", "rms", "max", "min", "q1", "q3", "iqr", "skewness", "kurtosis")
#: Brown et al.'s ``sta_fun`` order (the paper's set)
BROWN_STATS = ("mean", "min", "max", "std", "rms", "median", "q1", "q3", "iqr", "skewness", "kurtosis")
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
    top_db: float = 60.0                # silence trimming threshold (Brown's recipe only)


FEATURE_SETS: dict[str, FeatureSetConfig] = {
    # Brown et al.'s recipe (the paper's set): 100-ms frames, 50 % overlap
    "javadi477": FeatureSetConfig(name="javadi477", n_fft=2205, hop_length=1102, n_mfcc=13,
                                  clip_seconds=29.1, version=2),
    # our earlier choice, kept as a named variant
    "javadi477_ours": FeatureSetConfig(name="javadi477_ours", n_mfcc=13, clip_seconds=29.1),
    "emotion": FeatureSetConfig(name="emotion", n_mfcc=20, clip_seconds=None),
}

_BROWN_SCALARS = ("duration_s", "tempo_bpm", "onset_count", "period_s")
_BROWN_FRAME = ("rms", "spectral_centroid", "spectral_rolloff85", "zcr")
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
        rows = list(_BROWN_FRAME) + [f"mfcc{i:02d}" for i in range(1, n + 1)] \
            + [f"mfcc_d{i:02d}" for i in range(1, n + 1)] + [f"mfcc_dd{i:02d}" for i in range(1, n + 1)]
        return tuple(_BROWN_SCALARS) + tuple(f"{r}_{s}" for r in rows for s in BROWN_STATS)
    if set_name == "javadi477_ours":
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


# --------------------------------------------------------------------------- Brown et al.
def brown_stats(M: np.ndarray) -> np.ndarray:
    """Brown et al.'s ``sta_fun`` on every row of (rows, frames) -> (rows, 11), in
    :data:`BROWN_STATS` order (see the module docstring for each definition)."""
    M = np.asarray(M, dtype=np.float64)
    if M.ndim == 1:
        M = M[None]
    q1, med, q3 = np.percentile(M, [25, 50, 75], axis=1)
    iqr = np.quantile(M, 0.75, axis=1, method="higher") - np.quantile(M, 0.25, axis=1, method="lower")
    frame = pd.DataFrame(M.T)
    skew = frame.skew().to_numpy(dtype=np.float64)      # pandas: bias-corrected, 0 when flat
    kurt = frame.kurt().to_numpy(dtype=np.float64)
    return np.stack([M.mean(axis=1), M.min(axis=1), M.max(axis=1), M.std(axis=1),
                     np.sqrt(np.mean(M * M, axis=1)), med, q1, q3, iqr,
                     np.nan_to_num(skew), np.nan_to_num(kurt)], axis=1)


def hilbert_period(y: np.ndarray, sr: int) -> float:
    """Period (s) of the strongest component of the Hilbert envelope of ``y``.

    As Brown et al.: envelope ``sqrt(y^2 + H(y)^2)`` with ``scipy.fftpack.hilbert``, magnitude
    FFT, peak searched from bin 3 up to (excluding) N/2; the period is ``N / sr / k`` for the
    peak's bin ``k`` (their code uses ``k - 1``: see the module docstring).
    """
    from scipy import fftpack

    y = np.asarray(y, dtype=np.float64)
    env = np.sqrt(y * y + fftpack.hilbert(y) ** 2)
    spec = np.abs(fftpack.fft(env))
    search = spec[3: len(spec) // 2]
    if search.size == 0:
        return 0.0
    k = int(np.argmax(search)) + 3
    return float(len(env) / sr / k)


def brown477(y: np.ndarray, sr: int = 22050, *, cfg: FeatureSetConfig | None = None,
             path="<array>") -> np.ndarray:
    """The 477-D vector of Brown et al.'s recipe for one clip (already cut to 29.1 s).

    Steps and sources: module docstring. Computations that Brown's script repeats are done
    once where the result is identical (one 100-ms STFT for centroid, roll-off and the
    MFCCs' mel spectrogram; one 2048/512 log-mel for both onset envelopes);
    ``tests/test_features.py`` checks the vector against a literal transcription of the
    script's calls.
    """
    import librosa

    cfg = cfg or FEATURE_SETS["javadi477"]
    n_fft, hop = cfg.n_fft, cfg.hop_length
    y = np.asarray(y, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if not peak > 0:
        raise AudioError(path, "silent clip (peak 0)", "drop the clip (recorded skip)")
    y = y / peak
    yt, _ = librosa.effects.trim(y, top_db=cfg.top_db, frame_length=n_fft, hop_length=hop)
    if len(yt) < max(n_fft, int(cfg.min_seconds * sr)):
        raise AudioError(path, f"only {len(yt) / sr:.2f} s left after silence trimming",
                         "the clip is (nearly) silent; drop it (recorded skip)")
    duration = len(yt) / sr
    # onset envelopes (librosa defaults: 2048/512 log-mel), beat tracker with the median one
    S512 = librosa.power_to_db(librosa.feature.melspectrogram(y=yt, sr=sr))
    env_median = librosa.onset.onset_strength(S=S512, sr=sr, aggregate=np.median)
    tempo, _ = librosa.beat.beat_track(onset_envelope=env_median, sr=sr)
    env_mean = librosa.onset.onset_strength(S=S512, sr=sr)
    onsets = len(librosa.onset.onset_detect(onset_envelope=env_mean, sr=sr))
    period = hilbert_period(y, sr)
    # frame-level series on 100-ms frames, 50 % overlap
    mag = np.abs(librosa.stft(yt, n_fft=n_fft, hop_length=hop))
    rms = librosa.feature.rms(y=yt)[0]
    cent = librosa.feature.spectral_centroid(S=mag, sr=sr)[0]
    rolloff = librosa.feature.spectral_rolloff(S=mag, sr=sr)[0]
    zcr = librosa.feature.zero_crossing_rate(yt, frame_length=n_fft, hop_length=hop)[0]
    mel = librosa.feature.melspectrogram(S=mag ** 2, sr=sr, n_fft=n_fft, hop_length=hop)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=sr, n_mfcc=cfg.n_mfcc, dct_type=3)
    d1 = librosa.feature.delta(mfcc, order=1)
    d2 = librosa.feature.delta(mfcc, order=2)
    scalars = [duration, float(np.atleast_1d(tempo)[0]), float(onsets), period]
    frames = [brown_stats(np.vstack([rms])), brown_stats(np.vstack([cent, rolloff, zcr])),
              brown_stats(mfcc), brown_stats(d1), brown_stats(d2)]
    return np.concatenate([scalars] + [f.ravel() for f in frames]).astype(np.float64)


def compute_features(y: np.ndarray, sr: int, set_name: str, *, path="<array>") -> np.ndarray:
    """One clip's feature vector (float32, in :func:`feature_names` order)."""
    cfg = FEATURE_SETS[set_name]
    y = np.asarray(y, dtype=np.float32)
    if sr != cfg.sr:
        y = audio.resample(y, sr, cfg.sr)
    if cfg.clip_seconds is not None:
        y = audio.first_seconds(y, cfg.sr, cfg.clip_seconds, on_short="keep")
    audio.check_signal(y, cfg.sr, path, min_duration=cfg.min_seconds)
    if set_name == "javadi477":
        vec = brown477(y, cfg.sr, cfg=cfg, path=path)
        if not np.all(np.isfinite(vec)):
            bad = [n for n, v in zip(feature_names(set_name), vec) if not np.isfinite(v)][:5]
            raise AudioError(path, f"non-finite features ({', '.join(bad)})",
                             "the clip is probably degenerate (near-silent or constant); check it")
        return vec.astype(np.float32)
    a = _Analysis(y, cfg)
    zcr, rms = a.zcr_rms
    low_energy, dyn, loud = a.dynamics()
    if set_name == "javadi477_ours":
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

    ``set_name``: ``"javadi477"`` (477 columns, Brown et al.'s recipe), ``"javadi477_ours"``
    (477 columns, our earlier variant) or ``"emotion"``. Failed files are skipped
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
