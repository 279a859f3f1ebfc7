"""Front ends (shapes, frame counts), handcrafted sets (names, known-signal values),
extraction (skips, cache), images, and the 4Q top-100 loader."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import features as F
from mer_utils.audio import AudioError
from mer_utils.config import Manifest

REAL_4Q = Path(__file__).resolve().parents[1] / "../shared/data/4q-dev"


@pytest.fixture()
def real_4q():
    if not REAL_4Q.exists():
        pytest.skip(f"real 4Q dev data not present at {REAL_4Q} (only on the dev machine)")
    return REAL_4Q.resolve()


def _noise(sr, seconds, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(round(sr * seconds)))).astype(np.float32)


def _sine(freq, sr, seconds, amp=0.5):
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _ctx(tmp_path, n_jobs=1):
    man = Manifest(notebook="test", profile={}, seed=0, data_root=None)
    return SimpleNamespace(cache_dir=tmp_path / "cache", manifest=man, p=SimpleNamespace(n_jobs=n_jobs))


# --------------------------------------------------------------------------- front ends
EXPECTED = {"javadi_cnn": 1407, "cazzaniga_image": 1034, "sun_segment": 1292,
            "velankar_crnn": 640, "louro_mel": 942}


def test_front_end_names_match_contract():
    assert set(F.FRONT_ENDS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_front_end_shapes(name):
    fe = F.FRONT_ENDS[name]
    y = _noise(fe.sr, 30.06)  # a typical 4Q preview length
    S = F.spectrogram(y, fe.sr, name)
    assert S.shape == (EXPECTED[name], 128) and S.dtype == np.float32
    assert F.expected_frames(name) == EXPECTED[name]
    assert np.all(np.isfinite(S))
    if fe.ref != "source_max":  # dB with an 80-dB floor under the clip's maximum
        assert S.max() - S.min() <= 80.0 + 1e-3


def test_frame_count_derivations():
    fe = F.FRONT_ENDS
    assert fe["javadi_cnn"].frames_for(29.1) == 1408          # 1 + floor(641,655 / 456), first 1407 kept
    assert F.FRONT_ENDS["javadi_cnn"].hop_length == 456
    assert fe["louro_mel"].frames_for(30.12) == 942            # librosa defaults at 16 kHz
    assert fe["louro_mel"].frames_for(30.06) == 940            # our 4Q copies: padded to 942
    assert fe["velankar_crnn"].frames_for(30.0) == 646         # 11,025 Hz: first 640 kept
    assert fe["cazzaniga_image"].frames_for(24.0) == 1034
    assert fe["sun_segment"].frames_for(3.0) == 130


def test_fixed_lengths_pad_and_crop():
    y = _noise(22050, 10.0)
    assert F.spectrogram(y, 22050, "javadi_cnn").shape == (1407, 128)       # zero-padded
    assert F.spectrogram(_noise(22050, 60.0), 22050, "javadi_cnn").shape == (1407, 128)
    # input at another rate is resampled to the front end's rate
    assert F.spectrogram(_noise(44100, 30.0), 44100, "louro_mel").shape == (942, 128)
    with pytest.raises(AudioError, match="too short"):
        F.spectrogram(y, 22050, "cazzaniga_image", path="short.mp3")  # < 24 s: dropped


def test_louro_is_librosa_defaults():
    y = _noise(16000, 30.12, seed=3)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000)).T
    assert ref.shape == (942, 128)
    np.testing.assert_allclose(F.spectrogram(y, 16000, "louro_mel"), ref, atol=1e-3)


def test_cropping_equals_computing_whole_clip():
    y = _noise(22050, 40.0, seed=4)
    whole = F.spectrogram(y, 22050, "javadi_cnn", clip=False)
    # the fixed-length path keeps exactly the first 1407 frames of the (29.1 s) clip,
    # whose last frames may differ only in the dB floor; compare away from the end
    np.testing.assert_allclose(F.spectrogram(y, 22050, "javadi_cnn")[:1400],
                               whole[:1400] - whole.max() + F.spectrogram(y, 22050, "javadi_cnn").max(),
                               atol=0.05)


def test_segment_spectrograms():
    y = _noise(22050, 30.0)
    X = F.segment_spectrograms(y, 22050, "sun_segment", seconds=3.0)
    assert X.shape == (28, 130, 128)
    assert F.segment_spectrograms(y, 22050, seconds=5.0).shape == (26, 216, 128)
    with pytest.raises(AudioError, match="too short"):
        F.segment_spectrograms(y[:22050], 22050, seconds=3.0)


def test_images_per_source(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-20, 40, size=(4, 50, 16)).astype(np.float32)
    X[2:] -= 30  # a quieter source
    sources = ["a", "a", "b", "b"]
    imgs, refs = F.render_source_images(X, sources, size=32, out_dir=tmp_path, ids=["t0", "t1", "t2", "t3"])
    assert imgs.shape == (4, 32, 32, 3) and imgs.dtype == np.uint8
    assert refs["a"] == pytest.approx(X[:2].max()) and refs["b"] == pytest.approx(X[2:].max())
    # each source is normalised by its own max: the quiet source is not darker
    assert abs(imgs[:2].mean() - imgs[2:].mean()) < 10
    # a common reference would make it darker
    dark = F.spectrogram_image(X[2], refs["a"], 32)
    assert dark.mean() < imgs[2].mean() - 10
    from PIL import Image

    png = tmp_path / "b" / "t2.png"
    assert png.exists()
    np.testing.assert_array_equal(np.asarray(Image.open(png)), imgs[2])


# --------------------------------------------------------------------------- handcrafted
def test_477_names():
    """The paper's set: Brown et al.'s 4 scalars, 4 frame series and 3 x 13 MFCC rows, each
    with the 11 statistics in Brown's order: 4 + 4 x 11 + 3 x 13 x 11 = 477."""
    names = F.feature_names("javadi477")
    assert len(names) == 477 == len(set(names)) == 4 + 4 * 11 + 3 * 13 * 11
    assert names[:4] == ("duration_s", "tempo_bpm", "onset_count", "period_s")
    assert F.BROWN_STATS == ("mean", "min", "max", "std", "rms", "median", "q1", "q3", "iqr",
                             "skewness", "kurtosis")
    assert names[4:15] == tuple(f"rms_{s}" for s in F.BROWN_STATS)
    assert [n.rsplit("_", 1)[0] for n in names[4:48:11]] == ["rms", "spectral_centroid",
                                                             "spectral_rolloff85", "zcr"]
    assert names[48] == "mfcc01_mean" and names[48 + 13 * 11] == "mfcc_d01_mean"
    assert names[-1] == "mfcc_dd13_kurtosis"
    cfg = F.FEATURE_SETS["javadi477"]
    assert (cfg.sr, cfg.n_fft, cfg.hop_length, cfg.clip_seconds) == (22050, 2205, 1102, 29.1)  # 100 ms, 50 %
    ours = F.feature_names("javadi477_ours")                    # the earlier set, kept as a variant
    assert len(ours) == 477 and ours[:4] == ("tempo_bpm", "onset_rate", "low_energy_ratio", "dynamic_range_db")
    for n in ("zcr_mean", "rms_kurtosis", "spectral_centroid_iqr", "spectral_rolloff85_q3",
              "mfcc01_mean", "mfcc13_skewness", "mfcc_d07_rms", "mfcc_dd13_kurtosis"):
        assert n in ours and n in names
    assert len(F.STATS) == 11


