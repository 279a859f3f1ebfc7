"""run_protocol's units on a dask.distributed LocalCluster (``scheduler=``, ``./run_all.sh
--scheduler``): the same stored predictions as the sequential path, a worker killed mid-unit
loses nothing (the unit runs again elsewhere, no unit file is half-written), units stored once
are never trained again, and the swap to the complete run happens once, in the client.

Needs the extra [cluster] (./run_all.sh --tests installs it); skipped without it."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed absent: pip install -e .[cluster]")
pytestmark = pytest.mark.cluster

from mer_utils import cache as C  # noqa: E402
from mer_utils.evaluation.protocols import Split  # noqa: E402
from mer_utils.experiment import UnitResult, run_protocol  # noqa: E402
from mer_utils.results import Unit, load_predictions, predictions_dir  # noqa: E402

N_ROWS, N_FEATURES, LABELS = 48, 6, ["a", "b", "c"]


@pytest.fixture(scope="module", autouse=True)
def _cluster():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    os.environ.pop(C.SCHEDULER_ENV, None)
    C.close_dask_clients()
    yield C.dask_client("local", n_workers=2)
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    C.close_dask_clients()


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(N_ROWS) % len(LABELS)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32) + y[:, None].astype(np.float32)
    return X, y, np.asarray([f"c{i:02d}" for i in range(N_ROWS)])


def _splits(repeats: int = 2, folds: int = 3) -> list[Split]:
    out = []
    for r in range(repeats):
        order = np.random.default_rng(r).permutation(N_ROWS)
        for f, test in enumerate(np.array_split(order, folds)):
            out.append(Split(Unit(r, f, None), train=np.setdiff1d(order, test), test=test))
    return out


class Centroids:
    """A fit_predict of numpy only: class centroids, scores from distances; ``log`` records
    every call (one file per call, so calls from every worker count); ``die_once`` kills the
    worker process the first time that unit runs; ``fail`` raises on that unit."""

    def __init__(self, log: Path, die_once: str | None = None, fail: str | None = None):
        self.X, self.y, self.ids = _data()
        self.log, self.die_once, self.fail = Path(log), die_once, fail

    def __call__(self, split: Split) -> UnitResult:
        key = split.unit.key
        self.log.mkdir(parents=True, exist_ok=True)
        n = len(list(self.log.glob(f"{key}.*")))
        (self.log / f"{key}.{n}").write_text(str(os.getpid()))
        if key == self.fail:
            raise ValueError(f"unit {key} fails on purpose")
        if key == self.die_once and n == 0:
            os._exit(1)                           # the worker dies mid-unit
        tr, te = split.train, split.test
        cent = np.stack([self.X[tr][self.y[tr] == k].mean(axis=0) for k in range(len(LABELS))])
        d = -((self.X[te][:, None, :] - cent[None]) ** 2).sum(axis=-1)
        score = np.exp(d - d.max(axis=1, keepdims=True))
        return UnitResult(ids=self.ids[te], y_true=self.y[te], y_score=score / score.sum(axis=1, keepdims=True),
                          labels=LABELS, info={"n_train": int(len(tr))})

    def calls(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.log.glob("*.*"):
            out[p.stem] = out.get(p.stem, 0) + 1
        return out


def _stored(results_dir: Path, experiment: str) -> dict[str, tuple]:
    return {f"r{fp.repeat:02d}-f{fp.fold:02d}": (list(fp.ids), fp.y_true.tolist(), fp.y_score)
            for fp in load_predictions(results_dir, experiment)}


def _assert_same(a: dict, b: dict, atol: float = 0.0) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k][0] == b[k][0] and a[k][1] == b[k][1], k
        np.testing.assert_allclose(b[k][2], a[k][2], rtol=0, atol=atol, err_msg=k)


def test_cluster_units_survive_a_killed_worker_and_match_the_sequential_path(tmp_path, capsys):
    splits = _splits()
    seq = Centroids(tmp_path / "log-seq")
    seq_run = run_protocol(tmp_path / "seq", "centroids", splits, config={"m": 1}, fit_predict=seq, scheduler="")
    assert seq_run.trained_now == [sp.unit.key for sp in splits]
    assert all(v == 1 for v in seq.calls().values()) and len(seq.calls()) == len(splits)

    fp = Centroids(tmp_path / "log", die_once="r01-f00")
    run = run_protocol(tmp_path / "dist", "centroids", splits, config={"m": 1}, fit_predict=fp, scheduler="local")
    assert run.trained_now == sorted(sp.unit.key for sp in splits)
    out = capsys.readouterr().out
    assert "on local: 6 unit(s) over 2 worker(s)" in out and "shipped once" in out
    calls = fp.calls()
    assert calls.pop("r01-f00") == 2, "the killed unit runs again on a live worker"
    assert calls == {sp.unit.key: 1 for sp in splits if sp.unit.key != "r01-f00"}, "no other unit ran twice"
    _assert_same(_stored(tmp_path / "seq", "centroids"), _stored(tmp_path / "dist", "centroids"))
    final = predictions_dir(tmp_path / "dist", "centroids")
    assert run.is_committed() and not run.staging_dir.exists(), "the client swapped the complete set in"
    assert sorted(p.name for p in final.glob("*.npz")) == sorted(f"{sp.unit.key}.npz" for sp in splits)
    assert not [p for p in final.parent.rglob("*") if ".tmp" in p.name], "nothing half-written is left"

    # stored once, never trained again: a rerun on the cluster ships nothing
    again = run_protocol(tmp_path / "dist", "centroids", splits, config={"m": 1}, fit_predict=fp, scheduler="local")
    assert "nothing to run" in capsys.readouterr().out and again.trained_now == []
    assert sum(fp.calls().values()) == len(splits) + 1


def test_a_failing_unit_keeps_the_others_and_a_rerun_trains_only_it(tmp_path, capsys):
    splits = _splits(repeats=1)
    bad = Centroids(tmp_path / "log", fail="r00-f01")
    with pytest.raises(RuntimeError, match=r"1 unit\(s\) failed on the cluster \(e.g. r00-f01.*fails on purpose"):
        run_protocol(tmp_path, "centroids", splits, config={"m": 2}, fit_predict=bad, scheduler="local")
    with pytest.raises(FileNotFoundError):
        load_predictions(tmp_path, "centroids")            # nothing committed while a unit is missing
    good = Centroids(tmp_path / "log")
    rerun = run_protocol(tmp_path, "centroids", splits, config={"m": 2}, fit_predict=good, scheduler="local")
    assert "3 unit(s), 2 stored earlier, 1 to run" in capsys.readouterr().out and rerun.trained_now == ["r00-f01"]
    assert good.calls() == {"r00-f00": 1, "r00-f01": 2, "r00-f02": 1}   # the failed unit's first try counts
    assert len(load_predictions(tmp_path, "centroids")) == 3


def test_a_fit_predict_that_cannot_be_pickled_runs_here_with_a_note(tmp_path, capsys):
    lock = threading.Lock()
    fp = Centroids(tmp_path / "log")

    def locked(split):
        with lock:
            return fp(split)

    run_protocol(tmp_path, "centroids", _splits(repeats=1), config={"m": 3}, fit_predict=locked, scheduler="local")
    out = capsys.readouterr().out
    assert "cannot be shipped to the dask workers" in out and "run here, one after the other" in out
    assert {int(p.read_text()) for p in (tmp_path / "log").iterdir()} == {os.getpid()}
    assert len(load_predictions(tmp_path, "centroids")) == 3


@pytest.mark.backend
def test_trained_networks_on_the_cluster_store_the_sequential_predictions(tmp_path, capsys):
    """A Trainer in the closure travels as a fresh trainer (builder and recipe); each worker
    compiles once and trains its units under the units' seeds: the stored scores are those of
    the sequential path, bit for bit (the unit thread draws Keras's default seeds from a
    generator of its own, not from the one the worker's threads share)."""
    from functools import partial

    from mer_utils.training import Recipe, Trainer

    X, y, ids = _data(1)

    def build():
        import keras

        inp = keras.Input((N_FEATURES,))
        h = keras.layers.Dense(8, activation="relu")(inp)
        return keras.Model(inp, keras.layers.Dense(len(LABELS), activation="softmax")(h))

    trainer = Trainer(build, Recipe(epochs=3, batch_size=8, optimizer="adam", learning_rate=1e-2), name="tiny")

    def fit_predict(trainer, split):
        trainer.fit(X[split.train], y[split.train], seed=split.unit.repeat * 10 + split.unit.fold)
        return UnitResult(ids=ids[split.test], y_true=y[split.test], y_score=trainer.predict(X[split.test]),
                          labels=LABELS)

    splits = _splits(repeats=1, folds=4)
    run_protocol(tmp_path / "seq", "tiny", splits, config={"m": 4}, fit_predict=partial(fit_predict, trainer),
                 scheduler="")
    assert trainer.model is not None              # compiled here: it must not travel with the closure
    run_protocol(tmp_path / "dist", "tiny", splits, config={"m": 4}, fit_predict=partial(fit_predict, trainer),
                 scheduler="local")
    assert "shipped once" in capsys.readouterr().out
    _assert_same(_stored(tmp_path / "seq", "tiny"), _stored(tmp_path / "dist", "tiny"))
