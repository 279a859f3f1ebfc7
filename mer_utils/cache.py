"""Feature cache and the parallel, cached per-file map every extractor uses.

Two pieces, shared by :mod:`mer_utils.features` and :mod:`mer_utils.embeddings`:

``FeatureCache(root, namespace, config)``
    One folder per (namespace, config hash)::

        <root>/<namespace>/<config-hash>/config.json        the config, human readable
        <root>/<namespace>/<config-hash>/<kk>/<key>.npz     one file per track

    The track key hashes the track id, the absolute path and the file's size and
    modification time, so a re-encoded or replaced file is recomputed, and any change to
    the config (a new hop, another sample rate, a bumped ``version`` field) gives a new
    config hash, i.e. an empty cache. Entries are written atomically (temporary file in
    the same folder, then ``os.replace``), so an interrupted run — or a cluster worker that
    dies mid-file — never leaves a half written entry that a later run would trust (only a
    ``.<name>.<pid>.<n>.tmp`` file, which nothing reads; :meth:`FeatureCache.remove_stale_temporaries`
    deletes old ones). Entries are plain ``np.savez`` archives with a fixed zip timestamp, so
    the same arrays give the same bytes wherever and whenever they are written. Failures (corrupt / silent / too-short
    audio) are cached too, as ``<key>.err.json``, so a re-run does not decode a broken
    file again; fixing the file changes its mtime and therefore its key.

``cached_map(fn, items, ids=..., paths=..., cache=..., n_jobs=..., on_error=...)``
    Applies a pure per-file function ``fn(item) -> np.ndarray | dict[str, np.ndarray]``
    to every item: cache hits are read in the calling process, misses are computed in
    ``n_jobs`` worker processes (joblib's reusable loky pool through :func:`stream_map`, a
    bounded queue: at most a few clips of audio are in flight at any time; the embeddings'
    overlapped extraction uses the same pool), streamed back in order behind a tqdm
    progress bar, and written to the cache by the worker that computed them. With a dask scheduler (``scheduler=`` or the
    ``MER_SCHEDULER`` environment variable that ``./run_all.sh --scheduler`` sets: an address
    such as ``tcp://host:8786``, or ``local`` for a ``LocalCluster`` on this machine) the misses
    are computed on that cluster's workers instead (:func:`dask_client`), which write the same
    entries into the same cache folder (it must be on a file system the workers share).
    Expected failures (``skip_errors``, by default
    :class:`mer_utils.audio.AudioError`) become recorded skips (``ctx.manifest.skip``)
    or, with ``on_error="raise"``, are raised; any other exception is a bug and is always
    raised. Skipped items are absent from the result: never a NaN row.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["FeatureCache", "MapResult", "cached_map", "stream_map", "dask_client", "close_dask_clients",
           "config_hash", "track_key",
           "default_cache_root", "SCHEDULER_ENV"]

#: environment variable naming the dask scheduler of the extraction (``./run_all.sh --scheduler``)
SCHEDULER_ENV = "MER_SCHEDULER"


# --------------------------------------------------------------------------- hashing
def _canonical(obj: Any) -> Any:
    """Turn configs (dataclasses, dicts, tuples, numpy scalars, paths) into plain JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__class__": type(obj).__name__,
                **{f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _canonical(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float):
        return repr(obj)  # exact, and 1.0 != 1
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if callable(obj):
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
    return repr(obj)


def config_hash(config: Any, length: int = 16) -> str:
    """Stable short hash of a config (dataclass / dict / anything JSON-able)."""
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def track_key(track_id: Any, path: str | os.PathLike | None = None) -> str:
    """Cache key of one track: id + absolute path + file size + mtime (when the file exists)."""
    parts = [str(track_id)]
    if path is not None and str(path) != "":
        p = Path(path)
        parts.append(str(p.resolve()) if p.exists() else str(p))
        try:
            st = p.stat()
            parts += [str(st.st_size), str(st.st_mtime_ns)]
        except OSError:
            parts.append("missing")
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:24]


def default_cache_root(ctx: Any = None) -> Path:
    """``ctx.cache_dir`` when a run context is given, else the configured CACHE_DIR."""
    if ctx is not None and getattr(ctx, "cache_dir", None) is not None:
        return Path(ctx.cache_dir)
    from mer_utils.config import CACHE_DIR

    return Path(CACHE_DIR)