def _click_track(sr=22050, clicks=range(1, 9), seconds=10, width=110):
    """Silence with a 5-ms 1-kHz burst at 1, 2, ..., 8 s."""
    y = np.zeros(seconds * sr, np.float32)
    burst = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(width) / sr)
    for c in clicks:
        y[c * sr:c * sr + width] = burst
    return y


def test_477_on_a_click_track_by_hand():
    """Hand-checkable values of Brown et al.'s scalars on 8 clicks one second apart.

    Trimming (100-ms frames, hop 1,102, centred) keeps frames 20 (the first whose window
    [t*1102 - 1102, t*1102 + 1103) reaches the click at 22,050) to 161 (the last reaching the
    click at 176,400): samples 20 x 1102 = 22,040 to 162 x 1102 = 178,524, i.e.
    156,484 / 22,050 = 7.0968 s. The first click opens the trimmed signal (it is already in
    the first analysis frame, so nothing rises before it): the onset detector counts the
    other 7. The Hilbert envelope repeats every second: period 1.0 s (the 10-s signal's FFT
    bin 10). Tempo: one click per second, 60 BPM.
    """
    sr = 22050
    f = pd.Series(F.compute_features(_click_track(sr), sr, "javadi477"), index=F.feature_names("javadi477"))
    assert f["duration_s"] == pytest.approx((162 - 20) * 1102 / sr, abs=1e-4)
    assert f["onset_count"] == 7
    assert f["period_s"] == pytest.approx(1.0)
    assert f["tempo_bpm"] == pytest.approx(60, abs=1)
    assert np.all(np.isfinite(f.to_numpy()))
    # a 5-ms burst in a 100-ms frame: ZCR of a 1-kHz tone over 5 % of the frame at most
    assert 0 <= f["zcr_max"] <= 2 * 1000 / sr * 0.06


