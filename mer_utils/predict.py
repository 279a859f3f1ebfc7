"""Your own songs: the leaderboard's best entry, trained on every clip of the run's data, predicts
the quadrant (with probabilities) of audio files a user names; the command-line twin of
notebook 80 (``python -m mer_utils.predict FILE...``), and the only module besides notebook
80 that holds several papers (its own top layer).

**Which entry.** :func:`choose_entry` walks the leaderboard (best macro F1 first) and takes the
first entry that can be trained from audio here: a *stored* entry (the methods-comparison rows
read back from notebook 50) has no ``make``, so it cannot be retrained; the SVM baseline among
them reads the 4Q data set's feature release, which a new audio file does not have. It says
which entry it took and why every better-ranked one was passed over.

**How a new file is predicted.** A :class:`~mer_utils.leaderboard.Method` predicts rows of the
clip table it was made with, so :func:`train_on_all` makes the method once on (the run's clips
+ the user's files), fits it on the labelled rows only (a stratified validation share held out
as :func:`mer_utils.leaderboard.with_validation` does, when the entry stops early on one) and
predicts the user's rows. The user's clips carry no label and never reach ``fit``.

**A saved model** is a new folder per save, ``results/<label>/models/<entry>-<date>-<time>``
(``-2``, ``-3``... within one second; an earlier folder is never overwritten), holding
``manifest.json`` (entry, paper, family, settings and their hash, profile, seed, the data it
was trained on: corpus, clips per quadrant, a fingerprint of every clip in ``training_clips.csv``,
class order, versions, seconds, date) and the fitted state: ``forest.joblib`` (a random forest;
its SHA-256 is in the manifest and checked before loading, so load only folders you made) or
``weights.npz`` + ``scaler.npz`` (a Keras method; no pickle). :func:`load_model` rebuilds the
entry from its paper (same name, same settings hash, else a clear error), makes it on the new
files' clips (the same feature extraction) and puts the saved state back. A method of another
kind (the EfficientNet, the SSSL pipeline) predicts the files named at training time but has
no saved form: its manifest says so.

**Files that cannot be used** (missing, empty, undecodable, silent, shorter than
:data:`mer_utils.audio.MIN_SECONDS`) are checked with :func:`mer_utils.audio.check_file` first:
each gets a row whose ``error`` names the file and says what to do; the others are predicted.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mer_utils.audio import AudioError, check_file
from mer_utils.download import sha256sum
from mer_utils.config import atomic_write_text, git_commit
from mer_utils.leaderboard import LABELS, Clips, Entry, ForestMethod, KerasMethod, clip_fingerprints, with_validation
from mer_utils.results import Unit

#: The notebook whose data, splits and leaderboard this module shares (its results folder).
NOTEBOOK = "80_leaderboard"
#: Papers whose entries are trained from audio here (notebook 80's order); Louro's rows are
#: stored predictions of notebook 50.
TRAINED_PAPERS = ("javadi", "velankar", "cazzaniga", "sun")
MANIFEST = "manifest.json"
#: ``error`` of a file that was predicted (never empty: an all-empty text column reads back as NaN).
NO_ERROR = "—"
#: Source name of the user's clips in the combined clip table.
OWN = "own"


class ModelError(RuntimeError):
    """A model folder that cannot be used: names the folder, says what is wrong and what to do."""


# =========================================================================== entries
def trained_entries(profile: str) -> list[Entry]:
    """Every paper's leaderboard entries that are trained from audio here, for ``profile``."""
    import importlib

    out: list[Entry] = []
    for name in TRAINED_PAPERS:
        out += importlib.import_module(f"mer_utils.papers.{name}").quadrant_entries(profile)
    return out


