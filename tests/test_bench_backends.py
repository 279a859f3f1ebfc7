"""The cross-backend audit's comparison (benchmarks/bench_backends.py) on made-up runs: which
pairs it compares (two runs of one backend; each backend against TensorFlow, same mode),
and what it measures (largest |difference| of a probability, equal decisions, |ΔF1|).
The audit itself trains networks under three backends (minutes): run it by hand."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_backends as B  # noqa: E402


def _run(p: np.ndarray, y: np.ndarray) -> dict:
    out = {}
    for s in B.UNIT_SEEDS:
        out[f"louro/{s}/p"], out[f"louro/{s}/y"] = p, y
    return out


def test_audit_compares_repeats_and_backends_in_the_same_mode():
    y = np.array([0, 1, 2, 3, 0, 1])
    p = np.eye(4)[y] * 0.7 + 0.075
    flipped = p.copy()
    flipped[0] = p[1]                                  # one decision changes under torch
    runs = {("tensorflow", d, r): _run(p, y) for d in (False, True) for r in (0, 1)}
    runs.update({("torch", d, r): _run(flipped if r == 0 else p, y) for d in (False, True) for r in (0, 1)})
    df = B.compare(runs)
    assert set(df.comparison) == {"repeat", "vs tensorflow"}
    assert len(df) == 3 * 2 * len(B.UNIT_SEEDS)        # (tf repeat, torch repeat, torch vs tf) x modes x units
    rep_tf = df[(df.comparison == "repeat") & (df.backend == "tensorflow")]
    assert (rep_tf.max_abs_prob_diff == 0).all() and (rep_tf.abs_f1_diff == 0).all()
    vs = df[df.comparison == "vs tensorflow"]
    assert (vs.backend == "torch").all()
    assert vs.max_abs_prob_diff.tolist() == pytest.approx([0.7] * len(vs))
    assert vs.decisions_equal.tolist() == pytest.approx([5 / 6] * len(vs)) and (vs.abs_f1_diff > 0).all()
    rep_torch = df[(df.comparison == "repeat") & (df.backend == "torch")]
    assert (rep_torch.max_abs_prob_diff > 0).all()     # torch's two runs differ here: reported as such


def test_the_audit_feeds_each_network_demo_clips_in_its_shape():
    """Demo-corpus mels cut and averaged to each network's input; Velankar's 3 classes are the
    clips of Q1, Q3 and Q4 (happy, sad, calm)."""
    rng = np.random.default_rng(0)
    mels = rng.normal(size=(8, 157, 128)).astype(np.float32)
    q = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    for paper, (_, shape, k) in B.networks().items():
        x, y = B.paper_inputs(mels, q, shape, k)
        assert x.shape[1:] == tuple(shape), paper
        assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3
        if k == 3:
            assert len(y) == 6 and set(y) == {0, 1, 2}
        else:
            assert np.array_equal(y, q)
    x, _ = B.paper_inputs(mels, q, (96, 64), 4)          # bands averaged in pairs, first 96 frames
    ref = mels[:, :96].reshape(8, 96, 64, 2).mean(-1)
    np.testing.assert_allclose(x, (ref - ref.mean()) / (ref.std() + 1e-6), rtol=1e-4, atol=1e-4)
