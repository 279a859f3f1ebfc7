"""mer_utils: the thin shared package of the music emotion recognition compendium.

Modules (one concern each; one paper's code never imports another paper's):
  config      paths, profiles (smoke/demo/full), seeding, run context and manifest
  datasets    one loader per data set, discovery by publisher layout, the demo corpus
  labels      V/A -> quadrant conversions, tag vocabularies
  audio       decode, resample, crop, pad, segment
  features    spectrogram front ends per paper, handcrafted feature sets, feature cache
  embeddings  VGGish and musicnn embeddings (Keras 3), weight fetching
  models      Keras 3 builders, one file per family
  training    fit helpers
  evaluation  splits, folds, single-label metrics;  metrics_multilabel: tagging metrics
  results     stored predictions, tables with the papers' values beside ours
  plots       figure helpers

Heavy dependencies (TensorFlow/Keras, librosa) are imported by the modules that need
them, so `import mer_utils.config` stays fast.
"""
import os as _os

# Quiet TensorFlow's C++ start-up chatter in notebooks and logs (errors still show).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
