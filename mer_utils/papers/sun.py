"""Sun, Zhang, Zhou & Li, "Semi-Supervised Self-Learning Enhanced Music Emotion
Recognition" (notebook ``30_sun_sssl``).

The method, step by step (the paper's words in quotes; every step is a function here):

1. **Segments** — songs are cut into 1-5 s segments, "the overlap of adjacent segments is
   1s less than the segment duration", "we did not do any padding"; each segment inherits
   its song's label (:func:`segment_counts`, :meth:`Runner.segments`; Table 1).
2. **Features** — a mel spectrogram per segment, "Hanning window length of 1,024 and
   window hop size of 512", "128 mel bins" (the ``sun_segment`` front end, cached per
   track; a 1-s segment is 44 x 128).
3. **Segment classifier** — "VGG16, we only modify the input channel and output number"
   (:func:`mer_utils.models.vgg.build_vgg16`, randomly initialised).
4. **SSSL training** — every epoch a two-component GMM on the per-sample losses splits the
   segments into a clean, labelled set and a noisy, unlabelled one; sharpened predictions
   (Eq. 4) replace the erased labels; mixup (Eqs. 6-7) and R-Drop (Eq. 8);
   L = L_MIX + lambda L_KL (Eq. 9) (:mod:`mer_utils.training.sssl`; :func:`sssl_settings`).
5. **Song-level decision** — the 7 x K statistics of Eq. 10 over a song's segment
   probabilities (:func:`mer_utils.evaluation.segment_statistics`) -> an SVM trained on the
   training songs only (:func:`song_svm`).
6. **Baselines** — "Inherited labels" (the simple baseline: plain cross-entropy on
   inherited labels), "Proposed*" (SSSL without L_KL), "Proposed".
7. **Tasks and protocol** — binary valence and arousal (4Q: from quadrants, V+ = Q1, Q4,
   A+ = Q1, Q2; PMEmo: from its static V/A, > 0.5 high), 4-class quadrants; 10-fold CV
   with folds by song ("average values obtained under the cross-validation of ten fold").
8. **Outputs** — Tables 1-3 and Fig. 2 (:func:`table1`, :func:`table2`, :func:`table3`,
   :func:`plot_fig2`), the noisy-label experiment (:func:`noise_table`,
   :func:`plot_sssl_training`).

Everything the paper does not fix is a :class:`Config` setting with the paper's words and
our reason, and every profile's values are in ``Config.PROFILES``. The data: the real
PMEmo / 4Q / Emotion in Music sets when they are under the data root, else the demo
corpus's three sources that mimic them (``pmemo``, ``4q``, ``deam``).
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
from mer_utils.evaluation import kfold, load_or_make_splits, majority_vote, mean_probability, segment_statistics
from mer_utils.evaluation.metrics import fold_labels
from mer_utils.experiment import Fidelity, PaperConfig, UnitResult, fidelity_table, run_protocol, setting
from mer_utils.labels import VA_THRESHOLDS
from mer_utils.results import compare_with_paper, load_predictions, paper_values, score_experiment, summarise

PAPER = "sun"
NOTEBOOK = "30_sun_sssl"
FRONT_END = "sun_segment"
SR = 22050                                   # the sun_segment front end's rate
DATASETS = ("PMEmo", "4Q", "EiM")
SOURCE = {"PMEmo": "pmemo", "4Q": "4q", "EiM": "deam"}   # loader name = demo source name
TASKS_OF = {"PMEmo": ("valence", "arousal"), "4Q": ("valence", "arousal", "quadrant"),
            "EiM": ("quadrant",)}
LABELS = {"valence": ("V-", "V+"), "arousal": ("A-", "A+"), "quadrant": ("Q1", "Q2", "Q3", "Q4")}
METHODS = {"simple": "Inherited labels", "proposed_star": "Proposed*", "proposed": "Proposed"}
PAPER_SONGS = {"PMEmo": 767, "4Q": 900, "EiM": 1000}


# =========================================================================== configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """Settings of notebook 30: the paper's values as defaults (``full``), scaled in
    ``smoke`` and ``demo`` (see ``PROFILES``)."""

    datasets: tuple = setting(DATASETS, paper="PMEmo (767 songs), 4Q (900), EiM (744)",
                              note="real sets found under the data root, else the demo corpus's stand-ins")
    max_songs: int | None = setting(None, paper="all songs",
                                    note="demo/smoke: a class-balanced subset per data set")
    max_seconds: float | None = setting(None, paper="whole clips, 'we did not do any padding'",
                                        note="demo/smoke: only segments inside each song's first N s")
    durations: tuple = setting((1, 2, 3, 4, 5), paper="'integer segment duration from 1s to 5s' (Table 2)")
    hop_seconds: float = setting(1.0, paper="'overlap of adjacent segments is 1s less than the segment duration'")
    duration_valence: int = setting(3, paper="Table 3's Proposed valence = Table 2's 3-s row (PMEmo)",
                                    note="segment duration of Table 3's valence rows")
    duration_arousal: int = setting(1, paper="Table 3's Proposed arousal = Table 2's 1-s row")
    duration_quadrant: int = setting(3, paper="not given for the four-class rows",
                                     note="3 s, the paper's valence choice (quadrants need valence)")
    table2_datasets: tuple = setting(("PMEmo", "4Q"), paper="Table 2: PMEmo and 4Q")
    table3_methods: tuple = setting(tuple(METHODS), paper="Table 3: Proposed*, Proposed (+ literature)",
                                    note="plus our inherited-label baseline")
    folds: int = setting(10, paper="'cross-validation of ten fold'", note="folds by song, stratified")
    epochs: int = setting(30, paper="not given", note="our choice")
    warmup_epochs: int = setting(5, paper="not given",
                                 note="plain cross-entropy before the first GMM split, as DivideMix")
    batch_size: int = setting(32, paper="not given")
    optimizer: str = setting("adam", paper="not given")
    learning_rate: float = setting(1e-4, paper="not given", note="Adam 1e-4 for VGG16 from scratch")
    tau: float = setting(0.5, paper="'a global threshold τ' (value not given)", note="DivideMix's 0.5")
    temperature: float = setting(0.5, paper="'temperature coefficient' T (value not given)",
                                 note="MixMatch / DivideMix 0.5")
    alpha: float = setting(4.0, paper="δ 'drawn from a beta distribution' (parameters not given)",
                           note="Beta(4, 4), DivideMix's CIFAR value")
    lam: float = setting(1.0, paper="'λ is the hyperparameter to control the weight' (not given)",
                         note="1.0 (R-Drop uses 0.3-5 by task)")
    theta: float = setting(0.5, paper="'low sensitivity to a threshold, allowing for empirical selection'")
    vgg_width: float = setting(1.0, paper="VGG16", note="< 1 is a narrowed VGG (not the paper's)")
    fc_units: int = setting(4096, paper="VGG16 (4096-unit FC layers)")
    dropout: float = setting(0.5, paper="not given", note="VGG16's dropout 0.5 in the FC layers")
    svm_c: float = setting(1.0, paper="'The support vector machine (SVM)' (no settings given)",
                           note="RBF kernel, C = 1, gamma 'scale', standardised features")
    injected_noise: float = setting(0.3, paper="— (our experiment)",
                                    note="share of training-segment labels flipped in the noise experiment")
    noise_dataset: str = setting("4Q", paper="—")
    noise_task: str = setting("arousal", paper="—")
    noise_duration: int = setting(1, paper="—")
    noise_methods: tuple = setting(("simple", "proposed_star", "proposed"), paper="—")
    fig2_song: str = setting("MT0010465830", paper="Fig. 2: 'test sample MT0010465830' (4Q, Q1)")

    PROFILES = {
        "smoke": dict(datasets=("PMEmo", "4Q"), max_songs=16, max_seconds=6.0, durations=(1,),
                      table2_datasets=("4Q",), table3_methods=("simple", "proposed"),
                      duration_valence=1, duration_arousal=1, duration_quadrant=1, folds=2,
                      epochs=2, warmup_epochs=1, batch_size=8, learning_rate=1e-3,
                      vgg_width=1 / 16, fc_units=32, noise_methods=("simple", "proposed")),
        "demo": dict(max_songs=24, max_seconds=10.0, durations=(1, 2), table2_datasets=("4Q",),
                     table3_methods=("simple", "proposed"), duration_valence=1, duration_arousal=1,
                     duration_quadrant=1, folds=3, epochs=5, warmup_epochs=2, batch_size=8,
                     learning_rate=1e-3, vgg_width=1 / 16, fc_units=64),
        "full": {},
    }

    def duration_for(self, task: str) -> int:
        return int(getattr(self, f"duration_{task}"))

    @property
    def narrowed(self) -> bool:
        return self.vgg_width < 1 or self.fc_units < 4096

    def training_key(self) -> dict[str, Any]:
        """The settings that change a unit's numbers (for the results' configuration hash)."""
        keep = ("max_seconds", "hop_seconds", "epochs", "warmup_epochs", "batch_size", "optimizer",
                "learning_rate", "tau", "temperature", "alpha", "lam", "theta", "vgg_width",
                "fc_units", "dropout", "svm_c")
        return {k: getattr(self, k) for k in keep}


#: A larger noisy-label study than the demo profile affords (about 400 CPU-seconds): all 60
#: 4Q-like demo songs, their first 20 s, 10 epochs of which 4 warm-up, batch 16. Pass it as
#: the notebook's ``overrides`` (or ``Config.for_profile("demo", **NOISE_STUDY)``).
NOISE_STUDY = dict(datasets=("4Q",), max_songs=60, max_seconds=20.0, durations=(1,), epochs=10,
                   warmup_epochs=4, batch_size=16, learning_rate=5e-4,
                   noise_methods=("simple", "proposed_star", "proposed"))


def config_for(profile: str, overrides: dict | None = None, **params: Any) -> Config:
    """The notebook's configuration: the profile's, then ``overrides`` (a dict of settings,
    e.g. :data:`NOISE_STUDY`), then the parameters cell's values that are not None."""
    values = dict(overrides or {})
    values.update({k: v for k, v in params.items() if v is not None})
    return Config.for_profile(profile, **values)


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


