"""GloVe tag vectors, KMeans tag clustering: determinism, treatments, file format."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_utils import tag_clustering as tc
from mer_utils.labels import MOODTHEME_TAGS

MOODTHEME_TXT = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtg-jamendo"
                 / "data" / "tags" / "moodtheme.txt").resolve()


@pytest.fixture(scope="module")
def wv():
    return tc.load_glove()


@pytest.fixture
def toy_glove(tmp_path) -> Path:
    """A tiny GloVe-format text file (no header): two obvious groups of words."""
    rng = np.random.default_rng(0)
    words = {"happy": [5, 0, 0], "joy": [5, 1, 0], "fun": [4, 0, 1], "sad": [-5, 0, 0],
             "dark": [-5, 1, 0], "gloomy": [-4, 0, 1], "film": [0, 5, 0], "music": [0, 5, 1]}
    lines = [w + " " + " ".join(f"{v + rng.normal(0, 0.01):.4f}" for v in vec)
             for w, vec in words.items()]
    p = tmp_path / "glove.toy.3d.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_packaged_glove_is_real_glove_6b_50d(wv):
    assert wv.dim == 50 and len(wv.index) == 400_000
    # first row of GloVe 6B 50d is "the" with this vector start
    assert wv.rank("the") == 0
    assert wv["the"][:3] == pytest.approx([0.418, 0.24968, -0.41242], abs=1e-5)


def test_all_59_moodtheme_tags_are_exact_glove_words(wv):
    _, report = tc.embed_tags(MOODTHEME_TAGS, wv)
    assert len(report) == 59
    assert (report["treatment"] == "exact").all(), report[report.treatment != "exact"]


@pytest.mark.realdata
def test_vocabulary_matches_real_moodtheme_file():
    if not MOODTHEME_TXT.exists():
        pytest.skip(f"MTG-Jamendo tag list not present at {MOODTHEME_TXT}")
    tags = [l.strip().split("---")[-1] for l in MOODTHEME_TXT.read_text().splitlines() if l.strip()]
    assert tuple(tags) == tuple(MOODTHEME_TAGS)


@pytest.mark.parametrize("tag,treatment,words", [
    ("Happy", "exact", ["happy"]),
    ("mood/theme---sad", "exact", ["sad"]),
    ("love song", "parts-average", ["love", "song"]),
    ("film-music", "parts-average", ["film", "music"]),
    ("xqzwv", "unmapped", []),
])
def test_tag_treatments(wv, tag, treatment, words):
    v, how, used = tc.tag_vector(tag, wv)
    assert how == treatment and used == words
    assert (v is None) == (treatment == "unmapped")


def test_plural_and_compound_treatments(toy_glove):
    w = tc.load_glove(toy_glove)
    v, how, used = tc.tag_vector("films", w)
    assert how == "singular" and used == ["film"]
    v, how, used = tc.tag_vector("filmmusic", w)
    assert how == "compound-split" and used == ["film", "music"]
    assert v == pytest.approx((w["film"] + w["music"]) / 2)
    v, how, _ = tc.tag_vector("love song", w)     # no part is a word here
    assert how == "unmapped" and v is None


def test_user_glove_text_file_and_clusters(toy_glove, tmp_path):
    w = tc.load_glove(toy_glove)
    assert w.dim == 3 and "gloomy" in w
    tags = ["happy", "joy", "fun", "sad", "dark", "gloomy", "film", "music", "zzzz"]
    c = tc.cluster_tags(tags, 3, wv=w, seed=0, n_init=10)
    m = c.mapping
    assert m["happy"] == m["joy"] == m["fun"]
    assert m["sad"] == m["dark"] == m["gloomy"]
    assert m["film"] == m["music"]
    assert len({m["happy"], m["sad"], m["film"]}) == 3
    assert m["dark"] == 0 and m["film"] == 1   # renumbered: cluster 0 holds the alphabetically first tag
    assert c.unmapped == ["zzzz"] and "zzzz" not in m


def test_missing_glove_file_names_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="glove"):
        tc.load_glove(tmp_path / "glove.6B.300d.txt")
    bad = tmp_path / "glove.bad.txt"
    bad.write_text("word 0.1 0.2\nother 0.3\n")
    with pytest.raises(ValueError, match="GloVe text file"):
        tc.load_glove(bad)


def test_clustering_is_deterministic_and_round_trips(wv, tmp_path):
    runs = [tc.cluster_tags(MOODTHEME_TAGS, k, wv=wv, seed=0) for k in tc.DEFAULT_KS]
    again = tc.cluster_tags(MOODTHEME_TAGS, 5, wv=wv, seed=0)
    assert runs[0].mapping == again.mapping
    for c in runs:
        assert sorted(c.mapping) == sorted(MOODTHEME_TAGS)
        assert set(c.mapping.values()) == set(range(c.k))
        assert len(c.cluster_names) == c.k
    paths = tc.save_clusters(runs, tmp_path, "mtg-jamendo")
    assert {p.name for p in paths} == {"mtg-jamendo_k5.csv", "mtg-jamendo_k8.csv",
                                       "mtg-jamendo_k10.csv", "mtg-jamendo.json"}
    df = pd.read_csv(tmp_path / "mtg-jamendo_k8.csv")
    assert list(df.columns) == ["tag", "cluster", "cluster_name", "treatment", "words", "distance"]
    assert len(df) == 59 and df["cluster"].between(0, 7).all()
    blob = json.loads((tmp_path / "mtg-jamendo.json").read_text())
    assert blob["clusterings"]["10"]["mapping"] == runs[2].mapping
    assert blob["clusterings"]["5"]["meta"]["n_init"] >= 10
    back = tc.load_clusters(tmp_path, "mtg-jamendo", 8)
    assert back.mapping == runs[1].mapping and back.cluster_names == runs[1].cluster_names
    with pytest.raises(FileNotFoundError, match="02_label_clustering"):
        tc.load_clusters(tmp_path, "mtg-jamendo", 7)


def test_n_init_below_10_is_refused(wv):
    with pytest.raises(ValueError, match="n_init"):
        tc.cluster_tags(MOODTHEME_TAGS, 5, wv=wv, n_init=1)


def test_tracks_get_a_cluster_when_any_tag_is_in_it():
    mapping = {"happy": 0, "fun": 0, "sad": 1, "film": 2}
    Y = tc.tracks_to_clusters([["happy"], ["fun", "sad"], [], ["mood/theme---film", "unknown"]],
                              mapping, k=3)
    assert Y.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]]


def test_tag_counts_keeps_zero_tags_and_sorts():
    s = tc.tag_counts([["a", "b"], ["a"], ["a", "a"]], vocabulary=["a", "b", "c"])
    assert s.to_dict() == {"a": 3, "b": 1, "c": 0}
    assert list(s.index) == ["a", "b", "c"]
