import json
import os

import numpy as np
import pytest

from mer_utils import config as C
from mer_utils import context as R


def test_profiles_exist_and_scale():
    s, d, f = (C.get_profile(n) for n in ("smoke", "demo", "full"))
    assert s.epochs < d.epochs < f.epochs
    assert s.demo_clips_per_quadrant < d.demo_clips_per_quadrant
    assert f.image_size == 300 and f.repeats == 10
    with pytest.raises(ValueError, match="Unknown profile"):
        C.get_profile("fast")


def test_profile_replace_and_get():
    p = C.get_profile("smoke").replace(epochs=3, my_knob=7)
    assert p.epochs == 3 and p.get("my_knob") == 7 and p.get("absent", 1) == 1
    assert C.get_profile("smoke").epochs == 1  # profiles are immutable


def test_seed_everything_is_reproducible():
    import random

    C.seed_everything(3)
    a = (random.random(), np.random.rand())
    C.seed_everything(3)
    assert (random.random(), np.random.rand()) == a


def test_setup_run_writes_manifest(tmp_path, monkeypatch):
    ctx = R.setup_run("99_test", profile="smoke", seed=1, epochs=None, folds=3)
    assert ctx.p.folds == 3 and ctx.p.epochs == 1  # None override ignored
    ctx.manifest.substitute("VGGish embedding", "musicnn", "weights absent")
    ctx.manifest.add_source("demo", "tiny")
    path = ctx.write_manifest()
    m = json.loads(path.read_text())
    assert m["profile"]["name"] == "smoke" and m["seed"] == 1
    assert m["substitutions"][0]["used"] == "musicnn"
    assert "numpy" in m["packages"] and m["git_commit"]
    assert "keras_backend" in m["backend"]
    assert str(path).startswith(str(C.RESULTS_DIR))


def test_data_root_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        R.setup_run("99_test", profile="smoke", data_root=str(tmp_path / "nope"))
    ctx = R.setup_run("99_test", profile="smoke", data_root=str(tmp_path))
    assert ctx.data_root == tmp_path.resolve() and ctx.datasets() == {}


def test_outputs_are_separated_by_data_root(tmp_path):
    d = tmp_path / "4q-dev"
    d.mkdir()
    default = R.setup_run("99_test", profile="smoke")
    real = R.setup_run("99_test", profile="smoke", data_root=str(d))
    assert default.results_dir.name == "smoke" and real.results_dir.name.startswith("smoke-4q-dev-")
    assert real.figures_dir.name == real.results_dir.name


def test_two_data_roots_with_one_name_never_share_outputs(tmp_path):
    a, b = tmp_path / "a" / "4q-copy", tmp_path / "b" / "4q-copy"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    ra = R.setup_run("99_test", profile="smoke", data_root=str(a))
    rb = R.setup_run("99_test", profile="smoke", data_root=str(b))
    assert ra.results_dir != rb.results_dir and ra.figures_dir != rb.figures_dir
    # the same root gives the same folder on every run
    assert R.setup_run("99_test", profile="smoke", data_root=str(a)).results_dir == ra.results_dir


def test_seed_everything_does_not_import_keras():
    import subprocess
    import sys

    code = ("import sys; from mer_utils.context import setup_run; "
            "setup_run('99_test', profile='smoke'); print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- global RNGs
# Calls that reseed or draw from a global generator. The package draws from local generators
# (np.random.default_rng(seed)); only seed_everything reseeds the global ones.
_GLOBAL_RNG_CALLS = {"random.seed", "np.random.seed", "numpy.random.seed", "keras.utils.set_random_seed",
                     "tf.random.set_seed", "torch.manual_seed", "random.random", "random.shuffle",
                     "random.choice", "random.sample", "random.randint", "random.uniform"}
_NP_LEGACY = {"rand", "randn", "randint", "random", "random_sample", "choice", "shuffle", "permutation",
              "normal", "uniform", "standard_normal", "binomial", "poisson", "beta", "gamma"}
# (module, function) -> why a global reseed is allowed there
_ALLOWED_GLOBAL_RNG = {
    ("mer_utils/config.py", "seed_everything"): "the one function that reseeds global generators",
    ("mer_utils/papers/javadi/classifiers.py", "fit"): "scikit-multilearn's RAkEL-d draws from Python's "
                                               "global random: seeded for the fit, state restored",
    ("mer_utils/augment/library.py", "_seeded"): "audiomentations draws its parameters from Python's and "
                                               "NumPy's global generators: seeded per (clip, transform, "
                                               "seed) for one copy, both states restored",
}


def _dotted(node):
    import ast

    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def test_no_library_code_reseeds_or_draws_from_global_generators():
    import ast
    from pathlib import Path

    pkg = Path(C.__file__).resolve().parent
    found = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).as_posix()
        tree = ast.parse(path.read_text())
        funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        owner = {id(c): f.name for f in funcs for c in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func) or ""
            legacy = name.startswith(("np.random.", "numpy.random.")) and name.rsplit(".", 1)[1] in _NP_LEGACY
            if name in _GLOBAL_RNG_CALLS or legacy:
                where = (rel, owner.get(id(node), "<module>"))
                if where not in _ALLOWED_GLOBAL_RNG:
                    found.append(f"{rel}:{node.lineno} {name}() in {where[1]}")
    assert not found, "global RNG calls outside seed_everything (use np.random.default_rng(seed)):\n" + "\n".join(found)