def corpus_summary(corpus: Corpus) -> pd.DataFrame:
    """Per data set: songs (all / trained on), durations, and the songs per class of each task."""
    rows = []
    for d, df in corpus.songs.items():
        r = {"data set": d, "data": "real" if corpus.kind == "real" else "demo stand-in",
             "songs (all)": len(corpus.full[d]), "songs trained on": len(df),
             "median duration (s)": round(float(df["duration"].median()), 1)}
        for t in TASKS_OF[d]:
            counts = task_labels(df, d, t).value_counts()
            r[t] = " / ".join(f"{lab} {int(counts.get(lab, 0))}" for lab in LABELS[t])
        rows.append(r)
    return pd.DataFrame(rows)


# =========================================================================== Table 1
def table1(corpus: Corpus, cfg: Config) -> pd.DataFrame:
    """Songs and segments per data set and duration (1-5 s, hop 1 s, no padding), ours
    (every song of the data set, the rule on the files' lengths) beside the paper's."""
    pv = paper_values(PAPER, "1")
    pv = pv.pivot_table(index="row", columns="metric", values="value")
    rows = []
    for d in DATASETS:
        df = corpus.full.get(d)
        for dur in (1, 2, 3, 4, 5):
            key = f"{d} {dur} s"
            r = {"data set": d, "duration (s)": dur, "overlap (s)": dur - cfg.hop_seconds,
                 "paper songs": pv.loc[key, "songs"] if key in pv.index else np.nan,
                 "paper segments": pv.loc[key, "segments"] if key in pv.index else np.nan}
            if df is not None:
                counts = [segment_count(n, dur, cfg.hop_seconds) for n in corpus.lengths[d]]
                r.update({"our songs": len(df), "our segments": int(np.sum(counts)),
                          "our songs without a segment": int(np.sum(np.asarray(counts) == 0))})
            rows.append(r)
    out = pd.DataFrame(rows)
    for who in ("paper", "our"):
        if f"{who} segments" in out:
            out[f"{who} segments per song"] = out[f"{who} segments"] / out[f"{who} songs"]
    for c in ("paper songs", "paper segments", "our songs", "our segments", "our songs without a segment"):
        if c in out:
            out[c] = out[c].astype("Int64")
    out["data"] = [("real" if corpus.kind == "real" else "demo stand-in") if d in corpus.full else "—"
                   for d in out["data set"]]
    return out


