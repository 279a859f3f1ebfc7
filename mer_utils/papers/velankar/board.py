"""Velankar et al.'s two networks on the leaderboard (notebook 80): 4 softmax outputs on
the shared 4Q splits."""
from __future__ import annotations

from functools import partial

from mer_utils.features import extract_spectrograms

from .config import FRONT_END, MODELS, PAPER, Config, Model

#: Settings of the two networks on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these); ``units``: how many of the shared splits
#: they train on (None: all 100, the paper-scale run).
BOARD = {"smoke": dict(epochs=1, batch_size=8, patience=1, units=1, run_eagerly=True),
         "demo": dict(epochs=2, batch_size=16, patience=1, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The CRNN and the parallel CNN-RNN with **4** softmax outputs (the paper has 3 classes)
    for the leaderboard: same front end (640 x 128), regularisation and optimiser as notebook
    40; early stopping on 15 % of each unit's training clips (the paper's "validation")."""
    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    eager = bool(values.pop("run_eagerly", False))
    cfg = Config.for_profile(profile, **values)
    out = []
    for m in MODELS:
        out.append(Entry(f"{m.name} (4 outputs)", PAPER, "convolutional-recurrent network",
                         make=partial(_board_network, cfg=cfg, model=m, eager=eager), units=units,
                         validation=0.15,
                         config={"paper": PAPER, "model": m.builder, "front_end": FRONT_END, "epochs": cfg.epochs,
                                 "batch_size": cfg.batch_size, "patience": cfg.patience,
                                 "learning_rate": cfg.learning_rate, **m.build_kwargs(cfg)},
                         note=f"{cfg.epochs} epoch(s) at most" + (f", first {units} split(s)" if units else "")))
    return out


def _board_network(ctx, clips, *, cfg: Config, model: Model, eager: bool = False):
    """The network as a leaderboard method (:class:`mer_utils.leaderboard.KerasMethod`,
    which trains through :class:`mer_utils.training.Trainer`)."""
    from mer_utils.leaderboard import LABELS, KerasMethod, align_rows
    from mer_utils.models.crnn import BUILDERS

    X, kept = extract_spectrograms(clips.df, FRONT_END, ctx=ctx, progress=False)
    X, missing = align_rows(clips, kept, X)
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER}: {missing} clip(s) unreadable, zeros used")
    build = partial(BUILDERS[model.builder], X.shape[1:], len(LABELS), **model.build_kwargs(cfg))
    return KerasMethod(X, build, epochs=cfg.epochs, batch_size=cfg.batch_size, patience=cfg.patience,
                       learning_rate=cfg.learning_rate, seed=ctx.seed, run_eagerly=eager)
