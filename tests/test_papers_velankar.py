"""The Velankar paper module (notebook 40): configuration per profile, the one-third test
split, L2 in the built models, the fidelity points, the transcribed Figs 6 and 9, the
per-class comparison built from stored predictions (scores from mer_utils.evaluation), that
training runs one unit per seed through the engine (Trainer) and run_protocol, resumes, and
standardises with the training songs only.

The notebook itself runs under smoke on the demo corpus and on the real 4Q subset in
``tests/test_notebooks.py`` (``test_notebook_runs_under_smoke``,
``test_notebook_runs_on_real_data``), where its tables are checked for finite values.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_utils.papers import velankar as V
from mer_utils.results import (MissingPaperValue, Unit, load_predictions, paper_values, save_predictions,
                               write_table)


class _Ctx:
    """The part of a RunContext the steps use, writing under a temporary folder."""

    def __init__(self, root: Path):
        self.results_dir = root / "results"
        self.figures_dir = root / "figures"
        self.saved: dict[str, pd.DataFrame] = {}

    def save_table(self, df, name, **kw):
        self.saved[name] = df
        return write_table(df, self.results_dir / name)

    def savefig(self, fig, name, **kw):
        import matplotlib.pyplot as plt

        self.figures_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.figures_dir / f"{name}.png")
        plt.close(fig)


def _data(per_class=(46, 46, 46), labels=("calm", "happy", "sad"), frames=(640, 128)) -> V.pipeline.Data:
    y = np.repeat(np.arange(len(labels)), per_class)
    ids = np.asarray([f"song{i:03d}" for i in range(len(y))])
    X = np.zeros((len(y), *frames), dtype=np.float32)
    return V.pipeline.Data(X=X, y=y, ids=ids, labels=list(labels), table=pd.DataFrame({"track_id": ids}),
                  corpus="test corpus")


# --------------------------------------------------------------------------- configuration
def test_full_is_the_papers_configuration():
    cfg = V.Config.for_profile("full")
    assert cfg.epochs == 25                                   # "trained for 25 epochs"
    assert cfg.test_share == pytest.approx(1 / 3, abs=1e-4)   # 46 of 138
    assert cfg.patience is None                               # all 25 epochs run
    assert cfg.l2 > 0 and cfg.dropout > 0                     # "both L2 and dropout"
    assert len(cfg.seeds) == 5 and cfg.demo_sources is None
    table = cfg.table().set_index("setting")
    assert "25 epochs" in table.loc["epochs", "paper"] and "46 of the 138" in table.loc["test_share", "paper"]
    assert "L2" in table.loc["l2", "paper"]


@pytest.mark.parametrize("profile, epochs, seeds, patience", [
    ("smoke", 8, (0, 1), 3), ("demo", 8, (0, 1, 2), 3), ("full", 25, (0, 1, 2, 3, 4), None)])
def test_profiles_scale_epochs_and_seeds_only(profile, epochs, seeds, patience):
    cfg = V.Config.for_profile(profile)
    assert (cfg.epochs, cfg.seeds, cfg.patience) == (epochs, seeds, patience)
    full = V.Config.for_profile("full")
    for name in ("test_share", "validation_share", "l2", "dropout", "bn_momentum", "learning_rate"):
        assert getattr(cfg, name) == getattr(full, name), f"{profile} changes the paper's {name}"
    # only smoke averages frames (160 x 128) so that 8 epochs on 2 seeds fit its budget
    assert cfg.time_pool == (4 if profile == "smoke" else 1)


def test_overrides_are_recorded_and_none_keeps_the_profile():
    cfg = V.Config.for_profile("demo", epochs=None, seeds=[4, 5], l2=1e-3)
    assert cfg.epochs == 8 and cfg.seeds == (4, 5) and cfg.l2 == 1e-3
    assert cfg.overrides == ("l2", "seeds")
    with pytest.raises(TypeError, match="no setting"):
        V.Config.for_profile("demo", epoch=3)


# --------------------------------------------------------------------------- splits
def test_one_third_of_every_class_is_tested_as_in_the_paper(tmp_path):
    ctx, data = _Ctx(tmp_path), _data()
    cfg = V.Config.for_profile("full", seeds=[0, 1])
    splits = V.pipeline.make_splits(ctx, cfg, data)
    table = V.pipeline.split_table(splits, data)
    for s, sp in splits.items():
        test = table[(table["seed"] == s) & (table["part"] == "test")].iloc[0]
        assert test["total"] == 46                                          # 46 of 138
        assert sorted(int(test[c]) for c in data.labels) == [15, 15, 16]   # as Figs 6/9: 15/16/15
        val = table[(table["seed"] == s) & (table["part"] == "validation")].iloc[0]
        assert 17 <= val["total"] <= 20                                     # 20 % of the other 92
        assert len(sp.train) + len(sp.validation) + len(sp.test) == 138
        assert not set(sp.test) & (set(sp.train) | set(sp.validation))
    assert set(splits[0].test) != set(splits[1].test)                       # one holdout per seed
    # saved as files and reused: the same rows on a second call
    files = sorted((ctx.results_dir / "splits" / V.config.NOTEBOOK).rglob("r00-f00.csv"))
    assert len(files) == 2
    again = V.pipeline.make_splits(ctx, cfg, data)
    assert all(np.array_equal(again[s].test, splits[s].test) for s in splits)


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("model", V.config.MODELS, ids=lambda m: m.builder)
def test_built_models_carry_the_configured_l2_and_dropout(model):
    keras = pytest.importorskip("keras")
    cfg = V.Config.for_profile("smoke", l2=2e-4)
    m = V.pipeline.builder(model, cfg, _data(per_class=(1, 1, 1)))()
    regs = [getattr(layer, "kernel_regularizer", None) for layer in m.layers
            if getattr(layer, "kernel", None) is not None]
    assert regs and all(isinstance(r, keras.regularizers.L2) and r.l2 == pytest.approx(2e-4) for r in regs)
    assert any(isinstance(layer, keras.layers.Dropout) and layer.rate == cfg.dropout for layer in m.layers)
    assert m.output_shape == (None, 3)                   # 3 classes, not the paper's 8 units


# --------------------------------------------------------------------------- fidelity
def test_fidelity_records_the_three_velankar_departures():
    fid = V.fidelity.fidelity().set_index("point")
    assert set(fid["status"]) <= {"same", "departure", "paper silent"}
    reg = fid.loc["regularisation (CRNN)"]
    assert reg["status"] == "same" and "L2" in reg["paper"] and "L2" in reg["ours"]
    test = fid.loc["test set"]
    assert test["status"] == "same" and "46 of 138" in test["paper"] and "one third" in test["ours"]
    out = fid.loc["output layer"]
    assert out["status"] == "departure" and "8 hidden units" in out["paper"] and "3 units" in out["ours"]
    assert out["reason"]
    assert (fid.loc[fid["status"] != "same", "reason"].str.len() > 0).all()


# --------------------------------------------------------------------------- paper values
def test_figs_6_and_9_are_transcribed_whole_and_consistent():
    assert len(V.PAPER_CELLS) == 4 + 2 * 22
    for fig, acc in (("fig6", 0.54), ("fig9", 0.50)):
        w = paper_values("velankar", fig).pivot(index="row", columns="metric", values="value")
        cls = w.loc[list(V.config.PAPER_CLASSES)]
        assert cls["support"].tolist() == [15, 16, 15] and w.loc["accuracy", "support"] == 46
        for m in ("precision", "recall", "f1-score"):    # the printed averages follow from the classes
            assert w.loc["macro avg", m] == pytest.approx(cls[m].mean(), abs=0.011)
            assert w.loc["weighted avg", m] == pytest.approx(np.average(cls[m], weights=cls["support"]), abs=0.011)
        hm = 2 * cls["precision"] * cls["recall"] / (cls["precision"] + cls["recall"])
        assert np.allclose(hm, cls["f1-score"], atol=0.011)             # F1 is the harmonic mean
        correct = np.round(cls["recall"] * cls["support"]).sum()         # 25 and 23 songs right
        assert correct / 46 == pytest.approx(acc, abs=0.005) and w.loc["accuracy", "f1-score"] == acc
    res = paper_values("velankar", "results").set_index(["row", "metric"])["value"]
    assert res[("CRNN", "accuracy")] == 0.54 and res[("CRNN", "macro_f1")] == 0.54
    assert res[("Parallel CNN-RNN", "accuracy")] == 0.50 and res[("Parallel CNN-RNN", "macro_f1")] == 0.50


def test_class_map():
    assert V.config.paper_class_map(["calm", "happy", "sad"]) == {"calm": "Devotional", "happy": "Romantic", "sad": "Sad"}
    assert V.config.paper_class_map(["devotional", "romantic", "sad"]) == {
        "devotional": "Devotional", "romantic": "Romantic", "sad": "Sad"}
    assert V.config.paper_class_map(["rock", "jazz", "pop"]) == {}


def _store(ctx, labels=("calm", "happy", "sad"), seeds=(0, 1)):
    rng = np.random.default_rng(0)
    for m in V.config.MODELS:
        for i, s in enumerate(seeds):
            y = np.repeat(np.arange(3), [15, 15, 16])       # calm, happy, sad as Devotional, Romantic, Sad
            score = np.eye(3)[np.where(rng.random(len(y)) < 0.6, y, rng.integers(0, 3, len(y)))]
            save_predictions(ctx.results_dir, m.experiment, Unit(i, 0, s), ids=[f"t{j}" for j in range(len(y))],
                             y_true=y, y_score=score, labels=list(labels), config={"test": True})


def test_reports_put_the_paper_beside_every_cell_it_prints(tmp_path):
    ctx = _Ctx(tmp_path)
    _store(ctx)
    data = _data(labels=("calm", "happy", "sad"))
    for m in V.config.MODELS:
        rep = V.tables.classification_report_vs_paper(ctx, data, m)
        cmp = rep.comparison
        assert cmp["paper"].notna().all() and cmp["reproduced"].notna().all()
        registered = {(r, k) for t, r, k in V.PAPER_CELLS if t == m.report_table}
        assert set(zip(cmp["row"], cmp["metric"])) == registered          # exactly the registered cells
        assert list(rep.mean.index) == list(V.config.REPORT_ROWS)                 # the paper's row order
        assert rep.mean.loc["Sad", "support"] == 16                       # per seed, not summed
        sbs = rep.side_by_side()
        assert sbs.loc["Devotional", ("recall", "paper")] == paper_values(
            "velankar", m.report_table).set_index(["row", "metric"]).loc[("Devotional", "recall"), "value"]
        assert (ctx.results_dir / f"velankar_{m.report_table}_vs_paper.csv").exists()
        assert (ctx.figures_dir / f"velankar_fig{m.report_fig}_report_{m.experiment}.png").exists()
    res = V.tables.results_vs_paper(ctx)
    assert res["paper"].notna().all() and len(res) == 4
    assert set(zip(res["row"], res["metric"])) == {(r, k) for t, r, k in V.PAPER_CELLS if t == "results"}


def test_unmatched_classes_compare_the_average_rows_only(tmp_path):
    ctx = _Ctx(tmp_path)
    _store(ctx, labels=("jazz", "pop", "rock"))
    rep = V.tables.classification_report_vs_paper(ctx, _data(labels=("jazz", "pop", "rock")), V.config.MODELS[0])
    assert set(rep.comparison["row"]) == {"accuracy", "macro avg", "weighted avg"}
    assert rep.comparison["paper"].notna().all()


def test_a_missing_paper_value_stops_the_comparison(tmp_path, monkeypatch):
    ctx = _Ctx(tmp_path)
    _store(ctx)
    pv = paper_values()
    drop = (pv["table"] == "fig6") & (pv["row"] == "Sad") & (pv["metric"] == "recall")
    monkeypatch.setattr("mer_utils.results.paper_values",
                        lambda paper=None, table=None, **kw: pv[~drop & (pv["paper"] == paper)
                                                                 & (pv["table"] == table)].reset_index(drop=True))
    with pytest.raises(MissingPaperValue, match="'fig6', 'Sad', 'recall'"):
        V.tables.classification_report_vs_paper(ctx, _data(), V.config.MODELS[0])


# --------------------------------------------------------------------------- training resumes
def test_training_resumes_and_a_changed_setting_retrains(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from mer_utils.training import Trainer

    calls = []

    def fake_fit(self, x, y, validation=None, *, seed=0, **kw):
        assert validation is not None and len(validation[1])          # early stopping sees validation rows
        calls.append((seed, self.recipe.epochs, self.name))
        self.model = None
        return {"loss": [1.0], "val_loss": [1.0], "epoch": [1], "best_epoch": 1}

    monkeypatch.setattr(Trainer, "fit", fake_fit)
    monkeypatch.setattr(Trainer, "predict", lambda self, x, **kw: np.full((len(x), 3), 1 / 3, np.float32))
    ctx, data = _Ctx(tmp_path), _data(per_class=(6, 6, 6))
    cfg = V.Config.for_profile("smoke", seeds=[0, 1])
    splits = V.pipeline.make_splits(ctx, cfg, data)
    first = V.pipeline.train(ctx, cfg, data, splits)
    assert len(calls) == 2 * 2 and set(first.histories) == {m.experiment for m in V.config.MODELS}
    assert [c[0] for c in calls] == [0, 1, 0, 1]                      # the unit's seed is the fit's seed
    assert first.histories[V.config.MODELS[0].experiment][1]["best_epoch"] == 1   # the engine's history, stored
    V.pipeline.train(ctx, cfg, data, splits)
    assert len(calls) == 4                                          # stored: nothing retrained
    V.pipeline.train(ctx, dataclasses.replace(cfg, l2=1e-3), data, splits)
    assert len(calls) == 8                                          # L2 is part of the configuration
    folds = load_predictions(ctx.results_dir, V.config.MODELS[0].experiment)
    assert [f.seed for f in folds] == [0, 1]
    assert [f"r{f.repeat:02d}-f{f.fold:02d}-s{f.seed}" for f in folds] == ["r00-f00-s0", "r01-f00-s1"]


def test_units_are_standardised_with_training_statistics_only():
    pytest.importorskip("keras")
    from mer_utils.training import Recipe

    data = _data(per_class=(6, 6, 6), frames=(4, 3))
    data.X[:] = np.arange(len(data.y))[:, None, None]             # row i holds the value i
    from mer_utils.evaluation.protocols import Split
    from mer_utils.results import Unit

    split = Split(Unit(0, 0, 7), np.arange(0, 10), np.arange(14, 18), np.arange(10, 14))
    seen = {}

    class FakeTrainer:
        recipe = Recipe(epochs=1, batch_size=4)
        model = None

        def fit(self, x, y, validation=None, *, seed):
            seen.update(train=x, val=validation[0], seed=seed)
            return {"epoch": [1], "best_epoch": 1}

        def predict(self, x, **kw):
            seen["test"] = x
            return np.full((len(x), 3), 1 / 3, np.float32)

    res = V.pipeline.fit_predict(FakeTrainer(), data, split, progress=False)
    assert seen["seed"] == 7
    mean, std = np.mean(np.arange(10)), np.std(np.arange(10))
    assert seen["train"].mean() == pytest.approx(0, abs=1e-6)
    assert seen["test"][0, 0, 0] == pytest.approx((14 - mean) / std, rel=1e-4)   # train mean and std
    assert list(res.ids) == [f"song{i:03d}" for i in range(14, 18)]
    assert res.info["history"]["best_epoch"] == 1


# --------------------------------------------------------------------------- leaderboard entries
def test_board_demo_pools_time_and_keeps_the_parallel_models_256():
    """Under demo the two 4-output networks see the spectrogram averaged over 4 frames; the
    parallel model's pools then still flatten its CNN branch to the paper's 256."""
    assert V.BOARD["demo"]["time_pool"] == 4 and V.BOARD["demo"]["epochs"] == 10
    X = np.arange(2 * 10 * 3, dtype=np.float32).reshape(2, 10, 3)
    P = V.board.pool_time(X, 4)
    assert P.shape == (2, 2, 3)
    np.testing.assert_allclose(P[0, 1], X[0, 4:8].mean(axis=0))
    assert V.board.pool_time(X, 1) is X
    crnn, parallel = V.config.MODELS
    assert V.board.pooled_kwargs(crnn, 4) == {} and V.board.pooled_kwargs(parallel, 1) == {}
    with pytest.raises(ValueError, match="time_pool"):
        V.board.pooled_kwargs(parallel, 3)
    entries = V.quadrant_entries("demo")
    assert [e.units for e in entries] == [2, 2]
    assert entries[1].config["cnn_pools"] == V.board.PARALLEL_POOLS[4] and entries[0].config["time_pool"] == 4


@pytest.mark.backend
@pytest.mark.parametrize("pool", [1, 2, 4])
def test_board_parallel_model_flattens_to_256_on_a_pooled_input(pool):
    pytest.importorskip("keras")
    from mer_utils.models.crnn import build_parallel_cnn_rnn

    m = build_parallel_cnn_rnn((640 // pool, 128), 4, **V.board.pooled_kwargs(V.config.MODELS[1], pool))
    assert m.get_layer("cnn_flat").output.shape[-1] == 256


@pytest.mark.backend
def test_notebook_builder_uses_the_pools_of_its_time_pool():
    pytest.importorskip("keras")
    cfg = V.Config.for_profile("smoke")
    data = V.pipeline.Data(X=np.zeros((6, 160, 128), np.float32), y=np.array([0, 1, 2] * 2),
                           ids=np.arange(6).astype(str), labels=["calm", "happy", "sad"], table=pd.DataFrame(),
                           corpus="test")
    m = V.pipeline.builder(V.config.MODELS[1], cfg, data)()
    assert m.get_layer("cnn_flat").output.shape[-1] == 256 and m.output_shape == (None, 3)
