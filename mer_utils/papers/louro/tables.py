"""Louro et al.'s tables (1, 2, 3, parameters, paired tests, cost), built from the stored
predictions of :func:`.pipeline.run_rows`; every score comes from :mod:`mer_utils.evaluation`
(macro precision / recall / F1 per unit, the corrected resampled t-test). Nothing here reads
state a fit left behind: a row's label comes from ``run_rows``'s status table.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .config import COLUMNS, DATASET, LABELS, PAPER, Config
from .pipeline import LouroData, PaperColumn
from .rows import ALL_ROWS, BASELINE, ROWS, input_size

#: Louro et al.'s three metrics (Table 3), names of :data:`mer_utils.evaluation.METRICS`.
PAPER_METRICS = ("precision", "recall", "f1")
_SCHEDULE_TEXT = {"crnn_mtat": "Adam 1e-3 -> SGD 1e-4, 1e-5 (ep. 100), 1e-6 (ep. 120)"}


def unit_scores(ctx, status: pd.DataFrame) -> pd.DataFrame:
    """Per-unit macro P / R / F1 of every row that ran, from the stored predictions
    (:func:`mer_utils.evaluation.unit_scores`): ``row, repeat, fold, seed, precision, recall,
    f1, method``."""
    from mer_utils.evaluation import unit_scores as scores_of

    ran = [k for k in status.loc[status["status"] == "run", "row"]]
    s = scores_of(ctx.results_dir, {k: ROWS[k].experiment for k in ran}, metrics=PAPER_METRICS, key="row",
                  cost=False)
    if len(s):
        s["method"] = s["row"].map(lambda k: ROWS[k].name)
    return s


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
        rec = {"row": row.table1, **input_size(cfg, row, paper=False), "epochs": cfg.epochs(row),
               "batch_size": cfg.row_batch_size(row), "learning_rate": cfg.row_learning_rate(row)}
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
        ours = input_size(cfg, row, paper=False)
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
                     "batch (ours)": cfg.row_batch_size(row),
                     "optimizer": cfg.row_optimizer(row).upper() if row.optimizer != "schedule"
                     else "Adam -> SGD (Sec. 3.7)",
                     "LR (paper)": p.get("learning_rate", _SCHEDULE_TEXT.get(key, np.nan)),
                     "LR (ours)": cfg.row_learning_rate(row) if row.learning_rate is not None
                     else _SCHEDULE_TEXT.get(key),
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

    from mer_utils.evaluation import parameter_count

    recs, built = [], {}
    for key in rows:
        row = ROWS[key]
        if row.kind != "dl":
            continue
        size_p = input_size(cfg, row, paper=True)
        size_o = input_size(cfg, row, paper=False)
        n_p = size_p.get("input_frames", size_p.get("input_samples"))
        n_o = size_o.get("input_frames", size_o.get("input_samples"))
        same = (row.build, n_p, n_o)                    # rows sharing a network (the baseline + TFM/...)
        if row.key == "hybrid" or same not in built:
            keras.backend.clear_session()
            mp = row.build(cfg, None if row.key == "hybrid" else data, n_p)
            cp = parameter_count(mp)
            co = cp if n_o == n_p and row.key != "hybrid" else parameter_count(row.build(cfg, data, n_o))
            built[same] = (mp.name, cp, co)
        name, cp, co = built[same]
        recs.append({"method": row.name, "network": name, "input (paper)": n_p,
                     "parameters (paper input)": cp["parameters"], "trainable (paper input)": cp["trainable"],
                     "input (ours)": n_o, "parameters (our input)": co["parameters"],
                     "trainable (our input)": co["trainable"]})
    keras.backend.clear_session()
    return pd.DataFrame(recs)


def table3(ctx, cfg: Config, status: pd.DataFrame, scores: pd.DataFrame,
           column: PaperColumn | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 3 as the paper prints it — P / R / F1 in its three data-set columns
    (Original-4QAED, New-4QAED C, New-4QAED B) — with this run's mean +- std over units
    ("ours P / R / F1") right after the column its clips are (``column``, from
    :func:`.pipeline.paper_column`; Original-4QAED when not given). When the clips are none of
    the three (``column.name`` None: the demo corpus, a subset, another release) ours stands
    after the column it stands in for, and the caption (:func:`table3_caption`) says the data
    differ.

    Returns (wide table for reading, long comparison from ``compare_with_paper`` with a
    ``data set`` column): our values against the matching column's; the other two columns'
    cells with no value of ours (a run on their data fills them).
    """
    from mer_utils.evaluation import format_mean_std
    from mer_utils.results import compare_with_paper, paper_values, summarise

    column = column or PaperColumn(DATASET, DATASET, "", "")
    pvs = {col: paper_values(PAPER, f"3/{col}").pivot(index="row", columns="metric", values="value")
           for col in COLUMNS}
    summ = summarise(scores.drop(columns=["method"]), by="row") if len(scores) else pd.DataFrame()
    summ = summ.set_index("row") if len(summ) else summ
    recs = []
    for r in status.itertuples():
        row = ROWS[r.row]
        label = getattr(r, "label", "") or ""
        rec = {"method": f"{row.name} [{label}]" if label else row.name, "paper row": row.table3}
        for col in COLUMNS:
            for m, short in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
                rec[f"{col} {short}"] = pvs[col].loc[row.table3, m] if row.table3 in pvs[col].index else np.nan
            if col == column.stands_for:
                for m, short in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
                    if r.status == "run":           # no spread from a single unit
                        s = summ.loc[r.row]
                        rec[f"ours {short}"] = format_mean_std(s[m], s[f"{m}_std"] if s["n_folds"] > 1 else np.nan, 3)
                    else:
                        rec[f"ours {short}"] = "full profile only" if r.status == "full profile only" else "—"
        rec["units"] = int(summ.loc[r.row, "n_folds"]) if r.status == "run" else 0
        rec["note"] = (f"{r.status}: {r.reason}" if r.status != "run" else row.note)
        recs.append(rec)
    wide = pd.DataFrame(recs)
    longs = []
    rep = pd.DataFrame(columns=["row", "precision", "recall", "f1"])
    if len(summ):
        rep = summ.reset_index()
        rep = rep[rep["row"] != "svm_infold"]          # not a paper row: no paper value to compare
        rep["row"] = rep["row"].map(lambda k: ROWS[k].table3)
    rows = {ROWS[k].table3 for k in status["row"] if k != "svm_infold"}
    for col in COLUMNS:
        ours = rep if col == column.stands_for else rep.iloc[0:0]
        long = compare_with_paper(ours, PAPER, f"3/{col}", row_col="row",
                                  metric_cols=["precision", "recall", "f1"], require_paper=True)
        long = long[long["row"].isin(rows)]
        longs.append(long.assign(**{"data set": col}))
    long = pd.concat(longs, ignore_index=True)
    return wide, long[["data set"] + [c for c in long.columns if c != "data set"]]


