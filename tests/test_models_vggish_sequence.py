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
    from mer_utils.evaluation.multilabel import macro_roc_auc

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


@pytest.mark.parametrize("base", ["rf", "knn"])
def test_rakeld_takes_the_papers_bases(base):
    """RAkEL-d with the paper's bases ("training separate RF or kNN classifiers")."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = _problem(4)
    m = ml.FeatureMultiLabelModel("rakeld", base=base, base_params={"n_estimators": 20, "n_neighbors": 3},
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
    assert ml.make_base("rf").estimator.n_estimators == 100            # scikit-learn's default
    with pytest.raises(ValueError, match="unknown base"):
        ml.make_base("svm")


def test_fit_leaves_the_global_generators_as_they_were():
    import random

    X, Y = _problem(5)
    random.seed(123)
    np.random.seed(123)
    a, b = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(123)
    ml.FeatureMultiLabelModel("rakeld", seed=7).fit(X, Y)
    assert (random.random(), np.random.random()) == (a, b)


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


def test_cnn_down_samples_with_strides_not_pooling():
    """Sec. 3.3: "by applying strides and kernels we reduce the width and height"; the maps are
    then "pooled and flattened to a shape of (16, 128)"."""
    from mer_utils.models.javadi import build_javadi_cnn

    m = build_javadi_cnn((128, 1407), 59, compile=False)
    convs = [l for l in m.layers if l.name.startswith("conv")]
    assert [c.strides for c in convs] == [(2, 2)] * 4
    assert [c.filters for c in convs] == [16, 32, 64, 128]
    assert not any("Pooling2D" in type(l).__name__ and "Global" not in type(l).__name__ for l in m.layers)
    assert tuple(m.get_layer("relu4").output.shape[1:]) == (8, 88, 128)     # 128 x 1407 halved 4 times
    assert tuple(m.get_layer("pool_to_128").output.shape) == (None, 128)
    assert type(m.get_layer("pool_to_128")).__name__ == "GlobalAveragePooling2D"
    x = np.random.default_rng(1).normal(size=(16, 128, 1407)).astype("float32")   # the paper's batch
    assert m(x[:2]).shape == (2, 59)


def test_predict_scores_matches_predict():
    from mer_utils.models.javadi import build_javadi_cnn, predict_scores

    m = build_javadi_cnn((32, 40), 4, compile=False)
    x = np.random.default_rng(2).normal(size=(37, 32, 40)).astype("float32")
    np.testing.assert_allclose(predict_scores(m, x, batch_size=8), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert predict_scores(m, x[:0]).shape == (0, 4)


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
