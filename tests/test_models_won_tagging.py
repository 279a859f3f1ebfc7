"""Won et al.'s tagging networks as Louro et al. use them (mer_utils.models.won_tagging):
output shapes and exact parameter counts at the paper's input sizes (Table 1), derived by hand below (4 classes; Conv/Dense = inputs x units +
biases; BatchNorm = 4 per channel, of which the moving mean and variance are not trainable;
Keras 3 GRU with reset_after=True = 3 x (units x (inputs + units) + 2 x units)).

CRNN (Choi 2017 in Won's collection), 942 x 128
  spec BN 4; Conv_2d 1->64: 640 + BN 256; 64->128: 73,856 + 512; 128->128: 147,584 + 512 (x2)
  time 942 -> 471 -> 157 -> 39 -> 9, bands 128 -> 64 -> 21 -> 5 -> 1: 9 steps of 128
  GRU(32) on 128: 3*(32*160 + 64) = 15,552; GRU(32) on 32: 6,336; Dense(4) 132
  total 393,480 (898 not trainable: 2 + 2*(64+128+128+128))

ShortChunk CNN (Won et al.), 116 x 128
  spec BN 4; convs 1280, 147,584, 295,168, 3 x 590,080, 1,180,160; their BNs 512+512+1024+3*1024+2048
  Dense(512) 262,656; BN 2,048; softmax 2,052 -> total 3,668,360 (4,610 not trainable)

SampleCNN (Lee et al. 3^9), 59,049 samples
  conv(128, 3, stride 3) 512 + BN 512; 128->128 (k3) 49,280 + 512 (x2); 128->256 98,560 + 1,024;
  256->256 196,864 + 1,024 (x5); 256->512 393,728 + 2,048; 512->512 (k1) 262,656 + 2,048;
  softmax 2,052 -> total 1,852,164 (5,888 not trainable); 59,049 / 3^10 = 1 step before the dense
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend

from mer_utils.evaluation import parameter_count  # noqa: E402
from mer_utils.models import won_tagging as W  # noqa: E402


def _counts(model):
    c = parameter_count(model)
    return {"total": c["parameters"], "trainable": c["trainable"], "non_trainable": c["parameters"] - c["trainable"]}


def test_crnn_shape_and_count():
    m = W.build_won_crnn((942, 128), 4)
    assert m.output_shape == (None, 4)
    assert m.get_layer("as_sequence").output.shape[1:] == (9, 128)
    assert _counts(m) == {"total": 393_480, "trainable": 392_582, "non_trainable": 898}
    with pytest.raises(ValueError, match="too small"):
        W.build_won_crnn((60, 128), 4)


def test_shortchunk_shape_and_count():
    m = W.build_shortchunk_cnn((116, 128), 4)
    assert m.output_shape == (None, 4)
    assert m.get_layer("layer7_pool").output.shape[1:] == (1, 1, 512)   # ceil pools: 116 frames -> 1
    assert _counts(m) == {"total": 3_668_360, "trainable": 3_663_750, "non_trainable": 4_610}


def test_samplecnn_shape_and_count():
    m = W.build_samplecnn(59049, 4)
    assert m.input_shape == (None, 59049) and m.output_shape == (None, 4)
    assert m.get_layer("layer10_pool").output.shape[1:] == (1, 512)
    assert _counts(m) == {"total": 1_852_164, "trainable": 1_846_276, "non_trainable": 5_888}
    with pytest.raises(ValueError, match="too few"):
        W.build_samplecnn(3 ** 9, 4)
