"""The model and training tests again under a second Keras backend, so that "``keras.layers``
/ ``keras.ops`` only, never ``tf.*``" is checked, not assumed.

The GPU box runs the paper-scale profile under PyTorch (it has no TensorFlow), so the second
backend is torch, on CPU: ``./run_all.sh --tests`` installs it (the extra ``[torch]`` of
pyproject.toml). One ``pytest`` run covers both backends: the tests marked ``backend`` (see
``BACKEND_MODULES`` in conftest.py) run in this process under TensorFlow and, from the test
below, in a subprocess with ``KERAS_BACKEND=torch``; a failure there fails this test with the
subprocess's report. Run them by hand with::

    KERAS_BACKEND=torch python -m pytest -m backend tests/

The smoke runs of the notebooks that train networks (10, 20, 30, 40, 50) also run once more
here under the second backend (:func:`test_training_notebook_runs_under_the_second_backend`,
marked ``notebook`` and ``backend_notebook``; ``-m "not backend_notebook"`` leaves them out):
the kernel inherits ``KERAS_BACKEND`` and its manifest must record that backend. They add
about 4.5 min to the suite on 2 CPU cores.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import BACKEND_MODULES

TESTS = Path(__file__).resolve().parent
SECOND_BACKEND = "torch"
#: the numbered notebooks that train networks (their smoke runs repeat under SECOND_BACKEND)
TRAINING_NOTEBOOKS = ("10", "20", "30", "40", "50")


def backend_test_files() -> list[Path]:
    """Test modules with tests marked ``backend``: the listed modules, and any that marks one."""
    out = []
    for f in sorted(TESTS.glob("test_*.py")):
        if f.name == Path(__file__).name:
            continue
        if f.stem in BACKEND_MODULES or "mark.backend" in f.read_text():
            out.append(f)
    return out


def test_the_listed_modules_exist():
    missing = [m for m in BACKEND_MODULES if not (TESTS / f"{m}.py").exists()]
    assert not missing, f"conftest.BACKEND_MODULES names missing test modules: {missing}"


def test_model_tests_pass_under_the_second_backend(tmp_path):
    if importlib.util.find_spec(SECOND_BACKEND) is None:
        pytest.skip(f"{SECOND_BACKEND} is not installed: pip install -e .[{SECOND_BACKEND}] "
                    f"(./run_all.sh --tests installs it)")
    report = tmp_path / "report.xml"
    env = dict(os.environ, KERAS_BACKEND=SECOND_BACKEND, MER_EXPECT_KERAS_BACKEND=SECOND_BACKEND,
               CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "backend and not notebook",
           f"--basetemp={tmp_path / 'tmp'}", f"--junitxml={report}", "-o", "junit_family=xunit1",
           # Keras's torch backend calls np.asarray(tensor, copy=False): numpy 2 warns on every call
           "-W", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
           *map(str, backend_test_files())]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=TESTS.parent, timeout=1500)
    seconds = time.perf_counter() - t0
    tail = (out.stdout + out.stderr)[-6000:]
    assert report.exists(), f"no report from the {SECOND_BACKEND} run (exit {out.returncode}):\n{tail}"
    cases = ET.parse(report).getroot().iter("testcase")
    failed, skipped, passed = [], [], []
    for c in cases:
        name = f"{c.get('classname')}::{c.get('name')}"
        if c.find("failure") is not None or c.find("error") is not None:
            failed.append(name)
        elif c.find("skipped") is not None:
            skipped.append(name)
        else:
            passed.append(name)
    assert out.returncode == 0 and not failed, (
        f"under KERAS_BACKEND={SECOND_BACKEND}: {len(failed)} failed: {failed}\n{tail}")
    assert passed, f"no model test ran under {SECOND_BACKEND} (skipped: {skipped})\n{tail}"
    print(f"{len(passed)} model tests passed under KERAS_BACKEND={SECOND_BACKEND} "
          f"({len(skipped)} skipped) in {seconds:.0f} s")


_DETERMINISM = r'''
import json
import numpy as np
from mer_utils.context import setup_run
ctx = setup_run("99_test", profile="smoke")
import keras, torch
from mer_utils import config as C
from mer_utils.training import Recipe, Trainer

def build():
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8, activation="relu")(inp)))

def run():
    trainer = Trainer(build, Recipe(epochs=2, batch_size=8))
    X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    trainer.fit(X, (X[:, 0] > 0).astype(int), validation=(X, (X[:, 0] > 0).astype(int)), seed=0)
    return [w.tolist() for w in trainer.model.get_weights()]

same = run() == run()
print(json.dumps({"det": ctx.manifest.to_dict()["determinism"], "same": same,
                  "torch": torch.are_deterministic_algorithms_enabled(),
                  "cudnn": [torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark]}))
'''


def test_deterministic_mode_under_the_second_backend():
    """MER_DETERMINISTIC=1 under torch: deterministic algorithms on, recorded in the manifest."""
    import json

    if importlib.util.find_spec(SECOND_BACKEND) is None:
        pytest.skip(f"{SECOND_BACKEND} is not installed: pip install -e .[{SECOND_BACKEND}]")
    env = dict(os.environ, KERAS_BACKEND=SECOND_BACKEND, MER_DETERMINISTIC="1", CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", _DETERMINISM], capture_output=True, text=True, env=env,
                         cwd=TESTS.parent, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["same"] and r["torch"] is True and r["cudnn"] == [True, False]
    d = r["det"]
    assert d["mode"] == "deterministic" and d["backend"] == "torch"
    assert "torch.use_deterministic_algorithms(True)" in d["applied"]
    assert "CUBLAS_WORKSPACE_CONFIG=:4096:8" in d["applied"]


def _training_notebooks():
    nbs = sorted((TESTS.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [nb for nb in nbs if nb.stem[:2] in TRAINING_NOTEBOOKS]


def test_the_training_notebooks_exist():
    assert [nb.stem[:2] for nb in _training_notebooks()] == list(TRAINING_NOTEBOOKS)


@pytest.mark.notebook
@pytest.mark.backend_notebook
@pytest.mark.parametrize("nb", _training_notebooks(), ids=lambda p: p.stem)
def test_training_notebook_runs_under_the_second_backend(nb, out_dir, monkeypatch):
    """The notebook's smoke run under KERAS_BACKEND=torch on CPU: it runs, its tables are
    finite, and its manifest records the backend it really ran on."""
    import json

    from mer_utils.context import output_label
    from test_notebooks import _run, assert_tables_ok

    if importlib.util.find_spec(SECOND_BACKEND) is None:
        pytest.skip(f"{SECOND_BACKEND} is not installed: pip install -e .[{SECOND_BACKEND}]")
    monkeypatch.setenv("KERAS_BACKEND", SECOND_BACKEND)   # the kernel inherits it
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    # outputs of their own: the TensorFlow smoke runs' stored predictions would otherwise be
    # reused (run_protocol resumes complete units) and nothing would train under torch
    fresh = out_dir / f"results-{SECOND_BACKEND}"
    monkeypatch.setenv("MER_RESULTS", str(fresh / "results"))
    monkeypatch.setenv("MER_FIGURES", str(fresh / "figures"))
    since = time.time() - 1.0
    t0 = time.perf_counter()
    _run(nb, out_dir / SECOND_BACKEND, profile="smoke", data_root="")
    seconds = time.perf_counter() - t0
    results = fresh / "results" / output_label("smoke", None)
    assert_tables_ok(results, since, nb.stem)
    manifests = [m for m in (results / "manifests").glob("*/manifest.json") if m.stat().st_mtime >= since]
    assert manifests, f"{nb.stem} wrote no manifest"
    for m in manifests:
        backend = json.loads(m.read_text())["backend"]
        assert backend["keras_backend"] == SECOND_BACKEND, (m, backend)
        assert str(backend["device"]).startswith("CPU"), (m, backend)
    print(f"{nb.stem} under KERAS_BACKEND={SECOND_BACKEND}: {seconds:.0f} s")


_JAX_RUN = r"""
import json
import numpy as np
from mer_utils.context import setup_run
ctx = setup_run("99_test", profile="smoke")        # sets up JAX's compilation cache before JAX starts
import keras
from jax import monitoring
events = []
monitoring.register_event_listener(lambda name, **kw: events.append(name))
from mer_utils import config as C
from mer_utils.training import Recipe, Trainer

