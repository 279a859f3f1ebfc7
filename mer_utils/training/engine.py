"""The one training engine: every Keras network of every paper, the leaderboard and the
benchmarks trains through :class:`Trainer`.

A paper says *what* to train (a builder and a :class:`Recipe`); the engine says *how*::

    recipe = Recipe(epochs=25, batch_size=16, learning_rate=1e-3,
                    stop=ValidationStop(patience=5))          # early stopping on validation only
    trainer = Trainer(lambda: build_crnn((646, 128), 3), recipe)
    for split in splits:                                      # one compiled model for all units
        hist = trainer.fit(X[split.train], y[split.train],
                           validation=(X[split.validation], y[split.validation]), seed=split.seed)
        P = trainer.predict(X[split.test])

What it does, in one place:

* **Compiles once, resets per unit.** The model is built and compiled on the first
  :meth:`Trainer.fit`; before every later fit its variables (weights, dropout seed state)
  are set to what a fresh build under the unit's ``init_seed`` gives and the optimizer state
  is zeroed, so the traced training step is reused while every unit starts as if from a new
  model. ``init_seed`` defaults to the unit's ``seed``; pass one fixed ``init_seed`` to start
  every unit from the same initial weights. The engine draws the batch order itself
  (numpy, seeded), so batches are the same under every backend. (Under torch, a ``Dropout``
  without a seed of its own draws its masks from torch's global generator, which a first
  fit advances differently from later ones: there a reused trainer matches a fresh one in
  weights and batches, not in dropout masks.)
* **Stop rules** are Keras callbacks on the one loop: :class:`ValidationStop` (early stopping
  and best-weight restoration on *validation* data only; test rows never enter the engine),
  :class:`TrainAccuracyStop` (the methods paper's "training set accuracy reached ... 90 %"),
  or none (every epoch). An :class:`OptimizerSchedule` switches the optimizer between phases
  (Adam -> SGD), recompiling at each boundary.
* **Micro-batches**: ``Recipe.micro_batch`` keeps the paper's batch size while passing at
  most that many samples at a time, accumulating gradients (Keras's
  ``gradient_accumulation_steps``): one optimizer update per paper batch.
* **History**: one value per epoch of every logged metric, the seconds of each epoch, the
  epoch at which the stop rule fired and the epoch whose weights were kept; the learning
  curves of the notebooks read it.
* **Custom training** (semi-supervised self-learning's GMM split, mixup and R-Drop) plugs in
  as an :class:`EpochStep`: the engine seeds, resets, times, applies the stop rule and
  records the history; the step runs one epoch of its own updates on ``trainer.model`` with
  ``trainer.optimizer``.

This module imports Keras: import it only where a network is trained.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Protocol, Sequence

import keras
import numpy as np

from mer_utils.config import seed_everything

#: Environment switch that breaks every fit on purpose, to show that the learning checks
#: (:mod:`mer_utils.evaluation.learning`, the notebooks' smoke tests) catch broken training:
#: ``shuffle-labels`` trains on the labels permuted (seeded by the unit's seed). Never set
#: it for a real run: the history of every fit records it (``sabotage``).
SABOTAGE_ENV = "MER_SABOTAGE"
SABOTAGES = ("shuffle-labels",)


def sabotage_mode() -> str:
    """The deliberate breakage asked for through ``MER_SABOTAGE`` ('' when none)."""
    mode = os.environ.get(SABOTAGE_ENV, "").strip()
    if mode and mode not in SABOTAGES:
        raise ValueError(f"{SABOTAGE_ENV}={mode!r}: choose one of {SABOTAGES} or leave it unset")
    return mode


def _sabotaged(y, seed: int):
    """``y`` with its rows permuted (the training labels no longer belong to their inputs)."""
    y = np.asarray(y)
    return y[np.random.default_rng([int(seed), 9_999]).permutation(len(y))]

__all__ = ["EXECUTIONS", "execution_kwargs", "Standardizer", "accumulation_steps", "ValidationStop",
           "TrainAccuracyStop", "Phase", "OptimizerSchedule", "WON_TRANSFER", "Recipe", "EpochStep",
           "Trainer"]


# --------------------------------------------------------------------------- execution modes
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
    JAX every mode is therefore ``"xla"``.
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, not {execution!r}")
    if keras.backend.backend() == "jax":
        execution = "xla"
    return {"jit_compile": "auto" if execution == "xla" else False, "run_eagerly": execution == "eager"}


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


def accumulation_steps(batch_size: int, micro_batch: int | None, n_train: int) -> int:
    """Gradient-accumulation steps that keep ``batch_size`` while passing at most
    ``micro_batch`` samples at a time: the smallest divisor ``k`` of ``batch_size`` with
    ``batch_size / k <= micro_batch``. 1 (no accumulation) when no cap is set or when the
    training set is smaller than one batch (Keras then takes all of it in one step)."""
    if not micro_batch or batch_size <= micro_batch or n_train < batch_size:
        return 1
    return next(k for k in range(1, batch_size + 1) if batch_size % k == 0 and batch_size // k <= micro_batch)


# --------------------------------------------------------------------------- stop rules
@dataclasses.dataclass(frozen=True)
class ValidationStop:
    """Early stopping on a validation metric; the best epoch's weights are restored whether
    or not training stopped early. ``patience=None`` trains every epoch (still keeping the
    best epoch's weights). ``monitor`` must be a validation metric (``val_*``)."""

    patience: int | None = None
    monitor: str = "val_loss"
    mode: str = "auto"

    def __post_init__(self):
        if not self.monitor.startswith("val_"):
            raise ValueError(f"ValidationStop monitors a validation metric ('val_...'), not {self.monitor!r}")
        if self.mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', not {self.mode!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, not {self.patience}")

    needs_validation = True

    def describe(self) -> str:
        return (f"early stopping on {self.monitor}" + (f", patience {self.patience}" if self.patience else "")
                + ", best epoch's weights kept")

    def callback(self) -> "_BestWeights":
        mode = self.mode
        if mode == "auto":
            mode = "min" if ("loss" in self.monitor or "error" in self.monitor) else "max"
        return _BestWeights(self.monitor, mode, self.patience)


@dataclasses.dataclass(frozen=True)
class TrainAccuracyStop:
    """Stop at the end of the first epoch whose *training* accuracy (the running mean Keras
    logs over the epoch's batches) is >= ``threshold``: Louro et al. (Sec. 3.1), "halting
    training when the training set accuracy reached a value equal to or greater than 90%".
    No held-out data is involved."""

    threshold: float = 0.9
    monitor: str = "accuracy"

    def __post_init__(self):
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], not {self.threshold}")
        if self.monitor.startswith("val_"):
            raise ValueError(f"TrainAccuracyStop reads a training metric, not {self.monitor!r}")

    needs_validation = False

    def describe(self) -> str:
        return f"stop when training {self.monitor} >= {self.threshold:g}"

    def callback(self) -> "_TrainAccuracy":
        return _TrainAccuracy(self.threshold, self.monitor)


