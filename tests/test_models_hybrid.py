"""Louro et al.'s feature DNN and Hybrid (mer_utils.models.hybrid): exact parameter counts
at the paper's input sizes (Table 1), derived by hand below (4 classes; Conv/Dense = inputs x units +
biases; BatchNorm = 4 per channel, of which the moving mean and variance are not trainable;
Keras 3 GRU with reset_after=True = 3 x (units x (inputs + units) + 2 x units)).

Feature DNN on 1,714 features: BN 6,856; 1714*500+500 = 857,500; 150,300; 30,100; 404 -> 1,045,160
Hybrid on top of the two (softmaxes dropped): BN(400) 1,600; 400*200+200 = 80,200; 20,100; 404
  -> 102,304 head (101,504 trainable) + 620,156 + 1,044,756 frozen = 1,767,216
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend

from mer_utils.evaluation import parameter_count  # noqa: E402
from mer_utils.models import hybrid as H  # noqa: E402
from mer_utils.models.mel_cnn import build_baseline_cnn  # noqa: E402


def _counts(model):
    c = parameter_count(model)
    return {"total": c["parameters"], "trainable": c["trainable"], "non_trainable": c["parameters"] - c["trainable"]}


def test_feature_dnn_and_hybrid_counts_and_frozen_branches():
    cnn, dnn = build_baseline_cnn(), H.build_feature_dnn(1714)
    assert _counts(dnn)["total"] == 1_045_160
    h = H.build_hybrid(cnn, dnn)
    assert [tuple(i.shape[1:]) for i in h.inputs] == [(942, 128), (1714,)]
    assert h.output_shape == (None, 4)
    c = _counts(h)
    assert c["total"] == 1_767_216 and c["trainable"] == 101_504


def test_hybrid_keeps_pretrained_weights_frozen():
    from mer_utils.training import Recipe, Trainer

    cnn, dnn = build_baseline_cnn((96, 128)), H.build_feature_dnn(10)
    before = [w.copy() for w in cnn.get_weights()] + [w.copy() for w in dnn.get_weights()]
    trainer = Trainer(lambda: H.build_hybrid(cnn, dnn), Recipe(epochs=1, batch_size=8, optimizer="sgd",
                                                              learning_rate=0.5, execution="eager"))
    rng = np.random.default_rng(0)
    trainer.fit([rng.normal(size=(8, 96, 128)).astype("float32"), rng.normal(size=(8, 10)).astype("float32")],
                rng.integers(0, 4, 8), seed=0)
    after = cnn.get_weights() + dnn.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
