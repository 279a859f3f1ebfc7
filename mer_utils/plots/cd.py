"""Critical-difference diagram (Demšar 2006, Fig. 1-2), drawn by scikit-posthocs's
``critical_difference_diagram``: methods on an axis of average rank (1 = best), a bar of
length CD, and thick lines joining the methods the Nemenyi test does not tell apart.
Input: the dict :func:`mer_utils.evaluation.stats.friedman_nemenyi` returns; this wrapper
only sizes the figure and writes the Friedman statistics into its title.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt


def cd_diagram(result: Mapping, *, title: str = "", width: float = 8.0):
    """The CD diagram of a :func:`~mer_utils.evaluation.stats.friedman_nemenyi` result;
    returns the Figure (save it with ``ctx.savefig``)."""
    import scikit_posthocs as sp

    k = len(result["avg_ranks"])
    fig, ax = plt.subplots(figsize=(width, 1.4 + 0.32 * k))
    sp.critical_difference_diagram(result["avg_ranks"], result["nemenyi"], cd=float(result["cd"]),
                                   alpha=float(result["alpha"]), ax=ax,
                                   label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}",
                                   label_props={"fontsize": 8})
    sub = (f"Friedman chi2 = {result['chi2']:.2f} (p = {result['p_chi2']:.3g}), "
           f"{result['N']} splits, {k} methods, Nemenyi alpha = {result['alpha']}")
    ax.set_title((title + "\n" if title else "") + sub, fontsize=9, pad=24)
    fig.tight_layout()
    return fig


def quality_vs_cost(board, *, title: str = ""):
    """Macro F1 (mean, with its std as an error bar) against seconds per split (log scale),
    one point per leaderboard entry, coloured by paper: what each point of F1 costs."""
    import pandas as pd

    board = board[pd.to_numeric(board["f1"], errors="coerce").notna()]   # "full profile only" rows: no score
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
