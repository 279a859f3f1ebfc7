"""Louro et al.'s pipeline: the data, the shared 10 x 10 splits and what every Table 3 row
fits, run unit by unit into the results store (notebook ``50_louro_methods``).

The paper compares classical and deep methods for 4-quadrant MER under one protocol: "a
10-fold and 10-repetition stratified cross-validation strategy [...] a total of 100 different
train-test splits", precision / recall / F1 (macro) per split, mean over the splits (its
Table 3). Every row is registered here (:mod:`.rows`): the SVM baseline (+ the in-fold
selection variant), the DL baseline, the baseline with GRU, the CRNN, the Hybrid (Augmented),
the ShortChunk CNN and the SampleCNN (part 1); the baseline with audio augmentations and
DeepSMOTE, two embedding + RF rows and two transfer rows (part 2).

Protocol (ours, stricter than the released code):

* one set of saved splits (``repeated_kfold(10, 10)``, stratified on quadrants) shared by
  every row, so every row is evaluated on the same 100 units and rows are paired;
* every fitted statistic — scaling, feature selection, SVM hyperparameters (nested grid search
  on the training rows through :func:`mer_utils.evaluation.tune`), augmented copies — comes
  from the unit's training rows only;
* every network trains through :class:`mer_utils.training.Trainer` (one per row and input
  shape, compiled once, reset per unit to the initial weights the unit's seed gives) and stops
  "when the training set accuracy reached [...] 90%" (:class:`~mer_utils.training.TrainAccuracyStop`;
  no validation data at all); the released code passed the test fold to Keras as
  ``validation_data`` and chose its hyperparameters by the same CV's test scores — neither
  happens here.

What a run derives once and reuses over units (chunked inputs, embeddings, the units'
autoencoders) lives in a :class:`Workspace` that :func:`run_rows` passes to every row; a row's
label (e.g. a substitution) comes back in its :class:`~.rows.Fitted`, never through the data.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.experiment import UnitResult, run_protocol

from .config import CHUNK_SAMPLES, COLUMN_SOURCE, COLUMNS, LABELS, PAPER, SR, Config
from .rows import ALL_ROWS, PART2_ROWS, ROWS, Fitted, NotRunnable, Row, input_size, register

# =========================================================================== data
@dataclasses.dataclass(frozen=True)
class PaperColumn:
    """Which of Table 3's data-set columns (:data:`.config.COLUMNS`) a run's clips are.

    * ``name``: the column whose Table 2 quadrant counts the clips used match exactly
      (Original-4QAED, New-4QAED C or B), else None: different data;
    * ``stands_for``: the column the run is set beside in the tables (``name`` when there
      is one; else the column the data stands in for: the demo corpus and a 4Q subset stand
      in for Original-4QAED, an expanded set's complete / balanced table for C / B);
    * ``data``: the clips in words (set, count, counts per quadrant);
    * ``paper``: the ``stands_for`` column's counts in Table 2, in words.
    """

    name: str | None
    stands_for: str
    data: str
    paper: str

    @property
    def label(self) -> str:
        """What a caption says: the column's name, or 'none: different data (...)'."""
        return self.name if self.name else f"none: different data ({self.data}; {self.stands_for}: {self.paper})"

    @property
    def record(self) -> str:
        """What the manifest records (``louro Table 3 column``), which the scorecard reads
        against :data:`.config.PAPER_DATA`: '<column> (real): <clips>' only when the clips are
        that column's data set."""
        return f"{self.name} (real): {self.data}" if self.name else f"different data: {self.data}"


def paper_column(df: pd.DataFrame) -> PaperColumn:
    """The Table 3 column of the clips in ``df`` (``quadrant``, ``dataset``, for an expanded
    set ``collection``): the column whose Table 2 counts per quadrant (from the transcribed
    paper values, never typed here) equal the clips' counts, whatever the folder is called;
    none otherwise. The demo corpus is never a paper column."""
    from mer_utils.results import paper_values

    table2 = paper_values(PAPER, "2").pivot(index="row", columns="metric", values="value")

    def counts_text(c) -> str:
        return f"{int(c.sum())} clips, {'/'.join(str(int(v)) for v in c)} per quadrant"

    counts = df["quadrant"].value_counts().reindex(list(LABELS), fill_value=0).astype(int)
    demo = bool((df["dataset"] == "demo").any()) if "dataset" in df.columns else False
    collection = str(df["collection"].iloc[0]) if "collection" in df.columns and len(df) else ""
    data = ("the demo corpus (synthetic clips), " if demo else f"{collection or '4Q'}: ") + counts_text(counts)
    for col in COLUMNS:
        paper = table2.loc[col, list(LABELS)].astype(int)
        if not demo and (paper.to_numpy() == counts.to_numpy()).all():
            return PaperColumn(col, col, data, counts_text(paper))
    stands = ("New-4QAED B" if "B" in collection.split() or "Balanced" in collection else
              "New-4QAED C" if collection else COLUMNS[0])
    return PaperColumn(None, stands, data, counts_text(table2.loc[stands, list(LABELS)].astype(int)))


@dataclasses.dataclass
class LouroData:
    """The clips every row uses (same rows, same order), their labels and feature tables."""

    df: pd.DataFrame                 # one row per clip: track_id, path, quadrant, ...
    corpus: str                      # one-line description (recorded in the manifest)
    real: bool                       # real 4Q (True) or the demo corpus
    features: pd.DataFrame | None    # the SVM baseline's features (top-100 or the demo stand-in)
    features_desc: str
    full_features: pd.DataFrame | None   # the 1714-feature release (or the demo stand-in)
    full_desc: str
    mel_all: np.ndarray | None = None    # (n, 942, 128), filled by load_data
    column: PaperColumn | None = None    # the Table 3 column these clips are (paper_column)

    @property
    def ids(self) -> np.ndarray:
        return self.df["track_id"].astype(str).to_numpy()

    @property
    def y(self) -> np.ndarray:
        return self.df["quadrant"].map({q: i for i, q in enumerate(LABELS)}).to_numpy()

    def inputs_of(self, key: str) -> np.ndarray:
        """One fingerprint per clip of what row ``key`` reads (:func:`~mer_utils.experiment.row_fingerprints`):
        the SVM rows their feature table, every network row the clip's mel spectrogram (which
        changes when its audio file does; the chunk and embedding rows decode the same file),
        the Hybrid its mel and its feature row. A rerun retrains exactly the units whose clips
        changed."""
        from mer_utils.experiment import row_fingerprints

        table = self.full_features if self.full_features is not None else self.features
        if key == "svm_baseline" and self.features is not None:
            return row_fingerprints(self.features)
        if key == "svm_infold" and table is not None:
            return row_fingerprints(table)
        if key == "hybrid" and table is not None:
            return row_fingerprints(self.mel_all, table)
        return row_fingerprints(self.mel_all)

    def mel(self, frames: int) -> np.ndarray:
        """The clips' mel spectrograms cut to their first ``frames`` frames."""
        if frames > self.mel_all.shape[1]:
            raise ValueError(f"input_frames {frames} > the front end's {self.mel_all.shape[1]}")
        return self.mel_all[:, :frames]





def load_data(ctx, cfg: Config) -> LouroData:
    """The 4Q clips (real 4Q or the expanded New-4QAED under the data root, else the demo
    corpus's pooled sources), their mel spectrograms and feature tables, aligned on one set of
    rows, and the Table 3 column they are (:func:`paper_column`, recorded in the manifest).

    Real 4Q: the top-100 release (``top100_features.csv``) for the SVM baseline; the 1714-feature
    release when found (``cfg.full_features_file`` or a ``*1714*.csv``-like file beside the data)
    for the in-fold selection variant and the Hybrid (else the Hybrid uses the top-100,
    recorded as a substitution). The expanded set (New-4QAED, ``fourq.load_expanded``) reads its
    feature files the same way, from beside its clips. Demo corpus: no feature release exists, so the compendium's ``emotion`` set
    stands in for the 1714 features and its 100 best features by ANOVA F **chosen on all
    clips** stand in for the top-100 release (reproducing how that file was made).
    """
    from mer_utils.datasets import select_corpus
    from mer_utils.datasets.fourq import find_full_features, load_top100, top100_path
    from mer_utils.features import extract_features, extract_spectrograms

    df, desc = select_corpus(ctx, "quadrant", sources=tuple(cfg.demo_sources), subset=cfg.new_4qaed_subset)
    real = bool((df["dataset"] != "demo").any())
    root = ctx.datasets().get(str(df["dataset"].iloc[0])) if real else None
    features = full = None
    fdesc = full_desc = ""
    if real:
        tp = top100_path(root) if root is not None else None
        if tp is None:
            try:
                features = load_top100(root)
                fdesc = "top-100 features of the 4Q release"
            except FileNotFoundError:
                fdesc = "absent: no top100_features.csv beside the 4Q data"
        else:
            features = load_top100(tp)
            fdesc = f"top-100 features of the 4Q release ({tp.name})"
        fp = find_full_features(root, cfg.full_features_file)
        if fp is not None:
            full = load_top100(fp)          # same layout: SongID, features..., Quadrant
            full_desc = f"full feature release ({fp.name}, {full.shape[1] - 1} features)"
        else:
            full_desc = "absent: the 1714-feature release is not beside the 4Q data"
    else:
        F, kept = extract_features(df, "emotion", ctx=ctx)
        F = F.astype(np.float64)
        full = F.assign(quadrant=kept.set_index(kept["track_id"].astype(str))["quadrant"].reindex(F.index))
        full_desc = f"demo stand-in for the 1714 release: the compendium's emotion set ({F.shape[1]} features)"
        top = _anova_top(F.to_numpy(), full["quadrant"].to_numpy(), cfg.select_k)
        features = full[[F.columns[i] for i in top] + ["quadrant"]]
        fdesc = (f"demo stand-in for the top-100 release: {len(top)} emotion-set features ranked by "
                 "ANOVA F on all clips (as the release's were chosen on all 900 songs)")
        ctx.manifest.substitute("4Q top-100 / 1714 feature releases", "emotion feature set (demo corpus)",
                                "no real 4Q data under the data root")
    for table, what in ((features, "top-100 feature release"), (full, "full feature release")):
        missing = (table.attrs.get("missing") or {}) if table is not None else {}
        if missing.get("count"):
            ctx.manifest.notes.append(f"{what}: {missing['count']} cell(s) hold no value (n/a, #VALUE!...), "
                                      f"read as missing and set to 0 where a model needs numbers; e.g. "
                                      f"{missing['examples'][:3]}")
    # the mel front end decides which clips are usable; features must exist for them
    X, kept = extract_spectrograms(df, "louro_mel", ctx=ctx)
    keep = pd.Series(True, index=kept.index)
    if features is not None:
        keep &= kept["track_id"].astype(str).isin(features.index)
    if full is not None:
        keep &= kept["track_id"].astype(str).isin(full.index)
    for tid in kept.loc[~keep, "track_id"]:
        ctx.manifest.skip(str(tid), "no row in the feature release")
    kept = kept[keep.to_numpy()].reset_index(drop=True)
    X = X[keep.to_numpy()]
    ids = kept["track_id"].astype(str)
    if features is not None:
        features = features.loc[ids]
    if full is not None:
        full = full.loc[ids]
    ctx.manifest.add_source("louro features", f"{fdesc}; {full_desc}")
    column = paper_column(kept)
    ctx.manifest.add_source(COLUMN_SOURCE, column.record)
    return LouroData(df=kept, corpus=f"{desc}; {len(kept)} used", real=real, features=features,
                     features_desc=fdesc, full_features=full, full_desc=full_desc, mel_all=X, column=column)


def _anova_top(X: np.ndarray, y: np.ndarray, k: int) -> list[int]:
    from sklearn.feature_selection import f_classif

    with np.errstate(all="ignore"):
        F, _ = f_classif(X, y)
    F = np.nan_to_num(F, nan=-1.0)
    return sorted(np.argsort(-F, kind="stable")[:min(k, X.shape[1])].tolist())


def make_splits(ctx, cfg: Config, data: LouroData):
    """The shared splits: stratified ``folds``-fold CV repeated ``repeats`` times, one CSV per
    unit under ``results/<label>/splits/`` (reused on rerun; same data -> same files)."""
    from mer_utils.evaluation import load_or_make_splits, repeated_kfold

    proto = repeated_kfold(cfg.folds, cfg.repeats, seed=cfg.split_seed)
    return load_or_make_splits(ctx.results_dir / "splits", proto, data.ids, data.df["quadrant"],
                               name="louro-4q")


def split_summary(splits, data: LouroData) -> pd.DataFrame:
    """One line per repeat: units, train / test sizes, and the test folds' class counts
    (stratified: every class within one clip of its share), and that the repeat's test folds
    cover every clip exactly once."""
    y = data.df["quadrant"].to_numpy()
    recs = []
    for r in sorted({s.unit.repeat for s in splits}):
        mine = [s for s in splits if s.unit.repeat == r]
        tests = np.concatenate([s.test for s in mine])
        per_class = pd.DataFrame([pd.Series(y[s.test]).value_counts().reindex(list(LABELS), fill_value=0)
                                  for s in mine])
        recs.append({"repeat": r, "units": len(mine), "train clips": f"{min(len(s.train) for s in mine)}-"
                                                                     f"{max(len(s.train) for s in mine)}",
                     "test clips": f"{min(len(s.test) for s in mine)}-{max(len(s.test) for s in mine)}",
                     **{f"{q} per test fold": f"{per_class[q].min()}-{per_class[q].max()}" for q in LABELS},
                     "each clip tested once": bool(len(tests) == len(y) and len(np.unique(tests)) == len(y)),
                     "train/test overlap": int(sum(np.intersect1d(s.train, s.test).size for s in mine))})
    return pd.DataFrame(recs)


def scale_note(cfg: Config, n_units: int) -> str:
    """What this profile changes from the paper's settings (the tables' caption)."""
    if cfg.profile == "full":
        return (f"full: every row on all {n_units} units, Table 1 epochs, 942-frame input, all chunks.")
    dl = min(cfg.dl_units or n_units, n_units)
    parts = [f"{cfg.profile}: SVM rows on all {n_units} units ({cfg.folds} folds x {cfg.repeats} repeats; "
             f"grid C {list(cfg.svm_C)} x gamma {list(cfg.svm_gamma)}, {cfg.inner_folds} inner folds)",
             f"DL rows on the first {dl} of the same {n_units} units",
             f"part-2 rows on the first {min(cfg.part2_units, n_units)}" if cfg.part2_units is not None else "",
             f"at most {cfg.max_epochs} epoch(s) instead of Table 1's 100-200" if cfg.max_epochs else "",
             f"{cfg.optimizer} for every DL row instead of Table 1's" if cfg.optimizer else "",
             f"learning rate {cfg.learning_rate:g} instead of Table 1's" if cfg.learning_rate else "",
             f"batch {cfg.batch_size} instead of Table 1's" if cfg.batch_size else "",
             ("not trained here (full profile only): " + ", ".join(ROWS[k].name for k, _ in cfg.full_only))
             if cfg.full_only else "",
             f"30-s rows see the first {cfg.input_frames} of 942 frames (~{cfg.input_frames * 512 / SR:.1f} s)"
             if cfg.input_frames != 942 else "",
             f"{cfg.train_chunks_per_clip} chunk(s) per training clip" if cfg.train_chunks_per_clip else "",
             f"{cfg.test_chunks_per_clip} chunk(s) per test clip" if cfg.test_chunks_per_clip else "",
             f"at most {cfg.micro_batch} samples per step (gradients accumulated to the Table 1 batch)"
             if cfg.micro_batch else "",
             f"autoencoder {cfg.ae_epochs} epoch(s) instead of 100 (released code), batch {cfg.ae_batch}"
             if cfg.ae_epochs != 100 else "",
             f"DeepSMOTE {cfg.smote_per_class:g} x each class's count" if cfg.smote_per_class != 1.0 else "",
             f"RF {cfg.rf_trees} trees instead of scikit-learn's 100" if cfg.rf_trees != 100 else "",
             f"transfer row: {cfg.transfer_patches_per_clip} 3-s patch(es) per training clip"
             if cfg.transfer_patches_per_clip else "",
             "transfer row: pre-trained body frozen, only the new head trained" if cfg.transfer_train == "head" else ""]
    return "; ".join(p for p in parts if p) + "."


# =========================================================================== the run's workspace
@dataclasses.dataclass
class Workspace:
    """What one run derives from the data and reuses over rows and units — chunked inputs,
    embeddings, frozen-body vectors, the units' autoencoders and the trainer that fits them.
    :func:`run_rows` makes one (or takes the caller's) and passes it to every row; nothing
    here is written into :class:`LouroData`. ``arrays`` maps a name to a derived array (or
    tuple); ``autoencoders`` maps a unit's autoencoder key to its trained state."""

    arrays: dict = dataclasses.field(default_factory=dict)
    autoencoders: dict = dataclasses.field(default_factory=dict)
    trainers: dict = dataclasses.field(default_factory=dict)

    def memo(self, key, make: Callable[[], Any]):
        """``arrays[key]``, made by ``make()`` the first time."""
        if key not in self.arrays:
            self.arrays[key] = make()
        return self.arrays[key]


# =========================================================================== inputs
def _chunk_mels(ctx, data: LouroData, work: Workspace):
    """(X (n_chunks, 116, 128), owner row per chunk): non-overlapping 59,049-sample chunks."""
    def make():
        from mer_utils.features import extract_segments

        sec = CHUNK_SAMPLES / SR
        X, seg, kept = extract_segments(data.df, "louro_mel", seconds=sec, hop_seconds=sec, ctx=ctx)
        if len(kept) != len(data.df) or not (kept["track_id"].astype(str).to_numpy() == data.ids).all():
            raise RuntimeError("a clip is too short for one 59,049-sample chunk; drop it from the corpus")
        return X, seg["row"].to_numpy()
    return work.memo("chunk_mels", make)


def _wave_chunks_file(path: str) -> np.ndarray:
    y = audio.load_audio(path, sr=SR)
    return audio.chunks(y, CHUNK_SAMPLES)


class _Chunks:
    """Chunks kept per clip (no concatenated copy of every clip's samples); ``X[positions]``
    gathers the chunks a unit uses, ``shape[1:]`` is one chunk's shape."""

    def __init__(self, per_clip: list[np.ndarray]):
        self.per_clip = per_clip
        self.index = np.asarray([(c, k) for c, v in enumerate(per_clip) for k in range(len(v))], dtype=int)
        self.shape = (len(self.index), *per_clip[0].shape[1:])

    def __getitem__(self, pos) -> np.ndarray:
        pos = np.asarray(pos, dtype=int)
        return np.stack([self.per_clip[c][k] for c, k in self.index[pos]]) if len(pos) else \
            np.zeros((0, *self.shape[1:]), np.float32)


def _chunk_waves(ctx, data: LouroData, work: Workspace):
    """(X: 59,049-sample chunks at 16 kHz, gathered per unit; owner row per chunk)."""
    def make():
        from mer_utils.cache import cached_map

        res = cached_map(_wave_chunks_file, list(data.df["path"].astype(str)), ids=list(data.ids),
                         paths=list(data.df["path"].astype(str)), cache=None,
                         n_jobs=int(ctx.p.n_jobs), on_error="raise", desc="waveform chunks",
                         progress=False)
        X = _Chunks([v.astype(np.float32, copy=False) for v in res.values])
        return X, X.index[:, 0]
    return work.memo("chunk_waves", make)


def _pick_chunks(owner: np.ndarray, rows: np.ndarray, per_clip: int | None) -> np.ndarray:
    """Chunk positions of ``rows``' clips; at most ``per_clip`` per clip, evenly spaced."""
    pos = np.flatnonzero(np.isin(owner, rows))
    if per_clip is None:
        return pos
    out = []
    for r in np.unique(owner[pos]):
        mine = pos[owner[pos] == r]
        take = np.unique(np.linspace(0, len(mine) - 1, min(per_clip, len(mine))).round().astype(int))
        out.extend(mine[take])
    return np.asarray(sorted(out), dtype=int)


def _augmented_mel_file(item, frames: int, seed: int) -> dict[str, np.ndarray]:
    """The four Hybrid copies of one clip as mel spectrograms (first ``frames`` frames)."""
    from mer_utils import augment
    from mer_utils.features import FRONT_ENDS, spectrogram
    from mer_utils.features.frontends import prepare_clip

    path, clip_id = item
    fe = FRONT_ENDS["louro_mel"]
    y = prepare_clip(audio.load_audio(path, sr=SR), SR, fe, path)
    n_out = (frames - 1) * fe.hop_length + fe.n_fft // 2
    y = y[:augment.input_needed(n_out, SR)]
    out = {}
    for name in augment.HYBRID_TRANSFORMS:
        z = augment.augment(y, SR, clip_id, name, seed=seed)
        out[name] = spectrogram(z, SR, fe, clip=True, path=path)[:frames]
    return out


def augmented_mels(ctx, data: LouroData, rows: np.ndarray, frames: int, seed: int = 0):
    """(X (4 x len(rows), frames, 128), owner rows): the Hybrid's synthesised copies of the
    clips at ``rows`` — call it with a unit's training rows only. Cached per (clip, seed)."""
    from mer_utils import augment
    from mer_utils.cache import FeatureCache, cached_map, default_cache_root

    rows = np.asarray(rows, dtype=int)
    sub = data.df.iloc[rows]
    cache = FeatureCache(default_cache_root(ctx) / "features", "louro-augmented",
                         {"frames": frames, "seed": seed, "front_end": "louro_mel", "version": 1,
                          "transforms": {k: v[1] for k, v in augment.HYBRID_TRANSFORMS.items()}})
    items = list(zip(sub["path"].astype(str), sub["track_id"].astype(str)))
    res = cached_map(functools.partial(_augmented_mel_file, frames=frames, seed=seed), items,
                     ids=list(sub["track_id"].astype(str)), paths=list(sub["path"].astype(str)),
                     cache=cache, n_jobs=int(ctx.p.n_jobs), on_error="raise",
                     desc="augmented copies", progress=False)
    X = np.concatenate([np.stack([v[k] for k in augment.HYBRID_TRANSFORMS]) for v in res.values])
    owner = np.repeat(rows, len(augment.HYBRID_TRANSFORMS))
    return X.astype(np.float32), owner


# =========================================================================== fitting
def _unit_seed(ctx, split) -> int:
    return int(ctx.seed) * 10_000 + 100 * int(split.unit.repeat) + int(split.unit.fold)





def tune_svm(X: np.ndarray, y: np.ndarray, split, *, C: Sequence[float], gamma: Sequence[float],
             k: int = 5, select_k: int | None = None, seed: int = 0):
    """Nested grid search of a ``StandardScaler [-> SelectKBest(f_classif)] -> RBF SVC``
    pipeline on ``split.train`` only, through :func:`mer_utils.evaluation.tune` (inner
    stratified folds from :func:`~mer_utils.evaluation.inner_cv`, macro F1, first best on
    ties), refit there. Returns ``(predict(rows) -> (scores, decisions), best_params)``. No row
    of ``split.test`` is ever read: scaling, selection and every fit use training rows only.
    """
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mer_utils.evaluation import tune

    steps = [("scale", StandardScaler())]
    if select_k is not None:
        steps.append(("select", SelectKBest(f_classif, k=min(select_k, X.shape[1]))))
    steps.append(("svm", SVC(kernel="rbf")))
    model, best = tune(Pipeline(steps), {"svm__C": list(C), "svm__gamma": list(gamma)}, X, y, split,
                       k=k, scoring="f1_macro", seed=seed)

    def predict(rows):
        Z = X[rows]
        return model.decision_function(Z), model.predict(Z)
    return predict, {"C": best["svm__C"], "gamma": best["svm__gamma"]}


def _svm_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """SVM on the baseline's features (``row.key == 'svm_baseline'``) or with features selected
    inside each training fold from the full release (``'svm_infold'``)."""
    import warnings

    if row.key == "svm_infold":
        if data.full_features is None:
            raise NotRunnable(f"needs the full feature release: {data.full_desc}")
        table = data.full_features
    else:
        if data.features is None:
            raise NotRunnable(f"needs the top-100 feature release: {data.features_desc}")
        table = data.features
    X = np.nan_to_num(table.drop(columns="quadrant").to_numpy(dtype=np.float64), nan=0.0)
    y = data.y

    def fit_predict(split) -> UnitResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)   # constant features in a fold
            warnings.simplefilter("ignore", category=UserWarning)
            predict, best = tune_svm(X, y, split, C=cfg.svm_C, gamma=cfg.svm_gamma, k=cfg.inner_folds,
                                        select_k=cfg.select_k if row.key == "svm_infold" else None,
                                        seed=_unit_seed(ctx, split))
            scores, pred = predict(split.test)
        te = split.test
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=scores, labels=list(LABELS),
                          y_pred=pred, info={"best_params": best})
    return Fitted(fit_predict)








