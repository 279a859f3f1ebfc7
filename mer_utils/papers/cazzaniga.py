"""Cazzaniga, Gasparini & Saibene, *A multi-source deep learning model for music emotion
recognition* (AIxHMI 2024) — the configuration per profile and the steps of notebook 20.

The paper's pipeline and where each step lives:

1. sources and label conversions (Table 2) — loaders in :mod:`mer_utils.datasets`
   (:func:`load_corpus` picks the real sets under the data root, else the demo corpus,
   and namespaces ids ``<source>:<id>``);
2. the central 24 s; shorter songs removed, counted and listed (:func:`select_songs`);
3. balancing by extreme corners (:func:`select_songs` with
   :func:`mer_utils.datasets.balance.select_extreme_corners`; Fig. 2: :func:`fig2_balance`);
4. 22,050 Hz with an anti-aliasing resampler, no volume normalisation, and
5. mel spectrograms in dB against each source's maximum, rendered as images
   (:func:`spectrograms`, :func:`db_references`, :func:`render_images`; the paper's
   reference spans a source's test songs too — ``db_reference="source_all"`` — the
   ``"train_only"`` variant takes it from each fold's training songs);
6. a 90/10 split balanced by class x source (x genre for Emotion in Music), then
   stratified 5-fold CV on the 90 %, every fold's model scored on the same 10 %
   (:func:`make_splits`: one file per fold);
7. EfficientNetB3 + the paper's dense head (:mod:`mer_utils.models.cazzaniga`), trained
   per fold through :func:`mer_utils.experiment.run_protocol` (:func:`run_experiment`);
8. Tables 3-5 and Figs 3-5 from the stored predictions, paper values beside ours.

``Config`` holds the paper's values as defaults; ``PROFILES`` scales them for ``smoke``
and ``demo`` (every scaling is listed by :func:`scalings` and in every table caption).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils import labels as L
from mer_utils.config import atomic_write_text, seed_everything
from mer_utils.datasets import instructions, select_corpus
from mer_utils.datasets.balance import BalanceError, select_extreme_corners
from mer_utils.datasets.base import DatasetError
from mer_utils.datasets.merge import merge_sources
from mer_utils.evaluation.protocols import Split
from mer_utils.evaluation import fold_labels, load_split, pivot_report, report_over_folds, save_split
from mer_utils.experiment import Fidelity, PaperConfig, UnitResult, fidelity_table, run_protocol, setting
from mer_utils.features import FRONT_ENDS, extract_spectrograms
from mer_utils.features.images import source_references, spectrogram_image
from mer_utils.results import (Unit, compare_with_paper, load_predictions, paper_values,
                               score_experiment)

PAPER = "cazzaniga"
NOTEBOOK = "20_cazzaniga_multisource"
SOURCES = ("4q", "pmemo", "deam", "bimodal")
SOURCE_TITLES = {"4q": "4Q", "pmemo": "PMEmo", "deam": "Emotion in Music", "bimodal": "Bi-Modal"}
CLASSES = tuple(L.QUADRANTS)                       # Q1..Q4, class index order
CLASS_NAMES = dict(L.QUADRANT_NAMES)               # Q1 -> "A+V+" (the paper's names)
SPLIT_PARTS = ("train", "validation", "test")
SPLIT_VERSION = 2   # bump when the way splits are made changes: old split files are then not reused

__all__ = ["Config", "FIDELITY", "PAPER", "NOTEBOOK", "scalings", "load_corpus", "select_songs",
           "spectrograms", "balanced_test_rows", "make_splits", "db_references", "render_images",
           "resolve_weights", "run_experiment", "run_control", "control_features", "models_table", "head_table", "fold_scores", "table2", "table3", "table4",
           "table5", "corpus_table", "references_table", "fig2_balance", "fig3_examples",
           "fig4_distribution", "fig5_losses", "save_table", "StepTimes", "Weights"]


# =========================================================================== configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """The paper's settings (defaults) and their scaling per profile."""

    sources: tuple = setting(SOURCES, paper="4Q, PMEmo, Emotion in Music, Bi-Modal (Sec. 3)",
                             note="the real sets found under the data root; none: the demo corpus's "
                                  "four mimicked sources")
    require_all_sources: bool = setting(False, paper="all four sets",
                                        note="False: run on the real sets present (e.g. 4Q alone) and "
                                             "say so; True: a missing set is an error")
    crop_seconds: float = setting(24.0, paper='"Audio clips lasting 24 s"; "the central part"; '
                                              '"Songs lasting less than 24 s are removed"')
    sample_rate: int = setting(22050, paper='"downsampled to 22050 Hz"; "An anti-aliasing filter"',
                               note="soxr HQ, a band-limited resampler; no volume normalisation")
    balanced_sources: tuple = setting(("pmemo", "deam"),
                                      paper='"all the 4Q and Bi-Modal ... and 232 PMEmo and 346 '
                                            'Emotion in Music"',
                                      note="these sources keep their extreme-corner songs; the others "
                                           "are kept whole")
    balance_totals: tuple = setting((("pmemo", 232), ("deam", 346)),
                                    paper="232 PMEmo, 346 Emotion in Music (Sec. 4.1)",
                                    note="songs kept per balanced source, spread evenly over quadrants; "
                                         "() or a source not listed: as many per quadrant as its "
                                         "smallest quadrant has")
    corner_rule: str = setting("min_axis", paper='"as far as possible from the origin and axes"',
                               note="min(|v|, |a|) on the source's scale mapped to [-1, 1]; ties: "
                                    "distance to the origin, then id (datasets.balance)")
    db_reference: str = setting("source_all",
                                paper='"the maximum value among the spectrograms of each dataset"',
                                note="source_all: max over all of a source's songs, test songs "
                                     "included (the paper's); train_only: over each fold's training songs")
    top_db: float = setting(80.0, paper="not given",
                            note="image range: dB re the source maximum clipped to [-80, 0] "
                                 "(librosa's default dynamic range)")
    colormap: str = setting("magma", paper="300x300x3 images; colouring not given",
                            note="a perceptual matplotlib colormap gives the 3 channels")
    image_size: int = setting(300, paper='"an image size of 300x300x3 pixels"')
    test_size: float = setting(0.10, paper='"train (90%) and test (10%)", "balancing the data in '
                                           'terms of class and dataset"')
    genre_balance: bool = setting(True, paper='"a balancing in terms of genre ... for Emotion in Music"',
                                  note="where Emotion in Music rows carry a genre")
    folds: int = setting(5, paper='"stratified k-fold cross-validation approach (with k = 5)"')
    backbone: str = setting("EfficientNetB3", paper="EfficientNetB3 (Sec. 4.2)")
    weights: str = setting("imagenet", paper='"pre-trained using ImageNet"',
                           note="unavailable offline: random initialisation, recorded in the manifest "
                                "and every caption; 'none' asks for random initialisation")
    pooling: str = setting("none", paper='"Flatten Layer: flattens the output from ... the last layer '
                                         'of EfficientNetB3"',
                           note="'none': the un-pooled feature map is flattened; 'avg'/'max' pool first")
    head_units: tuple = setting((512, 128, 64), paper="Dense 512, 128, 64 (ReLU), then 4 softmax")
    head_dropouts: tuple = setting((0.5, 0.3, 0.1), paper="Dropout 0.5, 0.3, 0.1")
    learning_rate: float = setting(1e-5, paper='"Adam ... learning rate equal to 10^-5"')
    random_init_learning_rate: float = setting(0.0, paper="-",
                                               note="learning rate when the backbone starts from random "
                                                    "initialisation; 0: learning_rate")
    epochs: int = setting(50, paper='"Epochs: 50"')
    patience: int = setting(5, paper='EarlyStopping "if the validation loss fails to decrease, '
                                     'restoring the model to its best weights"; patience not given',
                            note="5 epochs (Keras's default, 0, would stop at the first epoch without "
                                 "improvement)")
    batch_size: int = setting(32, paper="not given", note="Keras's fit() default")
    run_eagerly: bool = setting(False, paper="-",
                                note="True skips tracing the training step (~30 s CPU for EfficientNetB0), "
                                     "cheaper than a graph for the few steps of a smoke run; ignored under "
                                     "JAX, whose eager mode is slower still (training.execution_kwargs)")

    PROFILES = {
        # CI: the smallest EfficientNet on 32-px images, one epoch, two folds, no download.
        "smoke": dict(backbone="EfficientNetB0", weights="none", image_size=32, epochs=1, folds=2,
                      patience=1, batch_size=16, balance_totals=(), random_init_learning_rate=1e-3,
                      run_eagerly=True),
        # A 2-core laptop within ~3 minutes: small images, a narrower backbone, a few epochs.
        "demo": dict(backbone="EfficientNetB0", image_size=64, epochs=4, patience=2, batch_size=16,
                     balance_totals=(), random_init_learning_rate=1e-3),
        "full": {},
    }

    def totals(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.balance_totals}

    def __post_init__(self):
        if self.db_reference not in ("source_all", "train_only"):
            raise ValueError(f"db_reference must be 'source_all' or 'train_only', not {self.db_reference!r}")
        if self.pooling not in ("none", "avg", "max"):
            raise ValueError(f"pooling must be 'none', 'avg' or 'max', not {self.pooling!r}")
        if not 0 < self.test_size < 1:
            raise ValueError("test_size must be a fraction in (0, 1)")
        if self.folds < 2:
            raise ValueError("folds must be >= 2")


