#!/usr/bin/env python
"""Cost of the multi-source paper's network (EfficientNet + its dense head) per batch and per
epoch, at the demo and full (paper) sizes. A script, not a test.

    python benchmarks/bench_cazzaniga.py                         # demo and full settings
    python benchmarks/bench_cazzaniga.py --only full --steps 3
    python benchmarks/bench_cazzaniga.py --backbone EfficientNetB0 --size 64 --batch 16

For each setting it builds the model (random initialisation: no download), then times

* build + first step: the engine's first ``Trainer.fit`` on one batch for one epoch
  (building, compiling, tracing the training step, one step), what every new trainer pays
  once — the reason the paper module keeps one :class:`mer_utils.training.Trainer` for all
  folds;
* train step: a second fit on ``--steps`` batches for one epoch, reset as for a new fold
  (no new trace), its epoch seconds (the engine's history) over ``--steps``;
* predict step: ``Trainer.predict`` on ``--steps`` batches, timed with
  ``time.perf_counter``, over ``--steps``;
* per epoch: train steps x batches of one fold's training part + predict steps x batches
  of its validation part, for the data size given (``--train``/``--val``; the defaults
  are the paper's: 1637 songs, 90 % train, 4/5 of it per fold, i.e. 1178 / 295; for demo
  the demo corpus's ~150 / 38).

The full setting is timed with batches of 8 (the paper's batch of 32 needs about four
times the memory; ``--only full --batch 32`` times it where memory allows).

Wall time and process CPU time (user + system) are both printed: on a machine shared with
other jobs, CPU time / cores used is the steadier estimate of what an idle machine does.
The peak resident memory of the process is printed at the end.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def bench(backbone: str, size: int, batch: int, steps: int, n_train: int, n_val: int,
          pooling: str | None) -> dict:
    from functools import partial

    import numpy as np

    from mer_utils.evaluation import parameter_count
    from mer_utils.models.efficientnet import build_classifier, head_summary
    from mer_utils.training import Recipe, Trainer

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (batch * steps, size, size, 3)).astype("float32")
    y = rng.integers(0, 4, batch * steps)
    trainer = Trainer(partial(build_classifier, (size, size, 3), 4, backbone=backbone, weights=None, pooling=pooling),
                      Recipe(epochs=1, batch_size=batch, learning_rate=1e-5, predict_batch_size=batch))
    t0, c0 = time.perf_counter(), _cpu()
    trainer.fit(X[:batch], y[:batch], seed=0)
    first = (time.perf_counter() - t0, _cpu() - c0)
    c0 = _cpu()
    hist = trainer.fit(X, y, seed=1, init_seed=0)   # a new fold: reset to the same initial weights
    step, step_cpu = hist["epoch_seconds"][0] / steps, (_cpu() - c0) / steps
    trainer.predict(X[:batch])  # trace the inference step once
    t0, c0 = time.perf_counter(), _cpu()
    trainer.predict(X)
    pstep, pstep_cpu = (time.perf_counter() - t0) / steps, (_cpu() - c0) / steps
    nb_tr, nb_va = -(-n_train // batch), -(-n_val // batch)
    total = parameter_count(trainer.model)["parameters"]
    head = sum(r["parameters"] for r in head_summary(trainer.model))
    return {"backbone": backbone, "size": size, "batch": batch, "pooling": pooling or "none (flatten)",
            "parameters": total, "backbone_parameters": total - head, "head_parameters": head,
            "first_step_s": first[0], "first_step_cpu_s": first[1],
            "train_step_s": step, "train_step_cpu_s": step_cpu,
            "predict_step_s": pstep, "predict_step_cpu_s": pstep_cpu,
            "epoch_s": nb_tr * step + nb_va * pstep, "epoch_cpu_s": nb_tr * step_cpu + nb_va * pstep_cpu,
            "n_train": n_train, "n_val": n_val}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["demo", "full"], action="append",
                    help="which profile's setting (default: both)")
    ap.add_argument("--backbone", help="custom setting: backbone (with --size, --batch)")
    ap.add_argument("--size", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--pooling", default=None, choices=[None, "avg", "max"])
    ap.add_argument("--steps", type=int, default=5, help="timed steps (their mean reported)")
    ap.add_argument("--train", type=int, help="training images per fold (default: the profile's)")
    ap.add_argument("--val", type=int, help="validation images per fold (default: the profile's)")
    a = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from mer_utils.papers.cazzaniga import Config

    settings = []
    if a.backbone:
        cfg = Config.for_profile("full")
        settings.append(("custom", a.backbone, a.size or cfg.image_size, a.batch or cfg.batch_size,
                         a.pooling, a.train or 1178, a.val or 295))
    else:
        for prof in (a.only or ["demo", "full"]):
            cfg = Config.for_profile(prof)
            n_tr, n_va = (1178, 295) if prof == "full" else (150, 38)
            # full: batches of 8 (the reference the issue quotes; the paper's batch of 32
            # needs ~4x the memory, ~20 GB on a CPU: pass --batch 32 to time it)
            batch = a.batch or (8 if prof == "full" else cfg.batch_size)
            settings.append((prof, cfg.backbone, cfg.image_size, batch,
                             None if cfg.pooling == "none" else cfg.pooling, a.train or n_tr, a.val or n_va))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (wall times inflate with load)")
    for label, bb, size, batch, pooling, n_tr, n_va in settings:
        r = bench(bb, size, batch, a.steps, n_tr, n_va, pooling)
        print(f"\n[{label}] {bb} {size}x{size}x3, batch {batch}, pooling {r['pooling']}: "
              f"{r['parameters']:,} parameters (backbone {r['backbone_parameters']:,}, head {r['head_parameters']:,})")
        print(f"  build + compile + first step (trace) {r['first_step_s']:.1f} s wall, "
              f"{r['first_step_cpu_s']:.1f} s CPU")
        print(f"  train step {r['train_step_s']:.3f} s wall / {r['train_step_cpu_s']:.3f} s CPU per batch of {batch}"
              f" | predict step {r['predict_step_s']:.3f} s / {r['predict_step_cpu_s']:.3f} s CPU")
        print(f"  per epoch ({n_tr} train + {n_va} validation images): {r['epoch_s']:.1f} s wall, "
              f"{r['epoch_cpu_s']:.1f} s CPU")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak RSS of this process: {peak:.2f} GiB; load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
