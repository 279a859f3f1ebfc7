"""Velankar et al.'s figures (notebook 40): learning curves from the engine's history
(Figs 5 and 8), classification reports (Figs 6 and 9), confusion matrices (Figs 7 and 10)."""
from __future__ import annotations

from mer_utils import evaluation as ev
from mer_utils.results import load_predictions

from .config import MODELS, PAPER_CLASSES, Model, paper_class_map


def plot_curves(ctx, model: Model, training):
    """Training and validation accuracy / loss per seed (the paper's Figs 5 and 8), from
    the history :class:`mer_utils.training.Trainer` returned (stored with each unit)."""
    from mer_utils.plots import classification as PC

    h = training.histories[model.experiment]
    fig = PC.plot_training_curves(list(h.values()), labels=[f"seed {s}" for s in h],
                                  title=f"Fig. {model.curves_fig}: {model.name}")
    ctx.savefig(fig, f"velankar_fig{model.curves_fig}_curves_{model.experiment}")
    return fig


def plot_report(ctx, data, model: Model, mean, std, paper):
    """Our report (mean ± std over seeds) beside the paper's Fig. 6 or 9."""
    from mer_utils.plots import classification as PC

    mapping = paper_class_map(data.labels)
    n = len(load_predictions(ctx.results_dir, model.experiment))
    title = f"Fig. {model.report_fig}: {model.name} (test; mean over {n} seed(s))"
    if mapping and any(c != p for c, p in mapping.items()):
        title += "\nours as the paper's: " + ", ".join(f"{c} as {p}" for c, p in mapping.items())
    fig = PC.plot_classification_report(
        mean, std=std, paper=paper if mapping else paper.loc[["accuracy", "macro avg", "weighted avg"]],
        title=title)
    ctx.savefig(fig, f"velankar_fig{model.report_fig}_report_{model.experiment}")
    return fig


def plot_confusion(ctx, model: Model):
    """Test predictions of every seed pooled (the paper's Figs 7 and 10)."""
    from mer_utils.plots import classification as PC

    folds = load_predictions(ctx.results_dir, model.experiment)
    cm = ev.confusion_over_folds(folds)
    mapping = paper_class_map(list(folds[0].labels))
    if mapping:                                   # the paper's class order, both names shown
        order = sorted(cm.index, key=lambda c: PAPER_CLASSES.index(mapping[c]))
        names = {c: f"{c} ({mapping[c]})" for c in cm.index}
        cm = cm.loc[order, order].rename(index=names, columns=names)
    fig = PC.plot_confusion_matrix(cm, title=f"Fig. {model.confusion_fig}: {model.name} "
                                             f"({len(folds)} seed(s) pooled)")
    ctx.savefig(fig, f"velankar_fig{model.confusion_fig}_confusion_{model.experiment}")
    return fig


def learning_curves(ctx):
    """Training and validation loss and accuracy per epoch of both networks (the first
    stored seed's history from the engine), with the epoch at which early stopping fired
    and the epoch whose weights were kept."""
    from mer_utils.evaluation import stored_histories
    from mer_utils.plots.classification import plot_learning_curves

    return plot_learning_curves(stored_histories(ctx.results_dir, {m.name: m.experiment for m in MODELS}),
                                title=f"Velankar et al.: learning curves, first seed ({ctx.profile})")
