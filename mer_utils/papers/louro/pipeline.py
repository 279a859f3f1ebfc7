"""Louro, Redinho, Malheiro, Paiva & Panda, "Exploring deep learning methodologies for music
emotion recognition" — the methods comparison on 4QAED (notebook ``50_louro_methods``).

The paper compares classical and deep methods for 4-quadrant MER under one protocol: "a
10-fold and 10-repetition stratified cross-validation strategy [...] a total of 100 different
train-test splits", precision / recall / F1 (macro) per split, mean over the splits (its
Table 3). This module holds the configuration per profile, the **row registry** (one entry
per Table 3 row: name, inputs, builder, the paper's training settings, how a unit is fitted)
and the steps the notebook calls. Part 1 registers the SVM baseline (+ the in-fold selection
variant), the DL baseline, the baseline with GRU, the CRNN, the Hybrid (Augmented), the
ShortChunk CNN and the SampleCNN; part 2 adds its rows with :func:`register`.

Protocol (ours, stricter than the released code):

* one set of saved splits (``repeated_kfold(10, 10)``, stratified on quadrants) shared by
  every row, so every row is evaluated on the same 100 units and rows are paired;
* every fitted statistic — scaling, feature selection, SVM hyperparameters (nested grid search
  on the training rows), augmented copies — comes from the unit's training rows only;
* DL rows stop "when the training set accuracy reached [...] 90%" (no validation data at all);
  the released code passed the test fold to Keras as ``validation_data`` and chose its
  hyperparameters by the same CV's test scores — neither happens here.

Profiles: ``full`` is the paper (10 x 10 units for every row, Table 1 epochs, 942-frame input);
``demo`` keeps the SVM rows at 10 x 10 and runs the DL rows on the first units of the same
splits, with capped epochs and a shorter input (stated in every caption); ``smoke`` is a
plumbing check.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.experiment import Fidelity, PaperConfig, UnitResult, fidelity_table, run_protocol, setting

PAPER = "louro"
LABELS = ("Q1", "Q2", "Q3", "Q4")
DATASET = "Original-4QAED"          # the paper's data set our runs stand beside (Table 3 columns)
SR = 16000
CHUNK_SAMPLES = 59049               # 3^10 samples: SampleCNN input and ShortChunk chunk


# =========================================================================== configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    # protocol
    folds: int = setting(10, paper="'10-fold and 10-repetition stratified cross-validation' (Sec. 5)")
    repeats: int = setting(10, paper="10 repetitions: 100 train-test splits (Sec. 5)")
    split_seed: int = setting(0, paper="not given", note="seed of the saved splits")
    dl_units: int | None = setting(None, paper="all 100 splits for every method",
                                   note="DL rows run on the first N units of the shared splits (None: all)")
    part2_units: int | None = setting(None, paper="all 100 splits for every method",
                                      note="part-2 rows (augmentation, DeepSMOTE, embeddings, transfer) run on "
                                           "the first N units (None: as the DL rows)")
    # DL training
    max_epochs: int | None = setting(None, paper="Table 1 epochs per row (200 / 100 / 150)",
                                     note="cap on every DL row's Table 1 epochs (None: the paper's)")
    stop_train_accuracy: float = setting(0.9, paper="'halting training when the training set accuracy "
                                                    "reached [...] 90%' (Sec. 3.1)")
    input_frames: int = setting(942, paper="mel 942 x 128 (~30 s), 16 kHz, librosa defaults (Table 1)",
                                note="first N frames of the 942 kept under demo/smoke")
    train_chunks_per_clip: int | None = setting(None, paper="all ~3.5-s segments of each clip (Sec. 3.4)",
                                                note="chunks per training clip for ShortChunk/SampleCNN (None: all, 8 per 30 s)")
    test_chunks_per_clip: int | None = setting(None, paper="all segments of a test clip combined",
                                               note="chunks per test clip (None: all)")
    chunk_decision: str = setting("mean", paper="predictions of a sample's segments 'combined' (many-to-one)",
                                  note="mean probability (Won et al. average chunk outputs); 'vote' = majority")
    micro_batch: int | None = setting(None, paper="— (Table 1 batch sizes on a 16-GB GPU)",
                                      note="at most this many samples per forward pass; the Table 1 batch is kept "
                                           "by accumulating gradients (memory cap for 2-core runs)")
    execution: str = setting("xla", paper="— (TensorFlow)",
                             note="'xla' (Keras jit_compile='auto'), 'graph' (no XLA) or 'eager': for a few "
                                  "epochs on a CPU, compiling costs more than it saves (not under JAX: "
                                  "always 'xla' there, training.execution_kwargs)")
    gru_units: int = setting(32, paper="'two Gated Recurrent Units' (size not given)",
                             note="Choi et al. 2017's CRNN size; the GRUs run over the conv map's time axis")
    # classical rows
    svm_C: tuple = setting((0.1, 1.0, 10.0, 100.0), paper="SVM 'fine-tuned' per data set (grid not given)",
                           note="RBF SVM grid, chosen by inner 5-fold CV on each training fold")
    svm_gamma: tuple = setting((0.001, 0.01, 0.1), paper="not given", note="RBF gamma grid")
    inner_folds: int = setting(5, paper="not given (tuned on the full data in the released code)",
                               note="inner stratified folds of the nested grid search")
    select_k: int = setting(100, paper="top 100 features 'ranked using a feature selection algorithm' "
                                       "(Panda et al.: ReliefF, on all 900 songs)",
                            note="in-fold variant: ANOVA-F top k inside each training fold (no ReliefF in scikit-learn)")
    full_features_file: str = setting("", paper="the 1714-feature release of 4QAED",
                                      note="path of that CSV (SongID, features, Quadrant); '' = search beside the 4Q data")
    demo_sources: tuple = setting(("4q",), paper="4QAED: 30-s clips",
                                  note="demo corpus only: its 4Q-like source (30-s clips)")
    # part 2: augmentation, DeepSMOTE, embeddings, transfer
    aug_seed: int = setting(0, paper="not given",
                            note="seed of the audiomentations copies (one copy per training clip, cached)")
    ae_epochs: int = setting(100, paper="not given (released code: 100 epochs, batch 150, Adam 2e-4)",
                             note="autoencoder epochs per unit (fitted on the unit's training clips)")
    ae_batch: int = setting(150, paper="not given (released code: 150)", note="autoencoder batch size")
    ae_lr: float = setting(2e-4, paper="not given (released code: Adam 2e-4)", note="autoencoder learning rate")
    smote_per_class: float = setting(1.0, paper="Borderline_SMOTE2, number generated not given",
                                     note="synthetic samples per class = this x the class's training count")
    rf_trees: int = setting(100, paper="scikit-learn RF 'default parameters'",
                            note="RandomForestClassifier n_estimators (scikit-learn's default: 100)")
    transfer_patches_per_clip: int | None = setting(None, paper="— (CRNN MTAT reads the whole 30-s clip)",
                                                    note="3-s patches per training clip for the musicnn MTT "
                                                         "stand-in (None: all ten)")
    transfer_train: str = setting("all", paper="pre-trained CRNN 'fine-tuned' with a new output layer (Sec. 3.7)",
                                  note="'all': every layer fine-tuned; 'head': the pre-trained body frozen, only the "
                                       "new 4-quadrant head trained (the body's vectors computed once per patch)")
    crnn_mtat_weights: str = setting("", paper="Won et al.'s CRNN trained on MTAT (best_model.pth)",
                                     note="path of that file; '' = <MER_CACHE>/weights/won_crnn_mtat/best_model.pth")
    artists_weights: str = setting("", paper="Park et al.'s released Keras weights",
                                   note="path of the .h5; '' = <MER_CACHE>/weights/artists_cnn/weights.h5")

    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(folds=2, repeats=2, dl_units=1, max_epochs=1, input_frames=96,
                      train_chunks_per_clip=1, test_chunks_per_clip=1, svm_C=(1.0, 10.0),
                      svm_gamma=(0.01,), inner_folds=2, micro_batch=5, execution="eager",
                      ae_epochs=1, ae_batch=16, rf_trees=20, transfer_patches_per_clip=1, transfer_train="head"),
        "demo": dict(dl_units=2, max_epochs=1, input_frames=128, train_chunks_per_clip=1,
                     test_chunks_per_clip=2, svm_C=(1.0, 10.0, 100.0), svm_gamma=(0.001, 0.01),
                     inner_folds=3, micro_batch=5, execution="graph",
                     ae_epochs=1, ae_batch=16, smote_per_class=0.5, part2_units=1, transfer_patches_per_clip=1,
                     transfer_train="head"),
        "full": {},
    }

    def epochs(self, row: "Row") -> int:
        """A DL row's epochs under this profile: Table 1's, capped by ``max_epochs``."""
        return int(row.epochs if self.max_epochs is None else min(row.epochs, self.max_epochs))


# =========================================================================== the row registry
@dataclasses.dataclass(frozen=True)
class Row:
    """One Table 3 row: what it is, its inputs, how it is built and trained (Table 1).

    ``fit`` is ``fit(ctx, cfg, data, row) -> fit_predict(split) -> UnitResult`` (or raises
    :class:`NotRunnable` with the reason). ``build`` (DL rows) is ``build(cfg, data, frames)
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


