#!/usr/bin/env python
"""Feature-extraction benchmark on real clips (a script, not a test).

    python benchmarks/bench_features.py                      # ../shared/data/4q-dev, all clips
    python benchmarks/bench_features.py --root data/raw/4q --n 40 --jobs 2

For each stage it prints clips/s of

* a naive single-process librosa loop (``librosa.load`` + one ``librosa.feature.*`` call
  per feature, each recomputing its own STFT; statistics with numpy/scipy per row),
* our path, cold: ``mer_utils`` extraction with ``--jobs`` joblib workers and an empty
  cache (a fresh temporary cache folder),
* our path, cached re-run (same call again: every track served from the cache),
* peak memory (resident set of this process + its workers, polled every 50 ms) of each run,

for: decode + resample alone (the floor), log-mel (``louro_mel``), the 477-D set (``javadi477_ours``,
the variant the naive loop mirrors; the paper's ``javadi477`` follows Brown et al.), the
emotion set, and the offline embedding (musicnn via ``mer_utils.embeddings.embed_tracks``;
decode + front end in ``--jobs`` worker processes overlapped with batched inference in this
process; "n/a" when it is unavailable; with ``--paired N`` also with the network in each
worker, ``inference="workers"``, and against the naive loop on one thread), and log-mel on a dask ``LocalCluster`` of ``--jobs``
workers (``--skip cluster`` leaves it out; needs the extra [cluster]). Then it checks the
issue's targets:

* 477-D set within 2x of the decode+resample floor (same number of workers);
* parallel path >= 1.6x the naive loop (2 cores);
* cached re-run < 5 % of the cold run.

BLAS is limited to one thread in both the naive loop and our path (joblib gives each
worker one thread anyway); on a busy 2-core machine a multi-threaded OpenBLAS is many
times slower for these small matrices, which would flatter our numbers.
Besides wall time it reports CPU time per clip (this process + its joblib workers, via
psutil), which a machine shared with other jobs distorts much less than wall time.
The worker pool is (re)started, with librosa imported and its numba functions compiled in
each worker, before every timed parallel run (loky retires workers idle for 300 s, e.g.
during a long naive loop); each naive function runs once on the first clip before its
loop is timed. Numbers on a machine shared with other jobs vary a lot: look at the load.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mer_utils import audio, features  # noqa: E402
from mer_utils.cache import cached_map  # noqa: E402


# --------------------------------------------------------------------------- clips
def discover_clips(root: Path, n: int | None):
    import pandas as pd

    try:
        from mer_utils.datasets import load

        df = load("4q", root)
        how = "mer_utils.datasets.load('4q')"
    except Exception as exc:  # loader absent or layout not recognised: glob
        paths = sorted(root.glob("Q*/*.mp3")) or sorted(root.glob("**/Q*/*.mp3"))
        df = pd.DataFrame({"track_id": [p.stem for p in paths], "path": [str(p) for p in paths],
                           "quadrant": [p.parent.name for p in paths]})
        how = f"glob Q*/*.mp3 ({type(exc).__name__}: {exc})"
    df = df.sort_values("track_id").reset_index(drop=True)
    if n:
        df = df.iloc[:n].reset_index(drop=True)
    return df, how


# --------------------------------------------------------------------------- naive loops
def _stats_naive(x):
    from scipy import stats

    q1, q3 = np.percentile(x, 25), np.percentile(x, 75)
    return [np.mean(x), np.median(x), np.std(x), np.sqrt(np.mean(x ** 2)), np.max(x), np.min(x),
            q1, q3, q3 - q1, stats.skew(x), stats.kurtosis(x)]


def naive_floor(path):
    import librosa

    y, _ = librosa.load(path, sr=22050)
    return len(y)


def naive_logmel(path):
    import librosa

    y, sr = librosa.load(path, sr=16000)
    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr))


def naive_477(path):
    import librosa

    y, sr = librosa.load(path, sr=22050, duration=29.1)
    rms = librosa.feature.rms(y=y)[0]
    rows = [librosa.feature.zero_crossing_rate(y=y)[0], rms,
            librosa.feature.spectral_centroid(y=y, sr=sr)[0],
            librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85)[0]]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    rows += list(mfcc) + list(librosa.feature.delta(mfcc)) + list(librosa.feature.delta(mfcc, order=2))
    tempo = librosa.feature.tempo(y=y, sr=sr)[0]
    onsets = librosa.onset.onset_detect(y=y, sr=sr)
    p5, p95 = np.percentile(rms, [5, 95])
    seg = [tempo, len(onsets) / (len(y) / sr), np.mean(rms < rms.mean()), 20 * np.log10(p95 / max(p5, 1e-5))]
    out = seg + [v for r in rows for v in _stats_naive(r)]
    assert len(out) == 477
    return np.asarray(out)


def naive_emotion(path):
    import librosa

    y, sr = librosa.load(path, sr=22050)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    rows = (list(mfcc) + list(librosa.feature.delta(mfcc))
            + [librosa.feature.spectral_centroid(y=y, sr=sr)[0], librosa.feature.spectral_bandwidth(y=y, sr=sr)[0],
               librosa.feature.spectral_rolloff(y=y, sr=sr)[0], librosa.feature.spectral_flatness(y=y)[0],
               librosa.feature.zero_crossing_rate(y=y)[0], librosa.feature.rms(y=y)[0]]
            + list(librosa.feature.spectral_contrast(y=y, sr=sr)) + list(chroma)
            + list(librosa.feature.tonnetz(y=y, sr=sr)) + [librosa.onset.onset_strength(y=y, sr=sr)])
    tempo = librosa.feature.tempo(y=y, sr=sr)[0]
    onsets = librosa.onset.onset_detect(y=y, sr=sr)
    key = features.key_features(chroma.mean(axis=1))
    out = [tempo, len(onsets) / (len(y) / sr), *key] + [v for r in rows for v in _stats_naive(r)]
    return np.asarray(out)


def naive_embedding(path):
    import librosa

    from mer_utils.embeddings import embed_audio

    y, sr = librosa.load(path, sr=16000)
    return embed_audio(y, sr, "musicnn_msd").mean(axis=0)


# --------------------------------------------------------------------------- our floor
def _decode_len(path):
    return np.asarray(len(audio.load_audio(path, sr=22050)))


def _warm(_path):
    import librosa  # noqa: F401

    features.compute_features(np.random.default_rng(0).standard_normal(22050 * 2).astype(np.float32) * 0.1,
                              22050, "javadi477_ours")
    return np.zeros(1)


# --------------------------------------------------------------------------- timing
def cpu_seconds() -> float:
    """CPU time of this process and its live children (the joblib workers)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return float("nan")
    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