def paper_table1_check() -> pd.DataFrame:
    """The paper's Table 1 against its own rule: with a 1-s hop, one more second of segment
    removes at most one segment per song, so consecutive counts may differ by at most
    the number of songs."""
    pv = paper_values(PAPER, "1").pivot_table(index="row", columns="metric", values="value")
    rows = []
    for d in DATASETS:
        for dur in (1, 2, 3, 4):
            a, b = pv.loc[f"{d} {dur} s"], pv.loc[f"{d} {dur + 1} s"]
            drop = int(a["segments"] - b["segments"])
            rows.append({"data set": d, "from -> to (s)": f"{dur} -> {dur + 1}", "segments lost": drop,
                         "songs": int(a["songs"]), "possible under the rule": drop <= a["songs"]})
    return pd.DataFrame(rows)


# =========================================================================== segments
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


def segments_summary(runner: "Runner", datasets_durations: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """For each (data set, duration) used: the segments extracted (after the profile's
    crop) beside the rule's count on the same songs — they must agree — and the input shape."""
    rows = []
    for d, dur in dict.fromkeys(datasets_durations):
        seg = runner.segments(d, dur)
        songs = runner.corpus.songs[d]
        lengths = runner.corpus.lengths[d].loc[runner.corpus.full[d]["track_id"].isin(songs["track_id"])]
        rule = segment_counts(songs, [dur], hop_seconds=runner.cfg.hop_seconds,
                              max_seconds=runner.cfg.max_seconds, lengths=lengths.reset_index(drop=True))
        rows.append({"data set": d, "duration (s)": dur, "songs": len(songs), "segments extracted": seg.n,
                     "segments by the rule": int(rule[dur].sum()), "input (frames x bands)": "x".join(map(str, seg.X.shape[1:])),
                     "MB in memory": round(seg.X.nbytes / 2**20, 1)})
    return pd.DataFrame(rows)


def used_pairs(cfg: Config, corpus: Corpus) -> list[tuple[str, int]]:
    """(data set, duration) pairs the run's experiments use, in run order."""
    exps = plan_table2(cfg, corpus) + plan_table3(cfg, corpus) + plan_noise(cfg, corpus)
    return sorted({(e.dataset, e.duration) for e in exps})


def model_table(cfg: Config, corpus: Corpus) -> pd.DataFrame:
    """VGG16 as the paper uses it beside the network this profile trains, for every input
    size used: trainable parameters and the shape after the five pools."""
    from mer_utils.features import get_front_end
    from mer_utils.models.vgg import vgg16_parameter_count, vgg_output_shape

    fe = get_front_end(FRONT_END)
    nets = [("VGG16 (paper)", 1.0, 4096)]
    if cfg.narrowed:
        nets.append((f"narrowed VGG16 (filters x{cfg.vgg_width:g}, FC {cfg.fc_units}; not the paper's)",
                     cfg.vgg_width, cfg.fc_units))
    rows = []
    for label, width, fc in nets:
        for _, dur in sorted({(0, dur) for _, dur in used_pairs(cfg, corpus)}):
            shape = (fe.frames_for(dur), fe.n_mels)
            rows.append({"network": label, "segment (s)": dur, "input (frames x bands)": f"{shape[0]}x{shape[1]}",
                         "after 5 pools": "x".join(map(str, vgg_output_shape(shape, width))),
                         "parameters (K = 2)": vgg16_parameter_count(shape, 2, width=width, fc_units=fc),
                         "parameters (K = 4)": vgg16_parameter_count(shape, 4, width=width, fc_units=fc)})
    return pd.DataFrame(rows)


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


def plan_table2(cfg: Config, corpus: Corpus) -> list[Exp]:
    """Proposed, binary valence and arousal, every duration, PMEmo and 4Q."""
    return [Exp(d, t, int(dur), "proposed") for d in corpus.datasets if d in cfg.table2_datasets
            for t in ("valence", "arousal") for dur in cfg.durations]


def plan_table3(cfg: Config, corpus: Corpus) -> list[Exp]:
    """The methods on every task of every data set at the task's duration."""
    return [Exp(d, t, cfg.duration_for(t), m) for d in corpus.datasets for t in TASKS_OF[d]
            for m in cfg.table3_methods]


def plan_noise(cfg: Config, corpus: Corpus) -> list[Exp]:
    """The noisy-label experiment: ``cfg.injected_noise`` of the training segments' labels
    flipped, each method in ``cfg.noise_methods``."""
    if cfg.noise_dataset not in corpus.datasets or not cfg.injected_noise:
        return []
    return [Exp(cfg.noise_dataset, cfg.noise_task, int(cfg.noise_duration), m, float(cfg.injected_noise))
            for m in cfg.noise_methods]


class Runner:
    """Runs experiments into the results store: features per (data set, duration) loaded
    once, one compiled trainer per network shape, song splits saved as files."""

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
        from mer_utils.config import seed_everything
        from mer_utils.models.vgg import build_vgg16
        from mer_utils.training.sssl import SSSLTrainer

        cfg = self.cfg
        key = (tuple(input_shape), n_classes, cfg.vgg_width, cfg.fc_units, cfg.dropout, cfg.optimizer,
               cfg.learning_rate, self.ctx.seed)
        if key not in self._trainers:
            seed_everything(self.ctx.seed)
            model = build_vgg16(input_shape, n_classes, width=cfg.vgg_width, fc_units=cfg.fc_units,
                                dropout=cfg.dropout, name="vgg16" if not cfg.narrowed else "vgg16_narrowed")
            self._trainers[key] = SSSLTrainer(model, optimizer=cfg.optimizer, learning_rate=cfg.learning_rate)
        return self._trainers[key]

    # ------------------------------------------------------------------ one unit
    def fit_predict(self, exp: Exp, split) -> UnitResult:
        from mer_utils.training import Standardizer
        from mer_utils.training.sssl import inject_label_noise

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
        scaler = Standardizer().fit(X_tr)      # statistics of the training segments only
        trainer = self.trainer(seg.X.shape[1:], len(labels))
        messages: list[str] = []
        res = trainer.fit(X_tr, y_tr, len(labels), sssl_settings(cfg, exp.method, log_split=bool(exp.noise)),
                          seed=self.ctx.seed, transform=scaler, noisy_truth=flipped, log=messages.append)
        if messages:
            reasons = sorted({m.split(": ", 1)[1].split(";")[0] for m in messages})
            print(f"  {split.unit.key}: split not (fully) used in {len(messages)} SSSL epoch(s): {'; '.join(reasons)}")
        P_tr = trainer.predict(X_tr, transform=scaler)
        del X_tr
        P_te = trainer.predict(seg.X[te], transform=scaler)
        F_tr = segment_statistics(seg.owner[tr], P_tr, threshold=cfg.theta, labels=labels)
        F_te = segment_statistics(seg.owner[te], P_te, threshold=cfg.theta, labels=labels)
        rows_tr = F_tr.index.astype(int).to_numpy()
        rows_te = F_te.index.astype(int).to_numpy()
        pred, score = song_svm(F_tr.to_numpy(), y_song[rows_tr], F_te.to_numpy(), labels,
                               c=cfg.svm_c, seed=self.ctx.seed)
        pos = {r: i for i, r in enumerate(rows_te)}
        info: dict[str, Any] = {
            "history": res.history, "fallbacks": res.warnings(), "train_segments": int(len(tr)),
            "test_segments": int(len(te)),
            "segment_train_accuracy_inherited": float(np.mean(P_tr.argmax(1) == y_song[seg.owner[tr]])),
            "segments": {"song": [int(pos[r]) for r in seg.owner[te]],
                         "start_s": seg.start_s[te].round(2).tolist(),
                         "P": np.round(P_te, 4).tolist()}}
        if split.unit.fold == 0 and res.snapshots:
            e = max(res.snapshots)
            snap = res.snapshots[e]
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
                          songs=ids_hash, front_end=FRONT_END, seed=self.ctx.seed)
            meta = {"paper": PAPER, "method": METHODS[exp.method], "dataset": exp.dataset, "task": exp.task,
                    "duration": exp.duration, "noise": exp.noise, "corpus": self.corpus.description,
                    "network": "VGG16" if not self.cfg.narrowed else
                    f"narrowed VGG16 (width {self.cfg.vgg_width:g}, FC {self.cfg.fc_units}); not the paper's"}
            run_protocol(self.ctx.results_dir, exp.name, self.splits(exp.dataset, exp.task), config=config,
                         fit_predict=lambda sp, e=exp: self.fit_predict(e, sp), meta=meta)
            rows.append({"experiment": exp.name, "seconds": round(time.perf_counter() - t0, 1)})
        out = pd.DataFrame(rows)
        self.log += rows
        return out