def scalings(cfg: Config) -> pd.DataFrame:
    """Settings whose value differs from the paper's (the defaults): what a caption must say."""
    paper = Config()
    rows = []
    for f in dataclasses.fields(cfg):
        if f.name == "profile":
            continue
        ours, theirs = getattr(cfg, f.name), getattr(paper, f.name)
        if ours != theirs:
            rows.append({"setting": f.name, "value": ours, "paper": theirs})
    return pd.DataFrame(rows, columns=["setting", "value", "paper"])


FIDELITY = [
    Fidelity("data sets", "4Q, PMEmo, Emotion in Music, Bi-Modal", "the real sets present under the data "
             "root (4Q alone when only 4Q is there); else the demo corpus's four mimicked sources",
             "departure", "PMEmo, Emotion in Music and Bi-Modal are gated; a run says which sources it used"),
    Fidelity("label conversion", "Table 2 (PMEmo <= 0.5, EiM <= 5, Bi-Modal <= 0 low)",
             "mer_utils.labels, the same thresholds (Table 2 check below)", "same"),
    Fidelity("Bi-Modal exclusion", '"standard deviation above 1.2 were excluded"',
             "the loader drops songs with V or A rating std > 1.2", "same"),
    Fidelity("24-s crop", '"the central part of the signal"; shorter songs "removed"',
             "central 24 s; shorter songs removed before balancing, listed in the manifest", "same"),
    Fidelity("balancing", '"as far as possible from the origin and axes"',
             "per quadrant, top songs by min(|v|, |a|) on [-1, 1]; ties by distance to the origin, "
             "then id; PMEmo and Emotion in Music only", "paper silent",
             "the paper gives no formula; min(|v|, |a|) is far from both axes and hence from the origin"),
    Fidelity("balanced counts", "232 PMEmo, 346 Emotion in Music; 1637 songs in all",
             "full: those totals spread evenly over quadrants; smoke/demo: the smallest quadrant's "
             "count per quadrant", "departure",
             "the demo corpus is smaller; note 900 + 162 + 232 + 346 = 1640, not 1637"),
    Fidelity("resampling", '"downsampled to 22050 Hz"; "anti-aliasing filter"',
             "soxr HQ to 22,050 Hz; no volume normalisation", "same"),
    Fidelity("mel spectrogram", "Mel-Spectrograms of the entire 24 s, in dB",
             "n_fft 2048, hop 512, 128 mel bands (librosa defaults): 1034 frames", "paper silent",
             "STFT and mel settings not given: librosa's defaults"),
    Fidelity("dB reference", '"the maximum value among the spectrograms of each dataset"',
             "source_all (the paper's, test songs included) or train_only (each fold's training songs)",
             "same", ""),
    Fidelity("image", '"300x300x3 pixels"', "dB re source max clipped to [-80, 0], bilinear resize, "
             "magma colormap (RGB, 0-255)", "paper silent", "range, resize and colouring not given"),
    Fidelity("test split", '"train (90%) and test (10%)", balanced by class and dataset (and genre for EiM)',
             "test songs shared over classes, then sources, then (EiM) genres by largest remainder; "
             "drawn at random (seeded) in each cell", "same"),
    Fidelity("cross-validation", "stratified k-fold, k = 5; each model evaluated on the test set",
             "stratified 5-fold on the 90 % (by class); validation = the held-out fold; all five "
             "models scored on the same 10 %", "same"),
    Fidelity("backbone", '"EfficientNetB3 ... pre-trained using ImageNet"',
             "keras.applications.EfficientNetB3 with Keras's ImageNet file when it can be had; offline: "
             "random initialisation, recorded", "departure",
             "the ImageNet weights cannot be fetched on an offline machine; never reported as ImageNet"),
    Fidelity("head", "Flatten, Dense 512/128/64 ReLU with Dropout 0.5/0.3/0.1, Dense 4 softmax",
             "the same layers after the un-pooled feature map", "same"),
    Fidelity("training", "sparse categorical cross-entropy, Adam 1e-5, 50 epochs, EarlyStopping on "
             "validation loss restoring the best weights", "the same; patience 5, batch 32",
             "paper silent", "patience and batch size not given"),
    Fidelity("scores", "Table 3 accuracy and F1 per fold and over all folds; Table 4 per-class P/R/F1",
             "accuracy and macro F1 per fold, their mean (All Folds); per-class means over folds",
             "paper silent", "F1 averaging not given; the test set is balanced, so macro ~ weighted"),
]


# =========================================================================== step timing
class StepTimes:
    """Wall time and peak memory per notebook step: ``T.lap("data")`` after each step."""

    def __init__(self):
        self.t0 = self.last = time.perf_counter()
        self.rows: list[dict[str, Any]] = []

    @staticmethod
    def peak_gib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.rows.append({"step": step, "seconds": round(now - self.last, 1),
                          "peak_rss_gib": round(self.peak_gib(), 2)})
        self.last = now

    def table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=["step", "seconds", "peak_rss_gib"])
        total = {"step": "total", "seconds": round(time.perf_counter() - self.t0, 1),
                 "peak_rss_gib": round(self.peak_gib(), 2)}
        return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


