"""Javadi et al.'s paper module: configuration per profile, paper values, the plan of runs,
the pandas-3-safe capping of real MTG-Jamendo, fidelity, and the notebooks' budgets.

The 477-D recipe (names, count, a click track by hand, the cited script) is tested in
``test_features.py``; the 1,407-example sequence in ``test_embeddings.py``. Real-data tests
read ``$MER_SHARED_DATA`` (default: ``../shared/data`` beside the repository) and skip when
it is absent.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA, require
from mer_utils.experiment import FIDELITY_STATUSES
from mer_utils.papers import javadi
from mer_utils.results import paper_values

SHARED = Path(os.environ.get("MER_SHARED_DATA", SHARED_DATA))
NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"


# --------------------------------------------------------------------------- configuration
def test_full_profile_is_the_paper():
    cfg = javadi.Config.for_profile("full")
    assert cfg.epochs == 100 and cfg.batch_size == 16 and cfg.learning_rate == 1e-3
    assert cfg.clip_seconds == 29.1 and cfg.sequence_hop_seconds == 0.02
    assert cfg.label_sets == ("59", "10", "8", "5") and cfg.cluster_ks == (5, 8, 10)
    assert cfg.deep_label_sets == cfg.ablation_label_sets == ("59", "10", "8", "5")
    assert cfg.rakel_bases == ("rf", "knn") and cfg.lp_base == "rf"
    assert cfg.cnn_filters[-1] == 128 and cfg.cnn_strides == 2
    assert cfg.max_frames is None and cfg.handcrafted == "javadi477" and cfg.embedding == "vggish"
    assert cfg.deep_inputs == ("VGGish", "mel")
    # every setting names what the paper says (or that it says nothing)
    table = cfg.table()
    assert (table["paper"].str.len() > 0).all()
    assert set(table["setting"]) >= {"epochs", "batch_size", "learning_rate", "rakel_bases", "cnn_strides"}


def test_smoke_and_demo_scale_the_paper_down():
    smoke, demo = javadi.Config.for_profile("smoke"), javadi.Config.for_profile("demo")
    assert smoke.epochs == 1 and demo.epochs == 8
    assert smoke.max_frames == 128 and demo.max_frames == 256
    assert smoke.deep_label_sets == ("59",) and demo.deep_label_sets == ("59", "5")
    assert smoke.deep_inputs == ("VGGish",) and demo.deep_inputs == ("VGGish", "mel")
    assert demo.batch_size == 16 and smoke.batch_size == 8
    # what the profiles do not scale stays the paper's
    for cfg in (smoke, demo):
        assert cfg.clip_seconds == 29.1 and cfg.label_sets == ("59", "10", "8", "5")
        assert cfg.rakel_bases == ("rf", "knn") and cfg.learning_rate == 1e-3


def test_overrides_none_means_profile_and_unknown_fails():
    cfg = javadi.Config.for_profile("demo", epochs=None, max_frames=None, deep_label_sets=["59", "10"])
    assert cfg.epochs == 8 and cfg.deep_label_sets == ("59", "10")
    assert cfg.overrides == ("deep_label_sets",)
    with pytest.raises(TypeError, match="no setting"):
        javadi.Config.for_profile("demo", epoch=3)
    with pytest.raises(ValueError, match="unknown profile"):
        javadi.Config.for_profile("paper")


# --------------------------------------------------------------------------- paper values
def test_all_124_cells_of_tables_1_and_2_are_transcribed_as_fractions():
    pv = paper_values("javadi")
    t = pv[pv["table"].isin(["1", "2"])]
    assert t["value"].notna().all() and t["value"].between(0, 1).all()
    # one row per (table, row, metric), and 124 distinct paper cells behind them
    assert not t.duplicated(["table", "row", "metric"]).any()
    cells = {(r.table, r.note.split(":")[0], r.metric) for r in t.itertuples()}
    assert len(cells) == 124
    v = t.set_index(["table", "row", "metric"])["value"]
    # spot checks against the paper's printed percentages
    assert v["1", "477 / ML-kNN", "f1_micro"] == pytest.approx(0.063)
    assert v["1", "VGGish / CNN", "f1_macro"] == pytest.approx(0.291)
    assert v["1", "VGGish / RAkEL-d (RF)", "roc_auc_macro"] == pytest.approx(0.689)
    assert v["1", "477+VGGish / ML-kNN", "pr_auc_macro"] == pytest.approx(0.041)
    assert v["2", "VGGish / Transformer / 8", "roc_auc_macro"] == pytest.approx(0.728)
    assert v["2", "VGGish / CNN / 5", "pr_auc_macro"] == pytest.approx(0.442)
    assert v["2", "VGGish / Label Powerset / 10", "f1_macro"] == pytest.approx(0.572)
    assert v["2", "VGGish / ML-kNN / 10", "f1_micro"] == pytest.approx(0.183)
    # Table 2's 59-tag rows repeat Table 1's VGGish rows, as in the paper
    for clf in ("Transformer", "CNN", "Label Powerset", "RAkEL-d (RF)", "ML-kNN"):
        for m in javadi.METRICS:
            assert v["2", f"VGGish / {clf} / 59", m] == v["1", f"VGGish / {clf}", m]
    notes = " ".join(t.loc[t["metric"] == "pr_auc_macro", "note"])
    assert "macro average precision" in notes and "fraction" in notes


@pytest.mark.parametrize("profile", ["smoke", "demo", "full"])
def test_every_compared_cell_has_a_paper_value(profile):
    """Every (table, row, metric) the notebook compares has the paper's value: a missing
    one fails here instead of showing NaN."""
    pv = paper_values("javadi").set_index(["table", "row", "metric"])["value"]
    runs = javadi.plan(javadi.Config.for_profile(profile))
    wanted = [("1", r.row1, m) for r in runs if r.label_set == "59" for m in javadi.METRICS]
    wanted += [("2", r.row2, m) for r in runs if r.features in ("VGGish", "mel") for m in javadi.METRICS]
    missing = [w for w in wanted if w not in pv.index or pd.isna(pv[w])]
    assert not missing, missing[:5]


def test_plan_covers_both_tables_without_duplicates():
    runs = javadi.plan(javadi.Config.for_profile("full"))
    names = [r.experiment for r in runs]
    assert len(names) == len(set(names))
    t1 = {r.row1 for r in runs if r.label_set == "59"}
    assert len(t1) == 3 * 4 + 4 == 16          # 3 feature sets x 4 classifiers + 2 inputs x 2 networks
    t2 = {r.row2 for r in runs if r.features in ("VGGish", "mel")}
    assert len(t2) == 6 * 4 + 2 * 4             # VGGish: 6 classifiers x 4 label sets; mel: 2 x 4
    assert {"VGGish / CNN", "VGGish / Transformer", "mel / CNN", "477 / RAkEL-d (kNN)"} <= t1
    assert javadi.Run("477+VGGish", "lp", "59", "vector").experiment == "javadi_477-vggish_lp_59"


# --------------------------------------------------------------------------- data
def _jamendo_like(n_per_split=(30, 12, 14), seed=0):
    """A frame laid out like the real MTG-Jamendo loader's output (mood/theme, split-0)."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, n in zip(("train", "validation", "test"), n_per_split):
        for i in range(n):
            tid = f"track_{len(rows):07d}"
            rows.append({"track_id": tid, "artist": f"artist_{rng.integers(0, 9):06d}",
                         "album": f"album_{i}", "rel_path": f"{i % 100:02d}/{i}.mp3", "duration": 200.0,
                         "tags": ["happy", "film"][: 1 + i % 2], "split": split,
                         "path": f"/x/{tid}.mp3", "audio_exists": True, "dataset": "mtg-jamendo",
                         "source": "mtg-jamendo"})
    rows.append(dict(rows[-1], track_id="track_orphan", split=None))
    return pd.DataFrame(rows)