# =========================================================================== scores and tables
def _f1(fp) -> float:
    from sklearn.metrics import f1_score

    yt, yp = fold_labels(fp)
    labels = list(fp.labels)
    if len(labels) == 2:      # binary: F1 of the high class (V+ / A+)
        return float(f1_score(yt, yp, pos_label=labels[1], average="binary", zero_division=0))
    return float(f1_score(yt, yp, labels=labels, average="macro", zero_division=0))


def _accuracy(fp) -> float:
    yt, yp = fold_labels(fp)
    return float(np.mean(yt == yp))


def _segment_arrays(fp):
    seg = fp.info.get("segments") or {}
    P = np.asarray(seg.get("P", []), dtype=float)
    song = np.asarray(seg.get("song", []), dtype=int)
    truth = np.asarray([list(fp.labels).index(str(v)) for v in fp.y_true])
    return P, song, truth


def _segment_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    return float(np.mean(P.argmax(1) == truth[song])) if len(P) else float("nan")


def _mean_probability_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    if not len(P):
        return float("nan")
    songs, M = mean_probability(song, P)
    return float(np.mean(M.argmax(1) == truth[songs.astype(int)]))


def _majority_vote_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    if not len(P):
        return float("nan")
    songs, v = majority_vote(song, P)
    return float(np.mean(v == truth[songs.astype(int)]))


METRICS = {"accuracy": _accuracy, "f1": _f1}
"""Song-level accuracy and F1 (binary: of the high class; four classes: macro)."""
DIAGNOSTICS = {"segment_accuracy": _segment_accuracy, "mean_probability_accuracy": _mean_probability_accuracy,
               "majority_vote_accuracy": _majority_vote_accuracy}
"""Segment-level accuracy against inherited labels and two simpler song decisions."""


