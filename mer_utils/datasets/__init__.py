"""Data layer: one loader per data set, discovery by publisher layout, the demo corpus.

    >>> from mer_utils.datasets import discover, load
    >>> discover("../shared/data")            # {'4q': Path(...4q-dev), 'mtg-jamendo': Path(...)}
    >>> df = load("4q", "../shared/data/4q-dev")

Every loader returns a tidy table: one row per track with ``track_id, path, dataset,
duration`` and the labels the set has (``quadrant, valence, arousal, tags, genre,
artist``). Raw data is only read, never written. :func:`validate` lists missing or
undecodable files. :func:`select_corpus` is what notebooks call: the real data set for a
task when it is under the data root, else the demo corpus, recorded in the manifest.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mer_utils.datasets import demo, folder, fourq, jamendo, va_sets
from mer_utils.config import RAW_DIR
from mer_utils.datasets.base import DatasetError, validate
from mer_utils.datasets.demo import generate_demo, load_demo
from mer_utils.labels import LABEL3_FROM_QUADRANT

__all__ = ["REGISTRY", "DatasetError", "discover", "detect_layouts", "diagnose", "load", "load_demo",
           "generate_demo", "select_corpus", "validate", "TASKS"]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    detect: Callable[[Path], bool]
    load: Callable[..., pd.DataFrame]
    instructions: Callable[[Path], str]
    description: str


# Order = specificity: when several layouts match one folder (a 4Q copy without its
# annotations CSV also looks like a folder of four classes), the first one wins.
REGISTRY: dict[str, DatasetSpec] = {
    "mtg-jamendo": DatasetSpec("mtg-jamendo", jamendo.detect, jamendo.load, jamendo.instructions,
                               "MTG-Jamendo auto-tagging mood/theme (59 tags, split-0)"),
    # before 4Q: its quadrant folders of MT* clips also look like a 4Q copy without annotations
    "new-4qaed": DatasetSpec("new-4qaed", fourq.detect_expanded, fourq.load_expanded, fourq.expanded_instructions,
                             "New-4QAED, the expanded 4Q set (C: 1629 clips, B: 1372) or the MERGE Audio release"),
    "4q": DatasetSpec("4q", fourq.detect, fourq.load, fourq.instructions,
                      "4Q audio emotion data set (900 clips, 4 quadrants)"),
    "pmemo": DatasetSpec("pmemo", va_sets.pmemo_detect, va_sets.load_pmemo, va_sets.pmemo_instructions,
                         "PMEmo 2019 (static V/A in [0, 1], choruses)"),
    "deam": DatasetSpec("deam", va_sets.deam_detect, va_sets.load_deam, va_sets.deam_instructions,
                        "Emotion in Music / DEAM (static V/A on 1-9, 45-s clips)"),
    "bimodal": DatasetSpec("bimodal", va_sets.bimodal_detect, va_sets.load_bimodal,
                           va_sets.bimodal_instructions, "Bi-Modal (V/A in [-4, 4])"),
    # last: the generic layout, tried only when no publisher layout matched
    "folder": DatasetSpec("folder", folder.detect, folder.load,
                          lambda r: f"folder of classes: {r}/<class>/<audio files>",
                          "a user's folder of classes"),
}


def detect_layouts(path: Path | str) -> list[str]:
    """Every registered layout ``path`` matches, most specific first (REGISTRY order)."""
    out = []
    for name, spec in REGISTRY.items():
        try:
            if spec.detect(Path(path)):
                out.append(name)
        except OSError:
            continue
    return out


def _detect_one(path: Path) -> str | None:
    """The most specific layout ``path`` matches (a publisher's before the generic folder)."""
    found = detect_layouts(path)
    return found[0] if found else None


def discover(root: Path | str | None) -> dict[str, Path]:
    """Find data sets under ``root`` by their publisher's layout.

    ``root`` may be one data set (``../shared/data/4q-dev``) or a folder holding several,
    one sub-folder each (``data/raw/``, ``../shared/data``). Returns name -> folder.
    """
    if root is None:
        return {}
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Data root {root} is not a folder.")
    here = _detect_one(root)
    if here is not None:
        return {here: root}
    found: dict[str, Path] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = _detect_one(sub)
        if name is not None and name not in found:
            found[name] = sub
    return found


def diagnose(root: Path | str | None, *, near_misses_only: bool = False) -> list[str]:
    """Why no data set (or not the one expected) was recognised under ``root``: near misses
    of each layout (Q1..Q4 without annotations or clips, a folder of classes with one
    class, audio files with no class folders, MTG-Jamendo without its TSV), or what the
    folder holds when nothing comes close. Used to say why a run falls back to the demo corpus.
    """
    if root is None:
        return [f"no --data given and {RAW_DIR} holds no data set"]
    root = Path(root)
    if not root.is_dir():
        return [f"{root} is not a folder"]
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    if not entries:
        return [f"{root} is empty"]
    notes: list[str] = []
    candidates = [root] + [p for p in entries if p.is_dir()][:50]
    for folder_path in candidates:
        if _detect_one(folder_path) is None:
            notes += _near_misses(folder_path)
    if not notes and not near_misses_only:
        files = [p.name for p in entries if p.is_file()]
        dirs = [p.name + "/" for p in entries if p.is_dir()]
        held = ", ".join(filter(None, [
            f"{len(files)} file(s) ({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})" if files else "",
            f"{len(dirs)} folder(s) ({', '.join(dirs[:3])}{', ...' if len(dirs) > 3 else ''})" if dirs else ""]))
        notes.append(f"{root} holds {held}, none laid out as a known data set "
                     f"({', '.join(REGISTRY)}; see mer_utils.datasets.instructions(name, root))")
    return notes


def _near_misses(path: Path) -> list[str]:
    from mer_utils.audio import is_audio_file

    out = []
    try:
        subdirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
        audio_here = [f for f in path.iterdir() if is_audio_file(f)]
        with_audio = [d for d in subdirs if any(is_audio_file(f) for f in d.iterdir())]
    except OSError as exc:
        return [f"{path}: cannot be read ({exc})"]
    quads = [q for q in ("Q1", "Q2", "Q3", "Q4") if (path / q).is_dir() or (path / fourq.INNER / q).is_dir()]
    if quads:
        if len(quads) < 4:
            out.append(f"{path} has {'/'.join(quads)} but 4Q needs all four quadrant folders Q1..Q4")
        else:
            out.append(f"{path} has Q1..Q4 but neither {fourq.ANNOTATIONS} nor MT*.mp3 clips in them")
    elif (path / "data").is_dir() and not (path / jamendo.META).exists() and (path / "data" / "tags").is_dir():
        out.append(f"{path} looks like the MTG-Jamendo repository but lacks {jamendo.META}")
    elif len(with_audio) == 1 and len(subdirs) == 1:
        out.append(f"{path} looks like a folder of classes but has only one class folder "
                   f"({with_audio[0].name}/); a classification task needs at least 2")
    elif len(with_audio) >= 2 and len(with_audio) < len(subdirs):
        empty = [d.name + "/" for d in subdirs if d not in with_audio]
        out.append(f"{path} has class folders with audio but also {', '.join(empty[:3])} without "
                   f"any; remove those or list the classes in {folder.MARKER}")
    elif len(with_audio) >= 2:
        out.append(f"{path} has class folders with audio but also CSV/TSV files, so it is not taken "
                   f"for a folder of classes; list the classes in {folder.MARKER} to use it as one")
    elif audio_here:
        out.append(f"{path} holds {len(audio_here)} audio file(s) directly but no labels: put them "
                   f"in one sub-folder per class ({path}/<class>/<files>)")
    return out


def load(name: str, root: Path | str, **kwargs) -> pd.DataFrame:
    """Load data set ``name`` from ``root`` (``"demo"`` takes a profile name as root)."""
    if name == "demo":
        return load_demo(root if root else "demo", **kwargs)
    if name not in REGISTRY:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(REGISTRY)} and 'demo'")
    return REGISTRY[name].load(Path(root), **kwargs)


