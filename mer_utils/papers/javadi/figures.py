"""Javadi et al.'s figures: Table 2 as bars, per-tag ROC-AUC (notebook 10), the tag map
and Figs 4-5, tracks per tag and per cluster (notebook 02)."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from mer_utils.datasets import select_corpus
from mer_utils.evaluation import multilabel as mm
from mer_utils.labels import MOODTHEME_TAGS
from mer_utils.results import compare_with_paper, load_predictions

from . import tag_clustering as tc
from .config import LABEL_SET_ORDER, PAPER, Config, Run
from .pipeline import Corpus

def table2_figures(ctx, t2: pd.DataFrame, corpus: Corpus, metrics=("f1_macro", "roc_auc_macro")):
    """Table 2 as bars: label sets on x in the paper's order (59, 10, 8, 5), one bar per
    (input, classifier), the paper's value as a tick where the input is the paper's."""
    from mer_utils.plots import multilabel as PM

    pv = compare_with_paper(t2, PAPER, "2", row_col="row", metric_cols=list(metrics), require_paper=True)
    d = t2.assign(labels=t2["label set"].map(lambda s: f"{s} labels"),
                  model=t2["features"] + " / " + t2["classifier"])
    figs = []
    for metric in metrics:
        p = pv[pv["metric"] == metric].set_index("row")["paper"]
        dd = d.assign(paper=d["row"].map(p).where(d["features"] == "VGGish"))
        fig = PM.plot_score_bars(dd, x="labels", hue="model", metric=metric, paper_col="paper",
                                 order=[f"{s} labels" for s in LABEL_SET_ORDER],
                                 title=f"Table 2 · {metric} by label set ({corpus.description.split('(')[0].strip()})")
        ctx.savefig(fig, f"javadi_table2_{metric}")
        figs.append(fig)
    return figs


def per_label_figure(ctx, t1: pd.DataFrame, runs: Sequence[Run]):
    """Per-tag test ROC-AUC of the best Table 1 row (by macro ROC-AUC), from its store."""
    from mer_utils.plots import multilabel as PM

    best = t1.sort_values("roc_auc_macro", ascending=False).iloc[0]
    run = next(r for r in runs if r.label_set == "59" and r.row1 == best["row"])
    fp = load_predictions(ctx.results_dir, run.experiment)[0]
    per_label = mm.per_label_scores(fp.y_true, fp.y_score, fp.labels, y_pred=fp.y_pred)
    ctx.save_table(per_label, "javadi_per_label_best")
    fig = PM.plot_per_label_auc(per_label, title=f"Per-tag test ROC-AUC, {best['row']} "
                                f"({int(per_label['roc_auc'].isna().sum())} tags single-class in test)")
    ctx.savefig(fig, "javadi_per_label_auc")
    return fig


def tag_map_figure(ctx, cfg: Config, clusterings, wv):
    """The 59 tags in GloVe space (PCA), coloured by the clustering of the smallest k."""
    from mer_utils.plots import multilabel as PM

    k = min(cfg.cluster_ks)
    X59, _ = tc.embed_tags(MOODTHEME_TAGS, wv)
    c = clusterings["mtg-jamendo"][k]
    fig = PM.plot_tag_map(list(MOODTHEME_TAGS), X59, [c.mapping[t] for t in MOODTHEME_TAGS],
                          title=f"59 mood/theme tags in GloVe space (PCA), k = {k}")
    ctx.savefig(fig, f"javadi_tag_map_k{k}")
    return fig


def label_distributions(ctx, cfg: Config, clusterings) -> dict[str, Any]:
    """Figs 4-5: tracks per tag and per cluster (k in the paper's order 10, 8, 5), on the real
    MTG-Jamendo metadata when present, else the demo corpus. Returns the tables and figures."""
    from mer_utils.plots import multilabel as PM

    corpus, desc = select_corpus(ctx, "tags")
    real = bool((corpus["dataset"] == "mtg-jamendo").any())
    vocab = "mtg-jamendo" if real else "demo"
    tags_vocab = list(MOODTHEME_TAGS) if real else sorted({t for ts in corpus["tags"] for t in ts})
    n = len(corpus)
    name = "MTG-Jamendo" if real else "demo corpus"
    counts = tc.tag_counts(corpus["tags"], vocabulary=tags_vocab)
    dist = counts.rename("tracks").to_frame().assign(share=lambda d: d["tracks"] / n)
    ctx.save_table(dist.reset_index(names="tag"), f"javadi_tag_distribution_{vocab}")
    fig4 = PM.plot_tag_distribution(counts, n_tracks=n, title=f"Fig. 4 · tracks per tag ({len(counts)} tags, {name})")
    ctx.savefig(fig4, f"javadi_fig4_tag_distribution_{vocab}")
    dists, rows = {}, []
    for k in sorted(cfg.cluster_ks, reverse=True):        # the tables' order: 10, 8, 5
        c = clusterings[vocab][k]
        s = pd.Series(tc.tracks_to_clusters(corpus["tags"], c).sum(axis=0), index=c.cluster_names)
        dists[f"k = {k}"] = s
        rows += [{"k": k, "cluster": cn, "tracks": int(v), "share": v / n} for cn, v in s.items()]
    clusters = pd.DataFrame(rows)
    ctx.save_table(clusters, f"javadi_cluster_distribution_{vocab}")
    fig5 = PM.plot_cluster_distributions(dists, n_tracks=n, suptitle=f"Fig. 5 · tracks per cluster ({name})")
    ctx.savefig(fig5, f"javadi_fig5_cluster_distribution_{vocab}")
    summary = pd.DataFrame([{"labels": "59 tags" if key is None else key, "min tracks": int(s.min()),
                             "max tracks": int(s.max()), "ratio": float(s.max() / max(1, s.min()))}
                            for key, s in [(None, counts)] + list(dists.items())])
    ctx.manifest.add_source("tag distribution corpus", desc)
    return {"description": desc, "tags": dist, "clusters": clusters, "summary": summary,
            "figures": (fig4, fig5)}


def learning_curves(ctx, runs: Sequence[Run]):
    """Training and validation loss per epoch of every network row (the engine's history
    stored with its unit; the networks train with the loss alone, no accuracy), with the
    epoch at which early stopping fired and the epoch whose weights were kept."""
    from mer_utils.evaluation import stored_histories
    from mer_utils.plots.classification import plot_learning_curves

    nets = {r.row2: r.experiment for r in runs if r.kind == "network"}
    return plot_learning_curves(stored_histories(ctx.results_dir, nets), metrics=("loss",),
                                title=f"Javadi et al.: learning curves ({ctx.profile})")
