"""Shared pieces of the data layer: errors, the tidy-table contract, validation, CSV sniffing."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

# Every loader returns at least these columns (one row per track); labels it has come after.
BASE_COLUMNS = ["track_id", "path", "dataset", "duration"]
LABEL_COLUMNS = ["quadrant", "valence", "arousal", "tags", "genre", "artist"]


class DatasetError(RuntimeError):
    """A data set is missing, incomplete or laid out differently than its publisher's layout."""


def tidy(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Order columns (base first, labels next, the rest after) and check the contract."""
    df = df.copy()
    df["dataset"] = dataset
    missing = [c for c in BASE_COLUMNS if c not in df.columns]
    if missing:
        raise DatasetError(f"{dataset} loader produced no {missing} column(s)")
    if df["track_id"].duplicated().any():
        dups = df.loc[df["track_id"].duplicated(), "track_id"].head(5).tolist()
        raise DatasetError(f"{dataset}: duplicated track ids, e.g. {dups}")
    df["track_id"] = df["track_id"].astype(str)
    df["path"] = [os.path.abspath(p) if p else "" for p in df["path"].astype(str)]
    first = BASE_COLUMNS + [c for c in LABEL_COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]].reset_index(drop=True)


def audio_durations(paths: Iterable[str]) -> list[float]:
    """Durations read from file headers (fast: soundfile does not decode); NaN if unreadable."""
    import soundfile as sf

    out = []
    for p in paths:
        try:
            out.append(float(sf.info(p).duration))
        except Exception:
            out.append(float("nan"))
    return out


def validate(df: pd.DataFrame, *, decode: bool = False, min_seconds: float = 0.0,
             raise_on_error: bool = True) -> pd.DataFrame:
    """Check that every row's audio exists (and, with ``decode=True``, decodes and is not silent).

    Returns a table of problems (``track_id, path, problem``); raises :class:`DatasetError`
    listing the first ones when ``raise_on_error`` and any problem was found.
    """
    import soundfile as sf

    problems = []
    for tid, path in zip(df["track_id"], df["path"]):
        p = Path(path)
        if not p.exists():
            problems.append((tid, path, "file missing"))
            continue
        try:
            info = sf.info(str(p))
        except Exception as exc:
            problems.append((tid, path, f"not decodable ({exc.__class__.__name__}: {exc})"))
            continue
        if info.duration < min_seconds:
            problems.append((tid, path, f"too short ({info.duration:.1f} s < {min_seconds} s)"))
            continue
        if decode:
            try:
                y, _ = sf.read(str(p), dtype="float32", always_2d=True)
            except Exception as exc:
                problems.append((tid, path, f"not decodable ({exc.__class__.__name__}: {exc})"))
                continue
            if y.size == 0 or float(np.max(np.abs(y))) < 1e-4:
                problems.append((tid, path, "silent (peak below -80 dBFS)"))
    report = pd.DataFrame(problems, columns=["track_id", "path", "problem"])
    if raise_on_error and len(report):
        lines = "\n".join(f"  {r.track_id}: {r.path}: {r.problem}" for r in report.head(10).itertuples())
        more = f"\n  ... and {len(report) - 10} more" if len(report) > 10 else ""
        raise DatasetError(
            f"{len(report)} of {len(df)} tracks failed validation:\n{lines}{more}\n"
            f"Re-download or remove those files (the loaders never modify raw data), "
            f"or call validate(..., raise_on_error=False) to get the list and drop them.")
    return report


def find_column(columns: Iterable[str], *patterns: str, required: bool = True,
                where: str = "") -> str | None:
    """First column whose normalised name matches one of the regex patterns."""
    cols = list(columns)
    norm = {c: re.sub(r"[^a-z0-9]+", "_", c.strip().lower()).strip("_") for c in cols}
    for pat in patterns:
        rx = re.compile(pat)
        for c in cols:
            if rx.fullmatch(norm[c]):
                return c
    if required:
        raise DatasetError(f"{where}: no column matching {patterns} among {cols}")
    return None


def find_audio(folder: Path, stem: str, exts=(".mp3", ".wav", ".flac", ".ogg", ".m4a")) -> Path | None:
    for e in exts:
        p = folder / f"{stem}{e}"
        if p.exists():
            return p
    return None


def first_existing(root: Path, candidates: Iterable[str]) -> Path | None:
    for c in candidates:
        p = root / c
        if p.exists():
            return p
    return None


Loader = Callable[..., pd.DataFrame]
Detector = Callable[[Path], bool]