def _recipe(cfg: Config, row: Row, *, schedule=None):
    """The Table 1 recipe of a DL row under this profile: its optimizer, learning rate, batch
    size and (capped) epochs, or an optimizer ``schedule``; the 90 % training-accuracy stop."""
    from mer_utils.training import Recipe, TrainAccuracyStop

    stop = TrainAccuracyStop(cfg.stop_train_accuracy) if cfg.stop_train_accuracy else None
    opt = {"schedule": schedule} if schedule is not None else {"optimizer": cfg.row_optimizer(row),
                                                              "learning_rate": cfg.row_learning_rate(row)}
    return Recipe(epochs=cfg.epochs(row), batch_size=cfg.row_batch_size(row), stop=stop, micro_batch=cfg.micro_batch,
                  execution=cfg.execution, predict_batch_size=_predict_batch(cfg), **opt)


def _trainer(build: Callable, recipe, name: str):
    """One :class:`~mer_utils.training.Trainer` for a row and input shape, reused over units."""
    from mer_utils.training import Trainer

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return Trainer(build, recipe, name=name)





def _predict_batch(cfg: Config) -> int:
    return min(32, cfg.micro_batch or 32)


def _mel_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """A network on the whole clip's mel spectrogram (first ``input_frames`` frames)."""
    from mer_utils.training import Standardizer

    X = data.mel(cfg.input_frames)
    y = data.y
    trainer = _trainer(lambda: row.build(cfg, data, X.shape[1]), _recipe(cfg, row), row.key)

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        scaler = Standardizer().fit(X[tr])
        hist = trainer.fit(scaler(X[tr]), y[tr], seed=_unit_seed(ctx, split))
        P = trainer.predict(scaler(X[te]))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "n_train": len(tr)})
    return Fitted(fit_predict)


