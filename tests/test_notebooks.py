"""Every numbered notebook: committed clean, and executed headless under the smoke profile;
the tables a run writes exist and hold finite numbers.

A smoke run passes only if the notebook ran *and* every table it wrote
(``results/<label>/*.csv`` modified by that run) has rows, and every numeric cell is
finite -- except in the few columns listed in :data:`OPTIONAL_NAN`, where an empty cell
means something documented (the paper reports nothing there, say) -- *and*, for the paper
notebooks whose networks can learn at smoke size (:data:`PAPER_NOTEBOOKS`), at least one of
its networks beats chance on the demo corpus (its ``<paper>_learning`` table,
:mod:`mer_utils.evaluation.learning`; the others, :data:`NOT_AT_SMOKE_SIZE`, say why not). The same check fails when
every fit is broken on purpose (``MER_SABOTAGE=shuffle-labels``).
"""
import fnmatch
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA, require

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))

# (table name pattern, column) -> why NaN is legitimate there. Keep it explicit and short.
OPTIONAL_NAN = {
    ("*", "paper"): "compare_with_paper: the paper reports no value for this cell",
    ("*", "delta"): "compare_with_paper: reproduced - paper, NaN when either is",
    ("*", "reproduced_std"): "compare_with_paper: a paper cell we did not reproduce has no std",
    ("*", "reproduced"): "compare_with_paper: a paper cell this profile does not run (folds 3-5 "
                         "under smoke, a data set absent) shows the paper's value alone -- at "
                         "least one reproduced value must be finite (checked below)",
    ("sun_table1", "our *"): "Table 1: a data set that is not present has no segment counts of ours",
    ("sun_noise_experiment", "* (last epoch)"): "the inherit-label baseline makes no clean/noisy split",
    ("louro_paired*", "t"): "the corrected t-test is undefined with one unit or constant differences "
                            "(the table's note column says so)",
    ("louro_paired*", "p"): "as t",
    ("louro_seconds_per_split", "epochs trained (mean)"): "classical rows (SVM) train no epochs",
    ("louro_seconds_per_split", "stopped at 90 % train acc."): "classical rows (SVM) train no epochs",
    ("*", "std"): "evaluation.report_over_folds: support is summed over folds, it has no std",
    ("01_feature_summary", "seconds"): "notebook 01 does not time the spectrogram row",
    ("javadi_per_label*", "roc_auc"): "a tag with one class in the test split has no AUC (counted as skipped)",
    ("javadi_per_label*", "pr_auc"): "a tag with no positive in the test split has no average precision",
    ("leaderboard*", "train s per split"): "notebook 50's stored units record total seconds only",
    ("leaderboard*", "predict s per split"): "as train s per split",
    ("leaderboard*", "parameters"): "a classical learner (SVM, RF) has no parameter count",
    ("leaderboard_unit_scores", "train_seconds"): "as train s per split",
    ("leaderboard_unit_scores", "predict_seconds"): "as train s per split",
    ("leaderboard_paired*", "t"): "the corrected t-test is undefined with fewer than 2 shared units "
                                  "or constant differences",
    ("leaderboard_paired*", "p"): "as t",
    ("*_learning", "mean"): "a network not trained under this profile ('full profile only') has no score",
    ("*_learning", "bar"): "as mean",
    ("*_learning", "p vs chance"): "as mean",
    ("*_learning", "single-class units"): "as mean",
    ("*_learning", "SVM mean"): "as mean (Sun: the song-level SVM's score beside the network's own)",
}
#: paper notebooks whose smoke run must show a network that beats chance (pooled test
#: predictions against the majority class, p < 0.01)
PAPER_NOTEBOOKS = ("40_", "50_")
#: paper notebooks whose networks cannot beat chance at smoke size (a few clips, a few CPU
#: seconds), and why; each saves its learning table under smoke (checked) and shows under
#: demo, on 240 clips, which of its networks learned
NOT_AT_SMOKE_SIZE = {
    "10_": "59 tags on 13 test clips: the CNN reaches macro ROC-AUC 0.53 (p = 0.03) even with 12 epochs",
    "20_": "EfficientNet from random initialisation on 64 clips of 32-64 px images: F1 0.08-0.25",
    "30_": "16 test songs: 13 of 16 right is needed for p < 0.01; the best smoke recipe gave p = 0.011",
}
# tables that hold text only (no number to check); fnmatch patterns
TEXT_TABLES = ("*_fidelity",)


