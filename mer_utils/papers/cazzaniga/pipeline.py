"""Cazzaniga, Gasparini & Saibene, *A multi-source deep learning model for music emotion
recognition* (AIxHMI 2024): the steps of notebook 20, from the sources to the stored
predictions of every fold.

1. sources and label conversions (Table 2) — loaders in :mod:`mer_utils.datasets`
   (:func:`load_corpus` picks the real sets under the data root, else the demo corpus,
   and namespaces ids ``<source>:<id>``);
2. the central 24 s; shorter songs removed, counted and listed (:func:`select_songs`);
3. balancing by extreme corners (:func:`select_songs` with
   :func:`mer_utils.datasets.balance.select_extreme_corners`);
4. 22,050 Hz with an anti-aliasing resampler, no volume normalisation, and
5. mel spectrograms in dB against each source's maximum, rendered as images
   (:func:`spectrograms`, :func:`db_references`, :func:`render_images`; the paper's
   reference spans a source's test songs too — ``db_reference="source_all"`` — the
   ``"train_only"`` variant takes it from each fold's training songs);
6. a 90/10 split balanced by class x source (x genre for Emotion in Music), then
   stratified 5-fold CV on the 90 %, every fold's model scored on the same 10 %
   (:func:`make_splits`: each fold's split a file of :mod:`mer_utils.evaluation.protocols`);
7. EfficientNetB3 + the paper's dense head (:mod:`mer_utils.models.efficientnet`) under the
   paper's :func:`recipe`, one :class:`mer_utils.training.Trainer` for all folds, each fold
   through :func:`mer_utils.experiment.run_protocol` (:func:`run_experiment`).
"""
from __future__ import annotations

import dataclasses
import hashlib
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils import labels as L
from mer_utils.datasets import instructions, select_corpus
from mer_utils.datasets.balance import select_extreme_corners
from mer_utils.datasets.base import DatasetError
from mer_utils.datasets.merge import merge_sources
from mer_utils.evaluation.protocols import Split, load_or_make_splits, predefined
from mer_utils.experiment import UnitResult, row_fingerprints, run_protocol
from mer_utils.features import FRONT_ENDS, extract_spectrograms
from mer_utils.features.images import source_references, spectrogram_image
from mer_utils.results import Unit

from .config import CLASSES, NOTEBOOK, PAPER, SOURCE_TITLES, SOURCES, Config


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


@dataclasses.dataclass(frozen=True)
class GenreBalance:
    """Whether the test split could be balanced by genre inside Emotion in Music (Sec. 4.1),
    on this run's songs: ``state`` is ``applied`` (EiM songs carry a genre), ``no metadata``
    (EiM songs, none with a genre: the set's metadata files were not under its folder),
    ``no EiM songs`` or ``off`` (``cfg.genre_balance`` False)."""

    state: str
    songs: int = 0
    with_genre: int = 0
    genres: int = 0
    root: str = ""
    demo: bool = False

    @property
    def applied(self) -> bool:
        return self.state == "applied"

    @property
    def text(self) -> str:
        if self.state == "applied":
            where = "the demo corpus's mimicked genres" if self.demo else f"the set's metadata under {self.root}"
            left = (f"; {self.songs - self.with_genre} song(s) without a genre row form a cell of their own"
                    if self.with_genre < self.songs else "")
            return (f"genre balance applied: {self.with_genre} of {self.songs} Emotion in Music songs carry one "
                    f"of {self.genres} genres ({where}){left}")
        if self.state == "no metadata":
            return (f"departure: no genre metadata under {self.root} — none of the {self.songs} Emotion in Music "
                    "songs carries a genre (annotations/songs_info.csv, or DEAM's metadata/metadata_2013.csv, "
                    "absent), so the test split is balanced by class and data set only")
        if self.state == "no EiM songs":
            return "genre balance not applicable: no Emotion in Music song in this run (the paper balances only it)"
        return "genre balance off by configuration (genre_balance=False)"


