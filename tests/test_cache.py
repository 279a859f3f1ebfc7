"""FeatureCache and cached_map: hit / miss / invalidation, atomic entries, skips, parallelism."""
from __future__ import annotations

import functools
import os
import time

import numpy as np
import pytest

from mer_utils.audio import AudioError
from mer_utils.cache import FeatureCache, cached_map, config_hash, track_key


class _Manifest:
    def __init__(self):
        self.skipped = []

    def skip(self, item, reason):
        self.skipped.append({"item": item, "reason": reason})


def _square_file(path, *, scale=1.0, log=None):
    """Per-file function: reads a number from a text file; 'bad' files raise AudioError."""
    text = open(path).read().strip()
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"{os.path.basename(path)}\n")
    if text == "bad":
        raise AudioError(path, "cannot decode", "re-download it")
    if text == "bug":
        raise ZeroDivisionError("a bug, not a bad file")
    x = float(text)
    return np.array([x, x * x * scale], dtype=np.float32)


@pytest.fixture()
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    paths = []
    for i, t in enumerate(["1", "2", "bad", "4"]):
        p = d / f"t{i}.txt"
        p.write_text(t)
        paths.append(str(p))
    return paths


def _calls(log):
    return log.read_text().split() if log.exists() else []


def test_config_hash_stable_and_sensitive():
    a = {"sr": 22050, "hop": 512, "bands": (128,)}
    assert config_hash(a) == config_hash(dict(reversed(list(a.items()))))
    assert config_hash(a) != config_hash({**a, "hop": 256})
    assert config_hash({"x": 1}) != config_hash({"x": 1.0})


def test_track_key_changes_with_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1")
    k1 = track_key("a", p)
    assert k1 == track_key("a", p)
    assert k1 != track_key("b", p)
    time.sleep(0.01)
    p.write_text("12")  # new size and mtime
    assert track_key("a", p) != k1


def test_put_get_roundtrip_and_atomic(tmp_path):
    c = FeatureCache(tmp_path, "x", {"v": 1})
    assert c.get("abcd") is None
    c.put("abcd", np.arange(5, dtype=np.float32))
    np.testing.assert_array_equal(c.get("abcd"), np.arange(5))
    c.put("efgh", {"a": np.ones(2), "b": np.zeros(3)})
    got = c.get("efgh")
    assert set(got) == {"a", "b"}
    assert len(c) == 2
    # no temporary files left behind; the config is recorded next to the entries
    assert not [p for p in c.folder.rglob("*") if p.name.endswith(".tmp")]
    assert (c.folder / "config.json").exists()
    # a truncated entry counts as a miss, not as data
    p = c._path("abcd")
    p.write_bytes(p.read_bytes()[:10])
    assert c.get("abcd") is None


def test_hit_miss_invalidation(tmp_path, files):
    log = tmp_path / "calls.log"
    fn = functools.partial(_square_file, log=str(log))
    man = _Manifest()
    cache = FeatureCache(tmp_path / "cache", "sq", {"scale": 1.0, "version": 1})
    r1 = cached_map(fn, files, cache=cache, manifest=man, progress=False)
    assert r1.kept == [0, 1, 3] and r1.misses == 4 and r1.hits == 0
    assert [v[1] for v in r1.values] == [1.0, 4.0, 16.0]
    assert len(_calls(log)) == 4
    assert len(man.skipped) == 1 and "t2.txt" in man.skipped[0]["item"]
    assert "cannot decode" in man.skipped[0]["reason"]

    # re-run: all hits (the failure too), nothing recomputed, same values
    r2 = cached_map(fn, files, cache=cache, manifest=_Manifest(), progress=False)
    assert r2.hits == 4 and r2.misses == 0 and len(_calls(log)) == 4
    assert r2.kept == r1.kept
    for a, b in zip(r1.values, r2.values):
        np.testing.assert_array_equal(a, b)

    # config change -> new folder, everything recomputed
    cache2 = FeatureCache(tmp_path / "cache", "sq", {"scale": 2.0, "version": 1})
    fn2 = functools.partial(_square_file, scale=2.0, log=str(log))
    r3 = cached_map(fn2, files, cache=cache2, progress=False)
    assert r3.misses == 4 and len(_calls(log)) == 8
    assert [v[1] for v in r3.values] == [2.0, 8.0, 32.0]
    assert cache2.folder != cache.folder

    # a changed file is recomputed, the others are hits
    time.sleep(0.01)
    with open(files[0], "w") as fh:
        fh.write("10")
    r4 = cached_map(fn, files, cache=cache, progress=False)
    assert r4.misses == 1 and r4.hits == 3 and r4.values[0][1] == 100.0


def test_on_error_raise(tmp_path, files):
    cache = FeatureCache(tmp_path / "c", "sq", {})
    with pytest.raises(AudioError, match="t2.txt"):
        cached_map(_square_file, files, cache=cache, on_error="raise", progress=False)
    # the cached failure raises again on a re-run
    with pytest.raises(AudioError, match="cannot decode"):
        cached_map(_square_file, files, cache=cache, on_error="raise", progress=False)


