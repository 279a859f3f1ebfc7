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
    names = F.feature_names("javadi477")
    assert len(names) == 477 == len(set(names))
    assert names[:4] == ("tempo_bpm", "onset_rate", "low_energy_ratio", "dynamic_range_db")
    for n in ("zcr_mean", "rms_kurtosis", "spectral_centroid_iqr", "spectral_rolloff85_q3",
              "mfcc01_mean", "mfcc13_skewness", "mfcc_d07_rms", "mfcc_dd13_kurtosis"):
        assert n in names
    assert len(F.STATS) == 11


def test_477_on_a_sine():
    sr = 22050
    v = F.compute_features(_sine(1000, sr, 10.0), sr, "javadi477")
    f = pd.Series(v, index=F.feature_names("javadi477"))
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


def test_477_matches_librosa_on_noise():
    sr = 22050
    y = np.convolve(_noise(sr, 8.0, seed=7), np.ones(4) / 4, mode="same").astype(np.float32)
    f = pd.Series(F.compute_features(y, sr, "javadi477"), index=F.feature_names("javadi477"))
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
