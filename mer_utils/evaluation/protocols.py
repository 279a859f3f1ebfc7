"""Evaluation protocols: which rows train, validate and test in each unit, saved as files.

A protocol enumerates its units (:class:`mer_utils.results.Unit`: repeat x fold) and makes
one :class:`Split` per unit. Protocols in this module:

* :func:`holdout` — one stratified train / validation / test split (Velankar; Javadi on
  the demo corpus);
* :func:`kfold` — stratified k-fold; the test fold rotates, a validation part (if asked)
  is carved from the training folds;
* :func:`repeated_kfold` — k-fold repeated with reshuffling (the methods paper's 10 x 10);
* :func:`predefined` — a split given by the data (MTG-Jamendo split-0).

Every protocol is **group-aware** when ``groups`` are given (songs of one artist,
segments of one song): no group straddles train / validation / test
(scikit-learn's ``StratifiedGroupKFold``). Segment-level data is split at the song level
and expanded with :meth:`Split.expand`.

:func:`load_or_make_splits` writes each unit's split as one CSV in a folder named after
the protocol and a hash of (protocol, ids, labels, groups): a rerun on the same data
reuses the files, other data gets another folder, and nothing is overwritten.

Nested tuning: :func:`inner_cv` gives the inner folds inside one unit's training rows and
:func:`tune` runs a grid search on them only — the test rows never reach it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.config import atomic_write_text
from mer_utils.results import Unit

PARTS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Split:
    """Row positions of one unit: ``train``, ``validation`` (may be empty) and ``test``."""

    unit: Unit
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))

    def __post_init__(self):
        parts = {p: np.sort(np.asarray(getattr(self, p), dtype=int)) for p in PARTS}
        for p, v in parts.items():
            object.__setattr__(self, p, v)
        for a, b in (("train", "test"), ("train", "validation"), ("validation", "test")):
            if np.intersect1d(parts[a], parts[b]).size:
                raise ValueError(f"{self.unit}: {a} and {b} rows overlap")

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{"train": ..., "validation": ..., "test": ...}`` (the shape older helpers take)."""
        return {p: getattr(self, p) for p in PARTS}

    def expand(self, owner: Sequence[int]) -> "Split":
        """The same split over items owned by these rows (segments of songs).

        ``owner[i]`` is the row position (song) that item ``i`` belongs to; every item goes
        to its owner's part, so a song's segments never straddle a split.
        """
        owner = np.asarray(owner, dtype=int)
        return Split(self.unit, *(np.flatnonzero(np.isin(owner, getattr(self, p)))
                                  for p in ("train", "test", "validation")))


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A way of splitting: ``kind`` is holdout, kfold or predefined (k-fold with
    ``repeats`` > 1 is repeated k-fold). ``val_size`` carves a validation part out of
    each unit's training rows (a fraction of them); ``test_size`` is the holdout test share.
    """

    kind: str
    k: int = 1
    repeats: int = 1
    test_size: float | None = None
    val_size: float | None = None
    seed: int = 0

    def __post_init__(self):
        if self.kind not in ("holdout", "kfold", "predefined"):
            raise ValueError(f"unknown protocol kind {self.kind!r}")
        if self.kind == "kfold" and self.k < 2:
            raise ValueError("k-fold needs k >= 2")
        if self.repeats < 1:
            raise ValueError("repeats must be >= 1")
        for name in ("test_size", "val_size"):
            v = getattr(self, name)
            if v is not None and not 0 < v < 1:
                raise ValueError(f"{name} must be a fraction in (0, 1), not {v}")

    @property
    def name(self) -> str:
        if self.kind == "holdout":
            return f"holdout-t{self.test_size}-v{self.val_size}-s{self.seed}"
        if self.kind == "predefined":
            return "predefined"
        rep = f"{self.repeats}x" if self.repeats > 1 else ""
        val = f"-v{self.val_size}" if self.val_size else ""
        return f"{rep}{self.k}fold{val}-s{self.seed}"

    def describe(self) -> str:
        if self.kind == "holdout":
            return (f"one stratified split: {1 - self.test_size:.0%} train+validation / "
                    f"{self.test_size:.0%} test, validation {self.val_size or 0:.0%} of the whole")
        if self.kind == "predefined":
            return "the split given with the data"
        txt = f"stratified {self.k}-fold CV" + (f" repeated {self.repeats} times" if self.repeats > 1 else "")
        if self.val_size:
            txt += f", validation = {self.val_size:.0%} of each training part"
        return txt

    def units(self) -> list[Unit]:
        if self.kind in ("holdout", "predefined"):
            return [Unit(r, 0) for r in range(self.repeats)]
        return [Unit(r, f) for r in range(self.repeats) for f in range(self.k)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------ making splits
    def make(self, y: Sequence, groups: Sequence | None = None,
             predefined: Sequence[str] | None = None) -> list[Split]:
        """One :class:`Split` per unit, stratified on ``y``, never splitting a group."""
        y = _labels(y)
        g = None if groups is None else np.asarray(pd.Series(groups).astype(str))
        if g is not None and len(g) != len(y):
            raise ValueError(f"groups ({len(g)}) and labels ({len(y)}) differ in length")
        if self.kind == "predefined":
            if predefined is None:
                raise ValueError("a predefined protocol needs the split column (train/validation/test)")
            col = np.asarray(pd.Series(predefined).astype(str))
            bad = sorted(set(col) - set(PARTS))
            if bad:
                raise ValueError(f"predefined split has unknown part(s) {bad}; expected {PARTS}")
            return [Split(Unit(0, 0), *(np.flatnonzero(col == p) for p in ("train", "test", "validation")))]
        out = []
        for r in range(self.repeats):
            seed = self.seed + 1000 * r
            if self.kind == "holdout":
                n_splits = max(2, int(round(1 / self.test_size)))
                trainval, test = next(iter(_outer(y, g, n_splits, seed)))
                val_frac = (self.val_size or 0) / (1 - self.test_size)
                train, val = _carve(trainval, y, g, val_frac, seed + 1)
                out.append(Split(Unit(r, 0), train, test, val))
            else:
                for f, (trainval, test) in enumerate(_outer(y, g, self.k, seed)):
                    train, val = _carve(trainval, y, g, self.val_size or 0, seed + 1 + f)
                    out.append(Split(Unit(r, f), train, test, val))
        return out


def holdout(test_size: float = 0.2, val_size: float | None = 0.2, seed: int = 0) -> Protocol:
    """One stratified train / validation / test split (fractions of the whole set)."""
    return Protocol("holdout", test_size=test_size, val_size=val_size, seed=seed)


def kfold(k: int = 10, *, val_size: float | None = None, seed: int = 0) -> Protocol:
    """Stratified k-fold CV (each row tested once)."""
    return Protocol("kfold", k=k, val_size=val_size, seed=seed)


def repeated_kfold(k: int = 10, repeats: int = 10, *, val_size: float | None = None,
                   seed: int = 0) -> Protocol:
    """Stratified k-fold CV repeated ``repeats`` times with reshuffling (10 x 10 = 100 units)."""
    return Protocol("kfold", k=k, repeats=repeats, val_size=val_size, seed=seed)


def predefined() -> Protocol:
    """The split that comes with the data (a train/validation/test column)."""
    return Protocol("predefined")


def _labels(y: Sequence) -> np.ndarray:
    s = pd.Series(list(y) if not isinstance(y, (pd.Series, np.ndarray)) else y)
    if s.isna().any():
        raise ValueError("labels contain missing values; drop unlabelled rows before splitting")
    return np.asarray(s.astype(str))


def _outer(y: np.ndarray, g: np.ndarray | None, k: int, seed: int):
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    counts = pd.Series(y).value_counts()
    if counts.min() < k and g is None:
        raise ValueError(f"class {counts.idxmin()!r} has {counts.min()} member(s); stratified "
                         f"{k}-fold CV needs at least {k} per class")
    if g is None:
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(cv.split(np.zeros(len(y)), y))
    n_groups = len(set(g))
    if n_groups < k:
        raise ValueError(f"{n_groups} group(s) cannot fill {k} folds without splitting a group")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y, g))


def _carve(rows: np.ndarray, y: np.ndarray, g: np.ndarray | None, frac: float, seed: int):
    """Split ``rows`` into (train, validation) with ``frac`` of them for validation."""
    rows = np.asarray(rows, dtype=int)
    if not frac:
        return rows, np.zeros(0, dtype=int)
    n_splits = max(2, int(round(1 / frac)))
    sub_y = y[rows]
    sub_g = None if g is None else g[rows]
    if sub_g is None and pd.Series(sub_y).value_counts().min() < n_splits:
        # too few members for a stratified cut: shuffle within class and cut by share
        rng = np.random.default_rng(seed)
        val = []
        for cls in sorted(set(sub_y)):
            members = rng.permutation(np.flatnonzero(sub_y == cls))
            n = int(round(frac * len(members)))
            if len(members) >= 2:
                val.extend(members[:max(1, n)])
        val = np.asarray(sorted(val), dtype=int)
        return np.delete(rows, val), rows[val]
    tr, va = _outer(sub_y, sub_g, n_splits, seed)[0]
    return rows[tr], rows[va]


# --------------------------------------------------------------------------- split files
def _fingerprint(protocol: Protocol, ids, y, groups, predefined) -> str:
    h = hashlib.sha1(json.dumps(protocol.to_dict(), sort_keys=True).encode())
    for seq in (ids, y, groups, predefined):
        h.update(b"|" if seq is None else "\x1f".join(map(str, seq)).encode())
    return h.hexdigest()[:10]


def load_or_make_splits(directory: Path | str, protocol: Protocol, ids: Sequence, y: Sequence, *,
                        groups: Sequence | None = None, predefined: Sequence[str] | None = None,
                        name: str = "splits") -> list[Split]:
    """The protocol's splits for these rows, read from files when made before, else made
    and written: ``<directory>/<name>-<protocol>-<hash>/r00-f00.csv`` (``track_id, split,
    label[, group]``), one file per unit, and ``protocol.json``.

    The hash covers the protocol, the ids in order, the labels and the groups, so the same
    data always gets the same files, and changed data a new folder beside the old one.
    """
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].head(3).tolist()
        raise ValueError(f"duplicated ids {dup}: split rows need unique ids (namespace them by source)")
    y_str = list(_labels(y))
    fp = _fingerprint(protocol, ids, y_str, groups, predefined)
    folder = Path(directory) / f"{name}-{protocol.name}-{fp}"
    units = protocol.units()
    files = {u: folder / f"{u.key}.csv" for u in units}
    if folder.exists() and all(f.exists() for f in files.values()):
        sums = _recorded_checksums(folder)
        return [_read_split_file(files[u], u, ids, y_str, sums.get(u.key)) for u in units]
    splits = protocol.make(y_str, groups, predefined)
    for sp in splits:
        col = np.full(len(ids), "", dtype=object)
        for p in PARTS:
            col[getattr(sp, p)] = p
        df = pd.DataFrame({"track_id": ids, "split": col, "label": y_str})
        if groups is not None:
            df["group"] = [str(x) for x in groups]
        df = df[df["split"] != ""]       # rows a protocol leaves out (none of ours do)
        atomic_write_text(files[sp.unit], df.to_csv(index=False))
    sums = {u.key: hashlib.sha256(files[u].read_bytes()).hexdigest() for u in units}
    atomic_write_text(folder / "protocol.json", json.dumps(
        dict(protocol.to_dict(), name=protocol.name, description=protocol.describe(),
             n_rows=len(ids), fingerprint=fp, units=[u.key for u in units], sha256=sums), indent=2))
    return splits


def _recorded_checksums(folder: Path) -> dict[str, str]:
    try:
        return dict(json.loads((folder / "protocol.json").read_text()).get("sha256") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def _read_split_file(path: Path, unit: Unit, ids: list[str], labels: Sequence[str] | None = None,
                     sha256: str | None = None) -> Split:
    """One saved split, checked against what was written and against the data: a file edited
    since (its checksum in ``protocol.json`` differs), a row deleted or added, an id twice
    (in two parts), a label that is not the data's — each an error naming the file."""
    again = (f"split files are never edited: delete the folder {path.parent} to make the splits "
             "again (results trained on them are then retrained)")
    if sha256 is not None and hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise ValueError(f"{path}: changed since it was written (its checksum in protocol.json differs); {again}")
    try:
        df = pd.read_csv(path, dtype={"track_id": str, "split": str, "label": str})
    except Exception as exc:  # noqa: BLE001 - any parse failure gets the same advice
        raise ValueError(f"{path}: unreadable split file ({exc}); {again}") from None
    if not {"track_id", "split"} <= set(df.columns):
        raise ValueError(f"{path}: needs columns track_id and split; {again}")
    where = {t: i for i, t in enumerate(ids)}
    missing = [t for t in df["track_id"] if t not in where]
    bad = sorted(set(df["split"].astype(str)) - set(PARTS))
    if missing or bad:
        raise ValueError(f"{path}: {'unknown ids ' + str(missing[:3]) if missing else ''}"
                         f"{' unknown parts ' + str(bad) if bad else ''}; {again}")
    dup = df["track_id"][df["track_id"].duplicated()].tolist()
    if dup:
        raise ValueError(f"{path}: track(s) {dup[:3]} appear more than once (in two parts?); {again}")
    absent = [t for t in ids if t not in set(df["track_id"])] if sha256 is None else []
    if absent:                       # (a file with a checksum is caught above; older files here)
        raise ValueError(f"{path}: {len(absent)} of the data's {len(ids)} rows are in no part "
                         f"(e.g. {absent[:3]}): rows were deleted from the file; {again}")
    if labels is not None and "label" in df.columns:
        lab = dict(zip(ids, labels))
        wrong = [t for t, l in zip(df["track_id"], df["label"]) if str(lab[t]) != str(l)]
        if wrong:
            raise ValueError(f"{path}: the labels of {wrong[:3]} differ from the data's; {again}")
    pos = df["track_id"].map(where).to_numpy()
    part = df["split"].to_numpy()
    try:
        return Split(unit, pos[part == "train"], pos[part == "test"], pos[part == "validation"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}; {again}") from None


def split_signature(splits: Sequence[Split]) -> str:
    """A short hash of the splits' row positions, for an experiment's configuration hash."""
    h = hashlib.sha1()
    for sp in splits:
        h.update(sp.unit.key.encode())
        for p in PARTS:
            h.update(np.asarray(getattr(sp, p), dtype=np.int64).tobytes())
            h.update(b"|")
    return h.hexdigest()[:12]


# --------------------------------------------------------------------------- nested tuning
def inner_cv(split: Split, y: Sequence, groups: Sequence | None = None, *, k: int = 5,
             seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner (train, validation) folds over ``split``'s training rows only.

    Positions are into the full table (like the outer split's), and never include a row
    of ``split.test`` (or ``split.validation``).
    """
    rows = split.train
    yy = _labels(y)[rows]
    gg = None if groups is None else np.asarray(pd.Series(groups).astype(str))[rows]
    kk = min(k, int(pd.Series(yy).value_counts().min())) if gg is None else k
    if kk < 2:
        raise ValueError(f"{split.unit}: a class has fewer than 2 training rows; no inner CV possible")
    return [(rows[a], rows[b]) for a, b in _outer(yy, gg, kk, seed)]


def tune(estimator, param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
         X: np.ndarray, y: Sequence, split: Split, *, groups: Sequence | None = None,
         k: int = 5, scoring: str = "f1_macro", seed: int = 0, n_jobs: int | None = None):
    """Grid search on the unit's training rows only (inner ``k``-fold), refit on them.

    Returns ``(fitted_estimator, best_params)``. ``X`` and ``y`` are the full table; only
    the rows of ``split.train`` are ever passed to the estimator.
    """
    from sklearn.model_selection import GridSearchCV

    folds = inner_cv(split, y, groups, k=k, seed=seed)
    pos = {r: i for i, r in enumerate(split.train)}
    cv = [(np.asarray([pos[r] for r in a]), np.asarray([pos[r] for r in b])) for a, b in folds]
    X_tr = np.asarray(X)[split.train]
    y_tr = np.asarray(y)[split.train]
    gs = GridSearchCV(estimator, param_grid, scoring=scoring, cv=cv, refit=True, n_jobs=n_jobs)
    gs.fit(X_tr, y_tr)
    return gs.best_estimator_, dict(gs.best_params_)