# =========================================================================== 1. sources
def _norm_va(table: pd.DataFrame) -> pd.DataFrame:
    """``valence_norm`` / ``arousal_norm`` on [-1, 1] (threshold at 0); NaN for 4Q."""
    vn, an = np.full(len(table), np.nan), np.full(len(table), np.nan)
    for s in table["source"].unique():
        if s not in L.VA_RANGES:
            continue
        m = (table["source"] == s).to_numpy()
        vn[m] = L.to_unit_scale(table.loc[m, "valence"], s)
        an[m] = L.to_unit_scale(table.loc[m, "arousal"], s)
    out = table.copy()
    out["valence_norm"], out["arousal_norm"] = vn, an
    return out


def load_corpus(ctx, cfg: Config) -> tuple[pd.DataFrame, str]:
    """The songs of the configured sources, ids namespaced ``<source>:<id>``.

    Real sets under the data root are used when any is there (only those in
    ``cfg.sources``); with none, the demo corpus's four mimicked sources. A missing real
    source is recorded (and an error when ``cfg.require_all_sources``).
    """
    unknown = sorted(set(cfg.sources) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; the paper's are {SOURCES}")
    found = ctx.datasets()
    real = [s for s in cfg.sources if s in found]
    missing = [s for s in cfg.sources if s not in found]
    if real and missing and cfg.require_all_sources:
        hints = "\n".join(f"  - {instructions(s, ctx.data_root or 'data/raw')}" for s in missing)
        raise DatasetError(f"require_all_sources: {[SOURCE_TITLES[s] for s in missing]} not found under "
                           f"{ctx.data_root or 'data/raw'}:\n{hints}")
    df, desc = select_corpus(ctx, "multisource", sources=tuple(cfg.sources))
    df = df[df["source"].isin(cfg.sources)]
    parts = {s: df[df["source"] == s] for s in cfg.sources if (df["source"] == s).any()}
    table = _norm_va(merge_sources(parts))
    if real:
        have = "; ".join(f"{SOURCE_TITLES[s]} (real, {len(parts[s])} songs) from {found[s]}" for s in real)
        absent = ", ".join(SOURCE_TITLES[s] for s in missing)
        if real == ["4q"]:
            desc = f"only 4Q is present: the multi-source pipeline runs on 4Q alone — {have}"
        else:
            desc = have
        if missing:
            desc += f"; absent: {absent}"
        ctx.manifest.notes.append(f"{NOTEBOOK}: {desc}")
    ctx.manifest.add_source(NOTEBOOK, desc)
    return table, desc


# =========================================================================== 2-3. crop rule, balancing
def select_songs(ctx, cfg: Config, table: pd.DataFrame) -> pd.DataFrame:
    """Every song with its fate: ``status`` = ``too_short`` (under ``cfg.crop_seconds``),
    ``not_corner`` (dropped by balancing) or ``selected``; plus ``corner_score``/``corner_rank``.

    Songs shorter than the crop are removed first (the paper's Fig. 2 counts them among
    the non-selected) and listed in the manifest. Sources in ``cfg.balanced_sources`` then
    keep their extreme-corner songs: ``cfg.balance_totals`` songs where given and
    available (spread evenly over quadrants), else as many per quadrant as the smallest
    quadrant has. A source with no song long enough, or a balanced source with an empty
    quadrant, raises a :class:`DatasetError` naming it.
    """
    d = table.copy()
    dur = d["duration"].astype(float)
    if dur.isna().any():
        from mer_utils.datasets.base import audio_durations

        miss = dur.isna().to_numpy()
        dur[miss] = audio_durations(d.loc[miss, "path"])
        d["duration"] = dur
    short = (dur + 1e-6 < cfg.crop_seconds).to_numpy()
    d["status"] = np.where(short, "too_short", "selected")
    d["corner_score"], d["corner_rank"] = np.nan, 0
    for tid, du in zip(d.loc[short, "track_id"], dur[short]):
        ctx.manifest.skip(tid, f"{du:.1f} s is shorter than the central {cfg.crop_seconds:g} s: removed "
                               "before balancing (multi-source paper, Sec. 4.1)")
    totals = cfg.totals()
    for s in [s for s in cfg.sources if (d["source"] == s).any()]:
        in_src = (d["source"] == s).to_numpy()
        ok = in_src & (d["status"] == "selected").to_numpy()
        if not ok.any():
            raise DatasetError(f"{SOURCE_TITLES.get(s, s)}: none of its {int(in_src.sum())} songs lasts "
                               f"{cfg.crop_seconds:g} s or more (longest {dur[in_src].max():.1f} s), so the "
                               "central crop leaves nothing; remove it from cfg.sources or use longer clips")
        if s not in cfg.balanced_sources:
            continue
        rows = d[ok]
        total = totals.get(s)
        if total is not None and total > len(rows):
            ctx.manifest.notes.append(f"{NOTEBOOK}: {s}: {total} songs asked by the paper, {len(rows)} "
                                      "left after the 24-s rule; balanced to the smallest quadrant instead")
            total = None
        sel = select_extreme_corners(rows, total=total, rule=cfg.corner_rule, where=SOURCE_TITLES.get(s, s))
        d.loc[sel.index, "corner_score"] = sel["corner_score"]
        d.loc[sel.index, "corner_rank"] = sel["corner_rank"]
        d.loc[sel.index[~sel["selected"].to_numpy()], "status"] = "not_corner"
    return d


def front_end(cfg: Config):
    """The ``cazzaniga_image`` front end with this configuration's rate and crop."""
    fe = FRONT_ENDS["cazzaniga_image"]
    if fe.sr != cfg.sample_rate or fe.clip_seconds != cfg.crop_seconds or fe.top_db != cfg.top_db:
        fe = dataclasses.replace(fe, sr=int(cfg.sample_rate), clip_seconds=float(cfg.crop_seconds),
                                 top_db=float(cfg.top_db))
    return fe


# =========================================================================== 4-5. spectrograms, images
def spectrograms(ctx, cfg: Config, selection: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Unreferenced dB mel spectrograms (n, 1034, 128) of the selected songs (cached per
    song) and the table of the songs kept, in the same order. Undecodable files are
    skipped and recorded (``selection`` marks them ``unreadable``)."""
    sel = selection[selection["status"] == "selected"].reset_index(drop=True)
    X, kept = extract_spectrograms(sel, front_end(cfg), ctx=ctx)
    lost = ~selection["track_id"].isin(kept["track_id"]) & (selection["status"] == "selected")
    selection.loc[lost, "status"] = "unreadable"
    return X, kept.reset_index(drop=True)


def db_references(cfg: Config, X: np.ndarray, kept: pd.DataFrame,
                  split: Split | None = None) -> dict[str, float]:
    """Per-source dB references: over all of a source's songs (``source_all``, the paper's)
    or over ``split``'s training songs (``train_only``)."""
    if cfg.db_reference == "source_all" or split is None:
        return source_references(X, kept["source"])
    return source_references(X, kept["source"], rows=split.train)


def render_images(cfg: Config, X: np.ndarray, kept: pd.DataFrame, refs: dict[str, float],
                  rows: Sequence[int] | None = None) -> np.ndarray:
    """(n, size, size, 3) uint8 images of ``rows`` (default all), each against its source's
    reference, values 0-255 (Keras's EfficientNets rescale internally)."""
    rows = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=int)
    src = kept["source"].astype(str).to_numpy()
    size = int(cfg.image_size)
    out = np.zeros((len(rows), size, size, 3), dtype=np.uint8)
    for j, i in enumerate(rows):
        out[j] = spectrogram_image(X[i], refs[src[i]], size, top_db=cfg.top_db, cmap=cfg.colormap)
    return out


