"""Javadi et al.'s classical entries on the leaderboard (notebook 80)."""
from __future__ import annotations

import numpy as np

from .config import PAPER, Config

#: Settings of the tagging paper's classical entries on the shared 4Q splits, per profile
#: (the paper's own ``Config`` of that profile, then these).
BOARD = {"smoke": dict(rf_trees=25), "demo": dict(rf_trees=25), "full": {}}


def quadrant_entries(profile: str, **overrides) -> list:
    """This paper's 4-quadrant entries for the leaderboard (:mod:`mer_utils.leaderboard`):
    its 477-D handcrafted set and its pretrained embedding (the mean of the VGGish sequence,
    or the recorded substitute) each with a random forest — the paper's classifiers are
    multi-label (Label Powerset / RAkEL-d over an RF base, ML-kNN); on four exclusive
    quadrants a Label Powerset over an RF *is* a 4-class RF."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    cfg = Config.for_profile(profile, **{**BOARD[profile], **overrides})
    common = {"paper": PAPER, "rf_trees": cfg.rf_trees, "clip_seconds": cfg.clip_seconds}
    return [
        Entry("477-D set + RF", PAPER, "handcrafted features + classical learner",
              make=partial(_board_forest, cfg=cfg, what="477"), config=dict(common, features=cfg.handcrafted),
              note="Brown et al.'s 477-D recipe; Label Powerset over an RF = 4-class RF; parameters = tree nodes"),
        Entry("VGGish mean + RF", PAPER, "pretrained embedding + classical learner",
              make=partial(_board_forest, cfg=cfg, what="embedding"),
              config=dict(common, embedding=cfg.embedding, fallback=cfg.embedding_fallback,
                          hop=cfg.sequence_hop_seconds),
              note="mean of the embedding sequence (the recorded substitute where VGGish weights are absent); "
                   "parameters = tree nodes (the frozen embedding network not counted)"),
    ]


def _board_forest(ctx, clips, *, cfg: Config, what: str):
    from mer_utils.leaderboard import ForestMethod, align_rows

    if what == "477":
        from mer_utils.features import extract_features

        F, kept = extract_features(clips.df, cfg.handcrafted, ctx=ctx, progress=False)
        X, missing = align_rows(clips, kept, F.to_numpy(np.float32))
    else:
        from mer_utils.embeddings import embed_sequence

        seq, kept, used = embed_sequence(clips.df, cfg.embedding, ctx=ctx, fallback=cfg.embedding_fallback,
                                         seconds=cfg.clip_seconds, hop_seconds=cfg.sequence_hop_seconds,
                                         progress=False)
        X, missing = align_rows(clips, kept, seq.mean(axis=1))
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER} {what}: {missing} clip(s) unreadable, zeros used")
    # one job: on ~100 clips a forest fits in tens of milliseconds, less than starting workers
    return ForestMethod(np.nan_to_num(X), trees=cfg.rf_trees, seed=ctx.seed, n_jobs=1)
