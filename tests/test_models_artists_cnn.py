"""Park et al.'s artist CNN (mer_utils.models.artists_cnn), for Louro et al.'s "Artists CNN"
row: its shape and the Keras-2 h5 weight loader."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend


def test_artists_cnn_shape_and_keras2_h5_loader(tmp_path):
    import h5py

    from mer_utils.models.artists_cnn import BLOCKS, build_artists_cnn, load_keras2_h5

    m = build_artists_cnn(n_classes=4, frozen=True)
    assert m.output_shape == (None, 4) and m.get_layer("item_sem").output.shape[-1] == 256
    assert [l.name for l in m.layers if l.trainable and l.weights] == ["quadrants"]
    rng = np.random.default_rng(0)
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:                           # Keras-2 layout: layer groups, weight_names
        names, cin = [], 128
        for i, (filt, k, _) in enumerate(BLOCKS, 1):
            for lname, arrays in ((f"conv1d_{i}", {"kernel:0": rng.normal(size=(k, cin, filt)), "bias:0": rng.normal(size=filt)}),
                                  (f"batch_normalization_{i}", {w: rng.uniform(0.5, 1.5, filt) for w in
                                                                ("gamma:0", "beta:0", "moving_mean:0", "moving_variance:0")})):
                g = f.create_group(lname).create_group(lname)
                for w, a in arrays.items():
                    g.create_dataset(w, data=a.astype(np.float32))
                f[lname].attrs["weight_names"] = [f"{lname}/{w}".encode() for w in arrays]
                names.append(lname.encode())
            cin = filt
        f.create_group("dense_1").attrs["weight_names"] = []
        f.attrs["layer_names"] = names + [b"dense_1"]
    assert load_keras2_h5(m, path) == 10
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(m.get_layer("conv3").get_weights()[0], f["conv1d_3/conv1d_3/kernel:0"][()])
