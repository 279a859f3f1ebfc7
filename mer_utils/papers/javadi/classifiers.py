"""Multi-label classifiers on feature vectors: Label Powerset, RAkEL-d, ML-kNN.

Thin wrappers over scikit-multilearn (the maintained fork ``scikit-multilearn-ng``, imported
as ``skmultilearn``), each behind :class:`FeatureMultiLabelModel`, which standardises the
features on the **training** data only and always returns dense (n, L) float32 scores.

Base classifiers. Javadi et al. describe RAkEL as "training separate RF or kNN classifiers"
for its random label sets, so RAkEL-d takes a Random Forest (``base="rf"``) or a k-nearest-
neighbour classifier (``base="knn"``); Label Powerset is RAkEL with one label set holding
every label, and its base is not named in the paper: the Random Forest here too.
``base="logreg"`` (our earlier default) remains available.

========  ==============================================  ===============================
name      method                                          defaults
========  ==============================================  ===============================
``lp``    Label Powerset: one multi-class problem whose   base ``rf``; score of a label =
          classes are the label combinations seen in      summed probability of its
          training                                        combinations
``rakeld`` RAkEL-d (Tsoumakas et al. 2011): labels split  labelset_size=3 (skmultilearn's
          at random into disjoint subsets of size k, one  default), base ``rf`` or
          Label Powerset per subset                       ``knn``; partition seeded
``mlknn`` ML-kNN (Zhang & Zhou 2007): Bayesian rule on    k=10, s=1.0 (Laplace smoothing),
          the label counts of the k nearest neighbours    Euclidean on standardised features
========  ==============================================  ===============================

Bases (:func:`make_base`, parameters in ``base_params``): ``rf`` =
RandomForestClassifier(n_estimators=100, seeded) (scikit-learn's default size; the paper
gives none); ``knn`` = KNeighborsClassifier(n_neighbors=5, Euclidean) (scikit-learn's
default; the paper gives none); ``logreg`` = LogisticRegression(C=1, lbfgs, max_iter=1000).
A Label Powerset sub-problem with a single label combination in training (possible for
rare labels in small data) predicts that combination with probability 1 instead of
failing (:class:`OneClassSafe`).
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import StandardScaler

__all__ = ["CLASSIFIER_NAMES", "CLASSIFIER_LABELS", "BASES", "BASE_LABELS", "make_base",
           "make_classifier", "OneClassSafe", "FeatureMultiLabelModel", "describe_classifiers",
           "describe_base"]

CLASSIFIER_NAMES = ("lp", "rakeld", "mlknn")
CLASSIFIER_LABELS = {"lp": "Label Powerset", "rakeld": "RAkEL-d", "mlknn": "ML-kNN"}


class OneClassSafe(BaseEstimator, ClassifierMixin):
    """Wraps a classifier; if training data hold one class only, predicts it (prob 1)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        y = np.asarray(y).ravel()
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            self.estimator_ = None
        else:
            self.estimator_ = clone(self.estimator).fit(X, y)
            self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        if self.estimator_ is None:
            return np.ones((X.shape[0], 1))
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        if self.estimator_ is None:
            return np.full(X.shape[0], self.classes_[0])
        return self.estimator_.predict(X)


BASES = ("rf", "knn", "logreg")
BASE_LABELS = {"rf": "RF", "knn": "kNN", "logreg": "LogReg"}


def make_base(base: str | Any = "rf", *, seed: int = 0, n_jobs: int | None = None,
              n_estimators: int = 100, n_neighbors: int = 5):
    """The base classifier of LP / RAkEL-d (a name or any sklearn classifier), one-class safe."""
    if isinstance(base, str):
        if base == "logreg":
            from sklearn.linear_model import LogisticRegression

            est = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
        elif base == "rf":
            from sklearn.ensemble import RandomForestClassifier

            est = RandomForestClassifier(n_estimators=int(n_estimators), random_state=seed, n_jobs=n_jobs)
        elif base == "knn":
            from sklearn.neighbors import KNeighborsClassifier

            est = KNeighborsClassifier(n_neighbors=int(n_neighbors))
        else:
            raise ValueError(f"unknown base classifier {base!r}; use one of {BASES} or an estimator")
    else:
        est = base
    return OneClassSafe(est)


def make_classifier(name: str, *, seed: int = 0, base: str | Any = "rf",
                    n_jobs: int | None = None, base_params: dict | None = None, **params):
    """A fresh skmultilearn classifier by name (``lp``, ``rakeld``, ``mlknn``); see module doc."""
    bp = dict(base_params or {})
    if name == "lp":
        from skmultilearn.problem_transform import LabelPowerset

        return LabelPowerset(classifier=make_base(base, seed=seed, n_jobs=n_jobs, **bp),
                             require_dense=[True, True])
    if name == "rakeld":
        from skmultilearn.ensemble import RakelD

        return RakelD(base_classifier=make_base(base, seed=seed, n_jobs=n_jobs, **bp),
                      base_classifier_require_dense=[True, True],
                      labelset_size=int(params.get("labelset_size", 3)))
    if name == "mlknn":
        from skmultilearn.adapt import MLkNN

        return MLkNN(k=int(params.get("k", 10)), s=float(params.get("s", 1.0)))
    raise ValueError(f"unknown multi-label classifier {name!r}; choose one of {CLASSIFIER_NAMES}")


