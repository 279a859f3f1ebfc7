"""4Q audio emotion data set (Panda, Malheiro & Paiva, IEEE TAFFC 2018).

Publisher layout (``MER_audio_taffc_dataset.zip``)::

    MER_audio_taffc_dataset/
        Q1/ Q2/ Q3/ Q4/                         MT*.mp3 (30-s AllMusic previews)
        panda_dataset_taffc_annotations.csv     Song,Quadrant
        panda_dataset_taffc_metadata.csv        Song,Artist,Title,Quadrant,...,GenresStr
    top100_features.csv                         (feature release, optional)

The loader accepts the folder that holds ``MER_audio_taffc_dataset/`` or that folder
itself (Q1..Q4 at its top, as in a 120-clip dev copy). 900 clips, 225 per quadrant.

**The expanded set** (Louro et al.'s New-4QAED: 1629 clips, "C", and a balanced subset of
1372, "B"; :func:`load_expanded`, registered as ``new-4qaed``) keeps the quadrant folders
and replaces the annotation CSV by one label table per subset::

    New_MERGE_Complete_Data/                    (the released code's layout; or the folder itself)
        Q1/ Q2/ Q3/ Q4/                         MT*, A*, L* .mp3
        new_pub_complete_targets.csv            SongID,Quadrant    (C)
        new_pub_balanced_targets.csv            SongID,Quadrant    (B, when present)
    MERGE_Audio_Complete/                       (the later public MERGE release, 3554 clips)
        Q1/ Q2/ Q3/ Q4/
        merge_audio_complete_metadata.csv       Song,Quadrant,...,Artist,Title,Genres,...

Which of the paper's Table 3 columns a run stands beside is decided from the clips it used
(``mer_utils.papers.louro``), not from the folder's name.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

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
    df, notes = _match_clips(a, ann_path, ann["Song"], ann["Quadrant"], clips=_clips,
                             fix=f"remove their rows from a *copy* of {ANNOTATIONS}")
    meta_path = a / METADATA
    if meta_path.exists():
        meta = read_csv(meta_path, what="4Q metadata")
        meta.columns = [str(c).strip() for c in meta.columns]
        keep = {"Song": "track_id", "Artist": "artist", "Title": "title", "GenresStr": "genre",
                "MoodsStrSplit": "allmusic_moods"}
        meta = meta[[c for c in keep if c in meta.columns]].rename(columns=keep)
        meta["track_id"] = meta["track_id"].astype(str).str.strip()
        df = df.merge(meta, on="track_id", how="left")
    return _finish(df, NAME, notes, with_duration)


def _match_clips(a: Path, ann_path: Path, songs: Sequence, quads: Sequence, *, clips, fix: str
                 ) -> tuple[pd.DataFrame, list[str]]:
    """One row per annotated song (``track_id, path, quadrant``), its clip found in its
    quadrant's folder under ``a``. A quadrant that is not Q1..Q4, a song annotated twice with
    two quadrants, a clip in another quadrant's folder or a missing clip is a
    :class:`DatasetError` naming the file and line; a song annotated twice alike, and audio
    files with no row, are notes (returned, and warned)."""
    songs = [str(s).strip() for s in songs]
    quads = [str(q).strip() for q in quads]
    first: dict[str, tuple[int, str]] = {}
    repeated = []
    rows, missing, misplaced = [], [], []
    for line, (song, quad) in enumerate(zip(songs, quads), start=2):
        if quad not in QUADRANTS:
            raise DatasetError(f"{ann_path}, line {line}: song {song} has quadrant {quad!r} "
                               f"(expected Q1..Q4)")
        if song in first:
            line0, quad0 = first[song]
            if quad0 != quad:
                raise DatasetError(f"{ann_path}, lines {line0} and {line}: song {song} is annotated {quad0} and "
                                   f"{quad}; keep the right row in a copy of the file and point --data at it")
            repeated.append(f"{song} (lines {line0} and {line})")
            continue
        first[song] = (line, quad)
        p = find_audio(a / quad, song)
        if p is None:
            elsewhere = [q for q in QUADRANTS if q != quad and find_audio(a / q, song) is not None]
            if elsewhere:
                misplaced.append(f"{song} (line {line}: {quad}, file in {elsewhere[0]}/)")
            else:
                missing.append(f"{quad}/{song}.mp3")
            continue
        rows.append({"track_id": song, "path": str(p), "quadrant": quad})
    if misplaced:
        raise DatasetError(
            f"{ann_path.parent}: {len(misplaced)} clip(s) lie in another quadrant folder than {ann_path.name} "
            f"gives, e.g. {misplaced[:3]}; move each file to its annotated quadrant's folder (or fix the "
            "annotation in a copy of the file).")
    if missing:
        raise DatasetError(
            f"{ann_path.parent}: {len(missing)} clips annotated in {ann_path.name} are missing, e.g. "
            f"{missing[:5]}. Re-extract the archive, or {fix}.")
    notes = []
    if repeated:
        notes.append(f"{ann_path}: {len(repeated)} song(s) annotated twice with the same quadrant, "
                     f"read once: {repeated[:3]}")
    used = {Path(r["path"]).name.lower() for r in rows}
    unused = [f"{q}/{p.name}" for q in QUADRANTS for p in clips(a / q) if p.name.lower() not in used]
    if unused:
        notes.append(f"{a}: {len(unused)} audio file(s) have no row in {ann_path.name} and are not used, "
                     f"e.g. {unused[:3]}")
    for n in notes:
        warnings.warn(n, stacklevel=3)
    return pd.DataFrame(rows, columns=["track_id", "path", "quadrant"]), notes


def _finish(df: pd.DataFrame, name: str, notes: list[str], with_duration: bool) -> pd.DataFrame:
    df["duration"] = audio_durations(df["path"]) if with_duration else float("nan")
    df["source"] = name
    df = tidy(df, name)
    df.attrs["load_notes"] = notes
    return df


# --------------------------------------------------------------------------- the expanded set (New-4QAED)
EXPANDED = "new-4qaed"
EXPANDED_INNER = ("New_MERGE_Complete_Data", "New_MERGE_Balanced_Data", "MERGE_Audio_Complete",
                  "MERGE_Audio_Balanced")
"""Folder names the expanded set comes in: the released code's (``New_MERGE_Complete_Data``)
and the public MERGE release's (``MERGE_Audio_Complete`` / ``_Balanced``)."""
SUBSETS = ("complete", "balanced")