def optional_nan_columns(table: str) -> set[str]:
    return {col for (pattern, col) in OPTIONAL_NAN if fnmatch.fnmatch(table, pattern)}


def is_optional(table: str, column: str) -> bool:
    return any(fnmatch.fnmatch(column, c) for c in optional_nan_columns(table))


def table_problems(path: Path) -> list[str]:
    """What is wrong with one written table (empty list: nothing)."""
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a problem to report
        return [f"unreadable ({type(exc).__name__}: {exc})"]
    name = path.stem
    if df.empty or not len(df.columns):
        return ["no rows"]
    problems = []
    numeric = df.select_dtypes(include="number")
    if numeric.empty and not any(fnmatch.fnmatch(name, t) for t in TEXT_TABLES):
        problems.append("no numeric column (list it in TEXT_TABLES if it is meant to hold text)")
    if "reproduced" in numeric.columns and not np.isfinite(numeric["reproduced"].to_numpy(dtype=float)).any():
        problems.append("a comparison table with no reproduced value at all")
    for col in numeric.columns:
        values = numeric[col].to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if is_optional(name, col):
            bad = np.isinf(values)
        if bad.any():
            problems.append(f"column {col!r}: {int(bad.sum())} non-finite value(s) "
                            f"(rows {np.flatnonzero(bad)[:5].tolist()})")
    return problems


def tables_written(results_dir: Path, since: float) -> list[Path]:
    """The tables (CSV) under ``results_dir`` modified at or after ``since``."""
    return sorted(p for p in Path(results_dir).glob("*.csv") if p.stat().st_mtime >= since)


def assert_tables_ok(results_dir: Path, since: float, notebook: str) -> list[Path]:
    written = tables_written(results_dir, since)
    assert written, f"{notebook} wrote no table under {results_dir}"
    bad = {p.name: table_problems(p) for p in written}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"{notebook}: tables with problems: {bad}"
    return written


def test_there_are_notebooks():
    assert NOTEBOOKS, "no numbered notebooks found"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_with_one_parameters_cell(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "commit without outputs"
    ids = [c.get("id") for c in cells]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique id (nbformat 4.5)"
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


def _results_dir(profile: str, root: Path | None) -> Path:
    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label

    return RESULTS_DIR / output_label(profile, root)


@pytest.mark.notebook
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_smoke(nb, out_dir):
    since = time.time() - 1.0      # file times may lag the clock by a tick
    _run(nb, out_dir, profile="smoke", data_root="")
    written = assert_tables_ok(_results_dir("smoke", None), since, nb.stem)
    if nb.stem.startswith(PAPER_NOTEBOOKS):
        assert_a_network_learned(written, nb.stem)
    elif nb.stem.startswith(tuple(NOT_AT_SMOKE_SIZE)):
        assert learning_tables(written), f"{nb.stem} saved no <paper>_learning table"


def learning_tables(written: list[Path]) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in written if p.stem.endswith("_learning")}


def assert_a_network_learned(written: list[Path], notebook: str) -> None:
    """At least one network of the notebook beats chance (pooled test against the majority
    class, mer_utils.evaluation.learning.beats_chance) in its saved learning table."""
    tables = learning_tables(written)
    assert tables, f"{notebook} saved no <paper>_learning table"
    rows = pd.concat(tables.values(), ignore_index=True)
    assert rows["beats chance"].astype(bool).any(), (
        f"{notebook}: no network beats chance under smoke:\n{rows.to_string()}")