def _chunk_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace, waves: bool) -> Fitted:
    """Chunk-level training, clip-level decision (many-to-one): every chunk of a training clip
    is a training sample with the clip's label; a test clip's chunk predictions are combined
    by ``cfg.chunk_decision``."""
    from mer_utils.evaluation import chunk_decision, mean_probability
    from mer_utils.training import Standardizer

    y = data.y
    trainers: dict = {}            # one per chunk shape, made when a unit first runs

    def fit_predict(split) -> UnitResult:
        Xc, owner = _chunk_waves(ctx, data, work) if waves else _chunk_mels(ctx, data, work)   # once per run
        if Xc.shape[1] not in trainers:
            trainers[Xc.shape[1]] = _trainer(lambda: row.build(cfg, data, Xc.shape[1]), _recipe(cfg, row), row.key)
        trainer = trainers[Xc.shape[1]]
        tr = _pick_chunks(owner, split.train, cfg.train_chunks_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        X_tr = Xc[tr]
        scaler = Standardizer().fit(X_tr)
        X_tr = scaler(X_tr)
        hist = trainer.fit(X_tr, y[owner[tr]], seed=_unit_seed(ctx, split))
        del X_tr
        P_chunks = trainer.predict(scaler(Xc[te]))
        clips, P = mean_probability(owner[te], P_chunks)
        clips_d, decision = chunk_decision(owner[te], P_chunks, how=cfg.chunk_decision)
        rows = clips.astype(int)
        assert (clips == clips_d).all()
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=decision, info={"history": hist, "n_train_chunks": len(tr),
                                                 "n_test_chunks": len(te), "decision": cfg.chunk_decision})
    return Fitted(fit_predict)