class _BestWeights(keras.callbacks.Callback):
    def __init__(self, monitor: str, mode: str, patience: int | None):
        super().__init__()
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.best = np.inf if mode == "min" else -np.inf
        self.best_epoch, self.best_weights, self.wait = -1, None, 0
        self.fired_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"monitor {self.monitor!r} not in the epoch logs {sorted(logs)}")
        value = float(logs[self.monitor])
        if (value < self.best) if self.mode == "min" else (value > self.best):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.fired_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class _TrainAccuracy(keras.callbacks.Callback):
    def __init__(self, threshold: float, monitor: str):
        super().__init__()
        self.threshold, self.monitor = threshold, monitor
        self.fired_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"{self.monitor!r} is not in the epoch logs {sorted(logs)}; "
                           "give the recipe metrics=('accuracy',)")
        if float(logs[self.monitor]) >= self.threshold:
            self.fired_epoch = int(epoch)
            self.model.stop_training = True


class _Batches(keras.utils.PyDataset):
    """The training rows in batches, in an order the engine draws itself (numpy, seeded per
    fit and reshuffled every epoch): the same batches under every Keras backend, whatever
    ran before (the backends' own shuffles draw from generators a first fit advances)."""

    def __init__(self, x, y, batch_size: int, shuffle: bool, seed: int):
        super().__init__()
        self.x = list(x) if isinstance(x, (list, tuple)) else x
        self.y = np.asarray(y)
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.y)) if self.shuffle else np.arange(len(self.y))

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __getitem__(self, i: int):
        rows = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        xb = tuple(a[rows] for a in self.x) if isinstance(self.x, list) else self.x[rows]   # a tuple: tf.data takes no list
        return xb, self.y[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.y))


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self._t0, 3))


