"""Velankar et al.'s tables (notebook 40), built from the stored predictions with
:mod:`mer_utils.evaluation`: the classification reports of Figs 6 and 9 beside the paper's
(every printed cell), accuracy and macro F1 per model beside the paper's, an overview."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mer_utils import evaluation as ev
from mer_utils.results import compare_with_paper, load_predictions, paper_values, summarise

from .config import MODELS, PAPER, PAPER_CLASSES, REPORT_METRICS, REPORT_ROWS, RESULT_METRICS, Model, paper_class_map


# --------------------------------------------------------------------------- reports
def report_over_seeds(results_dir, model: Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mean, std) classification reports over the stored seeds of ``model``
    (:func:`mer_utils.evaluation.report_over_folds`).

    Rows: classes (renamed to the paper's where :func:`paper_class_map` matches them, in
    the paper's order), ``accuracy``, ``macro avg``, ``weighted avg``; columns precision,
    recall, f1-score, support. Support is the test songs per seed (mean over seeds); the
    accuracy row holds the accuracy in f1-score only, as the paper prints it.
    """
    folds = load_predictions(results_dir, model.experiment)
    labels = list(folds[0].labels)
    mean, std = ev.pivot_report(ev.report_over_folds(folds, labels))
    mean["support"] = mean["support"] / len(folds)             # per seed, not summed
    std["support"] = std["support"].fillna(0.0)
    mapping = paper_class_map(labels)
    order = ([c for p in PAPER_CLASSES for c in labels if mapping.get(c) == p] if mapping else labels)
    order += ["accuracy", "macro avg", "weighted avg"]
    mean, std = (t.loc[order].rename(index=mapping) for t in (mean, std))
    for t in (mean, std):
        t.loc["accuracy", ["precision", "recall"]] = np.nan
        t.index.name = "row"
    return mean, std


def paper_report(table: str) -> pd.DataFrame:
    """The paper's Fig. 6 or 9 as a table (NaN where it prints nothing)."""
    pv = paper_values(PAPER, table)
    wide = pv.pivot(index="row", columns="metric", values="value")
    return wide.reindex(index=list(REPORT_ROWS), columns=list(REPORT_METRICS))


@dataclasses.dataclass
class Report:
    """One model's classification report beside the paper's figure."""

    model: Model
    mean: pd.DataFrame            # ours, mean over seeds (rows as the paper's)
    std: pd.DataFrame
    paper: pd.DataFrame           # the paper's figure (NaN where it prints nothing)
    comparison: pd.DataFrame      # long: row, metric, paper, reproduced, reproduced_std, delta

    def side_by_side(self) -> pd.DataFrame:
        """Ours and the paper's in one wide table (columns metric x [ours, ± std, paper])."""
        c = self.comparison.set_index(["row", "metric"])
        out = pd.concat({"ours": c["reproduced"], "± std": c["reproduced_std"],
                         "paper": c["paper"]}, axis=1).unstack("metric")
        out = out.swaplevel(axis=1)
        cols = [(m, k) for m in REPORT_METRICS for k in ("ours", "± std", "paper") if (m, k) in out.columns]
        rows = [r for r in self.mean.index if r in out.index]
        return out.loc[rows, cols]


def classification_report_vs_paper(ctx, data, model: Model) -> Report:
    """The paper's Fig. 6 (CRNN) or 9 (parallel CNN-RNN) beside ours, every cell.

    Saves the long comparison table (``velankar_<fig>_vs_paper``) and the figure. When our
    classes match the paper's (by name or as stand-ins) every printed cell is compared
    and a missing paper value is an error; otherwise only the accuracy and average rows.
    """
    from .figures import plot_report

    mean, std = report_over_seeds(ctx.results_dir, model)
    mapped = bool(paper_class_map(data.labels))
    ours = mean.copy()
    for m in REPORT_METRICS:
        ours[f"{m}_std"] = std[m]
    ours = ours.reset_index()
    if not mapped:
        ours = ours[ours["row"].isin(["accuracy", "macro avg", "weighted avg"])]
    cmp = compare_with_paper(ours, PAPER, model.report_table, row_col="row",
                             metric_cols=list(REPORT_METRICS), require_paper=True)
    if not mapped:
        cmp = cmp[cmp["row"].isin(["accuracy", "macro avg", "weighted avg"])].reset_index(drop=True)
    ctx.save_table(cmp, f"velankar_{model.report_table}_vs_paper")
    paper = paper_report(model.report_table)
    plot_report(ctx, data, model, mean, std, paper)
    return Report(model, mean, std, paper, cmp)


# --------------------------------------------------------------------------- results
def unit_scores(ctx) -> pd.DataFrame:
    """Accuracy, macro F1, balanced accuracy and MCC of every stored seed of both models
    (:func:`mer_utils.evaluation.unit_scores`, with each unit's seconds and parameters)."""
    scores = ev.unit_scores(ctx.results_dir, {m.name: m.experiment for m in MODELS},
                            metrics=list(ev.SINGLE_LABEL_METRICS), key="model")
    ctx.save_table(scores, "velankar_fold_scores")
    return scores


def results_vs_paper(ctx, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy and macro F1 per model (mean ± std over seeds) beside the paper's."""
    scores = unit_scores(ctx) if scores is None else scores
    summary = summarise(scores[["model", "repeat", "fold", "seed", *RESULT_METRICS]], by="model")
    cmp = compare_with_paper(summary, PAPER, "results", row_col="model",
                             metric_cols=list(RESULT_METRICS), require_paper=True)
    ctx.save_table(cmp, "velankar_paper_vs_reproduced")
    return cmp


def overview(scores: pd.DataFrame, training) -> pd.DataFrame:
    """One line per model: accuracy and macro F1 as mean ± std, seeds, training time."""
    s = summarise(scores[["model", "repeat", "fold", "seed", *RESULT_METRICS]], by="model").set_index("model")
    names = {m.name: m.experiment for m in MODELS}
    return pd.DataFrame({
        "accuracy": [ev.format_mean_std(r.accuracy, r.accuracy_std) for r in s.itertuples()],
        "macro F1": [ev.format_mean_std(r.macro_f1, r.macro_f1_std) for r in s.itertuples()],
        "seeds": s["n_folds"].to_list(),
        "training time this run (s)": [training.seconds.get(names[m], np.nan) for m in s.index],
    }, index=s.index)


# --------------------------------------------------------------------------- did they learn?
def learning(ctx) -> pd.DataFrame:
    """Did each network learn? (:func:`mer_utils.evaluation.learning_table`, task ``label3``,
    on its stored seeds: mean accuracy against the demo's bar of 0.55, seeds whose test
    songs all get one class, the pooled test of correct answers against the majority
    class's share.) Both networks train under every profile, so no row is "full profile only"."""
    return ev.learning_table(ctx.results_dir, {m.name: m.experiment for m in MODELS}, "label3")
