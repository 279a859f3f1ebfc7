"""The cost model of ``--profile full``: every paper's networks at the paper's sizes, a few
training steps each through the training engine, extrapolated to the paper's epochs, units
and data size (mer_utils/cost.py does the arithmetic and prints the table).

    nice -n 10 python benchmarks/bench_cost.py                 # measure all, write mer_utils/data/cost_full.csv
    python benchmarks/bench_cost.py --only louro --steps 2     # one paper (its rows replaced in the CSV)
    python -m mer_utils.cost                                   # print the projection from the CSV

What is measured: seconds per training sample of ``Trainer.fit`` (one epoch of ``steps``
batches of random inputs of the paper's shape, after a first fit that builds, compiles and
traces), the fastest of ``--repeats`` timed fits, at the paper's batch size capped by
``--batch-cap`` (larger batches cost a little less per sample: an upper bound). What is assumed is in each row's ``basis``: training rows
per unit (the paper's data set and split), chunks per clip for the many-to-one rows, and a
factor for custom steps that run more than one forward pass. Prediction and feature
extraction are not counted (minutes against hours).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mer_utils import cost  # noqa: E402


def _spec(paper, network, build, inputs, n_out, *, n_train, epochs, batch_size, units, basis,
          loss="sparse_categorical_crossentropy", factor=1.0, optimizer="adam"):
    return dict(paper=paper, network=network, build=build, inputs=[tuple(s) for s in inputs], n_out=int(n_out),
                n_train=int(n_train), epochs=int(epochs), batch_size=int(batch_size), units=int(units), basis=basis,
                loss=loss, factor=float(factor), optimizer=optimizer)


def specs(papers=None) -> list[dict]:
    """Every network of every paper at the paper's sizes (``full``), with how many units train it."""
    want = set(papers or ("javadi", "cazzaniga", "sun", "velankar", "louro"))
    out: list[dict] = []
    if "javadi" in want:
        from mer_utils.models.vggish_sequence import build_javadi_cnn, build_javadi_transformer
        from mer_utils.papers.javadi import config as J

        cfg = J.Config.for_profile("full")
        runs = [r for r in J.plan(cfg) if r.kind == "network"]
        shape = (128, 1407)                       # "(16, 1, 128, 1407)": VGGish sequence and mel alike
        for net, fn, kw in (("cnn", build_javadi_cnn, dict(filters=cfg.cnn_filters, kernel_size=cfg.cnn_kernel,
                                                          strides=cfg.cnn_strides)),
                            ("transformer", build_javadi_transformer,
                             dict(patch_size=tuple(cfg.tf_patch), d_model=cfg.tf_d_model, num_heads=cfg.tf_heads,
                                  num_layers=cfg.tf_layers, mlp_dim=cfg.tf_mlp))):
            n = sum(r.classifier == net for r in runs)
            out.append(_spec("javadi", f"{net} (59 tags)", partial(fn, shape, 59, **kw), [shape], 59,
                             n_train=9949, epochs=cfg.epochs, batch_size=cfg.batch_size, units=max(1, n),
                             loss="binary_crossentropy",
                             basis=f"MTG-Jamendo mood/theme split-0: 9,949 training tracks; {n} runs of the "
                                   "plan (label sets x inputs), one holdout unit each"))
    if "cazzaniga" in want:
        from mer_utils.models.efficientnet import build_classifier
        from mer_utils.papers.cazzaniga import config as Z

        cfg = Z.Config.for_profile("full")
        s = int(cfg.image_size)
        n_clips = 900 + 767 + 1802 + 162
        out.append(_spec("cazzaniga", cfg.backbone, partial(build_classifier, (s, s, 3), 4, backbone=cfg.backbone,
                                                            weights=None, units=tuple(cfg.head_units)),
                         [(s, s, 3)], 4, n_train=int(n_clips * (cfg.folds - 1) / cfg.folds), epochs=cfg.epochs,
                         batch_size=cfg.batch_size, units=cfg.folds,
                         basis=f"4Q 900 + PMEmo 767 + DEAM 1,802 + Bi-Modal 162 clips, {cfg.folds}-fold CV "
                               "(one merged experiment)"))
    if "sun" in want:
        from types import SimpleNamespace

        from mer_utils.models.vgg import build_vgg16
        from mer_utils.papers.sun import config as S
        from mer_utils.papers.sun import pipeline as SP

        cfg = S.Config.for_profile("full")
        corpus = SimpleNamespace(datasets=tuple(cfg.datasets))
        exps = SP.plan_table2(cfg, corpus) + SP.plan_table3(cfg, corpus) + SP.plan_noise(cfg, corpus)
        seconds = {"PMEmo": 30.0, "4Q": 30.0, "EiM": 45.0}
        rows = 0.0
        for e in exps:      # training segments of one unit, at 3-s-segment cost (frames scale the cost)
            segs = seconds[e.dataset] - e.duration + 1
            rows += S.PAPER_SONGS[e.dataset] * (cfg.folds - 1) / cfg.folds * segs * (e.duration / 3)
        frames = 1 + int(3 * S.SR / 512)
        out.append(_spec("sun", "VGG16 (3-s segments)", partial(build_vgg16, (frames, 128), 4, fc_units=cfg.fc_units,
                                                                 dropout=cfg.dropout),
                         [(frames, 128)], 4, n_train=int(rows / len(exps)), epochs=cfg.epochs,
                         batch_size=cfg.batch_size, units=len(exps) * cfg.folds, factor=2.0,
                         basis=f"{len(exps)} experiments (Tables 2-3, noise) x {cfg.folds} folds; songs "
                               "767 / 900 / 1,000 of 30 / 30 / 45 s, 1-s hop; cost per segment scaled by its "
                               "duration; x2: R-Drop's two forward passes"))
    if "velankar" in want:
        from mer_utils.models.crnn import BUILDERS
        from mer_utils.papers.velankar import config as V

        cfg = V.Config.for_profile("full")
        for m in V.MODELS:
            out.append(_spec("velankar", m.name, partial(BUILDERS[m.builder], (640, 128), 3, **m.build_kwargs(cfg)),
                             [(640, 128)], 3, n_train=74, epochs=cfg.epochs, batch_size=cfg.batch_size,
                             units=len(cfg.seeds),
                             basis=f"138 songs: 46 test, 20 % of the rest validation, 74 train; "
                                   f"{len(cfg.seeds)} seeds"))
    if "louro" in want:
        from mer_utils.models.artists_cnn import ARTISTS_FRAMES
        from mer_utils.models.won_tagging import SHORTCHUNK_FRAMES
        from mer_utils.papers.louro import config as L
        from mer_utils.papers.louro import pipeline as _LP  # noqa: F401 - registers the rows
        from mer_utils.papers.louro.rows import ALL_ROWS, ROWS

        cfg = L.Config.for_profile("full")
        units = cfg.folds * cfg.repeats
        clips = int(900 * (cfg.folds - 1) / cfg.folds)
        chunks = {"shortchunk": (SHORTCHUNK_FRAMES, math.floor(30 * 16000 / L.CHUNK_SAMPLES)),
                  "samplecnn": (L.CHUNK_SAMPLES, math.floor(30 * 16000 / L.CHUNK_SAMPLES)),
                  "artists_cnn": (ARTISTS_FRAMES, 10)}
        copies = {"baseline_tfm": 2, "baseline_sb": 2, "baseline_rg": 2, "baseline_deepsmote": 1.3}
        for key in ALL_ROWS:
            row = ROWS[key]
            if row.kind != "dl" or row.build is None:
                continue
            size, per_clip = chunks.get(key, (cfg.input_frames, 1))
            inputs = [(size,)] if key == "samplecnn" else [(size, 128)]
            if key == "hybrid":
                inputs = [(size, 128), (1714,)]
            n = int(clips * per_clip * copies.get(key, 1))
            out.append(_spec("louro", key, partial(row.build, cfg, None, size), inputs, 4, n_train=n,
                             epochs=row.epochs, batch_size=row.batch_size, units=units, optimizer=row.optimizer,
                             basis=f"4QAED 900 clips, 10x10 CV ({clips} train clips)"
                                   + (f", {per_clip} chunks per clip" if per_clip > 1 else "")
                                   + (f", x{copies[key]} training copies" if key in copies else "")
                                   + "; Table 1 epochs and batch"))
    return out


