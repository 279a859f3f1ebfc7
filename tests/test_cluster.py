"""Feature extraction on a dask.distributed LocalCluster (the cluster path of cached_map):
the same cache entries, byte for byte, and the same features as the local path; a worker
that dies while writing an entry leaves no entry a later run would trust.

Needs the extra [cluster] (./run_all.sh --tests installs it); skipped without it."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import FOURQ_DEV, require, write_tone

distributed = pytest.importorskip("distributed", reason="dask.distributed absent: pip install -e .[cluster]")
pytestmark = pytest.mark.cluster

from mer_utils import cache as C  # noqa: E402
from mer_utils import features as F  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _pickle_this_module_by_value():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    C.close_dask_clients()


def _ctx(cache_dir: Path, n_jobs: int = 2):
    man = SimpleNamespace(skip=lambda *a: None, substitute=lambda *a: None, add_source=lambda *a: None)
    return SimpleNamespace(cache_dir=cache_dir, manifest=man, p=SimpleNamespace(n_jobs=n_jobs))


def _entries(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> pd.DataFrame:
    d = tmp_path_factory.mktemp("clips")
    rows = []
    for i in range(6):
        p = write_tone(d / f"t{i}.wav", seconds=4.0 + i, sr=22050, freq=220.0 * (i + 1))
        rows.append({"track_id": f"t{i}", "path": str(p)})
    (d / "broken.wav").write_bytes(b"RIFF0000WAVEnot audio")
    rows.append({"track_id": "broken", "path": str(d / "broken.wav")})
    return pd.DataFrame(rows)


def _extract(df, cache_dir, scheduler=None):
    old = os.environ.pop(C.SCHEDULER_ENV, None)
    if scheduler:
        os.environ[C.SCHEDULER_ENV] = scheduler
    try:
        ctx = _ctx(cache_dir)
        t0 = time.perf_counter()
        X, kept = F.extract_spectrograms(df, "louro_mel", ctx=ctx, progress=False)
        feats, kept_f = F.extract_features(df, "javadi477_ours", ctx=ctx, progress=False)
        return X, kept, feats, kept_f, time.perf_counter() - t0
    finally:
        os.environ.pop(C.SCHEDULER_ENV, None)
        if old is not None:
            os.environ[C.SCHEDULER_ENV] = old


def test_local_cluster_gives_byte_identical_cache_entries_and_features(clips, tmp_path):
    X0, k0, f0, kf0, t_local = _extract(clips, tmp_path / "local")
    X1, k1, f1, kf1, t_cluster = _extract(clips, tmp_path / "cluster", scheduler="local")
    assert C._CLIENTS, "the cluster path did not start a dask client"
    np.testing.assert_array_equal(X1, X0)
    pd.testing.assert_frame_equal(f1, f0)
    assert list(k1["track_id"]) == list(k0["track_id"]) == [f"t{i}" for i in range(6)]  # broken skipped
    a, b = _entries(tmp_path / "local"), _entries(tmp_path / "cluster")
    assert sorted(a) == sorted(b) and any(k.endswith(".err.json") for k in a)
    assert [k for k in a if a[k] != b[k]] == []
    print(f"local {t_local:.1f} s, LocalCluster {t_cluster:.1f} s (incl. cluster start-up)")


class _DieWhileWriting:
    """Converted to an array while the cache entry is being written: the worker dies there."""

    def __array__(self, dtype=None, copy=None):
        os._exit(1)


def _dies_on_item(item):
    if item == "die":
        return {"a": np.arange(200_000, dtype=np.float64), "b": _DieWhileWriting()}
    return np.full(1000, float(len(item)))


def test_worker_dying_mid_file_leaves_no_entry(tmp_path):
    import dask

    cache = C.FeatureCache(tmp_path, "dies", {"version": 1})
    items = ["ok1", "die", "ok22"]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        client = C.dask_client("local", n_workers=1)
        try:
            with pytest.raises(Exception) as info:
                C.cached_map(_dies_on_item, items, cache=cache, n_jobs=1, scheduler="local", progress=False)
            assert "KilledWorker" in type(info.value).__name__ or "died" in str(info.value).lower()
        finally:
            C.close_dask_clients()
    key = C.track_key("die", "die")
    assert cache.get(key) is None and key not in cache
    partial = list(cache.folder.glob("*/.*.tmp"))
    assert partial and partial[0].stat().st_size > 0, "the worker should have died mid-file"
    for p in cache.folder.glob("*/*.npz"):      # whatever entries exist are complete
        assert cache.get(p.stem) is not None
    assert len(cache) == len(list(cache.folder.glob("*/*.npz")))
    assert cache.remove_stale_temporaries(max_age_s=0) == len(partial)
    assert not list(cache.folder.glob("*/.*.tmp"))
    # a rerun computes what is missing (no worker dies this time for the good items)
    res = C.cached_map(_dies_on_item, ["ok1", "ok22"], cache=cache, n_jobs=1, progress=False)
    assert [v[0] for v in res.values] == [3.0, 4.0]


def test_entries_are_byte_identical_whenever_written(tmp_path):
    a = C.FeatureCache(tmp_path / "a", "x", {"v": 1})
    b = C.FeatureCache(tmp_path / "b", "x", {"v": 1})
    v = {"S": np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), "n": np.arange(3)}
    pa = a.put("k" * 24, v)
    time.sleep(2.1)                              # zip timestamps have 2-s resolution
    pb = b.put("k" * 24, v)
    assert pa.read_bytes() == pb.read_bytes()
    with np.load(pa) as z:                       # still a plain np.savez archive
        np.testing.assert_array_equal(z["S"], v["S"])


@pytest.mark.realdata
def test_local_cluster_on_dev_clips_times_and_bytes(tmp_path):
    """The dev clips: the same entries and features, and how long each path takes."""
    root = require(FOURQ_DEV)
    paths = sorted(root.glob("Q*/*.mp3"))[:int(os.environ.get("MER_CLUSTER_TEST_CLIPS", "16"))]
    df = pd.DataFrame({"track_id": [p.stem for p in paths], "path": [str(p) for p in paths]})
    # start-up, imports and numba compilation in the workers of both paths outside the timing
    _extract(df.iloc[:2], tmp_path / "warm-local")
    _extract(df.iloc[:2], tmp_path / "warm-cluster", scheduler="local")
    X0, _, f0, _, t_local = _extract(df, tmp_path / "local")
    X1, _, f1, _, t_cluster = _extract(df, tmp_path / "cluster", scheduler="local")
    np.testing.assert_array_equal(X1, X0)
    pd.testing.assert_frame_equal(f1, f0)
    a, b = _entries(tmp_path / "local"), _entries(tmp_path / "cluster")
    assert sorted(a) == sorted(b) and [k for k in a if a[k] != b[k]] == []
    print(f"{len(df)} dev clips, log-mel + 477-D: local (2 worker processes) {t_local:.1f} s, "
          f"LocalCluster (2 workers) {t_cluster:.1f} s")
