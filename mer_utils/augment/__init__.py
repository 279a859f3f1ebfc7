"""Waveform augmentations: synthesised copies of training clips, one package.

* :mod:`.waveform` — the four transforms of the methods paper's Hybrid (Louro et al.,
  Sec. 3.6): time shift, pitch shift, time stretch, gain; written here, seeded per
  (clip, transform, seed);
* :mod:`.library` — the audiomentations copies of the DL baseline rows (TFM, SB, RG) at
  the library's default ranges, its global generators seeded and restored.

Both are re-exported here (``from mer_utils import augment; augment.augment(...)``,
``augment.augment_audio(...)``). Only a unit's training rows are ever transformed.
"""
from mer_utils.augment.waveform import (  # noqa: F401
    HYBRID_TRANSFORMS, augment, gain, input_needed, pitch_shift, time_shift, time_stretch, transform_rng)
from mer_utils.augment.library import (  # noqa: F401
    AUDIO_TRANSFORMS, AUDIOMENTATIONS_VERSION, TRANSFORM_NAMES, augment_audio, available, build_transform,
    transform_config)
