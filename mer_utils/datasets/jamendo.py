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
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from mer_utils.datasets.base import DatasetError, audio_files_by_name, tidy
from mer_utils.download import fetch
from mer_utils.labels import MOODTHEME_TAGS, strip_tag_prefix

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


def read_tsv(path: Path, vocabulary: Iterable[str] | None = None) -> pd.DataFrame:
    """Read an MTG-Jamendo TSV whose TAGS column spans the trailing tab-separated fields.

    Every row is checked as it is read, and a bad one raises :class:`DatasetError` naming
    the file, the line and the value: fewer than 6 fields, a DURATION that is not a
    non-negative number, and — given ``vocabulary`` (tags without the ``mood/theme---``
    prefix) — a tag outside it (a misspelt ``hapy``, or a shifted field such as ``186.0``).
    """
    path = Path(path)
    vocab = None if vocabulary is None else {strip_tag_prefix(t) for t in vocabulary}
    rows = []
    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open it ({exc})") from None
    with f:
        reader = csv.reader(f, delimiter="\t")
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError(f"{path}: the file is empty; restore it from the MTG-Jamendo repository.") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}, line 1: not a tab-separated text file ({exc})") from None
        if header[:5] != list(HEADER):
            raise DatasetError(f"{path}, line 1: unexpected header {header} (expected {list(HEADER)} + TAGS)")
        try:
            for i, r in enumerate(reader, start=2):
                if not r:
                    continue
                rows.append(_parse_row(path, i, r, vocab))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}, line {reader.line_num + 1}: not tab-separated text ({exc})") from None
    return pd.DataFrame(rows, columns=["track_id", "artist", "album", "rel_path", "duration", "tags"])


HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION")


def _parse_row(path: Path, line: int, r: list[str], vocab: set[str] | None) -> dict:
    where = f"{path}, line {line}"
    if len(r) < 6:
        raise DatasetError(f"{where}: {len(r)} fields (expected TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, "
                           f"DURATION and at least one tag): {r}")
    try:
        duration = float(r[4])
    except ValueError:
        raise DatasetError(f"{where}: DURATION {r[4]!r} is not a number (track {r[0]}); "
                           f"is a field missing or shifted?") from None
    if not math.isfinite(duration) or duration < 0:
        raise DatasetError(f"{where}: DURATION {r[4]!r} is not a non-negative length in seconds (track {r[0]})")
    tags = [strip_tag_prefix(t.strip()) for t in r[5:] if t.strip()]
    if not tags:
        raise DatasetError(f"{where}: track {r[0]} has no tag")
    if vocab is not None:
        bad = [t for t in tags if t not in vocab]
        if bad:
            hint = ("a number where a tag belongs: is a field shifted?"
                    if any(_is_number(t) for t in bad) else "misspelt, or from another vocabulary?")
            raise DatasetError(f"{where}: tag {bad[0]!r} of track {r[0]} is not one of the "
                               f"{len(vocab)} mood/theme tags ({hint})")
    return {"track_id": r[0], "artist": r[1], "album": r[2], "rel_path": r[3],
            "duration": duration, "tags": tags}


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def vocabulary(root: Path) -> list[str]:
    """The tags rows may carry: ``data/tags/moodtheme.txt`` when present, else the public
    59-tag list (:data:`mer_utils.labels.MOODTHEME_TAGS`)."""
    p = Path(root) / "data" / "tags" / "moodtheme.txt"
    return read_tag_list(root) if p.exists() else list(MOODTHEME_TAGS)


def read_tag_list(root: Path, which: str = "moodtheme") -> list[str]:
    """``moodtheme`` (59 tags) or ``moodtheme_split`` (the 56 that survive split-0)."""
    p = Path(root) / "data" / "tags" / f"{which}.txt"
    if not p.exists():
        raise DatasetError(f"{p} is missing. {instructions(Path(root))}")
    tags = [strip_tag_prefix(l.strip()) for l in p.read_text().splitlines() if l.strip()]
    if not tags:
        raise DatasetError(f"{p} is empty; restore it from the MTG-Jamendo repository.")
    return tags


def resolve_audio(root: Path, rel_path: str, audio_dir: Path | None = None, *,
                  _listings: dict | None = None) -> Path:
    """Full-quality audio first, then the low-quality version; the first candidate if neither.

    File names are matched case-insensitively (``48/948.MP3`` is found for ``48/948.mp3``).
    """
    root = Path(root)
    cands = []
    low = rel_path[:-4] + ".low.mp3" if rel_path.lower().endswith(".mp3") else rel_path
    if audio_dir is not None:
        cands += [Path(audio_dir) / rel_path, Path(audio_dir) / low]
    cands += [root / "audio" / rel_path, root / "audio-low" / low, root / "raw_30s_audio" / rel_path]
    for c in cands:
        if c.exists():
            return c
    listings = {} if _listings is None else _listings
    for c in cands:
        if c.parent not in listings:
            listings[c.parent] = audio_files_by_name(c.parent)
        hit = listings[c.parent].get(c.name.lower())
        if hit is not None:
            return hit
    return cands[0]


def load(root: Path | str, *, split: int | None = 0, audio_dir: Path | str | None = None) -> pd.DataFrame:
    """All mood/theme tracks with tags; ``split`` adds a train/validation/test column.

    Tracks that are in no split-``split`` file get ``split = None`` (split-0 drops tracks
    whose only tags were dropped). ``audio_exists`` says whether the audio was found.
    Every row's DURATION and tags are checked at load (tags against :func:`vocabulary`);
    a bad row raises :class:`DatasetError` with its file, line and value.
    """
    root = Path(root)
    if not detect(root):
        raise DatasetError(f"No MTG-Jamendo metadata under {root}. {instructions(root)}")
    vocab = vocabulary(root)
    df = read_tsv(root / META, vocab)
    if split is not None:
        membership = {}
        sdir = root / SPLIT_DIR.format(n=split)
        for s in SPLITS:
            p = sdir / f"autotagging_moodtheme-{s}.tsv"
            if not p.exists():
                raise DatasetError(f"{p} is missing (split-{split}). {instructions(root)}")
            for tid in read_tsv(p, vocab)["track_id"]:
                membership[tid] = s
        df["split"] = df["track_id"].map(membership)
    listings: dict = {}
    paths = [resolve_audio(root, rp, Path(audio_dir) if audio_dir else None, _listings=listings)
             for rp in df["rel_path"]]
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
