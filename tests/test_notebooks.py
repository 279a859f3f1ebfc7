"""Every numbered notebook: committed clean, and executed headless under the smoke profile."""
import json
from pathlib import Path

import pytest

from conftest import SHARED_DATA, require

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no numbered notebooks found"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_with_one_parameters_cell(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "commit without outputs"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    src = "".join(tagged[0]["source"])
    for name in ("profile", "data_root", "seed"):
        assert f"{name} =" in src, f"parameters cell lacks {name}"
    # papermill must parse every parameter (``papermill --help-notebook``; no "unknown parameter")
    from papermill.translators import PythonTranslator
    import nbformat
    parsed = [p.name for p in PythonTranslator.inspect(nbformat.from_dict({"source": src}))]
    assigned = [l.split("=")[0].strip() for l in src.splitlines() if "=" in l.split("#")[0]]
    assert parsed == assigned


def _run(nb: Path, out_dir: Path, **params):
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{nb.stem}.{params.get('profile', 'smoke')}.ipynb"
    pm.execute_notebook(str(nb), str(out), parameters=params, kernel_name="python3",
                        cwd=str(NB_DIR), progress_bar=False)
    return out


@pytest.mark.notebook
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_smoke(nb, out_dir):
    _run(nb, out_dir, profile="smoke", data_root="")


@pytest.mark.notebook
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["00_data", "01_features", "40_velankar_crnn"])
def test_notebook_runs_on_real_data(name, out_dir):
    """Notebooks on the shared real data (4Q clips + MTG-Jamendo metadata), smoke-sized."""
    root = require(SHARED_DATA)
    nb = NB_DIR / f"{name}.ipynb"
    _run(nb, out_dir / "real", profile="smoke", data_root=str(root))
    from mer_utils.config import RESULTS_DIR
    from mer_utils.run import output_label
    manifest = RESULTS_DIR / output_label("smoke", root) / "manifests" / name / "manifest.json"
    sources = json.loads(manifest.read_text())["data_sources"]
    assert any("4q-dev" in v for v in sources.values()), sources  # real 4Q was used, not the demo
