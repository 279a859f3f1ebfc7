#!/usr/bin/env python
"""Training cost of the methods paper's deep rows (a script, not a test).

    python benchmarks/bench_louro.py                          # every DL row, paper-size inputs
    python benchmarks/bench_louro.py --rows dl_baseline crnn --n 48 --execution graph
    KERAS_BACKEND=torch python benchmarks/bench_louro.py      # another backend (GPU box)

For each deep row of ``mer_utils.papers.louro`` it builds the network at the paper's input size
(Table 1: 942 x 128 mel, 116 x 128 mel chunks, 59,049 samples), trains one warm-up epoch on
``--n`` random inputs (tracing / compiling), then times one more epoch and one prediction pass,
and extrapolates to the paper's protocol on 4QAED (900 clips, 10-fold: 810 training clips per
split, 8 chunks of 59,049 samples per 30-s clip, the Hybrid's CNN pre-trained on each clip plus
four synthesised copies):

* seconds per training sample and per predicted sample;
* seconds per epoch on one split's training set;
* hours per split at Table 1's epochs (an upper bound: the 90 % training-accuracy stop ends
  most runs earlier) and days for the 100 splits.

With ``--demo`` it also times the notebook's demo-size unit (first 128 frames, 54 training
clips, 2 epochs) for the DL baseline and the CRNN. Random inputs cost what real ones do. Timings
on a machine shared with other jobs vary; the CPU seconds (this process) are steadier.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mer_utils.papers import louro as L  # noqa: E402

CLIPS, FOLDS, CHUNKS_PER_CLIP, COPIES = 900, 10, 8, 4


def _inputs(key: str, n: int, frames: int, rng):
    if key == "samplecnn":
        return rng.normal(size=(n, L.CHUNK_SAMPLES)).astype("float32") * 0.1
    if key == "shortchunk":
        return rng.normal(size=(n, 116, 128)).astype("float32")
    return rng.normal(size=(n, frames, 128)).astype("float32")


def _samples_per_epoch(key: str) -> int:
    train = CLIPS * (FOLDS - 1) // FOLDS
    if key in ("shortchunk", "samplecnn"):
        return train * CHUNKS_PER_CLIP
    if key == "hybrid":
        return train * (1 + COPIES)          # the CNN's pre-training dominates the Hybrid's cost
    return train


def bench_row(key: str, n: int, frames: int, batch_cap: int, execution: str, rng) -> dict:
    import keras

    from mer_utils.models.louro import build_baseline_cnn, parameter_counts

    row = L.ROWS[key]
    cfg = L.Config.for_profile("full", execution=execution)
    keras.backend.clear_session()
    if key == "hybrid":                      # time the CNN branch's pre-training (baseline settings)
        model, size = build_baseline_cnn((frames, 128), 4), frames
        row_t = L.ROWS["dl_baseline"]
    else:
        size = L.CHUNK_SAMPLES if key == "samplecnn" else (116 if key == "shortchunk" else frames)
        model, row_t = row.build(cfg, None, size), row
    params = parameter_counts(model)["total"]
    L._compile(model, row_t, cfg)
    X, y = _inputs(key, n, frames, rng), rng.integers(0, 4, n)
    batch = min(row_t.batch_size, batch_cap, n)
    model.fit(X, y, batch_size=batch, epochs=1, verbose=0)                  # trace / compile
    c0, t0 = time.process_time(), time.perf_counter()
    model.fit(X, y, batch_size=batch, epochs=1, verbose=0)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    model.predict(X, batch_size=32, verbose=0)
    pred_s = time.perf_counter() - t0
    per_epoch = train_s / n * _samples_per_epoch(key)
    test_items = CLIPS // FOLDS * (CHUNKS_PER_CLIP if key in ("shortchunk", "samplecnn") else 1)
    per_split = per_epoch * (L.ROWS["dl_baseline"].epochs if key == "hybrid" else row.epochs) \
        + pred_s / n * test_items
    return {"row": row.name, "network parameters": params, "input": size, "batch timed": batch,
            "train s/sample": train_s / n, "train CPU s/sample": train_cpu / n, "predict s/sample": pred_s / n,
            "s/epoch (810 clips)": per_epoch, "h/split at Table 1 epochs": per_split / 3600,
            "days for 100 splits": per_split * 100 / 86400}


def bench_demo_unit(key: str, execution: str, rng) -> dict:
    """One demo-size unit as the notebook runs it: 128 frames, 54 training clips, 2 epochs."""
    import keras

    row = L.ROWS[key]
    cfg = L.Config.for_profile("demo", execution=execution)
    X, y = _inputs(key, 60, cfg.input_frames, rng), rng.integers(0, 4, 60)
    t0 = time.perf_counter()
    keras.backend.clear_session()
    model, hist = L._fit_dl(None, cfg, row, lambda: row.build(cfg, None, cfg.input_frames), X[:54], y[:54], 0)
    model.predict(X[54:], verbose=0)
    return {"row": row.name, "demo unit seconds": time.perf_counter() - t0, "epochs": len(hist["epoch"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="*", default=[k for k in L.PART1_ROWS if L.ROWS[k].kind == "dl"])
    ap.add_argument("--n", type=int, default=32, help="random inputs per timed epoch (default 32)")
    ap.add_argument("--frames", type=int, default=942, help="mel frames of the 30-s rows (default 942)")
    ap.add_argument("--batch-cap", type=int, default=16,
                    help="largest batch timed (memory on a laptop; default 16, per-sample cost barely changes)")
    ap.add_argument("--execution", default="graph", choices=("xla", "graph", "eager"))
    ap.add_argument("--demo", action="store_true", help="also time a demo-size unit of the baseline and CRNN")
    args = ap.parse_args(argv)

    import keras
    import pandas as pd

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, execution {args.execution}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    rng = np.random.default_rng(0)
    recs = []
    for key in args.rows:
        recs.append(bench_row(key, args.n, args.frames, args.batch_cap, args.execution, rng))
        r = recs[-1]
        print(f"  {r['row']}: {r['train s/sample']:.3f} s/sample -> {r['s/epoch (810 clips)']:.0f} s/epoch", flush=True)
    table = pd.DataFrame(recs)
    print(table.round(4).to_string(index=False))
    if args.demo:
        demo = pd.DataFrame([bench_demo_unit(k, "graph", rng) for k in ("dl_baseline", "crnn")])
        print("\ndemo-size unit (128 frames, 54 training clips, demo epochs):")
        print(demo.round(1).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