def table3_caption(column: PaperColumn) -> str:
    """One line under Table 3: which column our values stand beside, and whether they compare."""
    if column.name:
        return (f"Ours stand beside the {column.name} column: this run's clips are that data set "
                f"({column.data}, as in Table 2).")
    return (f"Ours stand beside the {column.stands_for} column but do not compare with it: "
            f"{column.label}.")


def paired_comparisons(scores: pd.DataFrame, splits, baseline: str = BASELINE,
                       metric: str = "f1") -> pd.DataFrame:
    """Each row against the DL baseline on the units both ran: mean difference of per-unit
    ``metric`` and Nadeau & Bengio's corrected resampled t-test
    (:func:`mer_utils.evaluation.paired_comparisons`); rows named by their method."""
    from mer_utils.evaluation import paired_comparisons as paired

    if not len(scores):
        return pd.DataFrame()
    out = paired(scores, splits, baseline, key="row", metric=metric,
                 names={k: ROWS[k].name for k in set(scores["row"]) | {baseline}})
    return out.rename(columns={"row": "method"})


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




def learning(ctx, status: pd.DataFrame) -> pd.DataFrame:
    """Did each network row learn? (:func:`mer_utils.evaluation.learning_table` on its stored
    units: mean macro-F1 against the demo's bar of 0.40, single-class units, the pooled test
    against the majority class.) Rows not trained under this profile are listed as
    "full profile only" with the reason; the SVM rows are not networks and are left out."""
    from mer_utils.evaluation import learning_table

    nets = [r for r in status.itertuples() if ROWS[r.row].kind != "classical"]
    ran = {ROWS[r.row].name: ROWS[r.row].experiment for r in nets if r.status == "run"}
    rest = {ROWS[r.row].name: (ROWS[r.row].experiment, f"{r.status}: {r.reason}") for r in nets if r.status != "run"}
    return learning_table(ctx.results_dir, ran, "quadrant", rest)