# =========================================================================== 6. splits
def _largest_remainder(counts: dict[str, int], total: int, rng: np.random.Generator) -> dict[str, int]:
    """Integer shares of ``total`` proportional to ``counts`` (largest remainder; ties
    broken at random with ``rng``, so no key is favoured by its name)."""
    n = sum(counts.values())
    if n == 0:
        return {k: 0 for k in counts}
    keys = sorted(counts)
    quota = {k: total * counts[k] / n for k in keys}
    out = {k: int(np.floor(quota[k])) for k in keys}
    tie = dict(zip(keys, rng.permutation(len(keys))))
    left = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(quota[k] - out[k]), tie[k]))[:left]:
        out[k] += 1
    return out


def balanced_test_rows(classes: Sequence[str], sources: Sequence[str], genres: Sequence | None = None,
                       *, test_size: float = 0.1, seed: int = 0) -> np.ndarray:
    """Rows of a test part of ``round(test_size * n)`` songs, balanced by class, then source,
    then genre.

    The test songs are shared out over the classes in proportion to their sizes (largest
    remainder), each class's share over its sources the same way, and — where rows carry a
    genre (Emotion in Music) — each class x source share over its genres; the songs are
    then drawn at random (seeded) within each cell.
    """
    c = np.asarray([str(x) for x in classes])
    s = np.asarray([str(x) for x in sources])
    g = np.asarray(["" if (x is None or (isinstance(x, float) and np.isnan(x))) else str(x)
                    for x in (genres if genres is not None else [None] * len(c))])
    if not (len(c) == len(s) == len(g)):
        raise ValueError("classes, sources and genres must have the same length")
    rng = np.random.default_rng(seed)
    levels = (c, s, g)
    test: list[int] = []

    def share(pos: np.ndarray, n_test: int, level: int) -> None:
        if level == len(levels):
            test.extend(rng.permutation(pos)[:n_test].tolist())
            return
        values = levels[level][pos]
        parts = _largest_remainder({v: int((values == v).sum()) for v in set(values)}, n_test, rng)
        for v in sorted(parts):
            share(pos[values == v], parts[v], level + 1)

    share(np.arange(len(c)), int(round(test_size * len(c))), 0)
    return np.sort(np.asarray(test, dtype=int))


def _genres(cfg: Config, kept: pd.DataFrame) -> list | None:
    if not cfg.genre_balance or "genre" not in kept.columns:
        return None
    is_eim = (kept["source"] == "deam").to_numpy()
    if not is_eim.any():
        return None
    return [gv if e else None for gv, e in zip(kept["genre"], is_eim)]


def make_splits(ctx, cfg: Config, kept: pd.DataFrame, *, seed: int | None = None,
                directory: Path | None = None) -> tuple[list[Split], Path]:
    """The 90/10 test part and the stratified k folds of the 90 %, one file per fold.

    Unit ``r00-fKK``: train = the 90 % minus fold K, validation = fold K, test = the
    fixed 10 %. Files (``track_id, split, label``) go to
    ``results/<label>/splits/cazzaniga-<hash>/`` and are reused when the same songs,
    labels and settings come again. Raises ``ValueError`` when the 90 % has one class
    only, or a class too small for ``cfg.folds`` stratified folds.
    """
    from sklearn.model_selection import StratifiedKFold

    seed = ctx.seed if seed is None else int(seed)
    ids = kept["track_id"].astype(str).tolist()
    y = kept["quadrant"].astype(str).to_numpy()
    genres = _genres(cfg, kept)
    h = hashlib.sha1(json.dumps({"ids": ids, "y": y.tolist(), "src": kept["source"].astype(str).tolist(),
                                 "genre": genres, "test": cfg.test_size, "k": cfg.folds, "seed": seed,
                                 "version": SPLIT_VERSION},
                                default=str).encode()).hexdigest()[:10]
    folder = Path(directory or ctx.results_dir / "splits") / f"cazzaniga-t{cfg.test_size:g}-{cfg.folds}fold-s{seed}-{h}"
    files = [folder / f"{Unit(0, f).key}.csv" for f in range(cfg.folds)]
    if all(p.exists() for p in files):
        return [Split(Unit(0, f), **load_split(p, ids)) for f, p in enumerate(files)], folder
    test = balanced_test_rows(y, kept["source"], genres, test_size=cfg.test_size, seed=seed)
    dev = np.setdiff1d(np.arange(len(ids)), test)
    counts = pd.Series(y[dev]).value_counts()
    if len(counts) < 2:
        raise ValueError(f"the training part holds one class only ({sorted(counts.index)}): a classifier "
                         "cannot be trained; add songs of other quadrants")
    if counts.min() < cfg.folds:
        raise ValueError(f"class {counts.idxmin()!r} has {int(counts.min())} training song(s); stratified "
                         f"{cfg.folds}-fold CV needs at least {cfg.folds} per class (lower cfg.folds)")
    cv = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=seed)
    splits = []
    for f, (tr, va) in enumerate(cv.split(np.zeros(len(dev)), y[dev])):
        sp = Split(Unit(0, f), dev[tr], test, dev[va])
        for part in ("train", "validation"):
            present = set(y[getattr(sp, part)])
            if len(present) < 2:
                raise ValueError(f"fold {f + 1}: its {part} part has one class only ({present})")
        splits.append(sp)
    for sp, p in zip(splits, files):
        save_split(p, ids, sp.as_dict(), y)
    atomic_write_text(folder / "protocol.json", json.dumps({
        "description": f"{1 - cfg.test_size:.0%} / {cfg.test_size:.0%} split balanced by class x source"
                       + (" (x genre for Emotion in Music)" if genres else "")
                       + f", then stratified {cfg.folds}-fold CV on the {1 - cfg.test_size:.0%}; every "
                         "fold's model is scored on the same test part",
        "n_rows": len(ids), "n_test": int(len(test)), "folds": cfg.folds, "seed": seed,
        "units": [Unit(0, f).key for f in range(cfg.folds)]}, indent=2))
    return splits, folder


# =========================================================================== 7. model and training
@dataclasses.dataclass(frozen=True)
class Weights:
    """How the backbone starts: ``kind`` is imagenet, file or random."""

    kind: str
    path: str | None
    description: str
    learning_rate: float

    @property
    def caption(self) -> str:
        if self.kind == "random":
            why = ("the ImageNet weights could not be obtained (offline; reason in the manifest)"
                   if self.description.startswith("ImageNet weights unavailable") else self.description)
            return f"random initialisation — {why}; NOT ImageNet"
        return self.description


