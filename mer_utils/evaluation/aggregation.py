"""Segment -> song aggregation: from predictions on a song's segments to one per song.

* :func:`mean_probability` — the mean of the segments' class probabilities;
* :func:`majority_vote` — the most frequent segment decision (ties: the class with the
  higher mean probability, then the first in label order);
* :func:`segment_statistics` — Sun et al.'s Eq. 10: for each class k, seven statistics of
  the segments' probabilities p_k (max, min, first quartile, median, third quartile, mean,
  share of segments with p_k > θ), a 7·K song-level feature vector for a song-level
  classifier (their SVM).

``owner`` gives, for each segment, the song it comes from (an id or a row position). The
outputs are ordered by first appearance of each song in ``owner``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

STAT_NAMES = ("max", "min", "q1", "median", "q3", "mean", "share_above")


def _groups(owner: Sequence) -> tuple[np.ndarray, list[np.ndarray]]:
    owner = np.asarray([str(o) for o in owner])
    songs, first = np.unique(owner, return_index=True)
    songs = songs[np.argsort(first)]
    index = {s: i for i, s in enumerate(songs)}
    codes = np.fromiter((index[o] for o in owner), dtype=int, count=len(owner))
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return songs, np.split(order, bounds) if len(order) else []


def _check(owner, P):
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2:
        raise ValueError(f"segment probabilities must be (n_segments, n_classes), not {P.shape}")
    if len(owner) != len(P):
        raise ValueError(f"owner ({len(owner)}) and probabilities ({len(P)}) differ in length")
    return P


def mean_probability(owner: Sequence, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(songs, (n_songs, K) mean probabilities of their segments)."""
    P = _check(owner, P)
    songs, idx = _groups(owner)
    return songs, np.stack([P[i].mean(axis=0) for i in idx]) if idx else np.zeros((0, P.shape[1]))


def majority_vote(owner: Sequence, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(songs, class index per song) by majority of the segments' argmax decisions."""
    P = _check(owner, P)
    songs, idx = _groups(owner)
    K = P.shape[1]
    out = np.empty(len(songs), dtype=int)
    for s, i in enumerate(idx):
        votes = np.bincount(P[i].argmax(axis=1), minlength=K)
        tied = np.flatnonzero(votes == votes.max())
        out[s] = tied[np.argmax(P[i][:, tied].mean(axis=0))] if len(tied) > 1 else tied[0]
    return songs, out


def segment_statistics(owner: Sequence, P: np.ndarray, *, threshold: float = 0.5,
                       labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Eq. 10 of Sun et al.: the 7 x K statistics of each song's segment probabilities.

    Returns a DataFrame indexed by song with columns ``<label>_<stat>`` (stats in
    :data:`STAT_NAMES` order, grouped by class). Quartiles use linear interpolation
    (numpy's default); ``share_above`` counts p > ``threshold`` strictly.
    """
    P = _check(owner, P)
    K = P.shape[1]
    labels = [str(l) for l in (labels if labels is not None else range(K))]
    if len(labels) != K:
        raise ValueError(f"{len(labels)} labels for {K} probability columns")
    songs, idx = _groups(owner)
    rows = []
    for i in idx:
        p = P[i]
        q1, med, q3 = np.percentile(p, [25, 50, 75], axis=0)
        stats = np.stack([p.max(0), p.min(0), q1, med, q3, p.mean(0), (p > threshold).mean(0)])
        rows.append(stats.T.reshape(-1))          # class-major: k0 stats, k1 stats, ...
    cols = [f"{l}_{s}" for l in labels for s in STAT_NAMES]
    return pd.DataFrame(np.asarray(rows).reshape(len(songs), 7 * K), index=pd.Index(songs, name="song"),
                        columns=cols)


def chunk_decision(owner: Sequence, P: np.ndarray, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Many-to-one decision of a clip from its chunks: ``how`` = ``mean`` (mean probability,
    then argmax) or ``vote`` (majority vote). Returns (songs, class index per song)."""
    if how == "mean":
        songs, M = mean_probability(owner, P)
        return songs, M.argmax(axis=1)
    if how == "vote":
        return majority_vote(owner, P)
    raise ValueError(f"how must be 'mean' or 'vote', not {how!r}")
