"""The cross-backend audit: the same seeded units (one small network per paper) trained under
TensorFlow, torch and JAX on the CPU, with the deterministic mode on and off, twice each.

    nice -n 10 python benchmarks/bench_backends.py            # -> benchmarks/backend_audit.{csv,png}
    python benchmarks/bench_backends.py --backends tensorflow torch --repeats 2

Each (backend, mode, repeat) runs in a process of its own (KERAS_BACKEND and MER_DETERMINISTIC
are read at start-up): every paper's network, its units under their seeds, test-set
probabilities saved. Then, per paper and unit: the largest |difference| of a probability,
the share of equal decisions and |difference| of macro F1 (mer_utils.evaluation.label_scores)
between two runs of one backend ("repeat") and between each backend and TensorFlow ("vs
tensorflow"), same mode. JAX runs when it can be imported (``--jax-path`` adds a folder
where ``pip install --target DIR jax jaxlib`` put it); otherwise its rows say so.

The networks are each paper's scaled-down builder (smoke sizes) on the demo corpus at the
smoke size (64 clips, 16 per quadrant; Velankar's 3 classes: the 48 clips of Q1 happy, Q3 sad,
Q4 calm): the log-mel spectrogram of each clip's first 5 s (16 kHz, 128 bands, hop 512),
cut to the network's frames and averaged down to its bands, standardised; 75 % of the clips
train and 25 % test per unit (2 units, seeded splits, 3 epochs). Cazzaniga's EfficientNetB0
only with ``--papers`` (8 minutes per run under torch on 2 cores).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

EPOCHS, BATCH, TRAIN_SHARE, SECONDS = 3, 16, 0.75, 5.0
UNIT_SEEDS = (0, 1)
#: EfficientNetB0 (Cazzaniga) takes ~8 min per run under torch on 2 CPU cores: add it with --papers
DEFAULT_PAPERS = ("javadi", "sun", "velankar", "louro")


def networks() -> dict:
    """paper -> (builder, input shape, classes): each paper's network at a smoke size."""
    from mer_utils.models.crnn import build_crnn
    from mer_utils.models.efficientnet import build_classifier
    from mer_utils.models.mel_cnn import build_baseline_cnn
    from mer_utils.models.vgg import build_vgg16
    from mer_utils.models.vggish_sequence import build_javadi_cnn

    return {
        "javadi": (partial(build_javadi_cnn, (128, 32), 4), (128, 32), 4),
        "cazzaniga": (partial(build_classifier, (32, 32, 3), 4, backbone="EfficientNetB0", weights=None,
                              units=(32, 16, 8)), (32, 32, 3), 4),
        "sun": (partial(build_vgg16, (44, 32), 4, width=0.125, fc_units=64), (44, 32), 4),
        "velankar": (partial(build_crnn, (48, 32), 3, filters=16, lstm_units=16, dense_units=16), (48, 32), 3),
        "louro": (partial(build_baseline_cnn, (96, 64), 4, dense_units=32), (96, 64), 4),
    }


def demo_mels() -> tuple[np.ndarray, np.ndarray]:
    """(log-mel (clips, frames, 128) of each demo clip's first 5 s, quadrant index per clip):
    the demo corpus at the smoke size (generated into the cache if absent)."""
    import librosa

    from mer_utils import audio
    from mer_utils.datasets.demo import load_demo

    df = load_demo("smoke").sort_values("track_id").reset_index(drop=True)
    sr = 16000
    mels = []
    for path in df["path"]:
        y = audio.load_audio(path, sr=sr)[: int(SECONDS * sr)]
        S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
        mels.append(librosa.power_to_db(S, ref=1.0).T.astype(np.float32))
    frames = min(m.shape[0] for m in mels)
    q = df["quadrant"].map({"Q1": 0, "Q2": 1, "Q3": 2, "Q4": 3}).to_numpy()
    return np.stack([m[:frames] for m in mels]), q


