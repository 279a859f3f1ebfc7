"""Every plot helper in ``mer_utils.plots`` is exercised: it draws a figure with axes and
data on a small input, and the figure is closed afterwards.

``test_every_helper_is_exercised`` lists the modules' ``plot_*`` functions, so a new helper
without a case here fails the suite.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mer_utils.plots as plots_pkg  # noqa: E402
from mer_utils import evaluation as ev  # noqa: E402
from mer_utils.plots import classification as PC  # noqa: E402
from mer_utils.plots import data as PD  # noqa: E402
from mer_utils.plots import multilabel as PM  # noqa: E402

LABELS = ["calm", "happy", "sad"]
Y_TRUE = ["calm", "calm", "happy", "happy", "sad", "sad", "sad"]
Y_PRED = ["calm", "sad", "happy", "happy", "sad", "calm", "sad"]


def _corpus() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 24
    quadrant = np.array(["Q1", "Q2", "Q3", "Q4"] * (n // 4))
    return pd.DataFrame({
        "track_id": [f"t{i}" for i in range(n)], "quadrant": quadrant,
        "source": np.repeat(["4q", "pmemo"], n // 2),
        "valence_norm": rng.uniform(-1, 1, n), "arousal_norm": rng.uniform(-1, 1, n),
        "duration": rng.uniform(10, 60, n),
        "tags": [["happy", "calm"] if i % 2 else ["sad"] for i in range(n)],
    })


def _history(seed: int) -> dict:
    r = np.random.default_rng(seed).uniform(0, 0.1, 3)
    return {"loss": list(1.0 - r), "val_loss": [1.1, 0.9, 1.0], "accuracy": list(0.4 + r),
            "val_accuracy": [0.3, 0.5, 0.45], "epoch": [1, 2, 3], "best_epoch": 2}


def _report_with_paper():
    mean = ev.classification_report_df(Y_TRUE, Y_PRED, LABELS).astype(float)
    mean.loc["accuracy", ["precision", "recall"]] = np.nan          # as the paper prints it
    std = mean * 0 + 0.05
    paper = pd.DataFrame({"precision": [0.47, np.nan], "support": [15, 46]}, index=["calm", "accuracy"])
    return mean, std, paper


CASES = {
    # classification
    "classification.plot_training_curves": lambda: PC.plot_training_curves(
        [_history(0), _history(1)], labels=["seed 0", "seed 1"], title="curves"),
    "classification.plot_learning_curves": lambda: PC.plot_learning_curves(
        {"with a stop": dict(_history(0), stopped_at=2), "no history": {}}, title="learning"),
    "classification.plot_classification_report": lambda: PC.plot_classification_report(
        *_report_with_paper()[:1], std=_report_with_paper()[1], paper=_report_with_paper()[2], title="report"),
    "classification.plot_confusion_matrix": lambda: PC.plot_confusion_matrix(
        ev.confusion_matrix_df(Y_TRUE, Y_PRED, LABELS), title="confusion"),
    # data
    "data.plot_label_counts": lambda: PD.plot_label_counts(_corpus(), "quadrant", by="source"),
    "data.plot_va_scatter": lambda: PD.plot_va_scatter(_corpus()),
    "data.plot_durations": lambda: PD.plot_durations(_corpus(), marks=(24.0,)),
    "data.plot_tag_frequencies": lambda: PD.plot_tag_frequencies(
        PD.tag_frequencies(_corpus()["tags"], vocabulary=["happy", "sad", "calm", "dark"]), top=3),
    # multilabel
    "multilabel.plot_tag_distribution": lambda: PM.plot_tag_distribution(
        pd.Series([30, 12, 4], index=["happy", "sad", "calm"]), n_tracks=40),
    "multilabel.plot_cluster_distributions": lambda: PM.plot_cluster_distributions(
        {"k = 2": pd.Series([20, 10], index=["c0", "c1"]), "k = 3": pd.Series([12, 9, 9], index=["a", "b", "c"])},
        n_tracks=30, suptitle="clusters"),
    "multilabel.plot_tag_map": lambda: PM.plot_tag_map(
        ["happy", "sad", "calm", "dark"], np.random.default_rng(0).normal(size=(4, 5)), [0, 1, 0, 1]),
    "multilabel.plot_score_bars": lambda: PM.plot_score_bars(
        pd.DataFrame({"labels": ["5", "5", "8", "8"], "model": ["CNN", "LP"] * 2,
                      "f1": [0.3, 0.2, 0.25, 0.15], "paper": [0.35, np.nan, 0.3, 0.2]}),
        x="labels", hue="model", metric="f1", paper_col="paper"),
    "multilabel.plot_per_label_auc": lambda: PM.plot_per_label_auc(
        pd.DataFrame({"label": ["happy", "sad", "calm"], "roc_auc": [0.7, 0.55, np.nan]})),
}


def _helpers() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(plots_pkg.__path__):
        mod = importlib.import_module(f"mer_utils.plots.{info.name}")
        names += [f"{info.name}.{n}" for n, f in inspect.getmembers(mod, inspect.isfunction)
                  if n.startswith("plot_") and f.__module__ == mod.__name__]
    return sorted(names)


def test_every_helper_is_exercised():
    helpers = _helpers()
    assert len(helpers) >= 12
    assert sorted(CASES) == helpers, (f"helpers without a case here: {sorted(set(helpers) - set(CASES))}; "
                                      f"cases without a helper: {sorted(set(CASES) - set(helpers))}")


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images)


@pytest.mark.parametrize("name", sorted(CASES))
def test_helper_draws_a_figure_with_data(name):
    before = set(plt.get_fignums())
    out = CASES[name]()
    fig = out if isinstance(out, matplotlib.figure.Figure) else out.figure
    try:
        assert fig.axes, f"{name}: no axes"
        assert any(_has_data(ax) for ax in fig.axes), f"{name}: axes without data"
        fig.canvas.draw()                               # renders without error
    finally:
        plt.close(fig)
    assert set(plt.get_fignums()) == before, f"{name}: left figures open"


def test_classification_report_shows_the_paper_beside_every_cell():
    mean, std, paper = _report_with_paper()
    fig = PC.plot_classification_report(mean, std=std, paper=paper)
    try:
        ax = fig.axes[0]
        texts = [t.get_text() for t in ax.texts]
        assert any("0.05" in t and "(paper 0.47)" in t for t in texts)      # ours ± std, paper beneath
        # the accuracy row's precision and recall are blank (NaN), its f1-score is drawn
        assert len(texts) == 3 * 6 - 2
        ylabels = [t.get_text() for t in ax.get_yticklabels()]
        assert any(y.startswith("accuracy") and "paper 46" in y for y in ylabels)
        assert "calm  (n=2; paper 15)" in ylabels and "happy  (n=2)" in ylabels   # happy: not in the paper
    finally:
        plt.close(fig)


def test_classification_report_refuses_an_empty_report():
    before = set(plt.get_fignums())        # figures other tests left open are not ours to judge
    with pytest.raises(ValueError, match="needs rows"):
        PC.plot_classification_report(pd.DataFrame({"support": [1]}, index=["a"]))
    assert set(plt.get_fignums()) == before, "a refused plot must not leave a figure open"
