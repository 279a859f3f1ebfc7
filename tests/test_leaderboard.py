"""The leaderboard (notebook 80): Friedman + Nemenyi (scipy, scikit-posthocs) against Demšar
(2006), and the contract of an entry: stored units are reused, and an entry sees only its training
rows and their labels."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mer_utils import leaderboard as lb
from mer_utils.evaluation import load_or_make_splits, repeated_kfold
from mer_utils.evaluation.stats import friedman_from_ranks, friedman_nemenyi, nemenyi_cd, nemenyi_q


# --------------------------------------------------------------------------- statistics
# Demšar (2006), Table 6: AUC of four C4.5 variants (C4.5, C4.5+m, C4.5+cf, C4.5+m+cf) on
# 14 UCI data sets; Sec. 3.2.2 works the Friedman and Nemenyi tests on it.
DEMSAR_AUC = np.array([
    [0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
    [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
    [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
    [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
    [0.972, 0.981, 0.975, 0.975], [0.957, 0.978, 0.946, 0.970]])
DEMSAR_METHODS = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]


def test_friedman_on_demsar_worked_example():
    # Demšar (2006), Sec. 3.2.2: average ranks 3.143, 2.000, 2.893, 1.964 -> chi2_F = 9.28,
    # F_F = 3.69; Nemenyi CD (alpha 0.05) = 1.25, (alpha 0.10) = 1.12
    r = friedman_from_ranks([3.143, 2.000, 2.893, 1.964], 14)
    assert r["chi2"] == pytest.approx(9.28, abs=0.01)
    assert r["F"] == pytest.approx(3.69, abs=0.01)
    assert r["p_chi2"] < 0.05 and r["p_F"] < 0.05   # critical values 7.81 (chi2, 3 dof), 2.85 (F(3, 39))
    assert nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)
    assert nemenyi_cd(4, 14, alpha=0.10) == pytest.approx(1.12, abs=0.005)
    # the same example from Table 6's AUCs through the libraries (scipy's Friedman test,
    # scikit-posthocs's Nemenyi test). Table 6 prints C4.5+cf / C4.5+m+cf ranks summing to
    # 2.893 / 1.964; the AUCs as printed give 2.929 / 1.929 (one rank pair differs by 0.5),
    # and scipy corrects chi2 for the tied AUCs (1.000 on one set, pairs elsewhere).
    res = friedman_nemenyi(pd.DataFrame(DEMSAR_AUC, columns=DEMSAR_METHODS))
    assert res["N"] == 14 and res["k"] == 4
    assert list(res["avg_ranks"].values()) == pytest.approx([3.143, 2.000, 2.893, 1.964], abs=0.04)
    assert res["cd"] == pytest.approx(1.25, abs=0.005)
    assert res["p_chi2"] < 0.05 and res["p_F"] < 0.05                   # Demšar: the null is rejected
    # Nemenyi at 0.05: "the post-hoc test is not powerful enough to detect any significant
    # differences" (Sec. 3.2.2); at 0.10 (CD 1.12) C4.5+m+cf is better than C4.5
    P = res["nemenyi"]
    assert list(P.index) == DEMSAR_METHODS and (P.to_numpy()[~np.eye(4, dtype=bool)] > 0.05).all()
    assert P.loc["C4.5", "C4.5+m+cf"] < 0.10
    # the library's p-values agree with the CD rule: p < alpha exactly when |R_i - R_j| >= CD
    R = res["avg_ranks"]
    for alpha in (0.05, 0.10):
        cd = nemenyi_cd(4, 14, alpha)
        for a in DEMSAR_METHODS:
            for b in DEMSAR_METHODS:
                if a != b:
                    assert (P.loc[a, b] < alpha) == (abs(R[a] - R[b]) >= cd)


def test_nemenyi_q_matches_demsar_table_5a():
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]   # k = 2..10, alpha 0.05
    assert [nemenyi_q(k) for k in range(2, 11)] == pytest.approx(table, abs=0.002)
    assert nemenyi_q(4, alpha=0.10) == pytest.approx(2.291, abs=0.002)       # Table 5(a), alpha 0.10


def test_ranks_by_hand_with_a_tie():
    scores = np.array([[0.9, 0.8, 0.7],
                       [0.6, 0.6, 0.5],       # tie for first: both get 1.5
                       [0.4, 0.9, 0.8],
                       [0.7, 0.5, 0.6]])
    res = friedman_nemenyi(pd.DataFrame(scores, columns=["a", "b", "c"]))
    assert res["avg_ranks"] == pytest.approx({"a": 1.625, "b": 1.875, "c": 2.5})
    # Demšar's closed form: chi2 = 12*4/(3*4) * (1.625^2 + 1.875^2 + 2.5^2 - 3*16/4) = 1.625;
    # scipy divides by the tie correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) = 1 - 6/96
    assert friedman_from_ranks([1.625, 1.875, 2.5], 4)["chi2"] == pytest.approx(1.625)
    assert res["chi2"] == pytest.approx(1.625 / (1 - 6 / 96))
    assert res["N"] == 4 and res["k"] == 3
    with pytest.raises(ValueError, match="NaN"):
        friedman_nemenyi([[0.1, np.nan], [0.2, 0.3]])


def test_two_methods_friedman_with_the_same_tie_correction():
    S = np.array([[0.9, 0.8], [0.5, 0.5], [0.3, 0.6], [0.7, 0.6], [0.8, 0.1]])
    res = friedman_nemenyi(S)
    closed = friedman_from_ranks(list(res["avg_ranks"].values()), 5)["chi2"]
    assert res["chi2"] == pytest.approx(closed / (1 - 1 / 5)) and res["k"] == 2   # one tied block of five
    assert res["nemenyi"].shape == (2, 2)


def test_without_ties_the_library_equals_demsars_closed_form():
    S = np.random.default_rng(5).random((12, 5))
    res = friedman_nemenyi(S)
    closed = friedman_from_ranks(list(res["avg_ranks"].values()), 12)
    for k in ("chi2", "p_chi2", "F", "p_F"):
        assert res[k] == pytest.approx(closed[k])


# --------------------------------------------------------------------------- entries
N = 40
rng = np.random.default_rng(0)
Y = np.repeat(np.arange(4), N // 4)
FEATURES = (Y[:, None] + rng.normal(0, 0.7, (N, 3))).astype(np.float32)


def _setup(tmp_path):
    ctx = SimpleNamespace(results_dir=tmp_path / "results", seed=0,
                          manifest=SimpleNamespace(notes=[]), p=SimpleNamespace(n_jobs=1))
    df = pd.DataFrame({"track_id": [f"t{i}" for i in range(N)], "path": [f"/x/{i}.wav" for i in range(N)],
                       "quadrant": [lb.LABELS[v] for v in Y], "valence": rng.normal(size=N),
                       "latent_quadrant": Y, "source": "4q"})
    clips = lb.make_clips(df, "test corpus", real=False)
    splits = load_or_make_splits(ctx.results_dir / "splits", repeated_kfold(4, 2, seed=0), clips.ids,
                                 df["quadrant"], name="t")
    return ctx, clips, splits


class Spy:
    """Records what it is given; predicts from the class means of its training rows."""

    calls: list = []

    def __init__(self, clips):
        self.clips, self.n_params = clips, 12

    def fit(self, train, y_train, validation, y_validation):
        Spy.calls.append(("fit", np.asarray(train), np.asarray(y_train), np.asarray(validation)))
        self.means = np.stack([FEATURES[train][y_train == c].mean(0) for c in range(4)])

    def predict(self, rows):
        Spy.calls.append(("predict", np.asarray(rows)))
        d = ((FEATURES[rows][:, None, :] - self.means[None]) ** 2).sum(-1)
        return np.exp(-d) / np.exp(-d).sum(1, keepdims=True)


def test_clips_carry_no_label():
    df = pd.DataFrame({"track_id": ["a"], "path": ["p"], "quadrant": ["Q1"], "valence_norm": [0.1],
                       "arousal": [0.2], "tags": ["x"], "label3": ["happy"], "latent_quadrant": ["Q1"],
                       "source": ["4q"], "artist": ["z"]})
    assert list(lb.make_clips(df, "c", False).df.columns) == ["track_id", "path", "source", "artist"]


def test_every_entry_sees_only_its_training_rows(tmp_path):
    ctx, clips, splits = _setup(tmp_path)
    made = []
    Spy.calls = []
    entry = lb.Entry("spy", "test", "nearest mean", make=lambda c, cl: made.append(cl) or Spy(cl),
                     validation=0.25)
    lb.run_entries(ctx, [entry], clips, Y, splits)
    assert "quadrant" not in made[0].df.columns and "latent_quadrant" not in made[0].df.columns
    fits = [c for c in Spy.calls if c[0] == "fit"]
    preds = [c for c in Spy.calls if c[0] == "predict"]
    assert len(fits) == len(splits) == len(preds)
    for sp, (_, train, y_train, val), (_, rows) in zip(splits, fits, preds):
        assert np.array_equal(rows, sp.test)                               # predicts exactly the test rows
        assert not set(train) & set(sp.test) and not set(val) & set(sp.test)
        assert set(train) | set(val) == set(sp.train) and not set(train) & set(val)
        assert len(val) == pytest.approx(0.25 * len(sp.train), abs=1)     # carved from the training rows
        assert np.array_equal(y_train, Y[train])                          # only the training rows' labels


def test_second_call_trains_nothing_and_builds_nothing(tmp_path):
    ctx, clips, splits = _setup(tmp_path)
    made = []
    entry = lb.Entry("spy", "test", "nearest mean", make=lambda c, cl: made.append(1) or Spy(cl), units=5)
    first = lb.run_entries(ctx, [entry], clips, Y, splits)
    assert first["trained now"].tolist() == [5] and len(made) == 1
    second = lb.run_entries(ctx, [entry], clips, Y, splits)
    assert second["trained now"].tolist() == [0] and len(made) == 1        # make() not even called
    changed = lb.Entry("spy", "test", "nearest mean", make=lambda c, cl: Spy(cl), units=5, config={"k": 2})
    assert lb.run_entries(ctx, [changed], clips, Y, splits)["trained now"].tolist() == [5]


def test_tables_from_stored_predictions(tmp_path):
    ctx, clips, splits = _setup(tmp_path)
    entries = [lb.Entry("full", "p1", "f", make=lambda c, cl: Spy(cl)),
               lb.Entry("also full", "p2", "f", make=lambda c, cl: Spy(cl), config={"other": 1}),
               lb.Entry("few units", "p3", "f", make=lambda c, cl: Spy(cl), units=2)]
    lb.run_entries(ctx, entries, clips, Y, splits)
    scores = lb.unit_scores(ctx, entries)
    assert len(scores) == 8 + 8 + 2
    info = scores[scores["entry"] == "full"]
    assert (info["train_seconds"] >= 0).all() and (info["parameters"] == 12).all()
    board = lb.leaderboard_table(scores, entries)
    assert set(board["entry"]) == {e.name for e in entries}
    assert board.loc[board["entry"] == "full", "units"].item() == 8
    paired = lb.paired_tests(scores, splits, "full")
    assert paired.set_index("entry").loc["few units", "units"] == 2
    res, members = lb.critical_difference(scores)
    assert set(res["avg_ranks"]) == {"full", "also full"} and res["N"] == 8
    assert not members.set_index("entry").loc["few units", "in CD diagram"]
    stored = lb.stored_entries(ctx, paper="p1", names=["full"], family="f")   # found through meta.json
    assert stored[0].experiment == entries[0].experiment and stored[0].stored
    with pytest.raises(FileNotFoundError, match="absent"):
        lb.stored_entries(ctx, paper="p1", names=["absent"], family="f")


def test_cd_diagram_draws(tmp_path):
    from mer_utils.plots.cd import cd_diagram

    res = friedman_nemenyi(pd.DataFrame(rng.random((10, 4)), columns=list("abcd")))
    fig = cd_diagram(res, title="t")
    fig.savefig(tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 1000


@pytest.mark.backend
def test_keras_method_trains_through_one_trainer(tmp_path, monkeypatch):
    import keras

    from mer_utils.training import Trainer

    def build():
        inp = keras.Input((3,))
        return keras.Model(inp, keras.layers.Dense(4, activation="softmax")(keras.layers.Dense(6)(inp)))

    fits = []
    real_fit = Trainer.fit

    def spy(self, x, y, validation=None, **k):
        fits.append((id(self), k["seed"], k["init_seed"], float(np.asarray(x).mean()), float(np.asarray(x).std())))
        return real_fit(self, x, y, validation, **k)

    monkeypatch.setattr(Trainer, "fit", spy)
    X = FEATURES * 10 + 5
    m = lb.KerasMethod(X, build, epochs=2, batch_size=8, patience=1, learning_rate=1e-2, seed=4, run_eagerly=True)
    assert m.recipe.stop.patience == 1 and m.recipe.execution == "eager"
    m.fit(np.arange(30), Y[:30], np.arange(30, 36), Y[30:36])
    first = m.n_params
    assert first == 3 * 6 + 6 + 6 * 4 + 4
    m.fit(np.arange(10, 40), Y[10:40], np.arange(0, 6), Y[:6])
    assert m.trainer.fits == 2 and m.n_params == first
    assert len({f[0] for f in fits}) == 1 and all(f[1:3] == (4, 4) for f in fits)   # one trainer, one init
    for f in fits:                                              # standardised on the training rows
        assert f[3] == pytest.approx(0, abs=1e-5) and f[4] == pytest.approx(1, abs=1e-3)
    P = m.predict(np.arange(36, 40))
    assert P.shape == (4, 4) and np.allclose(P.sum(1), 1, atol=1e-5)


def test_leaderboard_imports_no_model_file():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(lb.__file__).read_text())
    mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert not [m for m in mods if m.startswith(("mer_utils.models", "mer_utils.papers", "mer_utils.training.core"))]


# --------------------------------------------------------------------------- the notebook on real 4Q
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_80_on_the_4q_dev_clips(out_dir):
    import json

    from conftest import FOURQ_DEV, require
    from test_notebooks import NB_DIR, _run

    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label

    root = require(FOURQ_DEV)
    _run(NB_DIR / "80_leaderboard.ipynb", out_dir / "real80", profile="smoke", data_root=str(root))
    res = RESULTS_DIR / output_label("smoke", root)
    manifest = json.loads((res / "manifests" / "80_leaderboard" / "manifest.json").read_text())
    assert any("4q-dev" in str(v) for v in manifest["data_sources"].values())     # real 4Q, not the demo
    board = pd.read_csv(res / "leaderboard.csv")
    assert set(board["paper"]) == {"louro", "javadi", "velankar", "cazzaniga", "sun"}
    assert board.loc[board["entry"] == "SVM Baseline", "units"].item() == 4      # smoke: 2 folds x 2 repeats
    assert np.isfinite(board["f1"]).all()


def test_a_replaced_audio_file_changes_only_its_clip_fingerprint(tmp_path):
    import os

    from mer_utils.leaderboard import clip_fingerprints, make_clips

    paths = []
    for i in range(3):
        p = tmp_path / f"c{i}.wav"
        p.write_bytes(b"RIFF" + bytes([i]) * 100)
        paths.append(str(p))
    df = pd.DataFrame({"track_id": ["a", "b", "c"], "path": paths})
    before = clip_fingerprints(make_clips(df, "test", real=False))
    assert (before == clip_fingerprints(make_clips(df, "test", real=False))).all()   # nothing changed
    (tmp_path / "c1.wav").write_bytes(b"RIFF" + b"\x07" * 120)                       # replaced
    os.utime(tmp_path / "c1.wav", (1, 1))
    after = clip_fingerprints(make_clips(df, "test", real=False))
    assert list(before == after) == [True, False, True]


def test_the_caption_says_which_data_it_ranks(tmp_path):
    demo = lb.Clips(pd.DataFrame({"track_id": [f"d{i}" for i in range(60)], "source": "4q"}), "demo corpus", False)
    assert lb.leaderboard_caption(demo) == ("ranked on: demo corpus (synthetic, 60 clips of its 4Q-like source); "
                                            "not the paper's data")
    dev = lb.Clips(pd.DataFrame({"track_id": [f"MT{i}" for i in range(120)]}), "4Q (real)", True)
    assert lb.leaderboard_caption(dev) == "ranked on: real 4Q, 120 of 900 clips; a subset, not the paper's data"
    whole = lb.Clips(pd.DataFrame({"track_id": [f"MT{i}" for i in range(900)]}), "4Q (real)", True)
    assert "the methods-comparison paper's data" in lb.leaderboard_caption(whole)
    expanded = lb.Clips(pd.DataFrame({"track_id": [f"A{i}" for i in range(1629)], "collection": "New-4QAED C"}),
                        "New-4QAED C (real)", True)                 # more clips than 4Q, yet not Original-4QAED
    assert lb.leaderboard_caption(expanded).startswith("ranked on: real New-4QAED C, 1629 clips")
    assert "not Original-4QAED" in lb.leaderboard_caption(expanded)
    (tmp_path / "leaderboard.md").write_text(f"{lb.leaderboard_caption(dev)}\n\n| entry |\n|---|\n| SVM |\n")
    assert lb.read_caption(tmp_path) == lb.leaderboard_caption(dev)
    (tmp_path / "other.md").write_text("| entry |\n")
    assert lb.read_caption(tmp_path, "other") == "" and lb.read_caption(tmp_path, "absent") == ""


class Constant(Spy):
    """Answers Q1 for every clip: a network that did not learn."""

    def predict(self, rows):
        return np.tile([0.7, 0.1, 0.1, 0.1], (len(rows), 1))


def test_the_board_says_which_entries_learned_and_lists_full_profile_only_entries(tmp_path):
    from mer_utils.plots.cd import quality_vs_cost

    ctx, clips, splits = _setup(tmp_path)
    entries = [lb.Entry("learns", "p1", "f", make=lambda c, cl: Spy(cl)),
               lb.Entry("constant", "p2", "f", make=lambda c, cl: Constant(cl)),
               lb.not_trained_entry("too slow here", "p3", "f", "15 s per epoch on 216 clips")]
    status = lb.run_entries(ctx, entries, clips, Y, splits)
    assert status.set_index("entry").loc["too slow here", "source"].startswith(lb.FULL_ONLY)
    assert status.set_index("entry").loc["too slow here", "trained now"] == 0
    scores = lb.unit_scores(ctx, entries)
    assert "too slow here" not in set(scores["entry"])
    learned = lb.learning(ctx, entries).set_index("network")
    assert learned.loc["learns", "learned"] and not learned.loc["constant", "learned"]
    assert "one class" in learned.loc["constant", "verdict"] or "below the bar" in learned.loc["constant", "verdict"]
    board = lb.leaderboard_table(scores, entries, lb.learning(ctx, entries)).set_index("entry")
    assert list(board.index)[-1] == "too slow here"                  # listed last, without a score
    assert np.isnan(board.loc["too slow here", "f1"]) and board.loc["too slow here", "units"] == 0
    assert board.loc["too slow here", "F1 (mean ± std)"] == lb.FULL_ONLY
    assert "15 s per epoch" in board.loc["too slow here", "note"]
    assert board.loc["learns", "learned"] and not board.loc["constant", "learned"]
    assert "too slow here" not in set(lb.cost_table(board.reset_index())["entry"])
    quality_vs_cost(board.reset_index())                                # draws without the score-less row