@dataclasses.dataclass
class _Pretrained:
    """The current unit's pre-trained branch weights, which the Hybrid head's builder reads.

    The engine resets a trainer's model, before every fit, to what a fresh build under the
    unit's ``init_seed`` gives; the head's build sets the frozen branches from here, and the
    pipeline puts each unit's weights here before fitting its head."""

    cnn: list | None = None
    dnn: list | None = None


def _hybrid_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """Paper Fig. 2: (1) the baseline CNN pre-trained on the training clips plus four
    synthesised copies of each (made from the training clips only); (2) the feature DNN
    pre-trained on the training clips' features; (3) both frozen, their penultimate layers
    concatenated and a small DNN trained on top (Table 1: 100 epochs, batch 300, SGD 1e-2).

    Three trainers, each compiled once for all units: the CNN and the DNN (the DL baseline's
    recipe) and the fused network (the Hybrid's). The fused network's builder takes the
    branches' weights from a holder the pipeline fills per unit (:class:`_Pretrained`); each
    unit's head fit has its own ``init_seed`` (``seed + 2``), so the engine rebuilds it with
    that unit's branches, and after the fit the frozen branches are checked against the
    networks just pre-trained."""
    from mer_utils.models.hybrid import build_feature_dnn, build_hybrid
    from mer_utils.models.mel_cnn import build_baseline_cnn
    from mer_utils.training import Standardizer

    if data.full_features is not None:
        F = data.full_features.drop(columns="quadrant").to_numpy(dtype=np.float64)
    elif data.features is not None:
        F = data.features.drop(columns="quadrant").to_numpy(dtype=np.float64)
        ctx.manifest.substitute("Hybrid: the 1714-feature release", "the top-100 feature release",
                                data.full_desc)
    else:
        raise NotRunnable(f"needs a feature release: {data.features_desc}")
    F = np.nan_to_num(F, nan=0.0).astype(np.float32)
    X = data.mel(cfg.input_frames)
    y = data.y
    base = ROWS["dl_baseline"]
    shape, n_feat = (X.shape[1], X.shape[2]), F.shape[1]
    cnn_recipe = _recipe(cfg, base)
    if "hybrid_cnn" in dict(cfg.epochs_by_row):      # the branch sees 5 x the clips: fewer epochs, same steps
        cnn_recipe = dataclasses.replace(cnn_recipe, epochs=int(dict(cfg.epochs_by_row)["hybrid_cnn"]))
    cnn_trainer = _trainer(functools.partial(build_baseline_cnn, shape, 4), cnn_recipe, "hybrid CNN")
    dnn_trainer = _trainer(functools.partial(build_feature_dnn, n_feat, 4), _recipe(cfg, base), "hybrid DNN")
    branches = _Pretrained()

    def build():
        c = build_baseline_cnn(shape, 4)
        c.set_weights(branches.cnn)
        d = build_feature_dnn(n_feat, 4)
        d.set_weights(branches.dnn)
        return build_hybrid(c, d, 4)
    head_trainer = _trainer(build, _recipe(cfg, row), row.key)

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        seed = _unit_seed(ctx, split)
        Xa, owner_a = augmented_mels(ctx, data, tr, X.shape[1], seed=0)
        assert np.isin(owner_a, tr).all()            # copies of training clips only
        X_pre = np.concatenate([X[tr], Xa])
        y_pre = np.concatenate([y[tr], y[owner_a]])
        mel_scaler = Standardizer().fit(X_pre)
        h_cnn = cnn_trainer.fit(mel_scaler(X_pre), y_pre, seed=seed)
        f_scaler = Standardizer(axis=-1).fit(F[tr])
        h_dnn = dnn_trainer.fit(f_scaler(F[tr]), y[tr], seed=seed + 1)
        branches.cnn, branches.dnn = cnn_trainer.model.get_weights(), dnn_trainer.model.get_weights()
        hist = head_trainer.fit([mel_scaler(X[tr]), f_scaler(F[tr])], y[tr], seed=seed + 2)
        _check_branches(head_trainer.model, cnn_trainer.model, dnn_trainer.model)
        P = head_trainer.predict([mel_scaler(X[te]), f_scaler(F[te])])
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1),
                          info={"history": hist, "history_cnn": h_cnn, "history_dnn": h_dnn,
                                "n_train": len(tr), "n_augmented": len(Xa), "features": F.shape[1]})
    return Fitted(fit_predict)


def _check_branches(hybrid, cnn, dnn) -> None:
    """The fused network's frozen branches hold the unit's pre-trained weights (their
    ``features`` layers equal the networks just pre-trained)."""
    for branch, net in (("cnn_branch", cnn), ("dnn_branch", dnn)):
        a = hybrid.get_layer(branch).get_layer("features").get_weights()
        b = net.get_layer("features").get_weights()
        if not all(np.array_equal(u, v) for u, v in zip(a, b)):
            raise RuntimeError(f"the Hybrid's {branch} does not hold this unit's pre-trained weights")


