"""Louro, Redinho, Malheiro, Paiva & Panda, "Exploring deep learning methodologies for music
emotion recognition": the methods comparison on 4QAED under 10 x 10 stratified CV
(notebook ``50_louro_methods``).

    config     Config (settings per profile), labels and constants
    rows       the Table 3 row registry (ROWS, Row, register, Fitted, NotRunnable)
    pipeline   data, the shared splits, every row's fit (networks through training.Trainer),
               run_rows into the results store, the run's Workspace
    tables     Tables 1-3, parameters, paired tests, cost (scores via mer_utils.evaluation)
    figures    per-split F1, the augmentation gallery, DeepSMOTE's decoded samples
    fidelity   FIDELITY: same / paper silent / departure, point by point
    board      BOARD and quadrant_entries (notebook 50's stored rows on the leaderboard)
"""
from . import config, rows, pipeline, tables, figures, fidelity, board  # noqa: F401  (order: rows filled by pipeline)
from .board import BOARD, quadrant_entries
from .config import PAPER, PAPER_DATA, Config
from .fidelity import FIDELITY
from .pipeline import PAPER_CELLS

NOTEBOOKS = ("50_louro_methods",)
PROFILES = Config.PROFILES

__all__ = ["PAPER", "NOTEBOOKS", "Config", "PROFILES", "FIDELITY", "PAPER_CELLS", "PAPER_DATA", "BOARD", "quadrant_entries",
           "config", "rows", "pipeline", "tables", "figures", "fidelity", "board"]
