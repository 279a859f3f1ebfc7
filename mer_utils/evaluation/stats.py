"""Paired comparisons of methods evaluated on the same saved splits.

:func:`corrected_resampled_ttest` is Nadeau & Bengio's (2003) correction of the paired
t-test for repeated k-fold CV: the training sets of different units overlap, so the
plain t-test's variance is too small; the correction inflates it by ``n_test/n_train``.

:func:`friedman_nemenyi` compares many methods over the same blocks (splits) at once:
Friedman's test on their ranks (scipy) and the Nemenyi post-hoc test (scikit-posthocs) with
its critical difference, as Demšar (2006) recommends; :func:`mer_utils.plots.cd.cd_diagram`
draws the result with scikit-posthocs's critical-difference diagram.
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


# --------------------------------------------------------------------------- many methods
# Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets.
# JMLR 7, 1-30. Sec. 3.2.2: the Friedman test on the methods' ranks per block (here: per
# split), Iman & Davenport's F form of it, and the Nemenyi post-hoc test whose critical
# difference (CD) the diagram draws. The ranks and Friedman's chi-square come from scipy
# (``rankdata``, ``friedmanchisquare``: with the correction for tied ranks), the pairwise
# Nemenyi p-values from scikit-posthocs (``posthoc_nemenyi_friedman``), the diagram from
# scikit-posthocs too (``critical_difference_diagram``, :mod:`mer_utils.plots.cd`). What no
# library offers stays here: Iman & Davenport's F, the CD itself (scikit-posthocs only
# draws a CD it is given) and Demšar's closed form from published average ranks.

def iman_davenport(chi2: float, k: int, n_blocks: int) -> tuple[float, float]:
    """Iman & Davenport's F_F = (N - 1) chi2_F / (N (k - 1) - chi2_F) and its p-value
    (k - 1 and (k - 1)(N - 1) degrees of freedom), Demšar (2006, Sec. 3.2.2)."""
    from scipy import stats

    N = int(n_blocks)
    denom = N * (k - 1) - chi2
    F = (N - 1) * chi2 / denom if denom > 0 else np.inf
    return float(F), (float(stats.f.sf(F, k - 1, (k - 1) * (N - 1))) if np.isfinite(F) else 0.0)


def friedman_from_ranks(avg_ranks, n_blocks: int) -> dict[str, float]:
    """Friedman's chi-square and Iman & Davenport's F (with p-values) from the average ranks
    of k methods over N blocks, Demšar's (2006, Sec. 3.2.2) closed form, for results known
    only by their average ranks (a paper's table); without a correction for ties::

        chi2_F = 12 N / (k (k + 1)) * (sum_j R_j^2 - k (k + 1)^2 / 4)     (k - 1 dof)
    """
    from scipy import stats

    R = np.asarray(avg_ranks, dtype=float)
    k, N = len(R), int(n_blocks)
    if k < 2 or N < 2:
        raise ValueError("Friedman's test needs at least two methods and two blocks")
    chi2 = float(12 * N / (k * (k + 1)) * (np.sum(R ** 2) - k * (k + 1) ** 2 / 4))
    F, p_F = iman_davenport(chi2, k, N)
    return {"k": k, "N": N, "chi2": chi2, "p_chi2": float(stats.chi2.sf(chi2, k - 1)), "F": F, "p_F": p_F}


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical value q_alpha for k methods: the studentized range statistic
    (infinite degrees of freedom) divided by sqrt(2) — Demšar's Table 5(a) (e.g. k = 4,
    alpha 0.05: 2.569). (The distribution scikit-posthocs's Nemenyi p-values use.)"""
    from scipy.stats import studentized_range

    if k < 2:
        raise ValueError("need at least two methods")
    return float(studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2))


def nemenyi_cd(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Critical difference CD = q_alpha sqrt(k (k + 1) / (6 N)) (Demšar 2006): two methods'
    average ranks differ significantly when they are at least CD apart."""
    return nemenyi_q(k, alpha) * float(np.sqrt(k * (k + 1) / (6 * n_blocks)))


def friedman_nemenyi(scores, methods=None, *, alpha: float = 0.05,
                     higher_is_better: bool = True) -> dict:
    """Friedman test and Nemenyi post-hoc test for a (blocks x methods) score matrix (a
    ``pandas.DataFrame`` whose columns name the methods, or an array with ``methods``).

    Returns ``avg_ranks`` (method -> average rank, 1 = best; ties share the mean rank),
    ``k``, ``N``, ``chi2`` and ``p_chi2`` (scipy's ``friedmanchisquare``, corrected for ties),
    ``F`` and ``p_F`` (:func:`iman_davenport`), ``q`` and ``cd`` (:func:`nemenyi_cd`),
    ``alpha`` and ``nemenyi`` (methods x methods p-values of scikit-posthocs's
    ``posthoc_nemenyi_friedman``; a pair differs at ``alpha`` when its p < alpha, i.e. when
    its average ranks are at least ``cd`` apart).
    """
    import pandas as pd
    import scikit_posthocs as sp
    from scipy import stats

    if isinstance(scores, pd.DataFrame):
        methods = list(scores.columns) if methods is None else list(methods)
        S = scores[methods].to_numpy(dtype=float)
    else:
        S = np.asarray(scores, dtype=float)
        methods = list(methods) if methods is not None else [f"m{i}" for i in range(S.shape[1])]
    if S.ndim != 2 or S.shape[1] < 2 or S.shape[0] < 2:
        raise ValueError("scores must be a (blocks x methods) matrix with at least two methods and two blocks")
    if np.isnan(S).any():
        raise ValueError("scores contain NaN: keep only the blocks every method was scored on")
    G = -S if higher_is_better else S                    # smaller is better: rank 1 = best
    k, N = S.shape[1], S.shape[0]
    avg = stats.rankdata(G, axis=1).mean(axis=0)
    if k >= 3:
        chi2, p_chi2 = stats.friedmanchisquare(*G.T)
    else:   # scipy's test wants three methods: Demšar's form with scipy's tie correction
        ties = float(np.sum(G[:, 0] == G[:, 1]))           # a tied pair adds t^3 - t = 6
        correction = 1 - 6 * ties / (N * k * (k * k - 1))
        chi2 = friedman_from_ranks(avg, N)["chi2"] / correction if correction > 0 else np.nan
        p_chi2 = float(stats.chi2.sf(chi2, k - 1)) if np.isfinite(chi2) else np.nan
    F, p_F = iman_davenport(float(chi2), k, N)
    nem = sp.posthoc_nemenyi_friedman(pd.DataFrame(G, columns=methods))
    return {"k": k, "N": N, "chi2": float(chi2), "p_chi2": float(p_chi2), "F": F, "p_F": p_F,
            "alpha": alpha, "q": nemenyi_q(k, alpha), "cd": nemenyi_cd(k, N, alpha),
            "avg_ranks": dict(zip(methods, map(float, avg))), "nemenyi": nem.loc[methods, methods]}