# --------------------------------------------------------------------------- builders per row
def _b_baseline(cfg, data, frames):
    from mer_utils.models.mel_cnn import build_baseline_cnn
    return build_baseline_cnn((frames, 128), len(LABELS))


def _b_gru(cfg, data, frames):
    from mer_utils.models.mel_cnn import build_baseline_gru
    return build_baseline_gru((frames, 128), len(LABELS), gru_units=cfg.gru_units)


def _b_crnn(cfg, data, frames):
    from mer_utils.models.won_tagging import build_won_crnn
    return build_won_crnn((frames, 128), len(LABELS))


def _b_shortchunk(cfg, data, frames):
    from mer_utils.models.won_tagging import build_shortchunk_cnn
    return build_shortchunk_cnn((frames, 128), len(LABELS))


def _b_samplecnn(cfg, data, n):
    from mer_utils.models.won_tagging import build_samplecnn
    return build_samplecnn(n, len(LABELS))


def _b_hybrid(cfg, data, frames):
    from mer_utils.models.hybrid import build_feature_dnn, build_hybrid
    from mer_utils.models.mel_cnn import build_baseline_cnn
    n_feat = 1714 if data is None else (
        data.full_features if data.full_features is not None else data.features).shape[1] - 1
    return build_hybrid(build_baseline_cnn((frames, 128), 4), build_feature_dnn(n_feat, 4), 4)


register(Row("svm_baseline", "SVM Baseline", "classical", "top-100 handcrafted features",
             fit=_svm_fit, note="RBF SVM, C and gamma tuned per training fold (nested)"))
register(Row("svm_infold", "SVM, features selected in each training fold", "classical",
             "full feature release -> top-100 by ANOVA F inside each training fold", fit=_svm_fit,
             paper_row="SVM Baseline", note="not in the paper: removes the top-100 file's selection bias"))
register(Row("dl_baseline", "DL Baseline", "dl", "mel-spectrogram", fit=_mel_fit, build=_b_baseline,
             epochs=200, batch_size=150, learning_rate=1e-2, table1="DL Baseline"))
register(Row("baseline_gru", "Baseline with GRU", "dl", "mel-spectrogram", fit=_mel_fit, build=_b_gru,
             epochs=200, batch_size=150, learning_rate=1e-2, table1="Baseline with GRU"))
register(Row("crnn", "CRNN", "dl", "mel-spectrogram", fit=_mel_fit, build=_b_crnn,
             epochs=200, batch_size=50, learning_rate=1e-3, table1="CRNN"))
register(Row("hybrid", "Hybrid Augmented", "dl", "mel-spectrogram + handcrafted features",
             fit=_hybrid_fit, build=_b_hybrid, epochs=100, batch_size=300, learning_rate=1e-2,
             table1="Hybrid Augmented",
             note="CNN and DNN pre-trained with the DL baseline's settings, then frozen"))
register(Row("shortchunk", "ShortChunk CNN", "dl", "mel-spectrogram chunks (many-to-one)",
             fit=functools.partial(_chunk_fit, waves=False), build=_b_shortchunk,
             epochs=100, batch_size=50, learning_rate=1e-3, table1="ShortChunk CNN"))
register(Row("samplecnn", "Sample CNN", "dl", "waveform chunks (many-to-one)",
             fit=functools.partial(_chunk_fit, waves=True), build=_b_samplecnn,
             epochs=150, batch_size=50, learning_rate=1e-3, table1="Sample CNN"))



# =========================================================================== part 2 (Sec. 3.5-3.7)
# --------------------------------------------------------------------------- audio augmentation
def _audio_aug_mel_file(item, frames: int, key: str, seed: int) -> dict[str, np.ndarray]:
    """One audiomentations copy of one clip as a mel spectrogram (first ``frames`` frames),
    with the parameters drawn and the seconds the transform took."""
    from mer_utils import augment
    from mer_utils.features import FRONT_ENDS, spectrogram
    from mer_utils.features.frontends import prepare_clip

    path, clip_id = item
    fe = FRONT_ENDS["louro_mel"]
    y = prepare_clip(audio.load_audio(path, sr=SR), SR, fe, path)
    y = y[:(frames - 1) * fe.hop_length + fe.n_fft]          # what the first `frames` frames read
    t0 = time.perf_counter()
    z, _ = augment.augment_audio(y, SR, clip_id, key, seed=seed)
    secs = time.perf_counter() - t0
    return {"mel": spectrogram(z, SR, fe, clip=True, path=path)[:frames],
            "transform_seconds": np.float32(secs)}


def audio_augmented_mels(ctx, data: LouroData, rows: np.ndarray, frames: int, key: str, seed: int = 0):
    """(X (len(rows), frames, 128), owner rows, transform seconds per clip): one audiomentations
    copy (``key``: tfm / sb / rg) of each clip at ``rows`` — call it with a unit's training rows
    only. Cached per (clip, transform, its parameters and library version, seed, frames)."""
    from mer_utils import augment
    from mer_utils.cache import FeatureCache, cached_map, default_cache_root

    rows = np.asarray(rows, dtype=int)
    sub = data.df.iloc[rows]
    cache = FeatureCache(default_cache_root(ctx) / "features", "louro-audiomentations",
                         {"frames": frames, "seed": seed, "front_end": "louro_mel", "version": 1,
                          "transform": augment.transform_config(key)})
    items = list(zip(sub["path"].astype(str), sub["track_id"].astype(str)))
    res = cached_map(functools.partial(_audio_aug_mel_file, frames=frames, key=key, seed=seed), items,
                     ids=list(sub["track_id"].astype(str)), paths=list(sub["path"].astype(str)),
                     cache=cache, n_jobs=int(ctx.p.n_jobs), on_error="raise",
                     desc=f"{key} copies", progress=False)
    X = np.stack([v["mel"] for v in res.values]).astype(np.float32)
    secs = np.asarray([float(v["transform_seconds"]) for v in res.values])
    return X, rows.copy(), secs


def _audio_aug_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace, key: str) -> Fitted:
    """The DL baseline trained on its training clips plus one audiomentations copy of each
    (Sec. 3.6): copies made from the unit's training rows only, the test rows untouched."""
    from mer_utils import augment
    from mer_utils.training import Standardizer

    ok, why = augment.available()
    if not ok:
        raise NotRunnable(why)
    X = data.mel(cfg.input_frames)
    y = data.y
    trainer = _trainer(lambda: row.build(cfg, data, X.shape[1]), _recipe(cfg, row), row.key)

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        Xa, owner, secs = audio_augmented_mels(ctx, data, tr, X.shape[1], key, seed=cfg.aug_seed)
        if not np.isin(owner, tr).all() or np.isin(owner, te).any():
            raise RuntimeError("an augmented copy was made from a clip outside the training rows")
        X_tr = np.concatenate([X[tr], Xa])
        y_tr = np.concatenate([y[tr], y[owner]])
        scaler = Standardizer().fit(X_tr)
        hist = trainer.fit(scaler(X_tr), y_tr, seed=_unit_seed(ctx, split))
        P = trainer.predict(scaler(X[te]))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "n_train": len(tr), "n_augmented": len(Xa),
                                                    "transform": key,
                                                    "transform_seconds_per_clip": float(secs.mean())})
    return Fitted(fit_predict)


