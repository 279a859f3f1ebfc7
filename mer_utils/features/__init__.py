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
``javadi477`` — the multi-label paper's 477-D set: Brown et al.'s recipe (the paper's
    "same approach as Brown C. et al." [5]), as their published script computes it, on the
    first 29.1 s at 22,050 Hz: peak normalisation and silence trimming; 4 segment-level
    scalars ``duration_s``, ``tempo_bpm``, ``onset_count``, ``period_s`` (Hilbert-envelope
    spectrum peak); ``rms``, ``spectral_centroid``, ``spectral_rolloff85``, ``zcr`` on 100-ms
    frames with 50 % overlap (n_fft 2205, hop 1102); 13 MFCCs (DCT type III) with velocity and
    acceleration; each series summarised by the 11 statistics of :data:`BROWN_STATS`.
    4 + 4 × 11 + 3 × 13 × 11 = 477 named columns (:func:`feature_names`). Sources of every
    choice: :mod:`mer_utils.features.handcrafted`.

``javadi477_ours`` — the set used before the recipe was traced, kept as a named variant:
    tempo, onset rate, low-energy ratio, dynamic range; ZCR, RMS, centroid, roll-off; MFCC
    1-13 (DCT-II) + deltas; 2048/512 frames; 11 statistics (:data:`STATS`), 477 columns.

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
from mer_utils.features.frontends import (  # noqa: F401
    FRONT_ENDS, FrontEnd, expected_frames, get_front_end, prepare_clip, segment_spectrograms,
    spectrogram)
from mer_utils.features.extract import (  # noqa: F401
    CachedStack, extract_segments, extract_spectrograms, spectrogram_stack)
from mer_utils.features.images import (  # noqa: F401
    render_source_images, save_png, source_reference, source_references, spectrogram_image)
from mer_utils.features.handcrafted import (  # noqa: F401
    BROWN_STATS, EMOTION_STATS, FEATURE_SETS, STATS, _KK_MAJOR, _KK_MINOR, brown477, brown_stats,
    compute_features, extract_features, feature_names, frame_stats, hilbert_period, key_features)
from mer_utils.datasets.fourq import load_top100  # noqa: F401  (a 4Q file; kept importable here)
from mer_utils.datasets.merge import align_on_ids  # noqa: F401  (row alignment; kept importable here)

__all__ = [
    "align_on_ids",
    "FrontEnd", "FRONT_ENDS", "get_front_end", "expected_frames", "prepare_clip", "spectrogram",
    "segment_spectrograms", "extract_spectrograms", "extract_segments", "spectrogram_stack", "CachedStack",
    "source_reference", "source_references", "spectrogram_image", "render_source_images", "save_png",
    "FEATURE_SETS", "STATS", "EMOTION_STATS", "BROWN_STATS", "feature_names", "compute_features",
    "brown477", "brown_stats", "hilbert_period",
    "frame_stats", "extract_features", "key_features", "load_top100",
]
