import numpy as np
import pandas as pd
import pytest

from mer_utils import results as R


def test_predictions_round_trip_and_scoring(tmp_path):
    labels = ["Q1", "Q2", "Q3"]
    for fold in range(2):
        R.save_predictions(tmp_path, "svm baseline", fold, ids=["a", "b", "c"],
                           y_true=np.array([0, 1, 2]),
                           y_score=np.eye(3)[[0, 1, 1 if fold else 2]], labels=labels,
                           meta={"model": "svm"})
    folds = R.load_predictions(tmp_path, "svm baseline")
    assert [f.fold for f in folds] == [0, 1] and folds[0].labels == labels
    assert folds[0].meta["model"] == "svm"
    acc = R.score_experiment(tmp_path, "svm baseline",
                             {"accuracy": lambda fp: np.mean(fp.predicted() == fp.y_true)})
    assert list(acc["accuracy"]) == pytest.approx([1.0, 2 / 3])
    s = R.summarise(acc)
    assert s.loc[0, "accuracy"] == pytest.approx(5 / 6) and s.loc[0, "n_folds"] == 2
    assert s.loc[0, "accuracy_std"] > 0


def test_save_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        R.save_predictions(tmp_path, "x", 0, ids=["a"], y_true=[0, 1], y_score=np.zeros((2, 2)), labels=["a", "b"])
    with pytest.raises(ValueError, match="does not match"):
        R.save_predictions(tmp_path, "x", 0, ids=["a"], y_true=[0], y_score=np.zeros((1, 3)), labels=["a", "b"])


def test_missing_experiment_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="Run the notebook"):
        R.load_predictions(tmp_path, "never-trained")


def test_paper_values_files_are_well_formed():
    pv = R.paper_values()
    assert set(R.PAPER_VALUE_COLUMNS) <= set(pv.columns)
    numeric = pd.to_numeric(pv["value"], errors="coerce")
    assert not pv.duplicated(["paper", "table", "row", "metric"]).any()
    assert (numeric.dropna().abs() < 1e6).all()


def test_compare_with_paper_puts_paper_beside_ours(tmp_path, monkeypatch):
    f = tmp_path / "paper_values_t.csv"
    f.write_text("paper,table,row,metric,value,note\nP,1,CRNN,accuracy,0.54,\nP,1,CNN,accuracy,0.5,\n")
    monkeypatch.setattr(R, "PACKAGE_DATA", tmp_path)
    ours = pd.DataFrame({"model": ["CRNN", "GRU"], "accuracy": [0.6, 0.4], "accuracy_std": [0.1, 0.2]})
    t = R.compare_with_paper(ours, "P", "1", row_col="model")
    crnn = t[t["row"] == "CRNN"].iloc[0]
    assert crnn["paper"] == 0.54 and crnn["reproduced"] == 0.6 and crnn["delta"] == pytest.approx(0.06)
    assert np.isnan(t[t["row"] == "GRU"].iloc[0]["paper"])          # not in the paper
    assert np.isnan(t[t["row"] == "CNN"].iloc[0]["reproduced"])     # not reproduced


def test_write_table_csv_and_markdown(tmp_path):
    df = pd.DataFrame({"a": [1.23456, np.nan], "b": ["x", "y"]})
    p = R.write_table(df, tmp_path / "t")
    assert pd.read_csv(p).shape == (2, 2)
    md = (tmp_path / "t.md").read_text()
    assert "| a | b |" in md and "1.235" in md
