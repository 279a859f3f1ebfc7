"""Javadi et al.'s networks (mer_utils/models/vggish_sequence.py): CNN / Transformer shapes and
structure, and one training run of each through the engine (mer_utils.training.Trainer)."""
import numpy as np
import pytest

pytestmark = pytest.mark.backend

# --------------------------------------------------------------------------- Keras models
keras = pytest.importorskip("keras")


def test_to_model_input_transposes_and_crops():
    from mer_utils.models.vggish_sequence import to_model_input

    X = np.arange(2 * 10 * 4, dtype=np.float32).reshape(2, 10, 4)   # (n, frames, bands)
    Z = to_model_input(X, max_frames=6)
    assert Z.shape == (2, 4, 6)
    assert np.array_equal(Z[0], X[0, 2:8].T)


def test_cnn_output_shape_and_structure():
    from mer_utils.models.vggish_sequence import build_javadi_cnn

    m = build_javadi_cnn((128, 160), 59, filters=(8, 16, 32, 128))
    x = np.random.default_rng(0).normal(size=(3, 128, 160)).astype("float32")
    y = m.predict(x, verbose=0)
    assert y.shape == (3, 59) and (y > 0).all() and (y < 1).all()
    assert m.get_layer("pool_to_128").output.shape[-1] == 128
    assert sum(l.name.startswith("conv") for l in m.layers) == 4
    assert m.get_layer("sigmoid").activation.__name__ == "sigmoid"
    with pytest.raises(ValueError, match="128"):
        build_javadi_cnn((128, 160), 5, filters=(8, 16, 32, 64))


def test_cnn_down_samples_with_strides_not_pooling():
    """Sec. 3.3: "by applying strides and kernels we reduce the width and height"; the maps are
    then "pooled and flattened to a shape of (16, 128)"."""
    from mer_utils.models.vggish_sequence import build_javadi_cnn

    m = build_javadi_cnn((128, 1407), 59)
    convs = [l for l in m.layers if l.name.startswith("conv")]
    assert [c.strides for c in convs] == [(2, 2)] * 4
    assert [c.filters for c in convs] == [16, 32, 64, 128]
    assert not any("Pooling2D" in type(l).__name__ and "Global" not in type(l).__name__ for l in m.layers)
    assert tuple(m.get_layer("relu4").output.shape[1:]) == (8, 88, 128)     # 128 x 1407 halved 4 times
    assert tuple(m.get_layer("pool_to_128").output.shape) == (None, 128)
    assert type(m.get_layer("pool_to_128")).__name__ == "GlobalAveragePooling2D"
    x = np.random.default_rng(1).normal(size=(16, 128, 1407)).astype("float32")   # the paper's batch
    assert m(x[:2]).shape == (2, 59)


def test_trainer_predict_matches_predict():
    """Scores come from the engine (Trainer.predict), batch by batch, as the model's own predict."""
    from functools import partial

    from mer_utils.models.vggish_sequence import build_javadi_cnn
    from mer_utils.training import Recipe, Trainer

    rng = np.random.default_rng(2)
    x = rng.normal(size=(37, 32, 40)).astype("float32")
    y = (rng.random((37, 4)) > 0.5).astype("float32")
    t = Trainer(partial(build_javadi_cnn, (32, 40), 4), Recipe(epochs=1, batch_size=8, loss="binary_crossentropy",
                                                              metrics=(), execution="eager"))
    t.fit(x, y, seed=0)
    np.testing.assert_allclose(t.predict(x, batch_size=8), t.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert t.predict(x[:0]).shape == (0, 4)


def test_cnn_accepts_variable_length():
    from mer_utils.models.vggish_sequence import build_javadi_cnn

    m = build_javadi_cnn((128, None), 5, filters=(4, 8, 8, 128))
    assert m(np.zeros((1, 128, 64), "float32")).shape == (1, 5)
    assert m(np.zeros((1, 128, 100), "float32")).shape == (1, 5)


def test_transformer_output_shape_and_training_step():
    from functools import partial

    from mer_utils.models.vggish_sequence import build_javadi_transformer
    from mer_utils.training import Recipe, Trainer, ValidationStop

    build = partial(build_javadi_transformer, (128, 64), 8, patch_size=(16, 16), d_model=16, num_heads=2,
                    num_layers=1, mlp_dim=32)
    m = build()
    assert m.get_layer("patches").output.shape[1:] == (8 * 4, 16)
    assert getattr(m, "optimizer", None) is None                # the builder only builds
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 128, 64)).astype("float32")
    y = (rng.random((16, 8)) > 0.7).astype("float32")
    assert m.predict(x[:2], verbose=0).shape == (2, 8)
    # the paper's recipe through the engine: binary cross-entropy, no metric, early stopping on validation
    recipe = Recipe(epochs=1, batch_size=4, loss="binary_crossentropy", metrics=(), stop=ValidationStop(1),
                    execution="eager")
    hist = Trainer(build, recipe).fit(x[:12], y[:12], validation=(x[12:], y[12:]), seed=0)
    assert "val_loss" in hist and "val_accuracy" not in hist
    with pytest.raises(ValueError, match="patch"):
        build_javadi_transformer((8, 64), 3)