# --------------------------------------------------------------------------- the cache
class CacheWriteError(OSError):
    """The feature cache could not be written: the message names the folder and what to do."""

    @classmethod
    def of(cls, exc: OSError, root: Path) -> "CacheWriteError":
        import errno

        where = f"the feature cache under {root} (MER_CACHE={os.environ.get('MER_CACHE', '<unset>: data/cache')})"
        if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
            what = ("the disk is full: free space there, or point MER_CACHE at a folder on a larger disk "
                    "(entries already written stay valid)")
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            what = ("it cannot be written (permissions, or a read-only file system): set MER_CACHE to a "
                    "folder you can write, e.g. MER_CACHE=$HOME/mer-cache")
        else:
            what = f"{exc.strerror or exc}"
        err = cls(exc.errno, f"cannot write {where}: {what} [{exc.filename or root}]")
        return err


@dataclasses.dataclass(frozen=True)
class FeatureCache:
    """Per-(track, config) on-disk cache of numpy arrays (see the module docstring).

    ``root`` is usually ``ctx.cache_dir / "features"`` (features) or
    ``ctx.cache_dir / "embeddings"``; ``namespace`` names the extractor (``"mel-louro_mel"``,
    ``"javadi477"``, ``"musicnn_msd"``); ``config`` is anything :func:`config_hash` accepts
    and should include a ``version`` to bump when the code changes its output.
    """

    root: Path
    namespace: str
    config: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        # hashed once (a cached re-run asks for the folder once per track)
        object.__setattr__(self, "_hash", config_hash({"namespace": self.namespace, "config": self.config}))

    @property
    def hash(self) -> str:
        return self._hash

    @property
    def folder(self) -> Path:
        return self.root / self.namespace / self._hash

    def _path(self, key: str, suffix: str = ".npz") -> Path:
        return self.folder / key[:2] / f"{key}{suffix}"

    # -- reading
    def _checked_entries(self) -> bool:
        """Whether this folder's entries carry an integrity record (written by this version);
        an older folder's entries are read as they are."""
        try:
            return json.loads((self.folder / "config.json").read_text()).get("format", 1) >= ENTRY_FORMAT
        except (OSError, ValueError, AttributeError):
            return True                      # a new folder: entries will carry one

    def get(self, key: str) -> np.ndarray | dict[str, np.ndarray] | None:
        """The cached value, or None on a miss. A corrupt entry counts as a miss (it is
        recomputed and written again): an unreadable file, or one whose arrays do not match
        the integrity record written with them (shape, dtype, checksum) — a readable file
        with other contents would otherwise pass as features; a warning names the file."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception:  # truncated / foreign file: recompute
            return None
        record = data.pop(_INTEGRITY, None)
        problem = None
        if record is not None:
            problem = _integrity_problem(data, json.loads(str(record)))
        elif self._checked_entries():
            problem = "it has no integrity record (not written by the cache)"
        if problem:
            import warnings

            warnings.warn(f"{path}: corrupt cache entry, recomputed: {problem}", RuntimeWarning, stacklevel=2)
            return None
        if list(data) == ["value"]:
            return data["value"]
        return data

    def get_error(self, key: str) -> str | None:
        """The cached failure reason of a track, or None."""
        path = self._path(key, ".err.json")
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())["reason"]
        except Exception:
            return None

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()

    # -- writing
    def _ensure_folder(self) -> None:
        cfg = self.folder / "config.json"
        if not cfg.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(cfg, json.dumps(
                {"namespace": self.namespace, "config": _canonical(self.config), "format": ENTRY_FORMAT},
                indent=2, sort_keys=True).encode())

    def put(self, key: str, value: np.ndarray | dict[str, np.ndarray]) -> Path:
        """Store an array (or a dict of arrays) atomically. A full disk or a folder that cannot
        be written is a :class:`CacheWriteError` naming the folder and what to do."""
        path = self._path(key)
        arrays = value if isinstance(value, dict) else {"value": value}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(value)}.tmp")
        try:
            self._ensure_folder()
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                _savez(fh, arrays, integrity=True)
            os.replace(tmp, path)
        except OSError as exc:
            raise CacheWriteError.of(exc, self.root) from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        err = self._path(key, ".err.json")
        if err.exists():
            err.unlink()
        return path

    def put_error(self, key: str, reason: str) -> None:
        path = self._path(key, ".err.json")
        try:
            self._ensure_folder()
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(path, json.dumps({"reason": reason}).encode())
        except OSError as exc:
            raise CacheWriteError.of(exc, self.root) from exc

    def remove_stale_temporaries(self, max_age_s: float = 3600.0) -> int:
        """Delete temporary files older than ``max_age_s`` (left by a process killed while
        writing; never read as entries). Younger ones may belong to a writer still running."""
        import time

        n = 0
        now = time.time()
        for tmp in self.folder.glob("*/.*.tmp") if self.folder.exists() else []:
            try:
                if now - tmp.stat().st_mtime > max_age_s:
                    tmp.unlink()
                    n += 1
            except OSError:
                pass
        return n

    def clear(self) -> None:
        """Delete this config's entries (other configs' folders are left alone)."""
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.npz")) if self.folder.exists() else 0


#: Entries of folders of this format carry an integrity record (older folders: read as is).
ENTRY_FORMAT = 2
_INTEGRITY = "__integrity__"


def _integrity(arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    """Shape, dtype, CRC-32 of the bytes, and whether every value is finite, per array."""
    import zlib

    out = {}
    for k, a in arrays.items():
        a = np.ascontiguousarray(a)
        finite = bool(np.isfinite(a).all()) if a.dtype.kind in "fc" else True
        out[k] = {"shape": list(a.shape), "dtype": a.dtype.str, "crc32": zlib.crc32(a.view(np.uint8).reshape(-1))
                  if a.size else 0, "finite": finite}
    return out


def _integrity_problem(data: dict[str, np.ndarray], record: dict[str, dict]) -> str | None:
    if set(data) != set(record):
        return f"arrays {sorted(data)} where {sorted(record)} were written"
    now = _integrity(data)
    for k, want in record.items():
        got = now[k]
        if got["shape"] != want["shape"] or got["dtype"] != want["dtype"]:
            return (f"{k!r} is {tuple(got['shape'])} {np.dtype(got['dtype']).name}, written as "
                    f"{tuple(want['shape'])} {np.dtype(want['dtype']).name}")
        if want["finite"] and not got["finite"]:
            return f"{k!r} holds NaN or infinite values that were not written"
        if got["crc32"] != want["crc32"]:
            return f"{k!r} does not match its checksum"
    return None


#: fixed timestamp of every member of a cache entry (the zip format's earliest date)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _savez(fh, arrays: dict, *, integrity: bool = False) -> None:
    """``np.savez(fh, **arrays)`` with a fixed member timestamp: byte-identical output for
    identical arrays (np.savez stamps each member with the time of writing). Arrays are
    converted one by one while writing, as np.savez does; with ``integrity`` their record
    (:func:`_integrity`) is written last, as the member ``__integrity__``."""
    import zipfile

    record = {}
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        members = list(arrays.items())
        for i, (key, val) in enumerate(members + ([(_INTEGRITY, None)] if integrity else [])):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            if key == _INTEGRITY and i == len(members):
                val = np.asarray(json.dumps(record, sort_keys=True))
            else:
                val = np.asanyarray(val)
                if integrity:
                    record.update(_integrity({key: val}))
            with zf.open(info, "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, val, allow_pickle=False)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- parallel map
@dataclasses.dataclass
class MapResult:
    """Outcome of :func:`cached_map`.

    ``values[i]`` belongs to ``items[kept[i]]``; ``skipped`` lists ``(index, id, reason)``;
    ``hits``/``misses`` count cache hits and computed items (failures included).
    """

    values: list[Any]
    kept: list[int]
    skipped: list[tuple[int, str, str]]
    hits: int = 0
    misses: int = 0


def _default_skip_errors() -> tuple[type[BaseException], ...]:
    from mer_utils.audio import AudioError

    return (AudioError,)


def _run_one(fn: Callable, item: Any, key: str | None, cache: FeatureCache | None,
             skip_errors: tuple[type[BaseException], ...], keep: bool = True):
    """Worker body: compute, store, return ("ok", value) or ("err", exception); with
    ``keep=False`` ("ok", None): the value lives in the cache only (nothing sent back)."""
    try:
        value = fn(item)
    except skip_errors as exc:  # expected, documented failure: record it
        if cache is not None and key is not None:
            cache.put_error(key, str(exc))
        return "err", exc
    if cache is not None and key is not None:
        cache.put(key, value)
    return "ok", value if keep else None


def _blas_limit(n: int | None):
    import contextlib

    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _progress(total: int, desc: str | None, enabled: bool):
    from tqdm import tqdm

    disable = (not enabled) or os.environ.get("MER_PROGRESS", "1") == "0" or total == 0
    return tqdm(total=total, desc=desc, disable=disable, file=sys.stderr, mininterval=0.5,
                dynamic_ncols=True, leave=False)


def cached_map(fn: Callable[[Any], Any], items: Sequence[Any], *,
               ids: Sequence[Any] | None = None,
               paths: Sequence[Any] | None = None,
               cache: FeatureCache | None = None,
               n_jobs: int | None = 1,
               on_error: str = "skip",
               manifest: Any = None,
               skip_errors: tuple[type[BaseException], ...] | None = None,
               desc: str | None = None,
               progress: bool = True,
               prefer: str | None = None,
               blas_threads: int | None = 1,
               scheduler: str | None = None,
               load: bool = True) -> MapResult:
    """Map ``fn`` over ``items`` with a per-item cache, joblib workers and a progress bar.

    Parameters
    ----------
    fn : picklable callable (module-level function or ``functools.partial`` of one) that
        takes one item and returns an array or a dict of arrays. It must be pure: the same
        item under the same config gives the same output (that is what makes caching sound).
    items : one entry per track (e.g. paths, or ``(path, extra)`` tuples).
    ids, paths : track ids and file paths for the cache keys and skip messages
        (default: ``str(item)`` for both).
    cache : a :class:`FeatureCache`, or None for no caching.
    n_jobs : worker processes (1 = in-process, no pool; None = 1; -1 = all cores).
    on_error : ``"skip"`` (record in ``manifest.skip`` and leave the item out) or
        ``"raise"`` (raise the first expected failure, e.g. an ``AudioError``).
    manifest : ``ctx.manifest`` (anything with ``.skip(item, reason)``), optional.
    skip_errors : exception types treated as expected failures
        (default ``(mer_utils.audio.AudioError,)``); anything else always raises.
    prefer : "threads" runs the misses in joblib threads (GIL-releasing work); default: processes.
    blas_threads : BLAS threads while items are computed in this process (default 1: the
        per-file matrices are small, and a multi-threaded OpenBLAS on a busy machine is
        many times slower than one thread; joblib's workers get 1 thread each anyway).
        None leaves the BLAS thread pools alone.
    scheduler : a dask scheduler address, ``"local"`` (a ``LocalCluster`` of ``n_jobs``
        workers), or None: ``$MER_SCHEDULER`` when set, else worker processes here. The
        misses then run on the cluster's workers (:func:`stream_map`), which write the cache
        entries themselves — the same bytes as the local path.
    load : False (with a cache): fill the cache only. Hits are checked by the entry's
        presence, not read; workers send nothing back; ``values`` holds None for every kept
        item (read them later with ``cache.get(track_key(id, path))``, one at a time: what a
        corpus of any size needs in memory is then one entry).
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', not {on_error!r}")
    if not load and cache is None:
        raise ValueError("load=False needs a cache (the values would be lost)")
    items = list(items)
    n = len(items)
    ids = [str(i) for i in (ids if ids is not None else items)]
    paths = list(paths) if paths is not None else [i if isinstance(i, (str, os.PathLike)) else None
                                                    for i in items]
    if len(ids) != n or len(paths) != n:
        raise ValueError("ids and paths must have one entry per item")
    skip_errors = tuple(skip_errors) if skip_errors is not None else _default_skip_errors()
    keys = [track_key(i, p) for i, p in zip(ids, paths)] if cache is not None else [None] * n

    results: list[Any] = [None] * n
    status: list[str | None] = [None] * n   # "ok" | reason string for failures
    errors: dict[int, BaseException | str] = {}
    hits = 0
    todo: list[int] = []
    for i, key in enumerate(keys):
        if cache is not None:
            val = cache.get(key) if load else (True if key in cache else None)
            if val is not None:
                val = val if load else None
                results[i], status[i] = val, "ok"
                hits += 1
                continue
            reason = cache.get_error(key)
            if reason is not None:
                errors[i] = reason
                hits += 1
                continue
        todo.append(i)

    def record(i: int, outcome: tuple[str, Any]) -> None:
        kind, value = outcome
        if kind == "ok":
            results[i], status[i] = value, "ok"
        else:
            errors[i] = value
            if on_error == "raise":
                raise value

    workers = 1 if n_jobs in (None, 0, 1) or len(todo) <= 1 else n_jobs
    scheduler = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None
    with _progress(len(todo), desc, progress) as bar:
        if todo and (scheduler or (workers > 1 and prefer != "threads")):
            # worker processes (the same pool as the embeddings' overlapped extraction, so
            # switching between them starts no new workers) or the workers of a dask cluster
            stream = stream_map(fn, [items[i] for i in todo], keys=[keys[i] for i in todo], cache=cache,
                                n_jobs=max(1, n_jobs or 1) if scheduler else workers,
                                skip_errors=skip_errors, scheduler=scheduler, keep=load)
            try:
                for j, outcome in stream:
                    record(todo[j], outcome)
                    bar.update(1)
            finally:
                stream.close()
        elif workers == 1:
            with _blas_limit(blas_threads if todo else None):
                for i in todo:
                    record(i, _run_one(fn, items[i], keys[i], cache, skip_errors, load))
                    bar.update(1)
        else:
            from joblib import Parallel, delayed

            par = Parallel(n_jobs=workers, return_as="generator", pre_dispatch="2*n_jobs",
                           prefer=prefer, batch_size=1)
            gen = par(delayed(_run_one)(fn, items[i], keys[i], cache, skip_errors, load) for i in todo)
            try:
                for i, outcome in zip(todo, gen):
                    record(i, outcome)
                    bar.update(1)
            finally:
                if hasattr(gen, "close"):
                    gen.close()

    if on_error == "raise" and errors:
        i = min(errors)
        err = errors[i]
        if isinstance(err, BaseException):
            raise err
        from mer_utils.audio import AudioError

        raise AudioError(paths[i] or ids[i], f"(cached failure) {err}",
                         "fix or remove the file; its cache entry is replaced once the file changes")

    kept = [i for i in range(n) if status[i] == "ok"]
    skipped = []
    for i in sorted(errors):
        reason = str(errors[i])
        skipped.append((i, ids[i], reason))
        if manifest is not None:
            where = f" ({paths[i]})" if paths[i] is not None and str(paths[i]) != ids[i] else ""
            manifest.skip(f"{ids[i]}{where}", reason)
    return MapResult(values=[results[i] for i in kept], kept=kept, skipped=skipped,
                     hits=hits, misses=len(todo))


# --------------------------------------------------------------------------- streaming map
_CLIENTS: dict[str, Any] = {}
#: each worker computes on one core: BLAS/OpenMP and TensorFlow's thread pools (a network run in a
#: worker, :mod:`mer_utils.embeddings`, would otherwise start a pool per core in every worker)
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def dask_client(scheduler: str, n_workers: int = 2):
    """A ``dask.distributed`` client for ``scheduler`` (kept for the life of the process).

    ``"local"``: a ``LocalCluster`` of ``n_workers`` single-threaded worker processes on this
    machine; anything else is a scheduler address (``tcp://host:8786``), e.g. of a
    dask-jobqueue ``SLURMCluster`` (README). Needs the extra ``[cluster]``.
    """
    key = scheduler if scheduler != "local" else f"local:{n_workers}"
    client = _CLIENTS.get(key)
    if client is not None and client.status == "running":
        return client
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - environment dependent
        raise ImportError(f"a dask scheduler ({scheduler!r}) needs dask.distributed: "
                          "pip install -e .[cluster]") from exc
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(scheduler)
    _CLIENTS[key] = client
    return client


def close_dask_clients() -> None:
    """Close the clients (and LocalClusters) :func:`dask_client` opened in this process."""
    import contextlib

    for key, client in list(_CLIENTS.items()):
        cluster = getattr(client, "cluster", None)
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None and key.startswith("local:"):
            with contextlib.suppress(Exception):
                cluster.close()
        _CLIENTS.pop(key, None)


def stream_map(fn: Callable[[Any], Any], items: Sequence[Any], *, keys: Sequence[str | None] | None = None,
               cache: FeatureCache | None = None, n_jobs: int = 2, max_pending: int | None = None,
               skip_errors: tuple[type[BaseException], ...] | None = None, scheduler: str | None = None,
               keep: bool = True, warm: Callable[[Any], Any] | None = None):
    """Yield ``(index, ("ok", value) | ("err", exception))`` for every item, in input order,
    computing ahead in worker processes with at most ``max_pending`` items in flight.

    This is the bounded queue between producers and one consumer: while the caller works on
    one result (e.g. runs a network on a batch of front-end outputs, in its own process), the
    workers compute the next ones, and no more than ``max_pending`` (default ``2 * n_jobs + 2``)
    results wait in memory. With ``keys`` and ``cache`` the workers also write each value to
    the cache (as :func:`cached_map`). Workers: ``n_jobs`` processes of joblib's reusable loky
    executor (the pool :func:`cached_map` uses; BLAS limited to one thread each), or with
    ``scheduler`` the workers of that dask cluster (:func:`dask_client`). ``n_jobs`` <= 1 and
    no scheduler: computed here, one at a time, when the caller asks for the next result.
    Closing the generator early cancels what is still pending.

    With workers, the first item runs here before any worker starts (see below); ``warm``
    (a function of the item, its result discarded) runs on it here instead, and the first
    item then goes to a worker like the others: for an ``fn`` whose own first call here
    would be costly and useless in this process (e.g. building a network the workers run).
    """
    from collections import deque

    items = list(items)
    keys = list(keys) if keys is not None else [None] * len(items)
    skip_errors = tuple(skip_errors) if skip_errors is not None else _default_skip_errors()
    if n_jobs is not None and n_jobs < 0:          # joblib's convention: -1 = every core
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if not scheduler and (n_jobs is None or n_jobs <= 1):
        with _blas_limit(1):
            for j, item in enumerate(items):
                yield j, _run_one(fn, item, keys[j], cache, skip_errors, keep)
        return
    if not items:
        return
    # The first item runs here, before any worker gets one: numba-compiled code on its path
    # (librosa's beat tracker, ...) is compiled once and written to numba's on-disk cache, which
    # the workers then only read. Processes that compile the same cached function at the same
    # time corrupt that cache (seen: a segfault in every later process that loads it; see
    # tests/test_cache.py::test_parallel_map_compiles_numba_once_before_the_workers).
    with _blas_limit(1):
        if warm is None:
            first = _run_one(fn, items[0], keys[0], cache, skip_errors, keep)
        else:
            try:
                warm(items[0])
            except skip_errors:
                pass                 # the worker meets the same failure and reports it
    start = 0 if warm is not None else 1
    if warm is None:
        yield 0, first
        if len(items) == 1:
            return
    if scheduler:
        client = dask_client(scheduler, n_workers=max(1, n_jobs or 1))

        def submit(j):
            return client.submit(_run_one, fn, items[j], keys[j], cache, skip_errors, keep, pure=False,
                                 key=f"mer-{keys[j] or j}-{os.getpid()}-{id(items)}-{j}")
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or n_jobs or 1)
    else:
        # joblib's memmapping executor is loky's reusable pool as joblib.Parallel keeps it: taking
        # loky's pool directly leaves it without the temp-folder manager joblib expects, and the
        # next Parallel(n_jobs=...) that reuses it fails (AttributeError '_temp_folder_manager')
        from joblib.executor import get_memmapping_executor

        executor = get_memmapping_executor(n_jobs, env=_WORKER_ENV)

        def submit(j):
            return executor.submit(_run_one, fn, items[j], keys[j], cache, skip_errors, keep)
        n_workers = n_jobs
    limit = max_pending or 2 * n_workers + 2
    pending: deque = deque()
    nxt = start
    try:
        while nxt < len(items) and len(pending) < limit:
            pending.append((nxt, submit(nxt)))
            nxt += 1
        while pending:
            j, fut = pending.popleft()
            outcome = fut.result()
            if nxt < len(items):            # keep the queue full while the caller works
                pending.append((nxt, submit(nxt)))
                nxt += 1
            yield j, outcome
    finally:
        for _, fut in pending:
            fut.cancel()
