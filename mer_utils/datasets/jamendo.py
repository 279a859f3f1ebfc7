"""MTG-Jamendo, auto-tagging mood/theme subset (Bogdanov et al. 2019).

Publisher layout (the ``mtg-jamendo-dataset`` repository plus downloaded audio)::

    data/autotagging_moodtheme.tsv                    TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS...
    data/tags/moodtheme.txt                           59 tags
    data/tags/moodtheme_split.txt                     56 tags kept by split-0
    data/splits/split-0/autotagging_moodtheme-{train,validation,test}.tsv
    audio/<PATH>            full-quality MP3 (e.g. audio/48/948.mp3), or
    audio-low/<PATH>.low.mp3  the low-quality version

TAGS are tab-separated trailing fields (a row has 6 + n_tags - 1 fields), each prefixed
``mood/theme---``. The loader strips the prefix.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from mer_utils.datasets.base import DatasetError, tidy
from mer_utils.download import fetch
from mer_utils.labels import strip_tag_prefix

NAME = "mtg-jamendo"
META = "data/autotagging_moodtheme.tsv"
SPLIT_DIR = "data/splits/split-{n}"
SPLITS = ("train", "validation", "test")
REPO_RAW = "https://raw.githubusercontent.com/MTG/mtg-jamendo-dataset/master/"
# sha256 of the official repository's metadata files (computed from a copy of the
# repository's files; a changed upstream file is reported as a checksum mismatch).
METADATA_FILES = {
    "data/autotagging_moodtheme.tsv": "c920e97252586f3e570fa89c4708adcd45a1924dc0e3d3460ac65788257865a8",
    "data/tags/moodtheme.txt": "8597c12db9a386d83ae617334ab8ac5c1de525efc5b14fc59654bb243a0f9cb0",
    "data/tags/moodtheme_split.txt": "68797d2f5164d78aafb641a6575f6ba68723293a715a91a8166a7b8ec19af169",
    "data/splits/split-0/autotagging_moodtheme-train.tsv": "e5e9e798364b34bd241b773e5011809b24429edf471f27cf21dd8181077ba2d4",
    "data/splits/split-0/autotagging_moodtheme-validation.tsv": "ecaa279367153476884d84d686479e566234cef1814bd6892a8755ba0a550dbf",
    "data/splits/split-0/autotagging_moodtheme-test.tsv": "4341b5586bb3e5a80a882ce9ef33cb8b1bdaa7df856246ecc5de188dfe1cf394",
}
AUDIO_MIRROR = "https://cdn.freesound.org/mtg-jamendo/"


def detect(root: Path) -> bool:
    return (Path(root) / META).exists()


def instructions(root: Path) -> str:
    return (f"MTG-Jamendo: clone the mtg-jamendo-dataset repository into {root} (so that "
            f"{root}/{META} exists) and download the mood/theme audio with its script "
            f"(`python3 scripts/download/download.py --dataset autotagging_moodtheme --type "
            f"audio-low {root}/audio-low --unpack --remove`), or use "
            f"mer_utils.datasets.jamendo.download_audio().")


def read_tsv(path: Path) -> pd.DataFrame:
    """Read an MTG-Jamendo TSV whose TAGS column spans the trailing tab-separated fields."""
    rows = []
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        if header[:5] != ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION"]:
            raise DatasetError(f"{path}: unexpected header {header}")
        for i, r in enumerate(reader, start=2):
            if not r:
                continue
            if len(r) < 6:
                raise DatasetError(f"{path}: line {i} has {len(r)} fields (expected >= 6)")
            rows.append({"track_id": r[0], "artist": r[1], "album": r[2], "rel_path": r[3],
                         "duration": float(r[4]),
                         "tags": [strip_tag_prefix(t) for t in r[5:] if t]})
    return pd.DataFrame(rows)


def read_tag_list(root: Path, which: str = "moodtheme") -> list[str]:
    """``moodtheme`` (59 tags) or ``moodtheme_split`` (the 56 that survive split-0)."""
    p = Path(root) / "data" / "tags" / f"{which}.txt"
    if not p.exists():
        raise DatasetError(f"{p} is missing. {instructions(Path(root))}")
    return [strip_tag_prefix(l.strip()) for l in p.read_text().splitlines() if l.strip()]


def resolve_audio(root: Path, rel_path: str, audio_dir: Path | None = None) -> Path:
    """Full-quality audio first, then the low-quality version; the first candidate if neither."""
    root = Path(root)
    cands = []
    if audio_dir is not None:
        cands += [Path(audio_dir) / rel_path, Path(audio_dir) / rel_path.replace(".mp3", ".low.mp3")]
    cands += [root / "audio" / rel_path, root / "audio-low" / rel_path.replace(".mp3", ".low.mp3"),
              root / "raw_30s_audio" / rel_path]
    for c in cands:
        if c.exists():
            return c
    return cands[0]


def load(root: Path | str, *, split: int | None = 0, audio_dir: Path | str | None = None) -> pd.DataFrame:
    """All mood/theme tracks with tags; ``split`` adds a train/validation/test column.

    Tracks that are in no split-``split`` file get ``split = None`` (split-0 drops tracks
    whose only tags were dropped). ``audio_exists`` says whether the audio was found.
    """
    root = Path(root)
    if not detect(root):
        raise DatasetError(f"No MTG-Jamendo metadata under {root}. {instructions(root)}")
    df = read_tsv(root / META)
    if split is not None:
        membership = {}
        sdir = root / SPLIT_DIR.format(n=split)
        for s in SPLITS:
            p = sdir / f"autotagging_moodtheme-{s}.tsv"
            if not p.exists():
                raise DatasetError(f"{p} is missing (split-{split}). {instructions(root)}")
            for tid in read_tsv(p)["track_id"]:
                membership[tid] = s
        df["split"] = df["track_id"].map(membership)
    paths = [resolve_audio(root, rp, Path(audio_dir) if audio_dir else None) for rp in df["rel_path"]]
    df["path"] = [str(p) for p in paths]
    df["audio_exists"] = [p.exists() for p in paths]
    df["source"] = NAME
    return tidy(df, NAME)


def download_metadata(dest: Path | str, *, base_url: str = REPO_RAW) -> list[Path]:
    """Fetch the mood/theme metadata files of the official repository (checksummed)."""
    dest = Path(dest)
    files = [META, "data/tags/moodtheme.txt", "data/tags/moodtheme_split.txt"] + [
        f"data/splits/split-0/autotagging_moodtheme-{s}.tsv" for s in SPLITS]
    return [fetch(base_url + f, dest / f, sha256=METADATA_FILES.get(f), what=f"MTG-Jamendo {f}")
            for f in files]


def download_audio(dest: Path | str, sha256_list: Path | str, *, base_url: str = AUDIO_MIRROR,
                   kind: str = "raw_30s/audio-low") -> list[Path]:
    """Fetch the mood/theme audio archives listed in an official sha256 list file.

    ``sha256_list`` is the repository's ``data/download/autotagging_moodtheme_audio-low_sha256_tars.txt``
    (lines ``<sha256> <archive name>``). Each archive is checksummed and resumable; unpack
    them into ``<root>/audio-low/`` afterwards (``tar -xf``).
    """
    dest = Path(dest)
    out = []
    for line in Path(sha256_list).read_text().splitlines():
        if not line.strip():
            continue
        sha, name = line.split()[:2]
        out.append(fetch(f"{base_url}{kind}/{name}", dest / name, sha256=sha,
                         what=f"MTG-Jamendo audio archive {name}"))
    return out
