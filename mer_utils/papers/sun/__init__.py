"""Sun, Zhang, Zhou & Li, "Semi-Supervised Self-Learning Enhanced Music Emotion
Recognition" (notebook ``30_sun_sssl``): songs cut into 1-5 s segments, a VGG16 segment
classifier trained with semi-supervised self-learning (a GMM on the per-segment losses
splits clean from noisy labels; sharpened pseudo-labels, mixup, R-Drop), the 7 x K segment
statistics of Eq. 10 per song and a song-level SVM; Tables 1-3 and Fig. 2.

    config     Config (the paper's values, each with its words), PROFILES, NOISE_STUDY, constants
    pipeline   data, segments, folds by song, the segment classifier through the one engine
               (training.Trainer + training.sssl.SSSLStep), the song-level SVM, Experiments
    tables     Tables 1-3, the noise experiment, song decisions, training logs (scores from
               mer_utils.evaluation)
    figures    what SSSL did during training, Fig. 2
    fidelity   FIDELITY and fidelity(cfg, corpus)
    board      BOARD and quadrant_entries (notebook 80)
"""
from mer_utils.papers.sun import config, pipeline, tables, figures, fidelity, board  # noqa: F401
from mer_utils.papers.sun.board import BOARD, quadrant_entries  # noqa: F401
from mer_utils.papers.sun.config import PAPER, Config  # noqa: F401
from mer_utils.papers.sun.fidelity import FIDELITY  # noqa: F401
from mer_utils.papers.sun.tables import PAPER_CELLS, PAPER_DATA  # noqa: F401

NOTEBOOKS = ("30_sun_sssl",)
PROFILES = Config.PROFILES