def instructions(name: str, root: Path | str) -> str:
    return REGISTRY[name].instructions(Path(root))


# --------------------------------------------------------------------------- corpus selection
TASKS = ("quadrant", "label3", "tags", "multisource")
MULTISOURCE = ("4q", "pmemo", "deam", "bimodal")


def cap_stratified(df: pd.DataFrame, n: int | None, by: str, seed: int = 0) -> pd.DataFrame:
    """At most ``n`` rows, the same number per class where possible (deterministic)."""
    if n is None or len(df) <= n:
        return df
    classes = sorted(df[by].dropna().unique())
    per = max(1, n // max(1, len(classes)))
    parts = [g.sample(n=min(per, len(g)), random_state=seed) for _, g in df.groupby(by, sort=True)]
    return pd.concat(parts).sort_values("track_id").reset_index(drop=True)


def select_corpus(ctx, task: str, *, sources: tuple[str, ...] | None = None,
                  subset: str = "auto") -> tuple[pd.DataFrame, str]:
    """The table a paper notebook trains on, with a one-line description.

    * ``quadrant``    real 4Q if under the data root, else the expanded 4Q set (New-4QAED;
                      ``subset``: 'auto', 'complete', 'balanced'), else the demo corpus (all
                      sources, or those in ``sources``);
    * ``label3``      a user's folder of classes, else a 3-class 4Q subset (Q1 happy, Q3 sad,
                      Q4 calm), else the demo corpus's ``label3``; column ``label3``;
    * ``tags``        real MTG-Jamendo metadata (tags + split-0; audio may be absent: see
                      ``audio_exists``), else the demo corpus with its MTG-Jamendo tags;
    * ``multisource`` every real set of 4Q/PMEmo/DEAM/Bi-Modal present, concatenated,
                      else the demo corpus's four mimicked sources.

    Under a profile with ``max_tracks`` (smoke) real sets are capped, stratified.
    The choice is recorded in ``ctx.manifest.data_sources``. When a data root was given
    (``--data``) and the task's real data is not under it, the fallback to the demo corpus
    is printed and recorded as a substitution with the reason (:func:`diagnose`): an empty
    or unrelated folder, a folder of classes with one class, ... never a silent switch.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {TASKS}")
    found = ctx.datasets()
    cap = ctx.p.max_tracks
    demo_seed = int(ctx.p.get("demo_seed", 0))

    def demo_df():
        df = load_demo(ctx.p, seed=demo_seed, cache_dir=ctx.cache_dir)
        if sources:
            df = df[df["source"].isin(sources)].reset_index(drop=True)
        return df

    def load_noted(name: str, root, **kwargs) -> pd.DataFrame:
        """The loader's table; what it had to say (files not used, rows read once) goes to
        the manifest's notes and is printed."""
        df = load(name, root, **kwargs)
        for n in df.attrs.get("load_notes", []):
            print(f"NOTE: {n}")
            ctx.manifest.notes.append(n)
        return df

    def fell_back(wanted: str) -> None:
        if ctx.data_root is None:  # the default run: the demo corpus is the intended data
            return
        notes = diagnose(ctx.data_root, near_misses_only=bool(found))
        reason = "; ".join(([f"{ctx.data_root} holds {', '.join(sorted(found))} but no {wanted}"]
                            if found else []) + notes)
        ctx.manifest.substitute(f"real data for the '{task}' task ({wanted})", "demo corpus", reason)
        print(f"NOTE: the '{task}' task runs on the demo corpus, not real data: {reason}")

    if task == "quadrant":
        if "4q" in found:
            df = cap_stratified(load_noted("4q", found["4q"]), cap, "quadrant", ctx.seed)
            desc = f"4Q (real) from {found['4q']}: {len(df)} clips"
        elif "new-4qaed" in found:
            df = cap_stratified(load_noted("new-4qaed", found["new-4qaed"], subset=subset), cap, "quadrant",
                                ctx.seed)
            desc = f"{df['collection'].iloc[0]} (real) from {found['new-4qaed']}: {len(df)} clips"
        else:
            fell_back("4Q data set")
            df = demo_df()
            desc = f"demo corpus ({len(df)} synthetic clips; no 4Q under the data root)"
    elif task == "label3":
        if "folder" in found:
            df = load_noted("folder", found["folder"], label_column="label3")
            df = cap_stratified(df, cap, "label3", ctx.seed)
            desc = f"folder of classes {found['folder']}: {df['label3'].nunique()} classes, {len(df)} clips"
        elif "4q" in found:
            df = load_noted("4q", found["4q"])
            df["label3"] = df["quadrant"].map(LABEL3_FROM_QUADRANT)
            df = cap_stratified(df.dropna(subset=["label3"]).reset_index(drop=True), cap, "label3", ctx.seed)
            desc = (f"4Q (real) 3-class subset from {found['4q']}: Q1=happy, Q3=sad, Q4=calm, "
                    f"{len(df)} clips")
        else:
            fell_back("folder of classes or 4Q data set")
            df = demo_df().dropna(subset=["label3"]).reset_index(drop=True)
            desc = f"demo corpus 3-class label (Q1 happy, Q3 sad, Q4 calm): {len(df)} clips"
    elif task == "tags":
        if "mtg-jamendo" in found:
            df = load_noted("mtg-jamendo", found["mtg-jamendo"])
            n_audio = int(df["audio_exists"].sum())
            desc = (f"MTG-Jamendo mood/theme (real metadata) from {found['mtg-jamendo']}: "
                    f"{len(df)} tracks, audio found for {n_audio}")
        else:
            fell_back("MTG-Jamendo metadata")
            df = demo_df()
            desc = f"demo corpus with MTG-Jamendo mood/theme tags: {len(df)} clips"
    else:  # multisource
        real = [s for s in MULTISOURCE if s in found and (not sources or s in sources)]
        if real:
            parts = [cap_stratified(load_noted(s, found[s]), cap, "quadrant", ctx.seed) for s in real]
            df = pd.concat(parts, ignore_index=True)
            missing = [s for s in MULTISOURCE if s not in real]
            desc = (f"real sources {real} ({len(df)} clips)"
                    + (f"; absent: {missing}" if missing else ""))
        else:
            fell_back("4Q, PMEmo, DEAM or Bi-Modal data set")
            df = demo_df()
            desc = f"demo corpus, sources {sorted(df['source'].unique())}: {len(df)} clips"
    ctx.manifest.add_source(task, desc)
    return df.reset_index(drop=True), desc
