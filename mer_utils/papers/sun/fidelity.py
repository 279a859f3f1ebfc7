"""Where our Sun et al. follows the paper, where the paper is silent and where we depart:
:data:`FIDELITY` (the points at the paper's settings, ``full``), :func:`points` (the same
points for any configuration: scaled profiles depart in size) and :func:`fidelity` (the
table a notebook shows, with the data actually used)."""
from __future__ import annotations

import pandas as pd

from mer_utils.experiment import Fidelity, fidelity_table
from mer_utils.labels import VA_THRESHOLDS
from mer_utils.papers.sun.config import METHODS, Config
from mer_utils.papers.sun.pipeline import Corpus
from mer_utils.papers.sun.tables import paper_table1_check


def points(cfg: Config) -> list[Fidelity]:
    """Every point of the paper checked against our code under ``cfg`` (the data used is
    :func:`data_point`)."""
    impossible = int((~paper_table1_check()["possible under the rule"]).sum())
    net = ("VGG16: 13 conv (64-512), FC 4096-4096, dropout 0.5" if not cfg.narrowed else
           f"VGG16 layout narrowed: filters x{cfg.vgg_width:g}, FC {cfg.fc_units} (profile {cfg.profile})")
    return [
        Fidelity("segments", "1-5 s, 'overlap ... 1s less', 'did not do any padding'",
                 f"durations {list(cfg.durations)} s, hop {cfg.hop_seconds:g} s, no padding; songs shorter than "
                 "the longest segment used are left out (recorded)", "same" if cfg.profile == "full" else "departure",
                 "" if cfg.profile == "full" else f"{cfg.profile}: fewer durations, first {cfg.max_seconds} s of each song"),
        Fidelity("Table 1 counts", "e.g. 4Q 1 s: 26,957 from 900 songs",
                 "the same rule on every song's length; the paper's consecutive counts drop by more than its "
                 f"song count in {impossible} of 12 steps, which the rule cannot give", "departure",
                 "our counts follow the stated rule; the paper's cannot be reproduced exactly"),
        Fidelity("features", "Hann 1,024, hop 512, 128 mel bins, librosa",
                 "sun_segment front end: 22,050 Hz, Hann 1,024, hop 512, 128 mels, dB; 44 x 128 per 1-s segment",
                 "paper silent", "sample rate and dB scaling not given: librosa's defaults (22,050 Hz) and power dB"),
        Fidelity("segment classifier", "'VGG16, we only modify the input channel and output number'", net,
                 "same" if not cfg.narrowed else "departure",
                 "" if not cfg.narrowed else "CPU budget of the demo/smoke profiles; full = VGG16"),
        Fidelity("initialisation", "not said", "random (Glorot), no ImageNet weights", "paper silent",
                 "one-channel input; ImageNet weights are not fetchable offline"),
        Fidelity("VGG16 input size", "—", "no padding or resizing: 44 frames -> 1 after five pools (>= 32 needed)",
                 "paper silent", "the 1-s input is large enough for VGG16's five pools"),
        Fidelity("per-sample loss + GMM", "two-component GMM fitted by EM on the cross-entropy of every sample, "
                 "'at the beginning of each epoch'",
                 "each epoch, one inference pass over the training segments, scikit-learn GaussianMixture "
                 "(2 components, EM) on their cross-entropy losses", "same", ""),
        Fidelity("loss scaling before the GMM", "—", "losses min-max normalised to [0, 1] before the fit",
                 "paper silent", "DivideMix's practice; the paper feeds 'the cross-entropy loss' without a scale"),
        Fidelity("clean / noisy split", "'global threshold τ' on ω", f"ω > τ = {cfg.tau:g} is clean", "paper silent",
                 "τ not given; DivideMix's 0.5"),
        Fidelity("pseudo-labels (Eq. 4)", "sharpen the model's prediction, temperature T",
                 f"T = {cfg.temperature:g}; prediction from the same inference pass as the GMM losses",
                 "paper silent", "T and when the prediction is taken are not given"),
        Fidelity("mixup (Eqs. 6-7)", "δ drawn from a beta distribution; cross-entropy",
                 f"δ ~ Beta({cfg.alpha:g}, {cfg.alpha:g}) per batch, δ = max(δ, 1-δ); pairs within a batch of X and Û",
                 "paper silent", "Beta parameters and pairing not given; MixMatch/DivideMix practice"),
        Fidelity("R-Drop (Eq. 8)", "sum over x in U of the symmetric KL of two dropout passes",
                 "mean (not sum) over the batch's U segments; two passes through the FC dropout layers",
                 "departure", "a mean keeps λ independent of the batch size"),
        Fidelity("loss (Eq. 9)", "L = L_MIX + λ L_KL", f"λ = {cfg.lam:g}", "paper silent", "λ not given"),
        Fidelity("warm-up", "not said", f"{cfg.warmup_epochs} epoch(s) of plain cross-entropy before the first split",
                 "paper silent", "at initialisation every loss is about log K: no split to make (DivideMix warms up)"),
        Fidelity("bad input", "not said", "constant losses, non-converged or collapsed GMM, or a class without a clean "
                 "segment: all segments labelled that epoch, warning logged", "paper silent", "robustness"),
        Fidelity("training schedule", "not said", f"{cfg.optimizer} lr {cfg.learning_rate:g}, batch {cfg.batch_size}, "
                 f"{cfg.epochs} epochs, no early stopping", "paper silent", "our choice"),
        Fidelity("song-level decision (Eq. 10)", "max, min, 3 quartiles, mean, share above θ -> SVM",
                 f"segment_statistics (θ = {cfg.theta:g}) -> RBF SVM, C = {cfg.svm_c:g}, standardised, trained on "
                 "the training songs' segment probabilities", "paper silent", "SVM settings and θ not given"),
        Fidelity("tasks", "binary V and A, four quadrants", "V+ = Q1, Q4; A+ = Q1, Q2 (4Q, EiM); quadrants",
                 "same", ""),
        Fidelity("protocol", "'cross-validation of ten fold'", f"{cfg.folds}-fold CV; mean (± std) over folds",
                 "same" if cfg.folds == 10 else "departure", "" if cfg.folds == 10 else f"{cfg.profile} profile"),
        Fidelity("fold assignment", "—", "folds drawn by song, stratified by the song's label: every segment of a "
                 "song in the same fold", "paper silent",
                 "how folds are drawn is not given; segments of one song in two folds would leak"),
        Fidelity("PMEmo labels", "'767 of these clips with static valence/arousal (V/A) annotations'",
                 f"static V/A in [0, 1] > {VA_THRESHOLDS['pmemo']:g} is high (V+ / A+), else low",
                 "paper silent", "how the static annotations become binary classes is not said; the scale's midpoint"),
        Fidelity("input standardisation", "not said",
                 "zero mean, unit variance: one mean and one standard deviation over all values of the training "
                 "segments of the unit (test segments never enter the statistics), applied per batch",
                 "paper silent", "scaling of the spectrogram input is not given; a common choice for dB mel input"),
        Fidelity("F1", "'F1-score'", "binary: F1 of the high class (V+ / A+); four classes: macro F1",
                 "paper silent", "which F1 is not said; F1 > accuracy in Table 2 suggests the positive class"),
        Fidelity("Table 3 durations", "best duration per task (PMEmo V 3 s, A 1 s)",
                 f"valence {cfg.duration_valence} s, arousal {cfg.duration_arousal} s, quadrants {cfg.duration_quadrant} s, "
                 "fixed before training", "same" if cfg.profile == "full" else "departure",
                 "" if cfg.profile == "full" else f"{cfg.profile}: one duration"),
        Fidelity("Table 3 methods", "Proposed*, Proposed", ", ".join(METHODS[m] for m in cfg.table3_methods)
                 + f"; the noise experiment runs {', '.join(METHODS[m] for m in cfg.noise_methods)}",
                 "same" if set(cfg.table3_methods) >= {"proposed", "proposed_star"} else "departure",
                 "" if set(cfg.table3_methods) >= {"proposed", "proposed_star"} else
                 f"{cfg.profile}: Proposed* only in the noise experiment (CPU budget)"),
    ]


def data_point(corpus: Corpus | None) -> Fidelity:
    """The data sets this run used against the paper's (depends on the data root)."""
    return Fidelity("data", "PMEmo 767, 4Q 900, EiM 744", corpus.description if corpus else "—",
                    "same" if corpus is not None and corpus.kind == "real" and len(corpus.songs) == 3 else "departure",
                    "the data sets present under the data root (or the demo corpus)")


FIDELITY: list[Fidelity] = points(Config.for_profile("full"))
"""The paper against our code at the paper's settings (the ``full`` profile)."""


def fidelity(cfg: Config, corpus: Corpus | None = None) -> pd.DataFrame:
    """Where the code follows the paper and where it departs under ``cfg`` (point, paper,
    ours, status, reason), the data used last."""
    return fidelity_table(points(cfg) + [data_point(corpus)])
