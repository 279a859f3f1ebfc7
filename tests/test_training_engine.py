"""The one training engine (mer_utils.training.engine): it learns what is learnable and not
what is not, compiles once and resets per unit to exactly a fresh model, stops by its rules
(validation only, or training accuracy), keeps the paper's batch with micro-batches, switches
optimizer phases, and drives custom epoch steps."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mer_utils.training import (  # noqa: E402
    OptimizerSchedule, Phase, Recipe, Standardizer, TrainAccuracyStop, Trainer, ValidationStop,
    accumulation_steps, execution_kwargs)

pytestmark = pytest.mark.backend


def _build(n_in=4, n_classes=3, dropout=0.0):
    def build():
        inp = keras.Input((n_in,))
        h = keras.layers.Dense(32, activation="relu")(inp)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
        return keras.Model(inp, keras.layers.Dense(n_classes, activation="softmax")(h))
    return build


def _task(seed=0, n=240, n_classes=3):
    """Three classes set by the sign pattern of two inputs: easy to learn, well above chance."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype("float32")
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5]).astype(int)
    return X, y


def _acc(P, y):
    return float(np.mean(P.argmax(1) == y))


def test_learns_an_easy_task_and_not_shuffled_labels():
    X, y = _task(0)
    Xt, yt = _task(1)
    recipe = Recipe(epochs=40, batch_size=16, learning_rate=1e-2)
    trainer = Trainer(_build(), recipe)
    trainer.fit(X, y, seed=0)
    learned = _acc(trainer.predict(Xt), yt)
    # the same engine on permuted labels: nothing to learn, test accuracy near chance (1/3)
    y_perm = np.random.default_rng(5).permutation(y)
    trainer.fit(X, y_perm, seed=0)
    broken = _acc(trainer.predict(Xt), yt)
    assert learned >= 0.85, learned
    assert broken <= 0.55, broken
    assert learned - broken >= 0.35


def test_compiles_once_and_a_reset_unit_equals_a_fresh_model():
    X, y = _task(0)
    Xt, _ = _task(1)
    recipe = Recipe(epochs=3, batch_size=32, learning_rate=1e-2)
    # under torch, a Dropout layer without a seed of its own draws its masks from torch's global
    # generator, which a first fit advances differently: equal weights and batches, other masks
    dropout = 0.3 if keras.backend.backend() != "torch" else 0.0
    reused = Trainer(_build(dropout=dropout), recipe)
    reused.fit(X, y, seed=7)                         # a first unit, then a second one
    model = reused.model
    reused.fit(X[::-1].copy(), y[::-1].copy(), seed=11)
    assert reused.model is model and reused.fits == 2   # no new model, no new compile
    P_reused = reused.predict(Xt)
    fresh = Trainer(_build(dropout=dropout), recipe)
    fresh.fit(X[::-1].copy(), y[::-1].copy(), seed=11)
    np.testing.assert_allclose(P_reused, fresh.predict(Xt), rtol=1e-5, atol=1e-6)


