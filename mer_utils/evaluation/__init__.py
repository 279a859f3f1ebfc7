"""Evaluation: protocols (saved splits), single-label reports and metrics, segment -> song
aggregation, paired statistics.

* :mod:`.protocols` — holdout, k-fold, repeated k-fold, predefined; group-aware; nested
  tuning; each unit's split saved as a file;
* :mod:`.reports` — classification reports, confusion matrices, fold metrics (the
  functions below are re-exported from it, so ``from mer_utils import evaluation as ev``
  keeps working);
* :mod:`.aggregation` — mean probability, majority vote, Eq. 10 segment statistics;
* :mod:`.stats` — the corrected resampled t-test.
"""
from mer_utils.evaluation.reports import (  # noqa: F401
    REPORT_COLUMNS, SINGLE_LABEL_METRICS, SPLITS, as_label_names, classification_report_df,
    confusion_matrix_df, confusion_over_folds, fold_labels, format_mean_std, load_or_make_split,
    load_split, per_class_metrics, pivot_report, report_over_folds, save_split, split_frame,
    stratified_split)
from mer_utils.evaluation.protocols import (  # noqa: F401
    Protocol, Split, holdout, inner_cv, kfold, load_or_make_splits, predefined, repeated_kfold,
    split_signature, tune)
from mer_utils.evaluation.aggregation import (  # noqa: F401
    chunk_decision, majority_vote, mean_probability, segment_statistics)
from mer_utils.evaluation.stats import corrected_resampled_ttest  # noqa: F401
