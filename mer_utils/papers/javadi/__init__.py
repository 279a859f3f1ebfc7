"""Javadi et al., *Beyond Happy or Sad: Music Emotion Recognition with Multi-Label
Classification*: MTG-Jamendo mood/theme tags as a multi-label problem (notebooks
``02_label_clustering`` and ``10_javadi_multilabel``).

The paper compares three feature sets (a handcrafted 477-D vector, VGGish, both) under
Label Powerset, RAkEL-d and ML-kNN, and a CNN and a Transformer on the VGGish
representation, on the 59 tags (Table 1) and on 10 / 8 / 5 GloVe + KMeans tag clusters
(Table 2). The paper sub-package contract (see :mod:`mer_utils.papers`)::

    config          Config, PROFILES, the runs of Tables 1-2 (plan), the compared cells
    pipeline        tracks, features, split, label sets; the feature-vector classifiers and
                    the networks (Trainer under recipe()) through run_protocol; notebook 02's
                    clustering steps
    tables          Tables 1-2 and the MediaEval 56-tag check, scored by
                    mer_utils.evaluation.multilabel, the paper beside
    figures         Table 2 bars, per-tag ROC-AUC, the tag map, Figs 4-5
    fidelity        FIDELITY, fidelity()
    board           BOARD, quadrant_entries (the leaderboard's two forests)
    classifiers     Label Powerset / RAkEL-d / ML-kNN (scikit-multilearn), this paper's only
    tag_clustering  GloVe + KMeans tag clusters, this paper's only
"""
from . import board, classifiers, config, fidelity, figures, pipeline, tables, tag_clustering  # noqa: F401
from .board import BOARD, quadrant_entries  # noqa: F401
from .config import NOTEBOOKS, PAPER, PAPER_CELLS, PAPER_DATA, Config  # noqa: F401
from .fidelity import FIDELITY  # noqa: F401

PROFILES = Config.PROFILES
