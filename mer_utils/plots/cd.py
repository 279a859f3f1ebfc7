"""Critical-difference diagram (Demšar 2006, Fig. 1-2): methods placed on an axis of
average rank (1 = best, on the left), a bar of length CD, and thick lines joining the
methods whose average ranks differ by less than CD (Nemenyi, not significantly different).
Input: the dict :func:`mer_utils.evaluation.stats.friedman_nemenyi` returns.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np


def cd_diagram(result: Mapping, *, title: str = "", width: float = 8.0):
    """The CD diagram of a :func:`~mer_utils.evaluation.stats.friedman_nemenyi` result;
    returns the Figure (save it with ``ctx.savefig``)."""
    ranks = dict(sorted(result["avg_ranks"].items(), key=lambda kv: kv[1]))
    names, R = list(ranks), np.asarray(list(ranks.values()))
    k, cd = len(names), float(result["cd"])
    half = (k + 1) // 2
    groups = list(result.get("groups", []))
    rows = max(half, k - half)
    g_space = 0.14 * len(groups)
    # y in "line" units: the rank axis at 0, labels below at -(0.3 + g_space + 0.45 i), CD bar above
    bottom = -(0.5 + g_space + 0.45 * rows)
    fig, ax = plt.subplots(figsize=(width, 0.55 * (1.9 - bottom)))
    lo, hi = 1, max(k, 2)
    ax.set_xlim(lo - 0.6, hi + 0.6)
    ax.set_ylim(bottom, 1.1)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="k", lw=1)
    for t in range(lo, hi + 1):
        ax.vlines(t, 0, 0.1, color="k", lw=1)
        ax.text(t, 0.14, str(t), ha="center", va="bottom", fontsize=9)
    ax.hlines(0.72, lo, lo + cd, color="k", lw=2)
    ax.vlines([lo, lo + cd], 0.66, 0.78, color="k", lw=1)
    ax.text(lo + cd / 2, 0.8, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for i, (n, r) in enumerate(zip(names, R)):
        left = i < half
        level = -(0.3 + g_space + 0.45 * (i if left else k - 1 - i))
        x_text = lo - 0.5 if left else hi + 0.5
        ax.vlines(r, level, 0, color="0.3", lw=0.8)
        ax.hlines(level, min(r, x_text), max(r, x_text), color="0.3", lw=0.8)
        ax.text(x_text + (-0.02 if left else 0.02), level, f"{n} ({r:.2f})", ha="right" if left else "left",
                va="center", fontsize=8, clip_on=False)
    for g, members in enumerate(groups):
        rs = [ranks[m] for m in members]
        y = -0.12 - 0.14 * g
        ax.hlines(y, min(rs) - 0.03, max(rs) + 0.03, color="k", lw=3)
    sub = (f"Friedman chi2 = {result['chi2']:.2f} (p = {result['p_chi2']:.3g}), "
           f"{result['N']} splits, {k} methods, Nemenyi alpha = {result['alpha']}")
    ax.set_title((title + "\n" if title else "") + sub, fontsize=9)
    fig.tight_layout()
    return fig


def quality_vs_cost(board, *, title: str = ""):
    """Macro F1 (mean, with its std as an error bar) against seconds per split (log scale),
    one point per leaderboard entry, coloured by paper: what each point of F1 costs."""
    import pandas as pd

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    papers = list(dict.fromkeys(board["paper"]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, p in enumerate(papers):
        g = board[board["paper"] == p]
        ax.errorbar(g["seconds per split"], g["f1"], yerr=g["f1_std"], fmt="o", color=colors[i % len(colors)],
                    label=p, capsize=3)
        for _, r in g.iterrows():
            params = r.get("parameters")
            tag = f"{r['entry']}" + (f" ({params / 1e3:.0f}k)" if pd.notna(params) else "")
            ax.annotate(tag, (r["seconds per split"], r["f1"]), fontsize=7, xytext=(4, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per split (training + prediction)")
    ax.set_ylabel("macro F1 (mean ± std over splits)")
    ax.set_title(title or "Quality against cost on the shared splits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
