"""Training: fit helpers shared by every network (:mod:`.core`), and custom training
loops and losses (one module each, e.g. semi-supervised self-learning) next to it.

This package imports Keras: import it only where a model is built or trained.
"""
from mer_utils.training.core import (  # noqa: F401
    EXECUTIONS, BestWeights, Standardizer, TrainResult, compile_classifier, execution_kwargs, fit,
    predict_proba, train_and_predict, train_over_seeds)