def _brown_script(y, sr=22050):
    """A literal transcription of the calls of Brown et al.'s ``extract_features`` (their
    ``training/01_extract_handcrafted_features.py``), with librosa >= 0.10 keyword arguments."""
    from math import pi

    from scipy.fftpack import fft, hilbert

    FRAME_LEN, HOP = int(sr / 10), int(sr / 20)

    def sta_fun(d):
        lo, hi = np.quantile(d, 0.25, method="lower"), np.quantile(d, 0.75, method="higher")
        s = pd.Series(d)
        return np.array([np.mean(d), np.min(d), np.max(d), np.std(d), np.sqrt(np.sum(np.square(d)) / len(d)),
                         np.median(d), np.percentile(d, 25), np.percentile(d, 75), hi - lo, s.skew(), s.kurt()])

    def get_period(signal):
        hy = hilbert(signal)
        ey = np.sqrt(signal ** 2 + hy ** 2)
        tot_time = len(ey) / sr
        pow_ft = np.abs(fft(ey))
        pos = pow_ft[3: int(len(pow_ft) / 2)].argmax()
        return 2 * pi / (2 * pi * (pos + 2) / tot_time), pos

    signal = y / np.max(np.abs(y))
    trimmed, _ = librosa.effects.trim(signal, frame_length=FRAME_LEN, hop_length=HOP)
    duration = librosa.get_duration(y=trimmed, sr=sr)
    tempo, _ = librosa.beat.beat_track(y=trimmed, sr=sr)
    o_env = librosa.onset.onset_strength(y=trimmed, sr=sr)
    onsets = librosa.onset.onset_detect(onset_envelope=o_env, sr=sr).shape[0]
    mag, _ = librosa.magphase(librosa.stft(trimmed, n_fft=FRAME_LEN, hop_length=HOP))
    rms = librosa.feature.rms(y=trimmed)[0]
    cent = librosa.feature.spectral_centroid(S=mag)[0]
    rolloff = librosa.feature.spectral_rolloff(S=mag, sr=sr)[0]
    zcr = librosa.feature.zero_crossing_rate(trimmed, frame_length=FRAME_LEN, hop_length=HOP)[0]
    mfcc = librosa.feature.mfcc(y=trimmed, sr=sr, n_fft=FRAME_LEN, hop_length=HOP, n_mfcc=13, dct_type=3)
    d1, d2 = librosa.feature.delta(mfcc, order=1), librosa.feature.delta(mfcc, order=2)
    period, pos = get_period(signal)
    vec = np.concatenate([[duration, float(np.atleast_1d(tempo)[0]), onsets, period], sta_fun(rms),
                          sta_fun(cent), sta_fun(rolloff), sta_fun(zcr)]
                         + [sta_fun(m[i]) for m in (mfcc, d1, d2) for i in range(13)])
    return vec, pos


