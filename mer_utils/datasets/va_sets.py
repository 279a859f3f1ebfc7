"""Data sets with static valence/arousal annotations used by the multi-source paper.

Each is converted to quadrants with the paper's Table 2 rule (mer_utils.labels). None of
them can be downloaded without a licence step, so a missing set gets an error naming the
files to place and where.

PMEmo 2019 (Zhang et al. 2018), V/A in [0, 1], chorus clips::

    PMEmo2019/annotations/static_annotations.csv        musicId, Arousal(mean), Valence(mean)
    PMEmo2019/annotations/static_annotations_std.csv    musicId, Arousal(std), Valence(std)   (optional)
    PMEmo2019/metadata.csv                              musicId, title, artist, ...           (optional)
    PMEmo2019/chorus/<musicId>.mp3

Emotion in Music (MediaEval 2013, Soleymani et al.) / DEAM, V/A on 1-9, 45-s clips::

    annotations/static_annotations.csv                  song_id, mean_arousal, std_arousal, mean_valence, std_valence
    annotations/songs_info.csv                          song_id, file_name, Artist, Song title, start/end of the
                                                        segment, Genre, Mediaeval 2013 set          (optional)
    clips_45seconds/<song_id>.mp3
  or the DEAM release:
    DEAM_Annotations/annotations/annotations averaged per song/song_level/
        static_annotations_averaged_songs_1_2000.csv (+ _2000_2058.csv)
    DEAM_audio/MEMD_audio/<song_id>.mp3
    metadata/metadata_2013.csv   song_id, file_name, Artist, Song title, start, end, Genre            (optional)
    metadata/metadata_2014.csv   Id, Artist, Album, Track, Genre, segment start/end, last.fm labels... (optional)
    metadata/metadata_2015.csv   id, Filename, title, artist, album, genre[, more genre fields]      (optional)

  The genre (and artist, title) come from those metadata files (:func:`deam_metadata`);
  without them the songs load with ``genre`` NaN and a note in ``df.attrs["load_notes"]``.

Bi-Modal (Malheiro et al. 2016), V/A in [-4, 4] with the raters' standard deviation;
songs whose rating std exceeds 1.2 are excluded (as in the multi-source paper)::

    <root>/<any>.csv   with a song id column and Arousal / Valence means (+ their std)
    <root>/audio/ (or Audio/, clips/, or Q1..Q4/) <song id>.mp3|.wav
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mer_utils.datasets.base import (DatasetError, audio_durations, find_audio, find_column,
                                     first_existing, read_csv, tidy)
from mer_utils.labels import quadrant_for_dataset

BIMODAL_MAX_STD = 1.2


def _read_csv(path: Path, what: str = "annotations") -> pd.DataFrame:
    df = read_csv(path, what=what, sep=None, engine="python")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _attach_audio(df: pd.DataFrame, folders: list[Path], where: str) -> pd.DataFrame:
    paths, missing = [], []
    for tid in df["track_id"]:
        p = next((q for q in (find_audio(f, tid) for f in folders) if q is not None), None)
        if p is None:
            missing.append(tid)
        paths.append(str(p) if p else "")
    if missing:
        if len(missing) == len(df):
            raise DatasetError(f"{where}: none of the {len(df)} annotated songs has an audio file in "
                               f"{[str(f) for f in folders]}; place the clips there.")
        raise DatasetError(f"{where}: {len(missing)} annotated songs have no audio, e.g. {missing[:5]}; "
                           f"add them or remove their rows from a *copy* of the annotations.")
    df = df.copy()
    df["path"] = paths
    return df


# --------------------------------------------------------------------------- PMEmo
def _pmemo_root(root: Path) -> Path | None:
    for cand in (root / "PMEmo2019", root / "PMEmo", root):
        if (cand / "annotations" / "static_annotations.csv").exists() and (cand / "chorus").is_dir():
            return cand
    return None


def pmemo_detect(root: Path) -> bool:
    return _pmemo_root(Path(root)) is not None


def pmemo_instructions(root: Path) -> str:
    return (f"PMEmo: request PMEmo2019 from its authors and unpack it so that "
            f"{root}/PMEmo2019/annotations/static_annotations.csv and {root}/PMEmo2019/chorus/*.mp3 exist.")


def load_pmemo(root: Path | str, *, with_duration: bool = True) -> pd.DataFrame:
    root = Path(root)
    base = _pmemo_root(root)
    if base is None:
        raise DatasetError(f"No PMEmo layout under {root}. {pmemo_instructions(root)}")
    where = str(base / "annotations" / "static_annotations.csv")
    ann = _read_csv(base / "annotations" / "static_annotations.csv")
    idc = find_column(ann.columns, r"music_?id", r"song_?id", r"id", where=where)
    ac = find_column(ann.columns, r"arousal.*mean.*", r"arousal", where=where)
    vc = find_column(ann.columns, r"valence.*mean.*", r"valence", where=where)
    df = pd.DataFrame({"track_id": ann[idc].astype(str), "arousal": ann[ac].astype(float),
                       "valence": ann[vc].astype(float)})
    std_path = base / "annotations" / "static_annotations_std.csv"
    if std_path.exists():
        sd = _read_csv(std_path, "PMEmo annotation std")
        sid = find_column(sd.columns, r"music_?id", r"song_?id", r"id", where=str(std_path))
        sd = pd.DataFrame({"track_id": sd[sid].astype(str),
                           "arousal_std": sd[find_column(sd.columns, r"arousal.*", where=str(std_path))].astype(float),
                           "valence_std": sd[find_column(sd.columns, r"valence.*", where=str(std_path))].astype(float)})
        df = df.merge(sd, on="track_id", how="left")
    meta_path = base / "metadata.csv"
    if meta_path.exists():
        meta = _read_csv(meta_path, "PMEmo metadata")
        mid = find_column(meta.columns, r"music_?id", r"id", where=str(meta_path))
        art = find_column(meta.columns, r"artist", required=False)
        if art:
            df = df.merge(pd.DataFrame({"track_id": meta[mid].astype(str), "artist": meta[art]}),
                          on="track_id", how="left")
    df = _attach_audio(df, [base / "chorus"], where)
    df["quadrant"] = quadrant_for_dataset("pmemo", df["valence"], df["arousal"])
    df["duration"] = audio_durations(df["path"]) if with_duration else np.nan
    df["source"] = "pmemo"
    return tidy(df, "pmemo")


# --------------------------------------------------------------------------- Emotion in Music / DEAM
_DEAM_SONG_LEVEL = "DEAM_Annotations/annotations/annotations averaged per song/song_level"
#: Emotion in Music 2013's song metadata: ``annotations/songs_info.csv`` is the name the
#: publisher's archive uses (beside ``static_annotations.csv``); a copy at the data set's
#: top level is accepted too (a plausible variant, not confirmed from the archive).
EIM_METADATA = ("annotations/songs_info.csv", "songs_info.csv")
#: DEAM's per-year metadata (the 2013 file holds Emotion in Music's 1000 songs).
DEAM_METADATA = ("metadata_2013.csv", "metadata_2014.csv", "metadata_2015.csv")


def _deam_layout(root: Path):
    """(annotation CSVs, audio folders, metadata files to look for, the first existing one
    of each group) of an Emotion in Music or DEAM layout under ``root``; None if neither."""
    root = Path(root)
    eim = root / "annotations" / "static_annotations.csv"
    if eim.exists() and (root / "clips_45seconds").is_dir():
        return [eim], [root / "clips_45seconds"], [[root / m for m in EIM_METADATA]]
    for base in (root, root / "DEAM"):
        sl = base / _DEAM_SONG_LEVEL
        if sl.is_dir():
            csvs = sorted(sl.glob("static_annotations_averaged_songs_*.csv"))
            audio = first_existing(base, ["DEAM_audio/MEMD_audio", "MEMD_audio", "audio"])
            if csvs and audio is not None:
                return csvs, [audio], [[base / "metadata" / m, base / m] for m in DEAM_METADATA]
    return None


def deam_detect(root: Path) -> bool:
    return _deam_layout(root) is not None


def deam_instructions(root: Path) -> str:
    return (f"Emotion in Music / DEAM: download the annotations and audio (research licence) and unpack "
            f"them so that {root}/annotations/static_annotations.csv + {root}/clips_45seconds/ "
            f"(Emotion in Music 2013) or {root}/{_DEAM_SONG_LEVEL}/ + {root}/DEAM_audio/MEMD_audio/ (DEAM) exist.")


def _clean(value: str) -> str:
    return " ".join(str(value).replace("\u00a0", " ").strip().strip('"').split())


def _song_id(value: str) -> str:
    v = _clean(value)
    try:
        f = float(v)
    except ValueError:
        return v
    return str(int(f)) if f.is_integer() else v


def deam_metadata(path: Path | str) -> pd.DataFrame:
    """``track_id, genre, artist, title`` from one Emotion in Music / DEAM metadata file.

    The publisher's files differ per year — the id column is ``song_id`` (2013 and
    ``songs_info.csv``), ``Id`` (2014) or ``id`` (2015); the genre ``Genre`` or ``genre``;
    the title ``Song title``, ``Track`` or ``title`` — and are ragged: 2014's rows carry up
    to 100 trailing last.fm labels past the header, 2015's split a genre over several
    fields, values hold tabs and padding. So the file is read with :mod:`csv` by position:
    fields past the header belong to the genre when it is the last named column (joined
    with ", ") and are dropped otherwise; values are stripped; an empty genre is NaN.

    Raises :class:`DatasetError` naming the file when it is empty, has no id or genre
    column, or no song row.
    """
    import csv

    from mer_utils.datasets.base import text_encoding

    path = Path(path)
    what = "Emotion in Music / DEAM metadata"
    try:
        with open(path, encoding=text_encoding(path), errors="replace", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the {what} file ({exc}).") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DatasetError(f"{path}: the {what} file is empty (0 bytes or no header). Restore it from "
                           "the original archive, or remove it to load the songs without genres.")
    head = lines[0]
    sep = "," if "," in head else "\t" if "\t" in head else ";"
    rows = list(csv.reader(lines, delimiter=sep))
    header = [_clean(h) for h in rows[0]]
    named = [h for h in header if h]
    where = str(path)
    hint = " Restore it from the original archive, or remove it to load the songs without genres."
    try:
        idc = find_column(named, r"song_?id", r"id", r"music_?id", where=where)
        gc = find_column(named, r"genre", where=where)
    except DatasetError as exc:
        raise DatasetError(f"{exc}: is this an Emotion in Music / DEAM metadata file?{hint}") from None
    ac = find_column(named, r"artist", required=False)
    tc = find_column(named, r"song_?title", r"title", r"track", required=False)
    pos = {h: i for i, h in enumerate(header) if h}
    gi = pos[gc]
    genre_last = all(not h for h in header[gi + 1:])
    out = []
    for r in rows[1:]:
        if not r or not _clean(r[pos[idc]] if len(r) > pos[idc] else ""):
            continue
        g = r[gi:] if genre_last else r[gi:gi + 1]
        genre = ", ".join(x for x in (_clean(v) for v in g) if x)
        out.append({"track_id": _song_id(r[pos[idc]]), "genre": genre or np.nan,
                    "artist": (_clean(r[pos[ac]]) or np.nan) if ac and len(r) > pos[ac] else np.nan,
                    "title": (_clean(r[pos[tc]]) or np.nan) if tc and len(r) > pos[tc] else np.nan})
    if not out:
        raise DatasetError(f"{path}: the {what} file has a header ({', '.join(named)}) but no song rows.{hint}")
    return pd.DataFrame(out).drop_duplicates("track_id")


def _attach_metadata(df: pd.DataFrame, groups: list[list[Path]], where: Path) -> tuple[pd.DataFrame, list[str]]:
    """``genre``, ``artist``, ``title`` from the first existing file of each group (NaN for
    songs without a row), and the notes to record: no metadata at all, files absent, songs
    without a row."""
    found = [next((p for p in g if p.is_file()), None) for g in groups]
    files = [p for p in found if p is not None]
    notes = []
    if not files:
        expected = " or ".join(str(g[0].relative_to(where)) for g in groups)
        notes.append(f"Emotion in Music / DEAM under {where}: no genre metadata ({expected}) found, so the "
                     "songs have no genre (NaN): a balance by genre cannot be applied to them")
        return df.assign(genre=np.nan), notes
    absent = [g[0].name for g, p in zip(groups, found) if p is None]
    if absent:
        notes.append(f"Emotion in Music / DEAM under {where}: metadata file(s) {absent} not found; "
                     f"genres read from {[p.name for p in files]} only")
    meta = pd.concat([deam_metadata(p) for p in files], ignore_index=True).drop_duplicates("track_id")
    out = df.merge(meta, on="track_id", how="left")
    none = out.loc[~out["track_id"].isin(meta["track_id"]), "track_id"].tolist()
    if none:
        notes.append(f"Emotion in Music / DEAM under {where}: {len(none)} of {len(out)} songs have no row in "
                     f"{[p.name for p in files]} (genre NaN), e.g. {none[:5]}")
    return out, notes


def load_deam(root: Path | str, *, with_duration: bool = True) -> pd.DataFrame:
    """Emotion in Music / DEAM songs with V/A on [1, 9], their quadrant, and ``genre``,
    ``artist``, ``title`` from the set's own metadata files (:data:`EIM_METADATA`,
    :data:`DEAM_METADATA`; NaN for a song without a row). Without those files the songs
    still load (``genre`` NaN) and ``df.attrs["load_notes"]`` says so; a malformed one
    raises :class:`DatasetError` naming it."""
    root = Path(root)
    layout = _deam_layout(root)
    if layout is None:
        raise DatasetError(f"No Emotion-in-Music/DEAM layout under {root}. {deam_instructions(root)}")
    csvs, folders, meta_groups = layout
    parts = []
    for c in csvs:
        ann = _read_csv(c)
        idc = find_column(ann.columns, r"song_?id", r"music_?id", r"id", where=str(c))
        parts.append(pd.DataFrame({
            "track_id": [_song_id(v) for v in ann[idc]],
            "valence": ann[find_column(ann.columns, r"(mean_)?valence(_mean)?", where=str(c))].astype(float),
            "arousal": ann[find_column(ann.columns, r"(mean_)?arousal(_mean)?", where=str(c))].astype(float),
            "valence_std": ann[find_column(ann.columns, r"(std_)?valence_std|std_valence", where=str(c))].astype(float),
            "arousal_std": ann[find_column(ann.columns, r"(std_)?arousal_std|std_arousal", where=str(c))].astype(float),
        }))
    df = pd.concat(parts, ignore_index=True).drop_duplicates("track_id")
    df = _attach_audio(df, folders, str(csvs[0]))
    df, notes = _attach_metadata(df, meta_groups, root)
    df["quadrant"] = quadrant_for_dataset("deam", df["valence"], df["arousal"])
    df["duration"] = audio_durations(df["path"]) if with_duration else np.nan
    df["source"] = "deam"
    out = tidy(df, "deam")
    out.attrs["load_notes"] = notes
    return out


# --------------------------------------------------------------------------- Bi-Modal
def _bimodal_layout(root: Path):
    root = Path(root)
    audio = [f for f in (root / "audio", root / "Audio", root / "clips") if f.is_dir()]
    audio += [root / q for q in ("Q1", "Q2", "Q3", "Q4") if (root / q).is_dir()]
    if not audio:
        return None
    for c in sorted(root.glob("*.csv")):
        try:
            head = _read_csv(c).head(2)
        except Exception:
            continue
        cols = [x.lower() for x in head.columns]
        if any("arousal" in x for x in cols) and any("valence" in x for x in cols):
            return c, audio
    return None


def bimodal_detect(root: Path) -> bool:
    # 4Q also has Q1..Q4 folders but its CSVs carry no arousal/valence columns.
    return _bimodal_layout(root) is not None


def bimodal_instructions(root: Path) -> str:
    return (f"Bi-Modal: obtain the data set from its authors and place its annotation CSV (song id, "
            f"Arousal, Valence and their std) in {root}/ and the clips in {root}/audio/.")


def load_bimodal(root: Path | str, *, max_std: float = BIMODAL_MAX_STD,
                 with_duration: bool = True) -> pd.DataFrame:
    """Bi-Modal songs with V/A in [-4, 4]; songs with V or A rating std > ``max_std`` dropped.

    ``df.attrs["excluded_high_std"]`` holds how many were dropped.
    """
    root = Path(root)
    layout = _bimodal_layout(root)
    if layout is None:
        raise DatasetError(f"No Bi-Modal layout under {root}. {bimodal_instructions(root)}")
    csv_path, folders = layout
    ann = _read_csv(csv_path)
    w = str(csv_path)
    df = pd.DataFrame({
        "track_id": ann[find_column(ann.columns, r"song(_?id)?", r"id", r"music_?id", r"name", where=w)].astype(str),
        "arousal": ann[find_column(ann.columns, r"arousal(_?mean)?", r"mean_?arousal", r"a_?mean", where=w)].astype(float),
        "valence": ann[find_column(ann.columns, r"valence(_?mean)?", r"mean_?valence", r"v_?mean", where=w)].astype(float),
    })
    ast = find_column(ann.columns, r"arousal_?(std|sd)", r"(std|sd)_?arousal", required=False)
    vst = find_column(ann.columns, r"valence_?(std|sd)", r"(std|sd)_?valence", required=False)
    df["arousal_std"] = ann[ast].astype(float) if ast else np.nan
    df["valence_std"] = ann[vst].astype(float) if vst else np.nan
    out_of_range = df[(df[["arousal", "valence"]].abs() > 4).any(axis=1)]
    if len(out_of_range):
        raise DatasetError(f"{w}: {len(out_of_range)} songs have V/A outside [-4, 4] "
                           f"(e.g. {out_of_range['track_id'].head(3).tolist()}); is this the Bi-Modal set?")
    keep = ~((df["arousal_std"] > max_std) | (df["valence_std"] > max_std))
    excluded = int((~keep).sum())
    df = df[keep].reset_index(drop=True)
    df = _attach_audio(df, folders, w)
    df["quadrant"] = quadrant_for_dataset("bimodal", df["valence"], df["arousal"])
    df["duration"] = audio_durations(df["path"]) if with_duration else np.nan
    df["source"] = "bimodal"
    out = tidy(df, "bimodal")
    out.attrs["excluded_high_std"] = excluded
    return out