def choose_entry(board: pd.DataFrame | None, entries: Sequence[Entry], name: str | None = None
                 ) -> tuple[Entry, str]:
    """The entry to train on all clips, and why: ``name`` when given; else the best-ranked
    (``board``: :func:`mer_utils.leaderboard.leaderboard_table`, best F1 first) that can be
    trained from audio here, each better-ranked one named with the reason it was passed over;
    without a leaderboard, the first entry that can be trained here (said so)."""
    by = {e.name: e for e in entries}
    if name:
        if name not in by:
            raise KeyError(f"no entry {name!r}; entries: {sorted(by)}")
        if by[name].not_trained:
            raise ValueError(f"{name!r} is not trained under this profile (full profile only: "
                             f"{by[name].not_trained}); name another entry or use --profile full")
        if by[name].stored:
            raise ValueError(f"{name!r} is a stored entry (predictions of the {by[name].paper} notebook): "
                             "it cannot be retrained here; name an entry trained from audio")
        return by[name], f"{name!r}: named by the caller"
    trainable = [e for e in entries if not e.stored and not e.not_trained]
    if not trainable:
        raise ValueError("no entry can be trained from audio here")
    if board is None or not len(board):
        e = trainable[0]
        return e, (f"{e.name!r}: no leaderboard of this run yet (run notebook 80 for the ranking); "
                   "the first entry that can be trained from audio here")
    passed = []
    for rank, (ename, f1) in enumerate(zip(board["entry"], board["f1"]), start=1):
        e = by.get(ename)
        if e is not None and e.not_trained:
            continue                      # listed without a score ("full profile only"): ranked last
        if e is None:
            passed.append(f"#{rank} {ename!r}: not among the entries given (a stored table of older code?)")
            continue
        if e.stored:
            why = (f"#{rank} {ename!r} (F1 {f1:.3f}): stored predictions of the {e.paper} notebook, "
                   "no method to retrain here")
            if "svm" in ename.lower():
                why += " (its SVM reads the 4Q data set's feature release, which a new audio file does not have)"
            passed.append(why)
            continue
        why = f"{ename!r}: rank {rank} of {len(board)} (macro F1 {f1:.3f} over {int(board['units'].iloc[rank - 1])} unit(s)), " \
              "the best-ranked entry that can be trained from audio here"
        if passed:
            why += "; passed over: " + "; ".join(passed)
        return e, why
    e = trainable[0]
    return e, f"{e.name!r}: no trained-here entry on the leaderboard; the first one ({'; '.join(passed)})"


def stored_board(ctx) -> pd.DataFrame | None:
    """Notebook 80's saved leaderboard of this run's results folder, or None."""
    path = Path(ctx.results_dir) / "leaderboard.csv"
    return pd.read_csv(path) if path.exists() else None


def demo_files(clips: Clips, y: Sequence, per_quadrant: int = 1) -> list[str]:
    """The first ``per_quadrant`` clip(s) of each quadrant of the run's data (seen in training:
    their predictions show the mechanism, not generalisation)."""
    y = np.asarray(y)
    paths = clips.df["path"].astype(str).to_numpy()
    return [paths[i] for k in range(len(LABELS)) for i in np.flatnonzero(y == k)[:per_quadrant]]


# =========================================================================== files
_CONVERT = "convert it to WAV/FLAC (libsndfile) or MP3 (audioread with ffmpeg) and name it again"
#: Hints for a file the user named (the audio module's speak of a data set's loader).
_OWN_HINTS = {"file not found": "check the path you named (a relative path is read from the current folder)",
              "not a regular file (a folder, pipe or device)": "name the audio files themselves, not a folder"}


def check_files(paths: Sequence) -> tuple[list[str], dict[str, str]]:
    """(usable paths, {path: message}) after :func:`mer_utils.audio.check_file` (exists, is a
    regular non-empty file, decodes, not silent, at least ``MIN_SECONDS``)."""
    ok, bad = [], {}
    for p in paths:
        p = str(p)
        try:
            check_file(p)
            ok.append(p)
        except AudioError as exc:
            hint = _OWN_HINTS.get(exc.reason, exc.hint) or _CONVERT
            bad[p] = f"{p}: {exc.reason}. {hint}"
    return ok, bad