def test_fixed_init_seed_starts_every_unit_from_the_same_weights():
    recipe = Recipe(epochs=1, batch_size=32)
    t = Trainer(_build(), recipe)
    X, y = _task(0)
    t.fit(X, y, seed=1, init_seed=0)
    t._reset(0)
    w0 = [w.copy() for w in t.model.get_weights()]
    t2 = Trainer(_build(), recipe)
    t2.fit(X, y, seed=2, init_seed=0)
    t2._reset(0)
    for a, b in zip(w0, t2.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_validation_stop_uses_validation_only_and_keeps_the_best_epoch():
    X, y = _task(0, n_classes=3)
    Xv, yv = _task(1)
    yv = (yv + 1) % 3                                   # validation follows another rule
    t = Trainer(_build(), Recipe(epochs=30, batch_size=16, learning_rate=0.05,
                                 stop=ValidationStop(patience=3)))
    hist = t.fit(X, y, validation=(Xv, yv), seed=0)
    val = np.asarray(hist["val_loss"])
    assert hist["best_epoch"] == int(np.argmin(val)) + 1
    assert hist["stopped_early"] and hist["stopped_at"] == len(val) < 30
    assert len(hist["epoch_seconds"]) == len(val)
    now = t.model.evaluate(Xv, yv, verbose=0, return_dict=True)["loss"]
    assert now == pytest.approx(val.min(), rel=1e-4)
    with pytest.raises(ValueError, match="validation"):
        t.fit(X, y, seed=0)                             # no validation rows given
    with pytest.raises(ValueError, match="validation metric"):
        ValidationStop(monitor="loss")


def test_train_accuracy_stop_fires_on_training_accuracy():
    X, y = _task(0)
    t = Trainer(_build(), Recipe(epochs=200, batch_size=16, learning_rate=1e-2,
                                 stop=TrainAccuracyStop(0.8)))
    hist = t.fit(X, y, seed=0)
    n = len(hist["epoch"])
    assert hist["stopped_at"] == n < 200
    assert hist["accuracy"][-1] >= 0.8 and max(hist["accuracy"][:-1] or [0]) < 0.8
    with pytest.raises(ValueError):
        TrainAccuracyStop(monitor="val_accuracy")


def test_micro_batches_keep_the_batch_size():
    assert accumulation_steps(150, 32, 1000) == 5          # 5 x 30
    assert accumulation_steps(16, None, 1000) == 1
    assert accumulation_steps(150, 32, 100) == 1           # fewer rows than one batch
    X, y = _task(0, n=300)
    t = Trainer(_build(), Recipe(epochs=2, batch_size=150, micro_batch=32))
    hist = t.fit(X, y, seed=0)
    assert hist["accumulation_steps"] == 5 and hist["batch_size"] == 150
    assert int(t.optimizer.iterations.numpy()) == 2 * 2    # one update per paper batch: 2 per epoch


def test_optimizer_phases_switch_and_restart_per_unit():
    X, y = _task(0)
    sched = OptimizerSchedule((Phase(0, "adam", 1e-2), Phase(2, "sgd", 1e-3)))
    t = Trainer(_build(), Recipe(epochs=4, batch_size=32, schedule=sched))
    hist = t.fit(X, y, seed=0)
    assert [p["optimizer"] for p in hist["phases"]] == ["adam", "sgd"]
    assert [(p["from"], p["to"]) for p in hist["phases"]] == [(0, 2), (2, 4)]
    assert len(hist["loss"]) == 4
    hist2 = t.fit(X, y, seed=0)                        # the next unit starts with Adam again
    assert hist2["loss"] == pytest.approx(hist["loss"], rel=1e-4)


class _CountingStep:
    """A custom step: plain gradient descent with the trainer's optimizer, via train_on_batch."""

    def begin(self, trainer, x, y):
        self.x, self.y = x, y

    def run_epoch(self, trainer, epoch):
        logs = trainer.model.train_on_batch(self.x, self.y, return_dict=True)
        return {"loss": float(logs["loss"]), "phase": "custom"}

    def end(self, trainer):
        return {"custom": True}


def test_custom_epoch_steps_plug_into_the_engine():
    X, y = _task(0)
    t = Trainer(_build(), Recipe(epochs=5, batch_size=len(X), learning_rate=1e-2))
    hist = t.fit(X, y, seed=0, step=_CountingStep())
    assert hist["epoch"] == [1, 2, 3, 4, 5] and hist["phase"] == ["custom"] * 5
    assert hist["custom"] is True and hist["loss"][-1] < hist["loss"][0]
    assert len(hist["epoch_seconds"]) == 5


def test_standardizer_uses_given_rows_only():
    X = np.arange(20, dtype="float32").reshape(10, 2)
    s = Standardizer(axis=-1).fit(X[:5])
    np.testing.assert_allclose(s.mean_, X[:5].mean(0))
    assert abs(float(s(X[:5]).mean())) < 1e-6


def test_execution_modes_per_backend():
    kw = execution_kwargs("eager")
    if keras.backend.backend() == "jax":
        assert kw == {"jit_compile": "auto", "run_eagerly": False}
    else:
        assert kw == {"jit_compile": False, "run_eagerly": True}
    with pytest.raises(ValueError):
        execution_kwargs("fast")
    with pytest.raises(ValueError):
        Recipe(epochs=0, batch_size=1)


def test_sabotage_switch_breaks_the_fit_and_is_recorded(monkeypatch):
    """MER_SABOTAGE=shuffle-labels (the switch the notebooks' learning checks are tested
    with) turns the easy task into one that cannot be learned, and says so in the history."""
    X, y = _task(0)
    Xt, yt = _task(1)
    trainer = Trainer(_build(), Recipe(epochs=40, batch_size=16, learning_rate=1e-2))
    monkeypatch.setenv("MER_SABOTAGE", "shuffle-labels")
    h = trainer.fit(X, y, seed=0)
    assert h["sabotage"] == "shuffle-labels"
    assert _acc(trainer.predict(Xt), yt) <= 0.55
    monkeypatch.setenv("MER_SABOTAGE", "something-else")
    with pytest.raises(ValueError, match="MER_SABOTAGE"):
        trainer.fit(X, y, seed=0)
    monkeypatch.delenv("MER_SABOTAGE")
    assert "sabotage" not in trainer.fit(X, y, seed=0)
