"""The DeepSMOTE autoencoder (mer_utils.models.autoencoder) of Louro et al. (Sec. 3.6): the
round trip's shapes, the paper's "482k to 60k" compression, and the encoder / decoder taken
from a trained autoencoder."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.backend        # Keras models: rerun under the second backend


@pytest.mark.parametrize("frames", [942, 100])
def test_autoencoder_round_trip_shape_and_compression(frames):
    from mer_utils.models.autoencoder import build_autoencoder, latent_shape, scale_11, unscale_11

    ae, enc, dec = build_autoencoder((frames, 128))
    x = np.random.default_rng(0).normal(size=(2, frames, 128)).astype(np.float32)
    xs, c, h = scale_11(x)
    assert xs.min() >= -1 and xs.max() <= 1
    z = enc.predict(xs, verbose=0)
    assert z.shape == (2, int(np.prod(latent_shape((frames, 128)))))
    assert dec.predict(z, verbose=0).shape == x.shape == ae.predict(xs, verbose=0).shape
    if frames == 942:
        assert z.shape[1] == 59 * 8 * 128 == 60416            # the paper's "482k to 60k"
    assert unscale_11(xs, c, h).shape == x.shape


def test_parts_share_the_trained_weights():
    from mer_utils.models.autoencoder import build_autoencoder, decode, encode, parts, scale_11
    from mer_utils.training import Recipe, Trainer

    ae, enc, dec = build_autoencoder((32, 128))
    x = scale_11(np.random.default_rng(0).normal(size=(3, 32, 128)))[0]
    e2, d2 = parts(ae)
    np.testing.assert_allclose(encode(ae, x), np.asarray(enc.predict(x, verbose=0)), atol=1e-6)
    z = encode(ae, x)
    np.testing.assert_allclose(decode(ae, z), np.asarray(dec.predict(z, verbose=0)), atol=1e-6)
    assert decode(ae, z[:0]).shape == (0, 32, 128)
    trainer = Trainer(lambda: build_autoencoder((32, 128))[0],
                      Recipe(epochs=1, batch_size=3, loss="mse", metrics=(), execution="eager"))
    h = trainer.fit(x, x, seed=0)
    assert len(h["loss"]) == 1 and "accuracy" not in h
    assert encode(trainer.model, x).shape == (3, 2 * 8 * 128)
