"""Sun et al.'s pipeline (notebook ``30_sun_sssl``): the data, the segments, the folds by
song, what is fitted (a VGG16 segment classifier trained through the one engine with the
SSSL epoch step, then a song-level SVM) and the experiments run into the results store.

The method, step by step (the paper's words in quotes):

1. **Segments** — songs are cut into 1-5 s segments, "the overlap of adjacent segments is
   1s less than the segment duration", "we did not do any padding"; each segment inherits
   its song's label (:func:`segment_counts`, :meth:`Experiments.segments`; Table 1).
2. **Features** — a mel spectrogram per segment, "Hanning window length of 1,024 and
   window hop size of 512", "128 mel bins" (the ``sun_segment`` front end, cached per
   track; a 1-s segment is 44 x 128), standardised with the training segments' mean and
   standard deviation (the paper is silent).
3. **Segment classifier** — "VGG16, we only modify the input channel and output number"
   (:func:`mer_utils.models.vgg.build_vgg16`, randomly initialised), trained by
   :class:`mer_utils.training.Trainer` (:func:`segment_trainer`).
4. **SSSL training** — every epoch a two-component GMM on the per-sample losses splits the
   segments into a clean, labelled set and a noisy, unlabelled one; sharpened predictions
   (Eq. 4) replace the erased labels; mixup (Eqs. 6-7) and R-Drop (Eq. 8);
   L = L_MIX + lambda L_KL (Eq. 9): the engine's custom epoch step
   :class:`mer_utils.training.sssl.SSSLStep` (:func:`sssl_settings`).
5. **Song-level decision** — the 7 x K statistics of Eq. 10 over a song's segment
   probabilities (:func:`mer_utils.evaluation.segment_statistics`) -> an SVM trained on the
   training songs only (:func:`song_svm`; scikit-learn, not a network).
6. **Baselines** — "Inherited labels" (the simple baseline: plain cross-entropy on
   inherited labels), "Proposed*" (SSSL without L_KL), "Proposed".
7. **Tasks and protocol** — binary valence and arousal (4Q: from quadrants, V+ = Q1, Q4,
   A+ = Q1, Q2; PMEmo: from its static V/A, > 0.5 high), 4-class quadrants; 10-fold CV
   with folds by song ("average values obtained under the cross-validation of ten fold").

The data: the real PMEmo / 4Q / Emotion in Music sets when they are under the data root,
else the demo corpus's three sources that mimic them (``pmemo``, ``4q``, ``deam``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils import audio
from mer_utils.evaluation import kfold, load_or_make_splits, segment_statistics
from mer_utils.experiment import UnitResult, row_fingerprints, run_protocol
from mer_utils.labels import VA_THRESHOLDS
from mer_utils.papers.sun.config import (FRONT_END, LABELS, METHODS, NOTEBOOK, PAPER, SOURCE, SR, TASKS_OF,
                                         Config)


def sssl_settings(cfg: Config, method: str, *, log_split: bool = False):
    """The :class:`~mer_utils.training.sssl.SSSLSettings` of one method."""
    from mer_utils.training.sssl import SSSLSettings

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
    return SSSLSettings(
        method="simple" if method == "simple" else "sssl", epochs=cfg.epochs,
        batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, optimizer=cfg.optimizer,
        warmup_epochs=cfg.warmup_epochs, tau=cfg.tau, temperature=cfg.temperature,
        alpha=cfg.alpha, lam=cfg.lam if method == "proposed" else 0.0, log_split=log_split)


# =========================================================================== data
def task_labels(df: pd.DataFrame, dataset: str, task: str) -> pd.Series:
    """Song labels of ``task``: quadrant names, or V+/V- and A+/A-.

    Binary labels come from the quadrant (V+ = Q1, Q4; A+ = Q1, Q2), except for PMEmo,
    whose static V/A annotations in [0, 1] are thresholded directly (> 0.5 high), as the
    paper uses them ("767 of these clips with static valence/arousal").
    """
    if task == "quadrant":
        return df["quadrant"].astype(str)
    if task not in ("valence", "arousal"):
        raise ValueError(f"unknown task {task!r}")
    neg, pos = LABELS[task]
    if dataset == "PMEmo" and task in df and df[task].notna().all():
        return pd.Series(np.where(df[task].astype(float) > VA_THRESHOLDS["pmemo"], pos, neg), index=df.index)
    high = ("Q1", "Q4") if task == "valence" else ("Q1", "Q2")
    return pd.Series(np.where(df["quadrant"].isin(high), pos, neg), index=df.index)


def resampled_length(frames: int, sr: int, target: int = SR) -> int:
    """Samples after resampling ``frames`` from ``sr`` to ``target`` Hz (soxr's length:
    ``floor(frames * target / sr + 1/2)``)."""
    return int(frames) if int(sr) == int(target) else int(math.floor(frames * target / sr + 0.5))


def segment_count(n_samples: int, seconds: float, hop_seconds: float = 1.0, sr: int = SR) -> int:
    """Segments of ``seconds`` with a ``hop_seconds`` hop in ``n_samples`` at ``sr``, no
    padding: ``1 + floor((N - L) / hop)``, 0 when the song is shorter than one segment."""
    return audio.n_segments(int(n_samples), int(round(seconds * sr)), int(round(hop_seconds * sr)))


def song_lengths(df: pd.DataFrame, sr: int = SR) -> pd.Series:
    """Each song's length in samples at ``sr`` after resampling (from the file headers)."""
    out = []
    for p in df["path"]:
        info = audio.audio_info(p)
        out.append(resampled_length(info["frames"], info["sr"], sr))
    return pd.Series(out, index=df.index, name="samples")


