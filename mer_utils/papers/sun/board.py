"""Sun et al.'s pipeline on the leaderboard's shared 4Q splits (notebook ``80_leaderboard``):
:data:`BOARD` (settings per profile) and :func:`quadrant_entries`."""
from __future__ import annotations

import numpy as np

from mer_utils.evaluation import segment_statistics
from mer_utils.papers.sun.config import LABELS, PAPER, Config
from mer_utils.papers.sun.pipeline import (SegmentSet, fit_segment_classifier, load_segments, predict_segments,
                                           segment_trainer, song_svm, sssl_settings)


#: Settings of the SSSL pipeline on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these); ``units``: how many of the shared splits (None: all).
#: Under demo the shared splits train on ~216 clips (~1,300 one-second segments): batches of 32
#: at Adam 3e-4 for 6 epochs (2 of warm-up) learn (measured: mean macro-F1 0.42 over 2 units);
#: batches of 8 at 1e-3 (the notebook's, for its 16 training songs) for 2 or 5 epochs did not
#: (0.08, 0.21: the segment classifier stayed at chance).
BOARD = {"smoke": dict(max_seconds=4.0, duration_quadrant=1, epochs=2, warmup_epochs=1, units=1),
         "demo": dict(max_seconds=6.0, duration_quadrant=1, epochs=6, warmup_epochs=2, batch_size=32,
                      learning_rate=3e-4, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The paper's pipeline with 4 classes for the leaderboard: segments of
    ``duration_quadrant`` s, VGG16 trained with SSSL ("Proposed": GMM split, MixMatch-style
    mixing, R-Drop consistency) on the segments of the training clips, Eq. 10 statistics per
    clip, an SVM on them."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    cfg = Config.for_profile(profile, **values)
    return [Entry("SSSL + segment statistics + SVM", PAPER, "segment CNN + song-level SVM",
                  make=partial(_board_sssl, cfg=cfg), units=units,
                  config={"paper": PAPER, "duration": cfg.duration_quadrant, "method": "proposed",
                          **cfg.training_key()},
                  note=(f"{cfg.duration_quadrant}-s segments, {cfg.epochs} epoch(s) ({cfg.warmup_epochs} warm-up), "
                        f"batches of {cfg.batch_size}, {cfg.optimizer} {cfg.learning_rate:g}"
                        + (f", narrowed VGG16 (width {cfg.vgg_width:g}, FC {cfg.fc_units})" if cfg.narrowed else "")
                        + (f", first {cfg.max_seconds:g} s of each clip" if cfg.max_seconds else "")
                        + (f", first {units} split(s)" if units else "")
                        + "; scored at song level by the SVM, which learns from the network's segment "
                          "outputs even when the network itself did not (notebook 30's learning table "
                          "judges the network on its own decisions)"))]


class _BoardSSSL:
    LABELS = LABELS["quadrant"]

    def __init__(self, ctx, cfg: Config, seg: SegmentSet):
        self.ctx, self.cfg, self.seg = ctx, cfg, seg
        self._trainer = None
        self.n_params = None

    def _rows(self, songs) -> np.ndarray:
        return np.flatnonzero(np.isin(self.seg.owner, np.asarray(songs)))

    def fit(self, train, y_train, validation, y_validation) -> None:
        cfg, seg, K = self.cfg, self.seg, len(self.LABELS)
        if self._trainer is None:                    # one engine trainer for every split
            self._trainer = segment_trainer(cfg, seg.X.shape[1:], K)
        song_y = dict(zip(np.asarray(train).tolist(), np.asarray(y_train).tolist()))
        tr = self._rows(train)                       # segments inherit their clip's label
        X_tr = seg.X[tr]
        y_tr = np.asarray([song_y[o] for o in seg.owner[tr]])
        self.scaler, _ = fit_segment_classifier(self._trainer, X_tr, y_tr, K, sssl_settings(cfg, "proposed"),
                                                seed=self.ctx.seed)
        self.n_params = self._trainer.n_params
        P_tr = predict_segments(self._trainer, X_tr, self.scaler)
        F_tr = segment_statistics(seg.owner[tr], P_tr, threshold=cfg.theta, labels=self.LABELS)
        self.F_tr = F_tr.to_numpy()
        self.y_songs = np.asarray([song_y[int(o)] for o in F_tr.index])

    def predict(self, rows) -> np.ndarray:
        # the song-level SVM (milliseconds) is fitted here, on the training clips' statistics
        # kept by fit(); song_svm fits and predicts in one call
        seg = self.seg
        te = self._rows(rows)
        P_te = predict_segments(self._trainer, seg.X[te], self.scaler)
        F_te = segment_statistics(seg.owner[te], P_te, threshold=self.cfg.theta, labels=self.LABELS)
        _, score = song_svm(self.F_tr, self.y_songs, F_te.to_numpy(), self.LABELS, c=self.cfg.svm_c,
                            seed=self.ctx.seed)
        at = {int(o): i for i, o in enumerate(F_te.index)}
        return score[[at[int(r)] for r in rows]]


def _board_sssl(ctx, clips, *, cfg: Config):
    seg = load_segments(ctx, cfg, clips.df, "4Q", cfg.duration_quadrant)
    return _BoardSSSL(ctx, cfg, seg)
