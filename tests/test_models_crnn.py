"""Velankar et al. CRNN and parallel CNN-RNN (mer_utils/models/crnn.py): output shapes and exact
parameter counts on the paper's 640 x 128 input, and that one training step through the
engine (mer_utils.training.Trainer) lowers the loss.

Parameter counts derived by hand (3 classes; Conv/Dense: inputs x units + biases):

CRNN (input 640 frames x 128 bands; the bands are the Conv1D channels)
  conv1  Conv1D(56, k=5) on 128 ch   5*128*56 + 56   = 35,896
  bn1    BatchNorm(56)               4*56            =    224  (gamma, beta trainable; mean, var not)
  conv2  Conv1D(56, k=5) on 56 ch    5*56*56 + 56    = 15,736
  bn2                                               =    224
  conv3                                             = 15,736
  bn3                                               =    224
  lstm   LSTM(96) on 56 features     4*(96*(56+96) + 96) = 58,752
  dense  Dense(64) on 96             96*64 + 64      =  6,208
  out    Dense(3) on 64              64*3 + 3        =    195
  total 133,195 = 132,859 trainable + 336 non-trainable (3 BN layers x 2 x 56)
  time steps: 640 -conv-> 636 -pool-> 318 -> 314 -> 157 -> 153 -> 76 into the LSTM

Parallel CNN-RNN (input 640 x 128 x 1)
  Conv2D(16, (3,1)) on 1 ch     3*1*16 + 16   =     64
  Conv2D(32, (3,1)) on 16 ch    3*16*32 + 32  =  1,568
  Conv2D(64, (3,1)) on 32 ch    3*32*64 + 64  =  6,208
  Conv2D(64, (3,1)) on 64 ch    3*64*64 + 64  = 12,352
  Conv2D(64, (3,1)) on 64 ch                  = 12,352
  -> CNN branch 32,544; map 4 x 1 x 64 = 256 after pools (2,2),(2,2),(2,2),(4,4),(4,4)
  BiGRU(64) on 64 features (Keras 3 GRU, reset_after=True: two bias vectors)
    per direction 3*(64*(64+64) + 2*64) = 24,960; both directions 49,920
  Dense(3) on 256 + 128 = 384   384*3 + 3 = 1,155
  total 32,544 + 49,920 + 1,155 = 83,619, all trainable

L2 ("both L2 and dropout regularization was used between all the layers") adds a penalty
to the loss and no weight, so the counts are the same with and without it.
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mer_utils.evaluation import parameter_count  # noqa: E402
from mer_utils.models.crnn import L2, build_crnn, build_parallel_cnn_rnn  # noqa: E402

pytestmark = pytest.mark.backend

CRNN_TOTAL, CRNN_TRAINABLE = 133_195, 132_859
PARALLEL_TOTAL = 83_619


def parameter_counts(model) -> dict[str, int]:
    """Total, trainable and non-trainable counts, from mer_utils.evaluation.parameter_count."""
    c = parameter_count(model)
    return {"total": c["parameters"], "trainable": c["trainable"], "non_trainable": c["parameters"] - c["trainable"]}


def test_crnn_shapes_and_parameter_count():
    m = build_crnn((640, 128), 3)
    assert m.input_shape == (None, 640, 128)
    assert m.output_shape == (None, 3)
    assert m.get_layer("pool3").output.shape[1:] == (76, 56)      # steps into the LSTM
    assert m.get_layer("lstm").output.shape[1:] == (96,)
    assert m.get_layer("dense").output.shape[1:] == (64,)
    counts = parameter_counts(m)
    assert counts == {"total": CRNN_TOTAL, "trainable": CRNN_TRAINABLE,
                      "non_trainable": CRNN_TOTAL - CRNN_TRAINABLE}
    assert m.count_params() == CRNN_TOTAL


def test_parallel_shapes_and_parameter_count():
    m = build_parallel_cnn_rnn((640, 128), 3)
    assert m.input_shape == (None, 640, 128)
    assert m.output_shape == (None, 3)
    assert m.get_layer("cnn_flat").output.shape[1:] == (256,)     # the paper's 256
    assert m.get_layer("rnn_seq").output.shape[1:] == (160, 64)   # (4, 2)-pooled spectrogram
    assert m.get_layer("bigru").output.shape[1:] == (128,)        # the paper's 128
    assert m.get_layer("concat").output.shape[1:] == (384,)       # the paper's 384
    counts = parameter_counts(m)
    assert counts == {"total": PARALLEL_TOTAL, "trainable": PARALLEL_TOTAL, "non_trainable": 0}


def test_parameter_count_follows_the_number_of_classes():
    # only the output layer changes: +1 class adds (64 + 1) and (384 + 1) weights
    assert parameter_counts(build_crnn(n_classes=4))["total"] == CRNN_TOTAL + 65
    assert parameter_counts(build_parallel_cnn_rnn(n_classes=4))["total"] == PARALLEL_TOTAL + 385


def _kernels(model):
    """(layer name, attribute, regulariser) for every kernel of the model (wrapped RNNs too)."""
    out = []
    for layer in model.layers:
        cells = [layer]
        if isinstance(layer, keras.layers.Bidirectional):
            cells = [layer.forward_layer.cell, layer.backward_layer.cell]
        elif isinstance(layer, keras.layers.RNN):
            cells = [layer.cell]
        for c in cells:
            for attr, reg in (("kernel", "kernel_regularizer"), ("recurrent_kernel", "recurrent_regularizer")):
                if getattr(c, attr, None) is not None:
                    out.append((layer.name, attr, getattr(c, reg, None)))
    return out


@pytest.mark.parametrize("build, n_kernels", [(build_crnn, 3 + 2 + 2), (build_parallel_cnn_rnn, 5 + 4 + 1)])
def test_l2_on_every_kernel(build, n_kernels):
    # CRNN: 3 convolutions, the LSTM's input and recurrent kernels, dense, output;
    # parallel: 5 convolutions, the BiGRU's 2 x (input, recurrent), output
    m = build(l2=3e-4)
    kernels = _kernels(m)
    assert len(kernels) == n_kernels
    for name, attr, reg in kernels:
        assert isinstance(reg, keras.regularizers.L2), f"{name}.{attr} has no L2"
        assert reg.l2 == pytest.approx(3e-4)
    # the penalty the loss receives is l2 * sum of squared kernels (biases and BN excluded)
    penalty = float(keras.ops.sum(keras.ops.stack([keras.ops.convert_to_tensor(l) for l in m.losses])))
    squares = sum(float(np.sum(np.square(w.numpy()))) for w in m.weights
                  if w.path.endswith("kernel") or w.path.endswith("recurrent_kernel"))
    assert penalty == pytest.approx(3e-4 * squares, rel=1e-4)
    assert parameter_counts(m) == parameter_counts(build(l2=0.0))    # L2 adds no weights


def test_l2_default_and_off():
    assert L2 > 0
    assert all(isinstance(r, keras.regularizers.L2) and r.l2 == pytest.approx(L2)
               for _, _, r in _kernels(build_crnn()))
    off = build_crnn(l2=0.0)
    assert all(r is None for _, _, r in _kernels(off)) and not off.losses
    with pytest.raises(ValueError, match="L2 weight"):
        build_crnn(l2=-1.0)


def test_forward_pass_gives_probabilities():
    x = np.random.default_rng(0).normal(size=(2, 640, 128)).astype("float32")
    for build in (build_crnn, build_parallel_cnn_rnn):
        p = keras.ops.convert_to_numpy(build()(x, training=False))  # any backend
        assert p.shape == (2, 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="frames, bands"):
        build_crnn((640, 128, 1))
    with pytest.raises(ValueError, match="one entry per CNN block"):
        build_parallel_cnn_rnn(cnn_filters=(16, 32))


@pytest.mark.parametrize("build", [build_crnn, build_parallel_cnn_rnn])
def test_one_training_step_reduces_the_loss(build):
    from functools import partial

    from mer_utils.config import seed_everything
    from mer_utils.training import Recipe, Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 640, 128)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2])

    def loss(model):  # eager, in training mode (batch statistics), so no extra graph tracing
        p = model(x, training=True)
        return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, p)))

    seed_everything(0)
    before = loss(build(dropout=0.0))                 # the weights the trainer starts from (init_seed 0)
    # one epoch of one batch = one step; eager: tracing would cost more than the step
    trainer = Trainer(partial(build, dropout=0.0), Recipe(epochs=1, batch_size=6, execution="eager"))
    hist = trainer.fit(x, y, seed=0)
    assert hist["epoch"] == [1]
    assert loss(trainer.model) < before