def _expanded_tables(folder: Path) -> dict[str, list[Path]]:
    """subset ('complete', 'balanced' or '' when the name says neither) -> the label tables
    of an expanded set in ``folder``: the released code's ``*_targets.csv`` (SongID, Quadrant)
    or the MERGE release's ``merge_audio_<subset>_metadata.csv`` (Song, Quadrant, ...)."""
    out: dict[str, list[Path]] = {}
    for p in sorted(folder.glob("*.csv")):
        name = p.name.lower()
        if name.endswith("_targets.csv") or (name.startswith("merge_audio_") and name.endswith("_metadata.csv")):
            subset = next((s for s in SUBSETS if s in name), "")
            out.setdefault(subset, []).append(p)
    return out


def _expanded_root(root: Path) -> Path | None:
    for cand in [root] + [root / n for n in EXPANDED_INNER]:
        if all((cand / q).is_dir() for q in QUADRANTS) and _expanded_tables(cand):
            return cand
    return None


def _all_clips(folder: Path) -> list[Path]:
    return [p for _, p in sorted(audio_files_by_name(folder).items())]


def detect_expanded(root: Path) -> bool:
    return _expanded_root(Path(root)) is not None


def expanded_instructions(root: Path) -> str:
    return (f"New-4QAED (the 4Q expansion of Louro et al.): unpack it so that {root}/Q1..Q4/ hold the clips "
            f"and {root}/ holds its label table: the released code's new_pub_complete_targets.csv "
            "(SongID,Quadrant; new_pub_balanced_targets.csv for the balanced subset B) or the MERGE "
            "release's merge_audio_complete_metadata.csv (Song,Quadrant,...); "
            f"{' / '.join(EXPANDED_INNER)} folders under {root} are found too.")