def register(row: Row) -> Row:
    """Add (or replace) a row of the registry; returns it."""
    ROWS[row.key] = row
    return row


class NotRunnable(RuntimeError):
    """A row that cannot run on the data at hand (the reason is shown in Table 3)."""


# =========================================================================== data
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
    _cache: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def ids(self) -> np.ndarray:
        return self.df["track_id"].astype(str).to_numpy()

    @property
    def y(self) -> np.ndarray:
        return self.df["quadrant"].map({q: i for i, q in enumerate(LABELS)}).to_numpy()

    def mel(self, frames: int) -> np.ndarray:
        """The clips' mel spectrograms cut to their first ``frames`` frames."""
        if frames > self.mel_all.shape[1]:
            raise ValueError(f"input_frames {frames} > the front end's {self.mel_all.shape[1]}")
        return self.mel_all[:, :frames]


def _find_full_features(cfg: Config, fourq_root: Path | None) -> Path | None:
    if cfg.full_features_file:
        p = Path(cfg.full_features_file).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"full_features_file {p} does not exist")
        return p
    if fourq_root is None:
        return None
    for base in (fourq_root, fourq_root.parent):
        for pattern in ("*1714*.csv", "*all_features*.csv", "*full_features*.csv", "*features_all*.csv"):
            hits = sorted(base.glob(pattern)) + sorted(base.glob(f"*/{pattern}"))
            if hits:
                return hits[0]
    return None


def load_data(ctx, cfg: Config) -> LouroData:
    """The 4Q clips (real under the data root, else the demo corpus's 4Q-like source), their
    mel spectrograms and feature tables, aligned on one set of rows.

    Real 4Q: the top-100 release (``top100_features.csv``) for the SVM baseline; the 1714-feature
    release when found (``cfg.full_features_file`` or a ``*1714*.csv``-like file beside the data)
    for the in-fold selection variant and the Hybrid (else the Hybrid uses the top-100,
    recorded as a substitution). An expanded 4Q set (New-4QAED) in the same layout loads the
    same way. Demo corpus: no feature release exists, so the compendium's ``emotion`` set
    stands in for the 1714 features and its 100 best features by ANOVA F **chosen on all
    clips** stand in for the top-100 release (reproducing how that file was made).
    """
    from mer_utils.datasets import select_corpus
    from mer_utils.datasets.fourq import load_top100, top100_path
    from mer_utils.features import extract_features, extract_spectrograms

    df, desc = select_corpus(ctx, "quadrant", sources=tuple(cfg.demo_sources))
    real = bool((df["dataset"] != "demo").any())
    root = ctx.datasets().get("4q") if real else None
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
        fp = _find_full_features(cfg, root)
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
    return LouroData(df=kept, corpus=f"{desc}; {len(kept)} used", real=real, features=features,
                     features_desc=fdesc, full_features=full, full_desc=full_desc, mel_all=X)


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


# =========================================================================== inputs
def _chunk_mels(ctx, data: LouroData):
    """(X (n_chunks, 116, 128), owner row per chunk): non-overlapping 59,049-sample chunks."""
    if "chunk_mels" not in data._cache:
        from mer_utils.features import extract_segments

        sec = CHUNK_SAMPLES / SR
        X, seg, kept = extract_segments(data.df, "louro_mel", seconds=sec, hop_seconds=sec, ctx=ctx)
        if len(kept) != len(data.df) or not (kept["track_id"].astype(str).to_numpy() == data.ids).all():
            raise RuntimeError("a clip is too short for one 59,049-sample chunk; drop it from the corpus")
        data._cache["chunk_mels"] = (X, seg["row"].to_numpy())
    return data._cache["chunk_mels"]


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


def _chunk_waves(ctx, data: LouroData):
    """(X: 59,049-sample chunks at 16 kHz, gathered per unit; owner row per chunk)."""
    if "chunk_waves" not in data._cache:
        from mer_utils.cache import cached_map

        res = cached_map(_wave_chunks_file, list(data.df["path"].astype(str)), ids=list(data.ids),
                         paths=list(data.df["path"].astype(str)), cache=None,
                         n_jobs=int(ctx.p.n_jobs), on_error="raise", desc="waveform chunks",
                         progress=False)
        X = _Chunks([v.astype(np.float32, copy=False) for v in res.values])
        data._cache["chunk_waves"] = (X, X.index[:, 0])
    return data._cache["chunk_waves"]


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


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1 over the classes present in ``y_true`` or ``y_pred`` — what scikit-learn's
    ``f1_score(average="macro")`` (the ``f1_macro`` scorer) returns, without its per-call
    input validation (half the time of a nested grid search on small folds)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.union1d(y_true, y_pred)
    f1 = []
    for c in classes:
        tp = np.sum((y_true == c) & (y_pred == c))
        denom = np.sum(y_true == c) + np.sum(y_pred == c)
        f1.append(2.0 * tp / denom if denom else 0.0)
    return float(np.mean(f1))


def tune_svm(X: np.ndarray, y: np.ndarray, split, *, C: Sequence[float], gamma: Sequence[float],
             k: int = 5, select_k: int | None = None, seed: int = 0):
    """Nested grid search of an RBF SVM on ``split.train`` only; refit there. Returns
    ``(predict(rows) -> (scores, decisions), best_params, inner_scores)``.

    The candidates are scored like :func:`mer_utils.evaluation.tune` scores a
    ``StandardScaler [-> SelectKBest(f_classif)] -> SVC`` pipeline (inner stratified folds
    from :func:`~mer_utils.evaluation.inner_cv`, macro F1, first best on ties) and pick the
    same parameters, but the scaler and the selector are fitted once per inner fold instead
    of once per candidate — the same numbers at a tenth of the time. No row of
    ``split.test`` is ever read: scaling, selection and every fit use training rows only.
    """
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mer_utils.evaluation import inner_cv

    def prep(rows):
        steps = [StandardScaler().fit(X[rows])]
        if select_k is not None:
            steps.append(SelectKBest(f_classif, k=min(select_k, X.shape[1])).fit(
                steps[0].transform(X[rows]), y[rows]))

        def apply(Z):
            for st in steps:
                Z = st.transform(Z)
            return Z
        return apply

    grid = [(c, g) for c in C for g in gamma]          # C outer, gamma inner (ParameterGrid order)
    scores = np.zeros((len(grid),))
    folds = inner_cv(split, y, k=k, seed=seed)
    for a, b in folds:
        f = prep(a)
        Za, Zb = f(X[a]), f(X[b])
        for i, (c, g) in enumerate(grid):
            pred = SVC(kernel="rbf", C=c, gamma=g).fit(Za, y[a]).predict(Zb)
            scores[i] += macro_f1(y[b], pred) / len(folds)
    best = int(np.flatnonzero(scores == scores.max())[0])
    c, g = grid[best]
    f = prep(split.train)
    svm = SVC(kernel="rbf", C=c, gamma=g).fit(f(X[split.train]), y[split.train])

    def predict(rows):
        Z = f(X[rows])
        return svm.decision_function(Z), svm.predict(Z)
    return predict, {"C": c, "gamma": g}, dict(zip(map(str, grid), scores.round(4).tolist()))


def _svm_fit(ctx, cfg: Config, data: LouroData, row: Row):
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
            predict, best, _ = tune_svm(X, y, split, C=cfg.svm_C, gamma=cfg.svm_gamma, k=cfg.inner_folds,
                                        select_k=cfg.select_k if row.key == "svm_infold" else None,
                                        seed=_unit_seed(ctx, split))
            scores, pred = predict(split.test)
        te = split.test
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=scores, labels=list(LABELS),
                          y_pred=pred, info={"best_params": best})
    return fit_predict


