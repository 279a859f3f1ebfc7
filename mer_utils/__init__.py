"""mer_utils: the shared package of the music emotion recognition compendium.

Modules by layer, bottom first (docs/ARCHITECTURE.md has the rules, checked by
tests/test_layers.py: an import never goes up a layer; a paper never imports another
paper; a shared module never imports a paper; config imports nothing):

  0  config           paths, profiles (smoke/demo/full), seeding, the run manifest
  1  labels           V/A -> quadrant conversions, tag vocabularies
     download         checksummed, resumable downloads with an actionable offline error
     audio            decode, resample, crop, pad, segment; file checks
     cache            per-(track, config) feature cache with integrity records, parallel map
     datasets/        one loader per data set, discovery, validation, merge, the demo corpus
  2  features/        front ends per paper, extraction, multi-source images, handcrafted sets
     augment/         waveform augmentations (the Hybrid's four; audiomentations TFM/SB/RG)
     models/          Keras 3 builders, one file per architecture, each citing its paper
     embeddings/      VGGish and musicnn embeddings (Keras 3), OpenL3, weight fetching
     results          predictions per experiment x repeat x fold (x seed), paper values
  3  evaluation/      splits and protocols, the one set of metrics, aggregation, statistics
     training/        the one training engine (Trainer, Recipe, stop rules) and custom steps
     plots/           figure helpers
  4  experiment       PaperConfig (a paper's settings per profile), run_protocol, Fidelity
     context          setup_run: the run context every notebook starts with
  5  leaderboard      one protocol across papers: entries on shared splits, Friedman/Nemenyi
     scorecard        per paper: reported numbers regenerated / within tolerance / differing
     results_gallery  notebook 90: comparison tables, manifests, figures
     html_report      the run's offline HTML report and its link check
     notebook_runner  papermill over the numbered notebooks (behind run_all.sh)
  6  papers/          one sub-package per paper, all of one shape (papers/__init__.py)

Heavy dependencies (Keras and its backend, librosa) are imported by the modules that need
them, so `import mer_utils.config` stays fast.
"""
import os as _os

# Quiet TensorFlow's C++ start-up chatter in notebooks and logs (errors still show).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