def collection_name(table: Path, subset: str) -> str:
    """The set a label table describes, as a reader knows it: 'New-4QAED C' / 'New-4QAED B'
    (the paper's names, the released code's ``*_targets.csv``) or 'MERGE Audio Complete' /
    'MERGE Audio Balanced' (the later public release, ``merge_audio_*``)."""
    if table.name.lower().startswith("merge_audio_"):
        return f"MERGE Audio {subset.capitalize()}".strip()
    return {"complete": "New-4QAED C", "balanced": "New-4QAED B"}.get(subset, "New-4QAED")


def load_expanded(root: Path | str, *, subset: str = "auto", with_duration: bool = True) -> pd.DataFrame:
    """The expanded 4Q set (New-4QAED, the paper's Table 2 C and B; or the later MERGE Audio
    release) in its publisher's layout: ``Q1..Q4/`` clip folders and a label table
    (:func:`_expanded_tables`). ``subset``: 'complete', 'balanced' or 'auto' (the only one
    present; the complete set when both are, with a note). Song ids start with MT (the
    AllMusic clips of 4Q), A or L. Columns as :func:`load`, plus ``collection`` (the set's
    name: 'New-4QAED C', 'New-4QAED B', 'MERGE Audio Complete', ...) and, from a MERGE
    metadata table, artist / title / genre."""
    from mer_utils.datasets.base import find_column

    root = Path(root)
    a = _expanded_root(root)
    if a is None:
        raise DatasetError(f"No New-4QAED layout under {root}.\n{expanded_instructions(root)}")
    tables = _expanded_tables(a)
    if subset not in ("auto",) + SUBSETS:
        raise ValueError(f"subset must be 'auto', 'complete' or 'balanced', not {subset!r}")
    notes = []
    if subset == "auto":
        subset = "complete" if "complete" in tables else ("balanced" if "balanced" in tables else "")
        if len(tables) > 1:
            notes.append(f"{a}: label tables of several subsets ({', '.join(s or '?' for s in tables)}); "
                         f"the {subset or 'unnamed'} one is used (subset= chooses)")
    elif subset not in tables:
        raise DatasetError(f"{a}: no label table of the {subset} subset; found "
                           f"{', '.join(p.name for ps in tables.values() for p in ps)}")
    paths = tables[subset]
    if len(paths) > 1:
        raise DatasetError(f"{a}: {len(paths)} label tables of one subset ({', '.join(p.name for p in paths)}); "
                           "keep one (move the others out of the folder)")
    ann_path = paths[0]
    ann = read_csv(ann_path, what="New-4QAED labels")
    ann.columns = [str(c).strip() for c in ann.columns]
    try:
        idc = find_column(ann.columns, r"song_?id", r"song", where=str(ann_path))
        qc = find_column(ann.columns, r"quadrant", where=str(ann_path))
    except Exception as exc:
        raise DatasetError(f"{ann_path}: expected a song id column (SongID or Song) and Quadrant, found "
                           f"{list(ann.columns)} ({exc})") from None
    df, more = _match_clips(a, ann_path, ann[idc], ann[qc], clips=_all_clips,
                            fix=f"remove their rows from a *copy* of {ann_path.name}")
    keep = {"Artist": "artist", "Title": "title", "Genres": "genre"}
    extra = ann[[idc] + [c for c in keep if c in ann.columns]].rename(columns={idc: "track_id", **keep})
    if len(extra.columns) > 1:
        extra["track_id"] = extra["track_id"].astype(str).str.strip()
        df = df.merge(extra.drop_duplicates("track_id"), on="track_id", how="left")
    df["collection"] = collection_name(ann_path, subset)
    for n in notes:
        warnings.warn(n, stacklevel=2)
    return _finish(df, EXPANDED, notes + more, with_duration)


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
    df = read_feature_table(path, id_column="SongID", what="4Q top-100 feature")
    df = df.rename(columns={"SongID": "track_id", "Quadrant": "quadrant"})
    df["track_id"] = df["track_id"].astype(str)
    return df.set_index("track_id")


