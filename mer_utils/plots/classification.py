"""Figures for single-label classification: training / learning curves, classification reports,
confusion matrices. Each function returns a matplotlib Figure (save it with
``ctx.savefig(fig, name)``); nothing is shown or written here, so they work headless.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def plot_training_curves(histories: Sequence[Mapping] | Mapping, *, title: str = "",
                         metrics: Sequence[str] = ("accuracy", "loss"),
                         labels: Sequence[str] | None = None):
    """Training and validation curves (one panel per metric), one line pair per run.

    ``histories``: one history dict from :func:`mer_utils.training.fit` or a list of them
    (e.g. one per seed). The epoch whose weights were kept (``best_epoch``) is marked.
    """
    if isinstance(histories, Mapping):
        histories = [histories]
    histories = list(histories)
    labels = list(labels) if labels is not None else (
        [f"run {i}" for i in range(len(histories))] if len(histories) > 1 else [""])
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, m in zip(axes[0], metrics):
        for i, (h, lab) in enumerate(zip(histories, labels)):
            if m not in h:
                continue
            c = colors[i % len(colors)]
            ep = h.get("epoch") or list(range(1, len(h[m]) + 1))
            sep = f" ({lab})" if lab else ""
            ax.plot(ep, h[m], color=c, lw=1.6, label=f"train{sep}")
            if f"val_{m}" in h:
                ax.plot(ep, h[f"val_{m}"], color=c, lw=1.6, ls="--", label=f"validation{sep}")
                be = h.get("best_epoch")
                if be and 1 <= be <= len(h[f"val_{m}"]):
                    ax.plot([be], [h[f"val_{m}"][be - 1]], marker="o", color=c, ms=6, mfc="white")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.set_title(m)
    handles, labs = axes[0][0].get_legend_handles_labels()
    if handles:
        axes[0][-1].legend(handles, labs, fontsize=7, loc="best")
    if title:
        fig.suptitle(title + "  (o = epoch kept, chosen on validation)")
    fig.tight_layout()
    return fig


def plot_learning_curves(histories: Mapping[str, Mapping], *, title: str = "",
                         metrics: Sequence[str] = ("loss", "accuracy"), ncols_max: int = 4):
    """One figure for a notebook: for each network (``{name: history}`` from the training
    engine), its training (solid) and validation (dashed) curves per epoch, one panel per
    metric, with the epoch at which the stop rule fired (red dotted line) and the epoch whose
    weights were kept (o). A network whose history lacks a metric gets an empty panel that
    says so."""
    names = list(histories)
    if not names:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no stored training history", ha="center", va="center")
        return fig
    n_rows = len(names)
    fig, axes = plt.subplots(n_rows, len(metrics), figsize=(4.2 * len(metrics), 2.4 * n_rows + 0.6),
                             squeeze=False)
    for i, name in enumerate(names):
        h = histories[name]
        ep = list(h.get("epoch") or [])
        for j, m in enumerate(metrics):
            ax = axes[i][j]
            if m not in h or not ep:
                ax.text(0.5, 0.5, f"no {m} logged", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(ep, h[m][:len(ep)], lw=1.5, color="C0", label="training")
                if f"val_{m}" in h:
                    ax.plot(ep, h[f"val_{m}"][:len(ep)], lw=1.5, ls="--", color="C1", label="validation")
                fired = h.get("stopped_at")
                if fired:
                    ax.axvline(fired, color="C3", ls=":", lw=1.2, label=f"stop rule fired (epoch {fired})")
                be = h.get("best_epoch")
                if be and 1 <= be <= len(ep):
                    series = h.get(f"val_{m}") or h[m]
                    ax.plot([be], [series[be - 1]], marker="o", color="k", mfc="white", ms=5,
                            label=f"weights kept (epoch {be})")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=6, loc="best")
            if i == n_rows - 1:
                ax.set_xlabel("epoch")
            ax.set_title(f"{name}: {m}" if j == 0 else m, fontsize=9, loc="left")
        stop = h.get("stop")
        if stop:
            axes[i][-1].annotate(str(stop), xy=(1.0, 1.02), xycoords="axes fraction", ha="right", fontsize=7,
                                 color="0.3")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_classification_report(report: pd.DataFrame, *, title: str = "",
                               std: pd.DataFrame | None = None,
                               paper: pd.DataFrame | None = None):
    """A classification report drawn as an annotated heat map (as the paper's Figs 6 and 9).

    ``report``: rows = classes (+ ``accuracy``, ``macro avg``, ``weighted avg``), columns
    ``precision, recall, f1-score[, support]`` (from
    :func:`mer_utils.evaluation.classification_report_df`, or means over seeds); a NaN cell
    is left blank (e.g. the accuracy row's precision and recall, as scikit-learn prints it).
    ``std``: same shape, shown as ``± std``. ``paper``: same shape (NaN where not reported),
    shown as ``(paper x.xx)`` under each reproduced value, and beside the support.
    """
    cols = [c for c in ("precision", "recall", "f1-score") if c in report.columns]
    if not cols or report.empty:
        raise ValueError("plot_classification_report needs rows and at least one of precision, "
                         "recall, f1-score")
    vals = report[cols].astype(float)

    def cell(frame, r, c):
        if frame is None or r not in frame.index or c not in frame.columns or pd.isna(frame.loc[r, c]):
            return None
        return float(frame.loc[r, c])

    fig, ax = plt.subplots(figsize=(1.9 * len(cols) + 2.8, 0.6 * len(vals) + 1.2))
    ax.imshow(np.ma.masked_invalid(vals.to_numpy()), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, r in enumerate(vals.index):
        for j, c in enumerate(cols):
            v = vals.iloc[i, j]
            if np.isnan(v):
                continue
            txt = f"{v:.2f}"
            s = cell(std, r, c)
            if s is not None:
                txt += f" ± {s:.2f}"
            p = cell(paper, r, c)
            if p is not None:
                txt += f"\n(paper {p:.2f})"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                    color="white" if v > 0.6 else "black")
    ylabels = [str(r) for r in vals.index]
    if "support" in report.columns:
        ylabels = []
        for r, n in zip(vals.index, report["support"]):
            p = cell(paper, r, "support")
            ylabels.append(f"{r}  (n={n:.3g}" + (f"; paper {p:.0f})" if p is not None else ")"))
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(vals)), ylabels)
    ax.xaxis.tick_top()
    if title:
        ax.set_title(title, pad=24 + 8 * title.count("\n"))
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: pd.DataFrame, *, title: str = "", normalize: bool | None = None):
    """Confusion matrix heat map (rows true, columns predicted), counts and/or row shares.

    ``cm``: a DataFrame from :func:`mer_utils.evaluation.confusion_matrix_df` (counts).
    ``normalize`` (default: True when ``cm`` holds counts): colour by row share and write
    ``count (share)`` in each cell.
    """
    counts = cm.to_numpy(dtype=float)
    is_counts = np.allclose(counts, np.round(counts))
    if normalize is None:
        normalize = is_counts
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True)) if normalize else counts
    n = len(cm)
    fig, ax = plt.subplots(figsize=(1.2 * n + 1.8, 1.1 * n + 1.2))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1 if normalize or not is_counts else None)
    for i in range(n):
        for j in range(n):
            if is_counts:
                txt = f"{int(round(counts[i, j]))}" + (f"\n({share[i, j]:.0%})" if normalize else "")
            else:
                txt = f"{counts[i, j]:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.6 else "black")
    long = max(len(str(c)) for c in cm.columns) > 8
    ax.set_xticks(range(n), list(cm.columns), rotation=30 if long else 0, ha="right" if long else "center")
    ax.set_yticks(range(n), list(cm.index))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
