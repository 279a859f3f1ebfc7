"""Optimizer schedules that switch the optimizer itself between epochs.

The methods-comparison paper (Louro et al., Sec. 3.7) fine-tunes Won et al.'s CRNN with
their solver's schedule: "Adam optimizer and a learning rate of 1e-3 until epoch 80, then
shifted to the SGD optimizer with a learning rate of 1e-4, which decreased to 1e-5 at epoch
100, and finally to 1e-6 at epoch 120", 200 epochs, batch 16 (:data:`WON_TRANSFER`).

Epochs are 0-based here (Keras's ``epoch`` argument): epochs 0-79 are the 80 Adam epochs,
epoch 80 is the first SGD epoch. A Keras callback can change a learning rate but not the
optimizer, so :func:`fit_phases` trains phase by phase (``model.fit(initial_epoch=...)``),
recompiling with the phase's optimizer at each boundary; the weights carry over, the
optimizer state starts fresh (as Won's solver builds a new ``torch.optim.SGD``).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Phase", "OptimizerSchedule", "WON_TRANSFER", "fit_phases"]


@dataclasses.dataclass(frozen=True)
class Phase:
    start_epoch: int            # 0-based, inclusive
    optimizer: str              # keras.optimizers name: "adam", "sgd"
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class OptimizerSchedule:
    """Phases sorted by start epoch; the first starts at 0."""

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


#: Won et al.'s fine-tuning schedule as the paper gives it (Sec. 3.7)
WON_TRANSFER = OptimizerSchedule((Phase(0, "adam", 1e-3), Phase(80, "sgd", 1e-4),
                                  Phase(100, "sgd", 1e-5), Phase(120, "sgd", 1e-6)))


def fit_phases(model, X, y, *, schedule: OptimizerSchedule, epochs: int, batch_size: int,
               compile_fn: Callable[[Any, Any], None], threshold: float | None = None, seed: int = 0,
               callbacks: Sequence = (), verbose: int = 0) -> dict[str, Any]:
    """Train ``model`` for ``epochs`` epochs following ``schedule``.

    ``compile_fn(model, optimizer)`` compiles with the given optimizer instance (loss and
    metrics are the caller's; include ``"accuracy"`` when ``threshold`` is set). ``threshold``:
    stop after the first epoch whose training accuracy reaches it (the paper's 90 % rule),
    across phases. Returns a history dict like
    :func:`mer_utils.training.callbacks.fit_until_train_accuracy`, plus ``phases``.
    """
    import keras

    from mer_utils.config import seed_everything
    from mer_utils.training.callbacks import TrainAccuracyStop

    seed_everything(seed)
    hist: dict[str, list] = {}
    stopped, used = None, []
    t0 = time.perf_counter()
    for phase, lo, hi in schedule.segments(int(epochs)):
        opt = keras.optimizers.get({"class_name": phase.optimizer, "config": {"learning_rate": phase.learning_rate}})
        compile_fn(model, opt)
        cbs = list(callbacks)
        stop = TrainAccuracyStop(threshold) if threshold is not None else None
        if stop is not None:
            cbs.append(stop)
        h = model.fit(X, np.asarray(y), epochs=hi, initial_epoch=lo, batch_size=int(batch_size),
                      shuffle=True, callbacks=cbs, verbose=verbose)
        for k, v in h.history.items():
            hist.setdefault(k, []).extend(float(a) for a in v)
        used.append({"optimizer": phase.optimizer, "learning_rate": phase.learning_rate, "from": lo,
                     "to": lo + len(next(iter(h.history.values()), []))})
        if stop is not None and stop.stopped_epoch is not None:
            stopped = stop.stopped_epoch + 1
            break
    n = len(next(iter(hist.values()), []))
    out: dict[str, Any] = dict(hist)
    out.update(epoch=list(range(1, n + 1)), stopped_at=stopped, threshold=threshold, phases=used,
               seconds=round(time.perf_counter() - t0, 2))
    return out
