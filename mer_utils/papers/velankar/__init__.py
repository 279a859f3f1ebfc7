"""Velankar, Thombre & Wadkar, *Evaluating deep learning models for music emotion
recognition*: a CRNN and a parallel CNN-RNN on 640 x 128 mel spectrograms, 3 classes, one
train / validation / test split per seed (notebook ``40_velankar_crnn``).

The paper sub-package contract (see :mod:`mer_utils.papers`)::

    config    Config, PROFILES, the two MODELS, the compared cells, paper_class_map
    pipeline  load_data, make_splits, recipe, train (Trainer units through run_protocol)
    tables    classification reports vs Figs 6 / 9, accuracy and macro F1 vs the paper
    figures   learning curves (Figs 5 / 8), reports, confusion matrices (Figs 7 / 10)
    fidelity  FIDELITY, fidelity()
    board     BOARD, quadrant_entries (the leaderboard's two 4-output networks)
"""
from . import board, config, fidelity, figures, pipeline, tables  # noqa: F401
from .board import BOARD, quadrant_entries  # noqa: F401
from .config import NOTEBOOKS, PAPER, PAPER_CELLS, PAPER_DATA, Config  # noqa: F401
from .fidelity import FIDELITY  # noqa: F401

PROFILES = Config.PROFILES