def test_477_matches_brown_et_al_script():
    """Our vectorised recipe gives the cited script's numbers (shared computations are
    identical), except the period, where the script divides by the bin below the peak."""
    sr = 22050
    rng = np.random.default_rng(3)
    t = np.arange(int(6.0 * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 1.5 * t))
         + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    y[: sr // 2] = 0.0                                     # something to trim
    ours = F.compute_features(y, sr, "javadi477").astype(np.float64)
    ref, pos = _brown_script(y, sr)
    names = F.feature_names("javadi477")
    k = pos + 3                                            # the peak's own FFT bin
    assert ours[3] == pytest.approx(len(y) / sr / k, rel=1e-6)         # stored as float32
    assert ref[3] == pytest.approx(len(y) / sr / (k - 1), rel=1e-9)
    keep = [i for i in range(477) if i != 3]
    bad = [names[i] for i in keep if not np.isclose(ours[i], ref[i], rtol=2e-3, atol=2e-3)]
    assert not bad, bad[:10]


def test_477_ours_on_a_sine():
    sr = 22050
    v = F.compute_features(_sine(1000, sr, 10.0), sr, "javadi477_ours")
    f = pd.Series(v, index=F.feature_names("javadi477_ours"))
    assert v.shape == (477,) and np.all(np.isfinite(v))
    # near-constant ZCR: only the two edge frames (half padding) differ from the rest
    assert f["zcr_std"] ** 2 < 1e-5 and f["zcr_iqr"] < 1e-3 and f["zcr_std"] < 0.05 * f["zcr_mean"]
    assert f["zcr_median"] == pytest.approx(2 * 1000 / sr, rel=0.03)
    assert f["spectral_centroid_median"] == pytest.approx(1000, abs=25)
    assert f["spectral_rolloff85_median"] == pytest.approx(1000, abs=25)
    assert f["rms_median"] == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert f["rms_max"] >= f["rms_q3"] >= f["rms_median"] >= f["rms_q1"] >= f["rms_min"]
    assert f["mfcc01_iqr"] == pytest.approx(f["mfcc01_q3"] - f["mfcc01_q1"])
    # a steady tone: MFCC velocity is ~0 in the middle of the clip
    assert abs(f["mfcc_d02_median"]) < 0.05


def test_477_ours_matches_librosa_on_noise():
    sr = 22050
    y = np.convolve(_noise(sr, 8.0, seed=7), np.ones(4) / 4, mode="same").astype(np.float32)
    f = pd.Series(F.compute_features(y, sr, "javadi477_ours"), index=F.feature_names("javadi477_ours"))
    cent = librosa.feature.spectral_centroid(y=y, sr=sr)[0]
    roll = librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85)[0]
    zcr = librosa.feature.zero_crossing_rate(y=y)[0]
    rms = librosa.feature.rms(y=y)[0]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    assert f["spectral_centroid_mean"] == pytest.approx(cent.mean(), rel=1e-4)
    assert f["spectral_rolloff85_max"] == pytest.approx(roll.max(), rel=1e-4)
    assert f["zcr_mean"] == pytest.approx(zcr.mean(), rel=1e-6)
    assert f["rms_std"] == pytest.approx(rms.std(), rel=1e-3)
    assert f["mfcc03_median"] == pytest.approx(np.median(mfcc[2]), abs=1e-2)
    d2 = librosa.feature.delta(mfcc, order=2)
    assert f["mfcc_dd05_std"] == pytest.approx(d2[4].std(), rel=1e-3)
    tempo = librosa.feature.tempo(onset_envelope=librosa.onset.onset_strength(y=y, sr=sr), sr=sr)[0]
    assert f["tempo_bpm"] == pytest.approx(tempo, rel=0.02)


def test_frame_stats_constant_row_and_moments():
    M = np.vstack([np.full(50, 3.0), np.r_[np.zeros(49), 1.0]])
    s = pd.DataFrame(F.frame_stats(M), columns=F.STATS)
    assert s.loc[0, "skewness"] == 0 and s.loc[0, "kurtosis"] == 0 and s.loc[0, "std"] == 0
    from scipy.stats import kurtosis, skew

    assert s.loc[1, "skewness"] == pytest.approx(skew(M[1]))
    assert s.loc[1, "kurtosis"] == pytest.approx(kurtosis(M[1]))
    assert s.loc[1, "rms"] == pytest.approx(np.sqrt(1 / 50))