def test_cap_per_split_keeps_the_split_column():
    """pandas 3: ``groupby("split").apply(sample)`` drops the ``split`` column; the cap keeps it."""
    df = _jamendo_like()
    df = df[df["split"].notna()]
    capped = javadi.cap_per_split(df, 10, seed=1)
    assert list(capped.columns) == list(df.columns)
    assert capped["split"].value_counts().to_dict() == {"train": 10, "validation": 10, "test": 10}
    assert capped.equals(javadi.cap_per_split(df, 10, seed=1))                  # seeded
    assert not capped.equals(javadi.cap_per_split(df, 10, seed=2))
    assert len(javadi.cap_per_split(df, 100)) == len(df)                         # parts smaller than the cap
    assert javadi.cap_per_split(df, None).equals(df.reset_index(drop=True))


@pytest.mark.realdata
def test_cap_per_split_on_real_mtg_jamendo_metadata():
    from mer_utils.datasets import load

    root = require(SHARED / "mtg-jamendo")
    meta = load("mtg-jamendo", root)
    df = meta[meta["split"].notna()]
    capped = javadi.cap_per_split(df, 25, seed=0)
    assert "split" in capped.columns and set(capped.columns) == set(df.columns)
    assert capped["split"].value_counts().to_dict() == {"train": 25, "validation": 25, "test": 25}
    assert capped["track_id"].is_unique
    # the rows are the real ones, with their own split
    real = df.set_index("track_id")["split"]
    assert (capped.set_index("track_id")["split"] == real[capped["track_id"]].to_numpy()).all()


def test_fidelity_table_lists_the_seven_points():
    tab = javadi.fidelity()
    assert list(tab.columns) == ["point", "paper", "ours", "status", "reason"]
    assert set(tab["status"]) <= set(FIDELITY_STATUSES)
    for k in range(1, 8):
        assert tab["point"].str.contains(f"({k})", regex=False).any(), k
    assert (tab.loc[tab["status"] != "same", "reason"].str.len() > 0).all()


