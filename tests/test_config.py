import json

import numpy as np
import pytest

from mer_utils import config as C
from mer_utils import run as R


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

    code = ("import sys; from mer_utils.run import setup_run; "
            "setup_run('99_test', profile='smoke'); print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