def segment_counts(df: pd.DataFrame, durations: Sequence[float], *, hop_seconds: float = 1.0,
                   max_seconds: float | None = None, lengths: pd.Series | None = None) -> pd.DataFrame:
    """Per song (rows of ``df``) the number of segments of each duration (columns)."""
    n = song_lengths(df) if lengths is None else lengths
    if max_seconds is not None:
        n = n.clip(upper=int(round(max_seconds * SR)))
    return pd.DataFrame({d: [segment_count(k, d, hop_seconds) for k in n] for d in durations},
                        index=df["track_id"].astype(str))


def has_segment(lengths: Sequence[int], seconds: float, hop_seconds: float = 1.0) -> np.ndarray:
    """Which songs (lengths in samples at 22,050 Hz) yield at least one segment of ``seconds``."""
    return np.asarray([segment_count(n, seconds, hop_seconds) > 0 for n in lengths], dtype=bool)


@dataclasses.dataclass
class Corpus:
    """The data sets of a run: all songs (``full``, for Table 1) and the songs trained on
    (``songs``: long enough for the longest segment used, capped under demo/smoke)."""

    kind: str                              # "real" | "demo"
    full: dict[str, pd.DataFrame]
    songs: dict[str, pd.DataFrame]
    lengths: dict[str, pd.Series]          # samples at 22,050 Hz, per row of ``full``
    description: str

    @property
    def datasets(self) -> list[str]:
        return list(self.songs)


def longest_duration(cfg: Config, datasets: Sequence[str]) -> int:
    used = set(cfg.durations)
    for ds in datasets:
        used |= {cfg.duration_for(t) for t in TASKS_OF[ds]}
    if cfg.noise_dataset in datasets:
        used.add(cfg.noise_duration)
    return int(max(used))


