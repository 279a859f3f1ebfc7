"""The reproduction scorecard, on constructed paper values and stored comparison tables:
each reported number lands in exactly one class, tolerance as stated, reasons as recorded,
every paper listed, every count linked to its cells and every cell to its table; a cell
computed on other data than the paper declares (the demo corpus, a subset of the paper's
set) is "not comparable: different data", settings compare on any data."""
import json

import numpy as np
import pandas as pd
import pytest

from mer_utils import scorecard as sc
from mer_utils.html_report import check_report
from mer_utils.results import SETTINGS, PaperData

PV = pd.DataFrame([
    # paper, table, row, metric, value
    ("alpha", "3", "SVM", "f1", 0.75),          # ours 0.77: within 0.03
    ("alpha", "3", "CNN", "f1", 0.60),          # ours 0.65, std 0.06: within our spread
    ("alpha", "3", "CRNN", "f1", 0.65),         # ours 0.40, std 0.05: differs
    ("alpha", "3", "GRU", "f1", 0.61),          # compared, NaN reproduced: not regenerated
    ("alpha", "3", "Literature", "f1", 0.70),   # in no comparison table: cannot run here
    ("alpha", "1", "CNN", "epochs", 200.0),     # ours 200: within (setting)
    ("alpha", "1", "CRNN", "epochs", 200.0),    # ours 1: differs (setting)
    ("alpha", "5", "SVM", "f1", 0.90),          # same row/metric as table 3, other value: not confused
    ("beta", "2", "Model", "accuracy", 0.80),   # beta has no comparison table: its notebook did not run
], columns=["paper", "table", "row", "metric", "value"]).assign(note="")


ALPHA_SET = PaperData("Alpha set (100 clips)", recorded_as="quadrant", marker="4Q (real)", items=(100,))
PAPER_DATA = {"alpha": {"3": ALPHA_SET, "1": SETTINGS, "5": ALPHA_SET}, "beta": {"2": ALPHA_SET}}
ON_PAPER_DATA = "4Q (real) from /data/4q: 100 clips"       # the whole set the paper declares
DEMO = "demo corpus (60 synthetic clips; no 4Q under the data root)"
SUBSET = "4Q (real) from /data/4q-dev-100: 30 clips"         # real, but 30 of the 100 (a number in the path is no count)


def _ran_on(results_dir, description):
    m = results_dir / "manifests" / "50_alpha_methods"
    m.mkdir(parents=True, exist_ok=True)
    (m / "manifest.json").write_text(json.dumps({
        "notebook": "50_alpha_methods", "data_sources": {"quadrant": description},
        "substitutions": [{"what": "VGGish weights", "used": "musicnn", "reason": "offline"},
                          {"what": "4Q top-100 feature release", "used": "emotion feature set", "reason": "absent"}]}))
    return results_dir


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    pd.DataFrame([("SVM", "f1", 0.75, 0.77, 0.01), ("CNN", "f1", 0.60, 0.65, 0.06),
                  ("CRNN", "f1", 0.65, 0.40, 0.05), ("GRU", "f1", 0.61, np.nan, np.nan),
                  ("Ours only", "f1", np.nan, 0.5, 0.1)],
                 columns=["row", "metric", "paper", "reproduced", "reproduced_std"]).to_csv(d / "alpha_table3.csv", index=False)
    pd.DataFrame([("CNN", "epochs", 200, 200, np.nan), ("CRNN", "epochs", 200, 1, np.nan)],
                 columns=["row", "metric", "paper", "reproduced", "reproduced_std"]).to_csv(d / "alpha_table1.csv", index=False)
    pd.DataFrame({"x": [1]}).to_csv(d / "alpha_other.csv", index=False)      # not a comparison table
    _ran_on(d, ON_PAPER_DATA)
    pd.DataFrame([("epochs", "200", "1", "departure", "CPU budget"), ("lr", "1e-3", "1e-3", "same", "")],
                 columns=["point", "paper", "ours", "status", "reason"]).to_csv(d / "alpha_fidelity.csv", index=False)
    return d


def test_every_number_in_one_class(results):
    cells = sc.cell_status(results, PV, paper_data=PAPER_DATA).set_index(["paper", "table", "row", "metric"])
    status = cells["status"].to_dict()
    assert status[("alpha", "3", "SVM", "f1")] == "within tolerance"
    assert status[("alpha", "3", "CNN", "f1")] == "within tolerance"          # |0.05| <= our std 0.06
    assert status[("alpha", "3", "CRNN", "f1")] == "differs"                  # |0.25| > max(0.03, 0.05)
    assert status[("alpha", "3", "GRU", "f1")] == "not regenerated in this run"
    assert status[("alpha", "3", "Literature", "f1")] == "cannot run here"
    assert status[("alpha", "1", "CNN", "epochs")] == "within tolerance"
    assert status[("alpha", "1", "CRNN", "epochs")] == "differs"
    assert status[("alpha", "5", "SVM", "f1")] == "cannot run here"          # paper value 0.90 is compared nowhere
    assert status[("beta", "2", "Model", "accuracy")] == "not regenerated in this run"
    assert cells.loc[("alpha", "3", "CRNN", "f1"), "tolerance"] == pytest.approx(0.05)
    assert cells.loc[("alpha", "3", "SVM", "f1"), "compared_in"] == "alpha_table3"
    reason = cells.loc[("alpha", "3", "CRNN", "f1"), "reason"]
    assert "different data" in reason and "weights absent" in reason and "departure" in reason