def accumulation_steps(batch_size: int, micro_batch: int | None, n_train: int) -> int:
    """Gradient-accumulation steps that keep ``batch_size`` while passing at most
    ``micro_batch`` samples at a time: the smallest divisor ``k`` of ``batch_size`` with
    ``batch_size / k <= micro_batch``. 1 (no accumulation) when no cap is set or when the
    training set is smaller than one batch (Keras then takes all of it in one step)."""
    if not micro_batch or batch_size <= micro_batch or n_train < batch_size:
        return 1
    return next(k for k in range(1, batch_size + 1) if batch_size % k == 0 and batch_size // k <= micro_batch)


def _compile(model, row: Row, cfg: Config, steps: int = 1):
    import keras

    from mer_utils.training import execution_kwargs

    conf = {"learning_rate": row.learning_rate}
    if steps > 1:
        conf["gradient_accumulation_steps"] = steps
    opt = keras.optimizers.get({"class_name": row.optimizer, "config": conf})
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  **execution_kwargs(cfg.execution))
    return model


def _fit_dl(ctx, cfg: Config, row: Row, build: Callable, X_tr, y_tr, seed: int, *, epochs=None,
            batch_size=None):
    """Seed, build, compile and train until 90 % training accuracy (Table 1 settings)."""
    import keras

    from mer_utils.config import seed_everything
    from mer_utils.training.callbacks import fit_until_train_accuracy

    logging.getLogger("tensorflow").setLevel(logging.ERROR)   # one model per unit: retracing is expected
    keras.backend.clear_session()
    seed_everything(seed)
    batch = int(batch_size or row.batch_size)
    steps = accumulation_steps(batch, cfg.micro_batch, len(y_tr))
    model = _compile(build(), row, cfg, steps)
    hist = fit_until_train_accuracy(model, X_tr, y_tr, epochs=epochs or cfg.epochs(row),
                                    batch_size=batch // steps, threshold=cfg.stop_train_accuracy, seed=seed)
    hist.update(batch_size=batch, accumulation_steps=steps)
    return model, hist


def _predict(model, X, batch_size: int = 32) -> np.ndarray:
    return np.asarray(model.predict(X, batch_size=batch_size, verbose=0), dtype=np.float32)


def _predict_batch(cfg: Config) -> int:
    return min(32, cfg.micro_batch or 32)


def _mel_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """A network on the whole clip's mel spectrogram (first ``input_frames`` frames)."""
    from mer_utils.training import Standardizer

    X = data.mel(cfg.input_frames)
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        scaler = Standardizer().fit(X[tr])
        model, hist = _fit_dl(ctx, cfg, row, lambda: row.build(cfg, data, X.shape[1]),
                              scaler(X[tr]), y[tr], _unit_seed(ctx, split))
        P = _predict(model, scaler(X[te]), _predict_batch(cfg))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "n_train": len(tr)})
    return fit_predict


def _chunk_fit(ctx, cfg: Config, data: LouroData, row: Row, waves: bool):
    """Chunk-level training, clip-level decision (many-to-one): every chunk of a training clip
    is a training sample with the clip's label; a test clip's chunk predictions are combined
    by ``cfg.chunk_decision``."""
    from mer_utils.evaluation import chunk_decision, mean_probability
    from mer_utils.training import Standardizer

    y = data.y

    def fit_predict(split) -> UnitResult:
        Xc, owner = _chunk_waves(ctx, data) if waves else _chunk_mels(ctx, data)   # cached in data
        tr = _pick_chunks(owner, split.train, cfg.train_chunks_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        X_tr = Xc[tr]
        scaler = Standardizer().fit(X_tr)
        X_tr = scaler(X_tr)
        model, hist = _fit_dl(ctx, cfg, row, lambda: row.build(cfg, data, Xc.shape[1]),
                              X_tr, y[owner[tr]], _unit_seed(ctx, split))
        del X_tr
        P_chunks = _predict(model, scaler(Xc[te]), _predict_batch(cfg))
        clips, P = mean_probability(owner[te], P_chunks)
        clips_d, decision = chunk_decision(owner[te], P_chunks, how=cfg.chunk_decision)
        rows = clips.astype(int)
        assert (clips == clips_d).all()
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=decision, info={"history": hist, "n_train_chunks": len(tr),
                                                 "n_test_chunks": len(te), "decision": cfg.chunk_decision})
    return fit_predict


def _hybrid_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """Paper Fig. 2: (1) the baseline CNN pre-trained on the training clips plus four
    synthesised copies of each (made from the training clips only); (2) the feature DNN
    pre-trained on the training clips' features; (3) both frozen, their penultimate layers
    concatenated and a small DNN trained on top (Table 1: 100 epochs, batch 300, SGD 1e-2)."""
    from mer_utils.models.louro import build_baseline_cnn, build_feature_dnn, build_hybrid
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

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        seed = _unit_seed(ctx, split)
        Xa, owner_a = augmented_mels(ctx, data, tr, X.shape[1], seed=0)
        assert np.isin(owner_a, tr).all()            # copies of training clips only
        X_pre = np.concatenate([X[tr], Xa])
        y_pre = np.concatenate([y[tr], y[owner_a]])
        mel_scaler = Standardizer().fit(X_pre)
        cnn, h_cnn = _fit_dl(ctx, cfg, base, lambda: build_baseline_cnn((X.shape[1], X.shape[2]), 4),
                             mel_scaler(X_pre), y_pre, seed)
        f_scaler = Standardizer(axis=-1).fit(F[tr])
        dnn, h_dnn = _fit_dl(ctx, cfg, base, lambda: build_feature_dnn(F.shape[1], 4),
                             f_scaler(F[tr]), y[tr], seed + 1)
        cnn_w, dnn_w = cnn.get_weights(), dnn.get_weights()

        def build():
            c = build_baseline_cnn((X.shape[1], X.shape[2]), 4)
            c.set_weights(cnn_w)
            d = build_feature_dnn(F.shape[1], 4)
            d.set_weights(dnn_w)
            return build_hybrid(c, d, 4)
        model, hist = _fit_dl(ctx, cfg, row, build, [mel_scaler(X[tr]), f_scaler(F[tr])], y[tr], seed + 2)
        P = _predict(model, [mel_scaler(X[te]), f_scaler(F[te])], _predict_batch(cfg))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1),
                          info={"history": hist, "history_cnn": h_cnn, "history_dnn": h_dnn,
                                "n_train": len(tr), "n_augmented": len(Xa), "features": F.shape[1]})
    return fit_predict


# --------------------------------------------------------------------------- builders per row
def _b_baseline(cfg, data, frames):
    from mer_utils.models.louro import build_baseline_cnn
    return build_baseline_cnn((frames, 128), len(LABELS))


def _b_gru(cfg, data, frames):
    from mer_utils.models.louro import build_baseline_gru
    return build_baseline_gru((frames, 128), len(LABELS), gru_units=cfg.gru_units)


def _b_crnn(cfg, data, frames):
    from mer_utils.models.tagging import build_crnn
    return build_crnn((frames, 128), len(LABELS))


def _b_shortchunk(cfg, data, frames):
    from mer_utils.models.tagging import build_shortchunk_cnn
    return build_shortchunk_cnn((frames, 128), len(LABELS))


def _b_samplecnn(cfg, data, n):
    from mer_utils.models.tagging import build_samplecnn
    return build_samplecnn(n, len(LABELS))


def _b_hybrid(cfg, data, frames):
    from mer_utils.models.louro import build_baseline_cnn, build_feature_dnn, build_hybrid
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

PART1_ROWS = ("svm_baseline", "svm_infold", "dl_baseline", "baseline_gru", "crnn", "hybrid",
              "shortchunk", "samplecnn")
BASELINE = "dl_baseline"


# =========================================================================== part 2 (Sec. 3.5-3.7)
# --------------------------------------------------------------------------- audio augmentation
def _audio_aug_mel_file(item, frames: int, key: str, seed: int) -> dict[str, np.ndarray]:
    """One audiomentations copy of one clip as a mel spectrogram (first ``frames`` frames),
    with the parameters drawn and the seconds the transform took."""
    from mer_utils import augment_audio
    from mer_utils.features import FRONT_ENDS, spectrogram
    from mer_utils.features.frontends import prepare_clip

    path, clip_id = item
    fe = FRONT_ENDS["louro_mel"]
    y = prepare_clip(audio.load_audio(path, sr=SR), SR, fe, path)
    y = y[:(frames - 1) * fe.hop_length + fe.n_fft]          # what the first `frames` frames read
    t0 = time.perf_counter()
    z, _ = augment_audio.augment_audio(y, SR, clip_id, key, seed=seed)
    secs = time.perf_counter() - t0
    return {"mel": spectrogram(z, SR, fe, clip=True, path=path)[:frames],
            "transform_seconds": np.float32(secs)}