def own_clips(paths: Sequence[str], start: int = 0) -> pd.DataFrame:
    """Clip-table rows (no label) for the user's files."""
    return pd.DataFrame({"track_id": [f"{OWN}:{start + i}:{Path(p).name}" for i, p in enumerate(paths)],
                         "path": [str(Path(p).resolve()) for p in paths], "dataset": OWN, "source": OWN})


def _combined(clips: Clips, files: Sequence[str]) -> Clips:
    extra = own_clips(files).reindex(columns=clips.df.columns.union(["track_id", "path", "dataset", "source"],
                                                                      sort=False))
    df = pd.concat([clips.df, extra], ignore_index=True) if len(files) else clips.df
    return Clips(df, clips.corpus, clips.real)


# =========================================================================== training
@dataclasses.dataclass
class TrainedModel:
    """A method fitted on every labelled clip: its folder, entry, the combined clip table it was
    made with (run's clips, then the user's files) and where each user file sits in it."""

    folder: Path
    entry: Entry
    method: Any
    clips: Clips
    rows: dict[str, int]
    manifest: dict
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    ctx: Any = None

    @property
    def summary(self) -> str:
        """Where the model is and whether it can be reloaded for other files."""
        state = self.manifest["state"]
        if state.get("kind"):
            return f"model saved: {self.folder} ({', '.join(state['files'])}; reload it with --model)"
        return f"manifest only: {self.folder} ({state.get('why')})"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def new_model_folder(parent: Path, entry_name: str) -> Path:
    """A folder of its own, ``<parent>/<entry>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... when
    another save happened in the same second), created atomically: never an earlier one."""
    from mer_utils.config import new_stamped_folder

    return new_stamped_folder(parent, _slug(entry_name), "model folder")


