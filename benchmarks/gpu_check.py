"""The GPU check (run by benchmarks/gpu_check.sh): every network at its paper size, a bounded
number of training steps each through the engine, then one seeded unit on the GPU against
the same unit on the CPU.

Reports per network: seconds per step and per epoch at the paper's data size, peak
accelerator memory, and the projected ``full`` hours (mer_utils.cost's arithmetic); then
the largest difference between the unit's GPU and CPU predictions, against ``--tolerance``.
Without a GPU it runs the same path on the CPU (CI runs it that way with a tiny budget):
the timings are then CPU figures and the unit check compares two CPU runs.

The timed steps read random arrays of the papers' shapes (the cost of a step does not depend
on the values); the unit check trains Velankar's CRNN (the cross-backend audit's small
version) on demo-corpus clips (--unit-rows of the smoke corpus's 48 happy / sad / calm
clips, each clip's first 5 s as log-mel, as benchmarks/bench_backends.py makes them) under
MER_DETERMINISTIC=1.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _device() -> dict:
    import keras

    info = {"backend": keras.backend.backend(), "gpu": None}
    if info["backend"] == "torch":
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    elif info["backend"] == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        info["gpu"] = gpus[0].name if gpus else None
    elif info["backend"] == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        info["gpu"] = str(gpus[0]) if gpus else None
    return info


def _reset_peak() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
    except ImportError:
        pass


def _peak_gib() -> float | None:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**30
    except ImportError:
        pass
    try:                                            # no GPU: the process's peak resident memory
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    except ImportError:  # pragma: no cover
        return None


def unit(rows: int, epochs: int, seed: int = 0) -> np.ndarray:
    """One seeded unit: Velankar's CRNN (small) trained on ``rows`` demo clips (3 classes);
    its test predictions."""
    from bench_backends import demo_mels, networks, paper_inputs

    from mer_utils.config import seed_everything
    from mer_utils.training import Recipe, Trainer

    seed_everything(seed, deterministic=True)
    build, shape, k = networks()["velankar"]
    mels, q = demo_mels()
    x, y = paper_inputs(mels, q, shape, k)
    pick = np.random.default_rng(seed).permutation(len(y))[:max(4, min(rows, len(y)))]
    x, y = x[pick], y[pick]
    tr, te = np.arange(len(y)) % 4 != 0, np.arange(len(y)) % 4 == 0
    trainer = Trainer(build, Recipe(epochs=epochs, batch_size=8, optimizer="adam", learning_rate=1e-3))
    trainer.fit(x[tr], y[tr], seed=seed)
    return trainer.predict(x[te])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget-s", type=float, default=360, help="seconds for the timing part (default 360)")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps per network (default 3)")
    ap.add_argument("--batch-cap", type=int, default=64, help="largest batch timed (default 64)")
    ap.add_argument("--only", action="append", help="a paper (repeatable)")
    ap.add_argument("--unit-rows", type=int, default=48, help="demo clips of the unit check (at most 48)")
    ap.add_argument("--unit-epochs", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-3,
                    help="largest |GPU - CPU| difference of a predicted probability accepted (default 1e-3)")
    ap.add_argument("--out", default=None, help="a folder for gpu_check.json")
    ap.add_argument("--cpu-unit", default=None, help=argparse.SUPPRESS)   # the CPU reference run
    a = ap.parse_args(argv)

    if a.cpu_unit:                                  # child: the unit on the CPU, predictions to a file
        np.save(a.cpu_unit, unit(a.unit_rows, a.unit_epochs))
        return 0

    import bench_cost
    from mer_utils import cost

    dev = _device()
    where = dev["gpu"] or "no GPU: CPU figures"
    print(f"Keras {dev['backend']} on {where}; budget {a.budget_s:.0f} s for the timings", flush=True)
    rows, t_start = [], time.perf_counter()
    print(f"{'paper':<10} {'network':<26} {'params':>11} {'s/step':>8} {'s/epoch':>9} {'peak GiB':>9} {'full h':>9}")
    for spec in bench_cost.specs(a.only):
        if time.perf_counter() - t_start > a.budget_s:
            rows.append({"paper": spec["paper"], "network": spec["network"], "status": "not timed (budget spent)"})
            print(f"{spec['paper']:<10} {spec['network']:<26} not timed (budget spent)")
            continue
        _reset_peak()
        try:
            m = bench_cost.measure(spec, steps=a.steps, batch_cap=a.batch_cap, repeats=1)
        except Exception as exc:  # noqa: BLE001 - an out-of-memory or a build error is a finding
            rows.append({"paper": spec["paper"], "network": spec["network"], "status": f"{type(exc).__name__}: {exc}"[:200]})
            print(f"{spec['paper']:<10} {spec['network']:<26} {rows[-1]['status']}")
            continue
        epoch_s = m["seconds_per_sample"] * spec["n_train"]
        hours = cost.unit_seconds(m["seconds_per_sample"], spec["n_train"], spec["epochs"]) * spec["units"] / 3600
        peak = _peak_gib()
        rows.append({"paper": spec["paper"], "network": spec["network"], "parameters": m["parameters"],
                     "seconds_per_step": m["step_s"], "seconds_per_sample": m["seconds_per_sample"],
                     "seconds_per_epoch": epoch_s, "peak_gib": peak, "full_hours": hours, "status": "ok"})
        print(f"{spec['paper']:<10} {spec['network']:<26} {m['parameters']:>11,} {m['step_s']:>8.2f} "
              f"{epoch_s:>9,.0f} {peak if peak is not None else float('nan'):>9.2f} {hours:>9,.1f}", flush=True)
    timed = [r for r in rows if r.get("status") == "ok"]
    print(f"projected full training on this device: {sum(r['full_hours'] for r in timed):,.1f} h "
          f"({len(timed)} of {len(rows)} networks timed)")

    # the unit check: the same seeded unit here (GPU when there is one) and in a CPU-only process
    t0 = time.perf_counter()
    here = unit(a.unit_rows, a.unit_epochs)
    ref_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu_check_cpu_unit_{os.getpid()}.npy"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", MER_DETERMINISTIC="1")
    subprocess.run([sys.executable, str(Path(__file__)), "--cpu-unit", str(ref_file), "--unit-rows", str(a.unit_rows),
                    "--unit-epochs", str(a.unit_epochs)], check=True, env=env)
    cpu = np.load(ref_file)
    ref_file.unlink(missing_ok=True)
    diff = float(np.max(np.abs(here - cpu)))
    agree = float(np.mean(np.argmax(here, axis=1) == np.argmax(cpu, axis=1)))
    ok = diff <= a.tolerance
    print(f"seeded unit ({'GPU' if dev['gpu'] else 'CPU'} vs CPU, {a.unit_rows} rows, {a.unit_epochs} epochs): "
          f"max |difference| {diff:.2e} (tolerance {a.tolerance:g}), decisions agree {agree:.0%}, "
          f"{time.perf_counter() - t0:.1f} s -> {'OK' if ok else 'OUT OF TOLERANCE'}")
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu_check.json").write_text(json.dumps(
            {"device": dev, "networks": rows, "unit": {"max_abs_difference": diff, "tolerance": a.tolerance,
                                                      "decisions_agree": agree, "ok": ok}}, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