def test_counts_per_paper_all_papers_listed(results):
    cells = sc.cell_status(results, PV, paper_data=PAPER_DATA)
    card = sc.scorecard(cells, results).set_index("paper")
    assert list(card.index) == ["alpha", "beta"]
    a = card.loc["alpha"]
    assert (a["reported numbers"], a["regenerated"], a["within tolerance"], a["differs"],
            a[sc.NOT_COMPARABLE], a["not regenerated in this run"], a["cannot run here"]) == (8, 5, 3, 2, 0, 1, 2)
    assert card.loc["beta", "not regenerated in this run"] == 1 and card.loc["beta", "regenerated"] == 0
    assert a["tables"] == "alpha_table1, alpha_table3"
    assert "weights absent: 1" in a["why they differ (recorded)"]


def test_tolerance_rule():
    assert sc.tolerance(0.6, "f1", None) == 0.03
    assert sc.tolerance(0.6, "macro_f1", 0.08) == 0.08
    assert sc.tolerance(200, "epochs", None) == pytest.approx(2.0)
    assert sc.tolerance(0.001, "learning_rate", 0.5) == pytest.approx(1e-5)   # a setting, not a score


def test_html_links_every_count_and_cell(results, tmp_path):
    cells = sc.cell_status(results, PV, paper_data=PAPER_DATA)
    card = sc.scorecard(cells, results)
    (tmp_path / "tables").mkdir()
    for t in ("alpha_table1", "alpha_table3"):
        (tmp_path / "tables" / f"{t}.csv").write_text("x\n")
    body = sc.to_html(card, cells, table_href=lambda n: f"tables/{n}.csv",
                      reasons=sc.recorded_reasons(results, ["alpha", "beta"]))
    page = tmp_path / "index.html"
    page.write_text(f"<html><body>{body}</body></html>")
    assert check_report(page) == []
    assert body.count("href='#cells-alpha") == 7   # 6 counts and "href='tables/alpha_table3.csv'" in body


def test_on_the_demo_corpus_a_near_cell_is_not_comparable(results):
    """The same stored comparison as above, but the run recorded the demo corpus: the SVM's
    0.77 against the paper's 0.75 is chance, not reproduction; the settings still compare."""
    cells = sc.cell_status(_ran_on(results, DEMO), PV, paper_data=PAPER_DATA).set_index(
        ["paper", "table", "row", "metric"])
    svm = cells.loc[("alpha", "3", "SVM", "f1")]
    assert svm["status"] == sc.NOT_COMPARABLE
    assert "demo corpus (synthetic)" in svm["reason"] and "Alpha set (100 clips)" in svm["reason"]
    assert svm["data"] == sc.DEMO_DATA and svm["ours"] == pytest.approx(0.77)
    assert cells.loc[("alpha", "3", "CRNN", "f1"), "status"] == sc.NOT_COMPARABLE   # far off: not "differs" either
    assert cells.loc[("alpha", "1", "CNN", "epochs"), "status"] == "within tolerance"   # a setting
    assert cells.loc[("alpha", "1", "CRNN", "epochs"), "status"] == "differs"
    assert cells.loc[("alpha", "3", "GRU", "f1"), "status"] == "not regenerated in this run"
    card = sc.scorecard(cells.reset_index(), results).set_index("paper").loc["alpha"]
    assert (card["regenerated"], card["within tolerance"], card["differs"], card[sc.NOT_COMPARABLE]) == (5, 1, 1, 3)
    assert card["run's data"] == sc.DEMO_DATA


def test_on_the_papers_data_the_same_cell_is_within_tolerance(results):
    cells = sc.cell_status(results, PV, paper_data=PAPER_DATA).set_index(["paper", "table", "row", "metric"])
    svm = cells.loc[("alpha", "3", "SVM", "f1")]
    assert svm["status"] == "within tolerance" and svm["data"] == ON_PAPER_DATA
    assert svm["paper data"] == "Alpha set (100 clips)"


def test_a_subset_of_the_papers_set_is_different_data(results):
    """Real audio and labels, 30 of the paper's 100 clips (as the 4Q dev copy holds 120 of
    900): not the paper's data for scores, and said so."""
    cells = sc.cell_status(_ran_on(results, SUBSET), PV, paper_data=PAPER_DATA).set_index(
        ["paper", "table", "row", "metric"])
    svm = cells.loc[("alpha", "3", "SVM", "f1")]
    assert svm["status"] == sc.NOT_COMPARABLE
    assert "30 clips" in svm["reason"] and "not the paper's whole set" in svm["reason"]
    assert cells.loc[("alpha", "1", "CNN", "epochs"), "status"] == "within tolerance"


def test_undeclared_data_is_never_agreement(results):
    """A paper module that declares no data for a table gets no "within tolerance" for it."""
    cells = sc.cell_status(results, PV).set_index(["paper", "table", "row", "metric"])
    assert cells.loc[("alpha", "3", "SVM", "f1"), "status"] == sc.NOT_COMPARABLE
    assert "not declared" in cells.loc[("alpha", "3", "SVM", "f1"), "reason"]


@pytest.mark.parametrize("declared, description, same", [
    (ALPHA_SET, ON_PAPER_DATA, True),
    (ALPHA_SET, "4Q (real) from /d: 1,100 clips", False),           # 1100 is not 100
    (ALPHA_SET, "folder of classes /d: 3 classes, 100 clips", False),  # not the named set
    (ALPHA_SET, "4Q (real) stand-in: 100 clips", False),
    (PaperData("Not public set"), ON_PAPER_DATA, False),               # no loader reads it
    (SETTINGS, DEMO, True),
    (None, ON_PAPER_DATA, False),
])
def test_data_verdict(declared, description, same):
    assert sc.data_verdict(declared, {"quadrant": description})[0] is same
