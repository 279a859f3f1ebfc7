"""A user's own labelled audio: one sub-folder per class (``<root>/<class>/*.mp3|wav|flac``).

Used for the CRNN paper's 3-class set (devotional / sad / romantic Hindi songs, not public):
a user who has such a collection points ``--data`` at it. Hidden folders and files are
ignored; a class folder with no audio is an error (it would silently change the task).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer_utils.audio import AUDIO_EXTENSIONS, is_audio_file
from mer_utils.datasets.base import DatasetError, audio_durations, tidy

NAME = "folder"
AUDIO_EXTS = set(AUDIO_EXTENSIONS)  # compared lower-cased: .MP3 counts
MARKER = "classes.txt"  # optional: list of class folder names, one per line, to fix the order


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(("."  , "_")))


def detect(root: Path) -> bool:
    """A folder of classes: a classes.txt marker, or >= 2 sub-folders that each hold audio
    files directly and no CSV annotations (so 4Q's Q1..Q4 are not mistaken for it)."""
    root = Path(root)
    if (root / MARKER).exists():
        return True
    if any(root.glob("*.csv")) or any(root.glob("*.tsv")):
        return False
    dirs = _class_dirs(root) if root.is_dir() else []
    with_audio = [d for d in dirs if any(is_audio_file(f) for f in d.iterdir())]
    return len(with_audio) >= 2 and len(with_audio) == len(dirs)


def load(root: Path | str, *, label_column: str = "label", with_duration: bool = True) -> pd.DataFrame:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; a folder-of-classes data set has one sub-folder per class.")
    if (root / MARKER).exists():
        names = [l.strip() for l in (root / MARKER).read_text().splitlines() if l.strip()]
        dirs = [root / n for n in names]
        for d in dirs:
            if not d.is_dir():
                raise DatasetError(f"{root / MARKER} lists class {d.name!r} but {d} is not a folder")
    else:
        dirs = _class_dirs(root)
    if len(dirs) < 2:
        raise DatasetError(f"{root}: found {len(dirs)} class folder(s); need at least 2 "
                           f"(layout: {root}/<class>/<audio files>)")
    rows = []
    for d in dirs:
        files = sorted(f for f in d.iterdir() if is_audio_file(f))
        if not files:
            raise DatasetError(f"class folder {d} holds no audio files ({', '.join(sorted(AUDIO_EXTS))})")
        for f in files:
            rows.append({"track_id": f"{d.name}/{f.stem}", "path": str(f), label_column: d.name})
    df = pd.DataFrame(rows)
    df["duration"] = audio_durations(df["path"]) if with_duration else float("nan")
    df["source"] = NAME
    return tidy(df, NAME)
