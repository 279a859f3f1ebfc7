"""Balancing a data set's quadrants by keeping the songs in the extreme corners of the V/A plane.

Where a source's songs are unevenly spread over the four Russell quadrants, the
multi-source paper keeps, in each quadrant, the songs "as far as possible from the origin
and axes" (Cazzaniga et al., Sec. 4.1, Fig. 2). This module makes that precise:

**Score.** Valence and arousal are first put on a common scale, [-1, 1] with the data
set's quadrant threshold at 0 (:func:`mer_utils.labels.to_unit_scale`; PMEmo's 0.5,
Emotion in Music's 5 and Bi-Modal's 0 all map to 0). The *corner score* of a song is

    min(|v|, |a|)                      (rule "min_axis", the default)

— its distance to the *nearer* axis. A song is far from both axes exactly when this is
large, and then it is also far from the origin (the distance to the origin is at least
the score). Plain distance to the origin, ``sqrt(v^2 + a^2)`` (rule ``"origin"``), would
prefer a song sitting on an axis far out (e.g. v = 0.95, a = 0.02) over a clear corner
song (0.6, 0.6); the paper's "and axes" rules such songs out, so ``min_axis`` is used.

**Order and ties.** In each quadrant songs are ranked by score (descending), ties broken
by distance to the origin (descending) and then by ``track_id`` (ascending): the result
never depends on row order or on a random generator.

**How many.** ``per_quadrant=None`` keeps, in every quadrant, as many songs as the
smallest quadrant has (a balanced source); an ``int`` keeps that many per quadrant; a
mapping gives a count per quadrant; ``total=N`` spreads N songs as evenly as the
quadrants allow (:func:`even_targets`; the paper's 346 Emotion in Music songs are not a
multiple of 4). Asking for more songs than a quadrant has, a quadrant left empty, or songs
without V/A (4Q has categorical quadrants only) raise :class:`BalanceError`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.datasets.base import DatasetError
from mer_utils.labels import QUADRANTS

__all__ = ["BalanceError", "RULES", "corner_scores", "even_targets", "select_extreme_corners"]

RULES = ("min_axis", "origin")


class BalanceError(DatasetError):
    """A source cannot be balanced as asked (empty quadrant, too few songs, no V/A)."""


def corner_scores(valence, arousal, rule: str = "min_axis") -> np.ndarray:
    """How far each (v, a) point on the [-1, 1] scale sits in its quadrant's corner."""
    v = np.abs(np.asarray(valence, dtype=float))
    a = np.abs(np.asarray(arousal, dtype=float))
    if rule == "min_axis":
        return np.minimum(v, a)
    if rule == "origin":
        return np.hypot(v, a)
    raise ValueError(f"unknown corner rule {rule!r}; choose one of {RULES}")


def even_targets(total: int, available: Mapping[str, int]) -> dict[str, int]:
    """Spread ``total`` songs over quadrants as evenly as their ``available`` counts allow.

    Every quadrant gets ``min(available, L)`` for the largest level ``L`` that does not
    exceed ``total``; what is left goes, one each, to quadrants that still have songs, in
    quadrant order. ``even_targets(346, {Q1: 200, Q2: 60, Q3: 300, Q4: 150})`` ->
    ``{Q1: 96, Q2: 60, Q3: 95, Q4: 95}`` (Q2 gives all it has).
    """
    total = int(total)
    avail = {q: int(n) for q, n in sorted(available.items())}
    if total < 0:
        raise ValueError("total must be >= 0")
    if total > sum(avail.values()):
        raise BalanceError(f"asked for {total} songs, only {sum(avail.values())} available {avail}")
    lo, hi = 0, max(avail.values(), default=0)
    while lo < hi:                      # largest level L with sum(min(n, L)) <= total
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in avail.values()) <= total:
            lo = mid
        else:
            hi = mid - 1
    out = {q: min(n, lo) for q, n in avail.items()}
    left = total - sum(out.values())
    for q in avail:
        if left == 0:
            break
        if out[q] < avail[q]:
            out[q] += 1
            left -= 1
    return out


def select_extreme_corners(df: pd.DataFrame, per_quadrant: int | Mapping[str, int] | None = None, *,
                           total: int | None = None, quadrant: str = "quadrant",
                           valence: str = "valence_norm", arousal: str = "arousal_norm",
                           rule: str = "min_axis", quadrants: Sequence[str] = QUADRANTS,
                           id_col: str = "track_id", where: str = "source") -> pd.DataFrame:
    """Rank songs by corner score within each quadrant and keep the top ones.

    ``df`` holds one source's songs with a quadrant and V/A on the [-1, 1] scale. Returns
    a copy with ``corner_score``, ``corner_rank`` (1 = the most extreme of its quadrant)
    and ``selected`` (bool). Give either ``per_quadrant`` (None: the smallest quadrant's
    count, int, or quadrant -> count) or ``total``.
    """
    if per_quadrant is not None and total is not None:
        raise ValueError("give per_quadrant or total, not both")
    d = df.copy()
    if d[[valence, arousal]].isna().any().any():
        n = int(d[[valence, arousal]].isna().any(axis=1).sum())
        raise BalanceError(f"{where}: {n} song(s) have no valence/arousal values, so they cannot be "
                           "ranked by distance from the axes (4Q has categorical quadrants only); "
                           "keep such a source whole instead of balancing it")
    unknown = sorted(set(d[quadrant].astype(str)) - set(quadrants))
    if unknown:
        raise BalanceError(f"{where}: unknown quadrant label(s) {unknown}; expected {list(quadrants)}")
    avail = {q: int((d[quadrant] == q).sum()) for q in quadrants}
    empty = [q for q, n in avail.items() if n == 0]
    if empty:
        raise BalanceError(f"{where}: quadrant(s) {empty} have no songs (counts {avail}); balancing by "
                           "extreme corners would leave them empty. Drop this source, keep it "
                           "unbalanced, or add songs to those quadrants.")
    if total is not None:
        target = even_targets(total, avail)
    elif per_quadrant is None:
        n = min(avail.values())
        target = {q: n for q in quadrants}
    elif isinstance(per_quadrant, Mapping):
        missing = sorted(set(quadrants) - set(per_quadrant))
        if missing:
            raise ValueError(f"per_quadrant lacks quadrant(s) {missing}")
        target = {q: int(per_quadrant[q]) for q in quadrants}
    else:
        target = {q: int(per_quadrant) for q in quadrants}
    short = {q: (target[q], avail[q]) for q in quadrants if target[q] > avail[q]}
    if short:
        raise BalanceError(f"{where}: asked for more songs than available in "
                           + ", ".join(f"{q} ({t} asked, {a} there)" for q, (t, a) in short.items()))
    if any(t < 0 for t in target.values()):
        raise ValueError("counts must be >= 0")
    v = d[valence].to_numpy(float)
    a = d[arousal].to_numpy(float)
    d["corner_score"] = corner_scores(v, a, rule)
    dist = np.hypot(v, a)
    ids = d[id_col].astype(str).to_numpy()
    rank = np.zeros(len(d), dtype=int)
    selected = np.zeros(len(d), dtype=bool)
    qcol = d[quadrant].astype(str).to_numpy()
    for q in quadrants:
        pos = np.flatnonzero(qcol == q)
        # lexsort: last key is primary -> score desc, then distance desc, then id asc
        order = pos[np.lexsort((ids[pos], -dist[pos], -d["corner_score"].to_numpy()[pos]))]
        rank[order] = np.arange(1, len(order) + 1)
        selected[order[: target[q]]] = True
    d["corner_rank"] = rank
    d["selected"] = selected
    return d
