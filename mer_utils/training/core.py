"""Generic Keras 3 training helpers: compile, fit with early stopping on validation only,
scaling fitted on training data only, predict.

Nothing here knows about a particular model or paper::

    scaler = Standardizer().fit(X[split["train"]])            # training data only
    model = build(...); compile_classifier(model)
    hist = fit(model, (scaler(X[tr]), y[tr]), (scaler(X[va]), y[va]),
               epochs=25, batch_size=16, patience=5, seed=0)  # best weights restored
    y_score = predict_proba(model, scaler(X[te]))

or all of it at once with :func:`train_and_predict`.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Sequence

import keras
import numpy as np

from mer_utils.config import seed_everything


# --------------------------------------------------------------------------- scaling
class Standardizer:
    """Zero-mean / unit-variance scaling whose statistics come from training data only.

    ``axis=None`` uses one mean/std over all values (keeps the relative level of bands,
    the usual choice for dB spectrograms); ``axis=-1`` uses one per feature/band.
    """

    def __init__(self, axis: int | None = None, eps: float = 1e-6):
        self.axis, self.eps = axis, eps
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> "Standardizer":
        X = np.asarray(X, dtype=np.float32)
        if self.axis is None:
            self.mean_, self.std_ = np.float32(X.mean()), np.float32(X.std())
        else:
            red = tuple(i for i in range(X.ndim) if i != (self.axis % X.ndim))
            self.mean_, self.std_ = X.mean(axis=red), X.std(axis=red)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("Standardizer.fit() must be called (on training data) first")
        return ((np.asarray(X, dtype=np.float32) - self.mean_) / (self.std_ + self.eps)).astype(np.float32)

    __call__ = transform


# --------------------------------------------------------------------------- compile / fit
#: How a training step runs: "xla" (traced and XLA-compiled where Keras's ``jit_compile="auto"``
#: chooses it), "graph" (traced, no XLA) or "eager" (no tracing: cheapest for the few steps
#: of a smoke run under TensorFlow or PyTorch).
EXECUTIONS = ("xla", "graph", "eager")


def execution_kwargs(execution: str = "xla") -> dict[str, Any]:
    """``model.compile`` keywords (``jit_compile``, ``run_eagerly``) for an execution mode,
    resolved for the running Keras backend.

    TensorFlow and PyTorch: ``"xla"`` -> ``jit_compile="auto"`` (Keras's default: XLA on a
    GPU under TensorFlow, never under PyTorch), ``"graph"`` -> ``jit_compile=False``,
    ``"eager"`` -> ``run_eagerly=True``. JAX has no graph without XLA, and its eager mode
    runs op by op, compiling every primitive once per input shape: the first epoch of an
    EfficientNetB0 on 32-px images took 225 s eagerly against 10 s under TensorFlow's
    eager mode and ~35 s of XLA compilation for the whole jitted step (2 CPU cores). Under
    JAX every mode is therefore ``"xla"``: the modes ask for the cheapest way to run a
    step, and there that is one compiled step. (Pass ``run_eagerly=True`` to
    ``model.compile`` yourself to debug op by op under JAX.)
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, not {execution!r}")
    if keras.backend.backend() == "jax":
        execution = "xla"
    return {"jit_compile": "auto" if execution == "xla" else False, "run_eagerly": execution == "eager"}


def compile_classifier(model, *, learning_rate: float = 1e-3, optimizer: str = "adam",
                       loss: str = "sparse_categorical_crossentropy",
                       metrics: Sequence[str] = ("accuracy",), **compile_kwargs):
    """Compile ``model`` for classification (sparse integer labels by default); returns it.

    Adam with learning rate 1e-3 by default; ``optimizer`` may be any name Keras knows
    (``"rmsprop"``, ``"sgd"``...). For multi-label models pass ``loss="binary_crossentropy"``.
    Other keyword arguments (``run_eagerly``, ``jit_compile``...) go to ``model.compile``;
    ``**execution_kwargs(mode)`` gives them for an execution mode and the running backend.
    """
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=opt, loss=loss, metrics=list(metrics), **compile_kwargs)
    return model


