"""4Q audio emotion data set (Panda, Malheiro & Paiva, IEEE TAFFC 2018).

Publisher layout (``MER_audio_taffc_dataset.zip``)::

    MER_audio_taffc_dataset/
        Q1/ Q2/ Q3/ Q4/                         MT*.mp3 (30-s AllMusic previews)
        panda_dataset_taffc_annotations.csv     Song,Quadrant
        panda_dataset_taffc_metadata.csv        Song,Artist,Title,Quadrant,...,GenresStr
    top100_features.csv                         (feature release, optional)

The loader accepts the folder that holds ``MER_audio_taffc_dataset/`` or that folder
itself (Q1..Q4 at its top, as in a 120-clip dev copy). 900 clips, 225 per quadrant.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mer_utils.datasets.base import (DatasetError, audio_durations, audio_files_by_name, find_audio,
                                     read_csv, tidy)

NAME = "4q"
URL = "http://mir.dei.uc.pt/resources/MER_audio_taffc_dataset.zip"
# The publisher gives no checksum; the loader verifies the unpacked layout instead
# (every annotated song present in its quadrant folder).
SHA256 = None
ANNOTATIONS = "panda_dataset_taffc_annotations.csv"
METADATA = "panda_dataset_taffc_metadata.csv"
INNER = "MER_audio_taffc_dataset"


QUADRANTS = ("Q1", "Q2", "Q3", "Q4")


def _audio_root(root: Path) -> Path | None:
    for cand in (root / INNER, root):
        if all((cand / q).is_dir() for q in QUADRANTS):
            return cand
    return None


def _clips(folder: Path) -> list[Path]:
    """The 4Q clips of a quadrant folder: ``MT*.mp3`` (or another audio format), whatever
    the case of the name and extension (``MT0001.MP3``)."""
    return [p for name, p in sorted(audio_files_by_name(folder).items()) if name.startswith("mt")]


def detect(root: Path) -> bool:
    a = _audio_root(Path(root))
    return a is not None and ((a / ANNOTATIONS).exists() or any(_clips(a / q) for q in QUADRANTS))


def instructions(root: Path) -> str:
    return (f"4Q: download {URL} (research use), unzip it so that {root}/{INNER}/Q1..Q4 and "
            f"{root}/{INNER}/{ANNOTATIONS} exist; optionally place top100_features.csv beside.")


def load(root: Path | str, *, with_duration: bool = True) -> pd.DataFrame:
    root = Path(root)
    a = _audio_root(root)
    if a is None:
        raise DatasetError(f"No 4Q layout under {root}: expected Q1/ Q2/ Q3/ Q4/ folders "
                           f"(or {INNER}/Q1..Q4).\n{instructions(root)}")
    ann_path = a / ANNOTATIONS
    if ann_path.exists():
        ann = read_csv(ann_path, what="4Q annotations")
        ann.columns = [str(c).strip() for c in ann.columns]
        if not {"Song", "Quadrant"} <= set(ann.columns):
            raise DatasetError(f"{ann_path}: expected columns Song,Quadrant, found {list(ann.columns)}")
    else:  # annotations absent: the folder is the label
        ann = pd.DataFrame([(p.stem, q) for q in QUADRANTS for p in _clips(a / q)],
                           columns=["Song", "Quadrant"])
        if ann.empty:
            raise DatasetError(f"4Q under {a}: no {ANNOTATIONS} and no MT*.mp3 clips in Q1..Q4. "
                               f"{instructions(root)}")
    rows, missing = [], []
    for line, (song, quad) in enumerate(zip(ann["Song"].astype(str).str.strip(),
                                             ann["Quadrant"].astype(str).str.strip()), start=2):
        if quad not in QUADRANTS:
            raise DatasetError(f"{ann_path}, line {line}: song {song} has quadrant {quad!r} "
                               f"(expected Q1..Q4)")
        p = find_audio(a / quad, song)
        if p is None:
            missing.append(f"{quad}/{song}.mp3")
            continue
        rows.append({"track_id": song, "path": str(p), "quadrant": quad})
    if missing:
        raise DatasetError(
            f"4Q under {a}: {len(missing)} annotated clips are missing, e.g. {missing[:5]}. "
            f"Re-extract the archive, or remove their rows from a *copy* of {ANNOTATIONS}.")
    df = pd.DataFrame(rows)
    meta_path = a / METADATA
    if meta_path.exists():
        meta = read_csv(meta_path, what="4Q metadata")
        meta.columns = [str(c).strip() for c in meta.columns]
        keep = {"Song": "track_id", "Artist": "artist", "Title": "title", "GenresStr": "genre",
                "MoodsStrSplit": "allmusic_moods"}
        meta = meta[[c for c in keep if c in meta.columns]].rename(columns=keep)
        meta["track_id"] = meta["track_id"].astype(str).str.strip()
        df = df.merge(meta, on="track_id", how="left")
    if with_duration:
        df["duration"] = audio_durations(df["path"])
    else:
        df["duration"] = float("nan")
    df["source"] = NAME
    return tidy(df, NAME)


def top100_path(root: Path | str) -> Path | None:
    root = Path(root)
    for cand in (root / "top100_features.csv", root / INNER / "top100_features.csv",
                 root.parent / "top100_features.csv"):
        if cand.exists():
            return cand
    return None


FULL_FEATURE_PATTERNS = ("*1714*.csv", "*all_features*.csv", "*full_features*.csv", "*features_all*.csv")
"""File names the 4Q 1714-feature release may have (it is distributed apart from the audio)."""


def find_full_features(root: Path | str | None, explicit: str | Path = "") -> Path | None:
    """The 4Q full (1714-feature) release: ``explicit`` when given (an error if it does not
    exist), else the first file matching :data:`FULL_FEATURE_PATTERNS` in ``root``, its
    parent, or one folder below either; None when there is none (or no ``root``). The file has
    the top-100 release's layout (SongID, features..., Quadrant): read it with
    :func:`load_top100`."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"full feature file {p} does not exist")
        return p
    if root is None:
        return None
    root = Path(root)
    for base in (root, root.parent):
        for pattern in FULL_FEATURE_PATTERNS:
            hits = sorted(base.glob(pattern)) + sorted(base.glob(f"*/{pattern}"))
            if hits:
                return hits[0]
    return None