def resolve_weights(ctx, cfg: Config, *, download: bool = True) -> Weights:
    """Where the backbone's weights come from, recorded in the manifest.

    ``imagenet``: a copy of Keras's file in ``<cache>/weights/``, ``~/.keras/models/``, or a
    download from Keras's official location; when none works the backbone starts from
    random initialisation and the manifest records that substitution. ``none``: random
    initialisation by configuration. Anything else: a weights file.
    """
    from mer_utils.models.cazzaniga import imagenet_weights

    lr_random = cfg.random_init_learning_rate or cfg.learning_rate
    if cfg.weights == "none":
        w = Weights("random", None, f"random initialisation by configuration ({cfg.profile} profile)", lr_random)
    elif cfg.weights == "imagenet":
        path, how = imagenet_weights(cfg.backbone, search=[Path(ctx.cache_dir) / "weights"], download=download)
        if path is not None:
            w = Weights("imagenet", path, how, cfg.learning_rate)
        else:
            ctx.manifest.substitute(f"{cfg.backbone} ImageNet weights", "random initialisation (seeded)", how)
            w = Weights("random", None, f"ImageNet weights unavailable: {how}", lr_random)
    else:
        if not Path(cfg.weights).is_file():
            raise FileNotFoundError(f"cfg.weights = {cfg.weights!r} is neither 'imagenet', 'none' nor a file")
        w = Weights("file", str(cfg.weights), f"weights file {cfg.weights}", cfg.learning_rate)
    if w.learning_rate != cfg.learning_rate:
        ctx.manifest.notes.append(f"{NOTEBOOK}: learning rate {w.learning_rate:g} instead of the paper's "
                                  f"{cfg.learning_rate:g} because the backbone starts from random initialisation")
    ctx.manifest.settings.setdefault("cazzaniga_weights", {}).update(dataclasses.asdict(w))
    return w


class _Trainer:
    """One compiled model reused across folds: weights and optimizer state are reset before
    each fold, so the train step is traced once (for EfficientNet that costs more than an
    epoch of a small run). Equivalent to building a fresh model with the same seed."""

    def __init__(self, cfg: Config, weights: Weights, input_shape, seed: int):
        from mer_utils.models.cazzaniga import build_classifier   # imports Keras
        from mer_utils.training import compile_classifier, execution_kwargs

        seed_everything(seed)          # Keras is imported now, so its generator is seeded too
        self.cfg = cfg
        self.model = build_classifier(tuple(input_shape), len(CLASSES), backbone=cfg.backbone,
                                      weights=weights.path, pooling=None if cfg.pooling == "none" else cfg.pooling,
                                      units=cfg.head_units, dropouts=cfg.head_dropouts)
        compile_classifier(self.model, learning_rate=weights.learning_rate,
                           **execution_kwargs("eager" if cfg.run_eagerly else "xla"))
        self.initial = self.model.get_weights()
        self.used = False

    def fit_predict(self, train, val, X_test, seed: int):
        from mer_utils.models.cazzaniga import reset_optimizer
        from mer_utils.training import fit, predict_proba

        if self.used:
            self.model.set_weights(self.initial)
            reset_optimizer(self.model)
        self.used = True
        hist = fit(self.model, train, val, epochs=self.cfg.epochs, batch_size=self.cfg.batch_size,
                   patience=self.cfg.patience, seed=seed)
        return hist, predict_proba(self.model, X_test, batch_size=self.cfg.batch_size)


def experiment_name(cfg: Config) -> str:
    return f"cazzaniga_{cfg.db_reference}"


def _y(kept: pd.DataFrame) -> np.ndarray:
    y = kept["quadrant"].map({q: i for i, q in enumerate(CLASSES)})
    if y.isna().any():
        raise ValueError(f"songs with a quadrant outside {CLASSES}: {kept.loc[y.isna(), 'track_id'].tolist()[:3]}")
    return y.to_numpy().astype(int)


class _Images:
    """The images a fold trains and is scored on: rendered once for ``source_all`` (one
    reference per source for every fold), per fold for ``train_only``."""

    def __init__(self, cfg: Config, X: np.ndarray, kept: pd.DataFrame):
        self.cfg, self.X, self.kept, self._all = cfg, X, kept, None

    def __call__(self, split: Split) -> np.ndarray:
        if self.cfg.db_reference == "source_all":
            if self._all is None:
                self._all = render_images(self.cfg, self.X, self.kept, db_references(self.cfg, self.X, self.kept))
            return self._all
        return render_images(self.cfg, self.X, self.kept, db_references(self.cfg, self.X, self.kept, split))


def _run_config(cfg: Config, kept: pd.DataFrame, **extra) -> dict[str, Any]:
    ids = kept["track_id"].astype(str)
    return {"paper_config": cfg.to_dict(), "front_end": front_end(cfg).cache_config(),
            "songs": hashlib.sha1("\x1f".join(ids).encode()).hexdigest()[:12], **extra}


def run_experiment(ctx, cfg: Config, X: np.ndarray, kept: pd.DataFrame, splits: Sequence[Split],
                   weights: Weights) -> str:
    """Train and score every fold (resumable); returns the experiment name.

    Each fold: images against the per-source references of ``cfg.db_reference``; fit on
    the fold's training songs with early stopping on its validation songs (best weights
    restored); predict the shared test songs; store the predictions and the history.
    """
    ids = kept["track_id"].astype(str).to_numpy()
    y = _y(kept)
    images = _Images(cfg, X, kept)
    shared: dict[str, Any] = {}

    def fit_predict(split: Split) -> UnitResult:
        imgs = images(split)
        if "trainer" not in shared:
            shared["trainer"] = _Trainer(cfg, weights, imgs.shape[1:], ctx.seed)
        tr, va, te = split.train, split.validation, split.test
        hist, score = shared["trainer"].fit_predict((imgs[tr], y[tr]), (imgs[va], y[va]), imgs[te],
                                                    seed=ctx.seed * 100 + split.unit.fold)
        n_ep = len(hist["epoch"])
        acc = float(np.mean(np.argmax(score, 1) == y[te]))
        print(f"  fold {split.unit.fold + 1}: {n_ep} epoch(s), kept epoch {hist['best_epoch']}, "
              f"{hist['seconds'] / max(n_ep, 1):.1f} s/epoch, test accuracy {acc:.2f}")
        return UnitResult(ids=ids[te], y_true=y[te], y_score=score, labels=list(CLASSES),
                          info={"history": hist, "seconds_per_epoch": hist["seconds"] / max(n_ep, 1),
                                "weights": weights.kind, "learning_rate": weights.learning_rate})

    config = _run_config(cfg, kept, weights={"kind": weights.kind, "learning_rate": weights.learning_rate,
                                             "file": Path(weights.path).name if weights.path else None})
    exp = experiment_name(cfg)
    run_protocol(ctx.results_dir, exp, splits, config=config, fit_predict=fit_predict,
                 meta={"paper": PAPER, "backbone": cfg.backbone, "weights": weights.description,
                       "db_reference": cfg.db_reference, "image_size": cfg.image_size,
                       "labels": list(CLASSES)})
    return exp


def control_features(images: np.ndarray) -> np.ndarray:
    """Per image row (mel band) and colour channel, the mean and std over time: a compact
    description of the same images (level and brightness, their variation)."""
    f = np.asarray(images, dtype=np.float32) / 255.0
    return np.concatenate([f.mean(axis=2).reshape(len(f), -1), f.std(axis=2).reshape(len(f), -1)], axis=1)


