"""Paired comparisons of methods evaluated on the same saved splits.

:func:`corrected_resampled_ttest` is Nadeau & Bengio's (2003) correction of the paired
t-test for repeated k-fold CV: the training sets of different units overlap, so the
plain t-test's variance is too small; the correction inflates it by ``n_test/n_train``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def corrected_resampled_ttest(a: Sequence[float], b: Sequence[float], *, n_train: int,
                              n_test: int) -> tuple[float, float]:
    """(t, two-sided p) for paired per-unit scores ``a`` and ``b`` on the same units.

    t = mean(d) / sqrt((1/J + n_test/n_train) * var(d)), J units, d = a - b, with J - 1
    degrees of freedom. Identical scores give (0.0, 1.0).
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError("need at least two paired units")
    if n_train <= 0 or n_test <= 0:
        raise ValueError("n_train and n_test must be positive")
    J = len(d)
    var = d.var(ddof=1)
    if var == 0:
        return (0.0, 1.0) if d.mean() == 0 else (float(np.sign(d.mean()) * np.inf), 0.0)
    t = d.mean() / np.sqrt((1 / J + n_test / n_train) * var)
    p = 2 * stats.t.sf(abs(t), df=J - 1)
    return float(t), float(p)
