"""The results store: units keyed by repeat x fold (x seed), resumable, swapped in whole."""
import json

import numpy as np
import pytest

from mer_utils import results as R
from mer_utils.evaluation import protocols as P
from mer_utils.experiment import PaperConfig, UnitResult, run_protocol, setting


def _unit_result(split, y):
    return UnitResult(ids=[f"t{i}" for i in split.test], y_true=y[split.test],
                      y_score=np.eye(2, dtype=np.float32)[y[split.test]], labels=["a", "b"])


class Interrupt(Exception):
    pass


def test_10x10_resumes_after_an_interruption(tmp_path):
    """A 10x10 run killed after 37 units resumes with 63, and never trains a unit twice."""
    y = np.repeat([0, 1], 20)
    splits = P.repeated_kfold(10, 10, seed=0).make(y)
    calls, kill = [], [True]

    def step(split):
        if kill[0] and len(calls) == 37:
            raise Interrupt()
        calls.append(split.unit)
        return _unit_result(split, y)

    with pytest.raises(Interrupt):
        run_protocol(tmp_path, "svm", splits, config={"C": 1}, fit_predict=step, progress=False)
    assert not R.predictions_dir(tmp_path, "svm").exists()        # nothing committed yet
    with pytest.raises(FileNotFoundError):
        R.load_predictions(tmp_path, "svm")
    first = list(calls)
    kill[0] = False
    run_protocol(tmp_path, "svm", splits, config={"C": 1}, fit_predict=step, progress=False)
    assert len(calls) == 100 and len(set(calls)) == 100             # the 63 others, once each
    assert not set(calls[37:]) & set(first)
    folds = R.load_predictions(tmp_path, "svm")
    assert len(folds) == 100 and {(f.repeat, f.fold) for f in folds} == {(r, f) for r in range(10) for f in range(10)}
    # and a third run trains nothing
    run_protocol(tmp_path, "svm", splits, config={"C": 1}, fit_predict=lambda s: 1 / 0, progress=False)


def test_interrupted_rerun_keeps_the_complete_earlier_run(tmp_path):
    y = np.repeat([0, 1], 10)
    splits = P.kfold(5, seed=0).make(y)
    run_protocol(tmp_path, "e", splits, config={"lr": 1}, fit_predict=lambda s: _unit_result(s, y),
                 progress=False)
    before = {p.name: p.read_bytes() for p in R.predictions_dir(tmp_path, "e").iterdir()}
    n = []

    def dies(split):
        if n:
            raise Interrupt()
        n.append(1)
        return _unit_result(split, y)

    with pytest.raises(Interrupt):
        run_protocol(tmp_path, "e", splits, config={"lr": 2}, fit_predict=dies, progress=False)
    after = {p.name: p.read_bytes() for p in R.predictions_dir(tmp_path, "e").iterdir()}
    assert after == before                                          # untouched
    assert R.load_meta(tmp_path, "e")["config"]["lr"] == 1
    # finishing the new configuration swaps it in whole
    run_protocol(tmp_path, "e", splits, config={"lr": 2}, fit_predict=lambda s: _unit_result(s, y),
                 progress=False)
    assert R.load_meta(tmp_path, "e")["config"]["lr"] == 2
    assert len(R.load_predictions(tmp_path, "e")) == 5
    assert not any((tmp_path / "predictions" / R.STAGING).iterdir())


def test_interrupted_swap_is_recovered(tmp_path):
    y = np.repeat([0, 1], 10)
    splits = P.kfold(2, seed=0).make(y)
    run_protocol(tmp_path, "e", splits, config={}, fit_predict=lambda s: _unit_result(s, y), progress=False)
    final = R.predictions_dir(tmp_path, "e")
    old = final.parent / R._OLD / final.name
    old.parent.mkdir()
    final.rename(old)                   # killed between the two renames of a swap
    assert len(R.load_predictions(tmp_path, "e")) == 2


def test_scores_and_summaries_per_repeat(tmp_path):
    y = np.repeat([0, 1], 10)
    splits = P.repeated_kfold(2, 3, seed=0).make(y)
    run_protocol(tmp_path, "e", splits, config={}, fit_predict=lambda s: _unit_result(s, y), progress=False)
    from mer_utils.evaluation import SINGLE_LABEL_METRICS
    scores = R.score_experiment(tmp_path, "e", SINGLE_LABEL_METRICS)
    assert list(scores[["repeat", "fold"]].itertuples(index=False, name=None)) == \
        [(r, f) for r in range(3) for f in range(2)]
    s = R.summarise(scores)
    assert s["n_folds"].item() == 6 and s["n_repeats"].item() == 3 and s["accuracy"].item() == 1.0
    per = R.summarise(scores, per_repeat=True)
    assert list(per["repeat"]) == [0, 1, 2] and (per["n_folds"] == 2).all()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other-experiment", "pickle"])
