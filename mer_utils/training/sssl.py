"""Semi-supervised self-learning (SSSL) on noisily labelled samples: a loss-based GMM split
into clean and noisy sets, sharpened pseudo-labels, mixup and R-Drop (Sun et al., Eqs. 3-9).

Nothing here knows about music or a particular network: any Keras 3 classifier whose last
layer is a softmax and whose inputs are array rows can be trained with :class:`SSSLStep`, a
custom epoch step of the one engine (:class:`mer_utils.training.Trainer`: it builds, resets,
seeds, times and records; the step runs one epoch of the updates below). The losses are
written with ``keras.ops`` only; the one place that differs per backend is the gradient
step (:func:`make_train_step`: ``tf.GradientTape`` under TensorFlow, ``torch.autograd``
under torch, ``jax.value_and_grad`` under JAX), so the same loop runs on TensorFlow here
and on torch / JAX on a GPU box.

One SSSL epoch (``method="sssl"``)
----------------------------------
1. **Per-sample loss pass** (batched, inference mode, on the arrays given — features are
   never recomputed): the model's probabilities ``P`` and the cross-entropy
   ``l_i = -log P[i, y_i]`` of every training sample against its (possibly noisy) label.
2. **Two-component GMM** on the losses (Eq. 3), fitted by EM (scikit-learn
   ``GaussianMixture``; losses min-max normalised first, ``reg_covar`` 5e-4, as in
   DivideMix, the method Sun et al.'s framework follows). ``w_i`` = posterior of the
   component with the smaller mean; ``w_i > tau`` puts sample ``i`` in the labelled
   (clean) set X, the others form the unlabelled (noisy) set U whose labels are erased.
3. **Pseudo soft labels** for U: the model's prediction from the same pass, sharpened with
   temperature T (Eq. 4): ``p_j^(1/T) / sum_k p_k^(1/T)``.
4. **Mini-batches** over all samples (shuffled): targets are one-hot labels for members of
   X and sharpened predictions for members of U (the set U-hat of Eq. 5). Each batch is
   mixed with a shuffled copy of itself (Eq. 6), so pairs are drawn across X and U-hat:
   ``x = d x_p + (1 - d) x_q``, ``y = d y_p + (1 - d) y_q`` with ``d ~ Beta(alpha, alpha)``,
   one ``d`` per batch and ``d = max(d, 1 - d)`` (as in MixMatch / DivideMix), so each
   mixed sample stays closer to its own first element.
5. **Loss** (Eq. 9): ``L = L_MIX + lambda * L_KL``, with ``L_MIX`` the cross-entropy of the
   mixed targets (Eq. 7) and ``L_KL`` R-Drop's symmetric KL divergence between two dropout
   passes over the batch's U members (Eq. 8). Both are batch means (Eq. 8 writes a sum
   over U; a mean keeps ``lambda`` independent of the batch size). ``lambda = 0`` is the
   ablation "Proposed*" (no L_KL). The mixed batch and the two U passes go through the
   network in one call (independent dropout masks per row).

``method="simple"`` is the inherit-label baseline: plain cross-entropy on the given labels,
no split, no mixup. The first ``warmup_epochs`` epochs of SSSL are plain cross-entropy too
(at initialisation all losses are about ``log K`` and a split would be noise; DivideMix
warms up the same way; Sun et al. do not say).

Bad input (documented, tested): when the losses are constant, the GMM does not converge
or collapses to one component (a weight below ``min_weight`` or means closer than
``min_gap``), the epoch keeps **every sample labelled** (mixup still applies, no
pseudo-labels, no L_KL) and logs a warning; the epoch's history row says why
(``fallback``). A class left without any clean sample keeps **all its labels** that epoch
(the split applies to the other classes; warning logged, ``kept_classes`` in the row): a
single GMM over all losses also separates classes the network is unequally sure of, and
erasing a whole class's labels would let sharpened pseudo-labels teach the network to
drop that class.

Every epoch is logged (the engine's history, one list per key): phase, clean share, the
GMM's means, weights and convergence, the loss terms, the epoch's seconds; given the truth
of which labels were corrupted (``noisy_truth``), also the share of corrupted labels put in
U and the share of X whose label is right.

Use::

    trainer = Trainer(build_model, sssl_recipe(settings))        # compiled once
    for split in splits:                                          # reset to one init per unit
        hist = trainer.fit(X[tr], y[tr], seed=0, init_seed=0,
                           step=SSSLStep(K, settings, seed=0, transform=scaler))
        P = trainer.predict(scaler(X[te]))
        rows = epoch_rows(hist)                                   # one dict per epoch

:func:`inject_label_noise` corrupts a known share of labels for experiments that check
whether the split finds them.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable, Sequence

import keras
import numpy as np
from keras import ops

__all__ = ["SSSLSettings", "SSSLStep", "sssl_recipe", "sssl_warnings", "epoch_rows", "GMMSplit", "METHODS",
           "sharpen", "symmetric_kl", "soft_cross_entropy", "mixup", "sssl_loss", "make_train_step",
           "make_predict", "predict_batched", "per_sample_loss", "gmm_split", "inject_label_noise"]

METHODS = ("simple", "sssl")
EPS = 1e-7


@dataclasses.dataclass(frozen=True)
class SSSLSettings:
    """Settings of :class:`SSSLStep` (the paper gives none of the numbers; see the module doc);
    epochs, batch size, optimizer and learning rate make its :func:`sssl_recipe`."""

    method: str = "sssl"          # "sssl" | "simple" (inherited labels, plain cross-entropy)
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-4
    optimizer: str = "adam"
    warmup_epochs: int = 1        # plain cross-entropy epochs before the first split
    tau: float = 0.5              # clean if w_i > tau
    temperature: float = 0.5      # T of Eq. 4
    alpha: float = 4.0            # mixup d ~ Beta(alpha, alpha)
    lam: float = 1.0              # weight of L_KL (Eq. 9); 0 = Proposed*
    gmm_max_iter: int = 100
    gmm_tol: float = 1e-3
    gmm_reg_covar: float = 5e-4
    min_weight: float = 0.01      # a GMM component lighter than this = collapsed
    min_gap: float = 1e-3         # component means closer than this (normalised losses) = collapsed
    predict_batch_size: int = 256
    log_split: bool = False       # also fit (and log) the GMM in plain cross-entropy epochs

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if not 0 <= self.tau <= 1:
            raise ValueError(f"tau must be in [0, 1], not {self.tau}")
        if self.temperature <= 0 or self.alpha <= 0 or self.lam < 0:
            raise ValueError("temperature and alpha must be > 0 and lam >= 0")
        if self.epochs < 1 or self.batch_size < 1 or self.warmup_epochs < 0:
            raise ValueError("epochs and batch_size must be >= 1, warmup_epochs >= 0")


# =========================================================================== the equations
def sharpen(p, temperature: float):
    """Eq. 4: ``p_j^(1/T) / sum_k p_k^(1/T)`` row-wise (keras.ops; any backend)."""
    p = ops.convert_to_tensor(p, dtype="float32")
    logits = ops.log(ops.clip(p, EPS, 1.0)) / float(temperature)
    return ops.softmax(logits, axis=-1)


def symmetric_kl(p1, p2):
    """Eq. 8 per row: ``(KL(p1 || p2) + KL(p2 || p1)) / 2`` (keras.ops)."""
    p1 = ops.clip(ops.convert_to_tensor(p1, dtype="float32"), EPS, 1.0)
    p2 = ops.clip(ops.convert_to_tensor(p2, dtype="float32"), EPS, 1.0)
    return 0.5 * ops.sum((p1 - p2) * (ops.log(p1) - ops.log(p2)), axis=-1)


def soft_cross_entropy(targets, p):
    """Per-row cross-entropy ``-sum_j t_j log p_j`` of soft targets (keras.ops)."""
    p = ops.clip(ops.convert_to_tensor(p, dtype="float32"), EPS, 1.0)
    return -ops.sum(ops.convert_to_tensor(targets, dtype="float32") * ops.log(p), axis=-1)


def mixup(x, y, delta, perm):
    """Eq. 6: ``(d x + (1 - d) x[perm], d y + (1 - d) y[perm])`` (keras.ops)."""
    x = ops.convert_to_tensor(x, dtype="float32")
    y = ops.convert_to_tensor(y, dtype="float32")
    idx = perm if not isinstance(perm, (list, tuple, np.ndarray)) else ops.convert_to_tensor(
        np.asarray(perm, dtype="int32"))
    d = ops.cast(ops.convert_to_tensor(delta), "float32")
    return d * x + (1.0 - d) * ops.take(x, idx, axis=0), d * y + (1.0 - d) * ops.take(y, idx, axis=0)


def sssl_loss(forward: Callable, x, targets, u_mask, delta, perm, *, mix: bool, lam: float):
    """Eq. 9 on one batch: ``(L, L_MIX, L_KL)`` (keras.ops; shapes static for compilation).

    ``forward(x)`` returns softmax probabilities in training mode (dropout on).
    ``targets`` (B, K) are one-hot rows (members of X) or sharpened predictions (members
    of U); ``u_mask`` (B,) is 1 for rows in U; ``perm`` (B,) the mixing partner of every
    row and ``delta`` the mixing weight (used when ``mix``). With ``lam > 0`` the mixed
    batch and two copies of the batch go through ``forward`` in one call, and L_KL is the
    mean symmetric KL of the two copies over the U rows (0 when the batch has none).
    """
    x = ops.convert_to_tensor(x, dtype="float32")
    targets = ops.convert_to_tensor(targets, dtype="float32")
    if mix:
        xm, tm = mixup(x, targets, delta, perm)
    else:
        xm, tm = x, targets
    n = x.shape[0]
    if lam > 0:
        p = forward(ops.concatenate([xm, x, x], axis=0))
        p_mix, p1, p2 = p[:n], p[n:2 * n], p[2 * n:]
        u = ops.convert_to_tensor(u_mask, dtype="float32")
        l_kl = ops.sum(u * symmetric_kl(p1, p2)) / ops.maximum(ops.sum(u), 1.0)
    else:
        p_mix = forward(xm)
        l_kl = ops.zeros((), dtype="float32")
    l_mix = ops.mean(soft_cross_entropy(tm, p_mix))
    return l_mix + float(lam) * l_kl, l_mix, l_kl


# =========================================================================== gradient step
def make_train_step(model, optimizer, *, mix: bool, lam: float) -> Callable:
    """A function ``step(x, targets, u_mask, delta, perm) -> (L, L_MIX, L_KL)`` (floats)
    that takes one optimisation step of :func:`sssl_loss` on ``model``.

    The only backend-specific code of the module: how gradients are taken —
    ``tf.GradientTape`` (compiled with ``tf.function``: eager TensorFlow is ~10x slower on
    a CPU) under TensorFlow, ``torch.autograd`` (eager) under torch, ``jax.value_and_grad``
    over ``model.stateless_call`` with the optimizer's ``stateless_apply``, compiled with
    ``jax.jit``, under JAX (weights, dropout seed state and optimizer slots written back
    after the step). Keep the batch shape fixed to avoid recompilation.
    """
    backend = keras.backend.backend()
    tvars = model.trainable_variables

    def loss(forward, x, t, u, d, p):
        return sssl_loss(forward, x, t, u, d, p, mix=mix, lam=lam)

    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def tf_step(x, t, u, d, p):
            with tf.GradientTape() as tape:
                out = loss(lambda z: model(z, training=True), x, t, u, d, p)
            optimizer.apply(tape.gradient(out[0], tvars), tvars)
            return out

        step = tf_step
    elif backend == "torch":
        import torch

        def step(x, t, u, d, p):
            model.zero_grad()
            out = loss(lambda z: model(z, training=True), x, t, u, d, p)
            out[0].backward()
            with torch.no_grad():
                optimizer.apply([v.value.grad for v in tvars], tvars)
            return tuple(o.detach() for o in out)
    elif backend == "jax":
        import jax

        ntvars = model.non_trainable_variables
        ovars = optimizer.variables

        def f(tv, ntv, x, t, u, d, p):
            box = {}

            def forward(z):
                out, box["ntv"] = model.stateless_call(tv, ntv, z, training=True)
                return out

            total, a, b = loss(forward, x, t, u, d, p)
            return total, (a, b, box.get("ntv", ntv))

        @jax.jit
        def jax_step(tv, ntv, ov, x, t, u, d, p):
            (total, (a, b, new_ntv)), grads = jax.value_and_grad(f, has_aux=True)(tv, ntv, x, t, u, d, p)
            new_tv, new_ov = optimizer.stateless_apply(ov, grads, tv)
            return (total, a, b), new_tv, new_ntv, new_ov

        def step(x, t, u, d, p):
            out, tv, ntv, ov = jax_step([v.value for v in tvars], [v.value for v in ntvars],
                                        [v.value for v in ovars], x, t, u, d, p)
            for group, values in ((tvars, tv), (ntvars, ntv), (ovars, ov)):
                for v, val in zip(group, values):
                    v.assign(val)
            return out
    else:  # pragma: no cover - Keras 3 has no other training backend
        raise RuntimeError(f"SSSL training does not support the {backend!r} backend")

    def run(x, targets, u_mask, delta, perm):
        out = step(ops.convert_to_tensor(x, dtype="float32"),
                   ops.convert_to_tensor(targets, dtype="float32"),
                   ops.convert_to_tensor(u_mask, dtype="float32"),
                   ops.convert_to_tensor(np.float32(delta)),
                   ops.convert_to_tensor(np.asarray(perm, dtype="int32")))
        return tuple(float(ops.convert_to_numpy(o)) for o in out)

    return run


# =========================================================================== the split
def make_predict(model) -> Callable:
    """``f(x) -> probabilities`` in inference mode (``tf.function`` under TensorFlow,
    ``jax.jit`` over ``stateless_call`` under JAX, a call under ``torch.no_grad`` under torch)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    if backend == "jax":
        import jax

        infer = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=False)[0])
        return lambda x: infer([v.value for v in model.trainable_variables],
                               [v.value for v in model.non_trainable_variables], x)
    if backend == "torch":
        import torch

        def infer_torch(x):
            with torch.no_grad():                     # no autograd graph for inference
                return model(x, training=False)

        return infer_torch
    return lambda x: model(x, training=False)