def audio_augmented_mels(ctx, data: LouroData, rows: np.ndarray, frames: int, key: str, seed: int = 0):
    """(X (len(rows), frames, 128), owner rows, transform seconds per clip): one audiomentations
    copy (``key``: tfm / sb / rg) of each clip at ``rows`` — call it with a unit's training rows
    only. Cached per (clip, transform, its parameters and library version, seed, frames)."""
    from mer_utils import augment_audio
    from mer_utils.cache import FeatureCache, cached_map, default_cache_root

    rows = np.asarray(rows, dtype=int)
    sub = data.df.iloc[rows]
    cache = FeatureCache(default_cache_root(ctx) / "features", "louro-audiomentations",
                         {"frames": frames, "seed": seed, "front_end": "louro_mel", "version": 1,
                          "transform": augment_audio.transform_config(key)})
    items = list(zip(sub["path"].astype(str), sub["track_id"].astype(str)))
    res = cached_map(functools.partial(_audio_aug_mel_file, frames=frames, key=key, seed=seed), items,
                     ids=list(sub["track_id"].astype(str)), paths=list(sub["path"].astype(str)),
                     cache=cache, n_jobs=int(ctx.p.n_jobs), on_error="raise",
                     desc=f"{key} copies", progress=False)
    X = np.stack([v["mel"] for v in res.values]).astype(np.float32)
    secs = np.asarray([float(v["transform_seconds"]) for v in res.values])
    return X, rows.copy(), secs


def _audio_aug_fit(ctx, cfg: Config, data: LouroData, row: Row, key: str):
    """The DL baseline trained on its training clips plus one audiomentations copy of each
    (Sec. 3.6): copies made from the unit's training rows only, the test rows untouched."""
    from mer_utils import augment_audio
    from mer_utils.training import Standardizer

    ok, why = augment_audio.available()
    if not ok:
        raise NotRunnable(why)
    X = data.mel(cfg.input_frames)
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        Xa, owner, secs = audio_augmented_mels(ctx, data, tr, X.shape[1], key, seed=cfg.aug_seed)
        if not np.isin(owner, tr).all() or np.isin(owner, te).any():
            raise RuntimeError("an augmented copy was made from a clip outside the training rows")
        X_tr = np.concatenate([X[tr], Xa])
        y_tr = np.concatenate([y[tr], y[owner]])
        scaler = Standardizer().fit(X_tr)
        model, hist = _fit_dl(ctx, cfg, row, lambda: row.build(cfg, data, X.shape[1]),
                              scaler(X_tr), y_tr, _unit_seed(ctx, split))
        P = _predict(model, scaler(X[te]), _predict_batch(cfg))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "n_train": len(tr), "n_augmented": len(Xa),
                                                    "transform": key,
                                                    "transform_seconds_per_clip": float(secs.mean())})
    return fit_predict


def augmentation_cost(ctx, data: LouroData, n_clips: int = 2, frames: int | None = None) -> pd.DataFrame:
    """Seconds per clip of each transform (uncached: decode + transform + mel), on the first
    ``n_clips`` clips — the cost a cold cache pays once per (clip, transform, seed)."""
    from mer_utils import augment, augment_audio
    from mer_utils.features import FRONT_ENDS

    frames = frames or data.mel_all.shape[1]
    recs = []
    for i in range(min(n_clips, len(data.df))):
        item = (str(data.df["path"].iloc[i]), str(data.ids[i]))
        for key in augment_audio.AUDIO_TRANSFORMS:
            t0 = time.perf_counter()
            out = _audio_aug_mel_file(item, frames, key, 0)
            recs.append({"transform": f"{key} ({augment_audio.TRANSFORM_NAMES[key]})", "clip": item[1],
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
def unit_autoencoder(ctx, cfg: Config, data: LouroData, split) -> dict[str, Any]:
    """The autoencoder of one unit, fitted on its training clips only (memoised per unit and
    configuration for the rows that share it): ``encoder``/``decoder`` weights' models, the
    [-1, 1] scaling's centre / half-range, the training loss history."""
    import keras

    from mer_utils.config import seed_everything
    from mer_utils.models.autoencoder import build_autoencoder, scale_11
    from mer_utils.training import execution_kwargs

    key = ("autoencoder", split.unit.repeat, split.unit.fold, cfg.input_frames, cfg.ae_epochs,
           cfg.ae_batch, cfg.ae_lr, int(ctx.seed))
    memo = data._cache.setdefault("autoencoders", {})
    if key in memo:
        return memo[key]
    while len(memo) >= 4:                             # a few units' networks at a time (memory)
        memo.pop(next(iter(memo)))
    X = data.mel(cfg.input_frames)
    tr = split.train
    Xs, centre, half = scale_11(X[tr])
    keras.backend.clear_session()
    seed_everything(_unit_seed(ctx, split) + 7)
    ae, enc, dec = build_autoencoder((X.shape[1], X.shape[2]))
    ae.compile(optimizer=keras.optimizers.Adam(cfg.ae_lr), loss="mse", **execution_kwargs(cfg.execution))
    t0 = time.perf_counter()
    h = ae.fit(Xs, Xs, epochs=cfg.ae_epochs, batch_size=min(cfg.ae_batch, len(tr)), shuffle=True, verbose=0)
    memo[key] = {"encoder": enc, "decoder": dec, "centre": centre, "half": half,
                 "loss": [float(v) for v in h.history["loss"]], "seconds": round(time.perf_counter() - t0, 2),
                 "latent": int(enc.output_shape[-1]), "input_values": int(X.shape[1] * X.shape[2])}
    return memo[key]


def _encode(ae: dict, X: np.ndarray, batch: int = 16) -> np.ndarray:
    from mer_utils.models.autoencoder import scale_11

    Xs = np.stack([scale_11(x[None])[0][0] for x in X]) if len(X) else X
    return np.asarray(ae["encoder"].predict(Xs, batch_size=batch, verbose=0), dtype=np.float32)


def deepsmote_samples(ctx, cfg: Config, data: LouroData, split) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mels (n_new, frames, 128) in dB, labels, info): Borderline-SMOTE 2 in the unit's
    autoencoder latent space, decoded and mapped back to the training clips' dB range."""
    from mer_utils.models.autoencoder import unscale_11
    from mer_utils.training.deepsmote import borderline_smote2

    ae = unit_autoencoder(ctx, cfg, data, split)
    X = data.mel(cfg.input_frames)
    tr = split.train
    Z = _encode(ae, X[tr])
    Zn, yn = borderline_smote2(Z, data.y[tr], cfg.smote_per_class, seed=_unit_seed(ctx, split))
    dec = np.asarray(ae["decoder"].predict(Zn, batch_size=16, verbose=0), dtype=np.float32) if len(Zn) else \
        np.zeros((0, *X.shape[1:]), np.float32)
    info = {"n_synthetic": int(len(Zn)), "per_class": np.bincount(yn, minlength=4).tolist() if len(yn) else [0] * 4,
            "latent_values": ae["latent"], "input_values": ae["input_values"], "ae_loss": ae["loss"][-1:],
            "ae_seconds": ae["seconds"]}
    return unscale_11(dec, ae["centre"], ae["half"]), yn, info


def _deepsmote_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """The DL baseline on the training clips plus DeepSMOTE samples (Sec. 3.6)."""
    from mer_utils.training import Standardizer

    X = data.mel(cfg.input_frames)
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        Xs, ys, info = deepsmote_samples(ctx, cfg, data, split)
        data._cache["deepsmote_example"] = (X[tr], y[tr], Xs, ys)
        X_tr, y_tr = np.concatenate([X[tr], Xs]), np.concatenate([y[tr], ys])
        scaler = Standardizer().fit(X_tr)
        model, hist = _fit_dl(ctx, cfg, row, lambda: row.build(cfg, data, X.shape[1]),
                              scaler(X_tr), y_tr, _unit_seed(ctx, split))
        P = _predict(model, scaler(X[te]), _predict_batch(cfg))
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"history": hist, "n_train": len(tr), **info})
    return fit_predict


def _ae_rf_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """Autoencoder latent codes (the unit's DeepSMOTE encoder) -> Random Forest, default
    parameters (Sec. 3.5). Test clips are encoded by the encoder fitted on the training rows."""
    from sklearn.ensemble import RandomForestClassifier

    X = data.mel(cfg.input_frames)
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        ae = unit_autoencoder(ctx, cfg, data, split)
        Z_tr, Z_te = _encode(ae, X[tr]), _encode(ae, X[te])
        rf = RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=_unit_seed(ctx, split),
                                    n_jobs=int(ctx.p.n_jobs)).fit(Z_tr, y[tr])
        P = np.zeros((len(te), len(LABELS)), np.float32)
        P[:, rf.classes_.astype(int)] = rf.predict_proba(Z_te)
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"latent_values": ae["latent"], "ae_seconds": ae["seconds"]})
    return fit_predict