#: Cells a spreadsheet writes for "no value": read as missing (NaN) and recorded, never as 0.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#value!", "#n/a", "#div/0!",
                             "#num!", "#ref!", "#name?"})


def read_feature_table(path: Path | str, *, id_column: str, what: str = "feature",
                       text_columns: Sequence[str] = ("Quadrant", "quadrant")) -> pd.DataFrame:
    """A feature release (one row per clip, an id column, numeric columns) read strictly.

    * every row must have as many fields as the header: a stray or missing comma would
      shift every later column silently (or, in the first data row, turn the ids into an
      index), so it is a :class:`DatasetError` naming the file, the line and both counts;
    * the id column must exist and hold no duplicates;
    * a feature cell that is not a number is an error naming file, line, column and value,
      unless it is a spreadsheet's "no value" (:data:`MISSING_MARKERS`: ``n/a``,
      ``#VALUE!``...), which becomes NaN; those cells are counted in
      ``df.attrs["missing"]`` (``count`` and up to five ``(line, column, text)``
      examples) so the caller can record them, and a warning says so.
    """
    import csv
    import warnings

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: the {what} file is not UTF-8 text ({exc}); restore it from the "
                           "original archive.") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DatasetError(f"{path}: the {what} file has no data rows; restore it from the original archive.")
    header, body = rows[0], rows[1:]
    if id_column not in header:
        raise DatasetError(f"{path}: expected a {id_column!r} column in the {what} file's header "
                           f"(found {header[:4]}...); is this the official release?")
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise DatasetError(f"{path}, line {i}: {len(r)} fields where the header has {len(header)} "
                               "(a stray or missing comma shifts every later column); fix that line or "
                               "restore the file from the original archive.")
    df = pd.DataFrame(body, columns=header)
    dup = df[id_column][df[id_column].duplicated()].tolist()
    if dup:
        raise DatasetError(f"{path}: {id_column} {dup[:3]} appear(s) on more than one row; each clip must "
                           "have one row.")
    missing: list[tuple[int, str, str]] = []
    n_missing = 0
    for col in header:
        if col == id_column or col in text_columns:
            continue
        raw = df[col].astype(str)
        num = pd.to_numeric(raw.str.strip(), errors="coerce")
        bad = num.isna() & ~raw.str.strip().str.lower().isin({"nan"})
        if bad.any():
            is_marker = raw[bad].str.strip().str.lower().isin(MISSING_MARKERS)
            if not is_marker.all():
                j = int(np.flatnonzero(bad.to_numpy() & ~raw.str.strip().str.lower().isin(MISSING_MARKERS).to_numpy())[0])
                raise DatasetError(f"{path}, line {j + 2}, column {col!r}: {raw.iloc[j]!r} is not a number; "
                                   "fix the cell or restore the file from the original archive.")
            n_missing += int(bad.sum())
            missing += [(int(j) + 2, col, raw.iloc[j]) for j in np.flatnonzero(bad.to_numpy())[:5]]
        df[col] = num.astype(np.float64)
    df.attrs["missing"] = {"count": n_missing, "examples": missing[:5]}
    if n_missing:
        warnings.warn(f"{path}: {n_missing} feature cell(s) hold no value (e.g. line {missing[0][0]}, "
                      f"{missing[0][1]!r}: {missing[0][2]!r}); they are read as missing (NaN)", stacklevel=2)
    return df