def predict_batched(model, X: np.ndarray, *, batch_size: int = 256,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None,
                    predict: Callable | None = None) -> np.ndarray:
    """Softmax outputs of ``model`` on ``X`` in inference mode, batch by batch ->
    (n, K) float32. ``transform`` (e.g. standardisation) is applied per batch, so no scaled
    copy of ``X`` is ever made. ``predict`` is a function from :func:`make_predict` to reuse
    (compiled for any batch size under TensorFlow)."""
    predict = predict or make_predict(model)
    n, bs = len(X), int(batch_size)
    out = []
    for i in range(0, n, bs):
        xb = np.asarray(X[i:i + bs], dtype=np.float32)
        if transform is not None:
            xb = transform(xb)
        out.append(np.asarray(ops.convert_to_numpy(predict(ops.convert_to_tensor(xb))), np.float32))
    if not out:
        return np.zeros((0, int(model.outputs[0].shape[-1])), np.float32)
    return np.concatenate(out)


def per_sample_loss(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of each row's probabilities against its label: ``-log P[i, y_i]``."""
    P = np.asarray(P, dtype=np.float64)
    y = np.asarray(y, dtype=int)
    return -np.log(np.clip(P[np.arange(len(y)), y], EPS, 1.0))


@dataclasses.dataclass
class GMMSplit:
    """The result of :func:`gmm_split`.

    ``w``: posterior of the smaller-mean (clean) component per sample; ``clean``: the
    labelled set X (all True after a fallback); ``fallback``: why the split was not used
    ("" when it was); ``kept_classes``: classes that had no clean sample and keep all their
    labels (the split applies to the others); ``means``/``stds``/``weights``: (clean,
    noisy) components in loss units and mixing weights; ``converged``: EM converged.
    """

    w: np.ndarray
    clean: np.ndarray
    fallback: str = ""
    means: tuple[float, float] = (np.nan, np.nan)
    stds: tuple[float, float] = (np.nan, np.nan)
    weights: tuple[float, float] = (np.nan, np.nan)
    converged: bool = False
    kept_classes: tuple[int, ...] = ()

    @property
    def clean_share(self) -> float:
        return float(self.clean.mean()) if len(self.clean) else float("nan")


def gmm_split(losses: np.ndarray, tau: float = 0.5, *, y: np.ndarray | None = None,
              max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 5e-4,
              min_weight: float = 0.01, min_gap: float = 1e-3, seed: int = 0) -> GMMSplit:
    """Split samples into clean (X) and noisy (U) by a two-component GMM on their losses.

    Losses are min-max normalised, a 2-component 1-D GMM is fitted by EM and ``w_i`` is the
    posterior of the smaller-mean component; ``w_i > tau`` is clean. Falls back to "all
    clean" (with the reason in ``fallback``) for constant losses, a non-converged or
    collapsed GMM, or — when labels ``y`` are given — no clean sample in any class. A
    class left without any clean sample keeps all its labels (``kept_classes``): one GMM
    over all samples also separates classes the network is unequally sure of, and erasing
    every label of a class would let the pseudo-labels teach the network to drop it.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    n = len(losses)
    ones = np.ones(n, dtype=bool)
    if n < 4 or not np.all(np.isfinite(losses)):
        return GMMSplit(np.ones(n), ones, fallback=f"{n} sample(s) or non-finite losses: nothing to split")
    lo, hi = losses.min(), losses.max()
    if hi - lo < 1e-8:
        return GMMSplit(np.ones(n), ones, fallback="constant losses: nothing to split")
    z = ((losses - lo) / (hi - lo)).reshape(-1, 1)
    gm = GaussianMixture(n_components=2, max_iter=int(max_iter), tol=float(tol),
                         reg_covar=float(reg_covar), random_state=int(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(z)
    mu = gm.means_.reshape(-1)
    c, o = int(np.argmin(mu)), int(np.argmax(mu))
    sd = np.sqrt(gm.covariances_.reshape(-1))
    scale = hi - lo
    means = (float(lo + mu[c] * scale), float(lo + mu[o] * scale))
    stds = (float(sd[c] * scale), float(sd[o] * scale))
    weights = (float(gm.weights_[c]), float(gm.weights_[o]))
    w = gm.predict_proba(z)[:, c]
    out = GMMSplit(w, w > tau, means=means, stds=stds, weights=weights,
                   converged=bool(gm.converged_))
    if not gm.converged_:
        out.fallback = f"GMM did not converge in {max_iter} EM iterations"
    elif min(weights) < min_weight or abs(mu[o] - mu[c]) < min_gap:
        out.fallback = (f"GMM collapsed to one component (weights {weights[0]:.3f}/{weights[1]:.3f}, "
                        f"normalised means {mu[c]:.4f}/{mu[o]:.4f})")
    elif y is not None:
        y = np.asarray(y)
        empty = [int(k) for k in np.unique(y) if not out.clean[y == k].any()]
        if len(empty) == len(np.unique(y)):
            out.fallback = "no clean sample in any class"
        elif empty:
            out.kept_classes = tuple(empty)
            out.clean = out.clean | np.isin(y, empty)
    if out.fallback:
        out.clean = ones.copy()
    return out


# =========================================================================== label noise
def inject_label_noise(y: np.ndarray, n_classes: int, rate: float, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric label noise: exactly ``round(rate * n)`` samples, drawn at random, get a
    different class (uniform over the other ``n_classes - 1``). Returns (noisy labels,
    flipped mask). For experiments that check whether a method finds corrupted labels."""
    if not 0 <= rate < 1:
        raise ValueError(f"noise rate must be in [0, 1), not {rate}")
    if n_classes < 2:
        raise ValueError("label noise needs at least 2 classes")
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    flipped = np.zeros(len(y), dtype=bool)
    flipped[rng.choice(len(y), size=int(round(rate * len(y))), replace=False)] = True
    shift = rng.integers(1, n_classes, size=len(y))
    return np.where(flipped, (y + shift) % n_classes, y), flipped


# =========================================================================== the epoch step
def sssl_recipe(settings: SSSLSettings):
    """The engine's :class:`~mer_utils.training.engine.Recipe` for ``settings``: epochs,
    batch size, optimizer and learning rate; no stop rule (every epoch runs, as before);
    predictions in batches of ``settings.predict_batch_size``."""
    from mer_utils.training.engine import Recipe

    return Recipe(epochs=settings.epochs, batch_size=settings.batch_size, optimizer=settings.optimizer,
                  learning_rate=settings.learning_rate, stop=None,
                  predict_batch_size=settings.predict_batch_size)


def sssl_warnings(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per SSSL epoch (of per-epoch ``rows``) whose split was not (fully) used."""
    out = []
    for h in rows:
        if not str(h.get("phase", "")).startswith("SSSL"):
            continue
        if h.get("fallback"):
            out.append(f"epoch {h['epoch']}: {h['fallback']} (all labelled)")
        elif h.get("kept_classes"):
            out.append(f"epoch {h['epoch']}: class(es) {h['kept_classes']} without a clean sample (kept labelled)")
    return out


#: Per-epoch logs of a split (written in every epoch of a fit that makes one; NaN / ""
#: in the epochs without one, so the engine's history keeps one value per epoch).
_SPLIT_KEYS = {"pass_loss": np.nan, "pass_accuracy": np.nan, "clean_share": np.nan, "gmm_mean_clean": np.nan,
               "gmm_mean_noisy": np.nan, "gmm_std_clean": np.nan, "gmm_std_noisy": np.nan,
               "gmm_weight_clean": np.nan, "gmm_converged": False, "fallback": "", "kept_classes": ""}
_TRUTH_KEYS = {"flipped_flagged_noisy": np.nan, "clean_set_label_precision": np.nan}


class SSSLStep:
    """One epoch of SSSL (or of the inherit-label baseline) as an
    :class:`~mer_utils.training.engine.EpochStep` of the one engine::

        trainer = Trainer(build_model, sssl_recipe(settings))      # compiled once
        for split in splits:                                        # reset to one init per unit
            step = SSSLStep(K, settings, seed=seed, transform=scaler)
            hist = trainer.fit(X[tr], y[tr], seed=seed, init_seed=seed, step=step)

    The engine builds and resets the model and its optimizer (``trainer.optimizer``),
    seeds, times every epoch and keeps the history (one list per logged key: ``phase``,
    ``n``, ``n_unlabelled``, ``loss_total``, ``loss_mix``, ``loss_kl`` and, in a fit that
    splits, the GMM's ``clean_share``, means, weights, ``fallback``...). The step's
    compiled train steps and inference pass live in ``trainer.compiled`` (traced once for
    all units). ``seed`` draws the batch order, the mixup weights and partners and seeds
    the GMM (``seed + epoch``); pass the fit's seed. ``transform`` is applied per batch
    (standardisation fitted on the training rows: no scaled copy of ``X``).
    ``noisy_truth`` (bool per sample: label corrupted) only feeds the log; ``log``
    receives fallback warnings (default :func:`warnings.warn`). Epochs are
    ``ceil(n / batch_size)`` steps of ``batch_size`` samples (the last batch completed from
    the start of the shuffled order, so that every step has one shape).

    ``end`` adds to the history ``snapshots`` (per-sample losses and posteriors of the
    first SSSL split and of the last one, by 1-based epoch) and ``warnings`` (one line per
    SSSL epoch whose split was not fully used).
    """

    def __init__(self, n_classes: int, settings: SSSLSettings, *, seed: int = 0,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None,
                 noisy_truth: np.ndarray | None = None, log: Callable[[str], None] | None = None):
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be >= 2, not {n_classes}")
        self.n_classes, self.settings, self.seed = int(n_classes), settings, int(seed)
        self.transform, self.log = transform, log
        self.prep = transform or (lambda a: np.asarray(a, dtype=np.float32))
        self.noisy_truth = None if noisy_truth is None else np.asarray(noisy_truth, dtype=bool)

    # ------------------------------------------------------------------ compiled pieces
    @staticmethod
    def train_step(trainer, mix: bool, lam: float) -> Callable:
        """The compiled step of :func:`make_train_step` for (mix, lam), kept in ``trainer.compiled``."""
        key = ("sssl_step", bool(mix), float(lam))
        if key not in trainer.compiled:
            trainer.compiled[key] = make_train_step(trainer.model, trainer.optimizer, mix=mix, lam=lam)
        return trainer.compiled[key]

    @staticmethod
    def predict_fn(trainer) -> Callable:
        """The compiled inference pass (:func:`make_predict`), kept in ``trainer.compiled``."""
        if "sssl_predict" not in trainer.compiled:
            trainer.compiled["sssl_predict"] = make_predict(trainer.model)
        return trainer.compiled["sssl_predict"]

    # ------------------------------------------------------------------ EpochStep
    def begin(self, trainer, x, y) -> None:
        s, r = self.settings, trainer.recipe
        asked = (int(s.epochs), int(s.batch_size), s.optimizer, float(s.learning_rate))
        has = (int(r.epochs), int(r.batch_size), r.optimizer, float(r.learning_rate))
        if asked != has:
            raise ValueError(f"the trainer's recipe is (epochs, batch, optimizer, lr) = {has}; the SSSL "
                             f"settings ask for {asked} (make another trainer: sssl_recipe(settings))")
        X = np.asarray(x)
        y = np.asarray(y, dtype=int)
        if len(X) != len(y):
            raise ValueError(f"X ({len(X)}) and y ({len(y)}) differ in length")
        if len(y) == 0:
            raise ValueError("no training samples")
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(f"labels must be in [0, {self.n_classes}); got {y.min()}..{y.max()}")
        if self.noisy_truth is not None and len(self.noisy_truth) != len(y):
            raise ValueError("noisy_truth must have one value per training sample")
        self.X, self.y = X, y
        self.rng = np.random.default_rng(self.seed)
        self.onehot = np.eye(self.n_classes, dtype=np.float32)[y]
        self.warn = self.log or (lambda msg: warnings.warn(msg, RuntimeWarning, stacklevel=5))
        self.splits = (s.method == "sssl" and s.epochs > s.warmup_epochs) or s.log_split
        self.rows: list[dict[str, Any]] = []
        self.snapshots: dict[int, dict[str, np.ndarray]] = {}
        self.bs = min(int(s.batch_size), len(y))

    def predict(self, trainer, X: np.ndarray) -> np.ndarray:
        """The model's probabilities on ``X`` (inference mode, ``transform`` per batch)."""
        return predict_batched(trainer.model, X, batch_size=self.settings.predict_batch_size,
                               transform=self.prep, predict=self.predict_fn(trainer))

    def run_epoch(self, trainer, epoch: int) -> dict[str, Any]:
        s, X, y, rng = self.settings, self.X, self.y, self.rng
        epoch = int(epoch) + 1                                       # 1-based, as the log reads
        n = len(y)
        sssl_epoch = s.method == "sssl" and epoch > s.warmup_epochs
        row: dict[str, Any] = {"n": n}
        if self.splits:
            row.update(_SPLIT_KEYS)
        if self.splits and self.noisy_truth is not None:
            row.update(_TRUTH_KEYS)
        targets, in_u = self.onehot, np.zeros(n, dtype=bool)
        split = None
        if sssl_epoch or s.log_split:
            P = self.predict(trainer, X)
            losses = per_sample_loss(P, y)
            split = gmm_split(losses, s.tau, y=y, max_iter=s.gmm_max_iter, tol=s.gmm_tol,
                              reg_covar=s.gmm_reg_covar, min_weight=s.min_weight,
                              min_gap=s.min_gap, seed=self.seed + epoch)
            row.update(pass_loss=float(losses.mean()), pass_accuracy=float(np.mean(P.argmax(1) == y)),
                       clean_share=float(np.mean(split.w > s.tau)),
                       gmm_mean_clean=split.means[0], gmm_mean_noisy=split.means[1],
                       gmm_std_clean=split.stds[0], gmm_std_noisy=split.stds[1],
                       gmm_weight_clean=split.weights[0], gmm_converged=split.converged,
                       fallback=split.fallback, kept_classes=" ".join(map(str, split.kept_classes)))
            truth = self.noisy_truth
            if truth is not None:
                flagged = split.w <= s.tau
                row["flipped_flagged_noisy"] = float(flagged[truth].mean()) if truth.any() else float("nan")
                row["clean_set_label_precision"] = (float((~truth[~flagged]).mean())
                                                    if (~flagged).any() else float("nan"))
            self.snapshots[epoch] = {"loss": losses.astype(np.float32), "w": split.w.astype(np.float32),
                                     "sssl": np.asarray(sssl_epoch)}
            if sssl_epoch and split.fallback:
                self.warn(f"SSSL epoch {epoch}: {split.fallback}; every sample kept labelled this epoch")
            elif sssl_epoch and split.kept_classes:
                self.warn(f"SSSL epoch {epoch}: class(es) {list(split.kept_classes)} without a clean sample; "
                          "their samples kept labelled this epoch")
            if sssl_epoch:
                in_u = ~split.clean
                if in_u.any():
                    targets = self.onehot.copy()
                    targets[in_u] = np.asarray(ops.convert_to_numpy(sharpen(P[in_u], s.temperature)))
        if sssl_epoch:
            row["phase"] = "SSSL" + (" (fallback: all labelled)" if split.fallback else
                                     " (some classes kept labelled)" if split.kept_classes else "")
        else:
            row["phase"] = "warm-up (plain CE)" if s.method == "sssl" else "plain CE"
        row["n_unlabelled"] = int(in_u.sum())
        bs = self.bs
        identity = np.arange(bs)
        sums = np.zeros(3)
        order = rng.permutation(n)
        n_steps = -(-n // bs)
        order = np.concatenate([order, order[: n_steps * bs - n]])   # complete the last batch
        for i in range(n_steps):
            b = order[i * bs:(i + 1) * bs]
            u_mask = in_u[b].astype(np.float32)
            if sssl_epoch:
                d = float(rng.beta(s.alpha, s.alpha))
                d, perm = max(d, 1.0 - d), rng.permutation(bs)
                step = self.train_step(trainer, True, s.lam if u_mask.any() else 0.0)
            else:
                d, perm, step = 1.0, identity, self.train_step(trainer, False, 0.0)
            sums += np.asarray(step(self.prep(X[b]), targets[b], u_mask, d, perm))
        row.update(loss_total=float(sums[0] / n_steps), loss_mix=float(sums[1] / n_steps),
                   loss_kl=float(sums[2] / n_steps))
        self.rows.append(dict(row, epoch=epoch))
        return row

    def end(self, trainer) -> dict[str, Any]:
        snaps = self.snapshots
        if snaps:   # keep the first split of SSSL (else the first pass) and the last pass
            first = min((e for e, v in snaps.items() if v["sssl"]), default=min(snaps))
            snaps = {e: snaps[e] for e in sorted({first, max(snaps)})}
        out = {"snapshots": snaps, "warnings": sssl_warnings(self.rows)}
        self.X = self.y = self.onehot = None                         # no reference to the data kept
        return out


def epoch_rows(history: dict[str, Any]) -> list[dict[str, Any]]:
    """The engine's history of an SSSL fit as one dict per epoch (the shape the paper's
    tables and figures read): every per-epoch list, ``seconds`` = the epoch's seconds."""
    n = len(history.get("epoch", []))
    keys = [k for k, v in history.items() if isinstance(v, list) and len(v) == n
            and k not in ("epoch_seconds", "warnings", "phases")]
    rows = [{k: history[k][i] for k in keys} for i in range(n)]
    for i, r in enumerate(rows):
        r["seconds"] = history["epoch_seconds"][i]
    return rows