def build():
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8, activation="relu")(inp)))

trainer = Trainer(build, Recipe(epochs=2, batch_size=8, execution="eager"))
X = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
y = (X[:, 0] > 0).astype(int)
trainer.fit(X, y, validation=(X[:6], y[:6]), seed=0)
m = trainer.model
print(json.dumps({"jit": m.jit_compile, "eager": m.run_eagerly,
                  "hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses"),
                  "backend": ctx.manifest.to_dict()["backend"],
                  "weights": [w.tolist() for w in m.get_weights()]}))
"""


def test_jax_compiles_the_step_and_reuses_it_across_processes(tmp_path):
    """Under JAX the smoke runs' "eager" mode compiles the training step (JAX's eager mode
    compiles every primitive: notebooks 20 and 50 did not finish), and the compiled programs
    are kept in <MER_CACHE>/jax-compilation: a second process loads them (cache hits, no
    miss) and trains to the same weights. JAX is not in the test extras: skipped there."""
    import json

    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed: pip install -e .[jax]")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", MER_CACHE=str(tmp_path / "cache"),
               MER_RESULTS=str(tmp_path / "results"), MER_FIGURES=str(tmp_path / "figures"))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _JAX_RUN], capture_output=True, text=True, env=env,
                             cwd=TESTS.parent, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["jit"] is True and first["eager"] is False
    assert first["backend"]["keras_backend"] == "jax"
    cache = tmp_path / "cache" / "jax-compilation"
    assert first["backend"]["compilation_cache"] == str(cache)
    assert first["misses"] > 0 and any(cache.iterdir())
    assert second["hits"] >= first["misses"] and second["misses"] == 0
    assert second["weights"] == first["weights"]
