"""Sun et al.'s tables (notebook ``30_sun_sssl``), built from the stored predictions; every
score comes from :mod:`mer_utils.evaluation` (song-level accuracy; F1 of the high class for
the binary tasks, macro F1 for the quadrants), the paper's values beside ours."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation import label_scores, majority_vote, mean_probability, metric_fns
from mer_utils.papers.sun.config import DATASETS, FRONT_END, LABELS, METHODS, PAPER, TASKS_OF, Config
from mer_utils.papers.sun.pipeline import (Corpus, Exp, plan_noise, plan_table2, plan_table3, segment_count,
                                           segment_counts, task_labels, used_pairs)
from mer_utils.results import PaperData, compare_with_paper, load_predictions, paper_values, score_experiment, summarise


# =========================================================================== data
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


# =========================================================================== segments and network
def segments_summary(experiments, datasets_durations: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """For each (data set, duration) used: the segments extracted (after the profile's
    crop) beside the rule's count on the same songs — they must agree — and the input shape."""
    rows = []
    for d, dur in dict.fromkeys(datasets_durations):
        seg = experiments.segments(d, dur)
        songs = experiments.corpus.songs[d]
        lengths = experiments.corpus.lengths[d].loc[experiments.corpus.full[d]["track_id"].isin(songs["track_id"])]
        rule = segment_counts(songs, [dur], hop_seconds=experiments.cfg.hop_seconds,
                              max_seconds=experiments.cfg.max_seconds, lengths=lengths.reset_index(drop=True))
        rows.append({"data set": d, "duration (s)": dur, "songs": len(songs), "segments extracted": seg.n,
                     "segments by the rule": int(rule[dur].sum()), "input (frames x bands)": "x".join(map(str, seg.X.shape[1:])),
                     "MB in memory": round(seg.X.nbytes / 2**20, 1)})
    return pd.DataFrame(rows)


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


# =========================================================================== scores and tables
def _segment_arrays(fp):
    seg = fp.info.get("segments") or {}
    P = np.asarray(seg.get("P", []), dtype=float)
    song = np.asarray(seg.get("song", []), dtype=int)
    truth = np.asarray([list(fp.labels).index(str(v)) for v in fp.y_true])
    return P, song, truth


def _accuracy_of(y_true: np.ndarray, y_pred: np.ndarray, labels) -> float:
    return label_scores(np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int), list(labels))["accuracy"]


def _segment_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    return _accuracy_of(truth[song], P.argmax(1), fp.labels) if len(P) else float("nan")


def _mean_probability_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    if not len(P):
        return float("nan")
    songs, M = mean_probability(song, P)
    return _accuracy_of(truth[songs.astype(int)], M.argmax(1), fp.labels)


def _majority_vote_accuracy(fp) -> float:
    P, song, truth = _segment_arrays(fp)
    if not len(P):
        return float("nan")
    songs, v = majority_vote(song, P)
    return _accuracy_of(truth[songs.astype(int)], v, fp.labels)


def f1_metric(labels: Sequence[str]) -> str:
    """The F1 of a task: ``binary_f1`` (F1 of the high class, V+ / A+: the second label) for
    binary valence and arousal, macro ``f1`` for the four quadrants."""
    return "binary_f1" if len(labels) == 2 else "f1"


def song_metrics(labels: Sequence[str]) -> dict:
    """Song-level ``accuracy`` and ``f1`` of a task (:func:`f1_metric`), from
    :data:`mer_utils.evaluation.METRICS`."""
    fns = metric_fns(["accuracy", f1_metric(labels)])
    return {"accuracy": fns["accuracy"], "f1": fns[f1_metric(labels)]}


DIAGNOSTICS = {"segment_accuracy": _segment_accuracy, "mean_probability_accuracy": _mean_probability_accuracy,
               "majority_vote_accuracy": _majority_vote_accuracy}
"""Segment-level accuracy against inherited labels and two simpler song decisions
(accuracy by :func:`mer_utils.evaluation.label_scores`)."""