def run_control(ctx, cfg: Config, X: np.ndarray, kept: pd.DataFrame, splits: Sequence[Split]) -> str:
    """Not in the paper: a logistic regression on :func:`control_features` of the same images,
    the same folds and test part — does the data carry the quadrants without a deep network?"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    ids = kept["track_id"].astype(str).to_numpy()
    y = _y(kept)
    images = _Images(cfg, X, kept)

    def fit_predict(split: Split) -> UnitResult:
        F = control_features(images(split))
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        with threadpool_limits(1):        # a small problem: threads only contend on a busy machine
            model.fit(F[split.train], y[split.train])
        score = np.zeros((len(split.test), len(CLASSES)), np.float32)
        score[:, model.classes_] = model.predict_proba(F[split.test])
        return UnitResult(ids=ids[split.test], y_true=y[split.test], y_score=score, labels=list(CLASSES))

    exp = f"cazzaniga_control_{cfg.db_reference}"
    run_protocol(ctx.results_dir, exp, splits, config=_run_config(cfg, kept, model="logreg C=0.1"),
                 fit_predict=fit_predict, meta={"paper": PAPER, "model": "control: logistic regression "
                                                "on per-band image mean/std"}, progress=False)
    return exp


_CHANNELS = {"EfficientNetB0": 1280, "EfficientNetB1": 1280, "EfficientNetB2": 1408, "EfficientNetB3": 1536}


def head_table(cfg: Config) -> pd.DataFrame:
    """The head's layers on this configuration's image size, parameters counted by hand
    (an EfficientNet's feature map is ceil(size / 32) on a side; checked against Keras in
    tests/test_cazzaniga_model.py)."""
    side = -(-int(cfg.image_size) // 32)
    ch = _CHANNELS[cfg.backbone]
    n = ch if cfg.pooling != "none" else side * side * ch
    rows = [{"layer": f"{cfg.backbone} (no top)", "output": f"{side} x {side} x {ch}"
             + (f" -> {cfg.pooling} pool" if cfg.pooling != "none" else ""), "parameters": None},
            {"layer": "Flatten", "output": str(n), "parameters": 0}]
    prev = n
    for u, d in zip(cfg.head_units, cfg.head_dropouts):
        rows.append({"layer": f"Dense {u}, ReLU", "output": str(u), "parameters": prev * u + u})
        rows.append({"layer": f"Dropout {d}", "output": str(u), "parameters": 0})
        prev = u
    rows.append({"layer": f"Dense {len(CLASSES)}, softmax", "output": str(len(CLASSES)),
                 "parameters": prev * len(CLASSES) + len(CLASSES)})
    return pd.DataFrame(rows)


# =========================================================================== 8. tables
def save_table(ctx, df: pd.DataFrame, name: str, caption: str, *, index: bool = False):
    """``ctx.save_table`` plus the caption at the top of the Markdown file; returns a
    Styler that shows the caption in the notebook."""
    path = ctx.save_table(df, name, index=index)
    md = path.with_suffix(".md")
    atomic_write_text(md, f"{caption}\n\n{md.read_text()}")
    return df.style.set_caption(caption).format(precision=3, na_rep="")


def caption(cfg: Config, weights: Weights | None, what: str, data: str = "") -> str:
    """A table's caption: what it shows, on which data, and every departure from the paper."""
    sc = scalings(cfg)
    scaled = "; ".join(f"{r.setting} {r.value} (paper {r.paper})" for r in sc.itertuples()
                       if r.setting not in ("balance_totals", "random_init_learning_rate"))
    parts = [what]
    if data:
        parts.append(f"Data: {data}.")
    if weights is not None:
        parts.append(f"Backbone weights: {weights.caption}; learning rate {weights.learning_rate:g}.")
    parts.append(f"dB reference: {cfg.db_reference} ("
                 + ("max over all of a source's songs, test songs included, as in the paper"
                    if cfg.db_reference == "source_all" else "max over each fold's training songs") + ").")
    parts.append(f"Profile {cfg.profile}" + (f", scaled from the paper: {scaled}." if scaled else ": the paper's settings."))
    return " ".join(parts)


def fold_scores(ctx, exp: str) -> pd.DataFrame:
    """Accuracy and macro F1 of every stored fold (one row per fold)."""
    from sklearn.metrics import f1_score

    def f1(fp):
        yt, yp = fold_labels(fp)
        return f1_score(yt, yp, labels=list(fp.labels), average="macro", zero_division=0)

    def acc(fp):
        yt, yp = fold_labels(fp)
        return float(np.mean(yt == yp))

    return score_experiment(ctx.results_dir, exp, {"accuracy": acc, "f1": f1})


def _ensemble(ctx, exp: str) -> dict[str, float]:
    """The five models' mean probabilities on the shared test set (not in the paper)."""
    from sklearn.metrics import f1_score

    folds = load_predictions(ctx.results_dir, exp)
    ids = folds[0].ids
    if any(list(fp.ids) != list(ids) for fp in folds):
        raise ValueError(f"{exp}: the folds were not scored on the same test songs")
    P = np.mean([fp.y_score for fp in folds], axis=0)
    yt, yp = folds[0].y_true, np.argmax(P, axis=1)
    return {"accuracy": float(np.mean(yt == yp)),
            "f1": float(f1_score(yt, yp, labels=list(range(len(CLASSES))), average="macro", zero_division=0))}


PAPER_CELLS: tuple[tuple[str, str, str], ...] = (
    tuple(("3", row, m) for row in [f"Fold {f}" for f in range(1, 6)] + ["All Folds"] for m in ("accuracy", "f1"))
    + tuple(("4", CLASS_NAMES[q], m) for q in CLASSES for m in ("precision", "recall", "f1")))
"""The (table, row, metric) cells Tables 3 and 4 compare (``tests/test_paper_values.py``)."""


