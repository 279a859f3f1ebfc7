"""Merging data sets: ids namespaced by source, uniqueness asserted, cross-source duplicates.

Loaders return each publisher's own ids, and those collide across sets (PMEmo's
``musicId`` and DEAM's ``song_id`` are both small integers). Before tables of several
sources are merged, ids become ``<dataset>:<id>`` (:func:`namespace_ids`);
:func:`merge_sources` does that and asserts the result is unique; every table that maps
ids to rows (:func:`align_on_ids`, split files) refuses duplicates instead of silently
collapsing them onto one row.

4Q and Bi-Modal were both drawn from AllMusic, so the same song can appear in two sets
under different ids: :func:`duplicate_report` lists pairs with the same normalised
artist + title across sources, for a reader to decide (they are reported, not dropped).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils.datasets.base import DatasetError

SEP = ":"


def namespace_ids(df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """``track_id`` -> ``<source>:<track_id>`` (``source`` defaults to the ``dataset``
    column). Ids already carrying their own source's prefix are left as they are, so the
    call is idempotent; the original id is kept in ``source_id``."""
    df = df.copy()
    src = pd.Series(source, index=df.index) if source is not None else df["dataset"].astype(str)
    tid = df["track_id"].astype(str)
    already = [t.startswith(f"{s}{SEP}") for t, s in zip(tid, src)]
    if "source_id" not in df.columns:
        df["source_id"] = [t.split(SEP, 1)[1] if a else t for t, a in zip(tid, already)]
    df["track_id"] = [t if a else f"{s}{SEP}{t}" for t, s, a in zip(tid, src, already)]
    return df


def assert_unique_ids(df: pd.DataFrame, where: str = "table", column: str = "track_id") -> None:
    """Raise :class:`DatasetError` naming the duplicated ids, if any."""
    dup = df[column].astype(str)
    dup = dup[dup.duplicated(keep=False)]
    if len(dup):
        sources = sorted(set(df.loc[dup.index, "dataset"].astype(str))) if "dataset" in df else []
        raise DatasetError(
            f"{where}: {dup.nunique()} duplicated {column}(s), e.g. {sorted(set(dup))[:5]}"
            + (f" (sources {sources})" if sources else "")
            + "; merge sources with mer_utils.datasets.merge.merge_sources, which namespaces ids "
              "as <dataset>:<id>")


def merge_sources(frames: Sequence[pd.DataFrame] | dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Concatenate loaders' tables with namespaced, unique ids (a ``source`` column too)."""
    items = frames.items() if isinstance(frames, dict) else [(None, f) for f in frames]
    parts = []
    for name, f in items:
        if f is None or not len(f):
            continue
        part = namespace_ids(f, name)
        part["source"] = name if name is not None else part["dataset"].astype(str)
        parts.append(part)
    if not parts:
        raise DatasetError("merge_sources: no rows to merge")
    out = pd.concat(parts, ignore_index=True)
    assert_unique_ids(out, "merged sources")
    return out


def _norm(text) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    t = re.sub(r"\(.*?\)|\[.*?\]", " ", t)            # (live), [remastered]
    t = re.sub(r"\b(feat|ft|featuring)\b.*$", " ", t)
    t = re.sub(r"^the\s+", "", t.strip())
    t = re.sub(r"&", " and ", t)
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def duplicate_report(df: pd.DataFrame) -> pd.DataFrame:
    """Songs that appear in more than one source, by normalised artist + title.

    Returns one row per duplicated pair: ``key, track_id_a, dataset_a, track_id_b,
    dataset_b`` (+ quadrants when known, so disagreements show). Rows without an artist or
    title are not compared. Normalisation: accents removed, lower case, bracketed parts
    ("(live)"), "feat. ..." and a leading "the" dropped, punctuation collapsed.
    """
    cols = ["key", "track_id_a", "dataset_a", "track_id_b", "dataset_b", "quadrant_a", "quadrant_b"]
    if not {"artist", "title"} <= set(df.columns):
        return pd.DataFrame(columns=cols)
    keys = [f"{_norm(a)} - {_norm(t)}" if _norm(a) and _norm(t) else ""
            for a, t in zip(df["artist"], df["title"])]
    d = df.assign(_key=keys)
    d = d[d["_key"] != ""]
    rows = []
    for key, g in d.groupby("_key", sort=True):
        if g["dataset"].nunique() < 2:
            continue
        recs = g.to_dict("records")
        for i in range(len(recs)):
            for j in range(i + 1, len(recs)):
                a, b = recs[i], recs[j]
                if a["dataset"] == b["dataset"]:
                    continue
                rows.append({"key": key, "track_id_a": a["track_id"], "dataset_a": a["dataset"],
                             "track_id_b": b["track_id"], "dataset_b": b["dataset"],
                             "quadrant_a": a.get("quadrant"), "quadrant_b": b.get("quadrant")})
    return pd.DataFrame(rows, columns=cols)


def align_on_ids(df: pd.DataFrame, *kept: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Rows every extractor kept, in ``df``'s order, and where they sit in each output.

    Extractors skip files they cannot read, so their outputs may cover different tracks.
    Returns ``(ids, rows, positions)``: the track ids present in every ``kept`` table,
    their row numbers in ``df``, and for each ``kept`` table the indices that pick those
    tracks (in the same order) out of the array that extractor returned. Duplicated ids in
    any table raise :class:`DatasetError` (they would silently map two songs onto one row).
    """
    assert_unique_ids(df, "align_on_ids: the corpus table")
    for i, k in enumerate(kept):
        assert_unique_ids(k, f"align_on_ids: kept table {i}")
    common = set(df["track_id"])
    for k in kept:
        common &= set(k["track_id"])
    ids = [t for t in df["track_id"] if t in common]
    pos = {t: i for i, t in enumerate(df["track_id"])}
    rows = np.array([pos[t] for t in ids], dtype=int)
    positions = []
    for k in kept:
        p = {t: i for i, t in enumerate(k["track_id"])}
        positions.append(np.array([p[t] for t in ids], dtype=int))
    return np.asarray(ids), rows, positions