def scores(ctx, exps: Sequence[Exp], metrics: dict | None = None) -> pd.DataFrame:
    """Mean and std over folds of every experiment (from the stored predictions)."""
    metrics = metrics or METRICS
    parts = []
    for e in dict.fromkeys(exps):
        s = summarise(score_experiment(ctx.results_dir, e.name, metrics))
        s = s.assign(dataset=e.dataset, task=e.task, duration=e.duration, method=e.method, noise=e.noise)
        parts.append(s)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _wide(s: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    s = s.assign(row=row)
    out = {}
    for r, g in s.groupby("row", sort=False):
        d = {}
        for t in g.itertuples():
            d[f"{t.task}_accuracy"], d[f"{t.task}_accuracy_std"] = t.accuracy, t.accuracy_std
            d[f"{t.task}_f1"], d[f"{t.task}_f1_std"] = t.f1, t.f1_std
        out[r] = d
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("row").reset_index()


PAPER_CELLS: tuple[tuple[str, str, str], ...] = (
    tuple(("2", f"{ds} {d} s", f"{t}_{m}") for ds in ("PMEmo", "4Q") for d in range(1, 6)
          for t in ("valence", "arousal") for m in ("accuracy", "f1"))
    + tuple(("3", f"{ds} {METHODS[k]}", f"{t}_{m}") for ds in DATASETS for k in ("proposed_star", "proposed")
            for t in TASKS_OF[ds] for m in ("accuracy", "f1")))
"""The (table, row, metric) cells Tables 2 and 3 compare (``tests/test_paper_values.py``);
the inherit-label baseline has no paper value and is shown as ours alone."""


def table2(ctx, cfg: Config, corpus: Corpus) -> pd.DataFrame:
    """Table 2: valence and arousal accuracy / F1 per duration and data set (Proposed),
    long format with the paper's value beside ours."""
    exps = plan_table2(cfg, corpus)
    s = scores(ctx, exps)
    wide = _wide(s, s["dataset"] + " " + s["duration"].astype(str) + " s")
    metrics = [c for c in wide.columns if c != "row" and not c.endswith("_std")]
    out = compare_with_paper(wide, PAPER, "2", row_col="row", metric_cols=metrics, require_paper=True)
    key = out["row"].map(lambda r: (DATASETS.index(r.split()[0]) if r.split()[0] in DATASETS else 9,
                                    float(r.split()[1])))
    return out.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k").reset_index(drop=True)


def table3(ctx, cfg: Config, corpus: Corpus) -> pd.DataFrame:
    """Table 3: every method (ours) and the paper's rows incl. the literature, long format."""
    exps = plan_table3(cfg, corpus)
    s = scores(ctx, exps)
    wide = _wide(s, s["dataset"] + " " + s["method"].map(METHODS))
    metrics = [c for c in wide.columns if c != "row" and not c.endswith("_std")]
    # the paper reports no number for the inherit-label baseline: those rows are ours alone
    baseline = wide["row"].str.endswith(METHODS["simple"])
    out = compare_with_paper(wide[~baseline], PAPER, "3", row_col="row", metric_cols=metrics,
                             require_paper=True)
    if baseline.any():
        ours_only = wide[baseline].melt(id_vars="row", value_vars=metrics, var_name="metric",
                                        value_name="reproduced").dropna(subset=["reproduced"])
        std = wide[baseline].melt(id_vars="row", value_vars=[f"{m}_std" for m in metrics if f"{m}_std" in wide],
                                  var_name="metric", value_name="reproduced_std")
        std["metric"] = std["metric"].str.removesuffix("_std")
        ours_only = ours_only.merge(std, on=["row", "metric"], how="left").assign(paper=np.nan, delta=np.nan)
        out = pd.concat([out, ours_only[out.columns]], ignore_index=True)
    # the paper's order: per data set, literature rows first, then ours
    ours = list(METHODS.values())

    def key(row: str):
        ds, _, method = row.partition(" ")
        return (DATASETS.index(ds) if ds in DATASETS else 9, ours.index(method) + 1 if method in ours else 0)

    out["_k"] = out["row"].map(key)
    return out.sort_values("_k", kind="stable").drop(columns="_k").reset_index(drop=True)


def side_by_side(comparison: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """A long paper-vs-ours table as one row per table row, ``paper | ours`` per metric."""
    c = comparison.copy()
    c["cell"] = [("—" if pd.isna(p) else f"{p:.{decimals}f}") + " | " +
                 ("—" if pd.isna(r) else f"{r:.{decimals}f}" + ("" if pd.isna(sd) else f" ± {sd:.{decimals - 1}f}"))
                 for p, r, sd in zip(c["paper"], c["reproduced"], c["reproduced_std"])]
    order = list(dict.fromkeys(c["row"]))
    metrics = list(dict.fromkeys(c["metric"]))
    out = c.pivot(index="row", columns="metric", values="cell").reindex(index=order, columns=metrics)
    return out.fillna("").rename_axis(columns="paper | ours")


def noise_table(ctx, cfg: Config, corpus: Corpus) -> pd.DataFrame:
    """The noisy-label experiment: each method with and without injected segment-label
    noise (song-level SVM and segment-level accuracy; which flipped labels SSSL put in U)."""
    noisy = plan_noise(cfg, corpus)
    if not noisy:
        return pd.DataFrame()
    clean = [dataclasses.replace(e, noise=0.0) for e in noisy]
    have = [e for e in clean if (ctx.results_dir / "predictions" / e.name).exists()]
    s = scores(ctx, noisy + have, dict(METRICS, **DIAGNOSTICS))
    rows = []
    for e in noisy:
        fps = load_predictions(ctx.results_dir, e.name)
        last = [fp.info["history"][-1] for fp in fps]
        rows.append({"method": METHODS[e.method], "noise": e.noise,
                     "flipped labels put in U (last epoch)": np.nanmean([h.get("flipped_flagged_noisy", np.nan) for h in last]),
                     "clean share (last epoch)": np.nanmean([h.get("clean_share", np.nan) for h in last]),
                     "labels right in X (last epoch)": np.nanmean([h.get("clean_set_label_precision", np.nan) for h in last])})
    extra = pd.DataFrame(rows)
    s["method"] = s["method"].map(METHODS)
    keep = ["method", "noise", "accuracy", "accuracy_std", "f1", "segment_accuracy",
            "mean_probability_accuracy", "majority_vote_accuracy", "n_folds"]
    out = s[keep].merge(extra, on=["method", "noise"], how="left")
    return out.sort_values(["noise", "method"]).reset_index(drop=True)


def aggregation_table(ctx, exps: Sequence[Exp]) -> pd.DataFrame:
    """Song decisions compared: the paper's SVM on Eq. 10 features vs the mean segment
    probability and the majority vote (from the same stored segment probabilities)."""
    s = scores(ctx, exps, dict(METRICS, **DIAGNOSTICS))
    s["method"] = s["method"].map(METHODS)
    cols = ["dataset", "task", "duration", "method", "segment_accuracy", "accuracy",
            "mean_probability_accuracy", "majority_vote_accuracy"]
    return s[cols].rename(columns={"accuracy": "svm_accuracy"})


def training_log(ctx, exp: Exp, fold: int = 0) -> pd.DataFrame:
    """The per-epoch log of one unit (phase, clean share, GMM, loss terms, seconds)."""
    fp = next(f for f in load_predictions(ctx.results_dir, exp.name) if f.fold == fold)
    h = pd.DataFrame(fp.info["history"])
    cols = [c for c in ("epoch", "phase", "clean_share", "flipped_flagged_noisy", "clean_set_label_precision",
                        "gmm_mean_clean", "gmm_mean_noisy", "gmm_weight_clean", "gmm_converged", "fallback",
                        "kept_classes",
                        "loss_mix", "loss_kl", "loss_total", "pass_accuracy", "seconds") if c in h]
    return h[cols]


def epoch_seconds(ctx, exps: Sequence[Exp]) -> pd.DataFrame:
    """Seconds per training epoch (mean over epochs and folds) by duration and method."""
    rows = []
    for e in dict.fromkeys(exps):
        for fp in load_predictions(ctx.results_dir, e.name):
            h = fp.info.get("history", [])
            for r in h:
                rows.append({"duration (s)": e.duration, "method": METHODS[e.method], "phase": r["phase"].split(" (")[0],
                             "seconds": r["seconds"], "segments": r["n"]})
    if not rows:
        return pd.DataFrame()
    d = pd.DataFrame(rows)
    return d.groupby(["duration (s)", "method", "phase"]).agg(
        seconds_per_epoch=("seconds", "mean"), training_segments=("segments", "mean"), epochs=("seconds", "size")
    ).reset_index()


# =========================================================================== figures
def plot_sssl_training(ctx, cfg: Config, corpus: Corpus):
    """What SSSL does, on the noise experiment's first fold: (a) the per-sample losses of
    the last split, flipped vs intact labels, with the fitted GMM and the clean/noisy
    boundary; (b) clean share and flipped labels caught per epoch; (c) the loss terms."""
    import matplotlib.pyplot as plt

    noisy = {e.method: e for e in plan_noise(cfg, corpus)}
    if not noisy:
        return None
    get = {m: next(f for f in load_predictions(ctx.results_dir, e.name) if f.fold == 0) for m, e in noisy.items()}
    main = "proposed" if "proposed" in get else next(iter(get))
    fp = get[main]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    snap = fp.info.get("snapshot")
    ax = axes[0]
    if snap:
        loss = np.asarray(snap["loss"])
        flipped = np.asarray(snap["flipped"] or np.zeros(len(loss)), dtype=bool)
        lo, hi = float(loss.min()), float(loss.max())
        bins = np.linspace(lo, hi + max(1e-3, 0.02 * (hi - lo)), 40)
        ax.hist(loss[~flipped], bins=bins, alpha=0.6, label="label intact", color="tab:blue", density=False)
        ax.hist(loss[flipped], bins=bins, alpha=0.6, label="label flipped", color="tab:red", density=False)
        h = fp.info["history"][snap["epoch"] - 1]
        if np.isfinite(h.get("gmm_mean_clean", np.nan)):
            grid = np.linspace(bins[0], bins[-1], 300)
            width = bins[1] - bins[0]
            for mu, sd, w, col, lab in ((h["gmm_mean_clean"], h["gmm_std_clean"], h["gmm_weight_clean"], "navy", "GMM clean"),
                                        (h["gmm_mean_noisy"], h["gmm_std_noisy"], 1 - h["gmm_weight_clean"], "darkred", "GMM noisy")):
                sd = max(sd, 1e-6)
                ax.plot(grid, len(loss) * width * w * np.exp(-0.5 * ((grid - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)),
                        color=col, lw=1.5, label=lab)
            w_ = np.asarray(snap["w"])
            inside = loss[w_ > cfg.tau]
            if len(inside):
                ax.axvline(inside.max(), color="k", ls="--", lw=1, label=f"ω = τ ({cfg.tau:g})")
        ax.set_yscale("symlog")
        ax.set_xlabel("per-segment cross-entropy (given label)")
        ax.set_ylabel("segments")
        ax.set_title(f"(a) losses at epoch {snap['epoch']}: {METHODS[main]}")
        ax.legend(fontsize=7)
    colour = {"simple": "tab:blue", "proposed_star": "tab:orange", "proposed": "tab:green"}
    ax = axes[1]
    for m, f in get.items():
        h = pd.DataFrame(f.info["history"])
        if "clean_share" in h:
            ax.plot(h["epoch"], h["clean_share"], "-o", ms=3, color=colour[m], label=f"{METHODS[m]}: share called clean")
        if "flipped_flagged_noisy" in h:
            ax.plot(h["epoch"], h["flipped_flagged_noisy"], "--s", ms=3, color=colour[m],
                    label=f"{METHODS[m]}: flipped labels in U")
    ax.axhline(1 - cfg.injected_noise, color="grey", lw=0.8, ls=":", label="share of intact labels")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("epoch (split at its start)")
    ax.set_title("(b) the GMM split per epoch (baseline: fitted for the log only)")
    ax.legend(fontsize=7)
    ax = axes[2]
    for m, f in get.items():
        h = pd.DataFrame(f.info["history"])
        ax.plot(h["epoch"], h["loss_mix"], "-o", ms=3, color=colour[m],
                label=f"{METHODS[m]}: " + ("CE" if m == "simple" else "L_MIX"))
        if m == "proposed":
            ax.plot(h["epoch"], cfg.lam * h["loss_kl"], "--o", ms=3, color=colour[m], label="Proposed: λ·L_KL")
    ax.set_xlabel("epoch")
    ax.set_title("(c) training loss terms (mean over batches)")
    ax.legend(fontsize=7)
    e = noisy[main]
    fig.suptitle(f"SSSL on {e.dataset} {e.task}, {e.duration}-s segments, {e.noise:.0%} of training labels flipped "
                 f"(fold 0)", fontsize=10)
    fig.tight_layout()
    return fig


def fig2_example(ctx, cfg: Config, corpus: Corpus) -> tuple[Exp, Any, int, str]:
    """(experiment, stored unit, song position in it, why this song) for Fig. 2: the
    paper's MT0010465830 when it is a test song of the 4Q quadrant experiment, else the
    Q1 test song of fold 0 with the most segments (recorded as a substitution)."""
    ds = "4Q" if "4Q" in corpus.datasets else next(d for d in corpus.datasets if "quadrant" in TASKS_OF[d])
    exp = Exp(ds, "quadrant", cfg.duration_for("quadrant"), "proposed")
    fps = load_predictions(ctx.results_dir, exp.name)
    for fp in fps:
        hit = [i for i, t in enumerate(fp.ids) if str(t).endswith(cfg.fig2_song)]
        if hit:
            return exp, fp, hit[0], f"the paper's example {cfg.fig2_song}"
    fp = fps[0]
    song = np.asarray(fp.info["segments"]["song"])
    q1 = [i for i, t in enumerate(fp.y_true) if str(t) == "Q1"] or list(range(len(fp.ids)))
    best = max(q1, key=lambda i: (int(np.sum(song == i)), -i))
    ctx.manifest.substitute(f"Fig. 2 song {cfg.fig2_song}", str(fp.ids[best]),
                            f"{cfg.fig2_song} is not in this corpus ({corpus.kind}); a Q1 test song of fold 0")
    return exp, fp, best, f"{cfg.fig2_song} absent: Q1 test song {fp.ids[best]} (fold 0)"


def plot_fig2(ctx, cfg: Config, corpus: Corpus):
    """Fig. 2: the segment classifier's class probabilities over one test song."""
    import matplotlib.pyplot as plt

    exp, fp, i, why = fig2_example(ctx, cfg, corpus)
    seg = fp.info["segments"]
    song = np.asarray(seg["song"])
    P = np.asarray(seg["P"])[song == i]
    t = np.asarray(seg["start_s"])[song == i]
    order = np.argsort(t)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for k, lab in enumerate(fp.labels):
        ax.plot(t[order], P[order, k], "-o", ms=3, label=lab)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"segment start (s); {exp.duration}-s segments, hop {cfg.hop_seconds:g} s")
    ax.set_ylabel("segment probability")
    pred = fp.predicted()[i]
    ax.set_title(f"Fig. 2: {fp.ids[i]} (true {fp.y_true[i]}, song-level SVM: {pred}) — {METHODS[exp.method]}, "
                 f"fold {fp.fold}", fontsize=9)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    return fig, why


# =========================================================================== fidelity
def fidelity(cfg: Config, corpus: Corpus | None = None) -> pd.DataFrame:
    """Where the code follows the paper and where it departs (point, paper, ours, status, reason)."""
    impossible = int((~paper_table1_check()["possible under the rule"]).sum())
    net = ("VGG16: 13 conv (64-512), FC 4096-4096, dropout 0.5" if not cfg.narrowed else
           f"VGG16 layout narrowed: filters x{cfg.vgg_width:g}, FC {cfg.fc_units} (profile {cfg.profile})")
    points = [
        Fidelity("segments", "1-5 s, 'overlap ... 1s less', 'did not do any padding'",
                 f"durations {list(cfg.durations)} s, hop {cfg.hop_seconds:g} s, no padding; songs shorter than "
                 "the longest segment used are left out (recorded)", "same" if cfg.profile == "full" else "departure",
                 "" if cfg.profile == "full" else f"{cfg.profile}: fewer durations, first {cfg.max_seconds} s of each song"),
        Fidelity("Table 1 counts", "e.g. 4Q 1 s: 26,957 from 900 songs",
                 "the same rule on every song's length; the paper's consecutive counts drop by more than its "
                 f"song count in {impossible} of 12 steps, which the rule cannot give", "departure",
                 "our counts follow the stated rule; the paper's cannot be reproduced exactly"),
        Fidelity("features", "Hann 1,024, hop 512, 128 mel bins, librosa",
                 "sun_segment front end: 22,050 Hz, Hann 1,024, hop 512, 128 mels, dB; 44 x 128 per 1-s segment",
                 "paper silent", "sample rate and dB scaling not given: librosa's defaults (22,050 Hz) and power dB"),
        Fidelity("segment classifier", "'VGG16, we only modify the input channel and output number'", net,
                 "same" if not cfg.narrowed else "departure",
                 "" if not cfg.narrowed else "CPU budget of the demo/smoke profiles; full = VGG16"),
        Fidelity("initialisation", "not said", "random (Glorot), no ImageNet weights", "paper silent",
                 "one-channel input; ImageNet weights are not fetchable offline"),
        Fidelity("VGG16 input size", "—", "no padding or resizing: 44 frames -> 1 after five pools (>= 32 needed)",
                 "paper silent", "the 1-s input is large enough for VGG16's five pools"),
        Fidelity("per-sample loss + GMM", "two-component GMM fitted by EM on the cross-entropy of every sample",
                 "batched inference pass each epoch, scikit-learn GaussianMixture on min-max normalised losses",
                 "same", ""),
        Fidelity("clean / noisy split", "'global threshold τ' on ω", f"ω > τ = {cfg.tau:g} is clean", "paper silent",
                 "τ not given; DivideMix's 0.5"),
        Fidelity("pseudo-labels (Eq. 4)", "sharpen the model's prediction, temperature T",
                 f"T = {cfg.temperature:g}; prediction from the same inference pass as the GMM losses",
                 "paper silent", "T and when the prediction is taken are not given"),
        Fidelity("mixup (Eqs. 6-7)", "δ drawn from a beta distribution; cross-entropy",
                 f"δ ~ Beta({cfg.alpha:g}, {cfg.alpha:g}) per batch, δ = max(δ, 1-δ); pairs within a batch of X and Û",
                 "paper silent", "Beta parameters and pairing not given; MixMatch/DivideMix practice"),
        Fidelity("R-Drop (Eq. 8)", "sum over x in U of the symmetric KL of two dropout passes",
                 "mean (not sum) over the batch's U segments; two passes through the FC dropout layers",
                 "departure", "a mean keeps λ independent of the batch size"),
        Fidelity("loss (Eq. 9)", "L = L_MIX + λ L_KL", f"λ = {cfg.lam:g}", "paper silent", "λ not given"),
        Fidelity("warm-up", "not said", f"{cfg.warmup_epochs} epoch(s) of plain cross-entropy before the first split",
                 "paper silent", "at initialisation every loss is about log K: no split to make (DivideMix warms up)"),
        Fidelity("bad input", "not said", "constant losses, non-converged or collapsed GMM, or a class without a clean "
                 "segment: all segments labelled that epoch, warning logged", "paper silent", "robustness"),
        Fidelity("training schedule", "not said", f"{cfg.optimizer} lr {cfg.learning_rate:g}, batch {cfg.batch_size}, "
                 f"{cfg.epochs} epochs, no early stopping", "paper silent", "our choice"),
        Fidelity("song-level decision (Eq. 10)", "max, min, 3 quartiles, mean, share above θ -> SVM",
                 f"segment_statistics (θ = {cfg.theta:g}) -> RBF SVM, C = {cfg.svm_c:g}, standardised, trained on "
                 "the training songs' segment probabilities", "paper silent", "SVM settings and θ not given"),
        Fidelity("tasks", "binary V and A, four quadrants", "V+ = Q1, Q4; A+ = Q1, Q2; PMEmo V/A > 0.5; quadrants",
                 "same", ""),
        Fidelity("protocol", "'cross-validation of ten fold'", f"{cfg.folds}-fold CV stratified by song label, "
                 "folds by song; mean (± std) over folds", "same" if cfg.folds == 10 else "departure",
                 "" if cfg.folds == 10 else f"{cfg.profile} profile"),
        Fidelity("F1", "'F1-score'", "binary: F1 of the high class (V+ / A+); four classes: macro F1",
                 "paper silent", "which F1 is not said; F1 > accuracy in Table 2 suggests the positive class"),
        Fidelity("Table 3 durations", "best duration per task (PMEmo V 3 s, A 1 s)",
                 f"valence {cfg.duration_valence} s, arousal {cfg.duration_arousal} s, quadrants {cfg.duration_quadrant} s, "
                 "fixed before training", "same" if cfg.profile == "full" else "departure",
                 "" if cfg.profile == "full" else f"{cfg.profile}: one duration"),
        Fidelity("Table 3 methods", "Proposed*, Proposed", ", ".join(METHODS[m] for m in cfg.table3_methods)
                 + f"; the noise experiment runs {', '.join(METHODS[m] for m in cfg.noise_methods)}",
                 "same" if set(cfg.table3_methods) >= {"proposed", "proposed_star"} else "departure",
                 "" if set(cfg.table3_methods) >= {"proposed", "proposed_star"} else
                 f"{cfg.profile}: Proposed* only in the noise experiment (CPU budget)"),
        Fidelity("data", "PMEmo 767, 4Q 900, EiM 744", corpus.description if corpus else "—",
                 "same" if corpus is not None and corpus.kind == "real" and len(corpus.songs) == 3 else "departure",
                 "the data sets present under the data root (or the demo corpus)"),
    ]
    return fidelity_table(points)


# =========================================================================== leaderboard (notebook 80)
#: Settings of the SSSL pipeline on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these); ``units``: how many of the shared splits (None: all).
BOARD = {"smoke": dict(max_seconds=4.0, duration_quadrant=1, epochs=2, warmup_epochs=1, units=1),
         "demo": dict(max_seconds=6.0, duration_quadrant=1, epochs=2, warmup_epochs=1, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The paper's pipeline with 4 classes for the leaderboard: segments of
    ``duration_quadrant`` s, VGG16 trained with SSSL ("Proposed": GMM split, MixMatch-style
    mixing, R-Drop consistency) on the segments of the training clips, Eq. 10 statistics per
    clip, an SVM on them."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    cfg = Config.for_profile(profile, **values)
    return [Entry("SSSL + segment statistics + SVM", PAPER, "segment CNN + song-level SVM",
                  make=partial(_board_sssl, cfg=cfg), units=units,
                  config={"paper": PAPER, "duration": cfg.duration_quadrant, "method": "proposed",
                          **cfg.training_key()},
                  note=(f"{cfg.duration_quadrant}-s segments, {cfg.epochs} epoch(s)"
                        + (f", narrowed VGG16 (width {cfg.vgg_width:g}, FC {cfg.fc_units})" if cfg.narrowed else "")
                        + (f", first {cfg.max_seconds:g} s of each clip" if cfg.max_seconds else "")
                        + (f", first {units} split(s)" if units else "")))]


class _BoardSSSL:
    LABELS = LABELS["quadrant"]

    def __init__(self, ctx, cfg: Config, seg: SegmentSet):
        self.ctx, self.cfg, self.seg = ctx, cfg, seg
        self._trainer = None
        self.n_params = None

    def _rows(self, songs) -> np.ndarray:
        return np.flatnonzero(np.isin(self.seg.owner, np.asarray(songs)))

    def fit(self, train, y_train, validation, y_validation) -> None:
        from mer_utils.config import seed_everything
        from mer_utils.models.vgg import build_vgg16
        from mer_utils.training import Standardizer
        from mer_utils.training.sssl import SSSLTrainer

        cfg, seg, K = self.cfg, self.seg, len(self.LABELS)
        if self._trainer is None:
            seed_everything(self.ctx.seed)
            model = build_vgg16(seg.X.shape[1:], K, width=cfg.vgg_width, fc_units=cfg.fc_units,
                                dropout=cfg.dropout, name="vgg16" if not cfg.narrowed else "vgg16_narrowed")
            self._trainer = SSSLTrainer(model, optimizer=cfg.optimizer, learning_rate=cfg.learning_rate)
            self.n_params = int(model.count_params())
        song_y = dict(zip(np.asarray(train).tolist(), np.asarray(y_train).tolist()))
        tr = self._rows(train)                       # segments inherit their clip's label
        X_tr = seg.X[tr]
        y_tr = np.asarray([song_y[o] for o in seg.owner[tr]])
        self.scaler = Standardizer().fit(X_tr)
        self._trainer.fit(X_tr, y_tr, K, sssl_settings(cfg, "proposed"), seed=self.ctx.seed,
                          transform=self.scaler)
        P_tr = self._trainer.predict(X_tr, transform=self.scaler)
        F_tr = segment_statistics(seg.owner[tr], P_tr, threshold=cfg.theta, labels=self.LABELS)
        self.F_tr = F_tr.to_numpy()
        self.y_songs = np.asarray([song_y[int(o)] for o in F_tr.index])

    def predict(self, rows) -> np.ndarray:
        # the song-level SVM (milliseconds) is fitted here, on the training clips' statistics
        # kept by fit(); song_svm fits and predicts in one call
        seg = self.seg
        te = self._rows(rows)
        P_te = self._trainer.predict(seg.X[te], transform=self.scaler)
        F_te = segment_statistics(seg.owner[te], P_te, threshold=self.cfg.theta, labels=self.LABELS)
        _, score = song_svm(self.F_tr, self.y_songs, F_te.to_numpy(), self.LABELS, c=self.cfg.svm_c,
                            seed=self.ctx.seed)
        at = {int(o): i for i, o in enumerate(F_te.index)}
        return score[[at[int(r)] for r in rows]]


def _board_sssl(ctx, clips, *, cfg: Config):
    seg = load_segments(ctx, cfg, clips.df, "4Q", cfg.duration_quadrant)
    return _BoardSSSL(ctx, cfg, seg)
