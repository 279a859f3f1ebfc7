"""Won et al.'s PyTorch CRNN weights (best_model.pth) -> the Keras CRNN
(mer_utils.models.won_torch), for Louro et al.'s "CRNN Pre-trained MTAT" row."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend


def _torch_crnn(channels=(4, 8, 8, 8), n_class=5):
    """Won et al.'s CRNN module layout (training/model.py), small channels, softmax head."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Conv_2d(nn.Module):
        def __init__(self, i, o, pooling):
            super().__init__()
            self.conv = nn.Conv2d(i, o, 3, padding=1)
            self.bn = nn.BatchNorm2d(o)
            self.relu = nn.ReLU()
            self.mp = nn.MaxPool2d(pooling)

        def forward(self, x):
            return self.mp(self.relu(self.bn(self.conv(x))))

    class CRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.spec_bn = nn.BatchNorm2d(1)
            self.layer1, self.layer2 = Conv_2d(1, channels[0], 2), Conv_2d(channels[0], channels[1], 3)
            self.layer3, self.layer4 = Conv_2d(channels[1], channels[2], 4), Conv_2d(channels[2], channels[3], 4)
            self.layer5 = nn.GRU(channels[3], 32, 2, batch_first=True)
            self.dropout = nn.Dropout(0.5)
            self.dense = nn.Linear(32, n_class)

        def forward(self, x):                                # x: (batch, freq, time)
            x = self.spec_bn(x.unsqueeze(1))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x, _ = self.layer5(x.squeeze(2).permute(0, 2, 1))
            return torch.softmax(self.dense(self.dropout(x[:, -1, :])), -1)

    torch.manual_seed(0)
    m = CRNN()
    for mod in m.modules():                                  # non-trivial batch-norm statistics
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval(), torch


def test_won_pth_converts_to_the_keras_crnn_with_equal_outputs(tmp_path):
    from mer_utils.models.won_tagging import build_won_crnn
    from mer_utils.models.won_torch import convert_state_dict, load_state_dict

    m, torch = _torch_crnn()
    sd = dict(m.state_dict())
    sd["spec.mel_scale.fb"] = torch.zeros(3, 3)              # torchaudio buffers in Won's file: skipped
    torch.save(sd, tmp_path / "best_model.pth")
    x = np.random.default_rng(0).standard_normal((2, 96, 150)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    k = build_won_crnn((150, 96), 5, channels=(4, 8, 8, 8))
    used = convert_state_dict(k, load_state_dict(tmp_path / "best_model.pth"), head=True)
    assert "layer5.weight_hh_l1" in used and "spec.mel_scale.fb" not in used
    out = np.asarray(k.predict(x.transpose(0, 2, 1), verbose=0))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    # head dropped (the paper's new 4-quadrant output): the body still loads into a 4-class CRNN
    k4 = build_won_crnn((150, 96), 4, channels=(4, 8, 8, 8))
    convert_state_dict(k4, load_state_dict(tmp_path / "best_model.pth"))
    # a missing key is an error, not a silently random layer
    bad = {kk: v for kk, v in load_state_dict(tmp_path / "best_model.pth").items() if kk != "layer3.conv.weight"}
    with pytest.raises(ValueError, match="layer3.conv.weight"):
        convert_state_dict(build_won_crnn((150, 96), 4, channels=(4, 8, 8, 8)), bad)