def config_hash(entry: Entry) -> str:
    """A hash of the entry's settings (everything that changes its numbers)."""
    text = json.dumps(dict(entry.config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "mer_utils": git_commit()}
    for pkg in ("numpy", "scikit-learn", "keras", "tensorflow", "torch", "jax", "librosa"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _save_state(method, folder: Path) -> dict:
    """The fitted state of ``method`` into ``folder``: {"kind", "files": {name: sha256}} or
    kind None (with why) for a method that has no saved form."""
    if isinstance(method, ForestMethod):
        import joblib

        joblib.dump(method.model, folder / "forest.joblib")
        names = ["forest.joblib"]
        kind = "forest"
    elif isinstance(method, KerasMethod):
        weights = method.trainer.model.get_weights()
        np.savez(folder / "weights.npz", **{f"w{i:04d}": w for i, w in enumerate(weights)})
        np.savez(folder / "scaler.npz", mean=np.asarray(method.scaler.mean_), std=np.asarray(method.scaler.std_),
                 axis=np.asarray(-999 if method.scaler.axis is None else method.scaler.axis),
                 eps=np.asarray(method.scaler.eps))
        names = ["weights.npz", "scaler.npz"]
        kind = "keras"
    else:
        return {"kind": None, "why": f"{type(method).__name__} has no saved form here (a random forest or a "
                                     "Keras method does): it predicts only the files named when it was trained"}
    return {"kind": kind, "files": {n: sha256sum(folder / n) for n in names}}


def _restore_state(method, folder: Path, state: dict) -> None:
    for name, digest in state["files"].items():
        path = folder / name
        if not path.exists():
            raise ModelError(f"{folder}: {name} is missing; train again (a new folder) or restore the file")
        if sha256sum(path) != digest:
            raise ModelError(f"{path}: its SHA-256 differs from the manifest's (changed or replaced since it was "
                             "saved); it is not loaded. Train again to get a new model folder")
    if state["kind"] == "forest":
        import joblib

        method.model = joblib.load(folder / "forest.joblib")
        method.n_params = int(sum(t.tree_.node_count for t in method.model.estimators_))
    elif state["kind"] == "keras":
        from mer_utils.training import Standardizer

        with np.load(folder / "weights.npz", allow_pickle=False) as w:
            weights = [w[k] for k in sorted(w.files)]
        with np.load(folder / "scaler.npz", allow_pickle=False) as s:
            axis = int(s["axis"])
            scaler = Standardizer(axis=None if axis == -999 else axis, eps=float(s["eps"]))
            scaler.mean_, scaler.std_ = s["mean"], s["std"]
        method.trainer.model = method.trainer.build()
        method.trainer.model.set_weights(weights)
        method.scaler = scaler
    else:
        raise ModelError(f"{folder}: the model has no saved state ({state.get('why', 'unknown kind')}); "
                         "train again naming the files to predict")


def train_on_all(ctx, entry: Entry, clips: Clips, y: Sequence, *, files: Sequence = ()) -> TrainedModel:
    """``entry`` fitted on every labelled clip of ``clips`` (``y``: their quadrant indices in
    :data:`~mer_utils.leaderboard.LABELS` order), made on those clips plus the usable ones of
    ``files`` (predicted by :func:`predict_files`), saved into a new folder under
    ``results/<label>/models/`` with its manifest (:func:`new_model_folder`)."""
    if entry.stored:
        raise ValueError(f"{entry.name!r} is stored (no make): it cannot be trained here")
    y = np.asarray(y)
    if len(y) != len(clips):
        raise ValueError(f"{len(y)} labels for {len(clips)} clips")
    usable, skipped = check_files(list(dict.fromkeys(str(f) for f in files)))
    combined = _combined(clips, usable)
    n = len(clips)
    labelled = np.arange(n)
    t0 = time.perf_counter()
    method = entry.make(ctx, combined)
    t1 = time.perf_counter()
    split = with_validation(_all_rows(labelled), y, entry.validation, seed=ctx.seed)
    method.fit(split.train, y[split.train], split.validation, y[split.validation])
    t2 = time.perf_counter()
    parent = Path(ctx.results_dir) / "models"
    out = new_model_folder(parent, entry.name)
    state = _save_state(method, out)
    fp = clip_fingerprints(clips)
    pd.DataFrame({"track_id": clips.ids, "path": clips.df["path"].astype(str) if "path" in clips.df else "",
                  "quadrant": [LABELS[k] for k in y], "fingerprint": fp}).to_csv(out / "training_clips.csv",
                                                                                 index=False)
    counts = {q: int((y == k).sum()) for k, q in enumerate(LABELS)}
    manifest = {
        "entry": entry.name, "paper": entry.paper, "family": entry.family, "note": entry.note,
        "config": json.loads(json.dumps(dict(entry.config), default=str)), "config_hash": config_hash(entry),
        "profile": ctx.profile, "seed": int(ctx.seed), "labels": list(LABELS),
        "trained_on": {"corpus": clips.corpus, "real": bool(clips.real), "clips": int(n),
                       "clips_per_quadrant": counts, "train": int(len(split.train)),
                       "validation": int(len(split.validation)), "validation_share": float(entry.validation),
                       "data_fingerprint": hashlib.sha256("".join(map(str, fp)).encode()).hexdigest()[:16],
                       "clip_fingerprints": "training_clips.csv"},
        "state": state, "parameters": getattr(method, "n_params", None),
        "seconds": {"make": round(t1 - t0, 2), "fit": round(t2 - t1, 2)},
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "versions": _versions(),
    }
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2, default=str))
    rows = {p: n + i for i, p in enumerate(usable)}
    skipped = dict(skipped)
    for p, r in list(rows.items()):          # an input the entry's extractor could not make
        if str(combined.ids[r]) in combined.df.attrs.get("zero_filled", ()):
            skipped[p] = _not_extracted(p, entry)
            del rows[p]
    return TrainedModel(out, entry, method, combined, rows, manifest, skipped, ctx)


def _not_extracted(path: str, entry: Entry) -> str:
    return (f"{path}: not predicted: {entry.name} could not make its input from this file (too short for "
            "its input, or unreadable by its front end); use a longer excerpt (30 s works for every entry)")


def _all_rows(rows: np.ndarray):
    from mer_utils.evaluation.protocols import Split

    return Split(Unit(0, 0), rows, np.zeros(0, dtype=int))


