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
    clips_45seconds/<song_id>.mp3
  or the DEAM release:
    DEAM_Annotations/annotations/annotations averaged per song/song_level/
        static_annotations_averaged_songs_1_2000.csv (+ _2000_2058.csv)
    DEAM_audio/MEMD_audio/<song_id>.mp3

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


def _deam_layout(root: Path):
    root = Path(root)
    eim = root / "annotations" / "static_annotations.csv"
    if eim.exists() and (root / "clips_45seconds").is_dir():
        return [eim], [root / "clips_45seconds"]
    for base in (root, root / "DEAM"):
        sl = base / _DEAM_SONG_LEVEL
        if sl.is_dir():
            csvs = sorted(sl.glob("static_annotations_averaged_songs_*.csv"))
            audio = first_existing(base, ["DEAM_audio/MEMD_audio", "MEMD_audio", "audio"])
            if csvs and audio is not None:
                return csvs, [audio]
    return None


def deam_detect(root: Path) -> bool:
    return _deam_layout(root) is not None


def deam_instructions(root: Path) -> str:
    return (f"Emotion in Music / DEAM: download the annotations and audio (research licence) and unpack "
            f"them so that {root}/annotations/static_annotations.csv + {root}/clips_45seconds/ "
            f"(Emotion in Music 2013) or {root}/{_DEAM_SONG_LEVEL}/ + {root}/DEAM_audio/MEMD_audio/ (DEAM) exist.")


def load_deam(root: Path | str, *, with_duration: bool = True) -> pd.DataFrame:
    root = Path(root)
    layout = _deam_layout(root)
    if layout is None:
        raise DatasetError(f"No Emotion-in-Music/DEAM layout under {root}. {deam_instructions(root)}")
    csvs, folders = layout
    parts = []
    for c in csvs:
        ann = _read_csv(c)
        idc = find_column(ann.columns, r"song_?id", r"music_?id", r"id", where=str(c))
        parts.append(pd.DataFrame({
            "track_id": ann[idc].astype(str),
            "valence": ann[find_column(ann.columns, r"(mean_)?valence(_mean)?", where=str(c))].astype(float),
            "arousal": ann[find_column(ann.columns, r"(mean_)?arousal(_mean)?", where=str(c))].astype(float),
            "valence_std": ann[find_column(ann.columns, r"(std_)?valence_std|std_valence", where=str(c))].astype(float),
            "arousal_std": ann[find_column(ann.columns, r"(std_)?arousal_std|std_arousal", where=str(c))].astype(float),
        }))
    df = pd.concat(parts, ignore_index=True).drop_duplicates("track_id")
    df = _attach_audio(df, folders, str(csvs[0]))
    df["quadrant"] = quadrant_for_dataset("deam", df["valence"], df["arousal"])
    df["duration"] = audio_durations(df["path"]) if with_duration else np.nan
    df["source"] = "deam"
    return tidy(df, "deam")


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
