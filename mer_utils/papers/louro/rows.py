"""The row registry: one entry per Table 3 row (name, inputs, how it is built and trained,
the paper's Table 1 settings). The rows themselves are registered by :mod:`.pipeline`, where
their fit functions live; :func:`register` adds (or replaces) one.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from .config import CHUNK_SAMPLES, Config

@dataclasses.dataclass(frozen=True)
class Row:
    """One Table 3 row: what it is, its inputs, how it is built and trained (Table 1).

    ``fit`` is ``fit(ctx, cfg, data, row, work) -> Fitted`` (a :class:`Fitted`: the unit
    function ``fit_predict(split) -> UnitResult`` and the row's label; or raises
    :class:`NotRunnable` with the reason); ``work`` is the run's :class:`~.pipeline.Workspace`. ``build`` (DL rows) is ``build(cfg, data, frames)
    -> keras.Model``. ``table1`` names the paper's Table 1 row (None for the SVM rows).
    """

    key: str
    name: str
    kind: str                        # "classical" | "dl" | "embedding" (a network's codes -> RF)
    inputs: str                      # human words for Table 1
    fit: Callable
    build: Callable | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str = "sgd"
    table1: str | None = None
    paper_row: str | None = None     # Table 3 row name when it differs from ``name``
    note: str = ""

    @property
    def experiment(self) -> str:
        return f"louro_{self.key}"

    @property
    def table3(self) -> str:
        return self.paper_row or self.name


ROWS: dict[str, Row] = {}
"""key -> :class:`Row`, filled by :mod:`.pipeline` (and by :func:`register`)."""

PART1_ROWS = ("svm_baseline", "svm_infold", "dl_baseline", "baseline_gru", "crnn", "hybrid",
              "shortchunk", "samplecnn")
PART2_ROWS = ("baseline_tfm", "baseline_sb", "baseline_rg", "baseline_deepsmote", "openl3_rf", "ae_rf",
              "artists_cnn", "crnn_mtat")
ALL_ROWS = PART1_ROWS + PART2_ROWS
BASELINE = "dl_baseline"
"""The row every other row is compared with (paired tests)."""


def register(row: Row) -> Row:
    """Add (or replace) a row of the registry; returns it."""
    ROWS[row.key] = row
    return row


class NotRunnable(RuntimeError):
    """A row that cannot run on the data at hand (the reason is shown in Table 3)."""


@dataclasses.dataclass(frozen=True)
class Fitted:
    """What a row's ``fit`` returns: the unit function for ``run_protocol`` and the label the
    row carries in Table 3 (e.g. a substitution), returned rather than stored anywhere."""

    fit_predict: Callable
    label: str = ""


def input_size(cfg: Config, row: Row, *, paper: bool) -> dict[str, int]:
    """A DL row's input size: the paper's (``paper=True``) or this profile's."""
    frames = 942 if paper else cfg.input_frames
    if row.key == "artists_cnn":
        return {"input_frames": 129, "input_bands": 128}
    if row.key == "samplecnn":
        return {"input_samples": CHUNK_SAMPLES}
    if row.key == "shortchunk":
        return {"input_frames": 116, "input_bands": 128}
    return {"input_frames": frames, "input_bands": 128}