_LAST_CPU = [float("nan")]
_LAST_PEAK = [float("nan")]


class PeakRSS:
    """Peak resident memory (GiB) of this process + its live children, polled in a thread."""

    def __init__(self, interval: float = 0.05, skip_pids=()):
        import threading

        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.skip = set(skip_pids)
        self._t = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me] + [c for c in me.children(recursive=True) if c.pid not in self.skip]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def timed(fn, skip_pids=()):
    """Wall seconds (returned), CPU seconds of us + workers (in _LAST_CPU[0]) and their peak
    resident memory in GiB (in _LAST_PEAK[0]); ``skip_pids``: child processes left out of the
    memory figure (another variant's idle child)."""
    c = cpu_seconds()
    t = time.perf_counter()
    with PeakRSS(skip_pids=skip_pids) as mem:
        out = fn()
    wall = time.perf_counter() - t
    _LAST_CPU[0] = cpu_seconds() - c
    _LAST_PEAK[0] = mem.peak / 2**30
    return wall, out


def naive_loop(fn, paths):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        for p in paths:
            fn(p)


def _one_thread_block(paths):
    """In the one-thread child: the naive loop over ``paths``; (wall s, CPU s, peak GiB)."""
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c, t = cpu(), time.perf_counter()
    naive_loop(naive_embedding, paths)
    return time.perf_counter() - t, cpu() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _OneThreadNaive:
    """The naive embedding loop in a child process whose TensorFlow (and BLAS/OpenMP) thread
    pools have one thread: decode, front end and network serialised on one core. TensorFlow
    reads its pool sizes once, at start-up, so this needs its own process (started, and its
    network built on ``warm_paths``, outside any timing)."""

    def __init__(self, warm_paths):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from mer_utils.cache import _WORKER_ENV      # one thread each: TF pools, BLAS, OpenMP
        from mer_utils.notebook_runner import _environment

        with _environment(**_WORKER_ENV):            # the child inherits it when spawned
            self.pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
            self.pool.submit(_one_thread_block, warm_paths).result()
            self.pid = next(iter(self.pool._processes))

    def run(self, paths):
        return self.pool.submit(_one_thread_block, paths).result()

    def close(self):
        self.pool.shutdown()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=str(ROOT / "../shared/data/4q-dev"))
    ap.add_argument("--n", type=int, default=None, help="number of clips (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of stages to skip "
                    "(floor,logmel,javadi477_ours,emotion,embedding,cluster) or 'naive' to skip naive loops")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--paired", type=int, default=0, metavar="N",
                    help="time the embedding stage in blocks of N clips, naive then ours on each block "
                         "(both see the same load of a shared machine); totals are the sums")
    args = ap.parse_args(argv)
    os.environ.setdefault("MER_PROGRESS", "0")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    root = Path(args.root).resolve()
    if not root.exists():
        print(f"data folder {root} not found; pass --root with the 4Q clips (Q1..Q4 folders)")
        return 2
    df, how = discover_clips(root, args.n)
    paths = [str(p) for p in df["path"]]
    n = len(paths)
    print(f"{n} clips from {root} ({how}); {args.jobs} workers; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")

    tmp = Path(tempfile.mkdtemp(prefix="mer_bench_"))
    man = SimpleNamespace(skip=lambda item, reason: None, substitute=lambda *a: None,
                          add_source=lambda *a: None, notes=[])
    ctx = SimpleNamespace(cache_dir=tmp, manifest=man, p=SimpleNamespace(n_jobs=args.jobs))
    rows = []

    # start the pool and import librosa in it (first-call cost is not per-clip cost)
    def warm_pool():
        return timed(lambda: cached_map(_warm, paths[: 2 * args.jobs], n_jobs=args.jobs, progress=False))[0]

    print(f"worker start-up + imports (excluded): {warm_pool():.1f} s")

    def stage(name, naive_fn, ours_fn, *, cached=True, key=""):
        if key in skip:
            return
        row = {"stage": name}
        if "naive" not in skip and naive_fn is not None:
            naive_loop(naive_fn, paths[:1])  # warm-up (lazy imports, numba), excluded
            row["naive_s"], _ = timed(lambda: naive_loop(naive_fn, paths))
            row["naive_cpu"] = _LAST_CPU[0]
            row["naive_peak_gib"] = _LAST_PEAK[0]
        try:
            warm_pool()  # loky retires idle workers after 300 s: restart them outside the timing
            row["ours_s"], _ = timed(ours_fn)
            row["ours_cpu"] = _LAST_CPU[0]
            row["ours_peak_gib"] = _LAST_PEAK[0]
            if cached:
                row["cached_s"], _ = timed(ours_fn)
                row["cached_peak_gib"] = _LAST_PEAK[0]
        except Exception as exc:  # e.g. embedding weights unavailable
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        rows.append(row)
        _print_row(row, n)

    # floor: decode + resample to 22,050 Hz
    stage("floor (decode+resample)", naive_floor,
          lambda: cached_map(_decode_len, paths, n_jobs=args.jobs, progress=False), cached=False, key="floor")
    if "floor" not in skip:
        _warm(None)
        t1, _ = timed(lambda: cached_map(_decode_len, paths, n_jobs=1, progress=False))
        rows.append({"stage": "floor, 1 worker", "ours_s": t1, "ours_cpu": _LAST_CPU[0]})
        _print_row(rows[-1], n)
    stage("log-mel (louro_mel)", naive_logmel,
          lambda: features.extract_spectrograms(df, "louro_mel", ctx=ctx, progress=False), key="logmel")
    stage("477-D (javadi477_ours)", naive_477,
          lambda: features.extract_features(df, "javadi477_ours", ctx=ctx, progress=False), key="javadi477_ours")
    if "javadi477_ours" not in skip:
        c1 = SimpleNamespace(cache_dir=tmp / "serial", manifest=man, p=SimpleNamespace(n_jobs=1))
        t1, _ = timed(lambda: features.extract_features(df, "javadi477_ours", ctx=c1, progress=False))
        rows.append({"stage": "477-D, 1 worker", "ours_s": t1, "ours_cpu": _LAST_CPU[0]})
        _print_row(rows[-1], n)
    stage("emotion set", naive_emotion,
          lambda: features.extract_features(df, "emotion", ctx=ctx, progress=False), key="emotion")

    def ours_embedding(d=df, inference=None, cache_dir=tmp):
        from mer_utils.embeddings import embed_tracks

        return embed_tracks(d, "musicnn_msd", ctx=ctx, fallback=None, n_jobs=args.jobs,
                            cache_dir=cache_dir, progress=False, inference=inference)

    def paired_embedding(block):
        """Alternating on blocks of clips, so that each sees the same machine load: the naive
        loop (TensorFlow's default thread pools: it already runs the network's parallel branches
        on both cores), the naive loop on one thread (a child process with TensorFlow's pools at
        one thread: the serialised loop), ours (``embed_tracks``, the default placement: the
        network in this process, the front end in the workers) and ours with the network in
        every worker (``inference="workers"``).
        Peak memory: the naive loop's is this process alone, the one-thread loop's its child's,
        ours' this process + the workers (this process holds the network the naive loop uses)."""
        def fresh_pool(networks: bool) -> float:
            """A new worker pool (outside the timing): with ``networks`` each worker builds the
            network (inference="workers"); without, workers that never held one, so that the
            default placement's memory figure is not that of idle workers holding networks."""
            from joblib.executor import get_memmapping_executor

            from mer_utils.cache import _WORKER_ENV

            get_memmapping_executor(args.jobs, env=_WORKER_ENV).shutdown(wait=True)
            shutil.rmtree(tmp / "warm", ignore_errors=True)
            t, _ = timed(lambda: ours_embedding(df.iloc[:2 * args.jobs + 1], cache_dir=tmp / "warm",
                                                inference="workers" if networks else None))
            return t

        t_warm = fresh_pool(True)
        naive_loop(naive_embedding, paths[:1])
        ours_embedding(df.iloc[:1])                                          # network built here
        one = _OneThreadNaive(paths[:1])
        shutil.rmtree(tmp / "embeddings", ignore_errors=True)

        def others():   # every child (workers, the one-thread child): the naive loop is this process
            import psutil

            return [c.pid for c in psutil.Process().children(recursive=True)]
        print(f"  excluded: worker start-up + network build in each worker {t_warm:.1f} s "
              f"(once per worker process, for inference='workers')", flush=True)
        acc = {k: 0.0 for k in ("naive_s", "naive_cpu", "one_s", "one_cpu", "ours_s", "ours_cpu",
                                "main_s", "main_cpu")}
        peak = {k: 0.0 for k in ("naive", "one", "ours", "main")}
        for start in range(0, n, block):
            sub = df.iloc[start:start + block]
            sub_paths = list(sub["path"])
            t, _ = timed(lambda: naive_loop(naive_embedding, sub_paths), skip_pids=others())
            acc["naive_s"] += t
            acc["naive_cpu"] += _LAST_CPU[0]
            peak["naive"] = max(peak["naive"], _LAST_PEAK[0])
            t, c, pk = one.run(sub_paths)
            acc["one_s"] += t
            acc["one_cpu"] += c
            peak["one"] = max(peak["one"], pk)
            fresh_pool(True)
            t, _ = timed(lambda: ours_embedding(sub, inference="workers", cache_dir=tmp / "workers"),
                         skip_pids=[one.pid])
            acc["ours_s"] += t
            acc["ours_cpu"] += _LAST_CPU[0]
            peak["ours"] = max(peak["ours"], _LAST_PEAK[0])
            fresh_pool(False)
            t, _ = timed(lambda: ours_embedding(sub), skip_pids=[one.pid])
            acc["main_s"] += t
            acc["main_cpu"] += _LAST_CPU[0]
            peak["main"] = max(peak["main"], _LAST_PEAK[0])
            print(f"  clips {start}-{start + len(sub) - 1} (cumulative): naive {acc['naive_s']:.1f} s, naive on "
                  f"one thread {acc['one_s']:.1f} s, ours {acc['main_s']:.1f} s, ours with the network in "
                  f"the workers {acc['ours_s']:.1f} s", flush=True)
        one.close()
        cached_s, _ = timed(ours_embedding)
        cached_peak = _LAST_PEAK[0]
        label = f"embedding (musicnn_msd), blocks of {block}"
        for stage_name, nk, ok in ((f"{label}: ours vs naive", "naive", "main"),
                                   (f"{label}: ours vs naive on one thread", "one", "main"),
                                   (f"{label}: network in the workers vs naive", "naive", "ours"),
                                   (f"{label}: network in the workers vs naive on one thread", "one", "ours")):
            row = {"stage": stage_name, "naive_s": acc[f"{nk}_s"], "naive_cpu": acc[f"{nk}_cpu"],
                   "naive_peak_gib": peak[nk], "ours_s": acc[f"{ok}_s"], "ours_cpu": acc[f"{ok}_cpu"],
                   "ours_peak_gib": peak[ok]}
            if ok == "main":
                row["cached_s"], row["cached_peak_gib"] = cached_s, cached_peak
            rows.append(row)
            _print_row(row, n)

    if "embedding" not in skip:
        try:
            import mer_utils.embeddings  # noqa: F401
            if args.paired:
                paired_embedding(args.paired)
            else:
                stage("embedding (musicnn_msd)", naive_embedding, ours_embedding, key="embedding")
        except ImportError as exc:
            rows.append({"stage": "embedding (musicnn_msd)", "error": f"n/a ({exc})"})
            _print_row(rows[-1], n)

    if "cluster" not in skip:
        try:
            from mer_utils.cache import close_dask_clients, dask_client

            dask_client("local", n_workers=args.jobs)
            os.environ["MER_SCHEDULER"] = "local"
            cctx = SimpleNamespace(cache_dir=tmp / "cluster", manifest=man, p=SimpleNamespace(n_jobs=args.jobs))
            warm = SimpleNamespace(cache_dir=tmp / "cluster-warm", manifest=man, p=SimpleNamespace(n_jobs=args.jobs))
            features.extract_spectrograms(df.iloc[:2 * args.jobs], "louro_mel", ctx=warm, progress=False)
            stage("log-mel on a dask LocalCluster", None,
                  lambda: features.extract_spectrograms(df, "louro_mel", ctx=cctx, progress=False), key="cluster")
            local = tmp / "features" / "spec-louro_mel"
            remote = tmp / "cluster" / "features" / "spec-louro_mel"
            same = (any(remote.rglob("*.npz")) and sorted(p.relative_to(local) for p in local.rglob("*.npz"))
                    == sorted(p.relative_to(remote) for p in remote.rglob("*.npz"))
                    and all((local / p.relative_to(remote)).read_bytes() == p.read_bytes()
                            for p in remote.rglob("*.npz")))
            print(f"LocalCluster cache entries byte-identical to the local path's: {same}")
            rows[-1]["identical_entries"] = same
        except ImportError as exc:
            rows.append({"stage": "log-mel on a dask LocalCluster", "error": f"n/a ({exc})"})
            _print_row(rows[-1], n)
        finally:
            os.environ.pop("MER_SCHEDULER", None)
            with __import__("contextlib").suppress(Exception):
                close_dask_clients()

    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[2]:.1f} (15 min)")
    print()
    print(_markdown(rows, n))
    print()
    ok = _targets(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"n": n, "jobs": args.jobs, "rows": rows, "targets": ok}, indent=2))
    return 0


