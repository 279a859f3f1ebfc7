"""The multi-source paper's pieces (Cazzaniga et al., mer_utils.papers.cazzaniga, notebook 20):
balancing by extreme corners, the 24-s crop/drop rule, resampling, the per-source dB
reference, images, the balanced 90/10 split with k folds stored through the protocol layer,
the configuration per profile, the folds trained through the one engine, tables built from
stored predictions with evaluation's metrics, the leaderboard entry, and the notebook on
real 4Q data."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import FOURQ_DEV, require
from mer_utils.config import Manifest
from mer_utils.datasets.balance import (BalanceError, corner_scores, even_targets,
                                        select_extreme_corners)
from mer_utils.datasets.base import DatasetError
from mer_utils.features import spectrogram
from mer_utils.features.images import source_references
from mer_utils.papers import cazzaniga as C
from mer_utils.papers.cazzaniga import figures as FIG, pipeline as P, tables as T
from mer_utils.results import load_predictions


def _ctx(tmp_path, seed=0):
    return SimpleNamespace(manifest=Manifest(notebook="t", profile={}, seed=seed, data_root=None),
                           results_dir=tmp_path, seed=seed, cache_dir=tmp_path / "cache", data_root=None)


# --------------------------------------------------------------------------- balancing
def _va(points):
    """points: list of (quadrant, v, a) -> a source table on the [-1, 1] scale."""
    return pd.DataFrame([{"track_id": f"t{i:02d}", "quadrant": q, "valence_norm": v, "arousal_norm": a}
                         for i, (q, v, a) in enumerate(points)])


CORNER_SET = _va([
    ("Q1", 0.9, 0.9), ("Q1", 0.95, 0.05), ("Q1", 0.5, 0.5), ("Q1", 0.1, 0.1),     # t00..t03
    ("Q2", -0.8, 0.7), ("Q2", -0.2, 0.2),                                           # t04, t05
    ("Q3", -0.6, -0.6), ("Q3", -0.3, -0.9), ("Q3", -0.05, -0.05),                   # t06..t08
    ("Q4", 0.7, -0.8), ("Q4", 0.4, -0.3), ("Q4", 0.99, -0.01),                      # t09..t11
])


def test_corner_score_is_distance_to_the_nearer_axis():
    assert np.allclose(corner_scores([0.9, 0.95, -0.3], [0.9, 0.05, -0.9]), [0.9, 0.05, 0.3])
    assert np.allclose(corner_scores([3.0], [4.0], "origin"), [5.0])
    with pytest.raises(ValueError, match="unknown corner rule"):
        corner_scores([0.1], [0.1], "diagonal")


def test_extreme_corners_keep_corner_songs_not_far_out_axis_songs():
    out = select_extreme_corners(CORNER_SET)              # smallest quadrant (Q2) has 2
    kept = set(out.loc[out["selected"], "track_id"])
    assert kept == {"t00", "t02", "t04", "t05", "t06", "t07", "t09", "t10"}
    # on an axis far out (t01: v 0.95, a 0.05) is not a corner, though far from the origin
    assert "t01" not in kept and "t11" not in kept
    by_origin = select_extreme_corners(CORNER_SET, rule="origin")
    assert {"t01", "t11"} <= set(by_origin.loc[by_origin["selected"], "track_id"])
    assert out.loc[out["track_id"] == "t00", "corner_rank"].item() == 1


def test_counts_as_requested():
    assert select_extreme_corners(CORNER_SET)["selected"].sum() == 8
    one = select_extreme_corners(CORNER_SET, 1)
    assert one.groupby("quadrant")["selected"].sum().tolist() == [1, 1, 1, 1]
    mixed = select_extreme_corners(CORNER_SET, {"Q1": 3, "Q2": 1, "Q3": 2, "Q4": 0})
    assert mixed.groupby("quadrant")["selected"].sum().to_dict() == {"Q1": 3, "Q2": 1, "Q3": 2, "Q4": 0}
    total = select_extreme_corners(CORNER_SET, total=10)   # 3 + 2 + 3 + 2 (Q2 gives all it has)
    assert total.groupby("quadrant")["selected"].sum().to_dict() == {"Q1": 3, "Q2": 2, "Q3": 3, "Q4": 2}
    with pytest.raises(BalanceError, match="Q2 \\(3 asked, 2 there\\)"):
        select_extreme_corners(CORNER_SET, 3)


def test_even_targets():
    assert even_targets(346, {"Q1": 200, "Q2": 60, "Q3": 300, "Q4": 150}) == \
        {"Q1": 96, "Q2": 60, "Q3": 95, "Q4": 95}
    assert even_targets(232, {"Q1": 100, "Q2": 100, "Q3": 100, "Q4": 100}) == \
        {"Q1": 58, "Q2": 58, "Q3": 58, "Q4": 58}
    assert sum(even_targets(7, {"Q1": 5, "Q2": 5, "Q3": 5, "Q4": 5}).values()) == 7
    with pytest.raises(BalanceError, match="asked for 50"):
        even_targets(50, {"Q1": 10, "Q2": 10, "Q3": 10, "Q4": 10})


def test_ties_are_deterministic_and_independent_of_row_order():
    tied = _va([("Q1", 0.5, 0.5), ("Q1", 0.5, 0.9), ("Q1", 0.5, 0.5), ("Q1", 0.9, 0.5),
                ("Q2", -0.5, 0.5), ("Q3", -0.5, -0.5), ("Q4", 0.5, -0.5)])
    # t00, t01, t02, t03 all score 0.5; t01 and t03 are farther from the origin; t01 < t03
    first = select_extreme_corners(tied, 1)
    assert first.loc[first["selected"] & (first["quadrant"] == "Q1"), "track_id"].tolist() == ["t01"]
    two = select_extreme_corners(tied, {"Q1": 3, "Q2": 1, "Q3": 1, "Q4": 1})
    assert sorted(two.loc[two["selected"] & (two["quadrant"] == "Q1"), "track_id"]) == ["t00", "t01", "t03"]
    for seed in range(5):
        shuffled = tied.sample(frac=1, random_state=seed)
        again = select_extreme_corners(shuffled, {"Q1": 3, "Q2": 1, "Q3": 1, "Q4": 1})
        assert set(again.loc[again["selected"], "track_id"]) == set(two.loc[two["selected"], "track_id"])


def test_empty_quadrant_and_missing_va_raise():
    with pytest.raises(BalanceError, match=r"\['Q4'\] have no songs"):
        select_extreme_corners(CORNER_SET[CORNER_SET["quadrant"] != "Q4"], where="PMEmo")
    no_va = CORNER_SET.assign(valence_norm=np.nan)
    with pytest.raises(BalanceError, match="no valence/arousal"):
        select_extreme_corners(no_va)


# --------------------------------------------------------------------------- sources
def test_real_sources_present_are_merged_missing_ones_said_or_refused(tmp_path, pmemo_root, deam_root):
    import shutil

    from mer_utils.context import setup_run
    root = tmp_path / "data"
    root.mkdir()
    shutil.copytree(pmemo_root, root / "pmemo")
    shutil.copytree(deam_root, root / "eim")
    ctx = setup_run(C.config.NOTEBOOK, profile="demo", data_root=str(root))
    table, desc = P.load_corpus(ctx, C.Config.for_profile("demo"))
    assert sorted(table["track_id"])[:2] == ["deam:2", "deam:3"] and "pmemo:1" in set(table["track_id"])
    assert table["track_id"].is_unique                       # PMEmo's and EiM's ids collide unprefixed
    assert "absent: 4Q, Bi-Modal" in desc and str(root / "pmemo") in desc
    # PMEmo (0.8, 0.9) -> (0.6, 0.8) on [-1, 1]; Emotion in Music 7 on [1, 9] -> 0.5
    pm1 = table.set_index("track_id").loc["pmemo:1"]
    assert (pm1["valence_norm"], pm1["arousal_norm"]) == pytest.approx((0.8, 0.6))
    assert table.set_index("track_id").loc["deam:2", "valence_norm"] == pytest.approx(0.5)
    with pytest.raises(DatasetError, match="require_all_sources.*4Q.*Bi-Modal"):
        P.load_corpus(ctx, C.Config.for_profile("demo", require_all_sources=True))
    with pytest.raises(DatasetError, match="PMEmo: none of its 4 songs lasts 24 s"):   # 1-s fixtures
        P.select_songs(ctx, C.Config.for_profile("demo"), table)


# --------------------------------------------------------------------------- crop / drop and balancing of a corpus
def _corpus():
    rows = []
    for s, lo in (("4q", None), ("pmemo", 0.0), ("deam", 1.0)):
        for i, q in enumerate(["Q1", "Q2", "Q3", "Q4"] * 3):
            sv, sa = {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}[q]
            mag = 0.2 + 0.25 * (i // 4)                      # three distances from the axes
            rows.append({"track_id": f"{s}:{i}", "source": s, "quadrant": q, "path": "",
                         "dataset": s, "duration": 30.0, "genre": "g",
                         "valence_norm": np.nan if lo is None else sv * mag,
                         "arousal_norm": np.nan if lo is None else sa * mag})
    return pd.DataFrame(rows)


def test_crop_rule_drops_songs_under_24_s_and_lists_them(tmp_path):
    ctx = _ctx(tmp_path)
    cfg = C.Config.for_profile("demo", sources=("4q", "pmemo", "deam"))
    df = _corpus()
    df.loc[df["track_id"] == "4q:0", "duration"] = 23.99
    df.loc[df["track_id"] == "4q:1", "duration"] = 24.0            # exactly 24 s: kept
    df.loc[df["track_id"] == "pmemo:2", "duration"] = 10.0
    out = P.select_songs(ctx, cfg, df)
    status = out.set_index("track_id")["status"]
    assert status["4q:0"] == "too_short" and status["4q:1"] == "selected"
    assert status["pmemo:2"] == "too_short"
    skipped = {s["item"] for s in ctx.manifest.skipped}
    assert skipped == {"4q:0", "pmemo:2"}
    # pmemo lost a Q3 song: balanced to 2 per quadrant, the two farthest from the axes
    pm = out[out["source"] == "pmemo"]
    assert pm.groupby("quadrant")["status"].apply(lambda s: (s == "selected").sum()).tolist() == [2, 2, 2, 2]
    assert set(pm.loc[pm["status"] == "selected", "track_id"]) == \
        {"pmemo:4", "pmemo:5", "pmemo:8", "pmemo:9", "pmemo:6", "pmemo:10", "pmemo:7", "pmemo:11"}
    # 4Q is kept whole (no V/A values; the paper keeps all of it)
    assert (out.loc[out["source"] == "4q", "status"] == "selected").sum() == 11


def test_paper_totals_and_their_fallback(tmp_path):
    ctx = _ctx(tmp_path)
    df = _corpus()
    cfg = C.Config.for_profile("full", sources=("pmemo", "deam"), balance_totals=(("pmemo", 10), ("deam", 40)))
    out = P.select_songs(ctx, cfg, df[df["source"] != "4q"])
    assert (out.loc[out["source"] == "pmemo", "status"] == "selected").sum() == 10
    # 40 asked from 12 Emotion in Music songs: smallest-quadrant rule instead, noted
    assert (out.loc[out["source"] == "deam", "status"] == "selected").sum() == 12
    assert any("deam: 40 songs asked" in n for n in ctx.manifest.notes)


def test_source_without_long_songs_or_with_an_empty_quadrant_raises(tmp_path):
    cfg = C.Config.for_profile("demo", sources=("4q", "pmemo", "deam"))
    df = _corpus()
    short = df.assign(duration=np.where(df["source"] == "deam", 20.0, 30.0))
    with pytest.raises(DatasetError, match="Emotion in Music: none of its 12 songs lasts 24 s"):
        P.select_songs(_ctx(tmp_path), cfg, short)
    q4 = df.assign(duration=np.where((df["source"] == "pmemo") & (df["quadrant"] == "Q4"), 5.0, 30.0))
    with pytest.raises(BalanceError, match=r"PMEmo: quadrant\(s\) \['Q4'\] have no songs"):
        P.select_songs(_ctx(tmp_path), cfg, q4)


def test_central_crop_resampling_and_no_volume_normalisation():
    sr = 44100
    t = np.arange(int(24 * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    padded = np.concatenate([np.zeros(3 * sr, np.float32), tone, np.zeros(3 * sr, np.float32)])
    fe = P.front_end(C.Config())
    S_mid = spectrogram(padded, sr, fe)
    S_tone = spectrogram(tone, sr, fe)
    assert S_mid.shape == (1034, 128)
    audible = S_tone > S_tone.max() - 60                       # away from the -100 dB floor
    assert np.allclose(S_mid[audible], S_tone[audible], atol=1e-3)   # the central 24 s, nothing else
    off = np.concatenate([np.zeros(1 * sr, np.float32), tone, np.zeros(5 * sr, np.float32)])
    assert np.abs(spectrogram(off, sr, fe) - S_tone)[audible].max() > 50   # an off-centre cut is not
    from mer_utils.audio import AudioError
    with pytest.raises(AudioError, match="too short"):
        spectrogram(tone[: int(23.9 * sr)], sr, fe)
    # anti-aliasing: a 15 kHz tone is above the new Nyquist (11,025 Hz); it must not fold
    # back to 22,050 - 15,000 = 7,050 Hz
    hi = (0.3 * np.sin(2 * np.pi * 15000 * t)).astype(np.float32)
    S_hi = spectrogram(hi, sr, fe)
    assert S_hi.max() < S_tone.max() - 60
    # no volume normalisation: half the amplitude is 6.02 dB lower everywhere it matters
    S_half = spectrogram(0.5 * tone, sr, fe)
    band = np.unravel_index(np.argmax(S_tone), S_tone.shape)
    assert S_tone[band] - S_half[band] == pytest.approx(20 * np.log10(2), abs=0.01)


# --------------------------------------------------------------------------- dB reference and images
def test_per_source_reference_paper_and_training_only_variants():
    rng = np.random.default_rng(0)
    X = rng.uniform(-60, 0, (6, 20, 8)).astype(np.float32)
    X[5, 0, 0] = 30.0           # the loudest bin of source "b" sits in a test song (row 5)
    X[0, 0, 0] = 10.0
    sources = ["a", "a", "a", "b", "b", "b"]
    assert source_references(X, sources) == {"a": 10.0, "b": 30.0}
    train = [0, 1, 3, 4]
    refs = source_references(X, sources, rows=train)
    assert refs["a"] == 10.0 and refs["b"] == pytest.approx(float(X[[3, 4]].max()))
    with pytest.raises(ValueError, match="source 'b' has no row"):
        source_references(X, sources, rows=[0, 1])
    kept = pd.DataFrame({"source": sources})
    split = P.Split(P.Unit(0, 0), train=np.array([0, 1, 3]), test=np.array([5]), validation=np.array([2, 4]))
    paper = C.Config.for_profile("demo")
    ours = C.Config.for_profile("demo", db_reference="train_only")
    assert P.db_references(paper, X, kept, split)["b"] == 30.0
    assert P.db_references(ours, X, kept, split)["b"] == pytest.approx(float(X[3].max()))


def test_images_shape_range_and_per_source_reference():
    rng = np.random.default_rng(1)
    base = rng.uniform(-70, 0, (1034, 128)).astype(np.float32)
    X = np.stack([base, base - 10, base + 25, base + 15])       # a: rows 0, 1; b: rows 2, 3
    kept = pd.DataFrame({"source": ["a", "a", "b", "b"]})
    cfg = C.Config.for_profile("demo")
    refs = source_references(X, kept["source"])
    imgs = P.render_images(cfg, X, kept, refs)
    assert imgs.shape == (4, 64, 64, 3) and imgs.dtype == np.uint8
    assert imgs.min() >= 0 and imgs.max() <= 255 and imgs.max() > 200
    # the same song at another absolute level in another source looks the same ...
    assert np.abs(imgs[0].astype(int) - imgs[2].astype(int)).max() <= 1
    # ... while a song 10 dB below its source's loudest one is darker
    assert imgs[1].astype(int).sum() < imgs[0].astype(int).sum()
    full = P.render_images(C.Config(), X[:1], kept[:1], refs)
    assert full.shape == (1, 300, 300, 3)


# --------------------------------------------------------------------------- splits
def _split_table(n_per=20, genres=False):
    rows = []
    for s in ("4q", "pmemo", "deam"):
        for q in ("Q1", "Q2", "Q3", "Q4"):
            for i in range(n_per):
                rows.append({"track_id": f"{s}:{q}:{i}", "source": s, "quadrant": q,
                             "genre": (("rock", "folk")[i % 2] if s == "deam" else None) if genres else None})
    return pd.DataFrame(rows)


def test_test_part_is_balanced_by_class_source_and_genre():
    df = _split_table(20, genres=True)
    test = P.balanced_test_rows(df["quadrant"], df["source"], P._genres(C.Config(), df), test_size=0.1, seed=3)
    assert len(test) == 24
    cell = df.iloc[test].groupby(["quadrant", "source"]).size()
    assert (cell == 2).all() and len(cell) == 12
    eim = df.iloc[test].query("source == 'deam'")
    assert (eim.groupby(["quadrant", "genre"]).size() == 1).all()
    again = P.balanced_test_rows(df["quadrant"], df["source"], P._genres(C.Config(), df), test_size=0.1, seed=3)
    assert np.array_equal(test, again)
    odd = P.balanced_test_rows(df["quadrant"].iloc[:-7], df["source"].iloc[:-7], test_size=0.1, seed=0)
    assert len(odd) == round(0.1 * (len(df) - 7))
    # classes of 50 songs each, sources of unequal size inside them: 5 test songs per class,
    # and within a class 1 or 2 per source (never a class favoured by its name)
    sizes = {"Q1": (13, 12, 12, 13), "Q2": (11, 14, 12, 13), "Q3": (12, 12, 13, 13), "Q4": (14, 11, 12, 13)}
    cls = [q for q, n in sizes.items() for k, m in enumerate(n) for _ in range(m)]
    src = [f"s{k}" for q, n in sizes.items() for k, m in enumerate(n) for _ in range(m)]
    for seed in range(3):
        t = P.balanced_test_rows(cls, src, test_size=0.1, seed=seed)
        assert pd.Series(np.asarray(cls)[t]).value_counts().tolist() == [5, 5, 5, 5]
        per_cell = pd.crosstab(np.asarray(cls)[t], np.asarray(src)[t])
        assert per_cell.to_numpy().min() >= 1 and per_cell.to_numpy().max() <= 2


def _eim_release(root, *, genres=True):
    """Emotion in Music 2013 as published (annotations/static_annotations.csv, songs_info.csv
    with the publisher's columns, clips_45seconds/): 80 songs, 20 per quadrant, 10 of each of
    two genres per quadrant."""
    from conftest import write_tone

    (root / "annotations").mkdir(parents=True)
    va = {"Q1": (7.0, 7.0), "Q2": (3.0, 7.0), "Q3": (3.0, 3.0), "Q4": (7.0, 3.0)}
    ann, info = [], ["song_id,file_name,Artist,Song title,start of the segment (min.sec),"
                     "end of the segment (min.sec),Genre,Mediaeval 2013 set"]
    for i in range(80):
        q = ("Q1", "Q2", "Q3", "Q4")[i % 4]
        v, a = va[q]
        ann.append({"song_id": i + 2, "mean_arousal": a, "std_arousal": 1, "mean_valence": v, "std_valence": 1})
        info.append(f"{i + 2},{i + 2}.mp3,Artist {i},Song {i},0.30,1.15,{('Rock', 'Classical')[(i // 4) % 2]},"
                    "development")
        write_tone(root / "clips_45seconds" / f"{i + 2}.wav", 0.2)
    pd.DataFrame(ann).to_csv(root / "annotations" / "static_annotations.csv", index=False)
    if genres:
        (root / "annotations" / "songs_info.csv").write_text("\n".join(info) + "\n")
    return root


def test_genre_balance_on_a_real_layout_eim_and_its_absence_said(tmp_path):
    from mer_utils.context import setup_run

    root = _eim_release(tmp_path / "data" / "eim")
    ctx = setup_run(C.config.NOTEBOOK, profile="demo", data_root=str(tmp_path / "data"))
    cfg = C.Config.for_profile("demo")
    table, _ = P.load_corpus(ctx, cfg)
    assert set(table["genre"]) == {"Rock", "Classical"}                     # read from songs_info.csv
    for seed in range(4):                                                   # 8 test songs: 2 per class,
        splits, _ = P.make_splits(ctx, cfg, table, seed=seed, directory=tmp_path / f"s{seed}")
        test = table.iloc[splits[0].test]                                   # one of each genre in each
        assert (pd.crosstab(test["quadrant"], test["genre"]) == 1).all().all()
    gb = P.genre_balance(ctx, cfg, table)
    assert gb.applied and (gb.songs, gb.with_genre, gb.genres) == (80, 80, 2)
    assert ctx.manifest.settings["cazzaniga_genre_balance"]["state"] == "applied"
    assert C.fidelity.fidelity(cfg, gb).set_index("point").loc["test split: genre (EiM)", "status"] == "same"

    (root / "annotations" / "songs_info.csv").unlink()                      # the metadata absent
    ctx = setup_run(C.config.NOTEBOOK, profile="demo", data_root=str(tmp_path / "data"))
    table, _ = P.load_corpus(ctx, cfg)
    assert table["genre"].isna().all()
    assert any("no genre metadata" in n for n in ctx.manifest.notes)        # the loader's note
    P.make_splits(ctx, cfg, table, directory=tmp_path / "none")
    said = [n for n in ctx.manifest.notes if "departure: no genre metadata under" in n]
    assert len(said) == 1 and str(root) in said[0]
    assert ctx.manifest.settings["cazzaniga_genre_balance"]["state"] == "no metadata"
    point = C.fidelity.fidelity(cfg, P.genre_balance(ctx, cfg, table)).set_index("point").loc["test split: genre (EiM)"]
    assert point["status"] == "departure" and f"no genre metadata under {root}" in point["reason"]
    assert P.genre_balance(ctx, C.Config.for_profile("demo", genre_balance=False), table).state == "off"
    assert P.genre_balance(ctx, cfg, table[table["source"] != "deam"]).state == "no EiM songs"


def test_fidelity_reads_the_head_and_computes_its_sizes():
    fid = C.fidelity.fidelity().set_index("point")
    head = fid.loc["head"]
    assert head["status"] == "paper silent" and "Flatten" in head["paper"]
    size = T.head_sizes(C.Config())
    assert size["map"] == (10, 10, 1536) and size["first_dense_weights"] == 153_600 * 512
    assert size["backbone"] == 10_783_535                 # cost model's whole network minus its head
    assert f"{size['first_dense_weights'] / 1e6:.1f} M" in head["ours"] and "10.8 M" in head["ours"]
    assert fid.loc["fine-tuning", "status"] == "paper silent" and "frozen" in fid.loc["fine-tuning", "reason"]
    assert fid.loc["test split: genre (EiM)", "status"] == "same"
    assert "ablation flattens" in C.fidelity.fidelity(C.Config.for_profile("demo")).set_index("point").loc["head", "ours"]
    assert T.head_sizes(C.Config(pooling="avg"))["features"] == 1536
    # the ablation runs under smoke and full; demo leaves it to full with its measured reason
    demo = C.Config.for_profile("demo")
    assert C.Config().trains("head_ablation") and C.Config.for_profile("smoke").trains("head_ablation")
    assert not demo.trains("head_ablation") and "measured" in dict(demo.full_only)["head_ablation"]
    assert "full profile only under demo" in T.readings_caption(demo, None, None)
    assert "full_only" not in T.caption(demo, None, "x")                    # said once, where it applies


def test_make_splits_fixed_test_k_folds_saved_and_reused(tmp_path):
    df = _split_table(20)
    cfg = C.Config.for_profile("demo", folds=5)
    ctx = _ctx(tmp_path)
    splits, folder = P.make_splits(ctx, cfg, df)
    # one predefined split per fold, stored by the protocol layer (evaluation.protocols)
    files = sorted(folder.glob("cazzaniga-r00-f0*-predefined-*/r00-f00.csv"))
    assert len(splits) == 5 and len(files) == 5
    assert [sp.unit.key for sp in splits] == [f"r00-f0{f}" for f in range(5)]
    test = splits[0].test
    vals = []
    for sp, f in zip(splits, files):
        assert np.array_equal(sp.test, test)
        assert len(np.intersect1d(sp.train, sp.validation)) == 0
        assert len(np.union1d(np.union1d(sp.train, sp.validation), sp.test)) == len(df)
        assert set(df["quadrant"].iloc[sp.validation]) == {"Q1", "Q2", "Q3", "Q4"}
        stored = pd.read_csv(f)
        assert sorted(stored.loc[stored["split"] == "validation", "track_id"]) == sorted(df["track_id"].iloc[sp.validation])
        vals.append(sp.validation)
    assert len(np.unique(np.concatenate(vals))) == len(df) - len(test)   # each dev song validates once
    # rerun: the same files are found and not rewritten
    mtimes = [f.stat().st_mtime_ns for f in files]
    again, folder2 = P.make_splits(ctx, cfg, df)
    assert folder2 == folder and [f.stat().st_mtime_ns for f in files] == mtimes
    assert all(np.array_equal(a.validation, b.validation) for a, b in zip(splits, again))
    assert len(list(folder.glob("cazzaniga-*"))) == 5
    other, _ = P.make_splits(ctx, cfg, df, seed=1)                      # another seed: new folders
    assert len(list(folder.glob("cazzaniga-*"))) == 10
    assert not np.array_equal(other[0].test, test)


def test_make_splits_refuses_one_class_and_too_small_classes(tmp_path):
    df = _split_table(20)
    cfg = C.Config.for_profile("demo", folds=5)
    with pytest.raises(ValueError, match="one class only"):
        P.make_splits(_ctx(tmp_path), cfg, df[df["quadrant"] == "Q1"])
    small = pd.concat([df[df["quadrant"] != "Q4"], df[df["quadrant"] == "Q4"].head(4)])
    with pytest.raises(ValueError, match="class 'Q4' has 4 training song"):
        P.make_splits(_ctx(tmp_path), cfg, small)


# --------------------------------------------------------------------------- config, tables
def test_profiles_scale_and_full_is_the_paper():
    assert C.config.scalings(C.Config.for_profile("full")).empty
    demo = C.config.scalings(C.Config.for_profile("demo")).set_index("setting")
    assert {"image_size", "backbone", "epochs"} <= set(demo.index)
    assert demo.loc["image_size", "paper"] == 300
    full = C.Config.for_profile("full")
    assert (full.backbone, full.image_size, full.epochs, full.learning_rate, full.folds) == \
        ("EfficientNetB3", 300, 50, 1e-5, 5)
    w = P.Weights("random", None, "offline", 1e-3)
    cap = T.caption(C.Config.for_profile("demo"), w, "Table 3.")
    assert "NOT ImageNet" in cap and "image_size 64 (paper 300)" in cap and "source_all" in cap
    with pytest.raises(ValueError, match="db_reference"):
        C.Config.for_profile("demo", db_reference="global")


def test_paper_values_transcribed():
    from mer_utils.results import paper_values
    pv = paper_values("cazzaniga")
    t3 = pv[pv["table"] == "3"].set_index(["row", "metric"])["value"]
    assert t3[("All Folds", "accuracy")] == 0.64 and t3[("Fold 4", "f1")] == 0.63
    t4 = pv[pv["table"] == "4"].set_index(["row", "metric"])["value"]
    assert t4[("A+V-", "recall")] == 0.78 and t4[("A-V+", "f1")] == 0.53
    assert set(pv[pv["table"] == "5"]["row"]) == set(T.TABLE5_DATASETS)
    assert T.table2()["same"].all()


def test_tables_are_built_from_stored_predictions(tmp_path):
    from mer_utils.experiment import UnitResult, run_protocol

    df = _split_table(10)
    cfg = C.Config.for_profile("demo", folds=5)
    ctx = _ctx(tmp_path)
    splits, _ = P.make_splits(ctx, cfg, df)
    y = df["quadrant"].map({q: i for i, q in enumerate(C.config.CLASSES)}).to_numpy()
    ids = df["track_id"].to_numpy()

    def fake(split):           # right on the first (fold + 1) * 2 test songs, wrong elsewhere
        te = split.test
        pred = (y[te] + 1) % 4
        pred[: (split.unit.fold + 1) * 2] = y[te][: (split.unit.fold + 1) * 2]
        return UnitResult(ids=ids[te], y_true=y[te], y_score=np.eye(4)[pred], labels=list(C.config.CLASSES),
                          info={"history": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9], "epoch": [1, 2],
                                            "best_epoch": 2}})

    run_protocol(tmp_path, "cazzaniga_source_all", splits, config={"t": 1}, fit_predict=fake, progress=False)
    long3, wide3 = T.table3(ctx, "cazzaniga_source_all")
    n = len(splits[0].test)
    accs = [(f + 1) * 2 / n for f in range(5)]
    got = long3[long3["metric"] == "accuracy"].set_index("row")["reproduced"]
    assert got["Fold 3"] == pytest.approx(accs[2]) and got["All Folds"] == pytest.approx(np.mean(accs))
    assert long3.set_index(["row", "metric"]).loc[("All Folds", "accuracy"), "paper"] == 0.64
    assert "(paper 0.64)" in wide3.loc["Accuracy", "All Folds"]
    long4, wide4 = T.table4(ctx, "cazzaniga_source_all")
    assert list(wide4.index) == ["A+V+", "A+V-", "A-V-", "A-V+"]
    assert wide4.loc["A+V-", ("recall", "paper")] == 0.78
    fig = FIG.fig5_losses(ctx, "cazzaniga_source_all")
    assert "fold 3" in fig.axes[0].figure._suptitle.get_text()
    learned = T.learning(ctx, cfg, "cazzaniga_source_all").iloc[0]
    assert learned["network"] == P.network_name(cfg) and learned["units"] == 5
    assert learned["mean"] == pytest.approx(T.fold_scores(ctx, "cazzaniga_source_all")["f1"].mean())
    assert learned["learned"] == (learned["mean"] >= 0.40) and learned["single-class units"] == 0
    fig = FIG.learning_curves(ctx, cfg, "cazzaniga_source_all")
    assert len(fig.axes) == 2 and P.network_name(cfg) in fig.axes[0].get_title(loc="left")


def test_demo_network_is_named_for_its_head_and_bn_momentum_is_checked():
    full, demo = C.Config.for_profile("full"), C.Config.for_profile("demo")
    assert P.network_name(full) == "EfficientNetB3 + the paper's head" and full.bn_momentum == 0.99
    assert P.network_name(demo) == "EfficientNetB0 + pooled Dense 64 head (ours)"
    assert demo.bn_momentum < 0.99 and demo.folds == 3
    assert {"bn_momentum", "pooling", "head_units", "folds"} <= set(C.config.scalings(demo)["setting"])
    with pytest.raises(ValueError, match="bn_momentum"):
        C.Config.for_profile("demo", bn_momentum=1.0)


# --------------------------------------------------------------------------- the notebook on real 4Q
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_runs_on_real_4q_alone(out_dir):
    """Notebook 20 on the 120-clip real 4Q subset (smoke-sized): 4Q alone, and it says so."""
    from test_notebooks import NB_DIR, _run

    root = require(FOURQ_DEV)
    _run(NB_DIR / "20_cazzaniga_multisource.ipynb", out_dir / "real20", profile="smoke", data_root=str(root))
    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label
    label = output_label("smoke", root)
    manifest = json.loads((RESULTS_DIR / label / "manifests" / C.config.NOTEBOOK / "manifest.json").read_text())
    assert any("4q-dev" in v for v in manifest["data_sources"].values())
    assert any("4Q alone" in n for n in manifest["notes"])
    t3 = pd.read_csv(RESULTS_DIR / label / "cazzaniga_table3.csv")
    assert {"row", "metric", "paper", "reproduced"} <= set(t3.columns)


def test_train_only_variant_renders_per_fold_and_runs_end_to_end(tmp_path):
    rng = np.random.default_rng(2)
    df = _split_table(5)                                            # 60 songs, 3 sources
    X = rng.uniform(-70, 0, (len(df), 40, 16)).astype(np.float32)
    y = df["quadrant"].map({q: i for i, q in enumerate(C.config.CLASSES)}).to_numpy()
    X[:, :4, :] += (y[:, None, None] * 5.0)                         # something learnable
    ctx = _ctx(tmp_path)
    paper = C.Config.for_profile("smoke")
    ours = C.Config.for_profile("smoke", db_reference="train_only")
    splits, _ = P.make_splits(ctx, paper, df)
    loudest = int(splits[0].test[0])
    X[loudest] += 40.0                                              # a test song sets its source's max
    a = P._Images(paper, X, df)(splits[0])
    b = P._Images(ours, X, df)(splits[0])
    same_source = (df["source"] == df["source"].iloc[loudest]).to_numpy()
    other = np.flatnonzero(same_source)[np.flatnonzero(same_source) != loudest][0]
    assert b[other].astype(int).sum() > a[other].astype(int).sum()   # not darkened by the test song
    exp = P.run_control(ctx, ours, X, df, splits)
    assert exp == "cazzaniga_control_train_only"
    scores = T.fold_scores(ctx, exp)
    assert len(scores) == 2 and scores["accuracy"].between(0, 1).all()


# --------------------------------------------------------------------------- training through the engine
def _tiny_classifier(input_shape, n_classes, **kw):
    """Stands in for EfficientNet + head (same call signature): a pooled linear softmax."""
    import keras

    inp = keras.Input(shape=tuple(input_shape))
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    return keras.Model(inp, keras.layers.Dense(n_classes, activation="softmax")(x))


@pytest.mark.backend
def test_folds_train_through_one_trainer_from_one_initialisation(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from mer_utils.models import efficientnet
    from mer_utils.training import Trainer, ValidationStop

    monkeypatch.setattr(efficientnet, "build_classifier", _tiny_classifier)
    fits = []
    real_fit = Trainer.fit

    def spy(self, *a, **k):
        fits.append((id(self), k["seed"], k["init_seed"]))
        return real_fit(self, *a, **k)

    monkeypatch.setattr(Trainer, "fit", spy)
    rng = np.random.default_rng(0)
    df = _split_table(5)
    X = rng.uniform(-70, 0, (len(df), 40, 16)).astype(np.float32)
    ctx = _ctx(tmp_path, seed=3)
    cfg = C.Config.for_profile("smoke", epochs=2)
    w = P.Weights("random", None, "test", 1e-3)
    rec = P.recipe(cfg, w)
    assert (rec.epochs, rec.batch_size, rec.learning_rate, rec.execution) == (2, 16, 1e-3, "eager")
    assert rec.stop == ValidationStop(patience=cfg.patience)
    splits, _ = P.make_splits(ctx, cfg, df)
    exp = P.run_experiment(ctx, cfg, X, df, splits, w)
    # one trainer for both folds; every fold starts from the weights drawn under ctx.seed,
    # its batches and dropout seeded ctx.seed * 100 + fold (as before the engine)
    assert len({t for t, _, _ in fits}) == 1
    assert [(s, i) for _, s, i in fits] == [(300, 3), (301, 3)]
    folds = load_predictions(tmp_path, exp)
    assert len(folds) == 2
    for fp in folds:
        h = fp.info["history"]
        assert len(h["epoch_seconds"]) == len(h["epoch"]) and h["best_epoch"] >= 1
        assert fp.info["seconds"] + 0.01 >= h["seconds"] > 0 and fp.info["parameters"] > 0   # (rounded to 3 and 2 places)
    scores = T.fold_scores(ctx, exp)
    assert list(scores["fold"]) == [0, 1] and (scores["seconds"] > 0).all()
    fits.clear()
    P.run_experiment(ctx, cfg, X, df, splits, w)                     # resumable: nothing trained
    assert fits == []


@pytest.mark.backend
def test_head_ablation_is_the_other_reading_on_the_same_folds(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from mer_utils.models import efficientnet

    built = []

    def spy(input_shape, n_classes, **kw):
        built.append(kw["pooling"])
        return _tiny_classifier(input_shape, n_classes)

    monkeypatch.setattr(efficientnet, "build_classifier", spy)
    rng = np.random.default_rng(0)
    df = _split_table(5)
    X = rng.uniform(-70, 0, (len(df), 40, 16)).astype(np.float32)
    ctx = _ctx(tmp_path)
    cfg = C.Config.for_profile("smoke", epochs=1)
    w = P.Weights("random", None, "test", 1e-3)
    splits, _ = P.make_splits(ctx, cfg, df)
    exp = P.run_experiment(ctx, cfg, X, df, splits, w)
    abl = P.run_head_ablation(ctx, cfg, X, df, splits, w)
    assert built == [None, "avg"] and abl == "cazzaniga_head_avgpool_source_all" != exp
    a, b = load_predictions(tmp_path, exp), load_predictions(tmp_path, abl)
    assert [list(f.ids) for f in a] == [list(f.ids) for f in b]               # same folds, same test part
    rd = T.head_readings(ctx, cfg, exp, abl)
    assert list(rd["reading"].unique()) == ["Flatten of the un-pooled map", "global avg pooling, then Flatten"]
    assert list(rd["metric"]) == ["Accuracy", "F1-Score"] * 2 and rd[["Fold 1", "Fold 2", "All Folds"]].notna().all().all()
    assert rd.loc[0, "All Folds"] == pytest.approx(T.fold_scores(ctx, exp)["accuracy"].mean())
    assert len(T.learning(ctx, cfg, exp, abl)) == 2
    # a profile that leaves it to full: not trained, said with the reason, listed in the learning table
    skip = C.Config.for_profile("smoke", epochs=1, full_only=(("head_ablation", "measured: too slow"),))
    assert P.run_head_ablation(ctx, skip, X, df, splits, w) is None
    assert any("full profile only: measured: too slow" in n for n in ctx.manifest.notes)
    row = T.learning(ctx, skip, exp, None).iloc[-1]
    assert row["units"] == 0 and row["verdict"] == "full profile only: measured: too slow"
    assert len(T.head_readings(ctx, skip, exp, None)) == 2
    with pytest.raises(ValueError, match="full_only"):
        C.Config.for_profile("smoke", full_only=(("bogus", "x"),))


def test_ensemble_and_models_table_use_evaluation_metrics(tmp_path):
    from mer_utils.evaluation import label_scores
    from mer_utils.experiment import UnitResult, run_protocol

    df = _split_table(10)
    ctx = _ctx(tmp_path)
    splits, _ = P.make_splits(ctx, C.Config.for_profile("demo", folds=5), df)
    y = df["quadrant"].map({q: i for i, q in enumerate(C.config.CLASSES)}).to_numpy()
    ids = df["track_id"].to_numpy()
    rng = np.random.default_rng(0)

    def noisy(split):
        te = split.test
        P_ = rng.dirichlet(np.ones(4), len(te)) + 0.6 * np.eye(4)[y[te]] * (split.unit.fold % 2)
        return UnitResult(ids=ids[te], y_true=y[te], y_score=P_ / P_.sum(1, keepdims=True),
                          labels=list(C.config.CLASSES))

    run_protocol(tmp_path, "net", splits, config={}, fit_predict=noisy, progress=False)
    run_protocol(tmp_path, "ctl", splits, config={"c": 1}, fit_predict=noisy, progress=False)
    folds = load_predictions(tmp_path, "net")
    mean = np.mean([fp.y_score for fp in folds], axis=0)
    ens = T._ensemble(ctx, "net")
    expected = label_scores(folds[0].y_true, mean.argmax(1), list(C.config.CLASSES))
    assert (ens["accuracy"], ens["f1"]) == (expected["accuracy"], expected["f1"])
    tab = T.models_table(ctx, {"net": "net", "control": "ctl"}).set_index("model")
    sc = T.fold_scores(ctx, "net")
    assert tab.loc["net", "f1"] == pytest.approx(sc["f1"].mean()) and tab.loc["net", "folds"] == 5
    assert tab.loc["net", "seconds per fold"] == pytest.approx(sc["seconds"].mean())   # run_protocol's timing


def test_board_entry_trains_through_the_engine(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from mer_utils import leaderboard as lb
    from mer_utils.models import efficientnet
    from mer_utils.papers.cazzaniga import board as B

    monkeypatch.setattr(efficientnet, "build_classifier", _tiny_classifier)
    (entry,) = C.quadrant_entries("smoke")
    assert entry.paper == "cazzaniga" and entry.units == 1 and entry.validation == 0.15
    cfg = C.Config.for_profile("smoke", **{k: v for k, v in C.BOARD["smoke"].items() if k != "units"})
    ctx = _ctx(tmp_path)
    images = np.random.default_rng(0).integers(0, 255, (24, 32, 32, 3)).astype(np.uint8)
    m = B._BoardEffNet(ctx, cfg, images)
    y = np.arange(24) % 4
    m.fit(np.arange(16), y[:16], np.arange(16, 20), y[16:20])
    assert m.n_params == m.trainer.n_params > 0 and m.trainer.fits == 1
    assert "best_epoch" in m.history
    P_ = m.predict(np.arange(20, 24))
    assert P_.shape == (4, len(lb.LABELS)) and np.allclose(P_.sum(1), 1, atol=1e-5)


def test_run_context_writes_a_caption_above_the_markdown_table(tmp_path):
    from mer_utils.context import RunContext

    ctx = RunContext(notebook="t", p=SimpleNamespace(name="smoke"), seed=0, data_root=None,
                     results_dir=tmp_path, figures_dir=tmp_path,
                     manifest=Manifest(notebook="t", profile={}, seed=0, data_root=None))
    path = ctx.save_table(pd.DataFrame({"a": [1.0]}), "t", caption="Table 3: what it shows.")
    md = path.with_suffix(".md").read_text()
    assert md.startswith("Table 3: what it shows.\n\n|")
    assert "Table 3" not in path.read_text()                       # the CSV holds the data only
    plain = ctx.save_table(pd.DataFrame({"a": [1.0]}), "u")
    assert plain.with_suffix(".md").read_text().startswith("|")
