"""Javadi et al. against our code, point by point (notebook 10's fidelity table)."""
from __future__ import annotations

import pandas as pd

from mer_utils.experiment import Fidelity, fidelity_table

FIDELITY = [
    Fidelity("data", '"autotagging-moodtheme subset", "split-0 and 59 most frequent tags"',
             "MTG-Jamendo split-0 (train / validation / test) when its audio is present under `full`; "
             "else the demo corpus, recorded as a substitution", "departure",
             "no MTG-Jamendo audio on this machine; demo numbers are not comparable with the paper's"),
    Fidelity("clip length", '"trimmed as 29.1s clips"', "first 29.1 s for every representation "
             "(477-D, VGGish sequence and its mean, mel)", "same"),
    Fidelity("network input (1)", '"(16, 1, 128, 1407)"; "VGG-ish ... of size 1407 × 128"',
             "VGGish examples (96 frames of 10 ms) every 2 frames over 29.1 s: 1407 × 128, batched, "
             "cached per track; without the VGGish weights the pretrained musicnn (MSD) at the same hop "
             "and centres, 1407 × 200, named in the tables and the manifest", "same",
             "with the official weights; offline the recorded musicnn substitute is a departure"),
    Fidelity("mel input", "—", "128-band mel, 22,050 Hz, hop 456: 128 × 1407 (javadi_cnn front end)",
             "departure", "kept as an ablation row (mel / CNN, mel / Transformer) beside the paper's input"),
    Fidelity("VGGish vector (2)", '"trimmed as 29.1s clips"',
             "mean over time of the 29.1-s sequence (the classic classifiers need one vector)",
             "paper silent", "the paper does not say how the 1407 × 128 map becomes a vector"),
    Fidelity("handcrafted set (3)", '"the same approach as Brown C. et al. [5]", 4 + 4 × 11 + 3 × 13 × 11 = 477',
             "Brown et al.'s script: peak normalisation, silence trimming, duration / tempo / onset count / "
             "Hilbert-envelope period, RMS / centroid / roll-off / ZCR and 13 DCT-III MFCCs + Δ + ΔΔ on "
             "100-ms frames with 50 % overlap, 11 statistics each", "same",
             "our earlier set stays available as javadi477_ours"),
    Fidelity("handcrafted period bin", '"the same approach as Brown C. et al. [5]"',
             "the Hilbert-envelope period from the spectral peak's own FFT bin", "departure",
             "the cited script reads the bin next to the peak (off by one); we correct it"),
    Fidelity("resampling", '"we resampled them to 22KHz"', "22,050 Hz for the 477-D set and the mel; "
             "16 kHz inside VGGish / musicnn (their own front ends)", "same"),
    Fidelity("batch size (4)", '"(16, 1, 128, 1407)"', "16 under full (8 under smoke)", "same"),
    Fidelity("strided convolutions (5)", '"by applying strides and kernels we reduce the width and height"',
             "stride-2 convolution blocks (Conv → BatchNorm → ReLU), no pooling layers; sigmoid output per label",
             "same"),
    Fidelity("CNN sizes", '"four convolutional blocks", pooled to 128 (kernels and first three filter counts: —)',
             "kernel 3×3, filters 16 / 32 / 64 / 128 (cnn_kernel, cnn_filters), global average pool to 128; linear; "
             "sigmoid", "paper silent", "kernel size and the first three filter counts are not given: a doubling "
             "stack ending at the paper's 128"),
    Fidelity("RAkEL-d base (6)", '"training separate RF or kNN classifiers"',
             "RAkEL-d with a Random Forest and with a k-NN base, both reported (k = 3 label sets)", "same"),
    Fidelity("Label Powerset base", "not named", "Random Forest (100 trees)", "paper silent",
             "the paper's first-named base of RAkEL"),
    Fidelity("ML-kNN k", '"sensitive to the choice of k"', "k = 10, s = 1", "paper silent",
             "scikit-multilearn's defaults"),
    Fidelity("label clustering", '"glove transformer and KMeans"; "euclidean distance"; 5, 8, 10',
             "GloVe 6B 50-d + seeded KMeans (Euclidean), a track has a cluster when any of its tags is in it",
             "paper silent", "GloVe dimensionality and the track→cluster rule are not stated"),
    Fidelity("training", '"100 epochs using learning rate = 0.001 and adam optimizer"',
             "Adam 1e-3, up to 100 epochs under full, early stopping on the validation loss", "departure",
             "early stopping (patience 10, best weights restored) is ours; the paper trains 100 epochs"),
    Fidelity("thresholds", '"predict a threshold for each label ... based on their maximized F1 score"',
             "per label, the threshold maximising F1, applied to test", "same"),
    Fidelity("threshold data", "— (which split the thresholds are chosen on)",
             "split-0's validation split", "paper silent", "chosen on test they would inflate the scores"),
    Fidelity("metrics", '"macro ROC-AUC", "F1 score (macro and micro)", "Avg-precision"',
             "macro ROC-AUC, macro / micro F1, Avg-precision read as macro average precision (PR-AUC)",
             "paper silent", "Avg-precision is not defined in the paper"),
    Fidelity("plots (7)", "Tables 1-2 list 59, 10, 8, 5", "every figure orders label sets 59, 10, 8, 5", "same"),
]


def fidelity() -> pd.DataFrame:
    """The fidelity table the notebook shows."""
    return fidelity_table(FIDELITY)
