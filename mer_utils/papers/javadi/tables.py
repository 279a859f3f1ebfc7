"""Javadi et al.'s tables (notebook 10), built from the stored predictions with
:mod:`mer_utils.evaluation.multilabel`, the paper's values beside ours: Table 1 (59 tags),
Table 2 (label sets), the MediaEval 56-tag check."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation import multilabel as mm
from mer_utils.labels import MOODTHEME_TAGS
from mer_utils.results import (compare_with_paper, load_meta, load_predictions, save_predictions,
                               score_experiment, summarise)

from .config import LABEL_SET_ORDER, METRICS, PAPER, Config, Run, full_only_rows

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


# =========================================================================== did they learn?
def learning(ctx, cfg: Config, runs: Sequence[Run]) -> pd.DataFrame:
    """Did each network learn? (:func:`mer_utils.evaluation.learning_table`, task
    ``multilabel``, on its stored unit: macro ROC-AUC against the demo's bar of 0.60, units
    whose scores are the same for every clip, the pooled ROC-AUC over every (clip, label)
    pair against 0.5.) Network rows of ``cfg.full_only`` follow as "full profile only" with
    the reason; the feature-vector rows (random forests, kNN) are not networks and are left out."""
    from mer_utils.evaluation import learning_table

    nets = {r.row2: r.experiment for r in runs if r.kind == "network"}
    rest = {row: ("", f"full profile only: {why}") for row, why in full_only_rows(cfg).items()}
    return learning_table(ctx.results_dir, nets, "multilabel", rest)