def test_emotion_set():
    sr = 22050
    names = F.feature_names("emotion")
    assert len(names) == len(set(names))
    for n in ("tempo_bpm", "onset_rate", "key_strength", "mode_major", "chroma_A_mean",
              "tonnetz5_std", "spectral_contrast6_mean", "spectral_flatness_median", "spectral_bandwidth_iqr"):
        assert n in names
    y = _sine(440, sr, 6.0) + _sine(554.37, sr, 6.0, 0.3) + _sine(659.25, sr, 6.0, 0.3)  # A major triad
    f = pd.Series(F.compute_features(y, sr, "emotion"), index=names)
    assert np.all(np.isfinite(f.values))
    assert f["chroma_A_median"] == pytest.approx(1.0, abs=1e-3)  # A is the strongest pitch class
    # noise is flatter than a tone
    g = pd.Series(F.compute_features(_noise(sr, 6.0), sr, "emotion"), index=names)
    assert g["spectral_flatness_mean"] > 10 * f["spectral_flatness_mean"]


def test_key_features_mode():
    assert F.key_features(np.roll(F._KK_MAJOR, 3))[2] == 1.0   # E-flat major -> major
    assert F.key_features(np.roll(F._KK_MINOR, 9))[2] == 0.0   # A minor -> minor
    assert F.key_features(np.ones(12)) == (0.0, 0.0, 0.0, 0.0)


# --------------------------------------------------------------------------- extraction
@pytest.fixture()
def wav_corpus(tmp_path):
    sr = 16000
    d = tmp_path / "wav"
    d.mkdir()
    rows = []
    for i, f0 in enumerate([220.0, 330.0, 440.0]):
        p = d / f"ok{i}.wav"
        sf.write(p, _sine(f0, sr, 4.0) + _noise(sr, 4.0, seed=i) * 0.2, sr)
        rows.append({"track_id": f"ok{i}", "path": str(p)})
    sf.write(d / "silent.wav", np.zeros(4 * sr, np.float32), sr)
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00junk" + bytes(500))
    sf.write(d / "short.wav", _sine(440, sr, 0.5), sr)
    rows += [{"track_id": t, "path": str(d / f"{t}.wav")} for t in ("silent", "corrupt", "short")]
    return pd.DataFrame(rows)


def test_extract_features_skips_and_caches(tmp_path, wav_corpus):
    ctx = _ctx(tmp_path)
    Fd, kept = F.extract_features(wav_corpus, "javadi477", ctx=ctx, progress=False)
    assert list(Fd.index) == ["ok0", "ok1", "ok2"] == list(kept["track_id"])
    assert Fd.shape == (3, 477) and not Fd.isna().any().any()
    skipped = {s["item"].split(" ")[0]: s["reason"] for s in ctx.manifest.skipped}
    assert set(skipped) == {"silent", "corrupt", "short"}
    assert "silent" in skipped["silent"] and "decode" in skipped["corrupt"] and "too short" in skipped["short"]
    assert len(list((tmp_path / "cache" / "features").rglob("*.npz"))) == 3
    # re-run: served from the cache (files unchanged), identical values, same skips
    ctx2 = _ctx(tmp_path)
    Fd2, _ = F.extract_features(wav_corpus, "javadi477", ctx=ctx2, progress=False)
    pd.testing.assert_frame_equal(Fd, Fd2)
    assert len(ctx2.manifest.skipped) == 3
    with pytest.raises(AudioError, match="silent"):
        F.extract_features(wav_corpus, "javadi477", ctx=_ctx(tmp_path), on_error="raise",
                           cache=False, progress=False)


