"""Shared pieces of the data layer: errors, the tidy-table contract, validation, CSV sniffing."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterable

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


def validate(df: pd.DataFrame, *, decode: bool = False, min_seconds: float | None = None,
             front_end=None, raise_on_error: bool = True) -> pd.DataFrame:
    """Check every row's audio with the checks extraction applies (:func:`mer_utils.audio.check_file`).

    Always: the file exists, is a regular file and is not empty (0 bytes). Without
    ``decode`` the header is read (its duration must reach the minimum); with
    ``decode=True`` the whole file is decoded, as extraction decodes it, and rejected for
    no samples, NaN/inf samples, silence (RMS below ``audio.SILENCE_RMS``) or a decoded
    length below the minimum (a truncated MP3 is as long as what decodes).

    The minimum length is ``min_seconds``, else what ``front_end`` needs
    (:func:`mer_utils.audio.required_seconds`: the multi-source front end's central 24 s,
    a segment front end's one segment), else ``audio.MIN_SECONDS`` (1 s, below which no
    front end keeps a clip). Pass ``front_end=mer_utils.features.get_front_end(name)`` to
    learn which clips that front end will drop.

    Returns a table of problems (``track_id, path, problem``); raises :class:`DatasetError`
    listing the first ones when ``raise_on_error`` and any problem was found.
    """
    from mer_utils import audio

    need = audio.required_seconds(front_end, min_seconds=min_seconds)
    problems = []
    for tid, path in zip(df["track_id"], df["path"]):
        try:
            audio.check_file(path, decode=decode, min_duration=need)
        except audio.AudioError as exc:
            problems.append((tid, path, exc.reason))
    report = pd.DataFrame(problems, columns=["track_id", "path", "problem"])
    if raise_on_error and len(report):
        lines = "\n".join(f"  {r.track_id}: {r.path}: {r.problem}" for r in report.head(10).itertuples())
        more = f"\n  ... and {len(report) - 10} more" if len(report) > 10 else ""
        raise DatasetError(
            f"{len(report)} of {len(df)} tracks failed validation:\n{lines}{more}\n"
            f"Re-download or remove those files (the loaders never modify raw data), "
            f"or call validate(..., raise_on_error=False) to get the list and drop them.")
    return report


def text_encoding(path: Path | str) -> str:
    """The encoding of a text file from its byte-order mark: UTF-16 (as spreadsheet programs
    export "Unicode text"), UTF-8 with or without a BOM."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-8-sig"


def read_csv(path: Path | str, *, what: str = "annotations", **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` whose errors name the file: an empty file, a file that is not a
    table, bad encoding all become a :class:`DatasetError` with the path and what to do."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise pd.errors.EmptyDataError("0 bytes")
        if "encoding" not in kwargs:
            kwargs["encoding"] = text_encoding(path)
        df = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path}: the {what} file is empty (0 bytes or no header). The download "
                           f"or copy was cut short: restore it from the original archive.") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: the {what} file is neither UTF-8 nor UTF-16 text ({exc}). Save it "
                           "again as CSV in UTF-8 (or restore it from the original archive).") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the {what} file as CSV ({type(exc).__name__}: {exc}). "
                           f"Restore it from the original archive.") from None
    if len(df.columns) and len(df) == 0:
        raise DatasetError(f"{path}: the {what} file has a header ({', '.join(map(str, df.columns))}) "
                           f"but no rows. Restore it from the original archive.")
    return df


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
    """``folder/<stem><ext>`` for the first extension in ``exts`` that exists, matched
    case-insensitively (``MT0001.MP3`` is found for ``.mp3``); None when there is none."""
    folder = Path(folder)
    for e in exts:
        p = folder / f"{stem}{e}"
        if p.exists():
            return p
    by_name = audio_files_by_name(folder)
    for e in exts:
        p = by_name.get(f"{stem}{e}".lower())
        if p is not None:
            return p
    return None


def audio_files_by_name(folder: Path) -> dict[str, Path]:
    """Lower-cased file name -> path for the audio files directly in ``folder`` ({} if none)."""
    from mer_utils.audio import is_audio_file

    try:
        return {f.name.lower(): f for f in sorted(Path(folder).iterdir()) if is_audio_file(f)}
    except OSError:
        return {}


def first_existing(root: Path, candidates: Iterable[str]) -> Path | None:
    for c in candidates:
        p = root / c
        if p.exists():
            return p
    return None


Loader = Callable[..., pd.DataFrame]
Detector = Callable[[Path], bool]