def test_corrupt_units_are_named_without_pickle_hints(tmp_path, damage):
    R.save_predictions(tmp_path, "mine", 0, ids=["a", "b"], y_true=[0, 1],
                       y_score=np.eye(2), labels=["x", "y"])
    path = R.predictions_dir(tmp_path, "mine") / "r00-f00.npz"
    if damage == "garbage":
        path.write_bytes(b"not a zip at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other-experiment":
        R.save_predictions(tmp_path, "theirs", 0, ids=["a", "b"], y_true=[0, 1],
                           y_score=np.eye(2), labels=["x", "y"])
        path.write_bytes((R.predictions_dir(tmp_path, "theirs") / "r00-f00.npz").read_bytes())
    else:
        np.savez(path.with_suffix(""), ids=np.array([object()], dtype=object),
                 y_true=np.zeros(1), y_score=np.zeros((1, 2)), labels=np.array(["x", "y"]))
    with pytest.raises(R.ResultsError) as e:
        R.load_predictions(tmp_path, "mine")
    assert str(path) in str(e.value) and "rerun" in str(e.value)
    assert "allow_pickle" not in str(e.value)


def test_bad_meta_is_named(tmp_path):
    R.save_predictions(tmp_path, "m", 0, ids=["a"], y_true=[0], y_score=np.ones((1, 1)), labels=["x"])
    meta = R.predictions_dir(tmp_path, "m") / "meta.json"
    meta.write_text("{not json")
    with pytest.raises(R.ResultsError, match="meta.json"):
        R.load_predictions(tmp_path, "m")


def test_units_refuse_duplicate_ids(tmp_path):
    with pytest.raises(ValueError, match="duplicated ids"):
        R.save_predictions(tmp_path, "d", 0, ids=["4", "4"], y_true=[0, 1], y_score=np.eye(2), labels=["a", "b"])


def test_unit_keys_round_trip():
    for u in (R.Unit(0, 0), R.Unit(9, 9), R.Unit(1, 2, 3)):
        assert R.Unit.from_key(u.key) == u
    with pytest.raises(ValueError):
        R.Unit.from_key("fold-000")


def test_paper_config_profiles_and_overrides():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Cfg(PaperConfig):
        epochs: int = setting(100, paper="100 epochs")
        batch: int = setting(16, paper="batch 16", note="the paper's")
        PROFILES = {"smoke": dict(epochs=1), "demo": dict(epochs=5), "full": {}}

    assert Cfg.for_profile("full").epochs == 100
    c = Cfg.for_profile("demo", epochs=None, batch=8)
    assert (c.epochs, c.batch, c.overrides) == (5, 8, ("batch",))
    t = c.table().set_index("setting")
    assert t.loc["epochs", "paper"] == "100 epochs" and t.loc["batch", "note"].startswith("overridden")
    with pytest.raises(TypeError, match="no setting"):
        Cfg.for_profile("demo", epoch=3)
    with pytest.raises(ValueError, match="unknown profile"):
        Cfg.for_profile("huge")
    from mer_utils.config import Manifest
    m = Manifest("nb", {}, 0, None)
    c.record(m)
    assert json.dumps(m.settings, default=str)


def test_fidelity_points_need_a_reason_to_depart():
    from mer_utils.experiment import Fidelity, fidelity_table

    ok = [Fidelity("batch size", "batch of 16", "16", "same"),
          Fidelity("padding", "—", "repeat", "paper silent", "as the cited original")]
    assert list(fidelity_table(ok)["status"]) == ["same", "paper silent"]
    with pytest.raises(ValueError, match="needs a reason"):
        Fidelity("epochs", "25", "8", "departure")
    with pytest.raises(ValueError, match="status"):
        Fidelity("epochs", "25", "8", "close enough", "x")


def test_a_notebook_killed_after_a_commit_leaves_predictions_as_they_were(tmp_path):
    """Under the runner a complete set is swapped in only when the notebook completes: a
    notebook killed after one experiment finished (its tables still the old run's) leaves
    predictions/ as the last complete run left them; the rerun resumes from the staged set."""
    from mer_utils.context import commit_stage, recover_stage

    y = np.repeat([0, 1], 10)
    splits = P.kfold(2, seed=0).make(y)
    ok = lambda s: _unit_result(s, y)                                        # noqa: E731
    run_protocol(tmp_path, "row", splits, config={"v": 1}, fit_predict=ok, progress=False)
    old = {(f.fold, f.ids.tobytes()) for f in R.load_predictions(tmp_path, "row")}
    old_meta = R.load_meta(tmp_path, "row")
    stage = tmp_path / ".incomplete" / "nb"
    stage.mkdir(parents=True)
    calls = []

    def step(split):
        calls.append(split.unit)
        return _unit_result(split, 1 - y)                                     # new numbers
    try:
        R.defer_commits(stage)
        run_protocol(tmp_path, "row", splits, config={"v": 2}, fit_predict=step, progress=False)
        # the notebook itself reads the new set ...
        assert R.load_meta(tmp_path, "row")["config"]["v"] == 2
        for f in R.load_predictions(tmp_path, "row"):
            rows = [int(i[1:]) for i in f.ids]                                # ids are "t<row>"
            assert (f.y_true == 1 - y[rows]).all()
        assert "row" in R.list_experiments(tmp_path)
    finally:
        R.defer_commits(None)
    # ... but it is killed now: predictions/ still hold the last complete run
    assert R.load_meta(tmp_path, "row") == old_meta
    assert {(f.fold, f.ids.tobytes()) for f in R.load_predictions(tmp_path, "row")} == old
    assert recover_stage(stage) == "discarded"
    assert R.load_meta(tmp_path, "row")["config"]["v"] == 1
    # the rerun trains nothing (its units are staged) and its completion swaps them in
    stage.mkdir(parents=True)
    try:
        R.defer_commits(stage)
        run_protocol(tmp_path, "row", splits, config={"v": 2}, fit_predict=lambda s: 1 / 0, progress=False)
    finally:
        R.defer_commits(None)
    assert len(calls) == 2
    assert R.load_meta(tmp_path, "row")["config"]["v"] == 1
    (stage / "stage.json").write_text(json.dumps({"results_dir": str(tmp_path), "figures_dir": str(tmp_path / "f")}))
    commit_stage(stage)
    assert R.load_meta(tmp_path, "row")["config"]["v"] == 2
    assert not stage.exists()


def test_changed_inputs_retrain_exactly_the_units_that_saw_them(tmp_path):
    """A unit's identity includes a fingerprint of its rows: change one row's features and
    rerun -> exactly the units whose train or test side holds that row are trained again;
    change nothing -> nothing is trained."""
    from mer_utils.experiment import row_fingerprints

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    y = np.repeat([0, 1], 15)
    splits = P.kfold(3, seed=0).make(y)
    calls = []

    def step(split):
        calls.append(split.unit)
        return _unit_result(split, y)

    run = lambda X: run_protocol(tmp_path, "e", splits, config={"v": 1}, fit_predict=step,  # noqa: E731
                                 rows=row_fingerprints(X), progress=False)
    run(X)
    assert len(calls) == 3
    run(X.copy())
    assert len(calls) == 3                                           # nothing changed: nothing trained
    X2 = X.copy()
    X2[7, 2] += 1e-6                                                 # one feature value of one clip
    calls.clear()
    run(X2)
    # with k-fold every unit trains or tests on row 7: all three retrain, once each
    assert sorted(calls) == sorted(s.unit for s in splits)
    calls.clear()
    run(X2)
    assert calls == []
    # a holdout-like set of units where row 7 is in one unit only
    units = [P.Split(R.Unit(0, f), np.setdiff1d(np.arange(30), np.arange(f * 10, f * 10 + 10))[:5],
                     np.arange(f * 10, f * 10 + 10)) for f in range(3)]
    run2 = lambda X: run_protocol(tmp_path, "h", units, config={"v": 1}, fit_predict=step,  # noqa: E731
                                  rows=row_fingerprints(X), progress=False)
    run2(X2)
    calls.clear()
    X3 = X2.copy()
    X3[25, 0] = 0.0                                                  # only unit f2 tests row 25
    run2(X3)
    assert calls == [R.Unit(0, 2)]
    assert len(R.load_predictions(tmp_path, "h")) == 3


def test_row_fingerprints_of_items_per_row():
    from mer_utils.experiment import row_fingerprints

    chunks = np.arange(12.0).reshape(6, 2)
    owner = np.array([0, 0, 1, 1, 2, 2])
    a = row_fingerprints(chunks, owner=owner, n_rows=3)
    chunks[3, 1] = -1
    b = row_fingerprints(chunks, owner=owner, n_rows=3)
    assert a[0] == b[0] and a[2] == b[2] and a[1] != b[1]
    with pytest.raises(ValueError, match="same rows"):
        row_fingerprints(np.zeros(3), np.zeros(4))
