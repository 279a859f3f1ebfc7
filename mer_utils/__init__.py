"""mer_utils: the thin shared package of the music emotion recognition compendium.

Modules, bottom layer first (docs/ARCHITECTURE.md has the import rules; a paper never
imports another paper, a shared module never imports a paper, config imports nothing):
  config      paths, profiles (smoke/demo/full), seeding, the run manifest
  labels      V/A -> quadrant conversions, tag vocabularies
  audio       decode, resample, crop, pad, segment
  cache       per-(track, config) feature cache, parallel cached map
  datasets/   one loader per data set, discovery, merge (namespaced ids), the demo corpus
  features/   front ends per paper, extraction, multi-source images, handcrafted sets
  embeddings  VGGish and musicnn embeddings (Keras 3), weight fetching
  models/     Keras 3 builders, one file per family
  results     predictions per experiment x repeat x fold (x seed), tables, paper values
  evaluation/ protocols (saved splits), reports, segment -> song aggregation, paired tests
  training/   fit helpers, custom training loops and losses
  experiment  PaperConfig (a paper's settings per profile), run_protocol, fidelity tables
  run         setup_run: the run context every notebook starts with
  papers/     one module per paper: its configuration and the steps its notebook calls
  plots/      figure helpers
  runner      papermill over the numbered notebooks

Heavy dependencies (TensorFlow/Keras, librosa) are imported by the modules that need
them, so `import mer_utils.config` stays fast.
"""
import os as _os

# Quiet TensorFlow's C++ start-up chatter in notebooks and logs (errors still show).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
