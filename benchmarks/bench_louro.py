#!/usr/bin/env python
"""Training cost of the methods paper's deep rows (a script, not a test).

    python benchmarks/bench_louro.py                          # every DL row, paper-size inputs
    python benchmarks/bench_louro.py --rows dl_baseline crnn --n 48 --execution graph
    python benchmarks/bench_louro.py --part2 --n 32               # augmentation, DeepSMOTE, per-row seconds
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

With ``--part2`` it times the part-2 pieces instead: the audiomentations copies (seconds per
30-s clip per transform, TFM / SB / RG), the DeepSMOTE autoencoder (one epoch per training
sample at the paper's 942 frames and at demo's 128, encode / decode per sample) and
Borderline-SMOTE 2 in its latent space (fit + sample on ``--n`` codes), and, when a run of
notebook 50 left ``louro_seconds_per_split.csv`` in ``--results`` (default results/demo), the
seconds per unit of every row there.

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

from mer_utils.papers.louro import config as C  # noqa: E402
from mer_utils.papers.louro import pipeline as P  # noqa: E402
from mer_utils.papers.louro import rows as R  # noqa: E402

CLIPS, FOLDS, CHUNKS_PER_CLIP, COPIES = 900, 10, 8, 4


def _inputs(key: str, n: int, frames: int, rng):
    if key == "samplecnn":
        return rng.normal(size=(n, C.CHUNK_SAMPLES)).astype("float32") * 0.1
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
    from functools import partial

    from mer_utils.evaluation import parameter_count
    from mer_utils.models.mel_cnn import build_baseline_cnn
    from mer_utils.training import Recipe, Trainer

    row = R.ROWS[key]
    cfg = C.Config.for_profile("full", execution=execution)
    if key == "hybrid":                      # time the CNN branch's pre-training (baseline settings)
        build, size = partial(build_baseline_cnn, (frames, 128), 4), frames
        row_t = R.ROWS["dl_baseline"]
    else:
        size = C.CHUNK_SAMPLES if key == "samplecnn" else (116 if key == "shortchunk" else frames)
        build, row_t = partial(row.build, cfg, None, size), row
    X, y = _inputs(key, n, frames, rng), rng.integers(0, 4, n)
    batch = min(row_t.batch_size, batch_cap, n)
    trainer = Trainer(build, Recipe(epochs=1, batch_size=batch, optimizer=row_t.optimizer,
                                    learning_rate=row_t.learning_rate, execution=execution))
    trainer.fit(X, y, seed=0)                                              # build, trace / compile
    params = parameter_count(trainer.model)["parameters"]
    c0 = time.process_time()
    train_s = trainer.fit(X, y, seed=0)["epoch_seconds"][0]               # the epoch alone (no reset)
    train_cpu = time.process_time() - c0
    t0 = time.perf_counter()
    trainer.predict(X)
    pred_s = time.perf_counter() - t0
    per_epoch = train_s / n * _samples_per_epoch(key)
    test_items = CLIPS // FOLDS * (CHUNKS_PER_CLIP if key in ("shortchunk", "samplecnn") else 1)
    per_split = per_epoch * (R.ROWS["dl_baseline"].epochs if key == "hybrid" else row.epochs) \
        + pred_s / n * test_items
    return {"row": row.name, "network parameters": params, "input": size, "batch timed": batch,
            "train s/sample": train_s / n, "train CPU s/sample": train_cpu / n, "predict s/sample": pred_s / n,
            "s/epoch (810 clips)": per_epoch, "h/split at Table 1 epochs": per_split / 3600,
            "days for 100 splits": per_split * 100 / 86400}


def bench_demo_unit(key: str, execution: str, rng) -> dict:
    """One demo-size unit as the notebook runs it: 128 frames, 54 training clips, 2 epochs."""
    from mer_utils.training import Trainer

    row = R.ROWS[key]
    cfg = C.Config.for_profile("demo", execution=execution)
    X, y = _inputs(key, 60, cfg.input_frames, rng), rng.integers(0, 4, 60)
    t0 = time.perf_counter()
    trainer = Trainer(lambda: row.build(cfg, None, cfg.input_frames), P._recipe(cfg, row))   # the notebook's recipe
    hist = trainer.fit(X[:54], y[:54], seed=0)
    trainer.predict(X[54:])
    return {"row": row.name, "demo unit seconds": time.perf_counter() - t0, "epochs": len(hist["epoch"])}


def bench_augmentation(n_clips: int, rng) -> list[dict]:
    """Seconds per 30-s, 16-kHz clip of each audiomentations transform (the transform alone)."""
    from mer_utils import augment

    t = np.arange(30 * C.SR) / C.SR
    clips = [(0.3 * np.sin(2 * np.pi * 220 * (1 + i) * t) + 0.05 * rng.normal(size=t.size)).astype("float32")
             for i in range(n_clips)]
    recs = []
    for key, (_, name) in augment.AUDIO_TRANSFORMS.items():
        augment.augment_audio(clips[0], C.SR, "warm-up", key, seed=0)
        c0, t0 = time.process_time(), time.perf_counter()
        for i, y in enumerate(clips):
            augment.augment_audio(y, C.SR, f"clip{i}", key, seed=0)
        recs.append({"transform": f"{key} ({name})", "clips": n_clips,
                     "s/clip": (time.perf_counter() - t0) / n_clips,
                     "CPU s/clip": (time.process_time() - c0) / n_clips})
    return recs


def bench_deepsmote(n: int, frames: int, rng) -> dict:
    """The autoencoder's epoch, encode and decode per sample, and Borderline-SMOTE 2 on ``n``
    latent codes (four classes, one twice the others' size, synthetic = 1 x each class)."""
    from mer_utils.models.autoencoder import build_autoencoder, decode, encode, scale_11
    from mer_utils.training import Recipe, Trainer
    from mer_utils.training.deepsmote import borderline_smote2

    trainer = Trainer(lambda: build_autoencoder((frames, 128))[0],
                      Recipe(epochs=1, batch_size=16, optimizer="adam", learning_rate=2e-4, loss="mse", metrics=(),
                             execution="graph"))
    X, _, _ = scale_11(rng.normal(size=(n, frames, 128)).astype("float32"))
    trainer.fit(X, X, seed=0)                                              # build, trace
    c0 = time.process_time()
    fit_s = trainer.fit(X, X, seed=0)["epoch_seconds"][0]
    fit_cpu = time.process_time() - c0
    t0 = time.perf_counter()
    Z = encode(trainer.model, X)
    enc_s = time.perf_counter() - t0
    y = np.repeat(np.arange(4), [n // 5 * 2, n // 5, n // 5, n - n // 5 * 4])
    t0 = time.perf_counter()
    Zn, yn = borderline_smote2(Z, y, 1.0, seed=0)
    smote_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    decode(trainer.model, Zn)
    dec_s = time.perf_counter() - t0
    return {"frames": frames, "latent values": Z.shape[1], "n": n,
            "AE epoch s/sample": fit_s / n, "AE epoch CPU s/sample": fit_cpu / n,
            "encode s/sample": enc_s / n, "SMOTE fit+sample s": smote_s, "synthetic": len(Zn),
            "decode s/sample": dec_s / max(len(Zn), 1),
            "AE h/split (810 clips, 100 epochs)": fit_s / n * 810 * 100 / 3600}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="*", default=[k for k in R.PART1_ROWS if R.ROWS[k].kind == "dl"])
    ap.add_argument("--n", type=int, default=32, help="random inputs per timed epoch (default 32)")
    ap.add_argument("--frames", type=int, default=942, help="mel frames of the 30-s rows (default 942)")
    ap.add_argument("--batch-cap", type=int, default=16,
                    help="largest batch timed (memory on a laptop; default 16, per-sample cost barely changes)")
    ap.add_argument("--execution", default="graph", choices=("xla", "graph", "eager"))
    ap.add_argument("--demo", action="store_true", help="also time a demo-size unit of the baseline and CRNN")
    ap.add_argument("--part2", action="store_true",
                    help="time the part-2 pieces (augmentation, DeepSMOTE, per-row seconds) instead")
    ap.add_argument("--results", default=str(ROOT / "results" / "demo"),
                    help="results folder of a notebook-50 run whose seconds per unit --part2 prints")
    args = ap.parse_args(argv)

    import keras
    import pandas as pd

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, execution {args.execution}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    rng = np.random.default_rng(0)
    if args.part2:
        print("\naudiomentations copies (transform only; notebook 50 measured decode + mel at ~0.015 s per clip):")
        print(pd.DataFrame(bench_augmentation(max(2, args.n // 8), rng)).round(4).to_string(index=False))
        print("\nDeepSMOTE: autoencoder + Borderline-SMOTE 2 (random inputs):")
        ds = pd.DataFrame([bench_deepsmote(args.n, f, rng) for f in (128, args.frames)])
        print(ds.round(4).to_string(index=False))
        timing = Path(args.results) / "louro_seconds_per_split.csv"
        if timing.exists():
            print(f"\nseconds per unit of each row ({timing}):")
            print(pd.read_csv(timing).round(2).to_string(index=False))
        else:
            print(f"\n(no {timing}: run notebook 50 to see each row's seconds per unit)")
        return 0
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