def _cps(n, s):
    return f"{n / s:.2f}" if s else "n/a"


def _print_row(row, n):
    parts = [f"{row['stage']:28s}"]
    for k in ("naive_s", "ours_s", "cached_s"):
        if k in row:
            parts.append(f"{k[:-2]} {row[k]:7.1f} s ({_cps(n, row[k])} clips/s)")
    for k in ("naive_cpu", "ours_cpu"):
        if k in row:
            parts.append(f"{k} {1000 * row[k] / n:5.0f} ms/clip")
    peaks = [f"{k.split('_')[0]} {row[k]:.2f}" for k in ("naive_peak_gib", "ours_peak_gib", "cached_peak_gib")
             if k in row]
    if peaks:
        parts.append("peak GiB " + ", ".join(peaks))
    if "error" in row:
        parts.append(row["error"])
    print(" | ".join(parts), flush=True)


def _markdown(rows, n):
    out = ["| stage | naive clips/s | ours clips/s | speed-up | cached re-run s | cached / cold "
           "| naive CPU ms/clip | ours CPU ms/clip | peak GiB naive / ours / cached |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['stage']} | n/a | n/a | | | {r['error']} |")
            continue
        peak = " / ".join(f"{r[k]:.2f}" if k in r else "-" for k in ("naive_peak_gib", "ours_peak_gib",
                                                                      "cached_peak_gib"))
        sp = f"{r['naive_s'] / r['ours_s']:.2f}x" if "naive_s" in r and r.get("ours_s") else ""
        cached = f"{r['cached_s']:.2f}" if "cached_s" in r else ""
        frac = f"{100 * r['cached_s'] / r['ours_s']:.1f} %" if "cached_s" in r else ""
        cpu = [f"{1000 * r[k] / n:.0f}" if k in r else "" for k in ("naive_cpu", "ours_cpu")]
        out.append(f"| {r['stage']} | {_cps(n, r.get('naive_s'))} | {_cps(n, r.get('ours_s'))} | {sp} | "
                   f"{cached} | {frac} | {cpu[0]} | {cpu[1]} | {peak} |")
    return "\n".join(out)