def genre_balance(ctx, cfg: Config, kept: pd.DataFrame) -> GenreBalance:
    """Which case of the paper's genre balance holds on ``kept`` (:class:`GenreBalance`),
    recorded in the manifest (a note and ``settings["cazzaniga_genre_balance"]``): a run
    on Emotion in Music without its metadata says the balance could not be applied."""
    import os

    is_eim = (kept["source"] == "deam").to_numpy()
    if not cfg.genre_balance:
        gb = GenreBalance("off")
    elif not is_eim.any():
        gb = GenreBalance("no EiM songs")
    else:
        g = kept.loc[is_eim, "genre"] if "genre" in kept.columns else pd.Series(np.nan, index=kept.index[is_eim])
        g = g.where(g.astype(str).str.strip() != "")
        demo = bool((kept.loc[is_eim, "dataset"].astype(str) == "demo").all()) if "dataset" in kept.columns else False
        found = ctx.datasets() if callable(getattr(ctx, "datasets", None)) else {}
        paths = [p for p in kept.loc[is_eim, "path"].astype(str) if p] if "path" in kept.columns else []
        root = str(found.get("deam") or (os.path.commonpath(paths) if paths else "the data root"))
        gb = GenreBalance("applied" if g.notna().any() else "no metadata", songs=int(is_eim.sum()),
                          with_genre=int(g.notna().sum()), genres=int(g.nunique()), root=root, demo=demo)
    note = f"{NOTEBOOK}: {gb.text}"
    if note not in ctx.manifest.notes:
        ctx.manifest.notes.append(note)
    ctx.manifest.settings["cazzaniga_genre_balance"] = dataclasses.asdict(gb) | {"text": gb.text}
    return gb


def make_splits(ctx, cfg: Config, kept: pd.DataFrame, *, seed: int | None = None,
                directory: Path | None = None) -> tuple[list[Split], Path]:
    """The 90/10 test part and the stratified k folds of the 90 %, each fold's split a file.

    Unit ``r00-fKK``: train = the 90 % minus fold K, validation = fold K, test = the
    fixed 10 % (:func:`balanced_test_rows`; by genre inside Emotion in Music where its songs
    carry one, and :func:`genre_balance` records which case holds). Each fold is stored through
    :func:`mer_utils.evaluation.protocols.load_or_make_splits` as a ``predefined`` split
    (``track_id, split, label``) in ``results/<label>/splits/cazzaniga-rRR-fKK-predefined-<hash>/``,
    the hash covering the ids, labels and parts: the same songs and settings find the same
    files, other ones get new folders. Returns the splits and the folder holding them. Raises
    ``ValueError`` when the 90 % has one class only, or a class too small for ``cfg.folds``
    stratified folds.
    """
    from sklearn.model_selection import StratifiedKFold

    seed = ctx.seed if seed is None else int(seed)
    ids = kept["track_id"].astype(str).tolist()
    y = kept["quadrant"].astype(str).to_numpy()
    genre_balance(ctx, cfg, kept)                           # which case holds, in the manifest
    genres = _genres(cfg, kept)
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
    root = Path(directory or ctx.results_dir / "splits")
    splits = []
    for f, (tr, va) in enumerate(cv.split(np.zeros(len(dev)), y[dev])):
        for part, rows in (("train", dev[tr]), ("validation", dev[va])):
            present = set(y[rows])
            if len(present) < 2:
                raise ValueError(f"fold {f + 1}: its {part} part has one class only ({present})")
        parts = np.full(len(ids), "test", dtype=object)
        parts[dev[tr]], parts[dev[va]] = "train", "validation"
        unit = Unit(0, f)
        name = f"{PAPER}-{unit.key}"
        (sp,) = load_or_make_splits(root, predefined(), ids, y, predefined=parts, name=name)
        splits.append(Split(unit, sp.train, sp.test, sp.validation))
    return splits, root


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
    from mer_utils.models.efficientnet import imagenet_weights

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


