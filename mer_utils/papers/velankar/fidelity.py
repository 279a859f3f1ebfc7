"""Velankar et al. against our code, point by point (notebook 40's fidelity table)."""
from __future__ import annotations

import pandas as pd

from mer_utils.experiment import Fidelity, fidelity_table

FIDELITY: tuple[Fidelity, ...] = (
    Fidelity("data", "138 Hindi songs of 30 s, 46 each devotional / sad / romantic",
             "a user's folder of classes, else 4Q's Q4 calm / Q3 sad / Q1 happy, else the demo "
             "corpus's 3-class label", "departure", "the paper's songs are not public"),
    Fidelity("classes in Figs 6/9", "Devotional, Sad, Romantic",
             "calm -> Devotional, sad -> Sad, happy -> Romantic (a folder named with the "
             "paper's classes maps by name)", "departure",
             "stand-in classes: sad is sad; devotional songs are calm (low arousal, positive "
             "valence); romantic the remaining positive class. The per-class cells compare "
             "positions, not the same emotions"),
    Fidelity("spectrogram", "window 2048, hop 512, log (dB) mel, shape 640 x 128",
             "2,048 / 512, 128 mel bands in dB, first 640 frames", "same"),
    Fidelity("sample rate and crop", "30-s songs; no sample rate given",
             "11,025 Hz, first 30 s (shorter clips repeated): 640 hops of 512 cover 29.7 s",
             "paper silent", "640 frames of hop 512 span ~30 s only at ~11 kHz"),
    Fidelity("test set", "46 of 138 songs (15 / 16 / 15 in Figs 6 and 9)",
             "one third of every class, stratified (test_share)", "same"),
    Fidelity("validation set", "'divided fairly for training, validation, and testing'",
             "20 % of the songs left after the test third (validation_share)", "paper silent",
             "no share given; 20 % is Keras's usual validation_split"),
    Fidelity("repetitions", "one split, one run per model",
             "one stratified holdout and one run per seed (5 under full), mean ± std",
             "departure", "on 46 test songs one run is noisy: the spread over seeds is the "
                          "scale against which the paper's 0.54 vs 0.50 can be read"),
    Fidelity("CRNN convolutions", "3 x [1D conv (56 filters, kernel 5), ReLU, batch norm, "
             "1D max pool], over time", "the same; bands are the input channels", "same"),
    Fidelity("CRNN pooling and padding", "not given", "pool 2, 'valid' convolutions "
             "(76 steps reach the LSTM)", "paper silent", "smallest pool; keeps most steps"),
    Fidelity("CRNN recurrent and dense", "LSTM with 96 hidden units -> 64-unit dense layer",
             "LSTM(96) -> Dense(64, ReLU)", "same"),
    Fidelity("output layer", "softmax dense layer with '8 hidden units in order to determine "
             "the probabilities of the three classes'", "softmax over 3 units", "departure",
             "self-contradictory: 8 softmax units give 8 probabilities, 5 for classes that do "
             "not exist; 3 units give one per class"),
    Fidelity("regularisation (CRNN)", "'both L2 and dropout regularization was used between "
             "all the layers'", "L2 on every kernel (convolutions, LSTM input and recurrent, "
             "dense, output) and dropout after every block, the LSTM and the dense layer",
             "same"),
    Fidelity("L2 weight and dropout rate", "not given", "L2 1e-4, dropout 0.3 (l2, dropout)",
             "paper silent", "common values; the notebook's parameters can change them"),
    Fidelity("batch-norm momentum", "not given", "0.9 (bn_momentum)", "paper silent",
             "with ~7 batches per epoch Keras's 0.99 keeps test-time statistics near their "
             "initial values"),
    Fidelity("parallel CNN branch", "5 blocks of 2D conv (kernel 3,1; 16, 32, 64, 64, 64 "
             "filters), ReLU, 2D max pool, flattened to 256", "the same", "same"),
    Fidelity("parallel CNN pools", "not given; output 256",
             "(2,2), (2,2), (2,2), (4,4), (4,4)", "paper silent",
             "the pools of this kind that give exactly 256 = 4 x 1 x 64 on 640 x 128"),
    Fidelity("parallel RNN branch", "(4, 2) max pool, 64-unit bidirectional GRU (128), "
             "concatenation 384, softmax dense", "the same", "same"),
    Fidelity("regularisation (parallel)", "not given for this model",
             "the CRNN's: L2 on every kernel, dropout 0.3 on the concatenation",
             "paper silent", "the paper regularises its other model so"),
    Fidelity("epochs", "'trained for 25 epochs'", "25 under full", "same"),
    Fidelity("which epoch's weights", "— (the model after training)", "the weights of the epoch with the "
             "lowest validation loss", "paper silent", "'the best-trained model' is not defined; the "
             "validation songs choose it, never the test songs"),
    Fidelity("optimizer, learning rate, batch size", "not given", "Adam 1e-3, batch 32",
             "paper silent", "Keras defaults"),
    Fidelity("hyperparameter tuning", "'the best-trained model ... after hyperparameter "
             "tuning'", "none: fixed values above", "departure",
             "neither the grid nor the data used to choose are given; tuning on the one test "
             "set would leak"),
    Fidelity("input scaling", "not given", "one mean and std from the training songs",
             "paper silent", "dB values are standardised; statistics never from test songs"),
    Fidelity("metrics", "accuracy, precision, recall, F1, confusion matrix; F1 called 'the "
             "weighted average value of precision and recall'",
             "scikit-learn's classification report (F1 = harmonic mean), whose layout Figs 6 "
             "and 9 print", "same"),
)


def fidelity() -> pd.DataFrame:
    """The paper-vs-code table the notebook shows."""
    return fidelity_table(FIDELITY)