def _targets(rows):
    by = {r["stage"]: r for r in rows}
    res = {}
    floor = by.get("floor (decode+resample)", {}).get("ours_s")
    f477 = by.get("477-D (javadi477_ours)", {}).get("ours_s")
    if floor and f477:
        ratio = f477 / floor
        res["477 within 2x of floor"] = (ratio <= 2.0, f"{ratio:.2f}x the floor time")
    c477 = by.get("477-D (javadi477_ours)", {}).get("ours_cpu")
    cfl = by.get("floor (decode+resample)", {}).get("ours_cpu")
    if c477 and cfl:
        res["477 within 2x of floor (CPU time)"] = (c477 / cfl <= 2.0, f"{c477 / cfl:.2f}x")
    s1 = by.get("477-D, 1 worker", {}).get("ours_s")
    f1 = by.get("floor, 1 worker", {}).get("ours_s")
    if s1 and f1:
        res["477 within 2x of floor (1 worker each)"] = (s1 / f1 <= 2.0, f"{s1 / f1:.2f}x")
    for r in rows:
        if "naive_s" in r and r.get("ours_s") and not r["stage"].startswith("floor"):
            sp = r["naive_s"] / r["ours_s"]
            res[f"parallel >= 1.6x naive: {r['stage']}"] = (sp >= 1.6, f"{sp:.2f}x")
        if "cached_s" in r and r.get("ours_s"):
            fr = r["cached_s"] / r["ours_s"]
            res[f"cached < 5% of cold: {r['stage']}"] = (fr < 0.05, f"{100 * fr:.1f} %")
    for k, (good, detail) in res.items():
        print(f"[{'MET' if good else 'NOT MET'}] {k}: {detail}")
    return {k: {"met": bool(v[0]), "detail": v[1]} for k, v in res.items()}


if __name__ == "__main__":
    raise SystemExit(main())
