"""Training: the one engine every network trains through (:mod:`.engine`: :class:`Trainer`,
:class:`Recipe`, stop rules, optimizer phases, micro-batches, history), and the custom steps
and losses that plug into it (semi-supervised self-learning in :mod:`.sssl`), next to it.

This package imports Keras: import it only where a model is built or trained.
"""
from mer_utils.training.engine import (  # noqa: F401
    EXECUTIONS, WON_TRANSFER, EpochStep, OptimizerSchedule, Phase, Recipe, Standardizer, TrainAccuracyStop,
    Trainer, ValidationStop, accumulation_steps, execution_kwargs)