@pytest.mark.notebook
def test_the_learning_check_fails_when_every_fit_is_broken(out_dir, tmp_path, monkeypatch):
    """The same smoke run with the training labels permuted in every fit
    (MER_SABOTAGE=shuffle-labels, read by the training engine): no network beats chance, so
    the check above would fail. Its own results folder: the sabotaged units must not be
    stored where a real run would reuse them."""
    nb = next(p for p in NOTEBOOKS if p.stem.startswith("40_"))
    monkeypatch.setenv("MER_SABOTAGE", "shuffle-labels")
    monkeypatch.setenv("MER_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MER_FIGURES", str(tmp_path / "figures"))
    since = time.time() - 1.0
    _run(nb, out_dir / "sabotage", profile="smoke", data_root="")
    written = tables_written(tmp_path / "results" / "smoke", since)
    tables = learning_tables(written)
    assert tables, f"no learning table written: {[p.name for p in written]}"
    rows = pd.concat(tables.values(), ignore_index=True)
    assert not rows["beats chance"].astype(bool).any(), rows.to_string()
    with pytest.raises(AssertionError, match="no network beats chance"):
        assert_a_network_learned(written, nb.stem)


@pytest.mark.notebook
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["00_data", "01_features", "40_velankar_crnn"])
def test_notebook_runs_on_real_data(name, out_dir):
    """Notebooks on the shared real data (4Q clips + MTG-Jamendo metadata), smoke-sized."""
    root = require(SHARED_DATA)
    nb = NB_DIR / f"{name}.ipynb"
    since = time.time() - 1.0
    _run(nb, out_dir / "real", profile="smoke", data_root=str(root))
    results = _results_dir("smoke", root)
    manifest = results / "manifests" / name / "manifest.json"
    sources = json.loads(manifest.read_text())["data_sources"]
    assert any("4q-dev" in v for v in sources.values()), sources  # real 4Q was used, not the demo
    assert_tables_ok(results, since, name)


# --------------------------------------------------------------------------- the table check itself
def test_table_check_accepts_finite_tables_and_documented_gaps(tmp_path):
    pd.DataFrame({"row": ["CRNN", "GRU"], "metric": ["accuracy"] * 2, "paper": [0.54, np.nan],
                  "reproduced": [0.6, 0.5], "delta": [0.06, np.nan]}).to_csv(tmp_path / "t_vs_paper.csv", index=False)
    assert table_problems(tmp_path / "t_vs_paper.csv") == []


@pytest.mark.parametrize("frame, problem", [
    (pd.DataFrame({"model": ["a"], "accuracy": [np.nan]}), "'accuracy': 1 non-finite"),
    (pd.DataFrame({"model": ["a", "b"], "reproduced": [0.5, np.inf]}), "'reproduced': 1 non-finite"),
    (pd.DataFrame({"model": ["a"], "paper": [np.inf]}), "'paper': 1 non-finite"),   # NaN yes, inf never
    (pd.DataFrame({"model": [], "accuracy": []}), "no rows"),
    (pd.DataFrame({"model": ["a"], "accuracy": ["0.5 ± 0.1"]}), "no numeric column"),
])
def test_table_check_flags_bad_tables(tmp_path, frame, problem):
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert any(problem in p for p in table_problems(tmp_path / "t.csv")), table_problems(tmp_path / "t.csv")


def test_tables_written_sees_only_this_runs_tables(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("a\n1\n")
    since = time.time() + 5
    new = tmp_path / "new.csv"
    new.write_text("a\nnan\n")
    import os
    os.utime(new, (since + 1, since + 1))
    assert tables_written(tmp_path, since) == [new]
    with pytest.raises(AssertionError, match="new.csv"):
        assert_tables_ok(tmp_path, since, "nb")
    with pytest.raises(AssertionError, match="wrote no table"):
        assert_tables_ok(tmp_path, since + 10, "nb")
