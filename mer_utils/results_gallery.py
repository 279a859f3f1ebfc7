"""The results gallery of notebook 90: what every paper notebook of one profile left behind.

Read-only over a results folder (``results/<label>/``): the saved paper-vs-reproduced
comparison tables (:func:`mer_utils.scorecard.comparison_tables`), one summary line per
table, the run manifests as one table (data used, substitutions), and the figures. Nothing
here trains or scores; every number comes from tables the notebooks built from stored
predictions.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import pandas as pd

EMPTY = "—"   # a text cell with nothing to say (an empty string would read back as NaN)


def gallery_summary(comparisons: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One line per comparison table: rows, numbers, how many carry a paper value, how many we
    reproduced, and the median |reproduced - paper| over the cells that have both."""
    if not comparisons:
        return pd.DataFrame(columns=["table", "rows", "numbers", "with_paper_value", "reproduced",
                                     "median |delta|"])
    allc = pd.concat([t.assign(table=name) for name, t in comparisons.items()], ignore_index=True)
    summary = (allc.groupby("table")
               .agg(rows=("row", "nunique"), numbers=("metric", "size"),
                    with_paper_value=("paper", lambda s: int(s.notna().sum())),
                    reproduced=("reproduced", lambda s: int(s.notna().sum())))
               .reset_index())
    both = allc.dropna(subset=["paper", "reproduced"])
    delta = (both.assign(absdelta=(both["reproduced"] - both["paper"]).abs())
             .groupby("table")["absdelta"].median().rename("median |delta|"))
    return summary.merge(delta.reset_index(), on="table", how="left")


def _joined(items, fmt) -> str:
    return "; ".join(fmt(i) for i in items) or EMPTY


def manifest_table(results_dir: Path | str) -> pd.DataFrame:
    """One row per notebook manifest under ``results_dir/manifests``: commit, Keras backend,
    data used, substitutions made, inputs skipped. An unreadable manifest is a row that says
    so (naming the file), not a silent gap."""
    rows = []
    for m in sorted((Path(results_dir) / "manifests").glob("*/manifest.json")):
        try:
            d = json.loads(m.read_text())
        except (OSError, ValueError) as exc:
            rows.append({"notebook": m.parent.name, "commit": EMPTY, "backend": EMPTY,
                         "data": f"unreadable manifest {m}: {exc}", "substitutions": EMPTY,
                         "skipped inputs": 0})
            continue
        rows.append({"notebook": d.get("notebook", m.parent.name),
                     "commit": (d.get("git_commit") or EMPTY)[:12],
                     "backend": (d.get("backend") or {}).get("keras_backend") or EMPTY,
                     "data": _joined((d.get("data_sources") or {}).items(), lambda kv: f"{kv[0]}: {kv[1]}"),
                     "substitutions": _joined(d.get("substitutions") or [],
                                              lambda s: f"{s.get('what')} -> {s.get('used')}"),
                     "skipped inputs": len(d.get("skipped") or [])})
    return pd.DataFrame(rows, columns=["notebook", "commit", "backend", "data", "substitutions",
                                       "skipped inputs"])


def figures(figures_dir: Path | str, *, skip_prefix: str = "90_") -> list[Path]:
    """The PNG figures of a profile, in name order, without the gallery's own."""
    return [f for f in sorted(Path(figures_dir).glob("*.png")) if not f.name.startswith(skip_prefix)]


def show_figures(figures_dir: Path | str, *, width: int = 700) -> int:
    """Display every figure (name as a heading) in a notebook; returns how many."""
    from IPython.display import Image, Markdown, display

    figs = figures(figures_dir)
    for f in figs:
        display(Markdown(f"**{f.stem}**"))
        display(Image(filename=str(f), width=width))
    return len(figs)


def show_tables(comparisons: Mapping[str, pd.DataFrame]) -> None:
    """Display every comparison table under its name."""
    from IPython.display import Markdown, display

    for name, t in comparisons.items():
        display(Markdown(f"### {name}"))
        display(t)
