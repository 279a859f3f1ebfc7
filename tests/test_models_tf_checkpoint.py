"""The numpy reader of TF checkpoints (mer_utils.models.tf_checkpoint): the backend-neutral
path by which a machine without TensorFlow (the GPU box: torch / JAX only) converts the
musicnn checkpoints to the npz every Keras backend loads."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mer_utils.models import musicnn, tf_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _wheel() -> Path:
    for d in (musicnn._default_weights_dir(), REPO / "data" / "cache" / "weights"):
        w = Path(d) / musicnn.WHEEL_NAME
        if w.exists():
            return w
    pytest.skip("the musicnn wheel is not in the weights folder (./run_all.sh --setup-only fetches it)")


def _tf_reader(prefix):
    tf = pytest.importorskip("tensorflow")
    r = tf.compat.v1.train.NewCheckpointReader(str(prefix))
    return {n: np.asarray(r.get_tensor(n)) for n in r.get_variable_to_shape_map()}


def test_reader_equals_tensorflow_on_a_checkpoint_of_many_dtypes(tmp_path):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    values = {"a/float": rng.normal(size=(3, 4, 5)).astype(np.float32),
              "b/double": rng.normal(size=(7,)),
              "c/int64": np.arange(-5, 6, dtype=np.int64).reshape(11, 1),
              "d/int32": np.int32(42), "e/half": rng.normal(size=(2, 3)).astype(np.float16),
              "f/bool": np.array([True, False, True]), "g/empty": np.zeros((0, 3), np.float32),
              "h/uint8": np.arange(256, dtype=np.uint8)}
    prefix = str(tmp_path / "ck")
    # many small variables spread over several SSTable blocks exercise the index block too
    many = {f"z/v{i:04d}": np.full((i % 5 + 1,), i, np.float32) for i in range(600)}
    with tf.Graph().as_default():
        vs = [tf.compat.v1.Variable(v, name=k) for k, v in {**values, **many}.items()]
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver(vs).save(s, prefix, write_meta_graph=False)
    ours, theirs = tf_checkpoint.read_checkpoint(prefix), _tf_reader(prefix)
    assert sorted(ours) == sorted(theirs) and len(ours) == len(values) + len(many)
    for k in theirs:
        assert ours[k].dtype == theirs[k].dtype and ours[k].shape == theirs[k].shape, k
        np.testing.assert_array_equal(ours[k], theirs[k], err_msg=k)
    assert tf_checkpoint.list_variables(prefix)["a/float"] == (3, 4, 5)


def test_reader_equals_tensorflow_on_the_musicnn_checkpoints(tmp_path):
    wheel = _wheel()
    for ck in musicnn.CHECKPOINTS:
        prefix = musicnn._extract_checkpoint(wheel, ck, tmp_path)
        ours, theirs = tf_checkpoint.read_checkpoint(prefix), _tf_reader(prefix)
        assert sorted(ours) == sorted(theirs), ck
        for k in theirs:
            assert ours[k].dtype == theirs[k].dtype, (ck, k)
            np.testing.assert_array_equal(ours[k], theirs[k], err_msg=f"{ck} {k}")


def test_not_a_v2_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(tf_checkpoint.CheckpointFormatError, match="not found"):
        tf_checkpoint.read_checkpoint(tmp_path / "nothing")
    (tmp_path / "bad.index").write_bytes(b"\0" * 100)
    with pytest.raises(tf_checkpoint.CheckpointFormatError, match="magic"):
        tf_checkpoint.read_checkpoint(tmp_path / "bad")


_NO_TF = r'''
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("tensorflow is blocked in this test (a GPU box without it)")
sys.meta_path.insert(0, Block())
from mer_utils.models import musicnn
musicnn.convert_checkpoint(sys.argv[1], "MSD_musicnn", sys.argv[2])
assert "tensorflow" not in sys.modules
print("converted without tensorflow")
'''


def test_conversion_runs_without_tensorflow_and_gives_the_same_npz(tmp_path):
    wheel = _wheel()
    out = tmp_path / "MSD_musicnn.npz"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _NO_TF, str(wheel), str(out)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    prefix = musicnn._extract_checkpoint(wheel, "MSD_musicnn", tmp_path / "x")
    ref = {k: v for k, v in _tf_reader(prefix).items()
           if not (k.endswith(musicnn._OPTIMIZER_SUFFIXES) or k in musicnn._OPTIMIZER_NAMES)}
    with np.load(out) as z:
        got = {k: z[k] for k in z.files if k != "__port_version__"}
    assert sorted(got) == sorted(ref)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
