"""Paper values: no file holds an empty value, every cell a paper module compares has a value,
and a comparison that lacks one raises instead of showing NaN.

How a paper registers its compared cells is in ``mer_utils/results.py`` (module docstring,
"Paper values"): ``PAPER_CELLS`` in ``mer_utils/papers/<paper>.py``, and
``compare_with_paper(..., require_paper=True)`` in its steps.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
import pytest

import mer_utils.papers as papers_pkg
from mer_utils import results as R
from mer_utils.config import PACKAGE_DATA

FILES = sorted(PACKAGE_DATA.glob("paper_values_*.csv"))
PAPER_MODULES = sorted(m.name for m in pkgutil.iter_modules(papers_pkg.__path__))

# Files whose transcription is owed by another branch. Strict: once the values are in, the
# expected failure turns into an unexpected pass and fails -- then delete the entry.
OWED: dict[str, str] = {}


def test_there_are_paper_value_files_and_paper_modules():
    assert FILES and PAPER_MODULES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_paper_value_is_empty(path, request):
    if path.name in OWED:
        request.applymarker(pytest.mark.xfail(reason=OWED[path.name], strict=True))
    empty = R.empty_paper_values()
    empty = empty[empty["file"] == path.name]
    assert empty.empty, (f"{path.name}: {len(empty)} cell(s) without a value, e.g. "
                         f"{empty[['table', 'row', 'metric']].head(5).to_dict('records')}; transcribe "
                         "them from the paper, or delete the rows of cells the paper does not report")


@pytest.mark.parametrize("name", PAPER_MODULES)
def test_every_compared_cell_has_a_paper_value(name):
    mod = importlib.import_module(f"mer_utils.papers.{name}")
    assert hasattr(mod, "PAPER_CELLS"), (
        f"mer_utils.papers.{name} declares no PAPER_CELLS: list the (table, row, metric) cells its "
        "notebook compares (see mer_utils/results.py, 'Paper values')")
    cells = list(mod.PAPER_CELLS)
    assert all(isinstance(c, tuple) and len(c) == 3 for c in cells), "cells are (table, row, metric)"
    assert len(set(cells)) == len(cells), "a cell registered twice"
    missing = R.missing_paper_values(name, cells)
    assert not missing, f"{name}: compared cells without a paper value: {missing[:10]}"


@pytest.mark.parametrize("name", PAPER_MODULES)
def test_paper_modules_demand_paper_values_when_comparing(name):
    """Every compare_with_paper call in a paper module passes require_paper=True."""
    src = inspect.getsource(importlib.import_module(f"mer_utils.papers.{name}"))
    calls = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call)
             and getattr(n.func, "id", getattr(n.func, "attr", None)) == "compare_with_paper"]
    for c in calls:
        kw = {k.arg: k.value for k in c.keywords}
        assert isinstance(kw.get("require_paper"), ast.Constant) and kw["require_paper"].value is True, (
            f"{name}.py line {c.lineno}: compare_with_paper(...) without require_paper=True")


# --------------------------------------------------------------------------- the mechanism
@pytest.fixture
def paper_file(tmp_path, monkeypatch):
    monkeypatch.setattr(R, "PACKAGE_DATA", tmp_path)

    def write(text: str):
        (tmp_path / "paper_values_p.csv").write_text("paper,table,row,metric,value,note\n" + text)
    return write


def test_require_paper_names_the_missing_cells(paper_file):
    paper_file("P,1,CRNN,accuracy,0.54,\nP,1,CRNN,macro_f1,,owed\n")
    ours = pd.DataFrame({"model": ["CRNN", "GRU"], "accuracy": [0.6, 0.4], "macro_f1": [0.5, 0.3]})
    with pytest.raises(R.MissingPaperValue) as err:
        R.compare_with_paper(ours, "P", "1", row_col="model", require_paper=True)
    msg = str(err.value)
    assert "('1', 'CRNN', 'macro_f1')" in msg and "('1', 'GRU', 'accuracy')" in msg
    assert "('1', 'CRNN', 'accuracy')" not in msg
    # without the demand the gaps show as NaN
    t = R.compare_with_paper(ours, "P", "1", row_col="model")
    assert t["paper"].isna().sum() == 3


def test_require_paper_passes_when_every_shown_cell_has_a_value(paper_file):
    paper_file("P,1,CRNN,accuracy,0.54,\nP,1,CRNN,support,46,\nP,1,CNN,accuracy,0.5,\n")
    ours = pd.DataFrame({"row": ["CRNN"], "accuracy": [0.6], "precision": [np.nan], "support": [40.0]})
    t = R.compare_with_paper(ours, "P", "1", metric_cols=["accuracy", "precision", "support"],
                             require_paper=True)
    # a cell neither side has is left out; a paper cell we did not reproduce stays, NaN on our side
    assert list(zip(t["row"], t["metric"])) == [("CRNN", "accuracy"), ("CRNN", "support"), ("CNN", "accuracy")]
    assert t.loc[1, "delta"] == pytest.approx(-6.0) and np.isnan(t.loc[2, "reproduced"])


def test_missing_and_empty_values_are_listed(paper_file):
    paper_file("P,1,a,m,0.1,\nP,1,b,m,,\n")
    assert R.missing_paper_values("P", [("1", "a", "m"), ("1", "b", "m"), ("2", "a", "m")]) == [
        ("1", "b", "m"), ("2", "a", "m")]
    assert R.empty_paper_values()[["row", "metric"]].to_dict("records") == [{"row": "b", "metric": "m"}]
    assert len(R.paper_values("P")) == 1 and len(R.paper_values("P", include_empty=True)) == 2


@pytest.mark.parametrize("text, match", [
    ("P,1,a,m,0.1,\nP,1,a,m,0.2,\n", "given twice"),
    ("P,1,a,m,about 0.5,\n", "not numbers"),
])
def test_malformed_files_are_refused(paper_file, text, match):
    paper_file(text)
    with pytest.raises(ValueError, match=match):
        R.paper_values()