# --------------------------------------------------------------------------- optimizer phases
@dataclasses.dataclass(frozen=True)
class Phase:
    start_epoch: int            # 0-based, inclusive
    optimizer: str              # keras.optimizers name: "adam", "sgd"
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class OptimizerSchedule:
    """Optimizer phases sorted by start epoch (0-based; the first starts at 0). A Keras
    callback can change a learning rate but not the optimizer, so the engine recompiles at
    each boundary; the weights carry over, the new optimizer starts fresh (as Won et al.'s
    solver builds a new ``torch.optim.SGD``)."""

    phases: tuple[Phase, ...]

    def __post_init__(self):
        starts = [p.start_epoch for p in self.phases]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError(f"phases must start at epoch 0 and increase strictly, got {starts}")

    def at(self, epoch: int) -> Phase:
        """The phase in force at 0-based ``epoch``."""
        if epoch < 0:
            raise ValueError("epoch must be >= 0")
        return [p for p in self.phases if p.start_epoch <= epoch][-1]

    def segments(self, epochs: int) -> list[tuple[Phase, int, int]]:
        """(phase, first epoch, end epoch exclusive) of the phases met in ``epochs`` epochs."""
        out = []
        for i, p in enumerate(self.phases):
            end = self.phases[i + 1].start_epoch if i + 1 < len(self.phases) else epochs
            lo, hi = p.start_epoch, min(end, epochs)
            if lo < hi:
                out.append((p, lo, hi))
        return out

    def describe(self) -> str:
        return "; ".join(f"{p.optimizer} {p.learning_rate:g} from epoch {p.start_epoch}" for p in self.phases)


#: Won et al.'s fine-tuning schedule as the methods paper gives it (Louro et al., Sec. 3.7):
#: "Adam optimizer and a learning rate of 1e-3 until epoch 80, then shifted to the SGD
#: optimizer with a learning rate of 1e-4, which decreased to 1e-5 at epoch 100, and finally
#: to 1e-6 at epoch 120".
WON_TRANSFER = OptimizerSchedule((Phase(0, "adam", 1e-3), Phase(80, "sgd", 1e-4),
                                  Phase(100, "sgd", 1e-5), Phase(120, "sgd", 1e-6)))


