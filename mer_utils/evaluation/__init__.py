"""Evaluation: splits and protocols (each unit's split saved as a file), the one set of
metrics, segment -> song aggregation, paired statistics.

* :mod:`.splits` — stratified train/validation/test splits saved as CSV files;
* :mod:`.protocols` — holdout, k-fold, repeated k-fold, predefined; group-aware; nested
  tuning (:func:`tune`);
* :mod:`.metrics` — every single-label score (P/R/F1 macro and weighted, accuracy, balanced
  accuracy, MCC), per-unit tables, paired comparisons, classification reports, confusion
  matrices, parameter counts;
* :mod:`.multilabel` — ROC-AUC / PR-AUC (macro, micro), thresholds, the MediaEval check;
* :mod:`.aggregation` — mean probability, majority vote, Eq. 10 segment statistics;
* :mod:`.stats` — the corrected resampled t-test, Friedman / Nemenyi;
* :mod:`.learning` — did a network learn: beats chance (pooled binomial / AUC test), the demo's bars.
"""
from mer_utils.evaluation.splits import (  # noqa: F401
    SPLITS, load_or_make_split, load_split, save_split, split_frame, stratified_split)
from mer_utils.evaluation.metrics import (  # noqa: F401
    METRIC_NAMES, METRICS, REPORT_COLUMNS, SINGLE_LABEL_METRICS, as_label_names, classification_report_df,
    confusion_matrix_df, confusion_over_folds, fold_labels, format_mean_std, label_scores, metric_fns,
    paired_comparisons, parameter_count, per_class_metrics, pivot_report, report_over_folds, unit_scores)
from mer_utils.evaluation.protocols import (  # noqa: F401
    Protocol, Split, holdout, inner_cv, kfold, load_or_make_splits, predefined, repeated_kfold,
    split_signature, tune)
from mer_utils.evaluation.aggregation import (  # noqa: F401
    chunk_decision, majority_vote, mean_probability, segment_statistics)
from mer_utils.evaluation.stats import corrected_resampled_ttest  # noqa: F401
from mer_utils.evaluation.learning import (BARS, beats_chance, learning_record, learning_table,  # noqa: F401
                                          not_trained, stored_histories)
