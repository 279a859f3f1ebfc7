"""Javadi et al. models: CNN / Transformer shapes, and the three feature-vector classifiers."""
import numpy as np
import pytest

from mer_utils.models import multilabel as ml


def _problem(seed=0, n=90, d=12, L=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :L] + 0.4 * rng.normal(size=(n, L)) > 0.6).astype(np.int8)
    Y[:, -1] = 0                     # a label never seen in training
    return X, Y


@pytest.mark.parametrize("name", ml.CLASSIFIER_NAMES)
def test_classifier_fits_predicts_and_learns(name):
    X, Y = _problem()
    m = ml.FeatureMultiLabelModel(name, seed=0).fit(X[:60], Y[:60])
    P = m.predict_proba(X[60:])
    assert P.shape == (30, 5) and P.dtype == np.float32
    assert np.isfinite(P).all() and P.min() >= 0 and P.max() <= 1
    from mer_utils.metrics_multilabel import macro_roc_auc

    auc, skipped = macro_roc_auc(Y[60:], P, return_skipped=True)
    assert skipped == 1 and auc > 0.7, (name, auc)
    assert m.predict(X[60:]).shape == (30, 5)
    P2 = ml.FeatureMultiLabelModel(name, seed=0).fit(X[:60], Y[:60]).predict_proba(X[60:])
    assert np.array_equal(P, P2)


def test_lp_fast_scores_equal_skmultilearn():
    X, Y = _problem(1)
    m = ml.FeatureMultiLabelModel("lp").fit(X[:60], Y[:60])
    ref = m.clf_.predict_proba(m.scaler_.transform(X[60:])).toarray()
    assert np.abs(m.predict_proba(X[60:]) - ref).max() < 1e-6


def test_scaler_is_fitted_on_training_data_only():
    X, Y = _problem(2)
    X_test = X[60:] + 100.0
    m = ml.FeatureMultiLabelModel("mlknn").fit(X[:60], Y[:60])
    assert np.allclose(m.scaler_.mean_, X[:60].mean(axis=0))
    m.predict_proba(X_test)
    assert np.allclose(m.scaler_.mean_, X[:60].mean(axis=0))


def test_one_class_subproblem_does_not_crash():
    X, _ = _problem(3, n=20)
    Y = np.zeros((20, 4), np.int8)
    Y[:, 0] = 1                                       # every LP sub-problem sees one combination
    for name in ("lp", "rakeld"):
        P = ml.FeatureMultiLabelModel(name).fit(X, Y).predict_proba(X)
        assert P.shape == (20, 4)
        assert np.allclose(P[:, 0], 1) and np.allclose(P[:, 1:], 0)


def test_unknown_classifier_and_bad_features():
    with pytest.raises(ValueError, match="unknown multi-label classifier"):
        ml.make_classifier("svm")
    X, Y = _problem()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ml.FeatureMultiLabelModel("lp").fit(X, Y)


# --------------------------------------------------------------------------- Keras models
keras = pytest.importorskip("keras")


def test_to_model_input_transposes_and_crops():
    from mer_utils.models.javadi import to_model_input

    X = np.arange(2 * 10 * 4, dtype=np.float32).reshape(2, 10, 4)   # (n, frames, bands)
    Z = to_model_input(X, max_frames=6)
    assert Z.shape == (2, 4, 6)
    assert np.array_equal(Z[0], X[0, 2:8].T)


def test_cnn_output_shape_and_structure():
    from mer_utils.models.javadi import build_javadi_cnn

    m = build_javadi_cnn((128, 160), 59, filters=(8, 16, 32, 128))
    x = np.random.default_rng(0).normal(size=(3, 128, 160)).astype("float32")
    y = m.predict(x, verbose=0)
    assert y.shape == (3, 59) and (y > 0).all() and (y < 1).all()
    assert m.get_layer("pool_to_128").output.shape[-1] == 128
    assert sum(l.name.startswith("conv") for l in m.layers) == 4
    assert m.get_layer("sigmoid").activation.__name__ == "sigmoid"
    assert float(m.optimizer.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="128"):
        build_javadi_cnn((128, 160), 5, filters=(8, 16, 32, 64))


def test_cnn_accepts_variable_length():
    from mer_utils.models.javadi import build_javadi_cnn

    m = build_javadi_cnn((128, None), 5, filters=(4, 8, 8, 128), compile=False)
    assert m(np.zeros((1, 128, 64), "float32")).shape == (1, 5)
    assert m(np.zeros((1, 128, 100), "float32")).shape == (1, 5)


def test_transformer_output_shape_and_training_step():
    from mer_utils.models.javadi import build_javadi_transformer, train_multilabel

    m = build_javadi_transformer((128, 64), 8, patch_size=(16, 16), d_model=16, num_heads=2,
                                 num_layers=1, mlp_dim=32)
    assert m.get_layer("patches").output.shape[1:] == (8 * 4, 16)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 128, 64)).astype("float32")
    y = (rng.random((16, 8)) > 0.7).astype("float32")
    assert m.predict(x[:2], verbose=0).shape == (2, 8)
    hist = train_multilabel(m, x[:12], y[:12], x[12:], y[12:], epochs=1, batch_size=4,
                            patience=1, seed=0)
    assert "val_loss" in hist
    with pytest.raises(ValueError, match="patch"):
        build_javadi_transformer((8, 64), 3)
