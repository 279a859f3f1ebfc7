"""Reliability, tried as a hostile user would (issue: results never overwritten or half-deleted,
every broken input named, validation that finds what extraction finds; a quiet main job).

Already covered elsewhere and kept: two data roots with one folder name never share an
output folder (tests/test_config.py), corrupt stored predictions are named and never
unpickled, and an interrupted rerun keeps the earlier run's predictions
(tests/test_results_store.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import audio
from mer_utils import datasets as D
from mer_utils.datasets import DatasetError
from mer_utils.context import setup_run

REPO = Path(__file__).resolve().parents[1]
HAS_MP3 = "MP3" in sf.available_formats()
needs_mp3 = pytest.mark.skipif(not HAS_MP3, reason="this libsndfile cannot write MP3 (needs >= 1.1)")


def _tone(path: Path, seconds: float, sr: int = 16000, fmt: str | None = None, amp: float = 0.3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, amp * np.sin(2 * np.pi * 440 * t), sr, format=fmt)
    return path


# =========================================================================== item 3: .MP3
def _fourq_upper(root: Path, with_csv: bool) -> list[tuple[str, str]]:
    songs = [(f"MT{i:010d}", f"Q{i % 4 + 1}") for i in range(8)]
    for s, q in songs:
        _tone(root / q / f"{s}.MP3", 1.5, fmt="MP3")
    if with_csv:
        pd.DataFrame(songs, columns=["Song", "Quadrant"]).to_csv(
            root / "panda_dataset_taffc_annotations.csv", index=False)
    return songs


@needs_mp3
def test_upper_case_mp3_with_annotations(tmp_path):
    _fourq_upper(tmp_path / "4q", with_csv=True)
    df = D.load("4q", tmp_path / "4q")  # used to say the clips are "missing"
    assert len(df) == 8 and all(p.endswith(".MP3") for p in df["path"])


@needs_mp3
def test_upper_case_mp3_without_annotations_is_4q_not_a_folder_of_classes(tmp_path):
    root = tmp_path / "4q-copy"
    _fourq_upper(root, with_csv=False)
    assert D.discover(root) == {"4q": root}  # used to be taken for a folder of 4 classes
    assert D.detect_layouts(root) == ["4q", "folder"]  # both match; the more specific wins
    df = D.load("4q", root)
    assert sorted(df["quadrant"].unique()) == ["Q1", "Q2", "Q3", "Q4"] and len(df) == 8
    ctx = setup_run("99_rel", profile="demo", data_root=str(root))
    q, desc = D.select_corpus(ctx, "quadrant")
    assert "4Q (real)" in desc and len(q) == 8  # not the demo corpus
    l3, desc3 = D.select_corpus(ctx, "label3")
    assert set(l3["label3"]) == {"happy", "sad", "calm"} and "Q1=happy" in desc3  # not Q1..Q4
    assert ctx.manifest.substitutions == []


def test_upper_case_extensions_everywhere(tmp_path):
    # folder of classes
    for c in ("calm", "sad"):
        _tone(tmp_path / "set" / c / f"{c}.WAV", 1.0)
        _tone(tmp_path / "set" / c / f"{c}2.Flac", 1.0, fmt="FLAC")
    assert len(D.load("folder", tmp_path / "set")) == 4
    # PMEmo-style lookup by id
    from mer_utils.datasets.base import find_audio
    p = _tone(tmp_path / "chorus" / "7.WAV", 1.0)
    assert find_audio(tmp_path / "chorus", "7") == p
    # MTG-Jamendo audio
    from mer_utils.datasets.jamendo import resolve_audio
    a = _tone(tmp_path / "mtg" / "audio" / "48" / "948.MP3", 1.0, fmt="WAV")
    assert resolve_audio(tmp_path / "mtg", "48/948.mp3") == a
    assert audio.is_audio_file("x/a.MP3") and not audio.is_audio_file("x/._a.mp3")


# =========================================================================== item 4: validate = extraction
@pytest.fixture
def hostile_clips(tmp_path):
    d = tmp_path / "clips"
    files = {"good": _tone(d / "good.wav", 4.0, sr=22050), "two_s": _tone(d / "two_s.wav", 2.0, sr=22050)}
    nan = d / "nan.wav"
    sf.write(nan, np.full(22050, np.nan), 22050, subtype="FLOAT")
    files["nan"] = nan
    inf = d / "inf.wav"
    sf.write(inf, np.r_[np.zeros(22049) + 0.1, np.inf], 22050, subtype="FLOAT")
    files["inf"] = inf
    zero = d / "zero.mp3"
    zero.write_bytes(b"")
    files["zero"] = zero
    if HAS_MP3:
        full = _tone(d / "full.mp3", 6.0, sr=22050, fmt="MP3")
        cut = d / "truncated.mp3"
        cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 8])  # header still says 6 s
        files["truncated"] = cut
    return pd.DataFrame({"track_id": list(files), "path": [str(p) for p in files.values()]})


def test_validate_finds_what_extraction_finds(hostile_clips):
    from mer_utils.features import extract_segments, extract_spectrograms, get_front_end

    ids = set(hostile_clips["track_id"])
    rep = D.validate(hostile_clips, decode=True, raise_on_error=False)
    problems = dict(zip(rep["track_id"], rep["problem"]))
    assert "NaN/inf" in problems["nan"] and "NaN/inf" in problems["inf"]
    assert problems["zero"].startswith("empty file (0 bytes)")  # not "possibly a pipe?"
    if HAS_MP3:
        assert "too short" in problems["truncated"]  # the decoded length counts, not the header's
    assert {"good", "two_s"}.isdisjoint(problems)

    # front end without a crop requirement beyond 1 s: the same clips are dropped
    _, kept = extract_spectrograms(hostile_clips, "javadi_cnn", cache=False, n_jobs=1, progress=False)
    assert ids - set(kept["track_id"]) == set(problems)
    # a 2-s clip is shorter than a 3-s segment: validation with that front end says so too
    fe = get_front_end("sun_segment")
    rep_seg = D.validate(hostile_clips, decode=True, front_end=fe, raise_on_error=False)
    _, _, kept_seg = extract_segments(hostile_clips, fe, cache=False, n_jobs=1, progress=False)
    assert ids - set(kept_seg["track_id"]) == set(rep_seg["track_id"])
    assert "two_s" in set(rep_seg["track_id"]) and "good" not in set(rep_seg["track_id"])
    # ... and the central 24 s of the multi-source front end: every clip here is too short
    need = audio.required_seconds(get_front_end("cazzaniga_image"))
    assert need == 24.0
    assert set(D.validate(hostile_clips, decode=True, front_end=get_front_end("cazzaniga_image"),
                          raise_on_error=False)["track_id"]) == ids


def test_validate_without_decoding_names_the_empty_file(hostile_clips):
    rep = D.validate(hostile_clips, decode=False, raise_on_error=False)
    problems = dict(zip(rep["track_id"], rep["problem"]))
    assert problems["zero"].startswith("empty file (0 bytes)")
    with pytest.raises(DatasetError, match=r"zero\.mp3: empty file \(0 bytes\)"):
        D.validate(hostile_clips, decode=False)


def test_one_minimum_for_validation_and_front_ends():
    from mer_utils.features import FRONT_ENDS

    assert {fe.min_seconds for fe in FRONT_ENDS.values()} == {audio.MIN_SECONDS}
    assert audio.required_seconds() == audio.MIN_SECONDS
    assert audio.required_seconds(FRONT_ENDS["sun_segment"]) == 3.0


# =========================================================================== item 5: MTG-Jamendo rows
HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
GOOD = ["track_0000001\tartist_1\talbum_1\t01/1.mp3\t200.5\tmood/theme---happy\tmood/theme---film\n",
        "track_0000002\tartist_2\talbum_2\t02/2.mp3\t100.0\tmood/theme---sad\n"]


def _jamendo(root: Path, rows: list[str]) -> Path:
    (root / "data/tags").mkdir(parents=True)
    (root / "data/splits/split-0").mkdir(parents=True)
    (root / "data/autotagging_moodtheme.tsv").write_text(HEADER + "".join(rows))
    for split in ("train", "validation", "test"):
        (root / f"data/splits/split-0/autotagging_moodtheme-{split}.tsv").write_text(HEADER + GOOD[0])
    (root / "data/tags/moodtheme.txt").write_text(
        "".join(f"mood/theme---{t}\n" for t in ("film", "happy", "sad")))
    return root


@pytest.mark.parametrize("bad,value", [
    ("track_0000003\tartist_3\talbum_3\t03/3.mp3\tlong\tmood/theme---sad\n", "'long'"),      # DURATION
    ("track_0000003\tartist_3\talbum_3\t03/3.mp3\t186.0\t186.0\tmood/theme---sad\n", "'186.0'"),  # shifted
    ("track_0000003\tartist_3\talbum_3\t03/3.mp3\t186.0\tmood/theme---hapy\n", "'hapy'"),    # misspelt
])
def test_malformed_jamendo_rows_name_file_line_and_value(tmp_path, bad, value):
    root = _jamendo(tmp_path / "mtg", GOOD + [bad])
    with pytest.raises(DatasetError) as ei:
        D.load("mtg-jamendo", root)
    msg = str(ei.value)
    assert "autotagging_moodtheme.tsv, line 4" in msg and value in msg


def test_jamendo_split_rows_are_checked_too(tmp_path):
    root = _jamendo(tmp_path / "mtg", GOOD)
    split = root / "data/splits/split-0/autotagging_moodtheme-test.tsv"
    split.write_text(HEADER + GOOD[0].replace("happy", "hapy"))
    with pytest.raises(DatasetError, match=r"autotagging_moodtheme-test\.tsv, line 2: tag 'hapy'"):
        D.load("mtg-jamendo", root)


# =========================================================================== item 7: empty CSV
@pytest.mark.parametrize("content", ["", "Song,Quadrant\n"])
def test_empty_annotations_csv_names_its_path(tmp_path, content):
    base = tmp_path / "4q"
    for i, q in enumerate(("Q1", "Q2", "Q3", "Q4")):
        _tone(base / q / f"MT{i:010d}.wav", 1.0)
    ann = base / "panda_dataset_taffc_annotations.csv"
    ann.write_text(content)
    with pytest.raises(DatasetError, match=re.escape(str(ann))):
        D.load("4q", base)


def test_empty_pmemo_annotations_name_their_path(tmp_path):
    pm = tmp_path / "PMEmo2019"
    (pm / "annotations").mkdir(parents=True)
    (pm / "annotations" / "static_annotations.csv").write_text("")
    _tone(pm / "chorus" / "1.wav", 1.0)
    with pytest.raises(DatasetError, match="static_annotations.csv: the annotations file is empty"):
        D.load("pmemo", tmp_path)


# =========================================================================== item 8: visible fallbacks
def _unrelated(root: Path) -> None:
    root.mkdir()
    (root / "notes.txt").write_text("hello")
    (root / "photos").mkdir()
    (root / "photos" / "a.jpg").write_bytes(b"\xff\xd8")


def _one_class(root: Path) -> None:
    for i in range(3):
        _tone(root / "happy" / f"h{i}.wav", 1.0)


@pytest.mark.parametrize("make,why", [
    (lambda r: r.mkdir(), "is empty"),
    (_unrelated, "none laid out as a known data set"),
    (_one_class, "only one class folder (happy/)"),
])
@pytest.mark.parametrize("task", ["quadrant", "label3"])
def test_fallback_to_demo_is_printed_and_recorded(tmp_path, capsys, make, why, task):
    root = tmp_path / "data"
    make(root)
    ctx = setup_run("99_rel", profile="smoke", data_root=str(root))
    _, desc = D.select_corpus(ctx, task)
    assert "demo corpus" in desc
    [sub] = ctx.manifest.substitutions
    assert sub["used"] == "demo corpus" and task in sub["what"] and why in sub["reason"]
    assert why in capsys.readouterr().out
    # the manifest on disk says so (not "substitutions: none")
    m = json.loads(ctx.write_manifest().read_text())
    assert m["substitutions"] == [sub]


def test_default_run_on_the_demo_corpus_is_no_substitution():
    ctx = setup_run("99_rel", profile="smoke")
    if ctx.datasets():
        pytest.skip("data/raw holds real data on this machine")
    D.select_corpus(ctx, "quadrant")
    assert ctx.manifest.substitutions == []


def test_a_set_beside_the_wanted_one_is_named(tmp_path):
    _jamendo(tmp_path / "root" / "mtg", GOOD)
    ctx = setup_run("99_rel", profile="smoke", data_root=str(tmp_path / "root"))
    D.select_corpus(ctx, "quadrant")
    [sub] = ctx.manifest.substitutions
    assert "holds mtg-jamendo but no 4Q data set" in sub["reason"]


# =========================================================================== item 2 + 9: killed runs
WRITER = '''import os, time, pathlib
import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from mer_utils.context import setup_run
ctx = setup_run("00_writer", profile=profile, data_root=data_root, seed=seed)
tag = os.environ["REL_TAG"]
ctx.save_table(pd.DataFrame({"tag": [tag], "hash_seed": [os.environ.get("PYTHONHASHSEED")]}), "first")
fig = plt.figure(figsize=(2, 2)); plt.title(tag); ctx.savefig(fig, "picture")
ctx.manifest.notes.append(tag)
if os.environ.get("REL_HANG"):
    pathlib.Path(os.environ["REL_HANG"]).write_text(str(os.getpid()))
    time.sleep(120)
ctx.save_table(pd.DataFrame({"tag": [tag]}), "second")
ctx.write_manifest()
'''
READER = '''import os
import pandas as pd
from mer_utils.context import setup_run
ctx = setup_run("01_reader", profile=profile, data_root=data_root, seed=seed)
seen = pd.read_csv(ctx.results_dir / "first.csv")["tag"].tolist()
assert seen == [os.environ["REL_TAG"]], seen   # the writer's committed table, of this run
ctx.save_table(pd.DataFrame({"seen": seen}), "reader")
'''


def _notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('profile = "smoke"\ndata_root = ""\nseed = 0')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in code.split("\n\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    """A project root of its own (MER_ROOT) with tiny notebooks, run through run_all.sh."""
    root = tmp_path / "proj"
    _notebook(root / "notebooks" / "00_writer.ipynb", WRITER)
    _notebook(root / "notebooks" / "01_reader.ipynb", READER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MER_", "PYTHONHASHSEED"))}
    env.update(MER_ROOT=str(root), MER_RESULTS=str(root / "results"), MER_FIGURES=str(root / "figures"),
               MER_VENV=str(Path(sys.executable).parents[1]), MER_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    return root, env


def _start(env: dict, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(REPO / "run_all.sh"), "--skip-setup", "--profile", "smoke", *args],
                            env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _state(root: Path) -> dict[str, str]:
    """Every committed output file (not the staging folder, not the runner's notebook locks)
    -> sha1 of its bytes."""
    files = {}
    for base in (root / "results", root / "figures"):
        for p in sorted(base.rglob("*")):
            if p.is_file() and ".incomplete" not in p.parts and ".locks" not in p.parts:
                files[str(p.relative_to(root))] = hashlib.sha1(p.read_bytes()).hexdigest()
    return files


def _gone(pid: int, within: float = 10.0) -> bool:
    import psutil

    end = time.time() + within
    while time.time() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.notebook
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killed_run_leaves_the_last_complete_outputs(project, tmp_path, sig):
    """Item 2 (outputs replaced only by a complete run) and item 9 (Ctrl-C = SIGTERM)."""
    root, env = project
    rc, out, err = _finish(_start(env, "--only", "00", REL_TAG="A"))
    assert rc == 0, out + err
    first = _state(root)
    label = root / "results" / "smoke"
    assert pd.read_csv(label / "first.csv")["tag"].tolist() == ["A"]
    assert json.loads((label / "manifests/00_writer/manifest.json").read_text())["notes"] == ["A"]
    assert (root / "figures" / "smoke" / "picture.png").exists() and not (label / ".incomplete").exists()

    mark = tmp_path / "reached"
    proc = _start(env, "--only", "00", REL_TAG="B", REL_HANG=str(mark))
    end = time.time() + 180
    while not mark.exists() and proc.poll() is None and time.time() < end:
        time.sleep(0.2)
    assert mark.exists(), _finish(proc)  # the kernel has written a table and a figure of run B
    kernel = int(mark.read_text())
    time.sleep(0.3)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # what Ctrl-C in a terminal does: signal the foreground group
    else:
        proc.send_signal(sig)
    rc, out, err = _finish(proc, timeout=60)
    # the complete run's tables, figure and manifest, byte for byte; nothing of run B
    assert _state(root) == first
    assert _gone(kernel), "the kernel outlived the run"
    assert rc == 128 + sig, out + err
    assert "interrupted" in out and sig.name in err
    assert "interrupted" in (sorted((root / "runs").iterdir())[-1] / "timings.csv").read_text()

    # the next complete run discards run B's stage and replaces everything at once; a later
    # notebook reads the earlier one's committed table
    rc, out, err = _finish(_start(env, REL_TAG="C"))
    assert rc == 0, out + err
    assert pd.read_csv(label / "first.csv")["tag"].tolist() == ["C"]
    assert pd.read_csv(label / "second.csv")["tag"].tolist() == ["C"]
    assert pd.read_csv(label / "reader.csv")["seen"].tolist() == ["C"]
    assert json.loads((label / "manifests/00_writer/manifest.json").read_text())["notes"] == ["C"]
    assert not (label / ".incomplete").exists()


def test_a_commit_cut_short_is_finished_at_the_next_start(tmp_path, monkeypatch):
    """Even a SIGKILL between moving files: the COMPLETE marker makes the next start finish it."""
    from mer_utils import context as R

    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(R, "FIGURES_DIR", tmp_path / "figures")
    monkeypatch.setenv(R.STAGE_ENV, str(tmp_path / "registry-1"))
    ctx = setup_run("00_w", profile="smoke")
    ctx.save_table(pd.DataFrame({"v": [1]}), "a")
    ctx.save_table(pd.DataFrame({"v": [1]}), "b")
    pairs = R.staged_outputs(ctx.stage)
    assert pairs[-1][0].name == "manifest.json"  # manifests move last
    (ctx.stage / "COMPLETE").write_text("complete\n")
    src, dst = pairs[0]
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)  # ... and the process died here
    monkeypatch.setenv(R.STAGE_ENV, str(tmp_path / "registry-2"))
    ctx2 = setup_run("00_w", profile="smoke")
    assert (ctx.results_dir / "a.csv").exists() and (ctx.results_dir / "b.csv").exists()
    assert (ctx.results_dir / "manifests/00_w/manifest.json").exists()
    assert ctx2.stage.exists() and not (ctx2.stage / "results").exists()  # a fresh, empty stage


def test_without_the_runner_outputs_are_written_in_place(tmp_path, monkeypatch):
    from mer_utils import context as R

    monkeypatch.delenv(R.STAGE_ENV, raising=False)
    ctx = setup_run("99_rel", profile="smoke")
    assert ctx.stage is None
    path = ctx.save_table(pd.DataFrame({"v": [1]}), "inplace")
    assert path == ctx.results_dir / "inplace.csv" and path.exists()


# =========================================================================== quiet main job
CHATTY = '''import os, sys
os.write(2, b"CHATTER-ON-FD2\\n")
from mer_utils.context import setup_run
ctx = setup_run("00_chatty", profile=profile, data_root=data_root, seed=seed)
import pandas as pd
ctx.manifest.substitute("the real thing", "a stand-in", "the real thing is absent")
ctx.save_table(pd.DataFrame({"hash_seed": [os.environ.get("PYTHONHASHSEED")]}), "hash_seed")
'''
FAILING = '''def inner_function():
    raise ValueError("boom in a nested call")

inner_function()
'''


@pytest.mark.notebook
def test_quiet_main_job(tmp_path):
    root = tmp_path / "proj"
    _notebook(root / "notebooks" / "00_chatty.ipynb", CHATTY)
    _notebook(root / "notebooks" / "01_failing.ipynb", FAILING)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MER_", "PYTHONHASHSEED"))}
    env.update(MER_ROOT=str(root), MER_RESULTS=str(root / "results"), MER_FIGURES=str(root / "figures"),
               PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-m", "mer_utils.notebook_runner", "--profile", "smoke", "--out", str(root / "run")],
                       env=env, capture_output=True, text=True, timeout=300)
    terminal = r.stdout + r.stderr
    assert r.returncode == 1, terminal
    # chatter of the kernels (ipykernel's warnings, writes to fd 2) is in the log only
    assert "CHATTER-ON-FD2" not in terminal and "IPKernelApp" not in terminal, terminal
    log = (root / "run" / "log.txt").read_text()
    assert "CHATTER-ON-FD2" in log and "===== 00_chatty.ipynb" in log
    # the failing cell's traceback, not only the last line
    assert "inner_function" in r.stderr and "ValueError: boom in a nested call" in r.stderr
    # one line per notebook with its time and peak memory
    assert re.search(r"\[1/2\] 00_chatty \.\.\. ok +\d+ s +peak \d+\.\d\d GiB", r.stdout), r.stdout
    assert "01_failing ... FAILED" in r.stdout
    # what the notebook substituted is on the terminal too
    assert "substitution: a stand-in for the real thing (the real thing is absent)" in r.stdout
    # PYTHONHASHSEED=0 is set for the kernels and recorded in the manifest
    assert pd.read_csv(root / "results" / "smoke" / "hash_seed.csv")["hash_seed"].tolist() == [0]
    man = json.loads((root / "results/smoke/manifests/00_chatty/manifest.json").read_text())
    assert man["python_hash_seed"] == "0"
    assert "PYTHONHASHSEED=0" in r.stdout