class BestWeights(keras.callbacks.Callback):
    """Early stopping on a validation metric, with the best weights restored at the end.

    Unlike ``keras.callbacks.EarlyStopping`` the best weights are restored whether or not
    training stopped early, and the best epoch is recorded (0-based ``best_epoch``).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int | None = None):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.best = np.inf if mode == "min" else -np.inf
        self.best_epoch, self.best_weights, self.wait = -1, None, 0
        self.stopped_epoch: int | None = None

    def _better(self, value: float) -> bool:
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"monitor {self.monitor!r} not in the epoch logs {sorted(logs)}")
        value = float(logs[self.monitor])
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def fit(model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], *,
        epochs: int, batch_size: int, patience: int | None = None, seed: int = 0,
        monitor: str = "val_loss", mode: str = "auto", class_weight: dict | None = None,
        verbose: int = 0) -> dict[str, Any]:
    """Train a compiled model; early stopping and weight selection use validation data only.

    ``train`` and ``val`` are ``(X, y)`` pairs; test data never enters here. After
    training, the weights of the epoch with the best ``monitor`` value (which must be a
    validation metric, ``val_*``) are restored. ``patience=None`` trains all ``epochs``
    (still restoring the best epoch's weights).

    Returns a history dict: one list per logged metric (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``...), plus ``epoch`` (1-based), ``best_epoch``
    (1-based), ``stopped_early`` (bool), ``monitor`` and ``seconds``.
    """
    if val is None or len(val) != 2 or len(val[0]) == 0:
        raise ValueError("fit() needs validation data (X_val, y_val) for early stopping; "
                         "never pass test data here")
    if not monitor.startswith("val_"):
        raise ValueError(f"monitor must be a validation metric ('val_...'), not {monitor!r}")
    if mode == "auto":
        mode = "min" if "loss" in monitor or "error" in monitor else "max"
    if getattr(model, "optimizer", None) is None:
        raise ValueError("compile the model first (mer_utils.training.compile_classifier)")
    seed_everything(seed)
    cb = BestWeights(monitor, mode, patience)
    t0 = time.perf_counter()
    h = model.fit(train[0], train[1], validation_data=(val[0], val[1]), epochs=int(epochs),
                  batch_size=int(batch_size), shuffle=True, callbacks=[cb], verbose=verbose,
                  class_weight=class_weight)
    hist: dict[str, Any] = {k: [float(v) for v in vals] for k, vals in h.history.items()}
    n = len(next(iter(h.history.values()))) if h.history else 0
    hist["epoch"] = list(range(1, n + 1))
    hist["best_epoch"] = int(cb.best_epoch) + 1
    hist["stopped_early"] = cb.stopped_epoch is not None
    hist["monitor"] = monitor
    hist["seconds"] = round(time.perf_counter() - t0, 2)
    return hist


def predict_proba(model, X: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Class scores ``(n, n_classes)`` as float32 (model in inference mode)."""
    return np.asarray(model.predict(X, batch_size=batch_size, verbose=0), dtype=np.float32)


# --------------------------------------------------------------------------- one run
@dataclasses.dataclass
class TrainResult:
    """What :func:`train_and_predict` returns for one (model, split, seed)."""

    model: Any
    history: dict[str, Any]
    y_score: np.ndarray          # (n_test, n_classes) scores on the test rows
    test_index: np.ndarray       # positions of the test rows
    scaler: Standardizer | None
    seconds: float


def train_and_predict(build: Callable[[], Any], X: np.ndarray, y: np.ndarray,
                      split: dict[str, np.ndarray], *, epochs: int, batch_size: int,
                      patience: int | None, seed: int = 0, standardize: int | None | bool = None,
                      compile_kwargs: dict[str, Any] | None = None, verbose: int = 0,
                      ) -> TrainResult:
    """Seed, build, compile, fit on ``split['train']`` (early stopping on ``split['validation']``)
    and score ``split['test']``.

    ``build`` is a zero-argument callable returning an uncompiled Keras model (use
    ``functools.partial`` for arguments). ``standardize``: ``None`` = one global mean/std,
    an int = per-axis statistics, ``False`` = no scaling; statistics come from the training
    rows only.
    """
    t0 = time.perf_counter()
    seed_everything(seed)
    tr, va, te = (np.asarray(split[s], dtype=int) for s in ("train", "validation", "test"))
    if set(tr) & set(te) or set(va) & set(te) or set(tr) & set(va):
        raise ValueError("train, validation and test rows overlap")
    scaler = None
    if standardize is not False:
        scaler = Standardizer(axis=standardize).fit(X[tr])
        prep = scaler.transform
    else:
        prep = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    model = build()
    compile_classifier(model, **(compile_kwargs or {}))
    hist = fit(model, (prep(X[tr]), y[tr]), (prep(X[va]), y[va]), epochs=epochs,
               batch_size=batch_size, patience=patience, seed=seed, verbose=verbose)
    y_score = predict_proba(model, prep(X[te]), batch_size=batch_size)
    return TrainResult(model=model, history=hist, y_score=y_score, test_index=te, scaler=scaler,
                       seconds=round(time.perf_counter() - t0, 2))


# --------------------------------------------------------------------------- repeated runs
def train_over_seeds(build: Callable[[], Any], X: np.ndarray, y: np.ndarray, ids, labels,
                     splits: dict[int, dict[str, np.ndarray]], *, results_dir, experiment: str,
                     epochs: int, batch_size: int, patience: int | None,
                     standardize: int | None | bool = None,
                     compile_kwargs: dict[str, Any] | None = None,
                     meta: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
                     verbose: int = 0, progress: bool = True) -> dict[int, dict[str, Any]]:
    """Train one single-label model once per seed, each on its own split, into the store.

    ``splits`` maps seed -> split (``{"train", "validation", "test"}`` positions); ``y``
    holds class indices into ``labels``. Seed ``s`` (the ``i``-th) is unit ``r<i>-f00-s<s>``
    of ``experiment``; its training history is stored with it. ``config`` (plus the
    training settings here) decides what a rerun may reuse: units stored under the same
    configuration are not trained again, and the previous complete set is replaced only
    when every seed has run. Returns ``{seed: history}`` (each with ``run_seconds``).
    """
    from mer_utils.evaluation.protocols import Split
    from mer_utils.experiment import UnitResult, run_protocol
    from mer_utils.results import Unit, load_predictions

    ids = np.asarray([str(i) for i in ids])
    y = np.asarray(y)
    units = [Split(Unit(i, 0, int(s)), sp["train"], sp["test"], sp["validation"])
             for i, (s, sp) in enumerate(splits.items())]

    def fit_predict(split: Split) -> UnitResult:
        r = train_and_predict(build, X, y, split.as_dict(), epochs=epochs, batch_size=batch_size,
                              patience=patience, seed=int(split.unit.seed), standardize=standardize,
                              compile_kwargs=compile_kwargs, verbose=verbose)
        te = r.test_index
        if progress:
            acc = float(np.mean(np.argmax(r.y_score, axis=1) == y[te]))
            print(f"{experiment} seed {split.unit.seed}: {len(r.history['epoch'])} epochs "
                  f"(kept {r.history['best_epoch']}), test accuracy {acc:.2f}, {r.seconds:.0f} s")
        return UnitResult(ids=ids[te], y_true=y[te], y_score=r.y_score, labels=list(labels),
                          info={"history": dict(r.history, run_seconds=r.seconds)})

    settings = dict(config or {}, epochs=epochs, batch_size=batch_size, patience=patience,
                    standardize=standardize, compile_kwargs=compile_kwargs or {},
                    n_rows=len(ids), labels=list(labels))
    run_protocol(results_dir, experiment, units, config=settings, fit_predict=fit_predict,
                 meta=dict(meta or {}, labels=list(labels)), progress=progress)
    return {int(fp.seed): fp.info.get("history", {}) for fp in load_predictions(results_dir, experiment)
            if fp.seed is not None}