def test_fitting_a_feature_model_leaves_the_global_generators_alone():
    import random

    from mer_utils.papers.javadi import classifiers as ml

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 6)), (rng.random((40, 4)) > 0.5).astype(np.int8)
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.rand())
    random.seed(123)
    np.random.seed(123)
    ml.FeatureMultiLabelModel("rakeld", seed=0).fit(X, Y)
    assert (random.random(), np.random.rand()) == expected


# --------------------------------------------------------------------------- determinism
def test_manifest_records_the_default_mode(monkeypatch):
    monkeypatch.delenv(C.DETERMINISTIC_ENV, raising=False)
    monkeypatch.setattr(C, "_deterministic_override", None)
    d = C.determinism_info()
    assert d["mode"] == "default" and d["requested_by"] == "MER_DETERMINISTIC=unset"
    assert d["backend"] and d["note"]
    m = R.setup_run("99_test", profile="smoke").manifest.to_dict()
    assert m["determinism"]["mode"] == "default" and "python_hash_seed" in m


_DETERMINISM_TF = r'''
import json, sys
from mer_utils.context import setup_run
ctx = setup_run("99_test", profile="smoke")
before = json.loads(json.dumps(ctx.manifest.to_dict()["determinism"]))
assert "keras" not in sys.modules and "tensorflow" not in sys.modules, "setup_run imported Keras/TF"
import os
import numpy as np
import keras
from tensorflow.python.framework.config import is_op_determinism_enabled
from mer_utils import config as C
from mer_utils.training import Recipe, Trainer

def build():
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8, activation="relu")(inp)))

def run():
    trainer = Trainer(build, Recipe(epochs=2, batch_size=8))
    X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    trainer.fit(X, y, validation=(X, y), seed=0)
    return [w.tolist() for w in trainer.model.get_weights()]

a, b = run(), run()
print(json.dumps({"before": before, "after": ctx.manifest.to_dict()["determinism"],
                  "tf": bool(is_op_determinism_enabled()), "same": a == b,
                  "xla": os.environ.get("XLA_FLAGS", ""), "cublas": os.environ.get("CUBLAS_WORKSPACE_CONFIG", "")}))
'''


def test_deterministic_mode_under_tensorflow():
    """A fresh process with MER_DETERMINISTIC=1: setup_run imports no Keras, records the mode
    as pending; the training helpers' seeding switches TF's op determinism on, and the
    manifest says so."""
    import os
    import subprocess
    import sys

    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "CUBLAS_WORKSPACE_CONFIG")}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               MER_DETERMINISTIC="1")
    out = subprocess.run([sys.executable, "-c", _DETERMINISM_TF], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["same"]                                   # two seeded runs give the same weights
    assert r["tf"] is True
    assert r["before"]["mode"] == "deterministic" and r["before"]["applied"][0].startswith("pending")
    assert r["after"]["mode"] == "deterministic" and r["after"]["backend"] == "tensorflow"
    assert r["after"]["applied"] == ["tf.config.experimental.enable_op_determinism()"]
    assert r["after"]["requested_by"] == "MER_DETERMINISTIC=1"
    # the GPU flags of the other backends are set before any backend starts
    assert "--xla_gpu_deterministic_ops=true" in r["xla"] and r["cublas"] == ":4096:8"


def test_default_mode_switches_nothing_on(monkeypatch):
    """Without MER_DETERMINISTIC, seeding with Keras loaded leaves the backend's kernels alone."""
    keras = pytest.importorskip("keras")
    monkeypatch.delenv(C.DETERMINISTIC_ENV, raising=False)
    monkeypatch.setattr(C, "_deterministic_override", None)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    C.seed_everything(0)
    d = C.determinism_info()
    assert d["mode"] == "default" and d["applied"] == [] and d["backend"] == keras.backend.backend()
    assert "XLA_FLAGS" not in os.environ
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework.config import is_op_determinism_enabled

        assert not is_op_determinism_enabled()