def augmentation_cost(ctx, data: LouroData, n_clips: int = 2, frames: int | None = None) -> pd.DataFrame:
    """Seconds per clip of each transform (uncached: decode + transform + mel), on the first
    ``n_clips`` clips — the cost a cold cache pays once per (clip, transform, seed)."""
    from mer_utils import augment
    from mer_utils.features import FRONT_ENDS

    frames = frames or data.mel_all.shape[1]
    recs = []
    for i in range(min(n_clips, len(data.df))):
        item = (str(data.df["path"].iloc[i]), str(data.ids[i]))
        for key in augment.AUDIO_TRANSFORMS:
            t0 = time.perf_counter()
            out = _audio_aug_mel_file(item, frames, key, 0)
            recs.append({"transform": f"{key} ({augment.TRANSFORM_NAMES[key]})", "clip": item[1],
                         "transform seconds": float(out["transform_seconds"]),
                         "decode + transform + mel seconds": time.perf_counter() - t0})
        t0 = time.perf_counter()
        _augmented_mel_file(item, frames, 0)
        total = time.perf_counter() - t0
        fe = FRONT_ENDS["louro_mel"]
        y = audio.load_audio(item[0], sr=SR)[:augment.input_needed((frames - 1) * fe.hop_length + fe.n_fft // 2, SR)]
        t0 = time.perf_counter()                     # the four transforms alone, on the same input
        for name in augment.HYBRID_TRANSFORMS:
            augment.augment(y, SR, item[1], name, seed=0)
        recs.append({"transform": "Hybrid: 4 copies (shift, pitch, stretch, gain)", "clip": item[1],
                     "transform seconds": time.perf_counter() - t0, "decode + transform + mel seconds": total})
    df = pd.DataFrame(recs)
    return df.groupby("transform", sort=False).mean(numeric_only=True).reset_index().assign(
        frames=frames, clips=min(n_clips, len(data.df)))


# --------------------------------------------------------------------------- the autoencoder (DeepSMOTE, AE + RF)
def _autoencoder_trainer(cfg: Config, shape: tuple[int, int], work: Workspace):
    """The run's autoencoder trainer for one input shape: MSE, Adam ``ae_lr``, ``ae_epochs``
    epochs of ``ae_batch`` (the released code's 100 / 150 / 2e-4), every epoch (no stop rule)."""
    from mer_utils.models.autoencoder import build_autoencoder
    from mer_utils.training import Recipe

    key = ("autoencoder", tuple(shape), cfg.ae_epochs, cfg.ae_batch, cfg.ae_lr, cfg.execution)
    if key not in work.trainers:
        recipe = Recipe(epochs=cfg.ae_epochs, batch_size=cfg.ae_batch, optimizer="adam", learning_rate=cfg.ae_lr,
                        loss="mse", metrics=(), execution=cfg.execution)
        work.trainers[key] = _trainer(lambda: build_autoencoder(shape)[0], recipe, "DeepSMOTE autoencoder")
    return work.trainers[key]


def unit_autoencoder(ctx, cfg: Config, data: LouroData, split, work: Workspace) -> dict[str, Any]:
    """The autoencoder of one unit, fitted on its training clips only (memoised in ``work`` per
    unit and configuration for the rows that share it): ``model`` (the trainer's autoencoder
    holding this unit's weights — see :func:`_unit_model`), ``weights``, the [-1, 1] scaling's
    centre / half-range, the training loss history."""
    from mer_utils.models.autoencoder import scale_11

    key = ("autoencoder", split.unit.repeat, split.unit.fold, cfg.input_frames, cfg.ae_epochs,
           cfg.ae_batch, cfg.ae_lr, int(ctx.seed))
    memo = work.autoencoders
    if key in memo:
        return memo[key]
    for old in [k for k in memo if k[1:3] != (0, 0)]:  # a few units' weights at a time (memory);
        if len(memo) < 4:                              # the first unit's stays for the figure
            break
        memo.pop(old)
    X = data.mel(cfg.input_frames)
    tr = split.train
    Xs, centre, half = scale_11(X[tr])
    trainer = _autoencoder_trainer(cfg, (X.shape[1], X.shape[2]), work)
    h = trainer.fit(Xs, Xs, seed=_unit_seed(ctx, split) + 7)
    memo[key] = {"trainer": trainer, "weights": trainer.model.get_weights(), "centre": centre, "half": half,
                 "loss": [float(v) for v in h["loss"]], "seconds": h["seconds"],
                 "latent": int(np.prod(trainer.model.get_layer("enc_flat").output.shape[1:])),
                 "input_values": int(X.shape[1] * X.shape[2])}
    return memo[key]


def _unit_model(ae: dict):
    """The trainer's autoencoder set to the unit's weights (another unit may have been fitted
    since); its encoder and decoder share those weights."""
    model = ae["trainer"].model
    model.set_weights(ae["weights"])
    return model


def _encode(ae: dict, X: np.ndarray, batch: int = 16) -> np.ndarray:
    from mer_utils.models.autoencoder import encode, scale_11

    Xs = np.stack([scale_11(x[None])[0][0] for x in X]) if len(X) else X
    return encode(_unit_model(ae), Xs, batch_size=batch)


def deepsmote_samples(ctx, cfg: Config, data: LouroData, split, work: Workspace | None = None,
                      ) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mels (n_new, frames, 128) in dB, labels, info): Borderline-SMOTE 2 in the unit's
    autoencoder latent space, decoded and mapped back to the training clips' dB range. The
    unit's autoencoder comes from ``work`` when this run fitted it (else it is fitted)."""
    from mer_utils.models.autoencoder import decode, unscale_11
    from mer_utils.training.deepsmote import borderline_smote2

    work = work if work is not None else Workspace()
    ae = unit_autoencoder(ctx, cfg, data, split, work)
    X = data.mel(cfg.input_frames)
    tr = split.train
    Z = _encode(ae, X[tr])
    Zn, yn = borderline_smote2(Z, data.y[tr], cfg.smote_per_class, seed=_unit_seed(ctx, split))
    dec = decode(_unit_model(ae), Zn, batch_size=16)
    info = {"n_synthetic": int(len(Zn)), "per_class": np.bincount(yn, minlength=4).tolist() if len(yn) else [0] * 4,
            "latent_values": ae["latent"], "input_values": ae["input_values"], "ae_loss": ae["loss"][-1:],
            "ae_seconds": ae["seconds"]}
    return unscale_11(dec, ae["centre"], ae["half"]), yn, info


def _deepsmote_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """The DL baseline on the training clips plus DeepSMOTE samples (Sec. 3.6)."""
    from mer_utils.training import Standardizer

    X = data.mel(cfg.input_frames)
    y = data.y
    trainer = _trainer(lambda: row.build(cfg, data, X.shape[1]), _recipe(cfg, row), row.key)

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        Xs, ys, info = deepsmote_samples(ctx, cfg, data, split, work)
        X_tr, y_tr = np.concatenate([X[tr], Xs]), np.concatenate([y[tr], ys])
        scaler = Standardizer().fit(X_tr)
        hist = trainer.fit(scaler(X_tr), y_tr, seed=_unit_seed(ctx, split))
        P = trainer.predict(scaler(X[te]))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"history": hist, "n_train": len(tr), **info})
    return Fitted(fit_predict)


def _ae_rf_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """Autoencoder latent codes (the unit's DeepSMOTE encoder) -> Random Forest, default
    parameters (Sec. 3.5). Test clips are encoded by the encoder fitted on the training rows."""
    from sklearn.ensemble import RandomForestClassifier

    X = data.mel(cfg.input_frames)
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        ae = unit_autoencoder(ctx, cfg, data, split, work)
        Z_tr, Z_te = _encode(ae, X[tr]), _encode(ae, X[te])
        rf = RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=_unit_seed(ctx, split),
                                    n_jobs=int(ctx.p.n_jobs)).fit(Z_tr, y[tr])
        P = np.zeros((len(te), len(LABELS)), np.float32)
        P[:, rf.classes_.astype(int)] = rf.predict_proba(Z_te)
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"latent_values": ae["latent"], "ae_seconds": ae["seconds"]})
    return Fitted(fit_predict)


def _openl3_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """OpenL3 (or the recorded stand-in) embedding matrix per clip, pooled over time, ->
    Random Forest with default parameters (Sec. 3.5)."""
    from sklearn.ensemble import RandomForestClassifier

    from mer_utils.embeddings import openl3

    def make():
        try:
            S, desc, real = openl3.embedding_sequences(data.df, ctx=ctx)
        except Exception as exc:                      # no network weights of any kind here
            raise NotRunnable(f"no OpenL3 and no stand-in embedding: {exc}") from exc
        return openl3.pool(S), desc, real
    F, desc, real = work.memo("openl3", make)
    label = "" if real else "substitute: musicnn MSD sequence, OpenL3 absent"
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        rf = RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=_unit_seed(ctx, split),
                                    n_jobs=int(ctx.p.n_jobs)).fit(F[tr], y[tr])
        P = np.zeros((len(te), len(LABELS)), np.float32)
        P[:, rf.classes_.astype(int)] = rf.predict_proba(F[te])
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"embedding": desc, "features": int(F.shape[1])})
    return Fitted(fit_predict, label)


# --------------------------------------------------------------------------- transfer learning
def _artists_mel_file(path: str) -> np.ndarray:
    from mer_utils.models.artists_cnn import ARTISTS_FRAMES, ARTISTS_SR, mel_22k

    M = mel_22k(audio.load_audio(path, sr=ARTISTS_SR), ARTISTS_SR)
    n = len(M) // ARTISTS_FRAMES
    return M[:n * ARTISTS_FRAMES].reshape(n, ARTISTS_FRAMES, M.shape[1])


