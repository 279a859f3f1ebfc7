"""Backend and scheduler selection: run_all.sh -> runner -> kernel environment.

run_all.sh is exercised with a stand-in virtual environment whose ``bin/python`` only
reports what it was called with, so these tests run in a second and can fail on the
plumbing itself (the option parsing, the detection, the error for an unknown backend).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _fake_venv(tmp_path: Path, detect: str) -> Path:
    venv = tmp_path / f"venv-{detect or 'none'}"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    py = venv / "bin" / "python"
    py.write_text("#!/usr/bin/env bash\n"
                  f'if [ "$1" = "-c" ]; then echo "{detect}"; exit 0; fi\n'
                  'echo "ARGS: $*"\necho "KERAS_BACKEND=$KERAS_BACKEND"\necho "MER_SCHEDULER=${MER_SCHEDULER:-}"\n')
    py.chmod(0o755)
    return venv


def _run_all(tmp_path, *args, detect="torch", env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "MER_SCHEDULER")}
    env.update(MER_VENV=str(_fake_venv(tmp_path, detect)), **(env_extra or {}))
    return subprocess.run(["bash", str(REPO / "run_all.sh"), "--skip-setup", *args], capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_run_all_passes_the_backend_to_the_runner_and_the_environment(tmp_path, backend):
    out = _run_all(tmp_path, "--backend", backend, "--profile", "smoke", "--only", "01", detect="")
    assert out.returncode == 0, out.stderr
    assert f"--backend {backend}" in out.stdout
    assert f"KERAS_BACKEND={backend}" in out.stdout
    assert f"Keras backend: {backend} (--backend)" in out.stdout


def test_run_all_default_backend_is_what_is_installed(tmp_path):
    out = _run_all(tmp_path, "--profile", "smoke", detect="jax")
    assert out.returncode == 0, out.stderr
    assert "KERAS_BACKEND=jax" in out.stdout and "(detected in" in out.stdout
    # KERAS_BACKEND set by the caller wins over detection
    out = _run_all(tmp_path, "--profile", "smoke", detect="jax", env_extra={"KERAS_BACKEND": "torch"})
    assert "KERAS_BACKEND=torch" in out.stdout and "(KERAS_BACKEND)" in out.stdout
    # nothing installed: tensorflow (set-up installs it)
    out = _run_all(tmp_path, "--profile", "smoke", detect="")
    assert "KERAS_BACKEND=tensorflow" in out.stdout


def test_run_all_rejects_an_unknown_backend(tmp_path):
    out = _run_all(tmp_path, "--backend", "theano")
    assert out.returncode == 2
    assert "unknown Keras backend 'theano'" in out.stderr and "tensorflow, torch or jax" in out.stderr
    assert "ARGS:" not in out.stdout  # nothing ran
    out = _run_all(tmp_path, env_extra={"KERAS_BACKEND": "mxnet"})
    assert out.returncode == 2 and "'mxnet' (from KERAS_BACKEND)" in out.stderr


def test_run_all_scheduler_option(tmp_path):
    out = _run_all(tmp_path, "--backend", "torch", "--scheduler", "tcp://10.0.0.1:8786")
    assert out.returncode == 0, out.stderr
    assert "--scheduler tcp://10.0.0.1:8786" in out.stdout and "MER_SCHEDULER=tcp://10.0.0.1:8786" in out.stdout
    out = _run_all(tmp_path, "--backend", "torch", env_extra={"MER_SCHEDULER": "local"})
    assert "MER_SCHEDULER=local" in out.stdout


def test_runner_rejects_an_unknown_backend(monkeypatch):
    from mer_utils import notebook_runner as runner

    with pytest.raises(SystemExit, match="unknown Keras backend 'cntk'.*tensorflow, torch, jax"):
        runner.resolve_backend("cntk")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert runner.resolve_backend(None) == "jax"
    assert runner.resolve_backend("torch") == "torch"


_PROBE = {
    "cells": [
        {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
         "source": 'profile = "smoke"\ndata_root = ""\nout = ""\n'},
        {"cell_type": "code", "id": "probe", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import json, os\nfrom mer_utils.config import backend_info\n"
                   "json.dump({'env': os.environ.get('KERAS_BACKEND'), 'sched': os.environ.get('MER_SCHEDULER'),\n"
                   "           'info': backend_info()}, open(out, 'w'))\n"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.notebook
def test_runner_sets_the_backend_of_the_kernel_and_the_manifest_records_it(tmp_path, monkeypatch):
    """The kernel papermill starts gets KERAS_BACKEND / MER_SCHEDULER from the runner, and the
    manifest's backend entry (config.backend_info) reports them."""
    from mer_utils import notebook_runner as runner

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    (nbdir / "00_probe.ipynb").write_text(json.dumps(_PROBE))
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = tmp_path / "probe.json"
    rc = runner.run("smoke", directory=nbdir, out=tmp_path / "run", backend="torch", scheduler="local",
                    extra_params={"out": str(res)})
    assert rc == 0, (tmp_path / "run" / "log.txt").read_text()[-3000:]
    got = json.loads(res.read_text())
    assert got["env"] == "torch" and got["sched"] == "local"
    assert got["info"]["keras_backend"] == "torch"
    assert got["info"].get("feature_scheduler") == "local"
    assert os.environ["KERAS_BACKEND"] == "tensorflow"  # the caller's environment is restored