# =========================================================================== loading, predicting
def read_manifest(folder) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        raise ModelError(f"{folder}: no {MANIFEST}; not a model folder saved by mer_utils.predict "
                         "(train one with `python -m mer_utils.predict FILE...`)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: unreadable ({exc}); train again to get a new model folder") from None


def load_model(folder, ctx=None) -> TrainedModel:
    """A saved model folder, ready to predict new files: its entry rebuilt from its paper (same
    name; same settings hash, else :class:`ModelError`), its fitted state checked and loaded
    when :func:`predict_files` has made the method on the files' clips."""
    import importlib

    folder = Path(folder)
    man = read_manifest(folder)
    if ctx is None:
        from mer_utils.context import setup_run

        ctx = setup_run(NOTEBOOK, profile=man["profile"], seed=int(man["seed"]))
    try:
        entries = importlib.import_module(f"mer_utils.papers.{man['paper']}").quadrant_entries(man["profile"])
    except (ImportError, KeyError, TypeError) as exc:
        raise ModelError(f"{folder}: its paper {man.get('paper')!r} gives no entries ({exc})") from None
    entry = next((e for e in entries if e.name == man["entry"]), None)
    if entry is None:
        raise ModelError(f"{folder}: the entry {man['entry']!r} is no longer one of {man['paper']}'s; train again")
    if config_hash(entry) != man["config_hash"]:
        raise ModelError(f"{folder}: the settings of {entry.name!r} changed since this model was saved "
                         "(its features would differ); train again to get a new model folder")
    if not man["state"].get("kind"):
        raise ModelError(f"{folder}: {man['state'].get('why', 'no saved state')}; train again naming the files")
    return TrainedModel(folder, entry, None, None, {}, man, {}, ctx)


def _rows_table(paths: Sequence[str], P: np.ndarray, bad: dict[str, str], order: Sequence[str],
                model: TrainedModel) -> pd.DataFrame:
    got = {p: P[i] for i, p in enumerate(paths)}
    recs = []
    for p in order:
        rec: dict[str, Any] = {"file": p}
        if p in got:
            rec["quadrant"] = LABELS[int(np.argmax(got[p]))]
            rec.update({f"P({q})": float(v) for q, v in zip(LABELS, got[p])})
            rec["error"] = NO_ERROR
        else:
            rec["quadrant"] = "—"
            rec.update({f"P({q})": np.nan for q in LABELS})
            rec["error"] = bad.get(p, f"{p}: not predicted")
        recs.append(rec)
    df = pd.DataFrame(recs, columns=["file", "quadrant", *[f"P({q})" for q in LABELS], "error"])
    df.attrs["model"] = str(model.folder)
    df.attrs["entry"] = model.entry.name
    return df


def predict_files(model: TrainedModel | str | Path, paths: Sequence) -> pd.DataFrame:
    """One row per file of ``paths``: ``file``, ``quadrant``, ``P(Q1)``..``P(Q4)`` and ``error``
    (:data:`NO_ERROR`, or the message naming a file that could not be used and what to do; the others
    are still predicted). ``model``: a :class:`TrainedModel` (the files it was trained with are
    predicted from it directly) or a saved model folder."""
    order = [str(p) for p in dict.fromkeys(str(p) for p in paths)]
    if not isinstance(model, TrainedModel):
        model = load_model(model)
    bad = {p: m for p, m in model.skipped.items() if p in order}
    known = [p for p in order if p in model.rows]
    todo = [p for p in order if p not in model.rows and p not in bad]
    P_known = (np.asarray(model.method.predict(np.asarray([model.rows[p] for p in known])), dtype=np.float32)
               if known else np.zeros((0, len(LABELS)), np.float32))
    new_ok, new_bad = check_files(todo)
    bad.update(new_bad)
    P_new = np.zeros((0, len(LABELS)), np.float32)
    if new_ok:
        if not model.manifest["state"].get("kind"):
            for p in new_ok:
                bad[p] = (f"{p}: not predicted: this model ({model.entry.name}) has no saved form and predicts "
                          "only the files named when it was trained; train again naming this file")
            new_ok = []
        else:
            clips = Clips(own_clips(new_ok), "own files", False)
            method = model.entry.make(model.ctx, clips)
            _restore_state(method, Path(model.folder), model.manifest["state"])
            zero = clips.df.attrs.get("zero_filled", ())
            made = [i for i in range(len(new_ok)) if str(clips.ids[i]) not in zero]
            for i in sorted(set(range(len(new_ok))) - set(made)):
                bad[new_ok[i]] = _not_extracted(new_ok[i], model.entry)
            P_new = (np.asarray(method.predict(np.asarray(made, dtype=int)), dtype=np.float32) if made
                     else np.zeros((0, len(LABELS)), np.float32))
            new_ok = [new_ok[i] for i in made]
    return _rows_table(known + new_ok, np.concatenate([P_known, P_new]), bad, order, model)