def test_unexpected_errors_are_not_skipped(tmp_path, files):
    with open(files[1], "w") as fh:
        fh.write("bug")
    with pytest.raises(ZeroDivisionError):
        cached_map(_square_file, files, cache=None, progress=False)


def test_parallel_matches_serial(tmp_path, files):
    man = _Manifest()
    cache = FeatureCache(tmp_path / "c", "sq", {})
    par = cached_map(_square_file, files, cache=cache, n_jobs=2, manifest=man, progress=False)
    ser = cached_map(_square_file, files, cache=None, n_jobs=1, progress=False)
    assert par.kept == ser.kept == [0, 1, 3]
    for a, b in zip(par.values, ser.values):
        np.testing.assert_array_equal(a, b)
    assert len(man.skipped) == 1
    assert len(cache) == 3  # workers wrote their entries


_NUMBA_SCRIPT = r'''
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from mer_utils.features.handcrafted import compute_features, extract_features

folder = Path(sys.argv[1])
if sys.argv[2] == "extract":
    rows = []
    for i in range(4):
        t = np.arange(22050 * 6) / 22050
        y = 0.1 * np.sin(2 * np.pi * (220 + 40 * i) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        p = folder / f"clip{i}.wav"
        sf.write(p, y.astype(np.float32), 22050)
        rows.append({"track_id": f"c{i}", "path": str(p)})
    F, kept = extract_features(pd.DataFrame(rows), "javadi477", n_jobs=3, cache=False, progress=False)
    assert len(F) == 4, F.shape
else:                      # a later process that only loads what numba cached
    y = np.zeros(22050 * 10, np.float32)
    y[::22050] = 1.0
    compute_features(y, 22050, "javadi477")
print("ok")
'''


def test_parallel_map_compiles_numba_once_before_the_workers(tmp_path):
    """On a cold numba cache, worker processes that compile librosa's cached jit functions at
    the same time corrupt the cache (a segfault in the next process that loads it; seen on a
    fresh CI machine). The parallel map runs its first item in the parent first, so the workers
    only read the cache. Three workers and two later loads make the race likely."""
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text(_NUMBA_SCRIPT)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    for step in ("extract", "load", "load"):
        r = subprocess.run([sys.executable, str(script), str(tmp_path), step], env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0 and "ok" in r.stdout, (step, r.returncode, r.stderr[-2000:])


@pytest.mark.parametrize("damage, problem", [
    (lambda v: np.zeros((10, 128), np.float32), "is \\(10, 128\\) float32, written as \\(942, 128\\)"),
    (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 5, np.nan, v).astype(v.dtype), "NaN"),
    (lambda v: v + 1, "checksum"),
])
def test_a_corrupt_but_readable_entry_is_recomputed_and_named(tmp_path, damage, problem):
    """A cache entry replaced by another readable array (another shape, NaN, other values) used
    to pass as features (a wrong shape then gave advice about n_frames); it is now a miss,
    with a warning naming the file, and the recomputed value is written again."""
    c = FeatureCache(tmp_path, "mel-x", {"version": 1})
    good = np.random.default_rng(0).normal(size=(942, 128)).astype(np.float32)
    path = c.put("k1", good)
    with np.load(path) as z:
        record = z["__integrity__"]
    bad = damage(good)
    with open(path, "wb") as fh:                      # same format, other contents
        np.savez(fh, value=bad, __integrity__=record)
    with pytest.warns(RuntimeWarning, match=problem) as rec:
        assert c.get("k1") is None
    assert str(path) in str(rec[0].message)
    np.savez(path, value=good)                        # no record in a checked folder: not ours
    with pytest.warns(RuntimeWarning, match="no integrity record"):
        assert c.get("k1") is None
    c.put("k1", good)
    np.testing.assert_array_equal(c.get("k1"), good)


def test_entries_of_an_older_folder_are_read_as_they_are(tmp_path):
    import json

    c = FeatureCache(tmp_path, "mel-x", {"version": 1})
    c.put("k1", np.ones(3))
    cfg = c.folder / "config.json"
    meta = json.loads(cfg.read_text())
    meta.pop("format")
    cfg.write_text(json.dumps(meta))                  # written by an earlier version
    np.savez(c._path("k1"), value=np.arange(4.0))
    np.testing.assert_array_equal(FeatureCache(tmp_path, "mel-x", {"version": 1}).get("k1"), np.arange(4.0))


@pytest.mark.parametrize("err, advice", [(28, "the disk is full"), (13, "set MER_CACHE to a folder you can write")])
def test_a_cache_that_cannot_be_written_is_named_with_what_to_do(tmp_path, monkeypatch, err, advice):
    import mer_utils.cache as C

    def full(*a, **k):
        raise OSError(err, os.strerror(err))
    monkeypatch.setattr(C, "_savez", full)
    c = FeatureCache(tmp_path / "cache", "mel-x", {"version": 1})
    with pytest.raises(C.CacheWriteError, match=advice) as info:
        c.put("k1", np.ones(3))
    assert str(tmp_path / "cache") in str(info.value) and "MER_CACHE" in str(info.value)
    assert not list((tmp_path / "cache").rglob("*.tmp"))             # nothing half-written left