def scores(ctx, exps: Sequence[Exp], extra: dict | None = None) -> pd.DataFrame:
    """Mean and std over folds of every experiment (from the stored predictions): song-level
    accuracy and F1 (:func:`song_metrics`), plus the ``extra`` metrics (e.g. :data:`DIAGNOSTICS`)."""
    parts = []
    for e in dict.fromkeys(exps):
        s = summarise(score_experiment(ctx.results_dir, e.name, dict(song_metrics(e.labels), **(extra or {}))))
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

SUN_DATA = {
    "PMEmo": PaperData("PMEmo (767 of its 794 songs: those with static V/A annotations)", recorded_as="30_sun_sssl",
                       marker="real", items=(767,)),
    "4Q": PaperData("4Q (900 songs)", recorded_as="30_sun_sssl", marker="real", items=(900,)),
    "EiM": PaperData("Emotion in Music (744 of its 1,000 songs, duplicates removed)", recorded_as="30_sun_sssl",
                     marker="real", items=(744,)),
}
PAPER_DATA = {(t, ds): data for t in ("1", "2", "3") for ds, data in SUN_DATA.items()}
"""The data each row of Tables 1-3 was measured on (its first word names the data set)."""


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
    s = scores(ctx, noisy + have, DIAGNOSTICS)
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
    s = scores(ctx, exps, DIAGNOSTICS)
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


# =========================================================================== did the networks learn?
def network_folds(ctx, experiment: str) -> list:
    """The stored units of ``experiment`` with the segment classifier's own song decision in
    place of the SVM's: each test song's score is the mean of its segments' probabilities
    (stored with the unit). The SVM is trained on the true song labels and can separate songs
    even on the statistics of an untrained network's outputs, so it cannot tell whether the
    network learned; the mean probability can."""
    import dataclasses

    out = []
    for fp in load_predictions(ctx.results_dir, experiment):
        P, song, _ = _segment_arrays(fp)
        K = len(fp.labels)
        score = np.full((len(fp.ids), K), 1.0 / K)
        if len(P):
            songs, M = mean_probability(song, P)
            score[songs.astype(int)] = M
        out.append(dataclasses.replace(fp, y_score=score, y_pred=None))
    return out


def learning(ctx, cfg: Config, corpus: Corpus) -> pd.DataFrame:
    """Did each segment classifier learn? One row per experiment of Tables 2 and 3 and the
    noise study, judged on the network's own song decision (:func:`network_folds`: the mean
    of a song's segment probabilities): four quadrants against the bar macro-F1 >= 0.40,
    binary valence / arousal against accuracy >= 0.60 (:data:`mer_utils.evaluation.BARS`);
    units that predict one class; the pooled test against the majority class
    (:func:`mer_utils.evaluation.learning.beats_chance`). ``SVM mean`` is the paper's song
    decision on the same units, for comparison. Experiments not trained under this profile
    (``cfg.full_only``) are listed as "full profile only" with the reason."""
    from mer_utils.evaluation.learning import BARS, learning_record, not_trained
    from mer_utils.evaluation.metrics import METRICS
    from mer_utils.papers.sun.pipeline import plan_full_only

    exps = list(dict.fromkeys(plan_table2(cfg, corpus) + plan_table3(cfg, corpus) + plan_noise(cfg, corpus)))
    recs = []
    for e in exps:
        task = "quadrant" if e.task == "quadrant" else "binary"
        try:
            folds = network_folds(ctx, e.name)
            svm = load_predictions(ctx.results_dir, e.name)
        except FileNotFoundError:
            recs.append({**not_trained(e.title, e.name, "not run", task=e.task), "metric": BARS[task].metric,
                         "bar": BARS[task].value})
            continue
        recs.append({"network": e.title, "task": e.task, "experiment": e.name, **learning_record(folds, task),
                     "SVM mean": float(np.nanmean([METRICS[BARS[task].metric](f) for f in svm]))})
    for e, why in plan_full_only(cfg, corpus):
        recs.append(not_trained(e.title, e.name, f"full profile only: {why}", task=e.task))
    cols = ["network", "task", "experiment", "units", "metric", "mean", "bar", "single-class units",
            "p vs chance", "beats chance", "learned", "verdict", "SVM mean"]
    out = pd.DataFrame(recs)
    return out[[c for c in cols if c in out.columns]]