def paper_inputs(mels: np.ndarray, q: np.ndarray, shape: tuple, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The demo clips as one network's input: the first ``shape[0]`` frames, the 128 bands
    averaged down to ``shape[1]``, standardised; an image network gets the map on 3 channels.
    3 classes: Q1, Q3, Q4 (Velankar's happy, sad, calm)."""
    keep = np.ones(len(q), bool) if k == 4 else np.isin(q, (0, 2, 3))
    y = q[keep] if k == 4 else np.searchsorted([0, 2, 3], q[keep])
    T, B = int(shape[0]), int(shape[1])
    x = mels[keep][:, :T].reshape(int(keep.sum()), T, B, 128 // B).mean(axis=-1)
    x = (x - x.mean()) / (x.std() + 1e-6)
    if len(shape) == 3:
        x = np.repeat(x[..., None], shape[2], axis=-1)
    return x.astype(np.float32), y.astype(int)


def child(out: Path, papers=DEFAULT_PAPERS) -> None:
    """In a process of its own: every paper's units; probabilities to ``out`` (npz)."""
    from mer_utils.config import determinism_info, seed_everything
    from mer_utils.training import Recipe, Trainer

    seed_everything(0)
    saved, seconds = {}, {}
    mels, q = demo_mels()
    for paper, (build, shape, k) in networks().items():
        if paper not in papers:
            continue
        x, y = paper_inputs(mels, q, shape, k)
        rows = len(y)
        loss = "binary_crossentropy" if paper == "javadi" else "sparse_categorical_crossentropy"
        target = np.eye(k, dtype=np.float32)[y] if paper == "javadi" else y
        trainer = Trainer(build, Recipe(epochs=EPOCHS, batch_size=BATCH, optimizer="adam", learning_rate=1e-3,
                                        loss=loss, metrics=()), name=paper)
        t0 = time.perf_counter()
        for s in UNIT_SEEDS:
            order = np.random.default_rng(s).permutation(rows)
            tr, te = order[:int(TRAIN_SHARE * rows)], order[int(TRAIN_SHARE * rows):]
            trainer.fit(x[tr], target[tr], seed=s)
            saved[f"{paper}/{s}/p"] = np.asarray(trainer.predict(x[te]), dtype=np.float64)
            saved[f"{paper}/{s}/y"] = y[te]
        seconds[paper] = round(time.perf_counter() - t0, 2)
    saved["_info"] = np.asarray(json.dumps({"seconds": seconds, "determinism": determinism_info()}, default=str))
    np.savez(out, **saved)


def _runs(a, work: Path) -> dict:
    runs = {}
    for backend, det, rep in itertools.product(a.backends, (False, True), range(a.repeats)):
        out = work / f"{backend}-{'det' if det else 'free'}-{rep}.npz"
        env = dict(os.environ, KERAS_BACKEND=backend, MER_DETERMINISTIC="1" if det else "0",
                   CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
        if backend == "jax" and a.jax_path:
            env["PYTHONPATH"] = os.pathsep.join([a.jax_path, env.get("PYTHONPATH", str(ROOT))])
        if not out.exists():
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, __file__, "--child", str(out), "--papers", *a.papers], env=env,
                               capture_output=True, text=True)
            if r.returncode:
                print(f"{backend} (deterministic {det}) #{rep}: failed: {r.stderr.strip().splitlines()[-1:]}")
                continue
            print(f"{backend:<10} deterministic={det!s:<5} #{rep}: {time.perf_counter() - t0:.0f} s", flush=True)
        with np.load(out) as z:
            runs[(backend, det, rep)] = {k: z[k] for k in z.files}
    return runs


def compare(runs: dict) -> pd.DataFrame:
    from mer_utils.evaluation import label_scores

    def f1(p, y):
        labels = list(range(p.shape[1]))
        return label_scores(y, np.argmax(p, axis=1), labels)["f1"]

    rows = []
    keys = sorted(runs)
    for (b1, d1, r1), (b2, d2, r2) in itertools.combinations(keys, 2):
        if d1 != d2:
            continue
        if b1 == b2 and (r1, r2) == (0, 1):
            kind = "repeat"
        elif b1 != b2 and r1 == 0 and r2 == 0 and "tensorflow" in (b1, b2):
            kind = "vs tensorflow"
        else:
            continue
        other = b2 if b1 == "tensorflow" else b1
        A, B = runs[(b1, d1, r1)], runs[(b2, d2, r2)]
        for paper in sorted({k.split("/")[0] for k in A if "/" in k}):
            for s in UNIT_SEEDS:
                pa, pb, y = A[f"{paper}/{s}/p"], B[f"{paper}/{s}/p"], A[f"{paper}/{s}/y"]
                rows.append({"comparison": kind, "backend": other if kind == "vs tensorflow" else b1,
                             "deterministic": d1, "paper": paper, "unit": s,
                             "max_abs_prob_diff": float(np.max(np.abs(pa - pb))),
                             "decisions_equal": float(np.mean(pa.argmax(1) == pb.argmax(1))),
                             "abs_f1_diff": abs(f1(pa, y) - f1(pb, y)), "f1_a": f1(pa, y)})
    return pd.DataFrame(rows)


def figure(summary: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), sharey=False)
    for ax, col, title in ((axes[0], "max_abs_prob_diff", "largest |Δ probability|"),
                           (axes[1], "abs_f1_diff", "largest |Δ macro F1| of a unit")):
        t = summary.pivot_table(index="paper", columns="pair", values=col, aggfunc="max")
        t.plot.bar(ax=ax, rot=0, width=0.8)
        ax.set_yscale("symlog", linthresh=1e-6)
        ax.set_title(title)
        ax.set_xlabel("")
        ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8, title="pair (same mode)")
    fig.suptitle("Same seeded units on the CPU: two runs of one backend, and each backend against TensorFlow")
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["tensorflow", "torch", "jax"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--papers", nargs="+", default=list(DEFAULT_PAPERS), help="papers whose network is audited")
    ap.add_argument("--jax-path", default=os.environ.get("MER_JAX_PATH"), help="a folder holding jax (pip --target)")
    ap.add_argument("--work", default=None, help="a folder for the runs' predictions (kept: reruns reuse them)")
    ap.add_argument("--out", default=str(HERE / "backend_audit"), help="prefix of the .csv and .png written")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child(Path(a.child), tuple(a.papers))
        return 0
    import tempfile

    work = Path(a.work or tempfile.mkdtemp(prefix="backend_audit_"))
    work.mkdir(parents=True, exist_ok=True)
    runs = _runs(a, work)
    missing = sorted({b for b in a.backends} - {b for b, _, _ in runs})
    df = compare(runs)
    if df.empty:
        print("nothing to compare")
        return 1
    df["pair"] = [f"{'det' if d else 'free'}: {c if c == 'vs tensorflow' else 'repeat'} {b}"
                  if c == "repeat" else f"{'det' if d else 'free'}: {b} vs tensorflow"
                  for c, b, d in zip(df.comparison, df.backend, df.deterministic)]
    summary = (df.groupby(["comparison", "backend", "deterministic", "paper", "pair"], as_index=False)
               .agg(max_abs_prob_diff=("max_abs_prob_diff", "max"), decisions_equal=("decisions_equal", "min"),
                    abs_f1_diff=("abs_f1_diff", "max"), units=("unit", "size")))
    summary.to_csv(a.out + ".csv", index=False)
    figure(summary, Path(a.out + ".png"))
    pd.set_option("display.width", 160)
    print(summary.drop(columns="pair").to_string(index=False, float_format=lambda v: f"{v:.2e}"))
    if missing:
        print(f"not run: {', '.join(missing)} (not importable here; pip install --target DIR jax jaxlib, then --jax-path DIR)")
    print(f"written {a.out}.csv and {a.out}.png (runs kept in {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