def load_corpus(ctx, cfg: Config) -> Corpus:
    """The real PMEmo / 4Q / EiM sets found under the data root, else the demo corpus's
    stand-ins (sources ``pmemo``, ``4q``, ``deam``). Songs with no segment of the longest
    duration used are left out of training (recorded as skips); the rest are capped at
    ``cfg.max_songs`` (and the profile's ``max_tracks``) per data set, class-balanced."""
    from mer_utils.datasets import cap_stratified, load, load_demo

    found = ctx.datasets()
    real = [d for d in cfg.datasets if SOURCE[d] in found]
    if real:
        full = {d: load(SOURCE[d], found[SOURCE[d]]) for d in real}
        kind = "real"
        absent = [d for d in cfg.datasets if d not in real]
        desc = "real " + ", ".join(f"{d} ({found[SOURCE[d]]})" for d in real)
        if absent:
            desc += f"; absent: {', '.join(absent)} (their rows show the paper's values only)"
    else:
        demo = load_demo(ctx.p, seed=int(ctx.p.get("demo_seed", 0)), cache_dir=ctx.cache_dir)
        full = {d: demo[demo["source"] == SOURCE[d]].reset_index(drop=True) for d in cfg.datasets}
        kind = "demo"
        desc = ("demo corpus stand-ins (synthetic clips): " + ", ".join(
            f"{d} <- source '{SOURCE[d]}'" for d in cfg.datasets) + "; no real PMEmo/4Q/EiM under the data root")
    longest = longest_duration(cfg, list(full))
    caps = [int(c) for c in (cfg.max_songs, ctx.p.max_tracks) if c]
    cap = min(caps) if caps else None
    songs, lengths = {}, {}
    for d, df in full.items():
        df = df.reset_index(drop=True)
        full[d] = df
        lengths[d] = song_lengths(df)
        ok = has_segment(lengths[d], longest, cfg.hop_seconds)
        for tid in df.loc[~ok, "track_id"]:
            ctx.manifest.skip(f"{d}:{tid}", f"shorter than one {longest}-s segment (no padding)")
        keep = df[ok].reset_index(drop=True)
        songs[d] = cap_stratified(keep, cap, "quadrant", ctx.seed).reset_index(drop=True)
    desc += "; songs trained on: " + ", ".join(f"{d} {len(s)}" for d, s in songs.items())
    ctx.manifest.add_source(NOTEBOOK, desc)
    return Corpus(kind, full, songs, lengths, desc)


@dataclasses.dataclass
class SegmentSet:
    """The segments of one data set at one duration: spectrograms ``X`` (n, frames, 128),
    ``owner`` (row of the song in ``Corpus.songs[dataset]``) and ``start_s``."""

    dataset: str
    duration: float
    X: np.ndarray
    owner: np.ndarray
    start_s: np.ndarray

    @property
    def n(self) -> int:
        return len(self.owner)


def load_segments(ctx, cfg: Config, songs: pd.DataFrame, dataset: str, duration: float) -> SegmentSet:
    """Mel spectrograms of every segment of ``songs`` (cached per track by the feature
    cache), restricted to the first ``cfg.max_seconds`` when set."""
    from mer_utils.features import extract_segments

    X, segs, kept = extract_segments(songs, FRONT_END, seconds=float(duration), hop_seconds=cfg.hop_seconds,
                                     ctx=ctx, progress=False)
    row_of = {t: i for i, t in enumerate(songs["track_id"].astype(str))}
    owner = np.asarray([row_of[str(t)] for t in segs["track_id"]], dtype=int)
    start = segs["start_s"].to_numpy(dtype=float)
    keep = np.ones(len(owner), dtype=bool)
    if cfg.max_seconds is not None:
        keep = start + duration <= cfg.max_seconds + 1e-9
    missing = sorted(set(range(len(songs))) - set(owner[keep]))
    if missing:
        raise ValueError(f"{dataset}: {len(missing)} song(s) have no {duration}-s segment "
                         f"(e.g. {songs['track_id'].iloc[missing[0]]}); load_corpus should have left them out")
    return SegmentSet(dataset, float(duration), X[keep], owner[keep], start[keep])




def used_pairs(cfg: Config, corpus: Corpus) -> list[tuple[str, int]]:
    """(data set, duration) pairs the run's experiments use, in run order."""
    exps = plan_table2(cfg, corpus) + plan_table3(cfg, corpus) + plan_noise(cfg, corpus)
    return sorted({(e.dataset, e.duration) for e in exps})


