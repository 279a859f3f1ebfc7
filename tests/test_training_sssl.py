"""Semi-supervised self-learning (mer_utils.training.sssl): the equations on hand-computed
values, the GMM split and its fallbacks, label noise, one SSSL epoch on a tiny separable
set through the one engine (SSSLStep), one trainer reused for two units equal to two fresh ones,
and one epoch under a second Keras backend when one is installed."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from mer_utils.training import Trainer  # noqa: E402
from mer_utils.training import sssl as S  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# --------------------------------------------------------------------------- Eq. 4
def test_sharpen_eq4_hand_values():
    # p = (0.6, 0.4), T = 0.5: p^2 = (0.36, 0.16), sum 0.52 -> (0.692308, 0.307692)
    np.testing.assert_allclose(np_(S.sharpen([[0.6, 0.4]], 0.5)), [[0.36 / 0.52, 0.16 / 0.52]], rtol=1e-5)
    # T = 1 leaves a distribution unchanged; T -> 0 approaches one-hot; rows sum to 1
    p = np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]], np.float32)
    np.testing.assert_allclose(np_(S.sharpen(p, 1.0)), p, rtol=1e-5)
    np.testing.assert_allclose(np_(S.sharpen(p, 0.01)), [[0, 1, 0], [1, 0, 0]], atol=1e-6)
    # T = 1/3 on (0.5, 0.25, 0.25): cubes 0.125, 0.015625, 0.015625 -> 0.8, 0.1, 0.1
    np.testing.assert_allclose(np_(S.sharpen([[0.5, 0.25, 0.25]], 1 / 3)), [[0.8, 0.1, 0.1]], rtol=1e-5)
    np.testing.assert_allclose(np_(S.sharpen(p, 0.5)).sum(1), 1.0, rtol=1e-6)


# --------------------------------------------------------------------------- Eq. 8
def test_symmetric_kl_eq8_hand_values():
    # p1 = (0.5, 0.5), p2 = (0.9, 0.1):
    # KL(p1||p2) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.510826
    # KL(p2||p1) = 0.9 ln(0.9/0.5) + 0.1 ln(0.1/0.5) = 0.368064
    kl12 = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    kl21 = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)
    assert kl12 == pytest.approx(0.510826, abs=1e-6) and kl21 == pytest.approx(0.368064, abs=1e-6)
    got = np_(S.symmetric_kl([[0.5, 0.5], [0.3, 0.7]], [[0.9, 0.1], [0.3, 0.7]]))
    np.testing.assert_allclose(got, [0.5 * (kl12 + kl21), 0.0], atol=1e-6)
    # symmetric in its arguments
    np.testing.assert_allclose(np_(S.symmetric_kl([[0.9, 0.1]], [[0.5, 0.5]])), [0.439445], atol=1e-6)


def test_mixup_and_cross_entropy_hand_values():
    x = np.array([[0.0, 2.0], [4.0, 6.0]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    xm, ym = S.mixup(x, y, 0.75, [1, 0])
    np.testing.assert_allclose(np_(xm), [[1.0, 3.0], [3.0, 5.0]])
    np.testing.assert_allclose(np_(ym), [[0.75, 0.25], [0.25, 0.75]])
    # soft CE of (0.75, 0.25) against p = (0.5, 0.5): -(0.75 + 0.25) ln 0.5 = ln 2
    np.testing.assert_allclose(np_(S.soft_cross_entropy([[0.75, 0.25]], [[0.5, 0.5]])), [np.log(2)], rtol=1e-6)


def test_sssl_loss_eq9_with_a_fixed_forward():
    """L = L_MIX + lambda L_KL with the network replaced by known outputs."""
    x = np.array([[0.8, 0.2], [0.4, 0.6], [0.5, 0.5]], np.float32)   # rows "are" the probabilities
    t = np.array([[1, 0], [0, 1], [0.5, 0.5]], np.float32)
    q = np.array([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1]], np.float32)     # second dropout pass

    def forward(z):   # identity on the mixed rows and the first pass; the second pass differs
        z = ops.convert_to_tensor(z)
        return z if z.shape[0] == 3 else ops.concatenate([z[:6], ops.convert_to_tensor(q)], axis=0)

    ce = [-np.log(0.8), -np.log(0.6), -np.log(0.5)]
    total, l_mix, l_kl = S.sssl_loss(forward, x, t, np.zeros(3), 1.0, np.arange(3), mix=False, lam=0.0)
    assert float(np_(l_mix)) == pytest.approx(np.mean(ce), rel=1e-5) and float(np_(l_kl)) == 0.0
    # only row 2 is in U: its passes (0.5, 0.5) and (0.9, 0.1) give 0.439445
    total, l_mix, l_kl = S.sssl_loss(forward, x, t, np.array([0, 0, 1.0]), 1.0, np.arange(3), mix=False, lam=2.0)
    assert float(np_(l_kl)) == pytest.approx(0.439445, abs=1e-5)
    assert float(np_(total)) == pytest.approx(np.mean(ce) + 2 * 0.439445, abs=1e-5)
    # with mixup (delta 1, identity partners) nothing changes
    total2, _, _ = S.sssl_loss(forward, x, t, np.array([0, 0, 1.0]), 1.0, np.arange(3), mix=True, lam=2.0)
    assert float(np_(total2)) == pytest.approx(float(np_(total)), abs=1e-6)


# --------------------------------------------------------------------------- the GMM split
def bimodal(n_clean=140, n_noisy=60, seed=0):
    rng = np.random.default_rng(seed)
    losses = np.concatenate([np.abs(rng.normal(0.1, 0.05, n_clean)), rng.normal(2.0, 0.3, n_noisy)])
    return losses, np.r_[np.zeros(n_clean, bool), np.ones(n_noisy, bool)]


def test_gmm_split_on_a_bimodal_loss_sample():
    losses, noisy = bimodal()
    sp = S.gmm_split(losses, 0.5)
    assert not sp.fallback and sp.converged
    assert np.mean(sp.clean == ~noisy) > 0.97
    assert sp.means[0] == pytest.approx(0.1, abs=0.05) and sp.means[1] == pytest.approx(2.0, abs=0.15)
    assert sp.weights[0] == pytest.approx(0.7, abs=0.03)
    assert sp.clean_share == pytest.approx(0.7, abs=0.03)
    # w is the posterior of the SMALLER-mean component: high for small losses
    assert sp.w[np.argmin(losses)] > 0.99 and sp.w[np.argmax(losses)] < 0.01
    # a stricter tau keeps fewer
    assert S.gmm_split(losses, 0.999).clean.sum() <= sp.clean.sum()


def test_a_class_without_a_clean_sample_keeps_its_labels():
    losses, noisy = bimodal()                     # 140 clean, then 60 noisy
    y = np.r_[np.zeros(100, int), np.ones(40, int), np.zeros(30, int), np.full(30, 2)]
    sp = S.gmm_split(losses, 0.5, y=y)            # class 2 = only noisy-loss samples
    assert not sp.fallback and sp.kept_classes == (2,)
    assert sp.clean[y == 2].all()                 # kept labelled
    assert sp.clean[:140].all() and not sp.clean[140:170].any()   # class 0's noisy ones go to U
    none = S.gmm_split(losses, 1.0, y=y)          # tau = 1: nothing is clean in any class
    assert none.fallback == "no clean sample in any class" and none.clean.all()


@pytest.mark.parametrize("case", ["constant", "not_converged", "collapsed", "tiny"])
def test_gmm_split_falls_back_to_all_labelled(case):
    losses, noisy = bimodal()
    kw = {}
    if case == "constant":
        losses = np.full(50, 0.7)
    elif case == "not_converged":
        kw = dict(max_iter=1, tol=1e-12)
    elif case == "collapsed":
        rng = np.random.default_rng(1)
        losses = np.r_[rng.normal(0.5, 0.01, 999), 10.0]        # one component of weight 0.001
    else:
        losses = np.array([0.1, 2.0])
    sp = S.gmm_split(losses, 0.5, **kw)
    assert sp.fallback, case
    assert sp.clean.all() and len(sp.clean) == len(losses)
    words = {"constant": "constant", "not_converged": "converge", "collapsed": "collapsed",
             "tiny": "nothing to split"}[case]
    assert words in sp.fallback


def test_inject_label_noise():
    y = np.repeat([0, 1, 2, 3], 25)
    yn, flipped = S.inject_label_noise(y, 4, 0.3, seed=3)
    assert flipped.sum() == 30
    assert np.all(yn[flipped] != y[flipped]) and np.all(yn[~flipped] == y[~flipped])
    assert set(yn) <= {0, 1, 2, 3}
    yn2, f2 = S.inject_label_noise(y, 4, 0.3, seed=3)
    assert np.array_equal(yn, yn2) and np.array_equal(flipped, f2)
    with pytest.raises(ValueError):
        S.inject_label_noise(y, 4, 1.0)


# --------------------------------------------------------------------------- training (the engine's step)
def separable(n=240, noise=0.25, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = (rng.normal(0, 1, (n, 8)) + 3.0 * (2 * y[:, None] - 1) * np.r_[1, 1, 1, 1, 0, 0, 0, 0]).astype(np.float32)
    yn, flipped = S.inject_label_noise(y, 2, noise, seed=seed + 1)
    return X, y, yn, flipped


def mlp():
    inp = keras.Input((8,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    h = keras.layers.Dropout(0.3)(h)
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(h))


def trainer_for(settings):
    return Trainer(mlp, S.sssl_recipe(settings))


def fit(trainer, X, y, settings, *, seed=0, **kw):
    return trainer.fit(X, y, seed=seed, init_seed=seed, step=S.SSSLStep(2, settings, seed=seed, **kw))


def clean_ce(trainer, X, y):
    return float(S.per_sample_loss(trainer.predict(X), y).mean())


@pytest.mark.backend
def test_the_sssl_step_on_an_easy_task_learns_and_logs_every_epoch():
    X, y, yn, flipped = separable()
    st = S.SSSLSettings(method="sssl", epochs=4, warmup_epochs=2, batch_size=16, learning_rate=1e-2)
    tr = trainer_for(st)
    h = fit(tr, X, yn, st, noisy_truth=flipped)
    # the engine's history: one value per epoch of every logged key, warm-up then SSSL
    assert h["epoch"] == [1, 2, 3, 4] and len(h["epoch_seconds"]) == 4 and h["stopped_at"] is None
    assert h["phase"][:2] == ["warm-up (plain CE)"] * 2 and all(p.startswith("SSSL") for p in h["phase"][2:])
    for k in ("loss_total", "loss_mix", "loss_kl", "n_unlabelled", "clean_share", "flipped_flagged_noisy", "fallback"):
        assert len(h[k]) == 4, k
    assert np.isnan(h["clean_share"][0]) and np.isfinite(h["clean_share"][2])   # no split in the warm-up
    assert h["loss_kl"][:2] == [0.0, 0.0] and h["n_unlabelled"][:2] == [0, 0]
    assert h["loss_total"][-1] < h["loss_total"][0]
    acc = float(np.mean(tr.predict(X).argmax(1) == y))          # learned the clean pattern
    assert acc > 0.9
    assert set(h["snapshots"]) == {3, 4} and len(h["snapshots"][3]["loss"]) == len(y)
    rows = S.epoch_rows(h)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4] and rows[0]["seconds"] == h["epoch_seconds"][0]
    assert "snapshots" not in rows[0] and "warnings" not in rows[0]


@pytest.mark.backend
def test_one_sssl_epoch_after_the_warm_up_finds_the_flipped_labels():
    X, y, yn, flipped = separable()
    st = S.SSSLSettings(method="sssl", epochs=4, warmup_epochs=3, batch_size=16, learning_rate=1e-2)
    tr = trainer_for(st)
    warm = fit(tr, X, yn, S.SSSLSettings(method="simple", epochs=4, batch_size=16, learning_rate=1e-2))
    assert warm["phase"] == ["plain CE"] * 4
    h = fit(tr, X, yn, st, noisy_truth=flipped)
    assert h["phase"][-1] == "SSSL" and not h["fallback"][-1]
    assert h["flipped_flagged_noisy"][-1] > 0.8                  # most flipped labels went to U
    assert h["clean_set_label_precision"][-1] > 0.95             # and X is nearly clean
    assert h["n_unlabelled"][-1] == pytest.approx(flipped.sum(), rel=0.35)
    assert h["loss_kl"][-1] > 0
    assert h["loss_total"][-1] == pytest.approx(h["loss_mix"][-1] + 1.0 * h["loss_kl"][-1], rel=1e-6)
    assert set(h["snapshots"]) == {4} and h["warnings"] == []


@pytest.mark.backend
def test_two_units_through_one_trainer_equal_two_fresh_trainers():
    X, y, yn, flipped = separable(n=96)
    st = S.SSSLSettings(method="sssl", epochs=3, warmup_epochs=1, batch_size=16, learning_rate=1e-2)
    shared = trainer_for(st)
    a1 = fit(shared, X, yn, st, seed=5)
    P1 = shared.predict(X)
    a2 = fit(shared, X[::-1], yn[::-1], st, seed=6)
    P2 = shared.predict(X)
    f1, f2 = trainer_for(st), trainer_for(st)
    b1 = fit(f1, X, yn, st, seed=5)
    b2 = fit(f2, X[::-1], yn[::-1], st, seed=6)
    np.testing.assert_allclose(a1["loss_total"], b1["loss_total"], rtol=1e-5)
    np.testing.assert_allclose(a2["loss_total"], b2["loss_total"], rtol=1e-5)
    np.testing.assert_allclose(P1, f1.predict(X), atol=1e-5)
    np.testing.assert_allclose(P2, f2.predict(X), atol=1e-5)
    assert any(k[0] == "sssl_step" for k in shared.compiled)     # the step's compiled functions, kept
    assert shared.fits == 2


@pytest.mark.backend
def test_simple_method_is_plain_cross_entropy_and_bad_input_is_refused():
    X, y, yn, flipped = separable(n=96)
    st = S.SSSLSettings(method="simple", epochs=2, batch_size=16, learning_rate=1e-2)
    tr = trainer_for(st)
    h = fit(tr, X, yn, st)
    assert h["phase"] == ["plain CE"] * 2 and h["loss_kl"] == [0.0, 0.0] and h["n_unlabelled"] == [0, 0]
    assert "clean_share" not in h                                 # no split unless asked (log_split)
    with pytest.raises(ValueError, match="recipe"):
        fit(tr, X, yn, S.SSSLSettings(method="simple", epochs=2, batch_size=16, learning_rate=0.5))
    with pytest.raises(ValueError, match="labels"):
        fit(tr, X, np.full(len(X), 2), st)


@pytest.mark.backend
def test_a_failing_split_keeps_every_sample_labelled_with_a_warning():
    X, y, yn, _ = separable(n=96)
    msgs = []
    st = S.SSSLSettings(method="sssl", epochs=2, warmup_epochs=0, batch_size=16, learning_rate=1e-2,
                        gmm_max_iter=1, gmm_tol=1e-12)                     # EM cannot converge
    tr = trainer_for(st)
    h = fit(tr, X, yn, st, log=msgs.append)
    assert len(msgs) == 2 and all("converge" in m and "labelled" in m for m in msgs)
    assert all(p.startswith("SSSL (fallback") for p in h["phase"]) and h["n_unlabelled"] == [0, 0]
    assert h["warnings"] and h["warnings"][0].startswith("epoch 1:") and "all labelled" in h["warnings"][0]
    with pytest.warns(RuntimeWarning, match="converge"):
        fit(tr, X, yn, st)


def test_settings_are_checked():
    with pytest.raises(ValueError):
        S.SSSLSettings(method="dividemix")
    with pytest.raises(ValueError):
        S.SSSLSettings(tau=1.5)
    with pytest.raises(ValueError):
        S.SSSLSettings(temperature=0)
    r = S.sssl_recipe(S.SSSLSettings(epochs=7, batch_size=8, learning_rate=3e-4, optimizer="sgd"))
    assert (r.epochs, r.batch_size, r.optimizer, r.learning_rate, r.stop) == (7, 8, "sgd", 3e-4, None)


# --------------------------------------------------------------------------- second backend
_BACKEND_SCRIPT = textwrap.dedent("""
    import numpy as np, keras
    from keras import ops
    from mer_utils.training import sssl as S
    from mer_utils.models.vgg import build_vgg16
    assert keras.backend.backend() == BACKEND, keras.backend.backend()
    np.testing.assert_allclose(np.asarray(ops.convert_to_numpy(S.sharpen([[0.6, 0.4]], 0.5))),
                               [[0.36 / 0.52, 0.16 / 0.52]], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ops.convert_to_numpy(S.symmetric_kl([[0.5, 0.5]], [[0.9, 0.1]]))),
                               [0.439445], atol=1e-5)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 24)
    X = (rng.normal(0, 1, (24, 44, 128)) + y[:, None, None]).astype("float32")
    from mer_utils.training import Trainer
    st = S.SSSLSettings(method="sssl", epochs=2, warmup_epochs=1, batch_size=8, learning_rate=1e-3,
                        log_split=True, gmm_max_iter=200)
    tr = Trainer(lambda: build_vgg16((44, 128), 2, width=1 / 16, fc_units=16), S.sssl_recipe(st))
    h = tr.fit(X, y, seed=0, step=S.SSSLStep(2, st, seed=0, log=print))
    P0 = tr.predict(X)
    h2 = tr.fit(X, y, seed=1, step=S.SSSLStep(2, st, seed=1, log=print))   # a second unit, same trainer
    assert h["phase"][-1].startswith("SSSL") and np.isfinite(h["loss_total"][-1]), h
    assert np.isfinite(h2["loss_total"]).all() and tr.fits == 2
    assert np.isfinite(P0).all() and P0.shape == (24, 2)
    print("OK", BACKEND, [round(v, 4) for v in h["loss_total"]])
""")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_one_sssl_epoch_under_a_second_backend(backend):
    """The custom loop under JAX / torch (CPU), in a fresh interpreter with KERAS_BACKEND set."""
    pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    out = subprocess.run([sys.executable, "-c", f"BACKEND = {backend!r}\n" + _BACKEND_SCRIPT],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"OK {backend}" in out.stdout
