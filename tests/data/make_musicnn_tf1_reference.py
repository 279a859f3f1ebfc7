"""Freeze the original TF1 musicnn graph's outputs as the reference for the Keras 3 port.

The port (:mod:`mer_utils.models.musicnn`) is checked in ``tests/test_embeddings.py``
against ``musicnn_tf1_reference.npz`` beside this script. That file was made by this
script, once, from the wheel's own ``musicnn/models.py`` run as a TF1 graph
(``tf.compat.v1.layers``) restored from the wheel's four checkpoints. Running that graph
under TensorFlow >= 2.16 needs ``tf-keras`` (which pulls in the full ``tensorflow`` build
beside ``tensorflow-cpu``), so it is not part of the project's environment; to regenerate
the reference, use a scratch environment::

    python -m venv /tmp/tf1ref && /tmp/tf1ref/bin/pip install -e . tf-keras==2.21.0
    /tmp/tf1ref/bin/python tests/data/make_musicnn_tf1_reference.py \
        [--wheel data/cache/weights/musicnn-0.1.0-py3-none-any.whl]

What is stored:

* ``input``: the (3, 187, 96) log-mel patches fed to both networks, made by the port's
  own front end from :func:`reference_signal` (a synthetic piano + drums + bass mix; the
  test also checks that the front end still makes them);
* ``<checkpoint>/<output>``: every output the wheel's ``define_model`` returns
  (musicnn: logits, timbral, temporal, cnn1-3, mean_pool, max_pool, penultimate;
  vgg: logits, pool1-5), squeezed to the port's shapes. Maps larger than
  ``MAX_ELEMENTS`` values are kept on a regular grid (every ``k``-th frame, and every
  ``k``-th frequency bin for 4-d maps), the steps stored as ``__step__/<key>``; the
  small outputs (logits, pools, penultimate) are stored whole;
* ``__meta__``: versions of TensorFlow, tf-keras and numpy, the wheel's sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "musicnn_tf1_reference.npz"
MAX_ELEMENTS = 16384
CHECKPOINTS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
OUTPUT_NAMES = {
    "musicnn": ["logits", "timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool",
                "penultimate"],
    "vgg": ["logits", "pool1", "pool2", "pool3", "pool4", "pool5"],
}


def reference_signal(sr: int = 16000) -> np.ndarray:
    """9.5 s of a decaying C4 tone every 1.5 s, noise bursts every 0.25 s and a 55 Hz pulse."""
    t = np.arange(int(sr * 9.5)) / sr
    y = 0.4 * np.sin(2 * np.pi * 261.63 * t) * np.exp(-(t % 1.5) * 2.5)
    y += 0.3 * np.random.default_rng(0).standard_normal(len(t)) * np.exp(-(t % 0.25) / 0.03)
    y += 0.6 * np.sin(2 * np.pi * 55 * t) * (t % 0.5 < 0.1)
    return (1.5 * y).astype(np.float32)


def reference_input() -> np.ndarray:
    """The port's front end on :func:`reference_signal`: (3, 187, 96) float32 patches."""
    sys.path.insert(0, str(REPO))
    from mer_utils.models import musicnn as port

    return port.patches(port.log_mel(reference_signal()))


def thinning_steps(shape: tuple[int, ...], limit: int = MAX_ELEMENTS) -> tuple[int, ...]:
    """Steps per axis that keep at most ``limit`` values: axis 1 (time) and, for 4-d maps,
    axis 2 (frequency) are thinned, the larger remaining one first; batch and channels never."""
    steps = [1] * len(shape)
    axes = [1, 2] if len(shape) == 4 else [1] if len(shape) == 3 else []

    def kept():
        return int(np.prod([-(-n // s) for n, s in zip(shape, steps)]))

    while axes and kept() > limit:
        ax = max(axes, key=lambda a: -(-shape[a] // steps[a]))
        if -(-shape[ax] // steps[ax]) == 1:
            break
        steps[ax] *= 2
    return tuple(steps)


def thin(a: np.ndarray, steps) -> np.ndarray:
    return a[tuple(slice(None, None, int(s)) for s in steps)]


def _run_tf1_graph(wheel: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")   # tf.compat.v1.layers need tf_keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf

    res = {}
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        src = zf.read("musicnn/models.py").decode()
        zf.extractall(tmp, [n for n in zf.namelist() if "/MTT_" in n or "/MSD_" in n])
        # the wheel's own model code, read as text; only its config import is replaced
        src = src.replace("from musicnn import configuration as config", "")
        mod = types.ModuleType("musicnn_models_reference")
        mod.config = types.SimpleNamespace(N_MELS=96)
        exec(compile(src, "musicnn/models.py", "exec"), mod.__dict__)
        for ck in CHECKPOINTS:
            g = tf.Graph()
            with g.as_default():
                xp = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
                is_training = tf.compat.v1.placeholder(tf.bool)
                outs = mod.define_model(xp, is_training, ck, 50)
                with tf.compat.v1.Session(graph=g) as sess:
                    tf.compat.v1.train.Saver().restore(sess, os.path.join(tmp, "musicnn", ck) + "/")
                    vals = sess.run(outs, {xp: x, is_training: False})
            names = OUTPUT_NAMES["musicnn" if "musicnn" in ck else "vgg"]
            assert len(vals) == len(names), (ck, len(vals))
            for n, v in zip(names, vals):
                res[f"{ck}/{n}"] = np.asarray(v, dtype=np.float32)
    return res


def squeeze_nonbatch(a: np.ndarray) -> np.ndarray:
    """Drop the length-1 axes except the batch axis: TF1 keeps some the port does not
    (the mid end's (n, t, 1, c) maps); the test applies the same to the port's outputs."""
    a = np.asarray(a)
    return a.reshape((a.shape[0],) + tuple(n for n in a.shape[1:] if n != 1))


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path,
                    default=REPO / "data" / "cache" / "weights" / "musicnn-0.1.0-py3-none-any.whl")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    import importlib.metadata as md

    x = reference_input()
    assert x.shape == (3, 187, 96), x.shape
    ref = _run_tf1_graph(a.wheel, x)
    arrays: dict[str, np.ndarray] = {"input": x}
    for key, v in ref.items():
        v = squeeze_nonbatch(v)
        steps = thinning_steps(v.shape)
        arrays[key] = thin(v, steps)
        arrays[f"__step__/{key}"] = np.asarray(steps, dtype=np.int64)
        arrays[f"__shape__/{key}"] = np.asarray(v.shape, dtype=np.int64)
    meta = {"tensorflow": md.version("tensorflow"), "tf_keras": md.version("tf_keras"),
            "numpy": np.__version__, "librosa": md.version("librosa"),
            "wheel": a.wheel.name, "wheel_sha256": hashlib.sha256(a.wheel.read_bytes()).hexdigest(),
            "max_elements": MAX_ELEMENTS}
    arrays["__meta__"] = np.asarray(json.dumps(meta, sort_keys=True))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **arrays)
    print(f"wrote {a.out} ({a.out.stat().st_size / 1e6:.2f} MB): "
          + ", ".join(f"{k} {arrays[k].shape}" for k in arrays if not k.startswith("__")))
    return a.out


if __name__ == "__main__":
    main()
