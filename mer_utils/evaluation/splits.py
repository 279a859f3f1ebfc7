"""Stratified train/validation/test splits of row positions, saved as files (one CSV per
split) and reloaded by track id; the protocols of :mod:`.protocols` build on them.

Nothing here is specific to one paper or model. Typical use::

    split = stratified_split(df["label"], test_size=0.2, val_size=0.2, seed=0)
    save_split(ctx.results_dir / "splits" / "my_split.csv", df["track_id"], split)
    split = load_split(path, df["track_id"])             # positions again, by track id
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils.config import atomic_write_text

SPLITS = ("train", "validation", "test")


# --------------------------------------------------------------------------- splits
def stratified_split(labels: Sequence, *, test_size: float = 0.2, val_size: float = 0.2,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Stratified train/validation/test split of row positions.

    ``test_size`` and ``val_size`` are fractions of the whole set. Each class is shuffled
    (seeded) and cut separately, so every split holds every class in (rounded) proportion;
    each class needs at least 3 members so that every split gets at least one.
    Returns ``{"train": idx, "validation": idx, "test": idx}`` (sorted int arrays, disjoint,
    covering ``range(len(labels))``).
    """
    y = np.asarray(pd.Series(labels).astype(str))
    if not (0 < test_size < 1 and 0 < val_size < 1 and test_size + val_size < 1):
        raise ValueError(f"test_size ({test_size}) and val_size ({val_size}) must be fractions "
                         "in (0, 1) whose sum is below 1")
    if pd.isna(pd.Series(labels)).any():
        raise ValueError("labels contain missing values; drop unlabelled rows before splitting")
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for cls in sorted(set(y)):
        idx = np.flatnonzero(y == cls)
        if len(idx) < 3:
            raise ValueError(f"class {cls!r} has {len(idx)} example(s); a stratified "
                             "train/validation/test split needs at least 3 per class")
        idx = rng.permutation(idx)
        n = len(idx)
        n_test = min(max(1, int(round(test_size * n))), n - 2)
        n_val = min(max(1, int(round(val_size * n))), n - n_test - 1)
        out["test"].extend(idx[:n_test])
        out["validation"].extend(idx[n_test:n_test + n_val])
        out["train"].extend(idx[n_test + n_val:])
    return {s: np.sort(np.asarray(v, dtype=int)) for s, v in out.items()}


def split_frame(ids: Sequence, split: dict[str, np.ndarray],
                labels: Sequence | None = None) -> pd.DataFrame:
    """The split as a table: one row per item, columns ``track_id, split`` (+ ``label``)."""
    ids = np.asarray([str(i) for i in ids])
    col = np.full(len(ids), "", dtype=object)
    for name, idx in split.items():
        col[np.asarray(idx, dtype=int)] = name
    if (col == "").any():
        raise ValueError(f"{int((col == '').sum())} item(s) belong to no split")
    df = pd.DataFrame({"track_id": ids, "split": col})
    if labels is not None:
        df["label"] = np.asarray(labels).astype(str)
    return df


def save_split(path: Path | str, ids: Sequence, split: dict[str, np.ndarray],
               labels: Sequence | None = None) -> Path:
    """Write a split as CSV (``track_id, split[, label]``), atomically; return the path."""
    path = Path(path)
    atomic_write_text(path, split_frame(ids, split, labels).to_csv(index=False))
    return path


def load_split(path: Path | str, ids: Sequence | None = None) -> dict[str, np.ndarray]:
    """Read a split file written by :func:`save_split`.

    With ``ids`` (the current table's track ids, in order), returns row positions into
    ``ids``; every saved track must be present, else a clear error (the data changed since
    the split was made: delete the file to make a new split). Without ``ids``, returns
    positions in the file's order.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype={"track_id": str, "split": str})
    unknown = set(df["split"]) - set(SPLITS)
    if unknown:
        raise ValueError(f"{path}: unknown split name(s) {sorted(unknown)}; expected {SPLITS}")
    if ids is None:
        pos = np.arange(len(df))
    else:
        ids = [str(t) for t in ids]
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].head(3).tolist()
            raise ValueError(f"{path}: the data have duplicated track ids {dup}; a split maps ids "
                             "to rows, so ids must be unique (namespace merged sources: "
                             "mer_utils.datasets.merge.merge_sources)")
        where = {t: i for i, t in enumerate(ids)}
        missing = [t for t in df["track_id"] if t not in where]
        if missing:
            raise ValueError(f"{path}: {len(missing)} track(s) in the split file are not in the "
                             f"data (e.g. {missing[:3]}); delete the file to make a new split")
        pos = np.asarray([where[t] for t in df["track_id"]], dtype=int)
    return {s: np.sort(pos[df["split"].to_numpy() == s]) for s in SPLITS}


def load_or_make_split(path: Path | str, ids: Sequence, labels: Sequence, *,
                       test_size: float = 0.2, val_size: float = 0.2, seed: int = 0,
                       ) -> dict[str, np.ndarray]:
    """Reuse the split saved at ``path`` when it covers exactly ``ids``; else make and save one."""
    path = Path(path)
    if path.exists():
        saved = pd.read_csv(path, dtype={"track_id": str})
        if sorted(saved["track_id"]) == sorted(str(i) for i in ids):
            return load_split(path, ids)
    split = stratified_split(labels, test_size=test_size, val_size=val_size, seed=seed)
    save_split(path, ids, split, labels)
    return split