# =========================================================================== song level
def song_svm(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, labels: Sequence[str], *,
             c: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 10 features -> SVM: (predicted class index, scores (n, K)) of the test songs.

    RBF SVM on standardised features, trained on the training songs only. Scores are the
    softmax of the one-vs-rest decision values (not calibrated probabilities). A training
    set with a single class predicts that class.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    K = len(labels)
    present = np.unique(y_train)
    if len(present) < 2:
        pred = np.full(len(F_test), int(present[0]))
        return pred, np.eye(K, dtype=np.float32)[pred]
    svm = make_pipeline(StandardScaler(), SVC(C=c, kernel="rbf", gamma="scale",
                                              decision_function_shape="ovr", random_state=seed))
    svm.fit(F_train, y_train)
    dec = np.asarray(svm.decision_function(F_test), dtype=np.float64)
    classes = svm.classes_
    if dec.ndim == 1:                                   # binary: one decision value
        dec = np.stack([-dec, dec], axis=1) / 2
    score = np.full((len(F_test), K), -np.inf)
    score[:, classes] = dec
    score = np.exp(score - score.max(axis=1, keepdims=True))
    score = (score / score.sum(axis=1, keepdims=True)).astype(np.float32)
    return np.asarray(svm.predict(F_test), dtype=int), score


# =========================================================================== experiments
@dataclasses.dataclass(frozen=True)
class Exp:
    """One experiment: a method on a (data set, task) at one segment duration."""

    dataset: str
    task: str
    duration: int
    method: str
    noise: float = 0.0

    @property
    def name(self) -> str:
        n = f"_noise{int(round(100 * self.noise))}" if self.noise else ""
        return f"sun_{self.dataset.lower()}_{self.task}_{self.duration}s_{self.method}{n}"

    @property
    def labels(self) -> tuple[str, ...]:
        return LABELS[self.task]

    @property
    def title(self) -> str:
        """The experiment's name a reader sees, e.g. '4Q quadrant 1 s, Proposed'."""
        n = f", {int(round(100 * self.noise))} % labels flipped" if self.noise else ""
        return f"{self.dataset} {self.task} {self.duration} s, {METHODS[self.method]}{n}"


def plan_table2(cfg: Config, corpus: Corpus) -> list[Exp]:
    """Proposed, binary valence and arousal, every duration, PMEmo and 4Q (tasks listed in
    ``cfg.full_only`` left out)."""
    return [Exp(d, t, int(dur), "proposed") for d in corpus.datasets if d in cfg.table2_datasets
            for t in ("valence", "arousal") if cfg.trains(t) for dur in cfg.durations]


def plan_table3(cfg: Config, corpus: Corpus) -> list[Exp]:
    """The methods on every task of every data set at the task's duration (tasks listed in
    ``cfg.full_only`` left out)."""
    return [Exp(d, t, cfg.duration_for(t), m) for d in corpus.datasets for t in TASKS_OF[d] if cfg.trains(t)
            for m in cfg.table3_methods]


def plan_full_only(cfg: Config, corpus: Corpus) -> list[tuple[Exp, str]]:
    """The experiments of Tables 2 and 3 not trained under this profile, each with the reason
    (``cfg.full_only``)."""
    if not cfg.full_only:
        return []
    every = dataclasses.replace(cfg, full_only=())
    why = dict(cfg.full_only)
    exps = dict.fromkeys(plan_table2(every, corpus) + plan_table3(every, corpus))
    return [(e, str(why[e.task])) for e in exps if e.task in why]


def plan_noise(cfg: Config, corpus: Corpus) -> list[Exp]:
    """The noisy-label experiment: ``cfg.injected_noise`` of the training segments' labels
    flipped, each method in ``cfg.noise_methods``."""
    if cfg.noise_dataset not in corpus.datasets or not cfg.injected_noise or not cfg.trains(cfg.noise_task):
        return []
    return [Exp(cfg.noise_dataset, cfg.noise_task, int(cfg.noise_duration), m, float(cfg.injected_noise))
            for m in cfg.noise_methods]


# =========================================================================== the segment classifier
def segment_trainer(cfg: Config, input_shape: tuple[int, ...], n_classes: int):
    """The engine's :class:`~mer_utils.training.Trainer` of the segment classifier: VGG16
    (narrowed under demo/smoke) under the SSSL settings' recipe (epochs, batch size,
    optimizer, learning rate; every epoch, no stop rule). One per network shape, reused by
    every unit and method (the methods differ in the epoch step only)."""
    from functools import partial

    from mer_utils.models.vgg import build_vgg16
    from mer_utils.training import Trainer
    from mer_utils.training.sssl import sssl_recipe

    build = partial(build_vgg16, tuple(input_shape), int(n_classes), width=cfg.vgg_width, fc_units=cfg.fc_units,
                    dropout=cfg.dropout, name="vgg16" if not cfg.narrowed else "vgg16_narrowed")
    return Trainer(build, sssl_recipe(sssl_settings(cfg, "proposed")), name="sun segment classifier")


def predict_segments(trainer, X: np.ndarray, scaler, *, chunk: int = 4096) -> np.ndarray:
    """Segment probabilities of ``X`` scaled by ``scaler``, ``chunk`` rows at a time (no
    scaled copy of a whole training set at paper scale)."""
    if not len(X):
        return trainer.predict(scaler(X[:0]))
    return np.concatenate([trainer.predict(scaler(X[i:i + chunk])) for i in range(0, len(X), chunk)])


def fit_segment_classifier(trainer, X: np.ndarray, y: np.ndarray, n_classes: int, settings, *, seed: int,
                           noisy_truth: np.ndarray | None = None, log=None):
    """Standardise with the training segments' statistics, then ``trainer.fit`` with the
    SSSL step; every unit starts from the initial weights a build under ``seed`` gives (as
    the paper's classifier is trained anew per fold). Returns ``(scaler, history)``."""
    from mer_utils.training import Standardizer
    from mer_utils.training.sssl import SSSLStep

    scaler = Standardizer().fit(X)          # statistics of the training segments only
    step = SSSLStep(n_classes, settings, seed=seed, transform=scaler, noisy_truth=noisy_truth, log=log)
    hist = trainer.fit(X, y, seed=seed, init_seed=seed, step=step)
    return scaler, hist


class Experiments:
    """Sun et al.'s experiments run into the results store: features per (data set,
    duration) loaded once, one engine :class:`~mer_utils.training.Trainer` per network
    shape (reused by every unit and method), song splits saved as files."""

    def __init__(self, ctx, cfg: Config, corpus: Corpus):
        self.ctx, self.cfg, self.corpus = ctx, cfg, corpus
        self._segments: dict[tuple[str, float], SegmentSet] = {}
        self._trainers: dict[tuple, Any] = {}
        self.log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ pieces
    def segments(self, dataset: str, duration: float) -> SegmentSet:
        key = (dataset, float(duration))
        if key not in self._segments:
            if len(self._segments) >= 2 and self.cfg.profile == "full":
                self._segments.pop(next(iter(self._segments)))   # keep memory bounded at paper scale
            self._segments[key] = load_segments(self.ctx, self.cfg, self.corpus.songs[dataset], dataset, duration)
        return self._segments[key]

    def song_labels(self, dataset: str, task: str) -> np.ndarray:
        return task_labels(self.corpus.songs[dataset], dataset, task).to_numpy()

    def splits(self, dataset: str, task: str):
        songs = self.corpus.songs[dataset]
        return load_or_make_splits(self.ctx.results_dir / "splits" / NOTEBOOK, kfold(self.cfg.folds, seed=self.ctx.seed),
                                   songs["track_id"].astype(str), self.song_labels(dataset, task),
                                   name=f"sun-{dataset.lower()}-{task}")

    def trainer(self, input_shape: tuple[int, ...], n_classes: int):
        key = (tuple(input_shape), int(n_classes))
        if key not in self._trainers:
            self._trainers[key] = segment_trainer(self.cfg, input_shape, n_classes)
        return self._trainers[key]

    # ------------------------------------------------------------------ one unit
    def fit_predict(self, exp: Exp, split) -> UnitResult:
        from mer_utils.training.sssl import epoch_rows, inject_label_noise

        cfg = self.cfg
        seg = self.segments(exp.dataset, exp.duration)
        labels = list(exp.labels)
        y_song = np.asarray([labels.index(v) for v in self.song_labels(exp.dataset, exp.task)])
        ids = self.corpus.songs[exp.dataset]["track_id"].astype(str).to_numpy()
        s = split.expand(seg.owner)
        tr, te = s.train, s.test
        y_tr = y_song[seg.owner[tr]]
        flipped = None
        if exp.noise:
            y_tr, flipped = inject_label_noise(y_tr, len(labels), exp.noise,
                                               seed=1000 * self.ctx.seed + split.unit.fold)
        X_tr = seg.X[tr]                       # one copy of the training segments, reused below
        trainer = self.trainer(seg.X.shape[1:], len(labels))
        messages: list[str] = []
        scaler, hist = fit_segment_classifier(
            trainer, X_tr, y_tr, len(labels), sssl_settings(cfg, exp.method, log_split=bool(exp.noise)),
            seed=self.ctx.seed, noisy_truth=flipped, log=messages.append)
        if messages:
            reasons = sorted({m.split(": ", 1)[1].split(";")[0] for m in messages})
            print(f"  {split.unit.key}: split not (fully) used in {len(messages)} SSSL epoch(s): {'; '.join(reasons)}")
        P_tr = predict_segments(trainer, X_tr, scaler)
        del X_tr
        P_te = predict_segments(trainer, seg.X[te], scaler)
        F_tr = segment_statistics(seg.owner[tr], P_tr, threshold=cfg.theta, labels=labels)
        F_te = segment_statistics(seg.owner[te], P_te, threshold=cfg.theta, labels=labels)
        rows_tr = F_tr.index.astype(int).to_numpy()
        rows_te = F_te.index.astype(int).to_numpy()
        pred, score = song_svm(F_tr.to_numpy(), y_song[rows_tr], F_te.to_numpy(), labels,
                               c=cfg.svm_c, seed=self.ctx.seed)
        pos = {r: i for i, r in enumerate(rows_te)}
        info: dict[str, Any] = {
            "history": epoch_rows(hist), "fallbacks": list(hist["warnings"]), "train_segments": int(len(tr)),
            "test_segments": int(len(te)), "train_seconds": hist["seconds"], "parameters": trainer.n_params,
            "segment_train_accuracy_inherited": float(np.mean(P_tr.argmax(1) == y_song[seg.owner[tr]])),
            "segments": {"song": [int(pos[r]) for r in seg.owner[te]],
                         "start_s": seg.start_s[te].round(2).tolist(),
                         "P": np.round(P_te, 4).tolist()}}
        snapshots = hist["snapshots"]
        if split.unit.fold == 0 and snapshots:
            e = max(snapshots)
            snap = snapshots[e]
            info["snapshot"] = {"epoch": int(e), "loss": np.round(snap["loss"], 4).tolist(),
                                "w": np.round(snap["w"], 4).tolist(),
                                "flipped": flipped.astype(int).tolist() if flipped is not None else None}
        return UnitResult(ids=ids[rows_te], y_true=np.asarray(labels)[y_song[rows_te]], y_score=score,
                          labels=labels, y_pred=np.asarray(labels)[pred], info=info)

    # ------------------------------------------------------------------ experiments
    def run(self, plan: Sequence[Exp]) -> pd.DataFrame:
        """Run every experiment of ``plan`` not yet stored (resumable, unit by unit);
        returns one row per experiment with its wall time in this call."""
        order = sorted(dict.fromkeys(plan), key=lambda e: (e.dataset, e.duration, e.task, e.method, e.noise))
        rows = []
        for exp in order:
            t0 = time.perf_counter()
            songs = self.corpus.songs[exp.dataset]
            ids_hash = hashlib.sha1("\x1f".join(songs["track_id"].astype(str)).encode()).hexdigest()[:10]
            config = dict(self.cfg.training_key(), experiment=dataclasses.asdict(exp), corpus=self.corpus.kind,
                          songs=ids_hash, front_end=FRONT_END, seed=self.ctx.seed, trainer="engine + SSSLStep")
            meta = {"paper": PAPER, "method": METHODS[exp.method], "dataset": exp.dataset, "task": exp.task,
                    "duration": exp.duration, "noise": exp.noise, "corpus": self.corpus.description,
                    "network": "VGG16" if not self.cfg.narrowed else
                    f"narrowed VGG16 (width {self.cfg.vgg_width:g}, FC {self.cfg.fc_units}); not the paper's"}
            seg = self.segments(exp.dataset, exp.duration)
            rows_fp = row_fingerprints(seg.X, owner=seg.owner, n_rows=len(songs))   # a song's segments
            run_protocol(self.ctx.results_dir, exp.name, self.splits(exp.dataset, exp.task), config=config,
                         fit_predict=lambda sp, e=exp: self.fit_predict(e, sp), meta=meta, rows=rows_fp)
            rows.append({"experiment": exp.name, "seconds": round(time.perf_counter() - t0, 1)})
        out = pd.DataFrame(rows)
        self.log += rows
        return out