# --------------------------------------------------------------------------- notebooks
def _notebook_code(name):
    nb = json.loads((NB_DIR / name).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


# every notebook from 02 on (00 and 01 are tours of the data and features, with display loops)
NARRATE_AND_CALL = sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb") if p.name >= "02")


def test_the_narrate_and_call_check_covers_the_paper_notebooks():
    for stem in ("10_", "20_", "30_", "40_", "50_", "80_", "90_"):
        assert any(n.startswith(stem) for n in NARRATE_AND_CALL), stem


@pytest.mark.parametrize("name", NARRATE_AND_CALL)
def test_notebooks_narrate_and_call(name):
    """No function, class, loop or settings dict in a cell: the paper module holds them."""
    for src in _notebook_code(name):
        lines = [l.split("#")[0] for l in src.splitlines()]
        for l in lines:
            s = l.strip()
            assert not s.startswith(("def ", "class ", "for ", "while ")), (name, l)
            assert " for " not in s and "lambda" not in s, (name, l)        # no comprehension either
        assert "= {" not in src and "dict(" not in src, (name, src[:200])


def _run_timed(tmp_path, name, **params):
    from test_notebooks import _run

    t0 = time.perf_counter()
    out = _run(NB_DIR / name, tmp_path, **params)
    return time.perf_counter() - t0, out


@pytest.mark.notebook
@pytest.mark.skipif(os.environ.get("MER_BUDGET_TESTS") != "1",
                    reason="budget test: needs 2 idle cores and warm feature caches (set MER_BUDGET_TESTS=1)")
@pytest.mark.parametrize("profile,budget", [("smoke", 60), ("demo", 180)])
def test_notebook_10_stays_in_budget(tmp_path, monkeypatch, profile, budget):
    """Notebook 10 (trained from scratch: a fresh results folder) within its budget."""
    monkeypatch.setenv("MER_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MER_FIGURES", str(tmp_path / "figures"))
    seconds, _ = _run_timed(tmp_path, "10_javadi_multilabel.ipynb", profile=profile, data_root="")
    assert seconds <= budget, f"{profile}: {seconds:.0f} s > {budget} s"


@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_10_on_real_metadata_records_the_substitution_and_scores_mediaeval(tmp_path):
    """With the real MTG-Jamendo folder (metadata, no audio): the models train on the demo
    corpus and the manifest says so; the published MediaEval baselines are scored with our
    code and reproduce their published figures."""
    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label

    root = require(SHARED)
    require(root / "mtg-jamendo")
    _run_timed(tmp_path, "02_label_clustering.ipynb", profile="smoke", data_root=str(root))
    _run_timed(tmp_path, "10_javadi_multilabel.ipynb", profile="smoke", data_root=str(root))
    res = RESULTS_DIR / output_label("smoke", root)
    man = json.loads((res / "manifests" / "10_javadi_multilabel" / "manifest.json").read_text())
    subs = {s["what"]: s for s in man["substitutions"]}
    assert "no audio" in subs["MTG-Jamendo audio (models)"]["reason"]
    assert "musicnn_msd" in subs["VGGish embedding sequence (1407 x 128)"]["used"]
    me = pd.read_csv(res / "javadi_mediaeval56.csv").set_index("row")
    assert me.loc["MediaEval baseline (VGGish)", "roc_auc_macro"] == pytest.approx(0.725821, abs=5e-7)
    assert me.loc["MediaEval baseline (VGGish)", "pr_auc_macro"] == pytest.approx(0.107734, abs=5e-7)
    t1 = pd.read_csv(res / "javadi_table1_vs_paper.csv")
    assert t1["paper"].notna().all() and np.isfinite(t1["reproduced"]).all()
    # Fig. 4 on the real metadata: the 59 tags
    dist = pd.read_csv(res / "javadi_tag_distribution_mtg-jamendo.csv")
    assert len(dist) == 59


def test_table2_bars_list_label_sets_as_the_paper_does():
    """(7) The figure orders the label sets 59, 10, 8, 5 whatever order the rows come in."""
    from mer_utils.plots import multilabel as PM

    df = pd.DataFrame({"labels": ["59 labels", "5 labels", "10 labels", "8 labels", "59 labels", "5 labels"],
                       "model": ["CNN", "CNN", "LP", "LP", "LP", "LP"], "f1_macro": [0.1, 0.5, 0.3, 0.4, 0.1, 0.5]})
    fig = PM.plot_score_bars(df, x="labels", hue="model", metric="f1_macro",
                             order=[f"{s} labels" for s in javadi.LABEL_SET_ORDER])
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["59 labels", "10 labels", "8 labels", "5 labels"]
    unordered = PM.plot_score_bars(df, x="labels", hue="model", metric="f1_macro")
    assert [t.get_text() for t in unordered.axes[0].get_xticklabels()][:2] == ["59 labels", "5 labels"]
