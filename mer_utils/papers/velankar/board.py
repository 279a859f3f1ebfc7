"""Velankar et al.'s two networks on the leaderboard (notebook 80): 4 softmax outputs on
the shared 4Q splits."""
from __future__ import annotations

from functools import partial

from mer_utils.features import extract_spectrograms

from .config import FRONT_END, MODELS, PAPER, Config, Model
from .pipeline import PARALLEL_POOLS, pool_time, pooled_kwargs  # noqa: F401  (shared with notebook 40)

#: Settings of the two networks on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these); ``units``: how many of the shared splits
#: they train on (None: all 100, the paper-scale run).
BOARD = {"smoke": dict(epochs=1, batch_size=8, patience=1, units=1, run_eagerly=True),
         "demo": dict(epochs=10, batch_size=16, patience=3, units=2, time_pool=4),
         "full": dict(units=None)}
# ``time_pool``: average every ``time_pool`` frames of the 640 x 128 spectrogram (the same
# 29.7 s at a quarter of the frame rate, 160 x 128): the recurrent layers see a quarter of
# the steps and an epoch costs about a quarter on a CPU, so that 10 epochs (early stopping
# after 3 without improvement) cost what 2 full-size epochs did; the parallel model's
# pools change (PARALLEL_POOLS) so its CNN branch still flattens to the paper's 256.


def quadrant_entries(profile: str, **overrides) -> list:
    """The CRNN and the parallel CNN-RNN with **4** softmax outputs (the paper has 3 classes)
    for the leaderboard: same front end (640 x 128), regularisation and optimiser as notebook
    40; early stopping on 15 % of each unit's training clips (the paper's "validation")."""
    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    eager = bool(values.pop("run_eagerly", False))
    pool = int(values.pop("time_pool", 1) or 1)
    cfg = Config.for_profile(profile, **values)
    out = []
    for m in MODELS:
        out.append(Entry(f"{m.name} (4 outputs)", PAPER, "convolutional-recurrent network",
                         make=partial(_board_network, cfg=cfg, model=m, eager=eager, time_pool=pool), units=units,
                         validation=0.15,
                         config={"paper": PAPER, "model": m.builder, "front_end": FRONT_END, "epochs": cfg.epochs,
                                 "batch_size": cfg.batch_size, "patience": cfg.patience,
                                 "learning_rate": cfg.learning_rate, **m.build_kwargs(cfg),
                                 **({"time_pool": pool} if pool > 1 else {}), **pooled_kwargs(m, pool)},
                         note=f"{cfg.epochs} epoch(s) at most" + (f", first {units} split(s)" if units else "")
                         + (f", frames averaged by {pool} ({640 // pool} x 128)" if pool > 1 else "")))
    return out


def _board_network(ctx, clips, *, cfg: Config, model: Model, eager: bool = False, time_pool: int = 1):
    """The network as a leaderboard method (:class:`mer_utils.leaderboard.KerasMethod`,
    which trains through :class:`mer_utils.training.Trainer`)."""
    from mer_utils.leaderboard import LABELS, KerasMethod, align_rows
    from mer_utils.models.crnn import BUILDERS

    X, kept = extract_spectrograms(clips.df, FRONT_END, ctx=ctx, progress=False)
    X, missing = align_rows(clips, kept, X)
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER}: {missing} clip(s) unreadable, zeros used")
    X = pool_time(X, time_pool)
    build = partial(BUILDERS[model.builder], X.shape[1:], len(LABELS), **model.build_kwargs(cfg),
                    **pooled_kwargs(model, time_pool))
    return KerasMethod(X, build, epochs=cfg.epochs, batch_size=cfg.batch_size, patience=cfg.patience,
                       learning_rate=cfg.learning_rate, seed=ctx.seed, run_eagerly=eager)
