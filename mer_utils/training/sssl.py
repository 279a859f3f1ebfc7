"""Semi-supervised self-learning (SSSL) on noisily labelled samples: a loss-based GMM split
into clean and noisy sets, sharpened pseudo-labels, mixup and R-Drop (Sun et al., Eqs. 3-9).

Nothing here knows about music or a particular network: any Keras 3 classifier whose last
layer is a softmax and whose inputs are array rows can be trained with :func:`train_sssl`.
The losses are written with ``keras.ops`` only; the one place that differs per backend is
the gradient step (:func:`make_train_step`: ``tf.GradientTape`` under TensorFlow,
``torch.autograd`` under torch, ``jax.value_and_grad`` under JAX), so the same loop runs on
TensorFlow here and on torch / JAX on a GPU box.

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

Every epoch is logged (:attr:`SSSLResult.history`): phase, clean share, the GMM's means,
weights and convergence, the loss terms, seconds; given the truth of which labels were
corrupted (``noisy_truth``), also the share of corrupted labels put in U and the share of
X whose label is right.

Use::

    trainer = SSSLTrainer(build_model(), learning_rate=1e-4)   # compiles its steps once
    for split in splits:                                        # reset to the same init each time
        res = trainer.fit(X[tr], y[tr], K, SSSLSettings(method="sssl", epochs=30, warmup_epochs=5),
                          transform=scaler)                     # scaling applied per batch
        P = trainer.predict(X[te], transform=scaler)

:func:`train_sssl` does one fit of a given model; :func:`inject_label_noise` corrupts a
known share of labels for experiments that check whether the split finds them.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any, Callable, Sequence

import keras
import numpy as np
from keras import ops

__all__ = ["SSSLSettings", "SSSLResult", "SSSLTrainer", "GMMSplit", "METHODS", "sharpen",
           "symmetric_kl", "soft_cross_entropy", "mixup", "sssl_loss", "make_train_step",
           "make_predict", "predict_batched", "per_sample_loss", "gmm_split", "inject_label_noise",
           "train_sssl"]

METHODS = ("simple", "sssl")
EPS = 1e-7


@dataclasses.dataclass(frozen=True)
class SSSLSettings:
    """Settings of :func:`train_sssl` (the paper gives none of the numbers; see the module doc)."""

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


# =========================================================================== training
@dataclasses.dataclass
class SSSLResult:
    """What :func:`train_sssl` returns: one history row per epoch, and the per-sample
    losses / posteriors of the first and the last split (for figures)."""

    history: list[dict[str, Any]]
    snapshots: dict[int, dict[str, np.ndarray]]
    seconds: float

    def warnings(self) -> list[str]:
        """One line per SSSL epoch whose split was not (fully) used."""
        out = []
        for h in self.history:
            if not h["phase"].startswith("SSSL"):
                continue
            if h.get("fallback"):
                out.append(f"epoch {h['epoch']}: {h['fallback']} (all labelled)")
            elif h.get("kept_classes"):
                out.append(f"epoch {h['epoch']}: class(es) {h['kept_classes']} without a clean sample (kept labelled)")
        return out


class SSSLTrainer:
    """A model, its optimizer and its compiled steps, reusable across units.

    Compiling a step costs seconds on a CPU; a protocol trains the same architecture once
    per fold and method, so the trainer keeps one model and, before each :meth:`fit`,
    restores its initial state (weights, dropout seed state, optimizer slots): every
    unit starts from the same initialisation, whatever ran before.
    """

    def __init__(self, model, *, optimizer: str = "adam", learning_rate: float = 1e-4,
                 predict_batch_size: int = 256):
        self.model = model
        self.optimizer = keras.optimizers.get({"class_name": optimizer,
                                               "config": {"learning_rate": learning_rate}})
        self.optimizer.build(model.trainable_variables)
        self.optimizer_name, self.learning_rate = optimizer, float(learning_rate)
        self.predict_batch_size = int(predict_batch_size)
        self._model_state = [np.array(v.numpy()) for v in model.variables]
        self._opt_state = [np.array(v.numpy()) for v in self.optimizer.variables]
        self._steps: dict[tuple[bool, float], Callable] = {}
        self._predict = make_predict(model)

    def reset(self) -> None:
        """Back to the initial weights, dropout seed state and optimizer state."""
        for v, val in zip(self.model.variables, self._model_state):
            v.assign(val)
        for v, val in zip(self.optimizer.variables, self._opt_state):
            v.assign(val)

    def predict(self, X: np.ndarray, *, transform: Callable | None = None) -> np.ndarray:
        return predict_batched(self.model, X, batch_size=self.predict_batch_size,
                               transform=transform, predict=self._predict)

    def _step(self, mix: bool, lam: float) -> Callable:
        key = (bool(mix), float(lam))
        if key not in self._steps:
            self._steps[key] = make_train_step(self.model, self.optimizer, mix=mix, lam=lam)
        return self._steps[key]

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, settings: SSSLSettings, *,
            seed: int = 0, transform: Callable[[np.ndarray], np.ndarray] | None = None,
            noisy_truth: np.ndarray | None = None, log: Callable[[str], None] | None = None,
            reset: bool = True) -> SSSLResult:
        """Train on ``X`` with integer labels ``y`` (see :func:`train_sssl`)."""
        s = settings
        if (s.optimizer, float(s.learning_rate)) != (self.optimizer_name, self.learning_rate):
            raise ValueError(f"this trainer's optimizer is {self.optimizer_name} at "
                             f"{self.learning_rate}; the settings ask for {s.optimizer} at "
                             f"{s.learning_rate} (make another trainer)")
        X = np.asarray(X)
        y = np.asarray(y, dtype=int)
        if len(X) != len(y):
            raise ValueError(f"X ({len(X)}) and y ({len(y)}) differ in length")
        if len(y) == 0:
            raise ValueError("no training samples")
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"labels must be in [0, {n_classes}); got {y.min()}..{y.max()}")
        if reset:
            self.reset()
        warn = log or (lambda msg: warnings.warn(msg, RuntimeWarning, stacklevel=3))
        rng = np.random.default_rng(seed)
        onehot = np.eye(n_classes, dtype=np.float32)[y]
        truth = None if noisy_truth is None else np.asarray(noisy_truth, dtype=bool)
        prep = transform or (lambda a: np.asarray(a, dtype=np.float32))
        history: list[dict[str, Any]] = []
        snapshots: dict[int, dict[str, np.ndarray]] = {}
        n = len(y)
        bs = min(int(s.batch_size), n)
        identity = np.arange(bs)
        t_all = time.perf_counter()
        for epoch in range(1, s.epochs + 1):
            t0 = time.perf_counter()
            sssl_epoch = s.method == "sssl" and epoch > s.warmup_epochs
            row: dict[str, Any] = {"epoch": epoch, "n": n}
            targets, in_u = onehot, np.zeros(n, dtype=bool)
            split = None
            if sssl_epoch or s.log_split:
                P = self.predict(X, transform=prep)
                losses = per_sample_loss(P, y)
                split = gmm_split(losses, s.tau, y=y, max_iter=s.gmm_max_iter, tol=s.gmm_tol,
                                  reg_covar=s.gmm_reg_covar, min_weight=s.min_weight,
                                  min_gap=s.min_gap, seed=seed + epoch)
                row.update(pass_loss=float(losses.mean()),
                           pass_accuracy=float(np.mean(P.argmax(1) == y)),
                           clean_share=float(np.mean(split.w > s.tau)),
                           gmm_mean_clean=split.means[0], gmm_mean_noisy=split.means[1],
                           gmm_std_clean=split.stds[0], gmm_std_noisy=split.stds[1],
                           gmm_weight_clean=split.weights[0], gmm_converged=split.converged,
                           fallback=split.fallback,
                           kept_classes=" ".join(map(str, split.kept_classes)))
                if truth is not None:
                    flagged = split.w <= s.tau
                    row["flipped_flagged_noisy"] = float(flagged[truth].mean()) if truth.any() else float("nan")
                    row["clean_set_label_precision"] = (float((~truth[~flagged]).mean())
                                                        if (~flagged).any() else float("nan"))
                snapshots[epoch] = {"loss": losses.astype(np.float32), "w": split.w.astype(np.float32),
                                    "sssl": np.asarray(sssl_epoch)}
                if sssl_epoch and split.fallback:
                    warn(f"SSSL epoch {epoch}: {split.fallback}; every sample kept labelled this epoch")
                elif sssl_epoch and split.kept_classes:
                    warn(f"SSSL epoch {epoch}: class(es) {list(split.kept_classes)} without a clean sample; "
                         "their samples kept labelled this epoch")
                if sssl_epoch:
                    in_u = ~split.clean
                    if in_u.any():
                        targets = onehot.copy()
                        targets[in_u] = np.asarray(ops.convert_to_numpy(sharpen(P[in_u], s.temperature)))
            if sssl_epoch:
                row["phase"] = "SSSL" + (" (fallback: all labelled)" if split.fallback else
                                         " (some classes kept labelled)" if split.kept_classes else "")
            else:
                row["phase"] = "warm-up (plain CE)" if s.method == "sssl" else "plain CE"
            row["n_unlabelled"] = int(in_u.sum())
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
                    step = self._step(True, s.lam if u_mask.any() else 0.0)
                else:
                    d, perm, step = 1.0, identity, self._step(False, 0.0)
                sums += np.asarray(step(prep(X[b]), targets[b], u_mask, d, perm))
            row.update(loss_total=float(sums[0] / n_steps), loss_mix=float(sums[1] / n_steps),
                       loss_kl=float(sums[2] / n_steps), seconds=round(time.perf_counter() - t0, 3))
            history.append(row)
        if snapshots:   # keep the first split of SSSL (else the first pass) and the last pass
            first = min((e for e, v in snapshots.items() if v["sssl"]), default=min(snapshots))
            snapshots = {e: snapshots[e] for e in sorted({first, max(snapshots)})}
        return SSSLResult(history=history, snapshots=snapshots,
                          seconds=round(time.perf_counter() - t_all, 3))


def train_sssl(model, X: np.ndarray, y: np.ndarray, n_classes: int, settings: SSSLSettings, *,
               seed: int = 0, transform: Callable[[np.ndarray], np.ndarray] | None = None,
               noisy_truth: np.ndarray | None = None, log: Callable[[str], None] | None = None,
               ) -> SSSLResult:
    """Train ``model`` (uncompiled; softmax output) on ``X`` with integer labels ``y``.

    ``settings.method`` = ``"sssl"`` (the GMM split, pseudo-labels, mixup, R-Drop; Proposed
    with ``lam > 0``, Proposed* with ``lam = 0``) or ``"simple"`` (plain cross-entropy on
    the given labels). ``transform`` is applied per batch (standardisation fitted on the
    training rows). ``noisy_truth`` (bool per sample: label was corrupted) only feeds the
    log. ``log`` receives fallback warnings (default: ``warnings.warn``). Epochs are
    ``ceil(n / batch_size)`` steps of ``batch_size`` samples (the last batch completed
    from the start of the shuffled order, so that every step has one shape).

    The model is trained from its current weights; to train one architecture many times
    use :class:`SSSLTrainer` (compiled once, reset between units).
    """
    trainer = SSSLTrainer(model, optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                          predict_batch_size=settings.predict_batch_size)
    return trainer.fit(X, y, n_classes, settings, seed=seed, transform=transform,
                       noisy_truth=noisy_truth, log=log, reset=False)