def recipe(cfg: Config, weights: Weights):
    """How the paper trains its network (Sec. 4.2): sparse categorical cross-entropy, Adam at
    the weights' learning rate (the paper's 1e-5 from ImageNet), ``cfg.epochs`` epochs,
    "EarlyStopping ... if the validation loss fails to decrease, restoring the model to its
    best weights" (patience ``cfg.patience``: not given; ``cfg.stop_monitor``: the validation loss
    unless a profile says otherwise), batches of ``cfg.batch_size``."""
    from mer_utils.training import Recipe, ValidationStop

    return Recipe(epochs=int(cfg.epochs), batch_size=int(cfg.batch_size), learning_rate=float(weights.learning_rate),
                  stop=ValidationStop(patience=int(cfg.patience), monitor=cfg.stop_monitor),
                  execution="eager" if cfg.run_eagerly else "xla", predict_batch_size=int(cfg.batch_size))


def trainer(cfg: Config, weights: Weights, input_shape: Sequence[int]):
    """One :class:`mer_utils.training.Trainer` for every fold: EfficientNet + the paper's head
    (:func:`mer_utils.models.efficientnet.build_classifier`) under :func:`recipe`; built and
    compiled once, reset per fold."""
    from mer_utils.models.efficientnet import build_classifier
    from mer_utils.training import Trainer

    build = partial(build_classifier, tuple(int(d) for d in input_shape), len(CLASSES), backbone=cfg.backbone,
                    weights=weights.path, pooling=None if cfg.pooling == "none" else cfg.pooling,
                    units=tuple(cfg.head_units), dropouts=tuple(cfg.head_dropouts),
                    bn_momentum=float(cfg.bn_momentum))
    return Trainer(build, recipe(cfg, weights), name=f"{cfg.backbone} + head")


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
                   weights: Weights, *, name: str | None = None) -> str:
    """Train and score every fold (resumable); returns the experiment name.

    Each fold: images against the per-source references of ``cfg.db_reference``; fit on
    the fold's training songs with early stopping on its validation songs (best weights
    restored); predict the shared test songs; store the predictions and the engine's
    history. Every fold starts from the same initial weights (drawn under ``ctx.seed``);
    its batches and dropout are seeded ``ctx.seed * 100 + fold``.
    """
    ids = kept["track_id"].astype(str).to_numpy()
    y = _y(kept)
    images = _Images(cfg, X, kept)
    shared: dict[str, Any] = {}

    def fit_predict(split: Split) -> UnitResult:
        imgs = images(split)
        if "trainer" not in shared:
            shared["trainer"] = trainer(cfg, weights, imgs.shape[1:])
        tr, va, te = split.train, split.validation, split.test
        net = shared["trainer"]
        hist = net.fit(imgs[tr], y[tr], validation=(imgs[va], y[va]), seed=ctx.seed * 100 + split.unit.fold,
                       init_seed=ctx.seed)
        score = net.predict(imgs[te])
        n_ep = len(hist["epoch"])
        print(f"  fold {split.unit.fold + 1}: {n_ep} epoch(s), kept epoch {hist['best_epoch']}, "
              f"{hist['seconds'] / max(n_ep, 1):.1f} s/epoch")
        return UnitResult(ids=ids[te], y_true=y[te], y_score=score, labels=list(CLASSES),
                          info={"history": hist, "seconds_per_epoch": hist["seconds"] / max(n_ep, 1), "parameters": net.n_params,
                                "weights": weights.kind, "learning_rate": weights.learning_rate})

    config = _run_config(cfg, kept, weights={"kind": weights.kind, "learning_rate": weights.learning_rate,
                                             "file": Path(weights.path).name if weights.path else None},
                         recipe=recipe(cfg, weights).describe())
    exp = name or experiment_name(cfg)
    run_protocol(ctx.results_dir, exp, splits, config=config, fit_predict=fit_predict, rows=row_fingerprints(X),
                 meta={"paper": PAPER, "backbone": cfg.backbone, "weights": weights.description,
                       "db_reference": cfg.db_reference, "image_size": cfg.image_size,
                       "pooling": cfg.pooling, "labels": list(CLASSES)})
    return exp