# =========================================================================== command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mer_utils.predict FILE... [--profile demo] [--data-root DIR] [--model DIR]
    [--entry NAME] [--out CSV]``: without ``--model``, the leaderboard's best entry that can be
    trained from audio (or ``--entry``) is trained on all clips of the run's data and saved
    (a new folder); with it, that saved model predicts. Prints one row per file; returns 0
    when every file was predicted, 1 when some could not be used (their rows say why), 2 on a
    bad model folder."""
    ap = argparse.ArgumentParser(prog="python -m mer_utils.predict",
                                 description="Predict the Russell quadrant (Q1..Q4) of audio files with the "
                                             "leaderboard's best entry trained on all clips of the run's data.")
    ap.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, MP3...)")
    ap.add_argument("--profile", default="demo", choices=("smoke", "demo", "full"))
    ap.add_argument("--data-root", default="", help="folder with the 4Q data set (empty: data/raw/, else the "
                                                     "demo corpus)")
    ap.add_argument("--model", default=None, help="a saved model folder (results/<label>/models/...)")
    ap.add_argument("--entry", default=None, help="train this leaderboard entry instead of the best-ranked one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the table to this CSV (refused if it exists)")
    args = ap.parse_args(argv)
    if args.out and Path(args.out).exists():
        print(f"{args.out}: exists; name a new file for --out (nothing a user owns is overwritten)", file=sys.stderr)
        return 2
    try:
        if args.model:
            model = load_model(args.model)
            print(f"model: {args.model} ({model.entry.name}, {model.entry.paper})")
        else:
            model = train_for_run(args.profile, args.data_root, args.seed, args.entry, args.files)
        table = predict_files(model, args.files)
    except ModelError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    with pd.option_context("display.width", 200, "display.max_colwidth", 120):
        print(table.drop(columns="error").to_string(index=False, na_rep="—", float_format=lambda v: f"{v:.3f}"))
    for msg in table.loc[table["error"] != NO_ERROR, "error"]:
        print(f"could not predict {msg}", file=sys.stderr)
    if args.out:
        table.to_csv(args.out, index=False)
    return 1 if (table["error"] != NO_ERROR).any() else 0


def train_for_run(profile: str, data_root: str, seed: int, entry_name: str | None, files: Sequence) -> TrainedModel:
    """What notebook 80 does before its last section, for the command line: the run's data
    (the methods-comparison paper's clips), the entry chosen from the run's leaderboard (or
    named), trained on all clips (``files`` made with them) and saved."""
    from mer_utils.context import setup_run
    from mer_utils.leaderboard import make_clips
    from mer_utils.papers import louro

    ctx = setup_run(NOTEBOOK, profile=profile, data_root=data_root or None, seed=seed)
    data = louro.pipeline.load_data(ctx, louro.Config.for_profile(ctx.profile))
    clips = make_clips(data.df, data.corpus, data.real)
    entries = louro.quadrant_entries(ctx.profile) + trained_entries(ctx.profile)
    entry, why = choose_entry(stored_board(ctx), entries, entry_name)
    print(f"data: {data.corpus}\nentry: {why}")
    model = train_on_all(ctx, entry, clips, data.y, files=files)
    print(model.summary)
    return model


if __name__ == "__main__":
    raise SystemExit(main())
