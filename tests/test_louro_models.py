"""The methods-comparison paper's networks: output shapes and exact parameter counts at the
paper's input sizes (Table 1), derived by hand below (4 classes; Conv/Dense = inputs x units +
biases; BatchNorm = 4 per channel, of which the moving mean and variance are not trainable;
Keras 3 GRU with reset_after=True = 3 x (units x (inputs + units) + 2 x units)).

DL baseline, 942 x 128 x 1 (mer_utils.models.louro.build_baseline_cnn)
  conv_1  Conv2D(16, 5x5) on 1 ch      25*1*16 + 16   =     416   938x124 -> pool 2x2 (ceil) 469x62
  conv_2  Conv2D(16, 5x5) on 16 ch     25*16*16 + 16  =   6,416   465x58  -> 233x29
  conv_3                                              =   6,416   229x25  -> pool 3x2  77x13
  conv_4                                              =   6,416    73x9   -> pool 3x2  25x5
  3 BatchNorm(16)                      3*4*16         =     192   (96 not trainable)
  flatten 25*5*16 = 2,000; Dense(300)  2000*300 + 300 = 600,300
  softmax Dense(4)                     300*4 + 4      =   1,204
  total 621,360 (621,264 trainable)

Baseline with GRU (ours: over the 25 time steps of 5*16 = 80 values)
  conv blocks 19,664 (as above); GRU(32) on 80: 3*(32*(80+32) + 64) = 10,944;
  GRU(32) on 32: 3*(32*64 + 64) = 6,336; Dense(300) 32*300+300 = 9,900; Dense(75) 300*75+75 =
  22,575; softmax 75*4+4 = 304 -> total 69,723 + 192 BN = 69,915 (69,819 trainable)
  released variant (GRU(2000) x 2 over one step of 2,000): 3*(2000*4000 + 4000) = 24,012,000
  per GRU -> 19,664 + 48,024,000 + Dense(300) 600,300 + 22,575 + 304 + 192 = 48,667,035

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

Feature DNN on 1,714 features: BN 6,856; 1714*500+500 = 857,500; 150,300; 30,100; 404 -> 1,045,160
Hybrid on top of the two (softmaxes dropped): BN(400) 1,600; 400*200+200 = 80,200; 20,100; 404
  -> 102,304 head (101,504 trainable) + 620,156 + 1,044,756 frozen = 1,767,216
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mer_utils.models import louro as L  # noqa: E402
from mer_utils.models import tagging as T  # noqa: E402


def _counts(model):
    return L.parameter_counts(model)


def test_dl_baseline_shape_and_count():
    m = L.build_baseline_cnn()
    assert m.input_shape == (None, 942, 128) and m.output_shape == (None, 4)
    assert m.get_layer("mp_4").output.shape[1:] == (25, 5, 16)
    assert m.get_layer("flatten").output.shape[1:] == (2000,)
    assert _counts(m) == {"total": 621_360, "trainable": 621_264, "non_trainable": 96}


def test_baseline_gru_over_time_and_released_variant():
    m = L.build_baseline_gru()
    assert m.output_shape == (None, 4)
    assert m.get_layer("as_sequence").output.shape[1:] == (25, 80)     # 25 time steps reach the GRUs
    assert _counts(m) == {"total": 69_915, "trainable": 69_819, "non_trainable": 96}
    r = L.build_baseline_gru(time_axis=False, gru_units=2000)
    assert r.get_layer("as_one_step").output.shape[1:] == (1, 2000)     # the released code's one step
    assert r.count_params() == 48_667_035


def test_crnn_shape_and_count():
    m = T.build_crnn((942, 128), 4)
    assert m.output_shape == (None, 4)
    assert m.get_layer("as_sequence").output.shape[1:] == (9, 128)
    assert _counts(m) == {"total": 393_480, "trainable": 392_582, "non_trainable": 898}
    with pytest.raises(ValueError, match="too small"):
        T.build_crnn((60, 128), 4)


def test_shortchunk_shape_and_count():
    m = T.build_shortchunk_cnn((116, 128), 4)
    assert m.output_shape == (None, 4)
    assert m.get_layer("layer7_pool").output.shape[1:] == (1, 1, 512)   # ceil pools: 116 frames -> 1
    assert _counts(m) == {"total": 3_668_360, "trainable": 3_663_750, "non_trainable": 4_610}


def test_samplecnn_shape_and_count():
    m = T.build_samplecnn(59049, 4)
    assert m.input_shape == (None, 59049) and m.output_shape == (None, 4)
    assert m.get_layer("layer10_pool").output.shape[1:] == (1, 512)
    assert _counts(m) == {"total": 1_852_164, "trainable": 1_846_276, "non_trainable": 5_888}
    with pytest.raises(ValueError, match="too few"):
        T.build_samplecnn(3 ** 9, 4)


def test_feature_dnn_and_hybrid_counts_and_frozen_branches():
    cnn, dnn = L.build_baseline_cnn(), L.build_feature_dnn(1714)
    assert _counts(dnn)["total"] == 1_045_160
    h = L.build_hybrid(cnn, dnn)
    assert [tuple(i.shape[1:]) for i in h.inputs] == [(942, 128), (1714,)]
    assert h.output_shape == (None, 4)
    c = _counts(h)
    assert c["total"] == 1_767_216 and c["trainable"] == 101_504


def test_hybrid_keeps_pretrained_weights_frozen():
    cnn, dnn = L.build_baseline_cnn((96, 128)), L.build_feature_dnn(10)
    h = L.build_hybrid(cnn, dnn)
    h.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in cnn.get_weights()] + [w.copy() for w in dnn.get_weights()]
    rng = np.random.default_rng(0)
    h.fit([rng.normal(size=(8, 96, 128)).astype("float32"), rng.normal(size=(8, 10)).astype("float32")],
          rng.integers(0, 4, 8), epochs=1, verbose=0)
    after = cnn.get_weights() + dnn.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
