"""Figures that describe a corpus: label counts, V/A scatter, durations, tag frequencies."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

QUADRANT_COLORS = {"Q1": "#e6a817", "Q2": "#c0392b", "Q3": "#2c3e80", "Q4": "#27ae60"}


def label_counts(df: pd.DataFrame, label: str, by: str | None = None) -> pd.DataFrame:
    """Counts of ``label`` values (rows) per ``by`` group (columns), with a total column."""
    if by is None:
        out = df[label].value_counts().sort_index().to_frame("n")
    else:
        out = pd.crosstab(df[label], df[by])
        out["total"] = out.sum(axis=1)
    out.index.name = label
    return out


def plot_label_counts(df: pd.DataFrame, label: str, by: str | None = None, ax=None, title: str = ""):
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    counts = label_counts(df, label, by)
    counts.drop(columns="total", errors="ignore").plot.bar(ax=ax, stacked=by is not None, rot=0)
    ax.set_ylabel("clips")
    ax.set_title(title or f"{label} distribution" + (f" by {by}" if by else ""))
    return ax


def plot_va_scatter(df: pd.DataFrame, ax=None, title: str = "Valence / arousal (normalised to [-1, 1])"):
    """Scatter of normalised V/A (``valence_norm``/``arousal_norm``), one marker per source."""
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    d = df.dropna(subset=["valence_norm", "arousal_norm"])
    markers = ["o", "s", "^", "D", "v"]
    for i, (src, g) in enumerate(d.groupby("source")):
        ax.scatter(g["valence_norm"], g["arousal_norm"], s=14, alpha=0.75,
                   c=[QUADRANT_COLORS.get(q, "grey") for q in g["quadrant"]],
                   marker=markers[i % len(markers)], label=src, edgecolors="none")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(0, color="k", lw=0.6)
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence", ylabel="arousal", title=title)
    for q, (x, y) in {"Q1": (0.8, 0.95), "Q2": (-0.95, 0.95), "Q3": (-0.95, -1.0), "Q4": (0.8, -1.0)}.items():
        ax.text(x, y, q, color=QUADRANT_COLORS[q], fontweight="bold")
    if d["source"].nunique() > 1:
        ax.legend(title="source (marker)", fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


def plot_durations(df: pd.DataFrame, by: str = "source", ax=None, bins: int = 30,
                   marks: tuple[float, ...] = ()):
    """Histogram of clip durations per group, with optional vertical marks (e.g. 24-s crop)."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    d = df.dropna(subset=["duration"])
    edges = np.linspace(0, max(1.0, d["duration"].max()) * 1.02, bins + 1)
    for name, g in d.groupby(by):
        ax.hist(g["duration"], bins=edges, alpha=0.55, label=str(name))
    for m in marks:
        ax.axvline(m, color="k", ls="--", lw=1)
        ax.text(m, ax.get_ylim()[1] * 0.95, f" {m:g} s", va="top")
    ax.set(xlabel="duration (s)", ylabel="clips", title=f"Clip durations by {by}")
    ax.legend(fontsize=8)
    return ax


def tag_frequencies(tag_lists, vocabulary=None) -> pd.Series:
    """How many tracks carry each tag (vocabulary order if given, else most frequent first)."""
    s = pd.Series([t for tags in tag_lists for t in tags]).value_counts()
    if vocabulary is not None:
        s = s.reindex(list(vocabulary), fill_value=0)
    return s


def plot_tag_frequencies(freq: pd.Series, ax=None, top: int | None = None, title: str = "Tag frequencies"):
    ax = ax or plt.subplots(figsize=(12, 3.5))[1]
    f = freq.sort_values(ascending=False)
    if top:
        f = f.head(top)
    f.plot.bar(ax=ax, width=0.8)
    ax.set(ylabel="tracks", title=title)
    ax.tick_params(axis="x", labelsize=7)
    return ax
