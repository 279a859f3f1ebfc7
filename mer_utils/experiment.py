"""The experiment layer: a paper's configuration per profile, and the loop that runs a
protocol's units into the results store.

A paper module (``mer_utils/papers/<paper>.py``) declares its settings as a frozen
dataclass derived from :class:`PaperConfig`, with one set of values per profile (the
paper's own under ``full``), and runs its experiments with :func:`run_protocol`::

    @dataclasses.dataclass(frozen=True)
    class Config(PaperConfig):
        epochs: int = setting(25, paper="25 epochs (Sec. 4)")
        batch_size: int = setting(16, paper="not given")

        PROFILES = {"smoke": dict(epochs=1), "demo": dict(epochs=8), "full": {}}

    cfg = Config.for_profile("demo", epochs=None)       # None: keep the profile's value
    cfg.table()                                          # setting, value, paper, note

    run_protocol(ctx.results_dir, "velankar_crnn", splits, config={...}, fit_predict=step)

``fit_predict(split) -> UnitResult`` trains on ``split.train`` (early stopping on
``split.validation``), predicts ``split.test`` and returns what to store. Units already
stored under the same configuration hash are skipped, so an interrupted notebook resumes
where it stopped; the committed results are replaced only when every unit is stored.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation.protocols import Split, split_signature
from mer_utils.results import ExperimentRun, Unit

__all__ = ["PaperConfig", "setting", "check_setting", "row_fingerprints", "unit_fingerprint", "UnitResult", "run_protocol", "Fidelity", "fidelity_table"]


def setting(default: Any, *, paper: str = "", note: str = "", minimum: float | None = None,
            maximum: float | None = None, choices: Sequence[Any] | None = None) -> Any:
    """A configuration field with its default (the paper's value where it gives one),
    what the paper says (``paper``) and why we chose ours (``note``).

    ``minimum`` / ``maximum`` (inclusive) and ``choices`` bound what a profile or a
    notebook parameter may set; without them :meth:`PaperConfig.for_profile` still refuses
    a value of the wrong type, a negative number where the default is not negative, and a
    count below 1 (:func:`check_setting`).
    """
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple (immutable) as a setting's default")
    return dataclasses.field(default=default, metadata={"paper": paper, "note": note, "minimum": minimum,
                                                         "maximum": maximum, "choices": choices})


#: Names of settings that count something (epochs, folds, a batch...): at least 1.
_COUNT = re.compile(r"(^|_)(epochs|batch_size|batch|folds|repeats|units|trees|neighbors|songs|tracks)$")
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple, "None": type(None)}


def _allowed_types(annotation: str) -> tuple[type, ...] | None:
    """The types a field's annotation (a string under postponed evaluation) admits, or None
    when it says something this check does not read."""
    out = []
    for part in str(annotation).split("|"):
        base = part.strip().split("[", 1)[0]
        if base not in _TYPES:
            return None
        out.append(_TYPES[base])
    return tuple(out)


def check_setting(cls_name: str, field: dataclasses.Field, value: Any) -> Any:
    """``value`` for ``field``, checked (type, range, choices) and normalised (a list becomes a
    tuple, an int a float where the setting is a float); a clear error naming the setting
    otherwise."""
    name = field.name
    where = f"{cls_name}.{name} (the notebook parameter or setting '{name}')"
    if isinstance(value, list):
        value = tuple(value)
    allowed = _allowed_types(field.type)
    if allowed is not None and value is not None:
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if not ok and float in allowed and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            names = " or ".join(t.__name__ for t in allowed)
            raise TypeError(f"{where}: expected {names}, got {value!r} ({type(value).__name__})")
    elif value is None and allowed is not None and type(None) not in allowed:
        raise TypeError(f"{where}: expected {field.type}, got None")
    meta = field.metadata
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise ValueError(f"{where}: {value!r} is not one of {list(meta['choices'])}")
    numbers = value if isinstance(value, tuple) else (value,)
    for v in numbers:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if v != v:                                               # NaN
            raise ValueError(f"{where}: NaN is not a value")
        lo, hi = meta.get("minimum"), meta.get("maximum")
        if lo is None:
            default = field.default
            defaults = default if isinstance(default, tuple) else (default,)
            if _COUNT.search(name) and isinstance(v, int):
                lo = 1
            elif all(isinstance(d, (int, float)) and not isinstance(d, bool) and d >= 0 for d in defaults
                     if d is not None):
                lo = 0
        if lo is not None and v < lo:
            raise ValueError(f"{where}: {v!r} is below its minimum {lo}")
        if hi is not None and v > hi:
            raise ValueError(f"{where}: {v!r} is above its maximum {hi}")
    return value


@dataclasses.dataclass(frozen=True)
class PaperConfig:
    """Base of every paper's configuration: values per profile, overrides, a table.

    Subclasses set ``PROFILES = {"smoke": {...}, "demo": {...}, "full": {...}}``: the
    field values that differ from the defaults under each profile. Defaults are the
    paper's values; ``full`` normally overrides nothing.
    """

    profile: str = "demo"
    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {}, "demo": {}, "full": {}}

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any):
        """The configuration of ``profile``; ``overrides`` with value ``None`` are ignored
        (a notebook's parameters cell says ``epochs = None`` for "the profile's")."""
        if profile not in cls.PROFILES:
            raise ValueError(f"{cls.__name__}: unknown profile {profile!r}; choose one of "
                             f"{', '.join(cls.PROFILES)}")
        names = {f.name for f in dataclasses.fields(cls)}
        overrides = {k: v for k, v in overrides.items() if v is not None}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no setting(s) {unknown}; known: {sorted(names)}")
        values = dict(cls.PROFILES[profile])
        values.update(overrides)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: check_setting(cls.__name__, fields[k], v) for k, v in values.items()}
        cfg = cls(profile=profile, **values)
        object.__setattr__(cfg, "_overrides", tuple(sorted(overrides)))
        return cfg

    @property
    def overrides(self) -> tuple[str, ...]:
        """Settings the caller changed from the profile's values."""
        return getattr(self, "_overrides", ())

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def table(self) -> pd.DataFrame:
        """One row per setting: value under this profile, the paper's, our note."""
        rows = []
        for f in dataclasses.fields(self):
            if f.name == "profile":
                continue
            v = getattr(self, f.name)
            rows.append({"setting": f.name, "value": v if not isinstance(v, tuple) else list(v),
                         "paper": f.metadata.get("paper", ""),
                         "note": ("overridden; " if f.name in self.overrides else "")
                         + f.metadata.get("note", "")})
        return pd.DataFrame(rows)

    def record(self, manifest) -> None:
        """Put the configuration (and which settings were overridden) into a run manifest."""
        manifest.settings[type(self).__module__.rsplit(".", 1)[-1]] = {
            "class": type(self).__name__, **self.to_dict(), "overridden": list(self.overrides)}


@dataclasses.dataclass
class UnitResult:
    """What one unit stores: its test rows' ids, truth, scores (and decisions, info)."""

    ids: Sequence
    y_true: np.ndarray
    y_score: np.ndarray
    labels: Sequence[str]
    y_pred: np.ndarray | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


def row_fingerprints(*inputs: Any, owner: np.ndarray | None = None, n_rows: int | None = None) -> np.ndarray:
    """One short hash per row of what a unit trains and is tested on: the bytes of each
    input's row (arrays, or DataFrames by their values), combined over ``inputs``.

    Inputs at a finer grain than the protocol's rows (segments, chunks) pass ``owner`` (the
    row each of their items belongs to) and ``n_rows``: a row's hash then covers all its
    items. A replaced audio file changes its features (the feature cache is keyed by file
    size and time), a changed value of a feature table changes its row: either changes the
    fingerprint of exactly the rows that hold it. Cost: one BLAKE2 pass over the inputs
    (about 0.1 s for the 120 dev clips' mel spectrograms).
    """
    hashers: list[Any] | None = None
    for x in inputs:
        arr = x.to_numpy() if isinstance(x, pd.DataFrame) else np.asarray(x)
        if arr.dtype == object:
            arr = arr.astype(str)
        n = len(arr) if owner is None else int(n_rows)
        if hashers is None:
            hashers = [hashlib.blake2b(digest_size=12) for _ in range(n)]
        elif len(hashers) != n:
            raise ValueError(f"inputs have {len(hashers)} and {n} rows: give inputs of the same rows")
        rows = np.arange(len(arr)) if owner is None else np.asarray(owner, dtype=int)
        if owner is not None and len(rows) != len(arr):
            raise ValueError(f"owner has {len(rows)} entries for {len(arr)} items")
        for i, r in enumerate(rows):
            hashers[r].update(np.ascontiguousarray(arr[i]).tobytes())
    if hashers is None:
        raise ValueError("row_fingerprints needs at least one input")
    return np.asarray([h.hexdigest() for h in hashers])


def unit_fingerprint(split: Split, rows: np.ndarray) -> str:
    """The fingerprint of one unit: its rows' fingerprints, part by part (train, validation, test)."""
    h = hashlib.blake2b(digest_size=12)
    for part in ("train", "validation", "test"):
        idx = np.asarray(getattr(split, part), dtype=int)
        h.update(part.encode())
        h.update("".join(rows[idx]).encode())
    return h.hexdigest()


def run_protocol(results_dir, experiment: str, splits: Sequence[Split], *,
                 config: Mapping[str, Any], fit_predict: Callable[[Split], UnitResult],
                 meta: Mapping[str, Any] | None = None, seeds: Sequence[int] | None = None,
                 rows: np.ndarray | None = None, progress: bool = True) -> ExperimentRun:
    """Run every unit of ``splits`` not yet stored under ``config`` and commit the set.

    ``config`` must hold everything that changes the numbers (the paper configuration,
    features, corpus); the splits' own signature is added to it. With ``seeds``, every
    split is trained once per seed (units ``r-f-s``) and ``fit_predict(split, seed)`` is
    called instead. ``rows`` (:func:`row_fingerprints` of the inputs, one per row of the
    protocol) makes each unit's identity include what it was trained and tested on: a unit
    whose rows changed since it was stored is trained again, the others are not. Returns
    the committed :class:`~mer_utils.results.ExperimentRun`.
    """
    by_unit: dict[Unit, tuple[Split, int | None]] = {}
    for sp in splits:
        for s in (seeds if seeds is not None else [None]):
            by_unit[Unit(sp.unit.repeat, sp.unit.fold, s if s is not None else sp.unit.seed)] = (sp, s)
    full_config = dict(config, splits=split_signature(splits), seeds=list(seeds) if seeds else None)
    fps = None
    if rows is not None:
        rows = np.asarray(rows)
        fps = {u: unit_fingerprint(sp, rows) for u, (sp, _) in by_unit.items()}
        full_config["input_fingerprints"] = True
    run = ExperimentRun(results_dir, experiment, full_config, by_unit, meta=meta, fingerprints=fps)
    todo = run.pending()
    if progress:
        done = len(by_unit) - len(todo)
        stale = len(run.stale())
        print(f"{experiment}: {len(by_unit)} unit(s)" + (f", {done} stored earlier" if done else "")
              + (f", {len(todo)} to run" if todo else ", nothing to run")
              + (f" ({stale} of them saw inputs that changed since)" if stale else ""))
    t_all = time.perf_counter()
    for i, unit in enumerate(todo, 1):
        sp, s = by_unit[unit]
        t0 = time.perf_counter()
        res = fit_predict(sp) if s is None else fit_predict(sp, s)
        info = dict(res.info, seconds=round(time.perf_counter() - t0, 3))
        run.save(unit, ids=res.ids, y_true=res.y_true, y_score=res.y_score, labels=res.labels,
                 y_pred=res.y_pred, info=info)
        if progress and (i == len(todo) or time.perf_counter() - t_all > 5):
            print(f"  {unit.key}: done in {info['seconds']:.1f} s ({i}/{len(todo)})")
    run.commit()
    return run


# --------------------------------------------------------------------------- fidelity
FIDELITY_STATUSES = ("same", "departure", "paper silent")


@dataclasses.dataclass(frozen=True)
class Fidelity:
    """One point of a paper checked against our code.

    ``status``: ``same`` (we do what the paper says), ``departure`` (we do otherwise;
    ``reason`` says why) or ``paper silent`` (the paper does not say; ``ours`` is our
    choice and ``reason`` where it comes from, e.g. a cited original).
    """

    point: str
    paper: str           # the paper's words (a short quote) or "—"
    ours: str
    status: str
    reason: str = ""

    def __post_init__(self):
        if self.status not in FIDELITY_STATUSES:
            raise ValueError(f"fidelity status must be one of {FIDELITY_STATUSES}, not {self.status!r}")
        if self.status != "same" and not self.reason:
            raise ValueError(f"fidelity point {self.point!r}: a {self.status} needs a reason")


def fidelity_table(points: Sequence[Fidelity]) -> pd.DataFrame:
    """The paper-vs-code table a notebook shows: point, paper's words, our choice, status, reason."""
    return pd.DataFrame([dataclasses.asdict(p) for p in points],
                        columns=["point", "paper", "ours", "status", "reason"])
