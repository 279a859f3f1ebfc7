"""Evaluation protocols: units, stratification, groups, saved split files, nested tuning."""
import numpy as np
import pandas as pd
import pytest

from mer_utils.evaluation import protocols as P
from mer_utils.results import Unit


def _labels(n_per=25, classes=("Q1", "Q2", "Q3", "Q4")):
    return np.repeat(classes, n_per)


def test_repeated_kfold_has_100_stratified_disjoint_units():
    y = _labels(25)                                  # 100 rows, 25 per class
    proto = P.repeated_kfold(10, 10, seed=0)
    assert proto.units() == [Unit(r, f) for r in range(10) for f in range(10)]
    splits = proto.make(y)
    assert len(splits) == 100
    for r in range(10):
        rep = [s for s in splits if s.unit.repeat == r]
        tested = np.concatenate([s.test for s in rep])
        assert sorted(tested) == list(range(100))    # every row tested once per repeat
        for s in rep:
            assert not set(s.train) & set(s.test)
            assert len(s.train) + len(s.test) == 100
            # stratified: 10 test rows, 2 or 3 per class
            counts = pd.Series(y[s.test]).value_counts()
            assert counts.min() >= 2 and counts.max() <= 3
    # repeats reshuffle
    assert not np.array_equal(splits[0].test, splits[10].test)


def test_group_aware_folds_never_split_a_group():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"song{i}" for i in range(40)], rng.integers(1, 6, size=40))
    song_label = {f"song{i}": ("a", "b")[i % 2] for i in range(40)}
    y = np.array([song_label[g] for g in groups])
    for proto in (P.kfold(5, val_size=0.2, seed=1), P.holdout(0.2, 0.2, seed=3)):
        for s in proto.make(y, groups):
            parts = [set(groups[getattr(s, p)]) for p in ("train", "validation", "test")]
            assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
            assert len(s.validation) > 0


def test_split_expand_to_segments():
    s = P.Split(Unit(0, 0), train=[0, 2], test=[1], validation=[3])
    owner = np.array([0, 0, 1, 2, 2, 2, 3])
    e = s.expand(owner)
    assert list(e.train) == [0, 1, 3, 4, 5] and list(e.test) == [2] and list(e.validation) == [6]


def test_splits_are_files_reused_on_rerun(tmp_path):
    y = _labels(10)
    ids = [f"t{i}" for i in range(len(y))]
    proto = P.kfold(5, val_size=0.25, seed=2)
    a = P.load_or_make_splits(tmp_path, proto, ids, y, name="exp")
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and len(list(folders[0].glob("r*-f*.csv"))) == 5
    assert (folders[0] / "protocol.json").exists()
    mtimes = {p: p.stat().st_mtime_ns for p in folders[0].iterdir()}
    b = P.load_or_make_splits(tmp_path, proto, ids, y, name="exp")
    assert {p: p.stat().st_mtime_ns for p in folders[0].iterdir()} == mtimes   # read, not rewritten
    for sa, sb in zip(a, b):
        assert sa.unit == sb.unit
        for part in ("train", "validation", "test"):
            np.testing.assert_array_equal(getattr(sa, part), getattr(sb, part))
    # other data -> another folder; the first is kept
    P.load_or_make_splits(tmp_path, proto, ids[:-4], y[:-4], name="exp")
    assert len(list(tmp_path.iterdir())) == 2
    # a damaged file is named
    victim = sorted(folders[0].glob("r*.csv"))[0]
    victim.write_text("garbage\n\x00\x01")
    with pytest.raises(ValueError, match=victim.name):
        P.load_or_make_splits(tmp_path, proto, ids, y, name="exp")


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicated ids"):
        P.load_or_make_splits(tmp_path, P.kfold(2), ["1", "1", "2", "3"], ["a", "a", "b", "b"])


def test_predefined_and_holdout():
    col = ["train"] * 6 + ["validation"] * 2 + ["test"] * 2
    (s,) = P.predefined().make(["a", "b"] * 5, predefined=col)
    assert list(s.test) == [8, 9] and list(s.validation) == [6, 7]
    (h,) = P.holdout(0.2, 0.2, seed=0).make(_labels(10))
    assert len(h.test) == 8 and len(h.validation) == 8 and len(h.train) == 24


def test_nested_tuning_never_sees_the_test_rows():
    """The test rows hold NaN: any estimator that touched them would fail to fit."""
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 40)
    X = rng.normal(size=(80, 5)) + (y == "b")[:, None] * 1.5
    (split,) = [s for s in P.kfold(4, seed=0).make(y) if s.unit.fold == 1]
    X_poisoned = X.copy()
    X_poisoned[split.test] = np.nan
    for tr, va in P.inner_cv(split, y, k=3):
        assert not set(tr) & set(split.test) and not set(va) & set(split.test)
    model, best = P.tune(SVC(), {"C": [0.1, 1.0, 10.0]}, X_poisoned, y, split, k=3, seed=0)
    assert best["C"] in (0.1, 1.0, 10.0)
    assert (model.predict(X[split.test]) == y[split.test]).mean() > 0.6


def _drop_first_test_row(lines):
    first = next(i for i, l in enumerate(lines) if ",test," in l)
    return lines[:first] + lines[first + 1:]


def _move_test_rows_to_train(lines):
    return [l.replace(",test,", ",train,") for l in lines]


@pytest.mark.parametrize("edit, message", [(_drop_first_test_row, "changed since it was written"),
                                           (_move_test_rows_to_train, "changed since it was written")])
def test_an_edited_split_file_is_refused_naming_it(tmp_path, edit, message):
    """A test row deleted from a split CSV used to shrink the test set silently."""
    ids = [f"t{i}" for i in range(20)]
    y = np.repeat(["a", "b"], 10)
    proto = P.kfold(2, seed=0)
    P.load_or_make_splits(tmp_path, proto, ids, y, name="x")
    f = sorted(tmp_path.glob("x-*/r00-f00.csv"))[0]
    lines = f.read_text().splitlines()
    f.write_text("\n".join(edit(lines)) + "\n")
    with pytest.raises(ValueError, match=message) as err:
        P.load_or_make_splits(tmp_path, proto, ids, y, name="x")
    assert str(f) in str(err.value) and "delete the folder" in str(err.value)


def test_a_split_file_without_checksum_is_still_checked(tmp_path):
    import json

    ids = [f"t{i}" for i in range(20)]
    y = np.repeat(["a", "b"], 10)
    proto = P.kfold(2, seed=0)
    P.load_or_make_splits(tmp_path, proto, ids, y, name="x")
    meta = sorted(tmp_path.glob("x-*/protocol.json"))[0]
    m = json.loads(meta.read_text())
    m.pop("sha256")
    meta.write_text(json.dumps(m))                                   # a folder of an older version
    f = meta.parent / "r00-f01.csv"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:-1]) + "\n")                       # one row deleted
    with pytest.raises(ValueError, match="rows are in no part"):
        P.load_or_make_splits(tmp_path, proto, ids, y, name="x")
    f.write_text("\n".join(lines + [lines[1].replace(",train,", ",test,").replace(",validation,", ",test,")]) + "\n")
    with pytest.raises(ValueError, match="more than once"):
        P.load_or_make_splits(tmp_path, proto, ids, y, name="x")
