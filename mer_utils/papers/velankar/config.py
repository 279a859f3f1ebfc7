"""Velankar, Thombre & Wadkar, *Evaluating deep learning models for music emotion
recognition*: the configuration of notebook ``40_velankar_crnn`` (the paper's values under
``full``, scaled ones under ``smoke`` / ``demo``), its two networks and the cells compared
with the paper.

The paper's songs are not public; the classes of a stand-in corpus are matched to the
paper's for the per-class comparison by :func:`paper_class_map` (``calm`` -> Devotional,
``sad`` -> Sad, ``happy`` -> Romantic; see :data:`~mer_utils.papers.velankar.fidelity.FIDELITY`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from mer_utils.evaluation.protocols import holdout
from mer_utils.experiment import PaperConfig, setting
from mer_utils.results import PaperData

PAPER = "velankar"
NOTEBOOK = "40_velankar_crnn"
NOTEBOOKS = (NOTEBOOK,)
FRONT_END = "velankar_crnn"


# --------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """Notebook 40's settings: the paper's values as defaults (``full``)."""

    epochs: int = setting(25, paper="'Both the models were trained for 25 epochs' (Sec. IV.A)")
    patience: int | None = setting(
        None, paper="not given; 'the best-trained model' is reported",
        note="None: all epochs run; the weights of the epoch with the lowest validation loss "
             "are kept (never chosen on the test songs). smoke/demo stop early to fit a CPU")
    batch_size: int = setting(32, paper="not given")
    learning_rate: float = setting(1e-3, paper="not given (nor the optimizer)",
                                   note="Adam at Keras's default rate")
    test_share: float = setting(
        round(1 / 3, 4), paper="46 of the 138 songs tested (support 15 / 16 / 15 in Figs 6 and 9)",
        note="one third of every class, stratified")
    validation_share: float = setting(
        0.2, paper="'divided fairly for training, validation, and testing'; no share given",
        note="of the songs left after the test third (Keras's usual validation_split): "
             "138 songs -> ~74 / 18 / 46")
    seeds: tuple[int, ...] = setting(
        (0, 1, 2, 3, 4), paper="one split, one training run",
        note="one stratified holdout and one training run per seed; the spread shows how far "
             "a single 46-song test set moves the numbers")
    l2: float = setting(1e-4, paper="'both L2 and dropout regularization was used between all "
                        "the layers'; no weight given", note="on every kernel of both models")
    dropout: float = setting(0.3, paper="dropout between all the layers; no rate given",
                             note="after each CRNN block, the LSTM and the dense layer; on "
                                  "the parallel model's concatenation")
    bn_momentum: float = setting(0.9, paper="batch normalisation after ReLU; no momentum given",
                                 note="Keras's 0.99 leaves test-time statistics near their "
                                      "initial values with ~7 batches per epoch")
    time_pool: int = setting(1, paper="640 x 128 (hop 512 at 11,025 Hz)",
                             note="average every N frames (1, 2 or 4; the parallel model's pools then keep "
                                  "its 256). smoke: 4 (160 x 128), so that 8 epochs on 2 seeds fit its budget")
    demo_sources: tuple[str, ...] | None = setting(
        None, paper="-", note="demo corpus only: keep these mimicked sources (e.g. ('4q',) for "
                              "30-s clips); None: all four (~180 clips, near the paper's 138)")

    PROFILES = {
        "smoke": dict(epochs=8, batch_size=8, patience=3, seeds=(0, 1), time_pool=4),
        "demo": dict(epochs=8, batch_size=16, patience=3, seeds=(0, 1, 2)),
        "full": {},
    }

    def protocol(self, seed: int):
        """The stratified holdout of one seed (test and validation as shares of the whole)."""
        return holdout(test_size=self.test_share,
                       val_size=round(self.validation_share * (1 - self.test_share), 4), seed=seed)

    def model_settings(self) -> dict[str, Any]:
        """The builder keyword arguments both models take from this configuration."""
        return {"dropout": self.dropout, "l2": self.l2}


@dataclasses.dataclass(frozen=True)
class Model:
    """One of the paper's two networks and the figures it has there."""

    experiment: str       # results-store name
    name: str             # as the paper names it
    builder: str          # key of mer_utils.models.crnn.BUILDERS
    curves_fig: int       # accuracy / loss curves
    report_fig: int       # precision / recall / F1 report
    confusion_fig: int

    @property
    def report_table(self) -> str:
        return f"fig{self.report_fig}"

    def build_kwargs(self, cfg: Config) -> dict[str, Any]:
        kw = cfg.model_settings()
        if self.builder == "crnn":
            kw["bn_momentum"] = cfg.bn_momentum
        return kw


MODELS: tuple[Model, ...] = (
    Model("velankar_crnn", "CRNN", "crnn", 5, 6, 7),
    Model("velankar_parallel_cnn_rnn", "Parallel CNN-RNN", "parallel_cnn_rnn", 8, 9, 10),
)

# --------------------------------------------------------------------------- compared cells
PAPER_CLASSES = ("Devotional", "Sad", "Romantic")           # the row order of Figs 6 and 9
STAND_IN_CLASSES = {"calm": "Devotional", "sad": "Sad", "happy": "Romantic"}
REPORT_ROWS = PAPER_CLASSES + ("accuracy", "macro avg", "weighted avg")
REPORT_METRICS = ("precision", "recall", "f1-score", "support")
RESULT_METRICS = ("accuracy", "macro_f1")


def _report_cells(table: str) -> list[tuple[str, str, str]]:
    # the accuracy row prints only f1-score and support (scikit-learn's layout)
    return [(table, r, m) for r in REPORT_ROWS for m in REPORT_METRICS
            if not (r == "accuracy" and m in ("precision", "recall"))]


PAPER_CELLS: tuple[tuple[str, str, str], ...] = tuple(
    [("results", m.name, k) for m in MODELS for k in RESULT_METRICS]
    + [c for m in MODELS for c in _report_cells(m.report_table)])
"""Every (table, row, metric) notebook 40 sets beside the paper (results.py, "Paper values")."""

PAPER_DATA = {t: PaperData("Velankar et al.'s Hindi songs (138 x 30 s: 46 devotional, 46 sad, 46 romantic; "
                           "not public)", recorded_as="label3", marker="folder of classes", items=(138,))
              for t in ("results", "fig6", "fig9")}
"""The data each compared table was measured on: 'a total of 138 song samples of 30 seconds
each' (a user's folder of classes holding 138 clips is taken as theirs)."""


def paper_class_map(labels: Sequence[str]) -> dict[str, str]:
    """Our class -> the paper's class (Devotional / Sad / Romantic), or ``{}`` when the
    classes are neither the paper's own names nor the stand-in ones."""
    by_name = {c: p for c in labels for p in PAPER_CLASSES if str(c).lower() == p.lower()}
    if len(by_name) == len(labels) == len(PAPER_CLASSES):
        return by_name
    if set(labels) == set(STAND_IN_CLASSES):
        return {c: STAND_IN_CLASSES[c] for c in labels}
    return {}