def _artists_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """Park et al.'s artist CNN, released weights loaded and frozen, a new 4-quadrant head
    (Sec. 3.7). Without the weights file the row is not run: trained from scratch it would be
    another small CNN, not the transfer the paper measures."""
    from pathlib import Path as _P

    from mer_utils.cache import cached_map
    from mer_utils.evaluation import mean_probability
    from mer_utils.models import artists_cnn
    from mer_utils.training import Standardizer

    path = _P(cfg.artists_weights).expanduser() if cfg.artists_weights else artists_cnn.default_path()
    if not path.exists():
        ctx.manifest.substitute("Artists CNN pretrained weights (Park et al. 2018)", "none: row not run",
                                f"weights absent at {path.name} (not reachable offline)")
        raise NotRunnable(f"weights absent: Park et al.'s artist-CNN weights are not at "
                          f"<MER_CACHE>/weights/artists_cnn/{path.name} (not reachable offline)")
    res = cached_map(_artists_mel_file, list(data.df["path"].astype(str)), ids=list(data.ids),
                     cache=None, n_jobs=int(ctx.p.n_jobs), on_error="raise", progress=False)
    per_clip = [v.astype(np.float32) for v in res.values]
    owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(per_clip)])
    Xc = np.concatenate(per_clip)
    y = data.y

    def build():
        m = artists_cnn.build_artists_cnn(n_classes=len(LABELS), frozen=True)
        artists_cnn.load_keras2_h5(m, path)
        return m
    trainer = _trainer(build, _recipe(cfg, row), row.key)

    def fit_predict(split) -> UnitResult:
        tr = _pick_chunks(owner, split.train, cfg.train_chunks_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        scaler = Standardizer().fit(Xc[tr])
        hist = trainer.fit(scaler(Xc[tr]), y[owner[tr]], seed=_unit_seed(ctx, split))
        clips, P = mean_probability(owner[te], trainer.predict(scaler(Xc[te])))
        rows = clips.astype(int)
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "weights": path.name})
    return Fitted(fit_predict)


def _musicnn_patch_file(path: str) -> np.ndarray:
    from mer_utils.models import musicnn

    return musicnn.patches(musicnn.log_mel(audio.load_audio(path, sr=musicnn.SR)))





def _crnn_mtat_fit(ctx, cfg: Config, data: LouroData, row: Row, work: Workspace) -> Fitted:
    """Won et al.'s CRNN pre-trained on MagnaTagATune, a new 4-quadrant head, fine-tuned with
    the paper's schedule (Adam 1e-3 to epoch 80, then SGD 1e-4 / 1e-5 at 100 / 1e-6 at 120;
    batch 16: :data:`mer_utils.training.WON_TRANSFER`). The ``.pth`` is converted to the Keras
    CRNN when present; otherwise the compendium's MTT-pretrained network (musicnn MTT, ported
    to Keras) stands in, fine-tuned the same way on 3-s patches (the clip's decision: mean of
    its patches' probabilities)."""
    from pathlib import Path as _P

    import keras

    from mer_utils.evaluation import mean_probability
    from mer_utils.models import won_torch
    from mer_utils.training import WON_TRANSFER, Standardizer

    if cfg.transfer_train not in ("all", "head"):
        raise ValueError(f"transfer_train must be 'all' or 'head', not {cfg.transfer_train!r}")
    y = data.y
    recipe = _recipe(cfg, row, schedule=WON_TRANSFER)
    path = _P(cfg.crnn_mtat_weights).expanduser() if cfg.crnn_mtat_weights else won_torch.default_path()
    if path.exists():
        sd = won_torch.load_state_dict(path)
        X = data.mel(cfg.input_frames)

        def build_won():
            model = _b_crnn(cfg, data, X.shape[1])
            won_torch.convert_state_dict(model, sd)
            if cfg.transfer_train == "head":               # the converted body frozen, the new head trained
                for layer in model.layers[:-1]:
                    layer.trainable = False
            return model
        won = _trainer(build_won, recipe, row.key)

        def fit_predict(split) -> UnitResult:
            tr, te = split.train, split.test
            scaler = Standardizer().fit(X[tr])
            hist = won.fit(scaler(X[tr]), y[tr], seed=_unit_seed(ctx, split))
            P = won.predict(scaler(X[te]))
            return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                              info={"history": hist, "weights": path.name})
        return Fitted(fit_predict)

    from mer_utils.cache import FeatureCache, cached_map, default_cache_root
    from mer_utils.models import musicnn

    try:
        npz = musicnn.ensure_musicnn_weights("MTT_musicnn", download=False)
    except Exception as exc:
        raise NotRunnable(f"neither Won's CRNN weights ({path.name}) nor the musicnn MTT stand-in: {exc}") from exc
    ctx.manifest.substitute("CRNN pre-trained on MagnaTagATune (Won et al., best_model.pth)",
                            "musicnn pre-trained on MagnaTagATune (musicnn==0.1.0 wheel, ported to Keras), "
                            "penultimate layer + new 4-quadrant head, "
                            + ("body frozen, head trained on 3-s patches" if cfg.transfer_train == "head"
                               else "fine-tuned on 3-s patches"),
                            f"Won's CRNN weights absent at <MER_CACHE>/weights/won_crnn_mtat/{path.name}")
    label = ("substitute: musicnn MTT, Won's CRNN weights absent"
             + ("; body frozen, head trained" if cfg.transfer_train == "head" else ""))
    cache = FeatureCache(default_cache_root(ctx) / "features", "louro-musicnn-patches",
                         {"version": 1, "port": musicnn.PORT_VERSION})
    res = cached_map(_musicnn_patch_file, list(data.df["path"].astype(str)), ids=list(data.ids),
                     paths=list(data.df["path"].astype(str)), cache=cache, n_jobs=int(ctx.p.n_jobs),
                     on_error="raise", desc="musicnn patches", progress=False)
    per_clip = [v.astype(np.float32) for v in res.values]
    owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(per_clip)])
    Xp = np.concatenate(per_clip)
    arrays = dict(np.load(npz))

    def build():
        base = musicnn.build("MTT_musicnn")
        musicnn.load_npz_weights(base, arrays)
        feat = base.get_layer(musicnn.BACKEND_LAYERS[-1]).output
        out = keras.layers.Dense(len(LABELS), activation="softmax", name="quadrants")(feat)
        return keras.Model(base.inputs, out, name="musicnn_mtt_transfer")

    head_only = cfg.transfer_train == "head"
    if head_only:
        # A frozen body maps each patch to the same vector in every unit: compute the vectors of
        # the patches any unit reads once (inference mode, as a frozen body runs), train the head.
        used = np.union1d(_pick_chunks(owner, np.arange(len(y)), cfg.transfer_patches_per_clip),
                          _pick_chunks(owner, np.arange(len(y)), cfg.test_chunks_per_clip))

        def body_vectors():
            keras.backend.clear_session()
            base = build()
            body = keras.Model(base.inputs, base.get_layer(musicnn.BACKEND_LAYERS[-1]).output)
            F = np.zeros((len(Xp), body.output_shape[-1]), np.float32)
            # one patch per eager call: musicnn's wide front-end maps cost ~50 MB a patch, and no
            # traced predict graph is kept
            for i in used:
                F[i] = keras.ops.convert_to_numpy(body(Xp[i:i + 1], training=False))[0]
            del base, body
            keras.backend.clear_session()
            return F
        Fp = work.memo(("musicnn_mtt_body", npz.name, cfg.transfer_patches_per_clip, cfg.test_chunks_per_clip),
                       body_vectors)

        def build_head():
            inp = keras.Input((Fp.shape[1],), name="musicnn_mtt_penultimate")
            return keras.Model(inp, keras.layers.Dense(len(LABELS), activation="softmax", name="quadrants")(inp),
                               name="musicnn_mtt_head")
        trainer, inputs = _trainer(build_head, recipe, row.key), Fp
    else:
        trainer, inputs = _trainer(build, recipe, row.key), Xp

    def fit_predict(split) -> UnitResult:
        tr = _pick_chunks(owner, split.train, cfg.transfer_patches_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        hist = trainer.fit(inputs[tr], y[owner[tr]], seed=_unit_seed(ctx, split))
        clips, P = mean_probability(owner[te], trainer.predict(inputs[te]))
        rows = clips.astype(int)
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "network": "musicnn MTT (substitute)",
                                                    "trained": "head only" if head_only else "all layers",
                                                    "n_train_patches": len(tr), "n_test_patches": len(te)})
    return Fitted(fit_predict, label)