def describe_base(base: str, base_params: dict | None = None) -> str:
    bp = dict(base_params or {})
    if base == "rf":
        return f"RandomForestClassifier(n_estimators={bp.get('n_estimators', 100)}, seeded)"
    if base == "knn":
        return f"KNeighborsClassifier(n_neighbors={bp.get('n_neighbors', 5)}, Euclidean)"
    if base == "logreg":
        return "LogisticRegression(C=1, lbfgs, max_iter=1000)"
    return str(base)


def describe_classifiers(bases: dict[str, str | tuple[str, ...]] | str = "rf", *,
                         base_params: dict | None = None, labelset_size: int = 3,
                         k: int = 10) -> list[dict[str, str]]:
    """Rows for a notebook table: classifier, implementation, parameters.

    ``bases``: one base name for LP and RAkEL-d, or ``{"lp": "rf", "rakeld": ("rf", "knn")}``.
    """
    if isinstance(bases, str):
        bases = {"lp": bases, "rakeld": bases}
    lp = bases.get("lp", "rf")
    rk = bases.get("rakeld", "rf")
    rk = (rk,) if isinstance(rk, str) else tuple(rk)
    rows = [{"classifier": "Label Powerset", "implementation": "skmultilearn.problem_transform.LabelPowerset",
             "parameters": f"base={describe_base(lp, base_params)}"}]
    for b in rk:
        rows.append({"classifier": f"RAkEL-d ({BASE_LABELS.get(b, b)})", "implementation": "skmultilearn.ensemble.RakelD",
                     "parameters": f"labelset_size={labelset_size}, base={describe_base(b, base_params)}, "
                                   "seeded partition"})
    rows.append({"classifier": "ML-kNN", "implementation": "skmultilearn.adapt.MLkNN",
                 "parameters": f"k={k}, s=1.0, Euclidean on standardised features"})
    return rows


def _dense(a) -> np.ndarray:
    return np.asarray(a.toarray() if sparse.issparse(a) else a, dtype=np.float32)


SMALL_PROBLEM = 2_000_000   # X.size below which BLAS runs single-threaded (see blas_threads)


class FeatureMultiLabelModel:
    """StandardScaler (fit on training data only) + one multi-label classifier.

    ``blas_threads``: BLAS threads while fitting/predicting. ``"auto"`` (default) uses one
    thread when the training matrix is small (``X.size < SMALL_PROBLEM``): on small
    problems multi-threaded BLAS inside scipy's L-BFGS spends its time synchronising
    (40x slower on a busy 2-core machine), while large problems (real MTG-Jamendo) keep
    all threads. ``None`` leaves BLAS alone; an int sets the limit.
    """

    def __init__(self, name: str, *, seed: int = 0, base: str | Any = "rf",
                 n_jobs: int | None = None, blas_threads: int | str | None = "auto",
                 base_params: dict | None = None, **params):
        self.name, self.seed, self.base, self.n_jobs, self.params = name, seed, base, n_jobs, params
        self.base_params = dict(base_params or {})
        self.blas_threads = blas_threads

    def _limits(self, size: int):
        from contextlib import nullcontext

        from threadpoolctl import threadpool_limits

        n = self.blas_threads
        if n == "auto":
            n = 1 if size < SMALL_PROBLEM else None
        return nullcontext() if n is None else threadpool_limits(limits=int(n), user_api="blas")

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "FeatureMultiLabelModel":
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
            raise ValueError(f"X must be (n, d) and Y (n, L) with the same n; got {X.shape}, {Y.shape}")
        if not np.isfinite(X).all():
            raise ValueError("features hold NaN/inf values; impute or drop those tracks first")
        self.n_labels_ = Y.shape[1]
        self.scaler_ = StandardScaler().fit(X)
        Xs = self.scaler_.transform(X)
        self.clf_ = make_classifier(self.name, seed=self.seed, base=self.base, n_jobs=self.n_jobs,
                                    base_params=self.base_params, **self.params)
        self.fit_size_ = int(Xs.size)
        # RAkEL-d's label partition draws from Python's global ``random``: seed it for the
        # fit and put the caller's state back (the global generators are never left reseeded)
        state, np_state = random.getstate(), np.random.get_state()
        try:
            random.seed(self.seed)
            Ytr = sparse.lil_matrix(Y.astype(np.int8)) if self.name == "mlknn" else Y.astype(np.int8)
            with self._limits(self.fit_size_):
                self.clf_.fit(Xs, Ytr)
        finally:
            random.setstate(state)
            np.random.set_state(np_state)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Xs = self.scaler_.transform(np.asarray(X, dtype=np.float64))
        with self._limits(self.fit_size_):
            if self.name == "lp":
                return self._lp_proba(Xs)
            P = _dense(self.clf_.predict_proba(Xs))
        return np.clip(P, 0.0, 1.0)

    def _lp_proba(self, Xs: np.ndarray) -> np.ndarray:
        """Vectorised LabelPowerset.predict_proba (same result, no per-row Python loop)."""
        lp = self.clf_
        combo_p = np.asarray(lp.classifier.predict_proba(Xs), dtype=np.float64)
        classes = np.asarray(lp.classifier.classes_, dtype=int)
        M = np.zeros((len(classes), self.n_labels_))
        for col, cid in enumerate(classes):
            M[col, list(lp.reverse_combinations_[cid])] = 1.0
        return np.clip(combo_p @ M, 0.0, 1.0).astype(np.float32)

    def predict(self, X: np.ndarray, thresholds: Any = 0.5) -> np.ndarray:
        return (self.predict_proba(X) >= np.asarray(thresholds)).astype(np.int8)
