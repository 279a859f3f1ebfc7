"""Stopping on the training set's own accuracy — the methods-comparison paper's rule — and a
fit helper that takes no validation data at all.

Louro et al. (Sec. 3.1): "halting training when the training set accuracy reached a value
equal to or greater than 90%". No validation data is involved, so no held-out rows (and
never a test fold) can steer training. Their released code passed the test fold to Keras as
``validation_data`` as well — only for logging, but any reader of the logs could pick a
model by it; :func:`fit_until_train_accuracy` has no place to pass one.

    model = build(); compile_classifier(model, optimizer="sgd", learning_rate=1e-2)
    hist = fit_until_train_accuracy(model, X[train], y[train], epochs=200, batch_size=150,
                                    threshold=0.9, seed=0)
    hist["stopped_at"]      # 1-based epoch at which training accuracy reached 0.9, or None

The accuracy is the one Keras logs for the epoch (the running mean over the epoch's batches,
with dropout active), exactly what the paper's callback read.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import keras
import numpy as np

from mer_utils.config import seed_everything


class TrainAccuracyStop(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose training accuracy is >= ``threshold``.

    ``monitor`` is the training metric read from the epoch logs (``"accuracy"``; a
    ``val_*`` name is refused: this rule never looks at held-out data). ``stopped_epoch``
    is the 0-based epoch at which it fired (None if it never did).
    """

    def __init__(self, threshold: float = 0.9, monitor: str = "accuracy"):
        super().__init__()
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        if monitor.startswith("val_"):
            raise ValueError(f"TrainAccuracyStop reads a training metric, not {monitor!r}")
        self.threshold, self.monitor = float(threshold), monitor
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"{self.monitor!r} is not in the epoch logs {sorted(logs)}; compile "
                           "the model with metrics=['accuracy']")
        if float(logs[self.monitor]) >= self.threshold:
            self.stopped_epoch = int(epoch)
            self.model.stop_training = True


def fit_until_train_accuracy(model, X, y, *, epochs: int, batch_size: int,
                             threshold: float | None = 0.9, seed: int = 0, shuffle: bool = True,
                             callbacks: Sequence[keras.callbacks.Callback] = (),
                             verbose: int = 0) -> dict[str, Any]:
    """Train a compiled model on training rows only, for at most ``epochs``, stopping when the
    training accuracy reaches ``threshold`` (``None``: train every epoch).

    ``X`` may be one array or a list of arrays (multi-input models). Returns a history dict:
    ``loss``, ``accuracy`` per epoch, ``epoch`` (1-based), ``stopped_at`` (1-based epoch at
    which the threshold was reached, or None), ``threshold`` and ``seconds``.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("compile the model first (mer_utils.training.compile_classifier)")
    seed_everything(seed)
    cbs = list(callbacks)
    stop = None
    if threshold is not None:
        stop = TrainAccuracyStop(threshold)
        cbs.append(stop)
    t0 = time.perf_counter()
    h = model.fit(X, np.asarray(y), epochs=int(epochs), batch_size=int(batch_size), shuffle=shuffle,
                  callbacks=cbs, verbose=verbose)
    hist: dict[str, Any] = {k: [float(v) for v in vals] for k, vals in h.history.items()}
    n = len(next(iter(h.history.values()))) if h.history else 0
    hist["epoch"] = list(range(1, n + 1))
    hist["stopped_at"] = None if stop is None or stop.stopped_epoch is None else stop.stopped_epoch + 1
    hist["threshold"] = threshold
    hist["seconds"] = round(time.perf_counter() - t0, 2)
    return hist