def _b_artists(cfg, data, frames):
    from mer_utils.models.artists_cnn import build_artists_cnn
    return build_artists_cnn((frames, 128), len(LABELS), frozen=True)


_AUG_NOTE = "one audiomentations copy per training clip (library default ranges, p=1), cached"
register(Row("baseline_tfm", "Baseline + TFM", "dl", "mel-spectrogram + time-frequency-masked copies",
             fit=functools.partial(_audio_aug_fit, key="tfm"), build=_b_baseline, epochs=200, batch_size=150,
             learning_rate=1e-2, table1="Baseline + TFM", note=_AUG_NOTE + "; TimeMask + BandStopFilter"))
register(Row("baseline_sb", "Baseline + SB", "dl", "mel-spectrogram + seven-band-EQ copies",
             fit=functools.partial(_audio_aug_fit, key="sb"), build=_b_baseline, epochs=200, batch_size=150,
             learning_rate=1e-2, table1="Baseline + SB", note=_AUG_NOTE + "; SevenBandParametricEQ"))
register(Row("baseline_rg", "Baseline + RG", "dl", "mel-spectrogram + random-gain copies",
             fit=functools.partial(_audio_aug_fit, key="rg"), build=_b_baseline, epochs=200, batch_size=150,
             learning_rate=1e-2, table1="Baseline + RG", note=_AUG_NOTE + "; Gain -12..+12 dB"))
register(Row("baseline_deepsmote", "Baseline + DeepSMOTE", "dl", "mel-spectrogram + decoded Borderline-SMOTE 2 samples",
             fit=_deepsmote_fit, build=_b_baseline, epochs=200, batch_size=150, learning_rate=1e-2,
             note="not in Table 1: the DL baseline's settings; autoencoder + SMOTE fitted on the training clips"))
register(Row("openl3_rf", "OpenL3 + RF", "embedding", "OpenL3 embedding matrix (mean, std over time)",
             fit=_openl3_fit, paper_row="OpenL3", note="scikit-learn RandomForest, default parameters"))
register(Row("ae_rf", "Autoencoder embeddings + RF", "embedding", "autoencoder latent codes (~60k values at 942 frames)",
             fit=_ae_rf_fit, paper_row="Autoencoder",
             note="the unit's DeepSMOTE autoencoder (training clips only) -> RandomForest, default parameters"))
register(Row("artists_cnn", "Artists CNN", "dl", "mel-spectrogram chunks, 22.05 kHz (many-to-one)",
             fit=_artists_fit, build=_b_artists, epochs=200, batch_size=100, learning_rate=1e-2,
             optimizer="adam", table1="Artists CNN", note="Park et al.'s weights frozen, new 4-quadrant head"))
register(Row("crnn_mtat", "CRNN Pre-trained MTAT", "dl", "mel-spectrogram", fit=_crnn_mtat_fit, build=_b_crnn,
             epochs=200, batch_size=16, learning_rate=None, optimizer="schedule", table1="CRNN MTAT",
             note="Won's CRNN weights (MTAT), new head, Adam 1e-3 -> SGD 1e-4/1e-5/1e-6 at epochs 80/100/120"))






def _paper_cells(rows: Sequence[str] = ALL_ROWS) -> tuple[tuple[str, str, str], ...]:
    cells = []
    for key in rows:
        row = ROWS[key]
        if row.kind == "dl" and row.table1:
            metrics = list(input_size(Config.for_profile("full"), row, paper=True))
            metrics += (["input_features"] if key == "hybrid" else []) + ["epochs", "batch_size"]
            metrics += ["learning_rate"] if row.learning_rate is not None else []
            cells += [("1", row.table1, m) for m in metrics]
        if key != "svm_infold":
            cells += [(f"3/{col}", row.table3, m) for col in COLUMNS for m in ("precision", "recall", "f1")]
    return tuple(dict.fromkeys(cells))


PAPER_CELLS: tuple[tuple[str, str, str], ...] = _paper_cells()
"""The (table, row, metric) cells Tables 1 and 3 compare for the rows of parts 1 and 2
(``tests/test_paper_values.py``), Table 3 in its three data-set columns (a run fills the
column its clips are, :func:`paper_column`; the others show the paper alone); the in-fold selection row is ours alone, DeepSMOTE has no
Table 1 row and CRNN MTAT no single learning rate."""


def _row_config(cfg: Config, row: Row, data: LouroData) -> dict[str, Any]:
    """Everything that changes a row's numbers (its run's configuration hash)."""
    common = {"row": row.key, "corpus": data.corpus, "n_clips": len(data.df)}
    if row.kind == "classical":
        return dict(common, features=data.features_desc, full=data.full_desc, C=list(cfg.svm_C),
                    gamma=list(cfg.svm_gamma), inner_folds=cfg.inner_folds, select_k=cfg.select_k)
    if row.key in PART2_ROWS:
        common = dict(common, aug_seed=cfg.aug_seed, ae=(cfg.ae_epochs, cfg.ae_batch, cfg.ae_lr),
                      smote=cfg.smote_per_class, rf_trees=cfg.rf_trees, patches=cfg.transfer_patches_per_clip,
                      transfer_train=cfg.transfer_train,
                      weights=(cfg.crnn_mtat_weights, cfg.artists_weights))
    if row.key == "ae_rf":
        common = dict(common, trainer="engine")        # the autoencoder trains through training.Trainer
    if row.kind == "embedding":
        return dict(common, input_frames=cfg.input_frames, execution=cfg.execution)
    return dict(common, trainer="engine", epochs=cfg.epochs(row), batch_size=cfg.row_batch_size(row),
                lr=cfg.row_learning_rate(row), optimizer=cfg.row_optimizer(row), stop=cfg.stop_train_accuracy, input_frames=cfg.input_frames,
                train_chunks=cfg.train_chunks_per_clip, test_chunks=cfg.test_chunks_per_clip,
                decision=cfg.chunk_decision, gru_units=cfg.gru_units, micro_batch=cfg.micro_batch,
                execution=cfg.execution,
                features=(data.full_desc, data.features_desc) if row.key == "hybrid" else None)


# =========================================================================== running
def run_rows(ctx, cfg: Config, data: LouroData, splits, rows: Sequence[str] = ALL_ROWS,
             work: Workspace | None = None) -> pd.DataFrame:
    """Run every row (resumable per unit) and return one status line per row: units, seconds,
    ``run`` / ``not runnable`` with the reason, and the row's label (a substitution, from its
    :class:`~.rows.Fitted`). ``work`` (a :class:`Workspace`, made when not given) holds what
    the rows derive once and share (chunks, embeddings, the units' autoencoders): pass the
    same one to :func:`mer_utils.papers.louro.figures.deepsmote_figure` to reuse its units."""
    work = work if work is not None else Workspace()
    out = []
    for key in rows:
        row = ROWS[key]
        units = list(splits) if row.kind == "classical" or cfg.dl_units is None else list(splits)[:cfg.dl_units]
        if key in PART2_ROWS and cfg.part2_units is not None:
            units = list(splits)[:cfg.part2_units]
        t0 = time.perf_counter()
        reason = dict(cfg.full_only).get(key)
        if reason:
            out.append({"row": key, "method": row.name, "status": "full profile only", "reason": reason,
                        "units": 0, "seconds": 0.0, "label": ""})
            ctx.manifest.skip(f"Table 3 row {row.name}", f"full profile only: {reason}")
            continue
        try:
            fitted = row.fit(ctx, cfg, data, row, work)
        except NotRunnable as exc:
            out.append({"row": key, "method": row.name, "status": "not runnable", "reason": str(exc),
                        "units": 0, "seconds": 0.0, "label": ""})
            ctx.manifest.skip(f"Table 3 row {row.name}", str(exc))
            continue
        run_protocol(ctx.results_dir, row.experiment, units, config=_row_config(cfg, row, data),
                     fit_predict=fitted.fit_predict, rows=data.inputs_of(key), meta={"paper": PAPER, "row": row.name, "corpus": data.corpus},
                     progress=row.kind == "dl")
        out.append({"row": key, "method": row.name, "status": "run", "reason": "", "units": len(units),
                    "seconds": round(time.perf_counter() - t0, 1), "label": fitted.label})
    return pd.DataFrame(out)