# --------------------------------------------------------------------------- the recipe
@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a network is trained: what a paper's Table of settings says.

    ``stop``: :class:`ValidationStop`, :class:`TrainAccuracyStop` or ``None`` (every epoch).
    ``schedule``: optimizer phases (then ``optimizer``/``learning_rate`` are the first
    phase's). ``micro_batch``: the most samples passed at once (gradient accumulation keeps
    ``batch_size``). ``execution``: see :func:`execution_kwargs`. ``loss`` and ``metrics``
    are Keras names (``"binary_crossentropy"`` and no metric for multi-label networks,
    ``"mse"`` for an autoencoder).
    """

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    stop: ValidationStop | TrainAccuracyStop | None = None
    schedule: OptimizerSchedule | None = None
    micro_batch: int | None = None
    execution: str = "xla"
    shuffle: bool = True
    predict_batch_size: int = 32

    def __post_init__(self):
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, not {self.epochs}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, not {self.batch_size}")
        if self.execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {EXECUTIONS}, not {self.execution!r}")
        if self.schedule is not None:
            first = self.schedule.phases[0]
            object.__setattr__(self, "optimizer", first.optimizer)
            object.__setattr__(self, "learning_rate", first.learning_rate)
        object.__setattr__(self, "metrics", tuple(self.metrics))

    def describe(self) -> dict[str, Any]:
        """The recipe as a flat record (for manifests, configuration hashes and tables)."""
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size),
                "optimizer": self.schedule.describe() if self.schedule else f"{self.optimizer} {self.learning_rate:g}",
                "loss": self.loss, "stop": self.stop.describe() if self.stop else f"all {self.epochs} epochs",
                "micro_batch": self.micro_batch, "execution": self.execution}


class EpochStep(Protocol):
    """A custom training step the engine drives one epoch at a time.

    ``begin(trainer, x, y)`` is called once per fit after the reset; ``run_epoch(trainer,
    epoch)`` (0-based) runs the epoch's updates on ``trainer.model`` with
    ``trainer.optimizer`` and returns the epoch's logs (numbers, or short strings);
    ``end(trainer)`` returns what the fit adds to the history beyond the per-epoch logs.
    Compiled functions a step builds can be kept in ``trainer.compiled`` (a dict that lives
    as long as the trainer), so they are traced once for all units.
    """

    def begin(self, trainer: "Trainer", x, y) -> None: ...

    def run_epoch(self, trainer: "Trainer", epoch: int) -> dict[str, Any]: ...

    def end(self, trainer: "Trainer") -> dict[str, Any]: ...


# --------------------------------------------------------------------------- the trainer
class Trainer:
    """One network architecture trained under one :class:`Recipe`, unit after unit.

    ``build`` is a zero-argument callable returning an uncompiled Keras model (the model
    files in :mod:`mer_utils.models` give them; use ``functools.partial`` for arguments).
    """

    def __init__(self, build: Callable[[], Any], recipe: Recipe, *, name: str | None = None):
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, not {type(recipe).__name__}")
        self.build, self.recipe, self.name = build, recipe, name
        self.model = None
        self.compiled: dict[Any, Any] = {}
        self._init: tuple[int, list[np.ndarray]] | None = None
        self._compiled_for: tuple | None = None
        self.fits = 0

    # ------------------------------------------------------------------ state
    @property
    def optimizer(self):
        return None if self.model is None else self.model.optimizer

    @property
    def n_params(self) -> int | None:
        return None if self.model is None else int(self.model.count_params())

    def _compile(self, optimizer: str, learning_rate: float, steps: int) -> None:
        key = (optimizer, float(learning_rate), int(steps))
        if self._compiled_for == key:
            return
        conf: dict[str, Any] = {"learning_rate": float(learning_rate)}
        if steps > 1:
            conf["gradient_accumulation_steps"] = int(steps)
        opt = keras.optimizers.get({"class_name": optimizer, "config": conf})
        r = self.recipe
        self.model.compile(optimizer=opt, loss=r.loss, metrics=list(r.metrics), **execution_kwargs(r.execution))
        self._compiled_for = key

    def _reset(self, init_seed: int) -> None:
        """The model's variables as a fresh build under ``init_seed`` gives them; a zeroed
        optimizer state."""
        if self.model is None:
            keras.backend.clear_session()
            seed_everything(init_seed)
            self.model = self.build()
            self._init = (init_seed, [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.variables])
            return
        if self._init is None or self._init[0] != init_seed:
            seed_everything(init_seed)
            fresh = self.build()
            if len(fresh.variables) != len(self.model.variables):
                raise RuntimeError(f"{self.name or 'the builder'} built models of different structure "
                                   "on two calls; a builder must be deterministic in its shapes")
            self._init = (init_seed, [np.array(keras.ops.convert_to_numpy(v)) for v in fresh.variables])
            del fresh
        for v, val in zip(self.model.variables, self._init[1]):
            v.assign(val)
        opt = self.model.optimizer
        if opt is not None and getattr(opt, "built", False):
            for v in opt.variables:
                if v.path.rsplit("/", 1)[-1] == "learning_rate":   # a variable too: keep it
                    continue
                v.assign(keras.ops.zeros(v.shape, dtype=v.dtype))

    # ------------------------------------------------------------------ fit
    def fit(self, x, y, validation: tuple[Any, Any] | None = None, *, seed: int = 0,
            init_seed: int | None = None, step: EpochStep | None = None, verbose: int = 0) -> dict[str, Any]:
        """Reset, then train on ``(x, y)`` under the recipe; returns the history.

        ``x`` may be one array or a list of arrays (multi-input models); the engine draws the
        batch order itself (seeded, reshuffled every epoch). ``validation`` is
        ``(x_val, y_val)``: needed by :class:`ValidationStop`, logged otherwise; never pass
        test rows. ``seed`` seeds Python, numpy and Keras before training (batch order,
        dropout); ``init_seed`` (default ``seed``) draws the initial weights.

        The history holds one list per logged metric (``loss``, ``accuracy``, ``val_loss``...),
        ``epoch`` (1-based), ``epoch_seconds``, ``seconds``, ``stop`` (the rule),
        ``stopped_at`` (1-based epoch at which the rule fired, or None), ``best_epoch``
        (1-based epoch whose weights were kept), ``stopped_early``, ``batch_size``,
        ``accumulation_steps`` and, with a schedule, ``phases``.
        """
        r = self.recipe
        if r.stop is not None and r.stop.needs_validation and (
                validation is None or len(validation) != 2 or len(validation[1]) == 0):
            raise ValueError("this recipe stops early on validation data: pass validation=(x_val, y_val) "
                             "(rows of the training side; never test data)")
        t0 = time.perf_counter()
        sabotage = sabotage_mode()
        if sabotage and y is not None:
            y = _sabotaged(y, seed)
        self._reset(int(seed if init_seed is None else init_seed))
        n_train = len(y) if y is not None else 0
        steps = accumulation_steps(int(r.batch_size), r.micro_batch, n_train)
        first = r.schedule.phases[0] if r.schedule else Phase(0, r.optimizer, r.learning_rate)
        self._compile(first.optimizer, first.learning_rate, steps)
        if step is not None and not getattr(self.model.optimizer, "built", False):
            self.model.optimizer.build(self.model.trainable_variables)
        seed_everything(int(seed))
        timer = _EpochTimer()
        stop_cb = r.stop.callback() if r.stop is not None else None
        cbs = [timer] + ([stop_cb] if stop_cb is not None else [])
        hist: dict[str, list] = {}
        phases: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        if step is not None:
            hist, extra = self._fit_custom(step, x, y, cbs)
        else:
            segments = r.schedule.segments(int(r.epochs)) if r.schedule else [(first, 0, int(r.epochs))]
            for i, (phase, lo, hi) in enumerate(segments):
                if i > 0:
                    self._compiled_for = None               # a new optimizer for the new phase
                    self._compile(phase.optimizer, phase.learning_rate, steps)
                batches = _Batches(x, y, int(r.batch_size) // steps, r.shuffle, seed=int(seed) + lo)
                h = self.model.fit(batches, validation_data=validation, epochs=hi, initial_epoch=lo, shuffle=False,
                                   callbacks=cbs, verbose=verbose)
                for k, v in h.history.items():
                    hist.setdefault(k, []).extend(float(a) for a in v)
                done = len(next(iter(h.history.values()), []))
                if r.schedule:
                    phases.append({"optimizer": phase.optimizer, "learning_rate": phase.learning_rate,
                                   "from": lo, "to": lo + done})
                if self.model.stop_training or done < hi - lo:
                    break
            if r.schedule:                                   # the next unit starts in phase 1 again
                self._compiled_for = None
        n = len(timer.seconds)
        out: dict[str, Any] = dict(hist)
        fired = getattr(stop_cb, "fired_epoch", None)
        best = getattr(stop_cb, "best_epoch", None)
        out.update(epoch=list(range(1, n + 1)), epoch_seconds=list(timer.seconds),
                   stop=r.stop.describe() if r.stop else f"all {r.epochs} epochs",
                   stopped_at=None if fired is None else fired + 1,
                   best_epoch=(best + 1) if best is not None and best >= 0 else n,
                   stopped_early=fired is not None and fired + 1 < int(r.epochs),
                   batch_size=int(r.batch_size), accumulation_steps=steps,
                   seconds=round(time.perf_counter() - t0, 2))
        if isinstance(r.stop, ValidationStop):
            out["monitor"] = r.stop.monitor
        if isinstance(r.stop, TrainAccuracyStop):
            out["threshold"] = r.stop.threshold
        if phases:
            out["phases"] = phases
        if sabotage:
            out["sabotage"] = sabotage
        out.update(extra)
        self.fits += 1
        return out

    def _fit_custom(self, step: EpochStep, x, y, cbs) -> tuple[dict[str, list], dict[str, Any]]:
        r = self.recipe
        for cb in cbs:
            cb.set_model(self.model)
        self.model.stop_training = False
        step.begin(self, x, y)
        hist: dict[str, list] = {}
        for cb in cbs:
            cb.on_train_begin()
        for epoch in range(int(r.epochs)):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            logs = dict(step.run_epoch(self, epoch))
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            for k, v in logs.items():
                hist.setdefault(k, []).append(v)
            if self.model.stop_training:
                break
        for cb in cbs:
            cb.on_train_end()
        return hist, dict(step.end(self) or {})

    # ------------------------------------------------------------------ predict
    def predict(self, x, *, batch_size: int | None = None) -> np.ndarray:
        """The model's outputs (class probabilities, tag scores...) as float32, in inference mode."""
        if self.model is None:
            raise RuntimeError("fit() first: the trainer has no model yet")
        bs = int(batch_size or self.recipe.predict_batch_size)
        n = len(x[0]) if isinstance(x, (list, tuple)) else len(x)
        if n == 0:
            return np.zeros((0, self.model.output_shape[-1]), np.float32)
        return np.asarray(self.model.predict(x, batch_size=bs, verbose=0), dtype=np.float32)
