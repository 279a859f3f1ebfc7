"""Javadi et al.'s paper sub-package (mer_utils/papers/javadi/): configuration per profile, paper
values, the plan of runs, the pandas-3-safe capping of real MTG-Jamendo, fidelity, the
notebooks' budgets, the networks through the engine, the feature-vector classifiers
(classifiers.py) and the GloVe + KMeans tag clustering (tag_clustering.py).

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
from mer_utils.labels import MOODTHEME_TAGS
from mer_utils.papers.javadi import classifiers as CL
from mer_utils.papers.javadi import tag_clustering as tc
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
    assert smoke.epochs == 1 and demo.epochs == 30
    assert smoke.max_frames == 128 and demo.max_frames is None and demo.frame_pool == 8
    assert smoke.deep_label_sets == ("59",) and demo.deep_label_sets == ("59", "5")
    # the demo's rows that do not reach the bar are listed with a reason, not trained
    demo_nets = {r.row2 for r in javadi.config.plan(demo) if r.kind == "network"}
    assert demo_nets == {"VGGish / CNN / 59", "VGGish / Transformer / 59", "mel / CNN / 59"}
    assert set(javadi.config.full_only_rows(demo)) == {"VGGish / CNN / 5", "VGGish / Transformer / 5",
                                                       "mel / Transformer / 59"}
    assert all("full" in why for why in javadi.config.full_only_rows(demo).values())
    assert javadi.config.full_only_rows(javadi.Config.for_profile("full")) == {}
    assert smoke.deep_inputs == ("VGGish",) and demo.deep_inputs == ("VGGish", "mel")
    assert demo.batch_size == 16 and smoke.batch_size == 8
    # what the profiles do not scale stays the paper's
    for cfg in (smoke, demo):
        assert cfg.clip_seconds == 29.1 and cfg.label_sets == ("59", "10", "8", "5")
        assert cfg.rakel_bases == ("rf", "knn") and cfg.learning_rate == 1e-3


def test_overrides_none_means_profile_and_unknown_fails():
    cfg = javadi.Config.for_profile("demo", epochs=None, max_frames=None, deep_label_sets=["59", "10"])
    assert cfg.epochs == 30 and cfg.deep_label_sets == ("59", "10")
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
        for m in javadi.config.METRICS:
            assert v["2", f"VGGish / {clf} / 59", m] == v["1", f"VGGish / {clf}", m]
    notes = " ".join(t.loc[t["metric"] == "pr_auc_macro", "note"])
    assert "macro average precision" in notes and "fraction" in notes


@pytest.mark.parametrize("profile", ["smoke", "demo", "full"])
def test_every_compared_cell_has_a_paper_value(profile):
    """Every (table, row, metric) the notebook compares has the paper's value: a missing
    one fails here instead of showing NaN."""
    pv = paper_values("javadi").set_index(["table", "row", "metric"])["value"]
    runs = javadi.config.plan(javadi.Config.for_profile(profile))
    wanted = [("1", r.row1, m) for r in runs if r.label_set == "59" for m in javadi.config.METRICS]
    wanted += [("2", r.row2, m) for r in runs if r.features in ("VGGish", "mel") for m in javadi.config.METRICS]
    missing = [w for w in wanted if w not in pv.index or pd.isna(pv[w])]
    assert not missing, missing[:5]


def test_networks_train_through_the_engine_with_the_papers_recipe():
    """Sec. 3.3: "100 epochs using learning rate = 0.001 and adam optimizer"; sigmoid outputs
    trained with binary cross-entropy and no metric; early stopping on the validation loss."""
    pytest.importorskip("keras")
    from mer_utils.training import Recipe, ValidationStop

    r = javadi.pipeline.recipe(javadi.Config.for_profile("full"))
    assert isinstance(r, Recipe)
    assert (r.epochs, r.batch_size, r.optimizer, r.learning_rate) == (100, 16, "adam", 1e-3)
    assert r.loss == "binary_crossentropy" and r.metrics == ()
    assert r.stop == ValidationStop(patience=10)
    cfg = javadi.Config.for_profile("smoke")
    for arch in ("cnn", "transformer"):
        m = javadi.pipeline._builder(cfg, arch, (128, 128), 5)()
        assert m.output_shape == (None, 5) and getattr(m, "optimizer", None) is None   # built, not compiled


def test_plan_covers_both_tables_without_duplicates():
    runs = javadi.config.plan(javadi.Config.for_profile("full"))
    names = [r.experiment for r in runs]
    assert len(names) == len(set(names))
    t1 = {r.row1 for r in runs if r.label_set == "59"}
    assert len(t1) == 3 * 4 + 4 == 16          # 3 feature sets x 4 classifiers + 2 inputs x 2 networks
    t2 = {r.row2 for r in runs if r.features in ("VGGish", "mel")}
    assert len(t2) == 6 * 4 + 2 * 4             # VGGish: 6 classifiers x 4 label sets; mel: 2 x 4
    assert {"VGGish / CNN", "VGGish / Transformer", "mel / CNN", "477 / RAkEL-d (kNN)"} <= t1
    assert javadi.config.Run("477+VGGish", "lp", "59", "vector").experiment == "javadi_477-vggish_lp_59"


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
    capped = javadi.pipeline.cap_per_split(df, 10, seed=1)
    assert list(capped.columns) == list(df.columns)
    assert capped["split"].value_counts().to_dict() == {"train": 10, "validation": 10, "test": 10}
    assert capped.equals(javadi.pipeline.cap_per_split(df, 10, seed=1))                  # seeded
    assert not capped.equals(javadi.pipeline.cap_per_split(df, 10, seed=2))
    assert len(javadi.pipeline.cap_per_split(df, 100)) == len(df)                         # parts smaller than the cap
    assert javadi.pipeline.cap_per_split(df, None).equals(df.reset_index(drop=True))


@pytest.mark.realdata
def test_cap_per_split_on_real_mtg_jamendo_metadata():
    from mer_utils.datasets import load

    root = require(SHARED / "mtg-jamendo")
    meta = load("mtg-jamendo", root)
    df = meta[meta["split"].notna()]
    capped = javadi.pipeline.cap_per_split(df, 25, seed=0)
    assert "split" in capped.columns and set(capped.columns) == set(df.columns)
    assert capped["split"].value_counts().to_dict() == {"train": 25, "validation": 25, "test": 25}
    assert capped["track_id"].is_unique
    # the rows are the real ones, with their own split
    real = df.set_index("track_id")["split"]
    assert (capped.set_index("track_id")["split"] == real[capped["track_id"]].to_numpy()).all()


def test_fidelity_table_lists_the_seven_points():
    tab = javadi.fidelity.fidelity()
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
    from mer_utils.context import output_label

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
                             order=[f"{s} labels" for s in javadi.config.LABEL_SET_ORDER])
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["59 labels", "10 labels", "8 labels", "5 labels"]
    unordered = PM.plot_score_bars(df, x="labels", hue="model", metric="f1_macro")
    assert [t.get_text() for t in unordered.axes[0].get_xticklabels()][:2] == ["59 labels", "5 labels"]


# =========================================================================== the feature-vector classifiers (classifiers.py)


def _problem(seed=0, n=90, d=12, L=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :L] + 0.4 * rng.normal(size=(n, L)) > 0.6).astype(np.int8)
    Y[:, -1] = 0                     # a label never seen in training
    return X, Y


@pytest.mark.parametrize("name", CL.CLASSIFIER_NAMES)
def test_classifier_fits_predicts_and_learns(name):
    X, Y = _problem()
    m = CL.FeatureMultiLabelModel(name, seed=0).fit(X[:60], Y[:60])
    P = m.predict_proba(X[60:])
    assert P.shape == (30, 5) and P.dtype == np.float32
    assert np.isfinite(P).all() and P.min() >= 0 and P.max() <= 1
    from mer_utils.evaluation.multilabel import macro_roc_auc

    auc, skipped = macro_roc_auc(Y[60:], P, return_skipped=True)
    assert skipped == 1 and auc > 0.7, (name, auc)
    assert m.predict(X[60:]).shape == (30, 5)
    P2 = CL.FeatureMultiLabelModel(name, seed=0).fit(X[:60], Y[:60]).predict_proba(X[60:])
    assert np.array_equal(P, P2)


def test_lp_fast_scores_equal_skmultilearn():
    X, Y = _problem(1)
    m = CL.FeatureMultiLabelModel("lp").fit(X[:60], Y[:60])
    ref = m.clf_.predict_proba(m.scaler_.transform(X[60:])).toarray()
    assert np.abs(m.predict_proba(X[60:]) - ref).max() < 1e-6


@pytest.mark.parametrize("base", ["rf", "knn"])
def test_rakeld_takes_the_papers_bases(base):
    """RAkEL-d with the paper's bases ("training separate RF or kNN classifiers")."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = _problem(4)
    m = CL.FeatureMultiLabelModel("rakeld", base=base, base_params={"n_estimators": 20, "n_neighbors": 3},
                                  labelset_size=2).fit(X[:60], Y[:60])
    bases = [sub.classifier.estimator_ for sub in m.clf_.classifier_.classifiers_
             if sub.classifier.estimator_ is not None]
    kind = RandomForestClassifier if base == "rf" else KNeighborsClassifier
    assert bases and all(isinstance(b, kind) for b in bases)
    if base == "rf":
        assert all(b.n_estimators == 20 for b in bases)
    else:
        assert all(b.n_neighbors == 3 for b in bases)
    assert m.predict_proba(X[60:]).shape == (30, 5)
    assert CL.make_base("rf").estimator.n_estimators == 100            # scikit-learn's default
    with pytest.raises(ValueError, match="unknown base"):
        CL.make_base("svm")


