"""Cazzaniga, Gasparini & Saibene, *A multi-source deep learning model for music emotion
recognition* (AIxHMI 2024): four data sets (4Q, PMEmo, Emotion in Music, Bi-Modal) merged
into Russell's quadrants, the central 24 s of each song as a 300 x 300 x 3 mel-spectrogram
image, an ImageNet EfficientNetB3 with a dense head; notebook 20.

The contract (:mod:`mer_utils.papers`): :mod:`.config` (``Config``, ``PROFILES``, the
paper's constants), :mod:`.pipeline` (sources, crop and balancing, images, the balanced
90/10 split with k folds stored through the protocol layer, the recipe handed to
:class:`mer_utils.training.Trainer`, the folds run into the results store), :mod:`.tables`
(Tables 2-5 and the others from stored predictions), :mod:`.figures` (Figs 2-5),
:mod:`.fidelity` and :mod:`.board` (the leaderboard entry).
"""
from . import board, config, fidelity, figures, pipeline, tables  # noqa: F401
from .board import BOARD, quadrant_entries  # noqa: F401
from .config import NOTEBOOK, NOTEBOOKS, PAPER, PROFILES, Config  # noqa: F401
from .fidelity import FIDELITY  # noqa: F401
from .tables import PAPER_CELLS, PAPER_DATA  # noqa: F401
