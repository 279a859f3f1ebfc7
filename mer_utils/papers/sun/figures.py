"""Sun et al.'s figures (notebook ``30_sun_sssl``): what SSSL did during training (from the
engine's per-epoch history stored with each unit) and Fig. 2 (segment probabilities over
one test song)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mer_utils.papers.sun.config import METHODS, TASKS_OF, Config
from mer_utils.papers.sun.pipeline import Corpus, Exp, plan_noise, plan_table2, plan_table3
from mer_utils.results import load_predictions


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

    if not cfg.trains("quadrant"):                   # Fig. 2 shows the quadrant network's segments
        why = f"full profile only under {cfg.profile}: {dict(cfg.full_only)['quadrant']}"
        fig, ax = plt.subplots(figsize=(10, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, "Fig. 2 needs the 4-quadrant network, not trained under this profile (full profile only)",
                ha="center", va="center", fontsize=9)
        return fig, why
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


def learning_curves(ctx, cfg: Config, corpus: Corpus):
    """Per experiment of Tables 2 and 3 and the noise study, its first unit's training curves
    from the engine's history (stored per epoch with the unit): the training loss (L_MIX +
    lambda L_KL; plain cross-entropy in the warm-up and for inherited labels) and the segment
    accuracy against the inherited labels at the epoch's loss pass (SSSL epochs only: the
    warm-up and the inherited-label baseline make no loss pass, their panel says so). SSSL
    trains every epoch (no validation share, no stop rule), so there is no validation curve."""
    from mer_utils.plots.classification import plot_learning_curves

    exps = list(dict.fromkeys(plan_table2(cfg, corpus) + plan_table3(cfg, corpus) + plan_noise(cfg, corpus)))
    histories = {}
    for e in exps:
        try:
            folds = load_predictions(ctx.results_dir, e.name)
        except FileNotFoundError:
            continue
        rows = folds[0].info.get("history") or []
        if rows:
            h = {"epoch": [int(r["epoch"]) for r in rows], "loss": [float(r.get("loss_total", np.nan)) for r in rows]}
            acc = [float(r.get("pass_accuracy", np.nan)) for r in rows]
            if np.isfinite(acc).any():         # the loss pass runs in SSSL epochs (and logged fits) only
                h["accuracy"] = acc
            histories[e.title] = h
    return plot_learning_curves(histories, title=f"Sun et al.: learning curves, first unit ({ctx.profile})")
