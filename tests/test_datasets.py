"""Loaders on small fixtures laid out like each publisher's release, and on the real copies."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import datasets as D
from mer_utils.datasets import DatasetError


def _wav(path: Path, seconds: float = 1.0, sr: int = 8000, silent: bool = False):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(path, y, sr)
    return path


@pytest.fixture
def fourq_root(tmp_path):
    base = tmp_path / "4q" / "MER_audio_taffc_dataset"
    songs = [(f"MT{i:010d}", f"Q{i % 4 + 1}") for i in range(8)]
    for s, q in songs:
        _wav(base / q / f"{s}.wav", seconds=2)
    pd.DataFrame(songs, columns=["Song", "Quadrant"]).to_csv(base / "panda_dataset_taffc_annotations.csv", index=False)
    pd.DataFrame({"Song": [s for s, _ in songs], "Artist": [f"A{i % 3}" for i in range(8)],
                  "Title": "t", "GenresStr": "Rock"}).to_csv(base / "panda_dataset_taffc_metadata.csv", index=False)
    return tmp_path / "4q"


def test_4q_loader_publisher_layout(fourq_root):
    assert D.discover(fourq_root) == {"4q": fourq_root}
    df = D.load("4q", fourq_root)
    assert list(df.columns[:4]) == ["track_id", "path", "dataset", "duration"]
    assert len(df) == 8 and set(df["quadrant"]) == {"Q1", "Q2", "Q3", "Q4"}
    assert df["duration"].round(1).eq(2.0).all() and df["artist"].notna().all()
    assert all(Path(p).is_absolute() and Path(p).parent.name == q for p, q in zip(df["path"], df["quadrant"]))


def test_4q_missing_clip_is_named(fourq_root):
    victim = next((fourq_root / "MER_audio_taffc_dataset" / "Q2").glob("*.wav"))
    victim.unlink()
    with pytest.raises(DatasetError, match=victim.stem):
        D.load("4q", fourq_root)


def test_wrong_layout_says_what_to_place(tmp_path):
    with pytest.raises(DatasetError, match="Q1/ Q2/ Q3/ Q4/"):
        D.load("4q", tmp_path)
    with pytest.raises(DatasetError, match="autotagging_moodtheme.tsv"):
        D.load("mtg-jamendo", tmp_path)
    with pytest.raises(DatasetError, match="static_annotations.csv"):
        D.load("pmemo", tmp_path)


def test_validate_reports_corrupt_silent_and_short(tmp_path):
    good = _wav(tmp_path / "good.wav", 3)
    silent = _wav(tmp_path / "silent.wav", 3, silent=True)
    short = _wav(tmp_path / "short.wav", 0.5)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3 this is not audio" * 10)
    df = pd.DataFrame({"track_id": ["g", "s", "h", "c", "m"],
                       "path": [str(good), str(silent), str(short), str(corrupt), str(tmp_path / "missing.wav")]})
    rep = D.validate(df, decode=True, min_seconds=1.0, raise_on_error=False)
    probs = dict(zip(rep["track_id"], rep["problem"]))
    assert "g" not in probs
    assert "silent" in probs["s"] and "too short" in probs["h"]
    assert "cannot decode" in probs["c"] and probs["m"] == "file not found"
    with pytest.raises(DatasetError, match="4 of 5 tracks failed"):
        D.validate(df, decode=True, min_seconds=1.0)


@pytest.fixture
def jamendo_fixture(tmp_path):
    root = tmp_path / "mtg"
    (root / "data/tags").mkdir(parents=True)
    (root / "data/splits/split-0").mkdir(parents=True)
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
    rows = ["track_0000001\tartist_1\talbum_1\t01/1.mp3\t200.5\tmood/theme---happy\tmood/theme---film\n",
            "track_0000002\tartist_2\talbum_2\t02/2.mp3\t100.0\tmood/theme---sad\n",
            "track_0000003\tartist_3\talbum_3\t03/3.mp3\t90.0\tmood/theme---calm\n"]
    (root / "data/autotagging_moodtheme.tsv").write_text(header + "".join(rows))
    for split, r in zip(("train", "validation", "test"), rows):
        (root / f"data/splits/split-0/autotagging_moodtheme-{split}.tsv").write_text(header + r)
    (root / "data/tags/moodtheme.txt").write_text(
        "mood/theme---happy\nmood/theme---film\nmood/theme---sad\nmood/theme---calm\n")
    _wav(root / "audio-low" / "02" / "2.low.mp3".replace(".mp3", ".wav"), 1)  # decoy, wrong ext
    _wav(root / "audio" / "01" / "1.wav", 1)
    return root


def test_jamendo_loader_tags_splits_and_audio(jamendo_fixture):
    df = D.load("mtg-jamendo", jamendo_fixture)
    assert df.loc[0, "tags"] == ["happy", "film"] and df.loc[1, "tags"] == ["sad"]
    assert list(df["split"]) == ["train", "validation", "test"]
    assert df["duration"].tolist() == [200.5, 100.0, 90.0]
    assert not df["audio_exists"].any()  # audio/01/1.mp3 is looked for, not 1.wav
    from mer_utils.datasets.jamendo import read_tag_list
    assert read_tag_list(jamendo_fixture) == ["happy", "film", "sad", "calm"]


def test_jamendo_metadata_download_from_local_mirror(jamendo_root, tmp_path):
    """The real download path, against the local copy as a mirror: checksums must match."""
    from mer_utils.datasets.jamendo import download_metadata
    files = download_metadata(tmp_path / "mtg", base_url=jamendo_root.as_uri() + "/")
    assert len(files) == 6 and D.discover(tmp_path / "mtg") == {"mtg-jamendo": tmp_path / "mtg"}


def test_pmemo_deam_bimodal_fixtures(tmp_path):
    pm = tmp_path / "pmemo" / "PMEmo2019"
    (pm / "annotations").mkdir(parents=True)
    pd.DataFrame({"musicId": [1, 2, 3], "Arousal(mean)": [0.5, 0.51, 0.2],
                  "Valence(mean)": [0.9, 0.5, 0.2]}).to_csv(pm / "annotations/static_annotations.csv", index=False)
    for i in (1, 2, 3):
        _wav(pm / "chorus" / f"{i}.wav", 1)
    df = D.load("pmemo", tmp_path / "pmemo")
    assert list(df["quadrant"]) == ["Q4", "Q2", "Q3"]  # 0.5 is low, 0.51 high

    de = tmp_path / "eim"
    (de / "annotations").mkdir(parents=True)
    pd.DataFrame({"song_id": [10, 11], "mean_arousal": [5.0, 7.0], "std_arousal": [1, 1],
                  "mean_valence": [6.0, 2.0], "std_valence": [1, 1]}).to_csv(de / "annotations/static_annotations.csv", index=False)
    for i in (10, 11):
        _wav(de / "clips_45seconds" / f"{i}.wav", 1)
    df = D.load("deam", de)
    assert list(df["quadrant"]) == ["Q4", "Q2"]

    bm = tmp_path / "bimodal"
    bm.mkdir()
    pd.DataFrame({"Song": ["a", "b", "c"], "Arousal": [1.0, -2.0, 0.0], "Valence": [1.0, 3.0, 0.0],
                  "ArousalStd": [0.5, 0.4, 1.3], "ValenceStd": [0.3, 0.9, 0.2]}).to_csv(bm / "ratings.csv", index=False)
    for s in "abc":
        _wav(bm / "audio" / f"{s}.wav", 1)
    df = D.load("bimodal", bm)
    assert list(df["track_id"]) == ["a", "b"] and df.attrs["excluded_high_std"] == 1  # std 1.3 > 1.2
    assert list(df["quadrant"]) == ["Q1", "Q4"]
    assert D.discover(tmp_path) == {"pmemo": tmp_path / "pmemo", "deam": de, "bimodal": bm}


def test_folder_of_classes(tmp_path):
    for c in ("devotional", "romantic", "sad"):
        for i in range(2):
            _wav(tmp_path / "set" / c / f"{c}{i}.wav", 1)
    assert D.discover(tmp_path / "set") == {"folder": tmp_path / "set"}
    df = D.load("folder", tmp_path / "set", label_column="label3")
    assert sorted(df["label3"].unique()) == ["devotional", "romantic", "sad"] and len(df) == 6
    (tmp_path / "set" / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no audio"):
        D.load("folder", tmp_path / "set")


# ---------------------------------------------------------------- real copies (skip when absent)
def test_real_4q_dev(fourq_dev):
    df = D.load("4q", fourq_dev)
    assert len(df) == 120 and df["quadrant"].value_counts().to_dict() == {q: 30 for q in ("Q1", "Q2", "Q3", "Q4")}
    assert D.validate(df, decode=True, raise_on_error=False).empty  # all 120 decodable, none silent
    assert df["title"].notna().all() and df["artist"].notna().sum() >= 119  # one real row has no artist


def test_real_jamendo(jamendo_root):
    df = D.load("mtg-jamendo", jamendo_root)
    assert len(df) == 18486
    assert df["split"].value_counts().to_dict() == {"train": 9949, "test": 4231, "validation": 3802}
    assert len({t for tags in df["tags"] for t in tags}) == 59
    # split-0 is artist-disjoint
    arts = {s: set(df.loc[df["split"] == s, "artist"]) for s in ("train", "validation", "test")}
    assert not (arts["train"] & arts["test"]) and not (arts["train"] & arts["validation"])


def test_discover_shared_root(fourq_dev, jamendo_root):
    found = D.discover(fourq_dev.parent)
    assert found["4q"] == fourq_dev and found["mtg-jamendo"] == jamendo_root


# --------------------------------------------------------------------------- 4Q: what the loader says
def _fourq(tmp_path, rows, files):
    from conftest import write_tone

    root = tmp_path / "4q"
    for q in ("Q1", "Q2", "Q3", "Q4"):
        (root / q).mkdir(parents=True, exist_ok=True)
    for rel in files:
        write_tone(root / rel, seconds=0.2)
    (root / "panda_dataset_taffc_annotations.csv").write_text(
        "Song,Quadrant\n" + "".join(f"{s},{q}\n" for s, q in rows))
    return root


def test_4q_duplicate_rows_are_named_or_read_once(tmp_path):
    from mer_utils.datasets import DatasetError, fourq

    root = _fourq(tmp_path, [("MT1", "Q1"), ("MT2", "Q2"), ("MT1", "Q3")], ["Q1/MT1.wav", "Q2/MT2.wav"])
    with pytest.raises(DatasetError, match=r"annotations.csv, lines 2 and 4: song MT1 is annotated Q1 and Q3"):
        fourq.load(root, with_duration=False)
    root = _fourq(tmp_path / "b", [("MT1", "Q1"), ("MT2", "Q2"), ("MT1", "Q1")], ["Q1/MT1.wav", "Q2/MT2.wav"])
    with pytest.warns(UserWarning, match="annotated twice"):
        df = fourq.load(root, with_duration=False)
    assert list(df["track_id"]) == ["MT1", "MT2"] and "lines 2 and 4" in df.attrs["load_notes"][0]


def test_4q_misplaced_and_unannotated_clips_are_said(tmp_path):
    from mer_utils.datasets import DatasetError, fourq

    root = _fourq(tmp_path, [("MT1", "Q1"), ("MT2", "Q2")], ["Q3/MT1.wav", "Q2/MT2.wav"])
    with pytest.raises(DatasetError, match=r"another quadrant folder.*MT1 \(line 2: Q1, file in Q3/\).*move"):
        fourq.load(root, with_duration=False)
    root = _fourq(tmp_path / "b", [("MT1", "Q1")], ["Q1/MT1.wav", "Q4/MT9.wav", "Q4/MT8.wav"])
    with pytest.warns(UserWarning, match="2 audio file"):
        df = fourq.load(root, with_duration=False)
    assert len(df) == 1 and "Q4/MT8.wav" in df.attrs["load_notes"][0]


def test_a_utf16_annotation_file_is_read(tmp_path):
    from mer_utils.datasets import fourq

    root = _fourq(tmp_path, [("MT1", "Q1")], ["Q1/MT1.wav"])
    f = root / "panda_dataset_taffc_annotations.csv"
    f.write_bytes(f.read_text().encode("utf-16"))                     # "Unicode text" from a spreadsheet
    assert list(fourq.load(root, with_duration=False)["track_id"]) == ["MT1"]


def test_select_corpus_records_what_the_loader_said(tmp_path, capsys):
    from mer_utils.datasets import select_corpus
    from mer_utils.context import setup_run

    root = _fourq(tmp_path, [("MT1", "Q1"), ("MT2", "Q2"), ("MT3", "Q3"), ("MT4", "Q4")],
                  ["Q1/MT1.wav", "Q2/MT2.wav", "Q3/MT3.wav", "Q4/MT4.wav", "Q4/MT9.wav"])
    ctx = setup_run("00_data", profile="smoke", data_root=str(root))
    with pytest.warns(UserWarning):
        select_corpus(ctx, "quadrant")
    assert any("have no row" in n for n in ctx.manifest.notes)
    assert "have no row" in capsys.readouterr().out


def test_4q_full_feature_release_is_found_beside_the_data(tmp_path):
    from mer_utils.datasets.fourq import find_full_features

    root = tmp_path / "4q"
    (root / "MER_audio_taffc_dataset").mkdir(parents=True)
    assert find_full_features(root) is None and find_full_features(None) is None
    (tmp_path / "features").mkdir()
    hit = tmp_path / "features" / "4QAED_1714_features.csv"
    hit.write_text("SongID,f1,Quadrant\n")
    assert find_full_features(root) == hit                       # parent, one folder below
    mine = root / "all_features.csv"
    mine.write_text("SongID,f1,Quadrant\n")
    assert find_full_features(root) == mine                      # the data folder first
    assert find_full_features(root, explicit=hit) == hit         # an explicit path wins
    with pytest.raises(FileNotFoundError):
        find_full_features(root, explicit=tmp_path / "absent.csv")


# --------------------------------------------------------------------------- Emotion in Music / DEAM genres
def _eim_root(tmp_path, ids=(10, 11, 12), *, info=True):
    """Emotion in Music 2013 as published: annotations/ (static annotations and songs_info.csv)
    beside clips_45seconds/."""
    de = tmp_path / "eim"
    (de / "annotations").mkdir(parents=True)
    pd.DataFrame({"song_id": list(ids), "mean_arousal": 6.0, "std_arousal": 1, "mean_valence": 6.0,
                  "std_valence": 1}).to_csv(de / "annotations/static_annotations.csv", index=False)
    for i in ids:
        _wav(de / "clips_45seconds" / f"{i}.wav", 1)
    if info:   # the publisher's columns; values padded with tabs and spaces as in the archive
        (de / "annotations/songs_info.csv").write_text(
            "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),"
            "Genre,Mediaeval 2013 set\n"
            "10,10.mp3,Artist A\t,Song A,0.30,1.15,\tRock ,development\n"
            "11,11.mp3,Artist B,Song B,1.00,1.45,Folk,evaluation\n")
    return de


def _deam_root(tmp_path, ids=(2, 1001, 2001), *, years=(2013, 2014, 2015)):
    """DEAM as published: song-level annotations, MEMD_audio and metadata/metadata_20XX.csv,
    whose columns differ per year and whose rows run past the header (2014's last.fm labels,
    2015's extra genre fields)."""
    from mer_utils.datasets.va_sets import _DEAM_SONG_LEVEL

    base = tmp_path / "DEAM"
    sl = base / _DEAM_SONG_LEVEL
    sl.mkdir(parents=True)
    pd.DataFrame({"song_id": list(ids), " valence_mean": 6.0, " valence_std": 1.0, " arousal_mean": 3.0,
                  " arousal_std": 1.0}).to_csv(sl / "static_annotations_averaged_songs_1_2000.csv", index=False)
    for i in ids:
        _wav(base / "DEAM_audio/MEMD_audio" / f"{i}.wav", 1)
    meta = base / "metadata"
    meta.mkdir()
    files = {2013: "song_id,file_name,Artist,Song title,start of the segment (min.sec),"
                   "end of the segment (min.sec),Genre\n2,2.mp3,Art 2,Title 2,0.30,1.15,Blues\n",
             2014: "Id,Artist,Album,Track,Genre,segment start,segment end,last.fm labels\n"
                   "1001,Art 1001,Alb,Title 1001,Electronic,0,45,chill,ambient,night\n",
             2015: "id,Filename,title,artist,album,genre\n2001,2001.mp3,Title 2001,Art 2001,N/A,Pop,Rock\n"}
    for y in years:
        (meta / f"metadata_{y}.csv").write_text(files[y])
    return base


def test_eim_songs_info_gives_genre_artist_and_title(tmp_path):
    df = D.load("deam", _eim_root(tmp_path))
    g = df.set_index("track_id")
    assert g.loc["10", "genre"] == "Rock" and g.loc["11", "genre"] == "Folk"
    assert g.loc["10", "artist"] == "Artist A" and g.loc["11", "title"] == "Song B"
    assert pd.isna(g.loc["12", "genre"])                       # no metadata row: NaN, and said
    assert any("1 of 3 songs have no row" in n and "12" in n for n in df.attrs["load_notes"])


def test_deam_metadata_per_year_columns_and_ragged_rows(tmp_path):
    _deam_root(tmp_path)
    assert D.discover(tmp_path) == {"deam": tmp_path}                    # <root>/DEAM/... is found
    df = D.load("deam", tmp_path).set_index("track_id")
    assert df.loc["2", "genre"] == "Blues" and df.loc["2", "title"] == "Title 2"
    assert df.loc["1001", "genre"] == "Electronic" and df.loc["1001", "artist"] == "Art 1001"   # labels dropped
    assert df.loc["2001", "genre"] == "Pop, Rock" and df.loc["2001", "artist"] == "Art 2001"    # genre fields joined
    assert df.attrs["load_notes"] == []


def test_deam_without_metadata_loads_and_says_so(tmp_path):
    df = D.load("deam", _eim_root(tmp_path, info=False))
    assert len(df) == 3 and df["genre"].isna().all()
    assert "no genre metadata" in df.attrs["load_notes"][0] and "songs_info.csv" in df.attrs["load_notes"][0]
    part = D.load("deam", _deam_root(tmp_path / "d", years=(2013,)))
    assert part.set_index("track_id").loc["2", "genre"] == "Blues" and part["genre"].isna().sum() == 2
    assert any("metadata_2014.csv" in n for n in part.attrs["load_notes"])


def test_malformed_deam_metadata_is_named(tmp_path):
    de = _eim_root(tmp_path)
    info = de / "annotations/songs_info.csv"
    info.write_text("song_id,file_name,Artist\n10,10.mp3,A\n")             # no genre column
    with pytest.raises(DatasetError, match="songs_info.csv.*genre"):
        D.load("deam", de)
    info.write_text("")
    with pytest.raises(DatasetError, match="songs_info.csv.*empty"):
        D.load("deam", de)
    base = _deam_root(tmp_path / "d")
    (base / "metadata/metadata_2015.csv").write_text("id,Filename,title,artist,album,genre\n")
    with pytest.raises(DatasetError, match="metadata_2015.csv.*no song rows"):
        D.load("deam", base)
