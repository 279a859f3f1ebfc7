"""DeepSMOTE (Dablain et al.) as the methods-comparison paper ran it: Borderline-SMOTE 2 in an
autoencoder's latent space, the decoder maps the synthetic codes back to spectrograms.

Louro et al. (Sec. 3.6): SMOTE on raw audio "produced noisy samples due to the high
dimensionality", so each sample is encoded (~482k -> ~60k values) and, of the SMOTE variants
they tried, "the Borderline_SMOTE2 implementation, was found to be the most suitable". Their
released code asks the oversampler for a fixed number of new samples **per class**, each
class against all others; :func:`borderline_smote2` does the same with imbalanced-learn's
``BorderlineSMOTE(kind="borderline-2")`` and a per-class target count (a balanced training
fold would otherwise get no samples at all: "auto" only fills up minority classes).

Everything is fitted on one unit's training rows: the autoencoder, the SMOTE neighbours and
the decoded samples; test rows are never encoded for training.
"""
from __future__ import annotations

import numpy as np

__all__ = ["borderline_smote2", "synthetic_counts"]


def synthetic_counts(y: np.ndarray, per_class: float | int) -> dict[int, int]:
    """New samples wanted per class: ``per_class`` x the class's count (float) or a fixed
    number (int)."""
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    if isinstance(per_class, (int, np.integer)) and not isinstance(per_class, bool):
        return {int(c): int(per_class) for c in classes}
    return {int(c): int(round(float(per_class) * n)) for c, n in zip(classes, counts)}


def borderline_smote2(Z: np.ndarray, y: np.ndarray, per_class: float | int = 1.0, *, seed: int = 0,
                      k_neighbors: int = 5, m_neighbors: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic latent samples only: ``(Z_new, y_new)``.

    Borderline-SMOTE 2 (imbalanced-learn, ``kind="borderline-2"``) with a target count of
    ``n_c + new_c`` for every class ``c`` (:func:`synthetic_counts`). Only "danger" samples
    (more than half, not all, of their ``m_neighbors`` from other classes) seed new points, so
    a class with none gets fewer than asked (the caller reports the count). ``k_neighbors``
    and ``m_neighbors`` shrink to what the smallest class allows.
    """
    from imblearn.over_sampling import BorderlineSMOTE

    Z = np.asarray(Z, dtype=np.float32).reshape(len(Z), -1)
    y = np.asarray(y)
    new = synthetic_counts(y, per_class)
    classes, counts = np.unique(y, return_counts=True)
    k = int(min(k_neighbors, counts.min() - 1))
    if k < 1:
        raise ValueError("every class needs at least 2 training samples for SMOTE")
    target = {int(c): int(n + new[int(c)]) for c, n in zip(classes, counts)}
    sm = BorderlineSMOTE(kind="borderline-2", sampling_strategy=target, random_state=int(seed),
                         k_neighbors=k, m_neighbors=int(min(m_neighbors, len(y) - 1)))
    Zr, yr = sm.fit_resample(Z, y)
    if not np.array_equal(Zr[:len(Z)], Z):
        raise RuntimeError("imbalanced-learn no longer returns the original rows first")
    return np.asarray(Zr[len(Z):], dtype=np.float32), np.asarray(yr[len(Z):])