def download(dest: Path | str, *, url: str = URL, sha256: str | None = SHA256) -> Path:
    """Fetch and unpack the 4Q archive into ``dest`` (resumable; kept in ``dest``).

    The publisher gives no checksum, so after unpacking the layout is verified by loading
    it (every annotated clip must be present). An existing unpacked copy is never touched.
    Returns the data-set folder (the one holding ``MER_audio_taffc_dataset/``).
    """
    import zipfile

    from mer_utils.download import fetch

    dest = Path(dest)
    if detect(dest):
        return dest
    archive = fetch(url, dest / "MER_audio_taffc_dataset.zip", sha256=sha256, what="4Q audio data set")
    with zipfile.ZipFile(archive) as z:
        bad = [n for n in z.namelist() if n.startswith("/") or ".." in Path(n).parts]
        if bad:
            raise DatasetError(f"{archive}: refusing to unpack unsafe paths {bad[:3]}")
        z.extractall(dest)
    load(dest, with_duration=False)  # raises if anything annotated is missing
    return dest


def load_top100(root: str | Path) -> pd.DataFrame:
    """The official 4Q ``top100_features.csv`` -> DataFrame indexed by ``track_id``.

    ``root`` is the CSV itself or a folder holding it (searched up to three levels deep,
    so the 4Q download folder or a data root both work). Columns: the 100 published
    features under their original names (float) and ``quadrant`` (from ``Quadrant``).
    """
    root = Path(root)
    path = root if root.is_file() else None
    if path is None and root.is_dir():
        for pattern in ("top100_features.csv", "*/top100_features.csv", "*/*/top100_features.csv",
                        "*/*/*/top100_features.csv"):
            hits = sorted(root.glob(pattern))
            if hits:
                path = hits[0]
                break
    if path is None:
        raise FileNotFoundError(
            f"top100_features.csv not found under {root}. It comes with the 4Q emotion data set's "
            "feature release (Panda, Malheiro & Paiva 2018); place it in the 4Q data folder "
            "(e.g. data/raw/4q/top100_features.csv).")
    df = pd.read_csv(path)
    if "SongID" not in df.columns:
        raise ValueError(f"{path}: expected a 'SongID' column (official 4Q top-100 feature file)")
    df = df.rename(columns={"SongID": "track_id", "Quadrant": "quadrant"})
    df["track_id"] = df["track_id"].astype(str)
    df = df.set_index("track_id")
    feats = [c for c in df.columns if c != "quadrant"]
    df[feats] = df[feats].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return df
