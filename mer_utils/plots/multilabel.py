"""Figures of the multi-label paper: tag / cluster distributions (Figs 4-5), tag map, scores.

All functions return a matplotlib Figure (headless-safe; save with ``ctx.savefig``).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd


def _plt():
    # matplotlib falls back to the Agg backend by itself when there is no display
    import matplotlib.pyplot as plt

    return plt


def plot_tag_distribution(counts: pd.Series, *, title: str | None = None, n_tracks: int | None = None,
                          ax=None, color: str = "tab:blue"):
    """Bar chart of tracks per tag (sorted as given), e.g. the 59 mood/theme tags (Fig. 4)."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6, 0.22 * len(counts) + 2), 3.8))
    ax.bar(range(len(counts)), counts.values, color=color)
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels([str(i) for i in counts.index], rotation=90, fontsize=7)
    ax.set_ylabel("tracks")
    if n_tracks:
        sec = ax.secondary_yaxis("right", functions=(lambda v: 100 * v / n_tracks,
                                                      lambda p: p * n_tracks / 100))
        sec.set_ylabel("% of tracks")
    ax.set_title(title or f"Tracks per label ({len(counts)} labels)")
    ax.grid(axis="y", alpha=0.3)
    return fig or ax.figure


def plot_cluster_distributions(dists: Mapping[str, pd.Series], *, n_tracks: int | None = None,
                               suptitle: str | None = None):
    """One panel per clustering (e.g. k=5, 8, 10): tracks per cluster (Fig. 5)."""
    plt = _plt()
    n = len(dists)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    for ax, (name, s) in zip(axes[0], dists.items()):
        ax.bar(range(len(s)), s.values, color="tab:orange")
        ax.set_xticks(range(len(s)))
        ax.set_xticklabels([str(i) for i in s.index], rotation=75, fontsize=8)
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
        if n_tracks:
            for i, v in enumerate(s.values):
                ax.text(i, v, f"{100 * v / n_tracks:.0f}%", ha="center", va="bottom", fontsize=7)
    axes[0][0].set_ylabel("tracks")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_tag_map(tags: Sequence[str], vectors: np.ndarray, clusters: Sequence[int], *,
                 title: str | None = None):
    """2-D PCA of the tags' word vectors, coloured by cluster, each point labelled."""
    plt = _plt()
    X = np.asarray(vectors, dtype=np.float64)
    X = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    Z = X @ vt[:2].T
    fig, ax = plt.subplots(figsize=(8, 6))
    cl = np.asarray(clusters)
    cmap = plt.get_cmap("tab10" if cl.max() < 10 else "tab20")
    for c in np.unique(cl):
        m = cl == c
        ax.scatter(Z[m, 0], Z[m, 1], color=cmap(int(c) % cmap.N), label=f"cluster {c}", s=25)
    for (x, y), t in zip(Z, tags):
        ax.annotate(str(t), (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or "Tags in GloVe space (PCA), coloured by KMeans cluster")
    return fig


def plot_score_bars(df: pd.DataFrame, *, x: str, hue: str, metric: str, title: str | None = None,
                    paper_col: str | None = None, order: Sequence | None = None,
                    hue_order: Sequence | None = None):
    """Grouped bars of ``metric`` (e.g. Table 2: label set on x, classifier as hue).

    ``order`` / ``hue_order`` fix the order of the x groups / bars (e.g. the label sets as
    the paper's tables list them, 59, 10, 8, 5); values absent from ``df`` are dropped,
    values of ``df`` absent from the order follow it. Default: first appearance in ``df``.
    """
    plt = _plt()

    def ordered(col, given):
        seen = list(dict.fromkeys(df[col]))
        if given is None:
            return seen
        given = [g for g in given if g in set(seen)]
        return given + [v for v in seen if v not in given]

    xs = ordered(x, order)
    hs = ordered(hue, hue_order)
    w = 0.8 / max(1, len(hs))
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(xs) + 2), 3.8))
    for j, h in enumerate(hs):
        sub = df[df[hue] == h].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) + (j - (len(hs) - 1) / 2) * w
        ax.bar(pos, sub[metric].to_numpy(dtype=float), width=w, label=str(h))
        if paper_col and paper_col in sub:
            ax.scatter(pos, sub[paper_col].to_numpy(dtype=float), marker="_", color="k", s=120,
                       zorder=3, label="paper" if j == 0 else None)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([str(v) for v in xs])
    ax.set_ylabel(metric)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or metric)
    return fig


def plot_per_label_auc(per_label: pd.DataFrame, *, metric: str = "roc_auc", title: str | None = None):
    """Per-label ROC-AUC (or PR-AUC) against the label's prevalence."""
    plt = _plt()
    d = per_label.dropna(subset=[metric]).sort_values(metric)
    fig, ax = plt.subplots(figsize=(max(6, 0.2 * len(d) + 2), 3.6))
    ax.bar(range(len(d)), d[metric], color="tab:green")
    ax.set_xticks(range(len(d)))
    ax.set_xticklabels(d["label"], rotation=90, fontsize=7)
    if metric == "roc_auc":
        ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_ylabel(metric)
    ax.set_title(title or f"Per-label {metric}")
    return fig
