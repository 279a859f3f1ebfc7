"""Corpus selection for each task, the 4Q download path, the notebook runner and run_all.sh's arguments."""
import subprocess
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import datasets as D
from mer_utils import notebook_runner as runner
from mer_utils.context import setup_run

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("task,column", [("quadrant", "quadrant"), ("label3", "label3"),
                                          ("tags", "tags"), ("multisource", "source")])
def test_select_corpus_falls_back_to_demo(task, column, tmp_path):
    ctx = setup_run("99_t", profile="smoke", data_root=str(tmp_path))
    df, desc = D.select_corpus(ctx, task)
    assert "demo" in desc and len(df) and df[column].notna().all()
    assert ctx.manifest.data_sources[task] == desc
    if task == "label3":
        assert set(df["label3"]) == {"happy", "sad", "calm"}
    if task == "multisource":
        assert set(df["source"]) == {"4q", "pmemo", "deam", "bimodal"}


def test_select_corpus_uses_real_4q(fourq_dev):
    ctx = setup_run("99_t", profile="smoke", data_root=str(fourq_dev))
    df, desc = D.select_corpus(ctx, "quadrant")
    assert "4Q (real)" in desc and len(df) == 16  # smoke caps real sets at 16, stratified
    assert df["quadrant"].value_counts().eq(4).all()
    df3, desc3 = D.select_corpus(ctx, "label3")
    assert set(df3["label3"]) == {"happy", "sad", "calm"} and "Q1=happy" in desc3
    ctx_full = setup_run("99_t", profile="demo", data_root=str(fourq_dev))
    assert len(D.select_corpus(ctx_full, "quadrant")[0]) == 120


def test_select_corpus_uses_real_jamendo_metadata(jamendo_root):
    ctx = setup_run("99_t", profile="smoke", data_root=str(jamendo_root.parent))
    df, desc = D.select_corpus(ctx, "tags")
    assert len(df) == 18486 and "audio found for 0" in desc


def test_4q_download_from_local_archive(tmp_path):
    src = tmp_path / "src"
    songs = [("MT0000000001", "Q1"), ("MT0000000002", "Q3")]
    with zipfile.ZipFile(tmp_path / "4q.zip", "w") as z:
        for s, q in songs:
            p = src / f"{s}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, np.zeros(800) + 0.1, 8000)
            z.write(p, f"MER_audio_taffc_dataset/{q}/{s}.wav")
        z.writestr("MER_audio_taffc_dataset/panda_dataset_taffc_annotations.csv",
                   "Song,Quadrant\n" + "".join(f"{s},{q}\n" for s, q in songs))
        for q in ("Q2", "Q4"):
            z.writestr(f"MER_audio_taffc_dataset/{q}/", "")
    out = D.fourq.download(tmp_path / "raw4q", url=(tmp_path / "4q.zip").as_uri())
    assert D.discover(out) == {"4q": out} and len(D.load("4q", out)) == 2


def _nb(path: Path, code: str):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('profile = "smoke"\ndata_root = ""\nseed = 0')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_list_notebooks_order_and_only(tmp_path):
    for n in ("10_b", "00_a", "40_c", "notes"):
        _nb(tmp_path / f"{n}.ipynb", "pass")
    names = [p.stem for p in runner.list_notebooks(directory=tmp_path)]
    assert names == ["00_a", "10_b", "40_c"]
    assert [p.stem for p in runner.list_notebooks(["40", "00_a"], directory=tmp_path)] == ["40_c", "00_a"]
    with pytest.raises(SystemExit, match="no notebook matches"):
        runner.list_notebooks(["99"], directory=tmp_path)


@pytest.mark.notebook
def test_runner_stops_on_failure_and_keeps_clean_copy(tmp_path, capfd):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _nb(nbdir / "00_ok.ipynb", "x = 1")
    _nb(nbdir / "01_bad.ipynb", "raise ValueError('boom in cell')")
    _nb(nbdir / "02_never.ipynb", "x = 2")
    before = (nbdir / "01_bad.ipynb").read_text()
    rc = runner.run("smoke", directory=nbdir, out=tmp_path / "run")
    cap = capfd.readouterr()  # the runner writes to the terminal's file descriptors
    assert rc == 1 and "01_bad ... FAILED" in cap.out and "boom in cell" in cap.err
    assert (nbdir / "01_bad.ipynb").read_text() == before          # clean notebook untouched
    assert not (tmp_path / "run" / "02_never.ipynb").exists()      # stopped at the failure
    timings = pd.read_csv(tmp_path / "run" / "timings.csv")
    assert list(timings["status"]) == ["ok", "failed"]


@pytest.mark.parametrize("args,msg", [(["--profile", "fast"], "must be smoke, demo or full"),
                                      (["--data", "/nonexistent/dir"], "is not a folder"),
                                      (["--bogus"], "unknown argument")])
def test_run_all_rejects_bad_arguments(args, msg):
    r = subprocess.run(["bash", str(REPO / "run_all.sh"), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and msg in r.stderr


def test_run_all_names_an_unreadable_data_folder(tmp_path):
    """An unreadable --data gave a raw shell error; now run_all.sh says what is wrong. Root
    reads every folder, so the check runs as an unprivileged user (setpriv)."""
    import os
    import shutil

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    script = shutil.copy(REPO / "run_all.sh", tmp_path / "run_all.sh")   # the check runs before set-up
    cmd = ["bash", str(script), "--skip-setup", "--data", str(locked)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot drop the privilege that reads every folder")
        for d in [tmp_path, *tmp_path.parents]:
            if d == Path("/"):
                break
            d.chmod(d.stat().st_mode | 0o005)      # let the unprivileged user reach the folder
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    finally:
        locked.chmod(0o755)
    assert r.returncode == 2 and "cannot be read (permissions?)" in r.stderr, r.stderr


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "./run_all.sh --tests" in ci and "./run_all.sh --tests" in readme


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path):
    folders = [runner.new_run_folder(tmp_path, "smoke") for _ in range(3)]
    assert len(set(folders)) == 3 and all(f.is_dir() for f in folders)
    assert folders[1].name == folders[0].name + "-2"


def test_a_second_run_of_a_notebook_into_the_same_results_is_refused(tmp_path):
    """Two runs of one notebook into one results folder used to both commit; the second now
    fails at once, naming the run that holds the lock, and a killed holder leaves no lock."""
    import subprocess
    import sys

    with runner.notebook_lock(tmp_path, "40_velankar_crnn"):
        with pytest.raises(runner.NotebookBusy, match="already running into .*pid"):
            with runner.notebook_lock(tmp_path, "40_velankar_crnn"):
                pass
        with runner.notebook_lock(tmp_path, "50_louro_methods"):     # another notebook: fine
            pass
    with runner.notebook_lock(tmp_path, "40_velankar_crnn"):         # released: fine again
        pass
    code = ("import os, sys; from pathlib import Path; from mer_utils import notebook_runner as runner\n"
            f"cm = runner.notebook_lock(Path({str(tmp_path)!r}), 'nb'); cm.__enter__(); os._exit(9)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9   # killed while holding it
    with runner.notebook_lock(tmp_path, "nb"):
        pass