def _openl3_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """OpenL3 (or the recorded stand-in) embedding matrix per clip, pooled over time, ->
    Random Forest with default parameters (Sec. 3.5)."""
    from sklearn.ensemble import RandomForestClassifier

    from mer_utils import openl3

    if "openl3" not in data._cache:
        try:
            S, desc, real = openl3.embedding_sequences(data.df, ctx=ctx)
        except Exception as exc:                      # no network weights of any kind here
            raise NotRunnable(f"no OpenL3 and no stand-in embedding: {exc}") from exc
        data._cache["openl3"] = (openl3.pool(S), desc, real)
    F, desc, real = data._cache["openl3"]
    if not real:
        data._cache.setdefault("labels", {})[row.key] = "substitute: musicnn MSD sequence, OpenL3 absent"
    y = data.y

    def fit_predict(split) -> UnitResult:
        tr, te = split.train, split.test
        rf = RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=_unit_seed(ctx, split),
                                    n_jobs=int(ctx.p.n_jobs)).fit(F[tr], y[tr])
        P = np.zeros((len(te), len(LABELS)), np.float32)
        P[:, rf.classes_.astype(int)] = rf.predict_proba(F[te])
        return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                          info={"embedding": desc, "features": int(F.shape[1])})
    return fit_predict


# --------------------------------------------------------------------------- transfer learning
def _artists_mel_file(path: str) -> np.ndarray:
    from mer_utils.models.artists_cnn import ARTISTS_FRAMES, ARTISTS_SR, mel_22k

    M = mel_22k(audio.load_audio(path, sr=ARTISTS_SR), ARTISTS_SR)
    n = len(M) // ARTISTS_FRAMES
    return M[:n * ARTISTS_FRAMES].reshape(n, ARTISTS_FRAMES, M.shape[1])


def _artists_fit(ctx, cfg: Config, data: LouroData, row: Row):
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

    def fit_predict(split) -> UnitResult:
        tr = _pick_chunks(owner, split.train, cfg.train_chunks_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        scaler = Standardizer().fit(Xc[tr])

        def build():
            m = artists_cnn.build_artists_cnn(n_classes=len(LABELS), frozen=True)
            artists_cnn.load_keras2_h5(m, path)
            return m
        model, hist = _fit_dl(ctx, cfg, row, build, scaler(Xc[tr]), y[owner[tr]], _unit_seed(ctx, split))
        clips, P = mean_probability(owner[te], _predict(model, scaler(Xc[te]), _predict_batch(cfg)))
        rows = clips.astype(int)
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "weights": path.name})
    return fit_predict


def _musicnn_patch_file(path: str) -> np.ndarray:
    from mer_utils.models import musicnn

    return musicnn.patches(musicnn.log_mel(audio.load_audio(path, sr=musicnn.SR)))


def _transfer_compile(cfg: Config):
    from mer_utils.training import execution_kwargs

    def compile_fn(model, opt):
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **execution_kwargs(cfg.execution))
    return compile_fn


def _crnn_mtat_fit(ctx, cfg: Config, data: LouroData, row: Row):
    """Won et al.'s CRNN pre-trained on MagnaTagATune, a new 4-quadrant head, fine-tuned with
    the paper's schedule (Adam 1e-3 to epoch 80, then SGD 1e-4 / 1e-5 at 100 / 1e-6 at 120;
    batch 16). The ``.pth`` is converted to the Keras CRNN when present; otherwise the
    compendium's MTT-pretrained network (musicnn MTT, ported to Keras) stands in, fine-tuned
    the same way on 3-s patches (the clip's decision: mean of its patches' probabilities)."""
    from pathlib import Path as _P

    import keras

    from mer_utils.config import seed_everything
    from mer_utils.evaluation import mean_probability
    from mer_utils.models import won_torch
    from mer_utils.training import Standardizer
    from mer_utils.training.schedules import WON_TRANSFER, fit_phases

    if cfg.transfer_train not in ("all", "head"):
        raise ValueError(f"transfer_train must be 'all' or 'head', not {cfg.transfer_train!r}")
    y = data.y
    epochs = cfg.epochs(row)
    path = _P(cfg.crnn_mtat_weights).expanduser() if cfg.crnn_mtat_weights else won_torch.default_path()
    if path.exists():
        sd = won_torch.load_state_dict(path)
        X = data.mel(cfg.input_frames)

        def fit_predict(split) -> UnitResult:
            tr, te = split.train, split.test
            keras.backend.clear_session()
            seed_everything(_unit_seed(ctx, split))
            model = _b_crnn(cfg, data, X.shape[1])
            won_torch.convert_state_dict(model, sd)
            if cfg.transfer_train == "head":               # the converted body frozen, the new head trained
                for layer in model.layers[:-1]:
                    layer.trainable = False
            scaler = Standardizer().fit(X[tr])
            hist = fit_phases(model, scaler(X[tr]), y[tr], schedule=WON_TRANSFER, epochs=epochs,
                              batch_size=row.batch_size, compile_fn=_transfer_compile(cfg),
                              threshold=cfg.stop_train_accuracy, seed=_unit_seed(ctx, split))
            P = _predict(model, scaler(X[te]), _predict_batch(cfg))
            return UnitResult(ids=data.ids[te], y_true=y[te], y_score=P, labels=list(LABELS), y_pred=P.argmax(1),
                              info={"history": hist, "weights": path.name})
        return fit_predict

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
    data._cache.setdefault("labels", {})[row.key] = ("substitute: musicnn MTT, Won's CRNN weights absent"
                                                     + ("; body frozen, head trained" if cfg.transfer_train == "head"
                                                        else ""))
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
        memo_key = ("musicnn_mtt_body", npz.name, cfg.transfer_patches_per_clip, cfg.test_chunks_per_clip)
        if memo_key not in data._cache:
            keras.backend.clear_session()
            base = build()
            body = keras.Model(base.inputs, base.get_layer(musicnn.BACKEND_LAYERS[-1]).output)
            F = np.zeros((len(Xp), body.output_shape[-1]), np.float32)
            # one patch per eager call: musicnn's wide front-end maps cost ~50 MB a patch, and no
            # traced predict graph is kept
            for i in used:
                F[i] = keras.ops.convert_to_numpy(body(Xp[i:i + 1], training=False))[0]
            data._cache[memo_key] = F
            del base, body
            keras.backend.clear_session()
        Fp = data._cache[memo_key]

    def fit_predict(split) -> UnitResult:
        tr = _pick_chunks(owner, split.train, cfg.transfer_patches_per_clip)
        te = _pick_chunks(owner, split.test, cfg.test_chunks_per_clip)
        keras.backend.clear_session()
        seed_everything(_unit_seed(ctx, split))
        if head_only:
            inp = keras.Input((Fp.shape[1],), name="musicnn_mtt_penultimate")
            model = keras.Model(inp, keras.layers.Dense(len(LABELS), activation="softmax", name="quadrants")(inp),
                                name="musicnn_mtt_head")
            X_tr, X_te = Fp[tr], Fp[te]
        else:
            model, X_tr, X_te = build(), Xp[tr], Xp[te]
        hist = fit_phases(model, X_tr, y[owner[tr]], schedule=WON_TRANSFER, epochs=epochs,
                          batch_size=row.batch_size, compile_fn=_transfer_compile(cfg),
                          threshold=cfg.stop_train_accuracy, seed=_unit_seed(ctx, split))
        clips, P = mean_probability(owner[te], _predict(model, X_te, _predict_batch(cfg)))
        rows = clips.astype(int)
        return UnitResult(ids=data.ids[rows], y_true=y[rows], y_score=P, labels=list(LABELS),
                          y_pred=P.argmax(1), info={"history": hist, "network": "musicnn MTT (substitute)",
                                                    "trained": "head only" if head_only else "all layers",
                                                    "n_train_patches": len(tr), "n_test_patches": len(te)})
    return fit_predict


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

PART2_ROWS = ("baseline_tfm", "baseline_sb", "baseline_rg", "baseline_deepsmote", "openl3_rf", "ae_rf",
              "artists_cnn", "crnn_mtat")
ALL_ROWS = PART1_ROWS + PART2_ROWS
_SCHEDULE_TEXT = {"crnn_mtat": "Adam 1e-3 -> SGD 1e-4, 1e-5 (ep. 100), 1e-6 (ep. 120)"}


def _input_size(cfg: Config, row: Row, *, paper: bool) -> dict[str, int]:
    frames = 942 if paper else cfg.input_frames
    if row.key == "artists_cnn":
        return {"input_frames": 129, "input_bands": 128}
    if row.key == "samplecnn":
        return {"input_samples": CHUNK_SAMPLES}
    if row.key == "shortchunk":
        return {"input_frames": 116, "input_bands": 128}
    return {"input_frames": frames, "input_bands": 128}