def test_extract_spectrograms_and_segments(tmp_path, wav_corpus):
    # (joblib's process pool itself is exercised in test_cache with a cheap function)
    ctx = _ctx(tmp_path, n_jobs=1)
    X, kept = F.extract_spectrograms(wav_corpus, "louro_mel", ctx=ctx, progress=False)
    assert X.shape == (3, 942, 128) and X.dtype == np.float32 and len(kept) == 3
    assert len(ctx.manifest.skipped) == 3
    Xs, segs, kept_s = F.extract_segments(wav_corpus, "sun_segment", seconds=2.0, ctx=_ctx(tmp_path),
                                          progress=False)
    assert Xs.shape == (3 * 3, F.FRONT_ENDS["sun_segment"].frames_for(2.0), 128)  # 4 s, 2-s segments, hop 1 s
    assert list(segs["row"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the central 24-s crop drops these 4-s clips: all skipped, empty stack
    Xc, kept_c = F.extract_spectrograms(wav_corpus, "cazzaniga_image", ctx=_ctx(tmp_path), progress=False)
    assert len(kept_c) == 0 and Xc.shape[0] == 0


# --------------------------------------------------------------------------- top-100
def test_load_top100_synthetic(tmp_path):
    d = tmp_path / "4q" / "sub"
    d.mkdir(parents=True)
    pd.DataFrame({"SongID": ["MT1", "MT2"], "F0001": [1.0, 2.0], "X (Mean)": [3, 4],
                  "Quadrant": ["Q1", "Q3"]}).to_csv(d / "top100_features.csv", index=False)
    df = F.load_top100(tmp_path / "4q")
    assert list(df.index) == ["MT1", "MT2"] and df.index.name == "track_id"
    assert list(df.columns) == ["F0001", "X (Mean)", "quadrant"]
    with pytest.raises(FileNotFoundError, match="top100_features.csv"):
        F.load_top100(tmp_path / "nothing")


_TOP = "SongID,F0001,F0002,Quadrant\nMT1,1.5,2,Q1\nMT2,3.0,4,Q3\nMT3,5,6.25,Q2\n"


@pytest.mark.parametrize("broken, message", [
    (_TOP.replace("MT1,1.5,2,Q1", "MT1,1.5,,2,Q1"), r"line 2: 5 fields where the header has 4"),   # first data row
    (_TOP.replace("MT3,5,6.25,Q2", "MT3,5,6.25,Q2,"), r"line 4: 5 fields where the header has 4"),
    (_TOP.replace("MT2,3.0", "MT2,3.0x"), r"line 3, column 'F0001': '3.0x' is not a number"),
    (_TOP.replace("MT3,", "MT1,"), r"MT1.*more than one row"),
    (_TOP.replace("SongID", "Song"), r"expected a 'SongID' column"),
])
def test_a_broken_top100_file_is_named_with_line_and_what_to_do(tmp_path, broken, message):
    """A stray comma used to shift every column silently (first row) or raise a ParserError
    without the file's name; a bad cell became 0. Each is now an error naming file and line."""
    from mer_utils.datasets import DatasetError

    f = tmp_path / "top100_features.csv"
    f.write_text(broken)
    with pytest.raises(DatasetError, match=message) as err:
        F.load_top100(f)
    assert str(f) in str(err.value)


def test_spreadsheet_no_value_cells_are_missing_and_counted(tmp_path):
    f = tmp_path / "top100_features.csv"
    f.write_text(_TOP.replace("MT2,3.0,4", "MT2,n/a,#VALUE!"))
    with pytest.warns(UserWarning, match="2 feature cell"):
        df = F.load_top100(f)
    assert np.isnan(df.loc["MT2", "F0001"]) and np.isnan(df.loc["MT2", "F0002"])
    assert df.loc["MT1", "F0001"] == 1.5
    assert df.attrs["missing"]["count"] == 2 and df.attrs["missing"]["examples"][0] == (3, "F0001", "n/a")


def test_load_top100_real(real_4q):
    df = F.load_top100(real_4q)
    assert df.shape == (120, 101)
    assert set(df["quadrant"]) == {"Q1", "Q2", "Q3", "Q4"}
    assert df.drop(columns="quadrant").dtypes.eq(np.float64).all()


def test_align_on_ids_keeps_corpus_order_and_common_tracks():
    import pandas as pd
    from mer_utils.features import align_on_ids

    df = pd.DataFrame({"track_id": ["a", "b", "c", "d"]})
    k1 = pd.DataFrame({"track_id": ["a", "c", "d"]})        # b failed in extractor 1
    k2 = pd.DataFrame({"track_id": ["d", "a", "b", "c"]})   # different order
    ids, rows, (p1, p2) = align_on_ids(df, k1, k2)
    assert list(ids) == ["a", "c", "d"] and list(rows) == [0, 2, 3]
    assert list(k1["track_id"].iloc[p1]) == list(ids) and list(k2["track_id"].iloc[p2]) == list(ids)