def table3(ctx, exp: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 3: accuracy and F1 per fold and over all folds (mean ± std), paper beside.

    Returns (long comparison from :func:`compare_with_paper`, wide display table).
    """
    sc = fold_scores(ctx, exp).sort_values("fold")
    rows = [{"row": f"Fold {int(f) + 1}", "accuracy": a, "f1": b}
            for f, a, b in zip(sc["fold"], sc["accuracy"], sc["f1"])]
    rows.append({"row": "All Folds", "accuracy": sc["accuracy"].mean(), "f1": sc["f1"].mean(),
                 "accuracy_std": sc["accuracy"].std(ddof=1), "f1_std": sc["f1"].std(ddof=1)})
    rep = pd.DataFrame(rows)
    long = compare_with_paper(rep, PAPER, "3", row_col="row", metric_cols=["accuracy", "f1"],
                              require_paper=True)
    ens = _ensemble(ctx, exp)
    wide = {}
    for _, r in rep.iterrows():
        col = {}
        for m, name in (("accuracy", "Accuracy"), ("f1", "F1-Score")):
            pv = long[(long["row"] == r["row"]) & (long["metric"] == m)]["paper"]
            p = f" (paper {pv.iloc[0]:.2f})" if len(pv) and not pd.isna(pv.iloc[0]) else ""
            sd = r.get(f"{m}_std")
            val = f"{r[m]:.2f}" + (f" ± {sd:.2f}" if sd is not None and not pd.isna(sd) else "")
            col[name] = val + p
        wide[r["row"]] = col
    wide["5-model ensemble (ours)"] = {"Accuracy": f"{ens['accuracy']:.2f}", "F1-Score": f"{ens['f1']:.2f}"}
    return long, pd.DataFrame(wide)


def models_table(ctx, experiments: dict[str, str]) -> pd.DataFrame:
    """Accuracy and macro F1 (mean ± std over folds) of several experiments on the same folds."""
    rows = []
    for name, exp in experiments.items():
        sc = fold_scores(ctx, exp)
        rows.append({"model": name, "accuracy": sc["accuracy"].mean(), "accuracy_std": sc["accuracy"].std(ddof=1),
                     "f1": sc["f1"].mean(), "f1_std": sc["f1"].std(ddof=1), "folds": len(sc)})
    return pd.DataFrame(rows)


def paper_and_control(cfg: Config, exp: str, control: str) -> dict[str, str]:
    """The two experiments the models table compares, under the names a reader sees."""
    return {f"{cfg.backbone} + the paper's head": exp,
            "control: logistic regression on image band statistics (ours)": control}


def split_sizes(split: Split) -> str:
    """'n train / n validation / n test' of one fold."""
    return f"{len(split.train)} train / {len(split.validation)} validation / {len(split.test)} test"


def table4(ctx, exp: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 4: per-class precision, recall, F1 averaged over the folds, paper beside.

    Returns (long comparison, wide table: class x [ours, paper] per metric)."""
    long_rep = report_over_folds(load_predictions(ctx.results_dir, exp))
    mean, std = pivot_report(long_rep)
    per_class = mean.loc[list(CLASSES)].rename(columns={"f1-score": "f1"})
    sd = std.loc[list(CLASSES)].rename(columns={"f1-score": "f1"})
    rep = pd.DataFrame({"class": [CLASS_NAMES[q] for q in CLASSES]})
    for m in ("precision", "recall", "f1"):
        rep[m] = per_class[m].to_numpy()
        rep[f"{m}_std"] = sd[m].to_numpy()
    long = compare_with_paper(rep, PAPER, "4", row_col="class", metric_cols=["precision", "recall", "f1"],
                              require_paper=True)
    wide = long.pivot(index="row", columns="metric", values=["reproduced", "paper"])
    wide = wide.swaplevel(axis=1)[[(m, k) for m in ("precision", "recall", "f1") for k in ("reproduced", "paper")]]
    wide = wide.loc[[CLASS_NAMES[q] for q in CLASSES]]
    wide.index.name = "class"
    return long, wide


TABLE5_DATASETS = {   # the paper's Table 5, dataset column (its numbers are in the CSV)
    "L3-Net + MLP [15]": "Emotion in Music",
    "SVM [13]": "Bi-Modal Emotion Dataset",
    "Mel-Spectrograms + VGGNet [16]": "Bi-Modal Emotion Dataset",
    "Mel-Spectrograms + CNN-10 [17]": "4Q, Bi-Modal Emotion Dataset, PMEmo",
    "Our proposal": "4Q, PMEmo, Emotion in Music, Bi-Modal Emotion Dataset",
}


def table5(ctx, exp: str, kept: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Table 5: the paper's literature summary (paper values) with our row added."""
    pv = paper_values(PAPER, "5")
    rows = [{"strategy": r["row"], "dataset": TABLE5_DATASETS.get(r["row"], ""), "metric": r["metric"],
             "paper": r["value"], "reproduced": np.nan} for _, r in pv.iterrows()]
    sc = fold_scores(ctx, exp)
    data = ", ".join(SOURCE_TITLES[s] for s in SOURCES if (kept["source"] == s).any())
    real = not (kept["dataset"] == "demo").all()
    name = f"{cfg.backbone} + head (this reproduction, {cfg.profile})"
    for m, v in (("accuracy", sc["accuracy"].mean()), ("f1", sc["f1"].mean())):
        rows.append({"strategy": name, "dataset": data + ("" if real else " (demo corpus)"), "metric": m,
                     "paper": np.nan, "reproduced": v})
    return pd.DataFrame(rows)


def table2() -> pd.DataFrame:
    """Table 2 (label conversions): the paper's thresholds and ranges beside ours."""
    pv = paper_values(PAPER, "2")
    key = {"PMEmo": "pmemo", "Emotion in Music": "deam", "Bi-Modal": "bimodal"}
    ours = {"threshold": lambda k: L.VA_THRESHOLDS[k], "range_low": lambda k: L.VA_RANGES[k][0],
            "range_high": lambda k: L.VA_RANGES[k][1]}
    out = pv[["row", "metric", "value"]].rename(columns={"value": "paper"}).copy()
    out["ours"] = [ours[m](key[r]) for r, m in zip(out["row"], out["metric"])]
    out["same"] = np.isclose(out["paper"].astype(float), out["ours"].astype(float))
    return out


def corpus_table(selection: pd.DataFrame, kept: pd.DataFrame, splits: Sequence[Split]) -> pd.DataFrame:
    """Songs per source through the pipeline, with the paper's counts beside."""
    test = set(splits[0].test)
    in_test = np.zeros(len(kept), bool)
    in_test[list(test)] = True
    rows = []
    for s in [s for s in SOURCES if (selection["source"] == s).any()]:
        d = selection[selection["source"] == s]
        k = (kept["source"] == s).to_numpy()
        rows.append({"source": SOURCE_TITLES[s], "loaded": len(d),
                     "shorter than crop": int((d["status"] == "too_short").sum()),
                     "not in the corners": int((d["status"] == "not_corner").sum()),
                     "unreadable": int((d["status"] == "unreadable").sum()),
                     "final": int(k.sum()), "train + validation (90 %)": int((k & ~in_test).sum()),
                     "test (10 %)": int((k & in_test).sum())})
    df = pd.DataFrame(rows)
    tot = df.drop(columns="source").sum().to_dict()
    df = pd.concat([df, pd.DataFrame([{"source": "all", **tot}])], ignore_index=True)
    pv = paper_values(PAPER, "4.1")
    for metric, col in (("in data set", "paper: in data set"), ("final", "paper: final")):
        m = pv[pv["metric"] == metric].set_index("row")["value"]
        df[col] = df["source"].map(m).astype("Int64")
    return df


def references_table(cfg: Config, X: np.ndarray, kept: pd.DataFrame, splits: Sequence[Split]) -> pd.DataFrame:
    """The per-source dB references of both variants: all songs (the paper's) and each
    fold's training songs, and how far they are apart (dB)."""
    allv = source_references(X, kept["source"])
    df = pd.DataFrame({"source": [SOURCE_TITLES.get(s, s) for s in allv], "all songs (paper)": list(allv.values())})
    for sp in splits:
        r = source_references(X, kept["source"], rows=sp.train)
        df[f"fold {sp.unit.fold + 1} training songs"] = [r[s] for s in allv]
    fold_cols = [c for c in df.columns if c.startswith("fold ")]
    df["largest gap (dB)"] = (df[fold_cols].sub(df["all songs (paper)"], axis=0)).abs().max(axis=1)
    df["used here"] = cfg.db_reference
    return df


# =========================================================================== figures
_QCOL = {"Q1": "#e6a817", "Q2": "#c0392b", "Q3": "#2c3e80", "Q4": "#27ae60"}


def fig2_balance(selection: pd.DataFrame, cfg: Config):
    """Fig. 2 for every source: V/A plane (scale [-1, 1]) with selected songs (filled,
    coloured by quadrant), songs dropped by balancing (grey x) and songs shorter than the
    crop (red open circles). 4Q has no V/A values: its panel counts songs per quadrant."""
    import matplotlib.pyplot as plt

    srcs = [s for s in SOURCES if (selection["source"] == s).any()]
    fig, axes = plt.subplots(1, len(srcs), figsize=(4.2 * len(srcs), 4.2), squeeze=False)
    for ax, s in zip(axes[0], srcs):
        d = selection[selection["source"] == s]
        title = SOURCE_TITLES[s] + (" (balanced)" if s in cfg.balanced_sources else " (kept whole)")
        if d["valence_norm"].isna().all():
            counts = pd.crosstab(d["quadrant"], d["status"]).reindex(list(CLASSES), fill_value=0)
            counts.rename(index=CLASS_NAMES).plot.bar(ax=ax, stacked=True, rot=0,
                                                      color=[{"selected": "#4c72b0", "too_short": "#d62728",
                                                              "not_corner": "grey", "unreadable": "black"}.get(c, "k")
                                                             for c in counts.columns])
            ax.set(title=f"{title}: no V/A values", ylabel="songs", xlabel="")
            continue
        sel = d[d["status"] == "selected"]
        ax.scatter(sel["valence_norm"], sel["arousal_norm"], s=16, c=[_QCOL[q] for q in sel["quadrant"]],
                   label=f"selected ({len(sel)})", edgecolors="none")
        nc = d[d["status"] == "not_corner"]
        ax.scatter(nc["valence_norm"], nc["arousal_norm"], s=18, c="grey", marker="x", lw=0.8,
                   label=f"not in the corners ({len(nc)})")
        ts = d[d["status"].isin(["too_short", "unreadable"])]
        ax.scatter(ts["valence_norm"], ts["arousal_norm"], s=22, facecolors="none", edgecolors="#d62728",
                   lw=0.9, label=f"shorter than {cfg.crop_seconds:g} s ({len(ts)})")
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence (scaled)", ylabel="arousal (scaled)",
               title=title)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Fig. 2: songs per source in the V/A plane, selected and not selected")
    fig.tight_layout()
    return fig


def fig3_examples(cfg: Config, X: np.ndarray, kept: pd.DataFrame, refs: dict[str, float]):
    """Fig. 3: one image per quadrant (from 4Q when present, as in the paper)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    pref = "4q" if (kept["source"] == "4q").any() else None
    for ax, q in zip(axes, CLASSES):
        cand = kept[(kept["quadrant"] == q) & ((kept["source"] == pref) if pref else True)]
        if not len(cand):
            cand = kept[kept["quadrant"] == q]
        ax.axis("off")
        if not len(cand):
            ax.set_title(f"{CLASS_NAMES[q]}: none")
            continue
        i = int(cand.index[0])
        img = render_images(cfg, X, kept, refs, rows=[i])[0]
        ax.imshow(img)
        ax.set_title(f"{CLASS_NAMES[q]} · {SOURCE_TITLES.get(kept.loc[i, 'source'], '')}\n{kept.loc[i, 'track_id']}",
                     fontsize=8)
    fig.suptitle(f"Fig. 3: mel spectrograms in dB re the source maximum, {cfg.image_size}x{cfg.image_size}x3")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def fig4_distribution(kept: pd.DataFrame, splits: Sequence[Split]):
    """Fig. 4: songs per class and source in the training (90 %) and test (10 %) parts."""
    import matplotlib.pyplot as plt

    test = np.zeros(len(kept), bool)
    test[splits[0].test] = True
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (name, mask) in zip(axes, (("train (90 %)", ~test), ("test (10 %)", test))):
        d = kept[mask]
        ct = pd.crosstab(d["quadrant"].map(CLASS_NAMES), d["source"].map(SOURCE_TITLES))
        ct = ct.reindex([CLASS_NAMES[q] for q in CLASSES], fill_value=0)
        ct.plot.bar(ax=ax, stacked=True, rot=0)
        ax.set(title=f"{name}: {len(d)} songs", ylabel="songs", xlabel="")
        ax.legend(fontsize=7)
    fig.suptitle("Fig. 4: data distribution per class and data set")
    fig.tight_layout()
    return fig


def fig5_losses(ctx, exp: str, fold: int = 3):
    """Fig. 5: training and validation loss of one fold (1-based; the paper shows fold 3)."""
    from mer_utils.plots.classification import plot_training_curves

    folds = {fp.fold + 1: fp for fp in load_predictions(ctx.results_dir, exp)}
    f = fold if fold in folds else max(folds)
    hist = folds[f].info.get("history", {})
    return plot_training_curves(hist, metrics=("loss",), title=f"Fig. 5: train and validation loss, fold {f}")


# =========================================================================== leaderboard (notebook 80)
#: Settings of the EfficientNet on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these): the smallest backbone on small images, eager,
#: a few epochs, on ``units`` of the shared splits (None: all 100).
BOARD = {"smoke": dict(backbone="EfficientNetB0", weights="none", image_size=32, epochs=1, patience=1,
                       batch_size=16, random_init_learning_rate=1e-3, run_eagerly=True, units=1),
         "demo": dict(backbone="EfficientNetB0", weights="none", image_size=32, epochs=1, patience=1,
                      batch_size=16, random_init_learning_rate=1e-3, run_eagerly=True, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The paper's EfficientNet (B3 under ``full``; 4Q-only here) on the shared splits: the
    same images (24-s central crop, dB re the source's maximum, 300 x 300 colour), head and
    optimiser as notebook 20, early stopping on 15 % of each unit's training clips."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    cfg = Config.for_profile(profile, **values)
    return [Entry(f"{cfg.backbone} on spectrogram images", PAPER, "pretrained image CNN",
                  make=partial(_board_effnet, cfg=cfg), units=units, validation=0.15,
                  config={"paper": PAPER, "paper_config": cfg.to_dict()},
                  note=f"{cfg.backbone}, {cfg.image_size}-px images, weights {cfg.weights}, "
                       f"{cfg.epochs} epoch(s) at most" + (f", first {units} split(s)" if units else ""))]


class _BoardEffNet:
    def __init__(self, ctx, cfg: Config, images: np.ndarray):
        self.ctx, self.cfg, self.images = ctx, cfg, images
        self.weights = resolve_weights(ctx, cfg, download=cfg.profile == "full")
        self.trainer = None
        self.n_params = None

    def fit(self, train, y_train, validation, y_validation) -> None:
        if self.trainer is None:
            self.trainer = _Trainer(self.cfg, self.weights, self.images.shape[1:], self.ctx.seed)
            self.n_params = int(self.trainer.model.count_params())
        # the trainer predicts on the rows it is given last: the validation rows (never the test's)
        self.history, _ = self.trainer.fit_predict((self.images[train], y_train),
                                                   (self.images[validation], y_validation),
                                                   self.images[validation], seed=self.ctx.seed)

    def predict(self, rows) -> np.ndarray:
        from mer_utils.training import predict_proba

        return predict_proba(self.trainer.model, self.images[rows], batch_size=self.cfg.batch_size)


def _board_effnet(ctx, clips, *, cfg: Config):
    from mer_utils.leaderboard import align_rows

    df = clips.df.copy()
    if "source" not in df.columns:
        df["source"] = df.get("dataset", "4q")
    X, kept = extract_spectrograms(df, front_end(cfg), ctx=ctx, progress=False)
    refs = source_references(X, kept["source"])           # the paper's: max over the source's songs
    images, missing = align_rows(clips, kept, render_images(cfg, X, kept.reset_index(drop=True), refs))
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER}: {missing} clip(s) unreadable, black images used")
    return _BoardEffNet(ctx, cfg, images)