def _paper_cells(rows: Sequence[str] = ALL_ROWS) -> tuple[tuple[str, str, str], ...]:
    cells = []
    for key in rows:
        row = ROWS[key]
        if row.kind == "dl" and row.table1:
            metrics = list(_input_size(Config.for_profile("full"), row, paper=True))
            metrics += (["input_features"] if key == "hybrid" else []) + ["epochs", "batch_size"]
            metrics += ["learning_rate"] if row.learning_rate is not None else []
            cells += [("1", row.table1, m) for m in metrics]
        if key != "svm_infold":
            cells += [(f"3/{DATASET}", row.table3, m) for m in ("precision", "recall", "f1")]
    return tuple(dict.fromkeys(cells))


PAPER_CELLS: tuple[tuple[str, str, str], ...] = _paper_cells()
"""The (table, row, metric) cells Tables 1 and 3 compare for the rows of parts 1 and 2
(``tests/test_paper_values.py``); the in-fold selection row is ours alone, DeepSMOTE has no
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
    if row.kind == "embedding":
        return dict(common, input_frames=cfg.input_frames, execution=cfg.execution)
    return dict(common, epochs=cfg.epochs(row), batch_size=row.batch_size, lr=row.learning_rate,
                optimizer=row.optimizer, stop=cfg.stop_train_accuracy, input_frames=cfg.input_frames,
                train_chunks=cfg.train_chunks_per_clip, test_chunks=cfg.test_chunks_per_clip,
                decision=cfg.chunk_decision, gru_units=cfg.gru_units, micro_batch=cfg.micro_batch,
                execution=cfg.execution,
                features=(data.full_desc, data.features_desc) if row.key == "hybrid" else None)


# =========================================================================== running
def run_rows(ctx, cfg: Config, data: LouroData, splits, rows: Sequence[str] = ALL_ROWS) -> pd.DataFrame:
    """Run every row (resumable per unit) and return one status line per row: units, seconds,
    ``run`` / ``not runnable`` with the reason."""
    out = []
    for key in rows:
        row = ROWS[key]
        units = list(splits) if row.kind == "classical" or cfg.dl_units is None else list(splits)[:cfg.dl_units]
        if key in PART2_ROWS and cfg.part2_units is not None:
            units = list(splits)[:cfg.part2_units]
        data._cache.setdefault("labels", {}).pop(key, None)
        t0 = time.perf_counter()
        try:
            fp = row.fit(ctx, cfg, data, row)
        except NotRunnable as exc:
            out.append({"row": key, "method": row.name, "status": "not runnable", "reason": str(exc),
                        "units": 0, "seconds": 0.0, "label": ""})
            ctx.manifest.skip(f"Table 3 row {row.name}", str(exc))
            continue
        run_protocol(ctx.results_dir, row.experiment, units, config=_row_config(cfg, row, data),
                     fit_predict=fp, meta={"paper": PAPER, "row": row.name, "corpus": data.corpus},
                     progress=row.kind == "dl")
        out.append({"row": key, "method": row.name, "status": "run", "reason": "", "units": len(units),
                    "seconds": round(time.perf_counter() - t0, 1),
                    "label": data._cache.get("labels", {}).get(key, "")})
    return pd.DataFrame(out)


# =========================================================================== tables
def _precision(fp) -> float:
    from sklearn.metrics import precision_score
    from mer_utils.evaluation import fold_labels
    yt, yp = fold_labels(fp)
    return float(precision_score(yt, yp, labels=list(fp.labels), average="macro", zero_division=0))


def _recall(fp) -> float:
    from sklearn.metrics import recall_score
    from mer_utils.evaluation import fold_labels
    yt, yp = fold_labels(fp)
    return float(recall_score(yt, yp, labels=list(fp.labels), average="macro", zero_division=0))


def _f1(fp) -> float:
    from sklearn.metrics import f1_score
    from mer_utils.evaluation import fold_labels
    yt, yp = fold_labels(fp)
    return float(f1_score(yt, yp, labels=list(fp.labels), average="macro", zero_division=0))


METRICS = {"precision": _precision, "recall": _recall, "f1": _f1}
"""Macro precision / recall / F1 of one unit (the paper's three metrics)."""


def unit_scores(ctx, status: pd.DataFrame) -> pd.DataFrame:
    """Per-unit P/R/F1 of every row that ran, from the stored predictions."""
    from mer_utils.results import score_experiment

    frames = []
    for r in status[status["status"] == "run"].itertuples():
        s = score_experiment(ctx.results_dir, ROWS[r.row].experiment, METRICS)
        s["row"], s["method"] = r.row, ROWS[r.row].name
        frames.append(s)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _n_hybrid_features(data: LouroData | None) -> int | None:
    if data is None:
        return None
    table = data.full_features if data.full_features is not None else data.features
    return None if table is None else table.shape[1] - 1


def table1(cfg: Config, data: LouroData | None = None, rows: Sequence[str] = ALL_ROWS) -> pd.DataFrame:
    """Table 1: our input size and training settings beside the paper's, long format."""
    from mer_utils.results import compare_with_paper

    recs = []
    for key in rows:
        row = ROWS[key]
        if row.kind != "dl" or row.table1 is None:
            continue
        rec = {"row": row.table1, **_input_size(cfg, row, paper=False), "epochs": cfg.epochs(row),
               "batch_size": row.batch_size, "learning_rate": row.learning_rate}
        if key == "hybrid":
            rec["input_features"] = _n_hybrid_features(data)
        recs.append(rec)
    ours = pd.DataFrame(recs)
    out = compare_with_paper(ours, PAPER, "1", row_col="row",
                             metric_cols=[c for c in ours.columns if c != "row"], require_paper=True)
    names = [ROWS[k].table1 for k in rows if ROWS[k].kind == "dl" and ROWS[k].table1]
    return out[out["row"].isin(names) & (out["paper"].notna() | out["reproduced"].notna())].reset_index(drop=True)


def table1_wide(cfg: Config, data: LouroData | None = None, rows: Sequence[str] = ALL_ROWS) -> pd.DataFrame:
    """Table 1 as the paper prints it, with our run's values beside ("ours" / "paper")."""
    from mer_utils.results import paper_values

    pv = paper_values(PAPER, "1")
    recs = []
    for key in rows:
        row = ROWS[key]
        if row.kind != "dl" or row.table1 is None:
            continue
        p = pv[pv["row"] == row.table1].set_index("metric")["value"]
        ours = _input_size(cfg, row, paper=False)
        size = lambda d: (f"{int(d['input_frames'])} x {int(d['input_bands'])}" if "input_frames" in d
                          else f"{int(d['input_samples'])} samples")
        paper_size = size({k: p[k] for k in p.index if k.startswith("input_") and k != "input_features"})
        if row.key == "hybrid":
            n_feat = _n_hybrid_features(data)
            paper_size += f" + {int(p['input_features'])} features"
            ours_size = size(ours) + (f" + {n_feat} features" if n_feat else "")
        else:
            ours_size = size(ours)
        recs.append({"methodology": row.table1, "input": row.inputs, "size (paper)": paper_size,
                     "size (ours)": ours_size, "epochs (paper)": int(p["epochs"]),
                     "epochs (ours, max)": cfg.epochs(row), "batch (paper)": int(p["batch_size"]),
                     "batch (ours)": row.batch_size, "optimizer": row.optimizer.upper() if row.optimizer != "schedule"
                     else "Adam -> SGD (Sec. 3.7)",
                     "LR (paper)": p.get("learning_rate", _SCHEDULE_TEXT.get(key, np.nan)),
                     "LR (ours)": row.learning_rate if row.learning_rate is not None else _SCHEDULE_TEXT.get(key),
                     "stop": f"train acc >= {cfg.stop_train_accuracy:.0%}"})
    return pd.DataFrame(recs)


def table2(data: LouroData) -> pd.DataFrame:
    """Table 2: quadrant distribution of the paper's data sets and of the data used here."""
    from mer_utils.results import paper_values

    pv = paper_values(PAPER, "2").pivot(index="row", columns="metric", values="value")
    pv = pv[["Q1", "Q2", "Q3", "Q4", "total"]].astype(int)
    pv.index = [f"{r} (paper)" for r in pv.index]
    counts = data.df["quadrant"].value_counts().reindex(list(LABELS), fill_value=0)
    ours = pd.DataFrame([{**counts.to_dict(), "total": int(counts.sum())}],
                        index=[f"used here: {data.corpus.split(':')[0]}"])
    out = pd.concat([pv, ours])
    out.index.name = "data set"
    return out.reset_index()


def parameter_table(cfg: Config, data: LouroData | None = None, rows: Sequence[str] = ALL_ROWS) -> pd.DataFrame:
    """Parameters of every DL row's network at the paper's input size and at this run's."""
    import keras

    from mer_utils.models.louro import parameter_counts

    recs, built = [], {}
    for key in rows:
        row = ROWS[key]
        if row.kind != "dl":
            continue
        size_p = _input_size(cfg, row, paper=True)
        size_o = _input_size(cfg, row, paper=False)
        n_p = size_p.get("input_frames", size_p.get("input_samples"))
        n_o = size_o.get("input_frames", size_o.get("input_samples"))
        same = (row.build, n_p, n_o)                    # rows sharing a network (the baseline + TFM/...)
        if row.key == "hybrid" or same not in built:
            keras.backend.clear_session()
            mp = row.build(cfg, None if row.key == "hybrid" else data, n_p)
            cp = parameter_counts(mp)
            co = cp if n_o == n_p and row.key != "hybrid" else parameter_counts(row.build(cfg, data, n_o))
            built[same] = (mp.name, cp, co)
        name, cp, co = built[same]
        recs.append({"method": row.name, "network": name, "input (paper)": n_p,
                     "parameters (paper input)": cp["total"], "trainable (paper input)": cp["trainable"],
                     "input (ours)": n_o, "parameters (our input)": co["total"],
                     "trainable (our input)": co["trainable"]})
    keras.backend.clear_session()
    return pd.DataFrame(recs)


def table3(ctx, cfg: Config, status: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 3 rows of this run: P / R / F1 mean +- std over units beside the paper's values.

    Returns (wide table for reading, long comparison from ``compare_with_paper``).
    """
    from mer_utils.evaluation import format_mean_std
    from mer_utils.results import compare_with_paper, paper_values, summarise

    pv = paper_values(PAPER, f"3/{DATASET}").pivot(index="row", columns="metric", values="value")
    summ = summarise(scores.drop(columns=["method"]), by="row") if len(scores) else pd.DataFrame()
    summ = summ.set_index("row") if len(summ) else summ
    recs = []
    for r in status.itertuples():
        row = ROWS[r.row]
        label = getattr(r, "label", "") or ""
        rec = {"method": f"{row.name} [{label}]" if label else row.name, "paper row": row.table3}
        if r.status == "run":
            s = summ.loc[r.row]
            for m in ("precision", "recall", "f1"):   # no spread from a single unit
                rec[m] = format_mean_std(s[m], s[f"{m}_std"] if s["n_folds"] > 1 else np.nan, 3)
            rec["units"] = int(s["n_folds"])
        else:
            for m in ("precision", "recall", "f1"):
                rec[m] = "—"
            rec["units"] = 0
        for m, short in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            rec[f"paper {short}"] = pv.loc[row.table3, m] if row.table3 in pv.index else np.nan
        rec["note"] = r.reason if r.status != "run" else row.note
        recs.append(rec)
    wide = pd.DataFrame(recs)
    long = pd.DataFrame()
    if len(summ):
        rep = summ.reset_index()
        rep = rep[rep["row"] != "svm_infold"]          # not a paper row: no paper value to compare
        rep["row"] = rep["row"].map(lambda k: ROWS[k].table3)
        long = compare_with_paper(rep, PAPER, f"3/{DATASET}", row_col="row",
                                  metric_cols=["precision", "recall", "f1"], require_paper=True)
        long = long[long["reproduced"].notna()].reset_index(drop=True)
    return wide, long


def paired_comparisons(scores: pd.DataFrame, splits, baseline: str = BASELINE,
                       metric: str = "f1") -> pd.DataFrame:
    """Each row against the DL baseline on the units both ran: mean difference of per-unit
    ``metric`` and Nadeau & Bengio's corrected resampled t-test."""
    from mer_utils.evaluation import corrected_resampled_ttest

    if not len(scores) or baseline not in set(scores["row"]):
        return pd.DataFrame()
    n_train = float(np.mean([len(s.train) for s in splits]))
    n_test = float(np.mean([len(s.test) for s in splits]))
    base = scores[scores["row"] == baseline].set_index(["repeat", "fold"])[metric]
    recs = []
    for key, g in scores[scores["row"] != baseline].groupby("row", sort=False):
        a = g.set_index(["repeat", "fold"])[metric]
        common = a.index.intersection(base.index)
        rec = {"method": ROWS[key].name, "vs": ROWS[baseline].name, "units": len(common),
               f"mean {metric} difference": float((a[common] - base[common]).mean()) if len(common) else np.nan}
        d = (a[common] - base[common]).to_numpy()
        if len(common) < 2:
            rec.update(t=np.nan, p=np.nan, note="needs at least 2 shared units")
        elif np.ptp(d) < 1e-12:                         # constant up to round-off
            rec.update(t=np.nan, p=np.nan, note="the same difference on every unit: the test is undefined")
        else:
            t, p = corrected_resampled_ttest(a[common].to_numpy(), base[common].to_numpy(),
                                             n_train=int(round(n_train)), n_test=int(round(n_test)))
            rec.update(t=t, p=p, note="" if len(common) >= 10 else f"{len(common)} units: little power")
        recs.append(rec)
    return pd.DataFrame(recs)


def timing_table(ctx, status: pd.DataFrame) -> pd.DataFrame:
    """Seconds per split (unit) of every row, from the stored runs (training + prediction)."""
    from mer_utils.results import load_predictions

    recs = []
    for r in status[status["status"] == "run"].itertuples():
        stored = load_predictions(ctx.results_dir, ROWS[r.row].experiment)
        secs = [fp.info.get("seconds", np.nan) for fp in stored]
        hist = [fp.info.get("history", {}) for fp in stored]
        epochs = [len(h.get("epoch", [])) for h in hist if h]
        stopped = [h.get("stopped_at") for h in hist if h]
        recs.append({"method": ROWS[r.row].name, "units": len(secs),
                     "seconds per split (mean)": float(np.nanmean(secs)) if secs else np.nan,
                     "epochs trained (mean)": float(np.mean(epochs)) if epochs else np.nan,
                     "stopped at 90 % train acc.": sum(s is not None for s in stopped) if stopped else np.nan})
    return pd.DataFrame(recs)


def boxplot(scores: pd.DataFrame, *, metric: str = "f1", title: str = ""):
    """Box plot of per-split ``metric`` per method (paper values marked where given)."""
    import matplotlib.pyplot as plt

    from mer_utils.results import paper_values

    pv = paper_values(PAPER, f"3/{DATASET}")
    pv = pv[pv["metric"] == metric].set_index("row")["value"]
    order = [k for k in dict.fromkeys(scores["row"])]
    fig, ax = plt.subplots(figsize=(1.3 * len(order) + 2, 4))
    data = [scores.loc[scores["row"] == k, metric].to_numpy() for k in order]
    ax.boxplot(data, showmeans=True)
    for i, (k, d) in enumerate(zip(order, data), 1):
        ax.scatter(np.full(len(d), i) + np.random.default_rng(i).uniform(-0.12, 0.12, len(d)), d,
                   s=8, alpha=0.5, color="C0")
        if ROWS[k].table3 in pv.index and k != "svm_infold":
            ax.scatter([i], [pv[ROWS[k].table3]], marker="x", color="C3", s=60,
                       label="paper (Original-4QAED)" if i == 1 or not ax.get_legend_handles_labels()[0] else None)
    ax.set_xticks(range(1, len(order) + 1))
    ax.set_xticklabels([ROWS[k].name.replace(", ", ",\n").replace(" with ", "\nwith ") for k in order], fontsize=8)
    ax.set_ylabel(f"macro {metric.upper() if metric == 'f1' else metric} per split")
    ax.set_title(title or f"Per-split macro F1 ({len(scores)} unit scores)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


PROTOCOL_DIFFERENCES = pd.DataFrame([
    {"step": "splits", "released code (exploring-dl-for-mer)":
        "RepeatedStratifiedKFold(10, 10) drawn anew in each script (shared only through random_state=1)",
     "this notebook": "one set of saved split files shared by every row (paired units)"},
    {"step": "validation data", "released code (exploring-dl-for-mer)":
        "each test fold passed to Keras as validation_data (logged every epoch)",
     "this notebook": "none: training stops on the training accuracy only; the test fold is seen once, at prediction"},
    {"step": "hyperparameters", "released code (exploring-dl-for-mer)":
        "grid over epochs/batch/LR scored by the same 10x10 CV's test F1; SVM by Bayesian search on all songs",
     "this notebook": "DL: Table 1 values, never tuned here; SVM: nested grid search on each training fold"},
    {"step": "feature scaling", "released code (exploring-dl-for-mer)":
        "preprocessing.scale on all songs before CV", "this notebook": "scaler fitted on each training fold"},
    {"step": "feature selection", "released code (exploring-dl-for-mer)":
        "top-100 file, selected by the data set's authors on all 900 songs",
     "this notebook": "same file for the paper's row; an extra row selects inside each training fold"},
    {"step": "segment decision", "released code (exploring-dl-for-mer)":
        "rounded mean of the segments' class indices", "this notebook": "mean of the segments' probabilities (Won et al.)"},
])


FIDELITY = [
    Fidelity("protocol", "10-fold and 10-repetition stratified cross-validation, 100 splits",
             "repeated_kfold(10, 10), saved once, shared by every row", "same"),
    Fidelity("metrics", "Precision, Recall, F1-score (macro), mean over splits",
             "macro P / R / F1 per split, mean +- std over units", "same"),
    Fidelity("validation data", "— (released code: test fold as validation_data)",
             "no validation data; 90 % training-accuracy stop", "departure",
             "the test fold must not steer training or be watched while training"),
    Fidelity("hyperparameters", "grid search on Original-4QAED, same 10x10 CV (Sec. 5)",
             "DL: Table 1 values as published; SVM: nested grid on each training fold", "departure",
             "tuning on the test folds inflates the scores"),
    Fidelity("SVM features", "top 100 features ... ranked using a feature selection algorithm",
             "the 4Q top-100 file (selected on all 900 songs), plus an in-fold selection row", "same",
             "the in-fold row is an addition that measures the selection bias"),
    Fidelity("in-fold selection method", "— (Panda et al.: ReliefF)", "ANOVA F, top 100, inside each training fold",
             "departure", "scikit-learn has no ReliefF; no new dependency for one extra row"),
    Fidelity("mel front end", "librosa default parameters, 16 kHz, 942 x 128",
             "louro_mel: n_fft 2048, hop 512, 128 mels, dB (ref 1, top 80); first 942 frames", "same",
             "the released code keeps the last 482,000 samples; we keep the first 942 frames (30.06-s 4Q clips: ~same)"),
    Fidelity("input scaling", "—", "standardised with the training rows' mean / std", "paper silent",
             "the released code feeds raw dB; Won et al. use a batch norm on the input"),
    Fidelity("DL baseline", "CNN based on Choi et al. [...] extracted features processed on a small DNN",
             "4 x [Conv 16 5x5, pool, BN, dropout 0.1] -> Dense 300 -> softmax (621,360 parameters)",
             "paper silent", "layer sizes from the released code"),
    Fidelity("baseline with GRU", "incorporating two Gated Recurrent Units [...] time-domain-specific features",
             "two GRU(32) over the 25 time steps of the conv map", "paper silent",
             "the released code runs GRU(2000) x 2 over a single step (no time axis; ~48 M parameters)"),
    Fidelity("CRNN", "adapted from Won et al.'s collection", "Choi 2017 as in Won: 4 Conv_2d + 2 GRU(32)", "same"),
    Fidelity("ShortChunk CNN", "ShortChunk CNN [18], 116 x 128 (~3.5 s)",
             "Won's 7-layer ShortChunk CNN; pools with ceil so 116 frames reach 1", "departure",
             "Won's input is 231 frames (hop 256); the released code uses a residual variant"),
    Fidelity("Sample CNN", "Lee et al., 59049 samples, 1-D conv blocks", "3^9 SampleCNN as in Won's collection", "same"),
    Fidelity("many-to-one", "predictions related to the segments of a sample were combined",
             "mean of chunk probabilities (cfg.chunk_decision)", "paper silent",
             "Won et al. average; the released code rounds the mean class index"),
    Fidelity("Hybrid", "pre-trained CNN (synthesised samples) + DNN on 1714 features, smaller DNN on top",
             "both branches pre-trained on the training fold and frozen; fusion BN-200-100-softmax", "same",
             "pre-training settings not given: the DL baseline's"),
    Fidelity("augmentation", "time shift 5 s, pitch 2 semitones, stretch 50 %, power 10 dB",
             "one copy per transform per training clip (random direction), training rows only", "same"),
    Fidelity("1714 features", "all 1714 features", "used when the release file is present; else top-100 (recorded)",
             "departure", "the 1714-feature file is not in the dev data"),
    Fidelity("TFM / SB / RG", "audiomentations, intervals 'the same as the default values in the library'",
             "audiomentations 0.43.1 defaults, p=1, one copy per training clip; TFM = TimeMask + BandStopFilter",
             "paper silent", "copies per clip and the TFM classes are not given"),
    Fidelity("DeepSMOTE autoencoder", "~482k -> ~60k values", "released code's 4 stride-2 conv AE: 942x128 -> 60,416",
             "same", "fitted per unit on training clips (the released code fitted it on all songs)"),
    Fidelity("Borderline-SMOTE 2", "Borderline_SMOTE2 (smote_variants)",
             "imbalanced-learn BorderlineSMOTE(kind='borderline-2'), per-class target counts", "same",
             "samples per class not given: cfg.smote_per_class x the class's count"),
    Fidelity("OpenL3 + RF", "OpenL3 298 x 512 -> scikit-learn RF, default parameters",
             "OpenL3 when importable, else musicnn MSD sequence (recorded); mean + std over time -> RF(100)",
             "departure", "openl3's weights are not reachable offline; how the matrix met the RF is not given"),
    Fidelity("Artists CNN", "Park et al.'s weights loaded and frozen, new quadrant layer",
             "builder + Keras-2 h5 loader; without the weights file: not run", "departure",
             "weights not reachable offline; from scratch it would not be this row"),
    Fidelity("CRNN MTAT", "Won's CRNN MTAT weights; Adam 1e-3 -> SGD 1e-4/1e-5/1e-6 at 80/100/120; batch 16",
             ".pth -> Keras converter; offline musicnn MTT (ported) fine-tuned with the same schedule", "departure",
             "the .pth is not reachable offline; musicnn is the compendium's MTT-pretrained network"),
]


def fidelity() -> pd.DataFrame:
    return fidelity_table(FIDELITY)


# =========================================================================== part 2 figures
def audio_gallery(ctx, cfg: Config, data: LouroData, splits, *, seconds: float = 6.0):
    """One training clip of the first unit and its augmented versions — the Hybrid's four
    (time shift, pitch, stretch, gain) and the three audiomentations rows' (TFM, SB, RG) —
    as (figure: waveform + mel per version, AudioGallery: playable excerpts of ``seconds``)."""
    from mer_utils import augment, augment_audio
    from mer_utils.features import FRONT_ENDS, spectrogram
    from mer_utils.plots.audio_gallery import AudioGallery, waveform_mel_grid

    row = int(splits[0].train[0])                     # a training clip: the only kind ever augmented
    path, clip_id = str(data.df["path"].iloc[row]), str(data.ids[row])
    y = audio.load_audio(path, sr=SR)[:int(seconds * SR)]
    versions = {"original": y}
    for name in augment.HYBRID_TRANSFORMS:
        versions[f"Hybrid: {name}"] = augment.augment(y, SR, clip_id, name, seed=0)
    if augment_audio.available()[0]:
        for key in augment_audio.AUDIO_TRANSFORMS:
            versions[f"+{key.upper()}"] = augment_audio.augment_audio(y, SR, clip_id, key, seed=cfg.aug_seed)[0]
    versions = {k: np.clip(v, -1, 1).astype(np.float32) for k, v in versions.items()}
    fe = FRONT_ENDS["louro_mel"]
    fig = waveform_mel_grid(versions, SR, lambda z: spectrogram(z, SR, fe, clip=False),
                            title=f"training clip {clip_id} ({data.df['quadrant'].iloc[row]}), first {seconds:g} s")
    return fig, AudioGallery(versions, SR)


def deepsmote_figure(ctx, cfg: Config, data: LouroData, splits):
    """Real training spectrograms of the first unit beside DeepSMOTE samples decoded back to
    mel (the run's own samples when this session trained that unit, else made again)."""
    from mer_utils.plots.audio_gallery import decoded_vs_real

    ex = data._cache.get("deepsmote_example")
    if ex is None:
        split = splits[0]
        Xs, ys, _ = deepsmote_samples(ctx, cfg, data, split)
        X = data.mel(cfg.input_frames)
        ex = (X[split.train], data.y[split.train], Xs, ys)
    Xr, yr, Xs, ys = ex
    return decoded_vs_real(Xr, yr, Xs, ys, classes=LABELS,
                           title=f"real (top) vs DeepSMOTE decoded (bottom): {len(Xs)} synthetic samples, "
                                 f"{cfg.ae_epochs} autoencoder epoch(s)")
