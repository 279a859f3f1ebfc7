"""Cazzaniga et al.'s figures: Fig. 2 (songs per source in the V/A plane, selected or not),
Fig. 3 (one image per quadrant), Fig. 4 (songs per class and source in the two parts) and
Fig. 5 (a fold's training and validation loss, from the engine's history)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation.protocols import Split
from mer_utils.results import load_predictions

from .config import CLASS_NAMES, CLASSES, SOURCE_TITLES, SOURCES, Config
from .pipeline import render_images

_QCOL = {"Q1": "#e6a817", "Q2": "#c0392b", "Q3": "#2c3e80", "Q4": "#27ae60"}


def fig2_balance(selection: pd.DataFrame, cfg: Config):
    """Fig. 2 for every source: V/A plane (scale [-1, 1]) with selected songs (filled,
    coloured by quadrant), songs dropped by balancing (grey x) and songs shorter than the
    crop (red open circles). 4Q has no V/A values: its panel counts songs per quadrant."""
    import matplotlib.pyplot as plt

    srcs = [s for s in SOURCES if (selection["source"] == s).any()]
    fig, axes = plt.subplots(1, len(srcs), figsize=(4.2 * len(srcs), 4.2), squeeze=False)
    for ax, s in zip(axes[0], srcs):
        d = selection[selection["source"] == s]
        title = SOURCE_TITLES[s] + (" (balanced)" if s in cfg.balanced_sources else " (kept whole)")
        if d["valence_norm"].isna().all():
            counts = pd.crosstab(d["quadrant"], d["status"]).reindex(list(CLASSES), fill_value=0)
            counts.rename(index=CLASS_NAMES).plot.bar(ax=ax, stacked=True, rot=0,
                                                      color=[{"selected": "#4c72b0", "too_short": "#d62728",
                                                              "not_corner": "grey", "unreadable": "black"}.get(c, "k")
                                                             for c in counts.columns])
            ax.set(title=f"{title}: no V/A values", ylabel="songs", xlabel="")
            continue
        sel = d[d["status"] == "selected"]
        ax.scatter(sel["valence_norm"], sel["arousal_norm"], s=16, c=[_QCOL[q] for q in sel["quadrant"]],
                   label=f"selected ({len(sel)})", edgecolors="none")
        nc = d[d["status"] == "not_corner"]
        ax.scatter(nc["valence_norm"], nc["arousal_norm"], s=18, c="grey", marker="x", lw=0.8,
                   label=f"not in the corners ({len(nc)})")
        ts = d[d["status"].isin(["too_short", "unreadable"])]
        ax.scatter(ts["valence_norm"], ts["arousal_norm"], s=22, facecolors="none", edgecolors="#d62728",
                   lw=0.9, label=f"shorter than {cfg.crop_seconds:g} s ({len(ts)})")
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence (scaled)", ylabel="arousal (scaled)",
               title=title)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Fig. 2: songs per source in the V/A plane, selected and not selected")
    fig.tight_layout()
    return fig


def fig3_examples(cfg: Config, X: np.ndarray, kept: pd.DataFrame, refs: dict[str, float]):
    """Fig. 3: one image per quadrant (from 4Q when present, as in the paper)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    pref = "4q" if (kept["source"] == "4q").any() else None
    for ax, q in zip(axes, CLASSES):
        cand = kept[(kept["quadrant"] == q) & ((kept["source"] == pref) if pref else True)]
        if not len(cand):
            cand = kept[kept["quadrant"] == q]
        ax.axis("off")
        if not len(cand):
            ax.set_title(f"{CLASS_NAMES[q]}: none")
            continue
        i = int(cand.index[0])
        img = render_images(cfg, X, kept, refs, rows=[i])[0]
        ax.imshow(img)
        ax.set_title(f"{CLASS_NAMES[q]} · {SOURCE_TITLES.get(kept.loc[i, 'source'], '')}\n{kept.loc[i, 'track_id']}",
                     fontsize=8)
    fig.suptitle(f"Fig. 3: mel spectrograms in dB re the source maximum, {cfg.image_size}x{cfg.image_size}x3")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def fig4_distribution(kept: pd.DataFrame, splits: Sequence[Split]):
    """Fig. 4: songs per class and source in the training (90 %) and test (10 %) parts."""
    import matplotlib.pyplot as plt

    test = np.zeros(len(kept), bool)
    test[splits[0].test] = True
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (name, mask) in zip(axes, (("train (90 %)", ~test), ("test (10 %)", test))):
        d = kept[mask]
        ct = pd.crosstab(d["quadrant"].map(CLASS_NAMES), d["source"].map(SOURCE_TITLES))
        ct = ct.reindex([CLASS_NAMES[q] for q in CLASSES], fill_value=0)
        ct.plot.bar(ax=ax, stacked=True, rot=0)
        ax.set(title=f"{name}: {len(d)} songs", ylabel="songs", xlabel="")
        ax.legend(fontsize=7)
    fig.suptitle("Fig. 4: data distribution per class and data set")
    fig.tight_layout()
    return fig


def fig5_losses(ctx, exp: str, fold: int = 3):
    """Fig. 5: training and validation loss of one fold (1-based; the paper shows fold 3)."""
    from mer_utils.plots.classification import plot_training_curves

    folds = {fp.fold + 1: fp for fp in load_predictions(ctx.results_dir, exp)}
    f = fold if fold in folds else max(folds)
    hist = folds[f].info.get("history", {})
    return plot_training_curves(hist, metrics=("loss",), title=f"Fig. 5: train and validation loss, fold {f}")




def learning_curves(ctx, cfg: Config, exp: str):
    """Training and validation loss and accuracy per epoch of the network's first fold (the
    engine's history, as stored with the fold), with the epoch the early stopping fired and
    the epoch whose weights were kept."""
    from mer_utils.evaluation import stored_histories
    from mer_utils.plots.classification import plot_learning_curves

    from .pipeline import network_name

    return plot_learning_curves(stored_histories(ctx.results_dir, {network_name(cfg): exp}),
                                title=f"Cazzaniga et al.: learning curves, fold 1 ({cfg.profile})")
