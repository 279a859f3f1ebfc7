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
import io
import os
import re
import time
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation.protocols import Split, split_signature
from mer_utils.results import ExperimentRun, Unit, stored_fingerprint

#: environment variable naming the dask scheduler (``./run_all.sh --scheduler``); the same one the
#: feature extraction reads (:data:`mer_utils.cache.SCHEDULER_ENV`)
SCHEDULER_ENV = "MER_SCHEDULER"

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
                 rows: np.ndarray | None = None, progress: bool = True,
                 scheduler: str | None = None) -> ExperimentRun:
    """Run every unit of ``splits`` not yet stored under ``config`` and commit the set.

    ``config`` must hold everything that changes the numbers (the paper configuration,
    features, corpus); the splits' own signature is added to it. With ``seeds``, every
    split is trained once per seed (units ``r-f-s``) and ``fit_predict(split, seed)`` is
    called instead. ``rows`` (:func:`row_fingerprints` of the inputs, one per row of the
    protocol) makes each unit's identity include what it was trained and tested on: a unit
    whose rows changed since it was stored is trained again, the others are not. Returns
    the committed :class:`~mer_utils.results.ExperimentRun`.

    ``scheduler`` (default: ``$MER_SCHEDULER``, which ``./run_all.sh --scheduler`` sets): the
    pending units run on that dask.distributed cluster (an address, or ``"local"`` for a
    LocalCluster; :func:`mer_utils.cache.dask_client`), each unit on one worker (one GPU per
    unit where the workers declare a ``GPU`` resource), and each worker writes its unit into
    the same staged store. ``fit_predict`` is shipped once: cloudpickled (with what its closure
    holds: the data, the trainer's builder and recipe; a :class:`~mer_utils.training.Trainer`
    travels as a fresh trainer, its compiled model stays here), written once beside the staged
    units (a file on the shared results folder survives a dying worker; data scattered into a
    worker's memory die with it) and unpickled once per worker, which then keeps it (and the network it compiles) for every
    unit it runs. A worker killed mid-unit leaves no unit file (each is written to a temporary
    name and renamed) and dask runs the unit again elsewhere; the swap to the complete set
    happens here, in the client, as on the sequential path. The results folder must be on a
    file system the workers share. A ``fit_predict`` that cannot be pickled runs here, one unit
    after the other, with a note saying why. On a worker, ``fit_predict`` works on a copy of
    its closure: what it changes there (a counter, a cache dict) does not come back; what the
    caller needs goes into the :class:`UnitResult` (``info``), and the returned run's
    ``trained_now`` lists the units this call trained (on either path).
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
    scheduler = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None
    payload = _shippable(fit_predict, experiment) if todo and scheduler else None
    if payload is not None:
        run.trained_now = _run_on_cluster(run, todo, by_unit, payload, scheduler, progress=progress)
        run.commit()
        return run
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
    run.trained_now = [u.key for u in todo]
    run.commit()
    return run


# --------------------------------------------------------------------------- units on a cluster
#: on a worker: the last unpickled ``fit_predict`` (digest -> function), kept for the next units of
#: the same run (its trainer compiles once per worker); a new run's function replaces it
_WORKER_FNS: dict[str, Callable] = {}


#: the functions of Python's ``random`` module that draw from (or seed) its one shared generator
_RANDOM_FUNCTIONS = ("seed", "random", "uniform", "randint", "randrange", "choice", "choices", "shuffle",
                     "sample", "getrandbits", "getstate", "setstate", "gauss", "normalvariate", "randbytes")
_UNIT_THREADS: dict[int, Any] = {}


def _own_random_for_this_thread() -> None:
    """Give the thread that runs units a generator of its own behind Python's ``random`` module.

    Keras draws its default seeds from ``random`` (seeded by ``seed_everything``); a dask
    worker's own threads draw from the same generator (retry jitter, back-off) at times no one
    controls, and a draw between the seeding and the build shifts the initial weights (seen:
    one unit in four trained from other weights on a LocalCluster). Here, ``random``'s functions
    dispatch to a generator per unit thread; every other thread keeps the shared one."""
    import random
    import threading

    ident = threading.get_ident()
    if ident not in _UNIT_THREADS:
        _UNIT_THREADS[ident] = random.Random()
    if getattr(random, "_mer_unit_threads", False):
        return

    def dispatch(name, shared):
        def draw(*args, **kwargs):
            own = _UNIT_THREADS.get(threading.get_ident())
            return getattr(own, name)(*args, **kwargs) if own is not None else shared(*args, **kwargs)
        draw.__name__ = name
        return draw

    for name in _RANDOM_FUNCTIONS:
        if hasattr(random, name):
            setattr(random, name, dispatch(name, getattr(random, name)))
    random._mer_unit_threads = True


def _fresh_trainer(cls, build, recipe, name):
    """A Trainer as shipped to a worker: the same builder and recipe, nothing compiled yet."""
    return cls(build, recipe, name=name)


def _shippable(fit_predict: Callable, experiment: str) -> bytes | None:
    """``fit_predict`` cloudpickled for the workers, or None (with a note) when it cannot be."""
    import cloudpickle

    class _Pickler(cloudpickle.CloudPickler):
        def reducer_override(self, obj):
            t = type(obj)
            if t.__name__ == "Trainer" and t.__module__ == "mer_utils.training.engine":
                return _fresh_trainer, (t, obj.build, obj.recipe, obj.name)
            return super().reducer_override(obj)

    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=5).dump(fit_predict)
    except Exception as exc:                   # noqa: BLE001 - any pickling failure: run here
        print(f"{experiment}: its fit_predict cannot be shipped to the dask workers "
              f"({type(exc).__name__}: {str(exc)[:200]}); its units run here, one after the other")
        return None
    return buf.getvalue()


def _unit_on_worker(shipped: str, digest: str, run: ExperimentRun, unit: Unit, split: Split,
                    seed: int | None) -> tuple[str, float | None]:
    """One unit, on a dask worker: train, predict, write the unit file into the staged store.

    A unit whose file is there already is not trained again: dask runs a task a second time when
    the worker that held its (tiny) result died before the client fetched it."""
    done = run.staging_dir / f"{unit.key}.npz"
    if done.exists() and (unit not in run.fingerprints or stored_fingerprint(done) == run.fingerprints[unit]):
        return unit.key, None
    _own_random_for_this_thread()
    fn = _WORKER_FNS.get(digest)
    if fn is None:
        import cloudpickle

        _WORKER_FNS.clear()
        with open(shipped, "rb") as fh:
            fn = _WORKER_FNS[digest] = cloudpickle.load(fh)
    t0 = time.perf_counter()
    res = fn(split) if seed is None else fn(split, seed)
    info = dict(res.info, seconds=round(time.perf_counter() - t0, 3))
    run.save(unit, ids=res.ids, y_true=res.y_true, y_score=res.y_score, labels=res.labels,
             y_pred=res.y_pred, info=info)
    return unit.key, info["seconds"]


def _run_on_cluster(run: ExperimentRun, todo: Sequence[Unit], by_unit: Mapping[Unit, tuple[Split, int | None]],
                    payload: bytes, scheduler: str, *, progress: bool = True) -> list[str]:
    """Every unit of ``todo`` on the cluster of ``scheduler``; returns their keys once each is
    stored, or raises once the others are stored when some failed for good (a clear
    error names them: the stored ones stay staged for the rerun)."""
    from distributed import as_completed

    from mer_utils.cache import dask_client

    from mer_utils import cache as _cache

    running = [c for k, c in _cache._CLIENTS.items() if k.startswith("local:") and c.status == "running"]
    client = (running[0] if scheduler == "local" and running  # the extraction's LocalCluster, when it runs
              else dask_client(scheduler, n_workers=int(os.environ.get("MER_SCHEDULER_WORKERS", "2"))))
    workers = client.scheduler_info().get("workers", {})
    gpu = any("GPU" in (w.get("resources") or {}) for w in workers.values())
    digest = hashlib.blake2b(payload, digest_size=12).hexdigest()
    # fit_predict (and the data its closure holds) travels once, through the shared results folder:
    # scattered data die with the worker that holds them, a file does not
    shipped = run.staging_dir.parent / f".{run.staging_dir.name}-{digest}.fit_predict.pkl"
    shipped.parent.mkdir(parents=True, exist_ok=True)
    tmp = shipped.with_name(shipped.name + f".tmp{os.getpid()}")
    tmp.write_bytes(payload)
    os.replace(tmp, shipped)
    tag = f"{os.getpid()}-{time.time_ns()}"
    futures = {}
    for unit in todo:
        sp, s = by_unit[unit]
        fut = client.submit(_unit_on_worker, str(shipped), digest, run, unit, sp, s, pure=False,
                            key=f"mer-unit-{run.experiment}-{unit.key}-{tag}",
                            resources={"GPU": 1} if gpu else None)
        futures[fut] = unit
    if progress:
        print(f"  on {scheduler}: {len(todo)} unit(s) over {len(workers)} worker(s)"
              + (" (one GPU each)" if gpu else "") + f", fit_predict shipped once ({len(payload) / 1e6:.1f} MB)")
    failed: list[tuple[Unit, BaseException]] = []
    t_all = time.perf_counter()
    try:
        for i, fut in enumerate(as_completed(list(futures)), 1):
            unit = futures[fut]
            try:
                key, seconds = fut.result()
            except Exception as exc:           # noqa: BLE001 - keep the others running, report at the end
                failed.append((unit, exc))
                continue
            if progress and seconds is not None and (i == len(todo) or time.perf_counter() - t_all > 5):
                print(f"  {key}: done in {seconds:.1f} s on a worker ({i}/{len(todo)})")
    finally:
        client.cancel(list(futures))           # an interrupted client stops its units on the cluster
        shipped.unlink(missing_ok=True)
    if failed:
        unit, exc = failed[0]
        raise RuntimeError(
            f"{run.experiment}: {len(failed)} unit(s) failed on the cluster (e.g. {unit.key}: "
            f"{type(exc).__name__}: {exc}); the {len(todo) - len(failed)} stored are kept: rerun to train "
            "only the missing ones") from exc
    missing = run.pending()
    if missing:
        raise RuntimeError(
            f"{run.experiment}: the workers reported {len(todo)} unit(s) stored, but {len(missing)} are not in "
            f"{run.staging_dir} (e.g. {missing[0].key}): the results folder must be on a file system the "
            "workers share (or run without --scheduler)")
    return sorted(u.key for u in todo)       # each stored by this call (a re-run task found its file)


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
