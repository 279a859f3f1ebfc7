"""The expanded 4Q set (Louro et al.'s New-4QAED C / B, and the later MERGE Audio release):
its publisher layouts (fixtures), subsets, errors that name the file, discovery before 4Q,
and the corpus a notebook gets from it."""
from __future__ import annotations

import types
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_tone
from mer_utils import datasets as D
from mer_utils.datasets import DatasetError
from mer_utils.datasets.fourq import load_expanded

IDS = {"Q1": ["MT0000001", "A001", "L010"], "Q2": ["MT0000002", "A002"], "Q3": ["MT0000003", "A003"],
       "Q4": ["MT0000004", "L004"]}


def _layout(folder: Path, table: str, *, id_col: str = "SongID", extra: dict | None = None,
            ids: dict = IDS) -> Path:
    rows = []
    for q, songs in ids.items():
        for i, s in enumerate(songs):
            write_tone(folder / q / f"{s}.wav", 0.3, freq=300 + 50 * i)
            rows.append({id_col: s, "Quadrant": q, **(extra or {})})
    pd.DataFrame(rows).to_csv(folder / table, index=False)
    return folder


def test_released_code_layout_is_new_4qaed_c(tmp_path):
    folder = _layout(tmp_path / "New_MERGE_Complete_Data", "new_pub_complete_targets.csv")
    assert D.discover(tmp_path) == {"new-4qaed": tmp_path}        # the folder holding the publisher's one
    assert D.detect_layouts(folder)[0] == "new-4qaed"              # found before the 4Q layout
    other = _layout(tmp_path / "data" / "mine", "new_pub_complete_targets.csv")
    assert D.discover(tmp_path / "data") == {"new-4qaed": other}
    df = D.load("new-4qaed", tmp_path)                             # the parent folder works too
    assert len(df) == 9 and set(df["dataset"]) == {"new-4qaed"}
    assert set(df["collection"]) == {"New-4QAED C"}
    assert df.groupby("quadrant").size().to_dict() == {"Q1": 3, "Q2": 2, "Q3": 2, "Q4": 2}
    assert df.set_index("track_id").loc["L010", "path"].endswith("Q1/L010.wav")


def test_both_subsets_present_reads_c_unless_asked(tmp_path):
    folder = _layout(tmp_path / "new", "new_pub_complete_targets.csv")
    bal = {q: s[:2] for q, s in IDS.items()}
    pd.DataFrame([{"SongID": s, "Quadrant": q} for q, ss in bal.items() for s in ss]).to_csv(
        folder / "new_pub_balanced_targets.csv", index=False)
    with pytest.warns(UserWarning, match="several subsets"):
        c = load_expanded(folder, with_duration=False)
    assert set(c["collection"]) == {"New-4QAED C"} and len(c) == 9
    assert any("subset= chooses" in n for n in c.attrs["load_notes"])
    b = load_expanded(folder, subset="balanced", with_duration=False)
    assert set(b["collection"]) == {"New-4QAED B"} and len(b) == 8
    with pytest.raises(ValueError, match="subset must be"):
        load_expanded(folder, subset="half")


def test_merge_release_layout_keeps_its_metadata(tmp_path):
    folder = _layout(tmp_path / "MERGE_Audio_Balanced", "merge_audio_balanced_metadata.csv", id_col="Song",
                     extra={"Artist": "Someone", "Title": "A song", "Genres": "Rock"})
    df = D.load("new-4qaed", tmp_path)
    assert set(df["collection"]) == {"MERGE Audio Balanced"}
    assert set(df["genre"]) == {"Rock"} and set(df["artist"]) == {"Someone"}


def test_bad_label_tables_and_missing_clips_name_the_file(tmp_path):
    folder = _layout(tmp_path / "new", "new_pub_complete_targets.csv")
    pd.DataFrame({"SongID": ["A001"], "Emotion": ["Q1"]}).to_csv(folder / "new_pub_complete_targets.csv",
                                                                 index=False)
    with pytest.raises(DatasetError, match="new_pub_complete_targets.csv.*Quadrant"):
        load_expanded(folder)
    pd.DataFrame({"SongID": ["A001", "A999"], "Quadrant": ["Q1", "Q2"]}).to_csv(
        folder / "new_pub_complete_targets.csv", index=False)
    with pytest.raises(DatasetError, match=r"1 clips annotated in new_pub_complete_targets.csv are missing.*"
                                           r"Q2/A999.*copy\* of new_pub_complete_targets.csv"):
        load_expanded(folder)
    pd.DataFrame({"SongID": ["A001"], "Quadrant": ["Q5"]}).to_csv(folder / "new_pub_complete_targets.csv",
                                                                  index=False)
    with pytest.raises(DatasetError, match="line 2: song A001 has quadrant 'Q5'"):
        load_expanded(folder)
    with pytest.raises(DatasetError, match="no label table of the balanced subset"):
        load_expanded(folder, subset="balanced")
    with pytest.raises(DatasetError, match="(?s)No New-4QAED layout.*new_pub_complete_targets.csv"):
        load_expanded(tmp_path / "elsewhere")


def test_select_corpus_takes_the_expanded_set_for_the_quadrant_task(tmp_path):
    _layout(tmp_path / "New_MERGE_Complete_Data", "new_pub_complete_targets.csv")
    recorded = {}
    ctx = types.SimpleNamespace(
        datasets=lambda: D.discover(tmp_path), p=types.SimpleNamespace(max_tracks=None, get=lambda k, d=None: d),
        seed=0, data_root=tmp_path,
        manifest=types.SimpleNamespace(notes=[], add_source=lambda k, v: recorded.update({k: v}),
                                       substitute=lambda *a: None))
    df, desc = D.select_corpus(ctx, "quadrant")
    assert desc.startswith("New-4QAED C (real) from") and desc.endswith(": 9 clips")
    assert recorded["quadrant"] == desc and len(df) == 9