def test_fit_leaves_the_global_generators_as_they_were():
    import random

    X, Y = _problem(5)
    random.seed(123)
    np.random.seed(123)
    a, b = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(123)
    CL.FeatureMultiLabelModel("rakeld", seed=7).fit(X, Y)
    assert (random.random(), np.random.random()) == (a, b)


def test_scaler_is_fitted_on_training_data_only():
    X, Y = _problem(2)
    X_test = X[60:] + 100.0
    m = CL.FeatureMultiLabelModel("mlknn").fit(X[:60], Y[:60])
    assert np.allclose(m.scaler_.mean_, X[:60].mean(axis=0))
    m.predict_proba(X_test)
    assert np.allclose(m.scaler_.mean_, X[:60].mean(axis=0))


def test_one_class_subproblem_does_not_crash():
    X, _ = _problem(3, n=20)
    Y = np.zeros((20, 4), np.int8)
    Y[:, 0] = 1                                       # every LP sub-problem sees one combination
    for name in ("lp", "rakeld"):
        P = CL.FeatureMultiLabelModel(name).fit(X, Y).predict_proba(X)
        assert P.shape == (20, 4)
        assert np.allclose(P[:, 0], 1) and np.allclose(P[:, 1:], 0)


def test_unknown_classifier_and_bad_features():
    with pytest.raises(ValueError, match="unknown multi-label classifier"):
        CL.make_classifier("svm")
    X, Y = _problem()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CL.FeatureMultiLabelModel("lp").fit(X, Y)


# =========================================================================== tag clustering (tag_clustering.py)
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


def test_adjusted_rand_index_is_scikit_learns():
    """cluster_stability's agreement between clusterings (kept out of sklearn.metrics imports)."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 60))
        a, b = rng.integers(0, int(rng.integers(1, 6)), n), rng.integers(0, int(rng.integers(1, 6)), n)
        assert tc.adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert tc.adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0


def test_pool_frames_averages_groups_and_drops_the_tail():
    X = np.arange(2 * 7 * 3, dtype=np.float32).reshape(2, 7, 3)
    P = javadi.pipeline.pool_frames(X, 3)
    assert P.shape == (2, 2, 3)
    np.testing.assert_allclose(P[1, 1], X[1, 3:6].mean(axis=0))
    assert javadi.pipeline.pool_frames(X, 1) is X
    with pytest.raises(ValueError, match="frame_pool"):
        javadi.pipeline.pool_frames(X, 0)
    with pytest.raises(ValueError, match="longer than"):
        javadi.pipeline.pool_frames(X, 8)
