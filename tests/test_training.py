"""Generic training helpers: early stopping and weight selection use validation data only,
best weights are restored, scaling statistics come from training rows only."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mer_utils.results import load_predictions  # noqa: E402
from mer_utils.training import (  # noqa: E402
    Standardizer, compile_classifier, execution_kwargs, fit, predict_proba, train_and_predict,
    train_over_seeds,
)


def _tiny_model(n_in=4, n_classes=2):
    inp = keras.Input((n_in,))
    out = keras.layers.Dense(n_classes, activation="softmax")(keras.layers.Dense(16, activation="relu")(inp))
    return keras.Model(inp, out)


def _data(seed=0, n=64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    return X, y


def test_early_stopping_uses_validation_only_and_restores_best_weights():
    keras.utils.set_random_seed(0)
    X, y = _data()
    # validation labels are the opposite rule: as the model learns the training task,
    # validation loss rises, so the best epoch (on validation) is an early one.
    Xv, yv = _data(seed=1)
    yv = 1 - yv
    model = compile_classifier(_tiny_model(), learning_rate=0.05)
    hist = fit(model, (X, y), (Xv, yv), epochs=30, batch_size=16, patience=3, seed=0)
    val = np.asarray(hist["val_loss"])
    assert hist["best_epoch"] == int(np.argmin(val)) + 1
    assert hist["stopped_early"] and len(val) < 30
    assert hist["loss"][-1] < hist["loss"][0]              # training loss kept falling
    # the weights in the model are the best epoch's: their validation loss is the minimum
    now = model.evaluate(Xv, yv, verbose=0, return_dict=True)["loss"]
    assert now == pytest.approx(val.min(), rel=1e-4)


def test_best_weights_restored_even_without_early_stop():
    keras.utils.set_random_seed(0)
    X, y = _data()
    Xv, yv = _data(seed=1)
    yv = 1 - yv
    model = compile_classifier(_tiny_model(), learning_rate=0.05)
    hist = fit(model, (X, y), (Xv, yv), epochs=6, batch_size=16, patience=None, seed=0)
    assert len(hist["epoch"]) == 6 and not hist["stopped_early"]
    now = model.evaluate(Xv, yv, verbose=0, return_dict=True)["loss"]
    assert now == pytest.approx(min(hist["val_loss"]), rel=1e-4)


def test_fit_refuses_training_metrics_and_missing_validation():
    X, y = _data()
    model = compile_classifier(_tiny_model())
    with pytest.raises(ValueError, match="validation metric"):
        fit(model, (X, y), (X, y), epochs=1, batch_size=8, monitor="loss")
    with pytest.raises(ValueError, match="validation data"):
        fit(model, (X, y), None, epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="compile"):
        fit(_tiny_model(), (X, y), (X, y), epochs=1, batch_size=8)


def test_fit_is_seeded():
    """fit() seeds shuffling itself: the global state before the call must not matter.

    Both runs start from the same initial weights; the global generators are left in
    different states before each call, so the two runs agree only if fit reseeds.
    """
    X, y = _data()
    Xv, yv = _data(seed=1)
    keras.utils.set_random_seed(11)
    template = _tiny_model()
    w0 = template.get_weights()
    runs = []
    for disturb in (1, 2, 1):
        m = compile_classifier(_tiny_model())
        m.set_weights(w0)
        keras.utils.set_random_seed(disturb)       # a different global state before each fit
        seed = 5 if len(runs) < 2 else 6
        runs.append(fit(m, (X, y), (Xv, yv), epochs=3, batch_size=8, seed=seed)["loss"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6)
    # and the seed argument is what decides: another seed gives another shuffling
    assert not np.allclose(runs[0], runs[2], rtol=1e-6)


def test_standardizer_uses_given_rows_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(50, 10, 3)).astype("float32")
    test = rng.normal(-100.0, 1.0, size=(5, 10, 3)).astype("float32")
    s = Standardizer().fit(train)
    assert abs(float(s(train).mean())) < 1e-4 and float(s(train).std()) == pytest.approx(1, abs=1e-3)
    assert float(s(test).mean()) < -40                         # test statistics never used
    per = Standardizer(axis=-1).fit(train)
    assert per.mean_.shape == (3,)
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(train)


def test_train_and_predict_scores_test_rows_only():
    X, y = _data(n=60)
    split = {"train": np.arange(0, 36), "validation": np.arange(36, 48), "test": np.arange(48, 60)}
    r = train_and_predict(lambda: _tiny_model(), X, y, split, epochs=3, batch_size=8,
                          patience=2, seed=0)
    assert r.y_score.shape == (12, 2)
    np.testing.assert_array_equal(r.test_index, split["test"])
    np.testing.assert_allclose(r.y_score, predict_proba(r.model, r.scaler(X[48:])), rtol=1e-5)
    # scaler statistics are the training rows'
    assert float(r.scaler.mean_) == pytest.approx(float(X[:36].mean()), rel=1e-5)
    bad = dict(split, test=np.arange(40, 52))
    with pytest.raises(ValueError, match="overlap"):
        train_and_predict(lambda: _tiny_model(), X, y, bad, epochs=1, batch_size=8, patience=1)


def test_train_over_seeds_stores_one_fold_per_seed(tmp_path):
    X, y = _data(n=60)
    ids = [f"t{i}" for i in range(60)]
    splits = {3: {"train": np.arange(0, 36), "validation": np.arange(36, 48), "test": np.arange(48, 60)},
              7: {"train": np.arange(12, 48), "validation": np.arange(48, 60), "test": np.arange(0, 12)}}
    hists = train_over_seeds(lambda: _tiny_model(), X, y, ids, ["neg", "pos"], splits,
                             results_dir=tmp_path, experiment="tiny", epochs=2, batch_size=16,
                             patience=1, meta={"model": "tiny"}, progress=False)
    assert sorted(hists) == [3, 7]
    folds = load_predictions(tmp_path, "tiny")
    assert [(f.repeat, f.fold, f.seed) for f in folds] == [(0, 0, 3), (1, 0, 7)]
    assert list(folds[1].ids) == ids[:12]                          # seed 7's test rows
    np.testing.assert_array_equal(folds[0].y_true, y[48:])
    assert folds[0].meta["model"] == "tiny" and folds[1].info["history"]["epoch"]
    assert hists[7]["epoch"] == folds[1].info["history"]["epoch"]
    # a rerun with the same settings trains nothing and returns the stored histories
    again = train_over_seeds(lambda: 1 / 0, X, y, ids, ["neg", "pos"], splits,
                             results_dir=tmp_path, experiment="tiny", epochs=2, batch_size=16,
                             patience=1, meta={"model": "tiny"}, progress=False)
    assert again == hists


def test_execution_modes_per_backend():
    """TensorFlow / torch: the modes are Keras's own switches, as the paper modules passed them
    before; JAX: every mode compiles the step (its eager mode compiles each primitive)."""
    modes = {m: execution_kwargs(m) for m in ("xla", "graph", "eager")}
    if keras.backend.backend() == "jax":
        assert all(kw == {"jit_compile": "auto", "run_eagerly": False} for kw in modes.values())
    else:
        assert modes == {"xla": {"jit_compile": "auto", "run_eagerly": False},
                         "graph": {"jit_compile": False, "run_eagerly": False},
                         "eager": {"jit_compile": False, "run_eagerly": True}}
        model = compile_classifier(_tiny_model(), **modes["eager"])
        assert model.run_eagerly and not model.jit_compile
    with pytest.raises(ValueError, match="execution must be one of"):
        execution_kwargs("fast")
