"""Merging sources: namespaced ids, duplicates refused, cross-source duplicate report."""
import numpy as np
import pandas as pd
import pytest

from mer_utils.datasets import DatasetError, load
from mer_utils.datasets import merge as M
from mer_utils.evaluation import load_split, save_split


def test_pmemo_and_deam_ids_collide_until_namespaced(pmemo_root, deam_root):
    pm, de = load("pmemo", pmemo_root), load("deam", deam_root)
    clash = set(pm["track_id"]) & set(de["track_id"])
    assert clash, "the fixtures are made so that small integer ids collide"
    with pytest.raises(DatasetError, match="duplicated"):
        M.assert_unique_ids(pd.concat([pm, de]), "naive concat")
    merged = M.merge_sources([pm, de])
    assert merged["track_id"].is_unique and len(merged) == len(pm) + len(de)
    t = next(iter(clash))
    assert {f"pmemo:{t}", f"deam:{t}"} <= set(merged["track_id"])
    assert set(merged["source_id"]) == set(pm["track_id"]) | set(de["track_id"])
    assert M.merge_sources([merged])["track_id"].equals(merged["track_id"])   # idempotent


def test_align_and_load_split_refuse_duplicates(tmp_path):
    df = pd.DataFrame({"track_id": ["1", "2", "1"], "dataset": ["pmemo", "pmemo", "deam"]})
    with pytest.raises(DatasetError, match="duplicated"):
        M.align_on_ids(df, df.iloc[:2])
    path = tmp_path / "s.csv"
    save_split(path, ["1", "2"], {"train": np.array([0]), "validation": np.array([], int), "test": np.array([1])})
    with pytest.raises(ValueError, match="duplicated"):
        load_split(path, ["1", "2", "1"])


def test_duplicate_report_by_artist_and_title():
    df = pd.DataFrame({
        "track_id": ["4q:MT1", "bimodal:7", "bimodal:8", "4q:MT2"],
        "dataset": ["4q", "bimodal", "bimodal", "4q"],
        "artist": ["The Beatles", "Beatles", "Nobody", "Someone"],
        "title": ["Help! (Remastered)", "help", "Other", "Song"],
        "quadrant": ["Q1", "Q2", "Q3", "Q4"]})
    rep = M.duplicate_report(df)
    assert len(rep) == 1
    r = rep.iloc[0]
    assert {r.track_id_a, r.track_id_b} == {"4q:MT1", "bimodal:7"} and r.key == "beatles - help"
    assert {r.quadrant_a, r.quadrant_b} == {"Q1", "Q2"}
