"""Cazzaniga et al.'s entry on the cross-paper leaderboard (notebook 80): :data:`BOARD` (its
settings per profile) and :func:`quadrant_entries` — the paper's EfficientNet on the shared
4Q splits, trained through the one engine (:class:`mer_utils.training.Trainer`)."""
from __future__ import annotations

import numpy as np

from mer_utils.features import extract_spectrograms
from mer_utils.features.images import source_references

from .config import PAPER, Config
from .pipeline import front_end, network_name, render_images, resolve_weights, trainer

#: Settings of the EfficientNet on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these): under smoke the smallest backbone on 32-px
#: images, eager, one epoch; under demo the notebook's demo recipe with at most 12 epochs; on
#: ``units`` of the shared splits (None: all 100).
BOARD = {"smoke": dict(backbone="EfficientNetB0", weights="none", image_size=32, epochs=1, patience=1,
                       batch_size=16, random_init_learning_rate=1e-3, run_eagerly=True, units=1),
         # demo: the notebook's demo recipe (64 px, pooled head, BN momentum 0.5, early stopping on
         # validation accuracy), fewer epochs at most
         "demo": dict(backbone="EfficientNetB0", weights="none", epochs=12, patience=4, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The paper's EfficientNet (B3 under ``full``; 4Q-only here) on the shared splits: the
    same images (24-s central crop, dB re the source's maximum, 300 x 300 colour), head and
    optimiser as notebook 20, early stopping on 15 % of each unit's training clips."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    cfg = Config.for_profile(profile, **values)
    return [Entry(f"{cfg.backbone} on spectrogram images", PAPER, "pretrained image CNN",
                  make=partial(_board_effnet, cfg=cfg), units=units, validation=0.15,
                  config={"paper": PAPER, "paper_config": cfg.to_dict()},
                  note=f"{network_name(cfg)}, {cfg.image_size}-px images, weights {cfg.weights}, "
                       f"{cfg.epochs} epoch(s) at most, early stopping on {cfg.stop_monitor}"
                       + (f", BN momentum {cfg.bn_momentum:g}" if cfg.bn_momentum != Config().bn_momentum else "")
                       + (f", first {units} split(s)" if units else ""))]


class _BoardEffNet:
    """A leaderboard method (:class:`mer_utils.leaderboard.Method`): one trainer for all units,
    every unit from the same initial weights (drawn under ``ctx.seed``), batches seeded
    ``ctx.seed``; early stopping on the unit's validation rows."""

    def __init__(self, ctx, cfg: Config, images: np.ndarray):
        self.ctx, self.cfg, self.images = ctx, cfg, images
        self.weights = resolve_weights(ctx, cfg, download=cfg.profile == "full")
        self.trainer = trainer(cfg, self.weights, images.shape[1:])
        self.n_params = None

    def fit(self, train, y_train, validation, y_validation) -> None:
        self.history = self.trainer.fit(self.images[train], y_train,
                                        validation=(self.images[validation], y_validation),
                                        seed=self.ctx.seed, init_seed=self.ctx.seed)
        self.n_params = self.trainer.n_params

    def predict(self, rows) -> np.ndarray:
        return self.trainer.predict(self.images[rows])


def _board_effnet(ctx, clips, *, cfg: Config):
    from mer_utils.leaderboard import align_rows

    df = clips.df.copy()
    if "source" not in df.columns:
        df["source"] = df.get("dataset", "4q")
    X, kept = extract_spectrograms(df, front_end(cfg), ctx=ctx, progress=False)
    refs = source_references(X, kept["source"])           # the paper's: max over the source's songs
    images, missing = align_rows(clips, kept, render_images(cfg, X, kept.reset_index(drop=True), refs))
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER}: {missing} clip(s) unreadable, black images used")
    return _BoardEffNet(ctx, cfg, images)