# =========================================================================== the head's two readings
def ablation_config(cfg: Config) -> Config:
    """The other reading of "Flatten ... the last layer of EfficientNetB3" at ``cfg``'s
    settings: global average pooling before the same dense head when ``cfg`` flattens the
    un-pooled map (the paper's reading, ``full``), the un-pooled Flatten when ``cfg`` pools
    (``demo``). Nothing else changes."""
    return dataclasses.replace(cfg, pooling="avg" if cfg.pooling == "none" else "none")


def ablation_name(cfg: Config) -> str:
    other = ablation_config(cfg).pooling
    return f"cazzaniga_head_{'flatten' if other == 'none' else other + 'pool'}_{cfg.db_reference}"


def run_head_ablation(ctx, cfg: Config, X: np.ndarray, kept: pd.DataFrame, splits: Sequence[Split],
                      weights: Weights) -> str | None:
    """The head-reading ablation (not in the paper): :func:`ablation_config`'s network on the
    same folds, test part, images, weights and recipe, through the one engine
    (:func:`run_experiment`), stored as its own experiment (:func:`ablation_name`). Returns
    None, printed and noted in the manifest, when ``cfg.head_ablation`` is off or the
    profile leaves it to ``full`` (``cfg.full_only``, with the measured reason)."""
    if not cfg.head_ablation:
        return None
    if not cfg.trains("head_ablation"):
        why = dict(cfg.full_only)["head_ablation"]
        msg = f"{NOTEBOOK}: head ablation ({network_name(ablation_config(cfg))}) is full profile only: {why}"
        print(msg)
        if msg not in ctx.manifest.notes:
            ctx.manifest.notes.append(msg)
        return None
    return run_experiment(ctx, ablation_config(cfg), X, kept, splits, weights, name=ablation_name(cfg))


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
        logreg = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        with threadpool_limits(1):        # a small problem: threads only contend on a busy machine
            logreg.fit(F[split.train], y[split.train])   # scikit-learn, not a Keras network
        score = np.zeros((len(split.test), len(CLASSES)), np.float32)
        score[:, logreg.classes_] = logreg.predict_proba(F[split.test])
        return UnitResult(ids=ids[split.test], y_true=y[split.test], y_score=score, labels=list(CLASSES))

    exp = f"cazzaniga_control_{cfg.db_reference}"
    run_protocol(ctx.results_dir, exp, splits, config=_run_config(cfg, kept, model="logreg C=0.1"),
                 fit_predict=fit_predict, rows=row_fingerprints(X), meta={"paper": PAPER, "model": "control: logistic regression "
                                                "on per-band image mean/std"}, progress=False)
    return exp


def network_name(cfg: Config) -> str:
    """The network's name a reader sees: the backbone and whether the head is the paper's."""
    paper = Config()
    if (cfg.pooling, tuple(cfg.head_units), tuple(cfg.head_dropouts)) == (
            paper.pooling, tuple(paper.head_units), tuple(paper.head_dropouts)):
        return f"{cfg.backbone} + the paper's head"
    dense = "/".join(str(u) for u in cfg.head_units)
    if (tuple(cfg.head_units), tuple(cfg.head_dropouts)) == (tuple(paper.head_units), tuple(paper.head_dropouts)):
        pool = {"avg": "average-pooled", "max": "max-pooled"}.get(cfg.pooling, "")
        return f"{cfg.backbone} + the paper's head, {pool} (the other reading)"
    pool = "" if cfg.pooling == "none" else "pooled "
    flat = "Flatten + " if cfg.pooling == "none" else ""
    return f"{cfg.backbone} + {pool}{flat}Dense {dense} head (ours)"


def paper_and_control(cfg: Config, exp: str, control: str) -> dict[str, str]:
    """The two experiments the models table compares, under the names a reader sees."""
    return {network_name(cfg): exp,
            "control: logistic regression on image band statistics (ours)": control}


def split_sizes(split: Split) -> str:
    """'n train / n validation / n test' of one fold."""
    return f"{len(split.train)} train / {len(split.validation)} validation / {len(split.test)} test"

