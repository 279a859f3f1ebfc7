"""The cost model of ``full`` (mer_utils/cost.py): the arithmetic, the committed measurements
(every paper, every network measured), the printed projection, ``./run_all.sh --profile
full`` printing it before it starts, the runner writing it into the run folder; and the
GPU check (benchmarks/gpu_check.sh) run on the CPU with a tiny budget."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_utils import cost

REPO = Path(__file__).resolve().parents[1]
PAPERS = ("javadi", "cazzaniga", "sun", "velankar", "louro")


def _table(**over) -> pd.DataFrame:
    row = dict(paper="p", network="n", input_shape="8x8", parameters=10, n_train=100, epochs=10, batch_size=10,
               units=36, seconds_per_sample=0.01, gpu_seconds_per_sample=float("nan"), measured_batch=10,
               measured_steps=2, basis="b")
    row.update(over)
    return pd.DataFrame([row, dict(row, paper="q", units=4, gpu_seconds_per_sample=0.001)])


def test_projection_is_seconds_per_sample_times_rows_epochs_units():
    nets, papers = cost.projection(_table())
    assert nets.cpu_s_per_unit.tolist() == pytest.approx([10.0, 10.0])          # 0.01 s x 100 rows x 10 epochs
    p = papers.set_index("paper")
    assert p.loc["p", "cpu_hours"] == pytest.approx(0.1) and p.loc["q", "cpu_hours"] == pytest.approx(40 / 3600)
    assert p.loc["all", "cpu_hours"] == pytest.approx(0.1 + 40 / 3600) and p.loc["all", "units"] == 40
    assert np.isnan(p.loc["p", "gpu_hours"]) and p.loc["q", "gpu_hours"] == pytest.approx(4 / 3600)
    assert np.isnan(p.loc["all", "gpu_hours"]), "a total over papers not all measured on a GPU is not a total"
    text = cost.format_projection(_table())
    assert "not measured" in text and "CPU-hours" in text


def test_committed_measurements_cover_every_paper_and_network():
    df = cost.load_measured()
    assert set(df.paper) == set(PAPERS)
    measured = df.dropna(subset=["seconds_per_sample"])
    assert len(measured) >= len(df) - 1, df[df.seconds_per_sample.isna()][["paper", "network", "basis"]]
    assert (measured.seconds_per_sample > 0).all() and (df.units >= 1).all() and (df.n_train >= 1).all()
    from mer_utils.papers.louro.config import Config as Louro

    louro = df[df.paper == "louro"]
    cfg = Louro.for_profile("full")
    assert (louro.units == cfg.folds * cfg.repeats).all() and {"dl_baseline", "samplecnn"} <= set(louro.network)


def test_missing_or_broken_measurements_say_what_to_run(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="bench_cost.py"):
        cost.load_measured(tmp_path / "none.csv")
    (tmp_path / "bad.csv").write_text("paper,network\np,n\n")
    assert cost.main([str(tmp_path / "bad.csv")]) == 1
    assert "bench_cost.py" in capsys.readouterr().err


def test_run_all_full_prints_the_projection_before_it_starts(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text("#!/usr/bin/env bash\n"
                  f'if [ "$1" = "-m" ] && [ "$2" = "mer_utils.cost" ]; then exec {sys.executable} "$@"; fi\n'
                  'if [ "$1" = "-c" ]; then echo tensorflow; exit 0; fi\necho "RUNNER: $*"\n')
    py.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "MER_SCHEDULER")}
    env.update(MER_VENV=str(venv), PYTHONPATH=str(REPO))
    out = subprocess.run(["bash", str(REPO / "run_all.sh"), "--skip-setup", "--profile", "full"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Projected training cost of --profile full" in out.stdout
    assert out.stdout.index("CPU-hours") < out.stdout.index("RUNNER: -m mer_utils.notebook_runner --profile full")
    demo = subprocess.run(["bash", str(REPO / "run_all.sh"), "--skip-setup", "--profile", "demo"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert "Projected training cost" not in demo.stdout and "RUNNER:" in demo.stdout


def test_runner_writes_the_projection_into_the_run_folder(tmp_path):
    from mer_utils import notebook_runner as runner

    said = []
    path = runner._write_cost_projection(tmp_path, said.append)
    assert path == tmp_path / "cost_projection.txt" and "CPU-hours" in path.read_text()
    assert said and said[0].startswith("Projected training cost of full:")


def test_gpu_check_runs_on_the_cpu_with_a_tiny_budget(tmp_path):
    pytest.importorskip("torch", reason="the GPU check runs under Keras's torch backend: pip install -e .[torch]")
    env = dict(os.environ, MER_PYTHON=sys.executable, KERAS_BACKEND="torch")
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--budget-s", "1", "--only", "velankar",
                          "--steps", "1", "--batch-cap", "2", "--unit-rows", "8", "--unit-epochs", "1",
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["device"]["backend"] == "torch"
    nets = {r["network"]: r for r in res["networks"]}
    assert nets["CRNN"]["status"] == "ok" and nets["CRNN"]["seconds_per_epoch"] > 0
    assert nets["Parallel CNN-RNN"]["status"] == "not timed (budget spent)"      # the budget bounds the check
    assert res["unit"]["ok"] and res["unit"]["max_abs_difference"] <= res["unit"]["tolerance"]
    assert "seeded unit" in out.stdout and "-> OK" in out.stdout
