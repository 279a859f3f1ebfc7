"""Seconds per training epoch of notebook 30's segment classifier (Sun et al.), at the demo
size and at the paper's (VGG16, the 4Q training fold of 10-fold CV).

    python benchmarks/bench_sun.py                       # demo and full, 1-s segments
    python benchmarks/bench_sun.py --durations 1 3 --steps 5
    python benchmarks/bench_sun.py --sizes full --full-epoch   # a real epoch (GPU box)
    python benchmarks/bench_sun.py --quick               # demo size, one timed step (a check)

For each size, duration and method (inherited labels = plain cross-entropy; Proposed* =
SSSL without L_KL; Proposed) it times the compiled train step (after one warm-up step that
compiles it) and the per-epoch inference pass SSSL makes, both as the one engine runs them
(``training.Trainer`` with the ``training.sssl.SSSLStep``: the engine builds the network and
its optimizer in a one-batch fit, the step's compiled functions are timed), then reports

    epoch seconds = steps per epoch x seconds per step (+ the loss pass for SSSL)

measured over ``--steps`` steps and extrapolated to the epoch, unless ``--full-epoch``
(then the whole epoch runs). Random inputs of the real shapes: speed does not depend on
the values. The number of training segments per epoch is the paper's 4Q setting
(26,957 one-second segments, 9/10 of them in a training fold) for ``full`` and the demo
profile's (16 training songs x 10 s) for ``demo``; ``--n-full`` / ``--n-demo`` change it.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["demo", "full"], choices=["demo", "full"])
    ap.add_argument("--durations", nargs="+", type=int, default=[1])
    ap.add_argument("--methods", nargs="+", default=["simple", "proposed_star", "proposed"])
    ap.add_argument("--steps", type=int, default=3, help="timed steps per (size, duration, method)")
    ap.add_argument("--n-full", type=int, default=int(26957 * 0.9))
    ap.add_argument("--n-demo", type=int, default=16 * 10)
    ap.add_argument("--pass-samples", type=int, default=256, help="segments the loss pass is timed on")
    ap.add_argument("--full-epoch", action="store_true", help="run whole epochs instead of extrapolating")
    ap.add_argument("--quick", action="store_true", help="demo size, one timed step: a check that it runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.steps, args.pass_samples = ["demo"], 1, 64

    import keras

    from mer_utils.features import get_front_end
    from functools import partial

    from mer_utils.models.vgg import build_vgg16, vgg16_parameter_count
    from mer_utils.papers.sun.config import METHODS, Config
    from mer_utils.papers.sun.pipeline import sssl_settings
    from mer_utils.training import Trainer
    from mer_utils.training.sssl import SSSLStep, sssl_recipe

    fe = get_front_end("sun_segment")
    rng = np.random.default_rng(0)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, {os.cpu_count()} CPU(s)")
    rows = []
    for size in args.sizes:
        cfg = Config.for_profile("full" if size == "full" else "demo")
        n = args.n_full if size == "full" else args.n_demo
        B = cfg.batch_size
        for dur in args.durations:
            shape = (fe.frames_for(dur), fe.n_mels)
            one = dataclasses.replace(sssl_settings(cfg, "simple"), epochs=1)
            trainer = Trainer(partial(build_vgg16, shape, 2, width=cfg.vgg_width, fc_units=cfg.fc_units),
                              sssl_recipe(one))
            x = rng.normal(size=(B,) + shape).astype(np.float32)
            trainer.fit(x, rng.integers(0, 2, B), seed=0, step=SSSLStep(2, one))   # builds model + optimizer
            sssl = SSSLStep(2, one)
            t = np.eye(2, dtype=np.float32)[rng.integers(0, 2, B)]
            u = (rng.random(B) < 0.3).astype(np.float32)
            perm = rng.permutation(B)
            # the loss pass: inference over the epoch's segments (timed on a few batches)
            Xp = rng.normal(size=(min(n, args.pass_samples),) + shape).astype(np.float32)
            sssl.predict(trainer, Xp[:32])                     # compiles
            t0 = time.perf_counter()
            sssl.predict(trainer, Xp if not args.full_epoch else np.resize(Xp, (n,) + shape))
            per_sample_pass = (time.perf_counter() - t0) / (len(Xp) if not args.full_epoch else n)
            steps = -(-n // B)
            for method in args.methods:
                mix, lam = (False, 0.0) if method == "simple" else (True, cfg.lam if method == "proposed" else 0.0)
                step = SSSLStep.train_step(trainer, mix, lam)
                t0 = time.perf_counter()
                step(x, t, u, 0.7, perm)                       # compiles
                compile_s = time.perf_counter() - t0
                k = steps if args.full_epoch else args.steps
                t0 = time.perf_counter()
                for _ in range(k):
                    step(x, t, u, 0.7, perm)
                per_step = (time.perf_counter() - t0) / k
                epoch = steps * per_step + (per_sample_pass * n if method != "simple" else 0.0)
                rows.append((size, dur, METHODS[method], n, B, per_step, compile_s, epoch,
                             vgg16_parameter_count(shape, 2, width=cfg.vgg_width, fc_units=cfg.fc_units)))
                print(f"{size:>4} {dur} s {METHODS[method]:<17} {n:>6} segments, batch {B}: "
                      f"{per_step * 1000:8.1f} ms/step, compile {compile_s:5.1f} s -> "
                      f"{epoch:9.1f} s/epoch{'' if args.full_epoch else ' (extrapolated)'}", flush=True)
            del trainer
    print("\nsize  dur  method             segments  s/epoch   parameters")
    for size, dur, m, n, B, ps, cs, ep, params in rows:
        print(f"{size:<5} {dur:>2} s  {m:<17} {n:>8}  {ep:8.1f}  {params:>11,}")


if __name__ == "__main__":
    main()
