"""Cazzaniga et al.'s tables, built from the stored predictions with
:mod:`mer_utils.evaluation`'s metrics, the paper's values beside ours: Table 2 (label
conversions), Table 3 (accuracy and F1 per fold, All Folds, our ensemble of the folds' models), Table 4
(per-class P/R/F1), Table 5 (the paper's literature summary with our row), the corpus and
dB-reference tables, the head's layers, the paper's model beside our control, and every
caption (:func:`caption`: what a table shows and each departure from the paper)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils import labels as L
from mer_utils.evaluation import label_scores, pivot_report, report_over_folds, unit_scores
from mer_utils.evaluation.protocols import Split
from mer_utils.features.images import source_references
from mer_utils.results import SETTINGS, PaperData, compare_with_paper, load_predictions, paper_values

from .config import CLASS_NAMES, CLASSES, PAPER, SOURCE_TITLES, SOURCES, Config, scalings
from .pipeline import Weights

_CHANNELS = {"EfficientNetB0": 1280, "EfficientNetB1": 1280, "EfficientNetB2": 1408, "EfficientNetB3": 1536}


def _feature_map(cfg: Config) -> tuple[int, int, int]:
    """An EfficientNet's last map at ``cfg``'s image size: ceil(size / 32) on a side (checked
    against Keras in tests/test_models_efficientnet.py), the backbone's channels."""
    side = -(-int(cfg.image_size) // 32)
    return side, side, _CHANNELS[cfg.backbone]


def head_sizes(cfg: Config) -> dict:
    """The sizes behind the head's reading at ``cfg``, from :func:`head_table`: the backbone's
    feature map, the values the head gets (the map flattened, or its channels when pooled),
    the first dense layer's weights, the head's parameters, and the backbone's parameters:
    the measured whole-model count of the cost model (``mer_utils.cost``, the paper's network
    at its measured input) minus the paper's head at that input, NaN for a backbone it did
    not measure."""
    import dataclasses

    from mer_utils.cost import load_measured

    table = head_table(cfg)
    features = int(table.loc[table["layer"] == "Flatten", "output"].iloc[0])
    backbone = float("nan")
    try:
        m = load_measured()
        row = m[(m["paper"] == PAPER) & (m["network"] == cfg.backbone)]
        if len(row):
            h, w, _ = (int(v) for v in str(row["input_shape"].iloc[0]).split("x"))
            if h == w:
                paper_head = head_table(dataclasses.replace(Config(), backbone=cfg.backbone, image_size=h))
                backbone = int(row["parameters"].iloc[0]) - int(paper_head["parameters"].fillna(0).sum())
    except (FileNotFoundError, ValueError):
        pass
    return {"map": _feature_map(cfg), "features": features, "first_dense_weights": features * int(cfg.head_units[0]),
            "head": int(table["parameters"].fillna(0).sum()), "backbone": backbone}


def head_table(cfg: Config) -> pd.DataFrame:
    """The head's layers on this configuration's image size, parameters counted by hand
    (:func:`_feature_map`)."""
    side, _, ch = _feature_map(cfg)
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
def caption(cfg: Config, weights: Weights | None, what: str, data: str = "") -> str:
    """A table's caption: what it shows, on which data, and every departure from the paper."""
    sc = scalings(cfg)
    scaled = "; ".join(f"{r.setting} {r.value} (paper {r.paper})" for r in sc.itertuples()
                       if r.setting not in ("balance_totals", "random_init_learning_rate", "full_only"))
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
    """Accuracy and macro F1 of every stored fold (one row per fold), with the seconds the
    fold recorded (:func:`mer_utils.evaluation.unit_scores`)."""
    return unit_scores(ctx.results_dir, [exp], metrics=("accuracy", "f1"))


def _ensemble(ctx, exp: str) -> dict[str, float]:
    """The five models' mean probabilities on the shared test set (not in the paper)."""
    folds = load_predictions(ctx.results_dir, exp)
    ids = folds[0].ids
    if any(list(fp.ids) != list(ids) for fp in folds):
        raise ValueError(f"{exp}: the folds were not scored on the same test songs")
    P = np.mean([fp.y_score for fp in folds], axis=0)
    return label_scores(folds[0].y_true, np.argmax(P, axis=1), list(folds[0].labels))


PAPER_CELLS: tuple[tuple[str, str, str], ...] = (
    tuple(("3", row, m) for row in [f"Fold {f}" for f in range(1, 6)] + ["All Folds"] for m in ("accuracy", "f1"))
    + tuple(("4", CLASS_NAMES[q], m) for q in CLASSES for m in ("precision", "recall", "f1")))
"""The (table, row, metric) cells Tables 3 and 4 compare (``tests/test_paper_values.py``)."""

MERGED = PaperData("4Q + PMEmo + Emotion in Music + Bi-Modal, merged into quadrants (900 + 794 + 744 + 162 = "
                   "2600 songs; 1637 after balancing)", recorded_as="20_cazzaniga_multisource", marker="(real",
                   items=(900, 794, 744, 162))
PAPER_DATA = {"2": SETTINGS, "3": MERGED, "4": MERGED, "4.1": MERGED, "5": MERGED}
"""The data each table was measured on (Table 2: the annotation scales and thresholds the
quadrant mapping applies, settings; Table 4.1: song counts, measured on the data)."""


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
    wide[f"{len(sc)}-model ensemble (ours)"] = {"Accuracy": f"{ens['accuracy']:.2f}", "F1-Score": f"{ens['f1']:.2f}"}
    return long, pd.DataFrame(wide)


def models_table(ctx, experiments: dict[str, str]) -> pd.DataFrame:
    """Accuracy and macro F1 (mean ± std over folds) of several experiments on the same folds,
    and the seconds a fold took (images, fit and prediction, as the results store timed it)."""
    sc = unit_scores(ctx.results_dir, experiments, metrics=("accuracy", "f1"), key="model")
    rows = []
    for name, g in sc.groupby("model", sort=False):
        rows.append({"model": name, "accuracy": g["accuracy"].mean(), "accuracy_std": g["accuracy"].std(ddof=1),
                     "f1": g["f1"].mean(), "f1_std": g["f1"].std(ddof=1), "folds": len(g),
                     "seconds per fold": g["seconds"].mean()})
    return pd.DataFrame(rows)


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




def head_readings(ctx, cfg: Config, exp: str, ablation: str | None) -> pd.DataFrame:
    """Table 3's rows for the head's two readings on the same folds and test part: accuracy
    and macro F1 per fold and their mean ("All Folds") and std, the values entering the head
    and the head's parameters (:func:`head_sizes`). ``ablation`` None (not trained under this
    profile): the paper-reading rows only."""
    from .pipeline import ablation_config, network_name

    rows = []
    for c, e in ((cfg, exp), (ablation_config(cfg), ablation)):
        if e is None:
            continue
        sc = fold_scores(ctx, e).sort_values("fold")
        size = head_sizes(c)
        reading = "Flatten of the un-pooled map" if c.pooling == "none" else f"global {c.pooling} pooling, then Flatten"
        for m, name in (("accuracy", "Accuracy"), ("f1", "F1-Score")):
            row = {"reading": reading, "network": network_name(c), "experiment": e, "metric": name}
            row.update({f"Fold {int(f) + 1}": v for f, v in zip(sc["fold"], sc[m])})
            row.update({"All Folds": sc[m].mean(), "std": sc[m].std(ddof=1),
                        "values into the head": size["features"], "head parameters": size["head"]})
            rows.append(row)
    return pd.DataFrame(rows)


def readings_caption(cfg: Config, weights: Weights | None, ablation: str | None, data: str = "") -> str:
    """The caption of :func:`head_readings`: what it shows, and — where this profile leaves the
    ablation to ``full`` — that only the main network's rows are there, and why."""
    from .pipeline import ablation_config, network_name

    what = ("The head's two readings on the same folds and test part: accuracy and macro F1 per fold, their "
            "mean (All Folds) and std; values into the head and the head's parameters.")
    if ablation is None and cfg.head_ablation and not cfg.trains("head_ablation"):
        what += (f" Only {network_name(cfg)} is shown: {network_name(ablation_config(cfg))} is full profile "
                 f"only under {cfg.profile} ({dict(cfg.full_only)['head_ablation']}).")
    return caption(cfg, weights, what, data)


def learning(ctx, cfg: Config, exp: str, ablation: str | None = None) -> pd.DataFrame:
    """Did the network learn? (:func:`mer_utils.evaluation.learning_table` on its stored
    folds: mean macro-F1 against the demo's bar of 0.40, folds that predict one class, the
    pooled test against the majority class.) The head-reading ablation gets its own row ("full
    profile only" with the reason where ``cfg.full_only`` leaves it out). The control is not
    a network and is left out."""
    from mer_utils.evaluation import learning_table

    from .pipeline import ablation_config, ablation_name, network_name

    nets = {network_name(cfg): exp}
    if ablation is not None:
        nets[network_name(ablation_config(cfg))] = ablation
    rest = {}
    if ablation is None and cfg.head_ablation and not cfg.trains("head_ablation"):
        rest[network_name(ablation_config(cfg))] = (
            ablation_name(cfg), f"full profile only: {dict(cfg.full_only)['head_ablation']}")
    return learning_table(ctx.results_dir, nets, "quadrant", rest)
