"""Louro et al.'s figures: per-split F1 per row (with the paper's values), one training clip
and its augmented versions, and DeepSMOTE's decoded samples beside real spectrograms.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mer_utils import audio

from .config import DATASET, LABELS, PAPER, SR, Config
from .pipeline import LouroData, Workspace, deepsmote_samples
from .rows import ROWS


def boxplot(scores: pd.DataFrame, *, metric: str = "f1", title: str = "", column: str = DATASET):
    """Box plot of per-split ``metric`` per method, the paper's value in Table 3's ``column``
    (the run's :attr:`.pipeline.PaperColumn.stands_for`) marked where given."""
    import matplotlib.pyplot as plt

    from mer_utils.results import paper_values

    pv = paper_values(PAPER, f"3/{column}")
    pv = pv[pv["metric"] == metric].set_index("row")["value"]
    order = [k for k in dict.fromkeys(scores["row"])]
    fig, ax = plt.subplots(figsize=(1.3 * len(order) + 2, 4))
    data = [scores.loc[scores["row"] == k, metric].to_numpy() for k in order]
    ax.boxplot(data, showmeans=True)
    for i, (k, d) in enumerate(zip(order, data), 1):
        ax.scatter(np.full(len(d), i) + np.random.default_rng(i).uniform(-0.12, 0.12, len(d)), d,
                   s=8, alpha=0.5, color="C0")
        if ROWS[k].table3 in pv.index and k != "svm_infold":
            ax.scatter([i], [pv[ROWS[k].table3]], marker="x", color="C3", s=60,
                       label=f"paper ({column})" if i == 1 or not ax.get_legend_handles_labels()[0] else None)
    ax.set_xticks(range(1, len(order) + 1))
    ax.set_xticklabels([ROWS[k].name.replace(", ", ",\n").replace(" with ", "\nwith ") for k in order], fontsize=8)
    ax.set_ylabel(f"macro {metric.upper() if metric == 'f1' else metric} per split")
    ax.set_title(title or f"Per-split macro F1 ({len(scores)} unit scores)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig




def audio_gallery(ctx, cfg: Config, data: LouroData, splits, *, seconds: float = 6.0):
    """One training clip of the first unit and its augmented versions — the Hybrid's four
    (time shift, pitch, stretch, gain) and the three audiomentations rows' (TFM, SB, RG) —
    as (figure: waveform + mel per version, AudioGallery: playable excerpts of ``seconds``)."""
    from mer_utils import augment
    from mer_utils.features import FRONT_ENDS, spectrogram
    from mer_utils.plots.audio_gallery import AudioGallery, waveform_mel_grid

    row = int(splits[0].train[0])                     # a training clip: the only kind ever augmented
    path, clip_id = str(data.df["path"].iloc[row]), str(data.ids[row])
    y = audio.load_audio(path, sr=SR)[:int(seconds * SR)]
    versions = {"original": y}
    for name in augment.HYBRID_TRANSFORMS:
        versions[f"Hybrid: {name}"] = augment.augment(y, SR, clip_id, name, seed=0)
    if augment.available()[0]:
        for key in augment.AUDIO_TRANSFORMS:
            versions[f"+{key.upper()}"] = augment.augment_audio(y, SR, clip_id, key, seed=cfg.aug_seed)[0]
    versions = {k: np.clip(v, -1, 1).astype(np.float32) for k, v in versions.items()}
    fe = FRONT_ENDS["louro_mel"]
    fig = waveform_mel_grid(versions, SR, lambda z: spectrogram(z, SR, fe, clip=False),
                            title=f"training clip {clip_id} ({data.df['quadrant'].iloc[row]}), first {seconds:g} s")
    return fig, AudioGallery(versions, SR)


def deepsmote_figure(ctx, cfg: Config, data: LouroData, splits, work: Workspace | None = None):
    """Real training spectrograms of the first unit beside DeepSMOTE samples decoded back to
    mel. ``work``: the :class:`~.pipeline.Workspace` given to ``run_rows``, whose autoencoder
    of that unit is reused (the samples are then the run's own: same autoencoder, same seed);
    without it, or when the unit was not fitted in this session, the autoencoder is fitted."""
    from mer_utils.plots.audio_gallery import decoded_vs_real

    split = splits[0]
    Xs, ys, _ = deepsmote_samples(ctx, cfg, data, split, work)
    X = data.mel(cfg.input_frames)
    return decoded_vs_real(X[split.train], data.y[split.train], Xs, ys, classes=LABELS,
                           title=f"real (top) vs DeepSMOTE decoded (bottom): {len(Xs)} synthetic samples, "
                                 f"{cfg.ae_epochs} autoencoder epoch(s)")


def learning_curves(ctx, status: pd.DataFrame):
    """Training loss and accuracy per epoch of every network row that ran (its first unit's
    history from the engine, as stored with the unit), with the epoch at which the 90 %
    rule fired. The Hybrid's curve is its fused head's (its branches' are stored beside it)."""
    from mer_utils.evaluation import stored_histories
    from mer_utils.plots.classification import plot_learning_curves

    ran = {ROWS[k].name: ROWS[k].experiment for k in status.loc[status["status"] == "run", "row"]
           if ROWS[k].kind == "dl"}
    return plot_learning_curves(stored_histories(ctx.results_dir, ran),
                                title=f"Louro et al.: learning curves, first unit ({ctx.profile})")