_MEASURED: dict = {}


def measure(spec: dict, *, steps: int = 2, batch_cap: int = 32, seed: int = 0, repeats: int = 3) -> dict:
    """Seconds per training sample of ``spec``'s network through the engine (and its size): the
    fastest of ``repeats`` timed fits after a first one (on a shared machine the fastest is the
    closest to the network's own cost). Rows that train the same builder on the same shapes
    (Louro's augmentation rows) share one measurement."""
    build = spec["build"]
    key = (getattr(getattr(build, "func", build), "__qualname__", str(build)), str(spec["inputs"]),
           min(spec["batch_size"], batch_cap), spec["loss"], spec["n_out"])
    if key in _MEASURED:
        return dict(_MEASURED[key], seconds_per_sample=_MEASURED[key]["per_sample"] * spec["factor"])
    from mer_utils.training import Recipe, Trainer

    batch = max(1, min(spec["batch_size"], batch_cap))
    n = batch * steps
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(n, *s)).astype(np.float32) for s in spec["inputs"]]
    x = xs[0] if len(xs) == 1 else xs
    if spec["loss"] == "binary_crossentropy":
        y = (rng.random((n, spec["n_out"])) < 0.1).astype(np.float32)
    else:
        y = rng.integers(0, spec["n_out"], size=n)
    trainer = Trainer(spec["build"], Recipe(epochs=1, batch_size=batch, optimizer=spec["optimizer"],
                                            learning_rate=1e-3, loss=spec["loss"], metrics=()),
                      name=spec["network"])
    t0 = time.perf_counter()
    trainer.fit(x, y, seed=seed)                       # builds, compiles, traces
    first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        trainer.fit(x, y, seed=seed)
        times.append(time.perf_counter() - t0)
    dt = min(times)
    _MEASURED[key] = dict(per_sample=dt / n, parameters=trainer.n_params, measured_batch=batch,
                          measured_steps=steps, first_fit_s=round(first, 2), step_s=dt / steps)
    return dict(_MEASURED[key], seconds_per_sample=dt / n * spec["factor"])


