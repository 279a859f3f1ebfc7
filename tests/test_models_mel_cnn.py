"""Louro et al.'s mel-spectrogram CNNs (mer_utils.models.mel_cnn): output shapes and exact
parameter counts at the paper's input sizes (Table 1), derived by hand below (4 classes; Conv/Dense = inputs x units +
biases; BatchNorm = 4 per channel, of which the moving mean and variance are not trainable;
Keras 3 GRU with reset_after=True = 3 x (units x (inputs + units) + 2 x units)).


DL baseline, 942 x 128 x 1 (mer_utils.models.mel_cnn.build_baseline_cnn)
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
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend

from mer_utils.evaluation import parameter_count  # noqa: E402
from mer_utils.models import mel_cnn as M  # noqa: E402


def _counts(model):
    c = parameter_count(model)
    return {"total": c["parameters"], "trainable": c["trainable"], "non_trainable": c["parameters"] - c["trainable"]}


def test_dl_baseline_shape_and_count():
    m = M.build_baseline_cnn()
    assert m.input_shape == (None, 942, 128) and m.output_shape == (None, 4)
    assert m.get_layer("mp_4").output.shape[1:] == (25, 5, 16)
    assert m.get_layer("flatten").output.shape[1:] == (2000,)
    assert _counts(m) == {"total": 621_360, "trainable": 621_264, "non_trainable": 96}


def test_baseline_gru_over_time_and_released_variant():
    m = M.build_baseline_gru()
    assert m.output_shape == (None, 4)
    assert m.get_layer("as_sequence").output.shape[1:] == (25, 80)     # 25 time steps reach the GRUs
    assert _counts(m) == {"total": 69_915, "trainable": 69_819, "non_trainable": 96}
    r = M.build_baseline_gru(time_axis=False, gru_units=2000)
    assert r.get_layer("as_one_step").output.shape[1:] == (1, 2000)     # the released code's one step
    assert r.count_params() == 48_667_035
