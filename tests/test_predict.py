"""Your own songs (mer_utils.predict): the leaderboard's best trainable entry on all clips of a
tiny demo corpus (the smoke profile), its saved folder and manifest, files that cannot be
used, no overwrite, and a reloaded model predicting what the trained one did."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mer_utils import predict as pr
from mer_utils.leaderboard import LABELS, Entry, make_clips


@pytest.fixture(scope="module")
def run():
    from mer_utils.context import setup_run
    from mer_utils.papers import louro

    ctx = setup_run(pr.NOTEBOOK, profile="smoke")
    data = louro.pipeline.load_data(ctx, louro.Config.for_profile("smoke"))
    clips = make_clips(data.df, data.corpus, data.real)
    return ctx, clips, data.y


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("own")
    garbage = d / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return str(garbage), str(d / "not_here.wav")


@pytest.fixture(scope="module")
def trained(run, bad_files):
    ctx, clips, y = run
    entry = next(e for e in pr.trained_entries("smoke") if e.name == "477-D set + RF")
    files = pr.demo_files(clips, y) + list(bad_files)
    return pr.train_on_all(ctx, entry, clips, y, files=files), files


def test_choose_entry_passes_over_stored_entries_and_says_why():
    stored = Entry("SVM Baseline", "louro", "row", experiment_name="louro_svm")
    forest = Entry("477-D set + RF", "javadi", "rf", make=lambda ctx, clips: None)
    net = Entry("CRNN (4 outputs)", "velankar", "net", make=lambda ctx, clips: None)
    board = pd.DataFrame({"entry": ["SVM Baseline", "CRNN (4 outputs)", "477-D set + RF"],
                          "f1": [0.6, 0.5, 0.4], "units": [100, 2, 100]})
    entry, why = pr.choose_entry(board, [stored, forest, net])
    assert entry is net
    assert "SVM Baseline" in why and "feature release" in why and "rank 2" in why
    assert pr.choose_entry(None, [stored, forest, net])[0] is forest
    assert pr.choose_entry(board, [stored, forest, net], "477-D set + RF")[0] is forest
    with pytest.raises(ValueError, match="stored"):
        pr.choose_entry(board, [stored, forest], "SVM Baseline")


def test_demo_files_one_per_quadrant(run):
    _, clips, y = run
    files = pr.demo_files(clips, y)
    paths = list(clips.df["path"].astype(str))
    assert [LABELS[y[paths.index(f)]] for f in files] == list(LABELS)


def test_manifest_says_what_was_trained_on_what(trained, run):
    model, _ = trained
    _, clips, y = run
    man = json.loads((model.folder / "manifest.json").read_text())
    assert man["entry"] == "477-D set + RF" and man["paper"] == "javadi" and man["labels"] == list(LABELS)
    assert man["profile"] == "smoke" and man["config_hash"] == pr.config_hash(model.entry)
    t = man["trained_on"]
    assert t["clips"] == len(clips) == t["train"] and sum(t["clips_per_quadrant"].values()) == len(clips)
    assert t["clips_per_quadrant"]["Q1"] == int((np.asarray(y) == 0).sum())
    table = pd.read_csv(model.folder / t["clip_fingerprints"])
    assert list(table["track_id"].astype(str)) == list(clips.ids) and table["fingerprint"].notna().all()
    assert man["state"]["kind"] == "forest" and set(man["state"]["files"]) == {"forest.joblib"}
    assert {"numpy", "scikit-learn", "python"} <= set(man["versions"]) and man["date"]
    assert man["seconds"]["fit"] >= 0 and man["parameters"] > 0


def test_unusable_files_are_named_and_the_others_predicted(trained, bad_files):
    model, files = trained
    table = pr.predict_files(model, files)
    assert list(table["file"]) == files
    good = table[table["error"] == pr.NO_ERROR]
    assert len(good) == len(LABELS)
    P = good[[f"P({q})" for q in LABELS]].to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert set(good["quadrant"]) <= set(LABELS)
    garbage, missing = bad_files
    msg = dict(zip(table["file"], table["error"]))
    assert msg[garbage].startswith(garbage) and "cannot decode" in msg[garbage] and "WAV/FLAC" in msg[garbage]
    assert msg[missing].startswith(missing) and "not found" in msg[missing]


def test_a_saved_model_reloads_and_predicts_the_same(trained):
    model, files = trained
    now = pr.predict_files(model, files)
    again = pr.predict_files(model.folder, files)      # the folder: entry rebuilt, forest loaded
    cols = [f"P({q})" for q in LABELS]
    np.testing.assert_allclose(again[cols].to_numpy(), now[cols].to_numpy(), rtol=1e-6, equal_nan=True)
    assert list(again["error"] != pr.NO_ERROR) == list(now["error"] != pr.NO_ERROR)


def test_a_changed_state_file_is_refused(trained, tmp_path):
    import shutil

    model, files = trained
    copy = tmp_path / "copy"
    shutil.copytree(model.folder, copy)
    with open(copy / "forest.joblib", "ab") as f:
        f.write(b"x")
    with pytest.raises(pr.ModelError, match="forest.joblib.*SHA-256"):
        pr.predict_files(copy, files[:1])
    with pytest.raises(pr.ModelError, match="no manifest.json"):
        pr.predict_files(tmp_path, files[:1])


def test_an_earlier_model_folder_is_never_overwritten(trained, run, tmp_path):
    model, files = trained
    before = {p.name: p.read_bytes() for p in model.folder.iterdir()}
    ctx, clips, y = run
    second = pr.train_on_all(ctx, model.entry, clips, y, files=files[:1])
    assert second.folder != model.folder and second.folder.parent == model.folder.parent
    assert {p.name: p.read_bytes() for p in model.folder.iterdir()} == before
    a, b = pr.new_model_folder(tmp_path, "x y"), pr.new_model_folder(tmp_path, "x y")
    assert a != b and a.is_dir() and b.is_dir()


def test_command_line_end_to_end(run, bad_files, tmp_path, capsys):
    _, clips, y = run
    files = pr.demo_files(clips, y)[:2] + list(bad_files)
    out = tmp_path / "own.csv"
    rc = pr.main([*files, "--profile", "smoke", "--out", str(out)])
    printed = capsys.readouterr()
    assert rc == 1                                       # some files could not be used
    assert "477-D set + RF" in printed.out and "model saved:" in printed.out
    assert bad_files[0] in printed.err and bad_files[1] in printed.err
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table["file"]) == files and (table["error"] == pr.NO_ERROR).sum() == 2
    assert pr.main([files[0], "--profile", "smoke", "--out", str(out)]) == 2   # an existing --out is refused
    folder = printed.out.split("model saved:")[1].split()[0]
    res = subprocess.run([sys.executable, "-m", "mer_utils.predict", files[0], "--model", folder],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert files[0] in res.stdout and "javadi" in res.stdout


@pytest.mark.backend
def test_a_network_entry_saves_its_weights_and_reloads(run):
    ctx, clips, y = run
    entry = next(e for e in pr.trained_entries("smoke") if e.name == "CRNN (4 outputs)")
    files = pr.demo_files(clips, y)[:2]
    model = pr.train_on_all(ctx, entry, clips, y, files=files)
    man = model.manifest
    assert man["state"]["kind"] == "keras" and set(man["state"]["files"]) == {"weights.npz", "scaler.npz"}
    assert man["trained_on"]["validation"] > 0 and man["trained_on"]["validation_share"] == entry.validation
    cols = [f"P({q})" for q in LABELS]
    now = pr.predict_files(model, files)[cols].to_numpy()
    again = pr.predict_files(model.folder, files)[cols].to_numpy()
    np.testing.assert_allclose(again, now, rtol=1e-4, atol=1e-5)


class _Uniform:
    """A method of a kind with no saved form."""

    n_params = None

    def fit(self, train, y_train, validation, y_validation):
        self.fitted = len(train)

    def predict(self, rows):
        return np.full((len(rows), len(LABELS)), 1 / len(LABELS), np.float32)


def test_a_method_without_saved_form_predicts_only_its_files(run):
    ctx, clips, y = run
    entry = Entry("uniform", "javadi", "test", make=lambda ctx, clips: _Uniform())
    files = pr.demo_files(clips, y)[:2]
    model = pr.train_on_all(ctx, entry, clips, y, files=files[:1])
    assert model.summary.startswith("manifest only") and model.manifest["state"]["kind"] is None
    assert model.method.fitted == len(clips)                    # the user's rows never reach fit
    table = pr.predict_files(model, files)
    assert table["error"].iloc[0] == pr.NO_ERROR
    assert "no saved form" in table["error"].iloc[1] and files[1] in table["error"].iloc[1]
    with pytest.raises(pr.ModelError, match="train again"):
        pr.load_model(model.folder, ctx)


class _NeedsLongClips:
    """A method whose extractor skips clips shorter than 20 s (as EfficientNet's 24-s crop
    does): it zero-fills them through leaderboard.align_rows."""

    n_params = None

    def __init__(self, clips):
        from mer_utils.leaderboard import align_rows

        long = clips.df[clips.df["path"].map(lambda p: __import__("soundfile").info(p).duration >= 20)]
        self.X, _ = align_rows(clips, long.reset_index(drop=True), np.ones((len(long), 3), np.float32))

    def fit(self, train, y_train, validation, y_validation):
        pass

    def predict(self, rows):
        return np.full((len(rows), 4), 0.25, np.float32)


def test_a_file_too_short_for_the_entry_is_named_not_predicted_from_zeros(run, tmp_path):
    from conftest import write_tone

    ctx, clips, y = run
    short = str(write_tone(tmp_path / "short.wav", seconds=3.0, sr=16000))
    entry = Entry("needs 20 s", "javadi", "test", make=lambda ctx, clips: _NeedsLongClips(clips))
    long_clip = next(p for p in clips.df["path"] if __import__("soundfile").info(p).duration >= 20)
    model = pr.train_on_all(ctx, entry, clips, y, files=[short, long_clip])
    table = pr.predict_files(model, [short, long_clip]).set_index("file")
    assert table.loc[long_clip, "error"] == pr.NO_ERROR
    assert table.loc[short, "error"].startswith(short) and "could not make its input" in table.loc[short, "error"]