def row_of(spec: dict, m: dict) -> dict:
    return {"paper": spec["paper"], "network": spec["network"],
            "input_shape": " + ".join("x".join(map(str, s)) for s in spec["inputs"]),
            "parameters": m.get("parameters"), "n_train": spec["n_train"], "epochs": spec["epochs"],
            "batch_size": spec["batch_size"], "units": spec["units"],
            "seconds_per_sample": m.get("seconds_per_sample", float("nan")),
            "gpu_seconds_per_sample": m.get("gpu_seconds_per_sample", float("nan")),
            "measured_batch": m.get("measured_batch"), "measured_steps": m.get("measured_steps"),
            "basis": spec["basis"] + (f"; not measured: {m['error']}" if m.get("error") else "")}


def machine() -> str:
    import keras

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Keras {keras.__version__} "
            f"on {keras.backend.backend()}, {_dt.date.today().isoformat()}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", help="a paper (repeatable); its rows replace the CSV's")
    ap.add_argument("--steps", type=int, default=2, help="timed training steps per network (default 2)")
    ap.add_argument("--batch-cap", type=int, default=8,
                    help="largest batch measured (default 8: EfficientNetB3 at 300 x 300 and batch 32 needs ~15 GB)")
    ap.add_argument("--repeats", type=int, default=3, help="timed fits per network, the fastest kept (default 3)")
    ap.add_argument("--out", default=str(cost.MEASURED), help="the CSV written (default: the committed one)")
    a = ap.parse_args(argv)
    from mer_utils.config import seed_everything

    seed_everything(0)
    rows = []
    for spec in specs(a.only):
        try:
            m = measure(spec, steps=a.steps, batch_cap=a.batch_cap, repeats=a.repeats)
        except Exception as exc:  # noqa: BLE001 - report, keep measuring the others
            m = {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
        print(f"{spec['paper']:<10} {spec['network']:<26} "
              + (f"{m['seconds_per_sample'] * 1e3:8.1f} ms/sample ({m['parameters']:,} parameters, "
                 f"first fit {m['first_fit_s']:.1f} s)" if "error" not in m else m["error"]), flush=True)
        rows.append(dict(row_of(spec, m), measured_on=machine()))
    df = pd.DataFrame(rows)
    out = Path(a.out)
    if a.only and out.exists():
        old = pd.read_csv(out)
        df = pd.concat([old[~old.paper.isin(a.only)], df], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"\nwritten {out}\n")
    print(cost.format_projection(df))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
