"""The run context (setup_run): a parameter the notebook does not have, or a nonsensical
one, stops the notebook before anything runs, with a message that names it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mer_utils.context import setup_run, unknown_parameters

ROOT = Path(__file__).resolve().parents[1]


def test_unknown_parameters_are_found():
    cell = 'profile = "demo"   # smoke | demo\nepochs = None\nseeds: list | None = None\n'
    assert unknown_parameters(cell, '# Parameters\nprofile = "smoke"\nepochz = 3\n') == ["epochz"]
    assert unknown_parameters(cell, '# Parameters\nprofile = "smoke"\nepochs = 2\nseeds = [1]\n') == []


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="'seed'"):
        setup_run("x", profile="smoke", seed=-1)
    with pytest.raises(ValueError, match="'seed'"):
        setup_run("x", profile="smoke", seed="0")


@pytest.mark.notebook
@pytest.mark.parametrize("params, named", [
    (["-p", "epochs", "-1"], "epochs"),
    (["-p", "epochs", "abc"], "epochs"),
    (["-p", "epochz", "3"], "epochz"),
])
def test_papermill_with_a_bad_parameter_fails_naming_it(tmp_path, params, named):
    """``papermill 40_velankar_crnn.ipynb out.ipynb -p profile smoke -p epochs -1`` used to
    exit 0, train nothing and overwrite the fold scores; now the notebook stops at its
    configuration cell with an error naming the parameter, before anything is written."""
    out = tmp_path / "out.ipynb"
    cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "40_velankar_crnn.ipynb"), str(out),
           "-p", "profile", "smoke", *params, "--cwd", str(ROOT / "notebooks")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    text = r.stdout + r.stderr + (out.read_text() if out.exists() else "")
    assert named in text and ("below its minimum" in text or "expected int" in text or "unknown parameter" in text)
