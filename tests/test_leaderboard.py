"""The leaderboard (notebook 80): Friedman + Nemenyi against Demšar (2006), the CD cliques,
and the contract of an entry: stored units are reused, and an entry sees only its training
rows and their labels."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mer_utils import leaderboard as lb
from mer_utils.evaluation import load_or_make_splits, repeated_kfold
from mer_utils.evaluation.stats import (cd_groups, friedman_from_ranks, friedman_nemenyi, nemenyi_cd,
                                        nemenyi_q, rank_matrix)


# --------------------------------------------------------------------------- statistics
def test_friedman_on_demsar_worked_example():
    # Demšar (2006), Sec. 3.2.2: four C4.5 variants on 14 data sets, average ranks
    # 3.143, 2.000, 2.893, 1.964 -> chi2_F = 9.28, F_F = 3.69; Nemenyi CD (alpha 0.05) = 1.25
    r = friedman_from_ranks([3.143, 2.000, 2.893, 1.964], 14)
    assert r["chi2"] == pytest.approx(9.28, abs=0.01)
    assert r["F"] == pytest.approx(3.69, abs=0.01)
    assert r["p_chi2"] < 0.05 and r["p_F"] < 0.05   # critical values 7.81 (chi2, 3 dof), 2.85 (F(3, 39))
    assert nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)


def test_nemenyi_q_matches_demsar_table_5a():
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]   # k = 2..10, alpha 0.05
    assert [nemenyi_q(k) for k in range(2, 11)] == pytest.approx(table, abs=0.002)
    assert nemenyi_q(4, alpha=0.10) == pytest.approx(2.291, abs=0.002)       # Table 5(a), alpha 0.10


def test_ranks_by_hand_with_a_tie():
    scores = np.array([[0.9, 0.8, 0.7],
                       [0.6, 0.6, 0.5],       # tie for first: both get 1.5
                       [0.4, 0.9, 0.8],
                       [0.7, 0.5, 0.6]])
    R = rank_matrix(scores)
    assert R.tolist() == [[1, 2, 3], [1.5, 1.5, 3], [3, 1, 2], [1, 3, 2]]
    res = friedman_nemenyi(pd.DataFrame(scores, columns=["a", "b", "c"]))
    assert res["avg_ranks"] == pytest.approx({"a": 1.625, "b": 1.875, "c": 2.5})
    # chi2 = 12*4/(3*4) * (1.625^2 + 1.875^2 + 2.5^2 - 3*16/4) = 4 * 0.40625 = 1.625
    assert res["chi2"] == pytest.approx(1.625)
    assert res["N"] == 4 and res["k"] == 3
    with pytest.raises(ValueError, match="NaN"):
        rank_matrix([[0.1, np.nan], [0.2, 0.3]])


def test_cd_groups():
    assert cd_groups([1.0, 1.5, 2.6, 3.0], 1.0) == [(0, 1), (2, 3)]
    assert cd_groups([1.0, 1.8, 2.6], 1.0) == [(0, 1), (1, 2)]
    assert cd_groups([2.6, 1.0, 1.8], 1.0) == [(1, 2), (2, 0)]      # positions in the input order
    assert cd_groups([1.0, 2.5, 4.0], 1.0) == []                     # all significantly different
    assert cd_groups([1.0, 1.2, 1.4, 1.6], 5.0) == [(0, 1, 2, 3)]


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


# --------------------------------------------------------------------------- the notebook on real 4Q
@pytest.mark.notebook
@pytest.mark.realdata
def test_notebook_80_on_the_4q_dev_clips(out_dir):
    import json

    from conftest import FOURQ_DEV, require
    from test_notebooks import NB_DIR, _run

    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label

    root = require(FOURQ_DEV)
    _run(NB_DIR / "80_leaderboard.ipynb", out_dir / "real80", profile="smoke", data_root=str(root))
    res = RESULTS_DIR / output_label("smoke", root)
    manifest = json.loads((res / "manifests" / "80_leaderboard" / "manifest.json").read_text())
    assert any("4q-dev" in str(v) for v in manifest["data_sources"].values())     # real 4Q, not the demo
    board = pd.read_csv(res / "leaderboard.csv")
    assert set(board["paper"]) == {"louro", "javadi", "velankar", "cazzaniga", "sun"}
    assert board.loc[board["entry"] == "SVM Baseline", "units"].item() == 4      # smoke: 2 folds x 2 repeats
    assert np.isfinite(board["f1"]).all()
