"""A browsable report of one run: ``runs/<run>/report/index.html``.

Built at the end of ``./run_all.sh`` (:mod:`mer_utils.notebook_runner` calls :func:`build_report`
once after the last notebook) or by hand::

    python -m mer_utils.html_report runs/demo-20260101-120000 --profile demo [--data DIR]

It shows the reproduction scorecard (:mod:`mer_utils.scorecard`), every executed notebook
of the run converted to HTML (nbconvert's ``basic`` template: no require.js, no MathJax, no
CDN fonts), every figure of the profile, the manifests (data used, substitutions, skipped
inputs, notes), the timings and the tables. Everything it shows is copied under
``report/`` and linked relatively, so the folder opens from the file system with no server
and no network; links to outside pages are turned into plain text. :func:`check_report`
verifies that every link and image of every page resolves and that no remote resource is
referenced (``tests/test_html_report.py`` runs it in CI).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import html
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable

import pandas as pd

from mer_utils.config import FIGURES_DIR, RESULTS_DIR

esc = html.escape
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_EXTERNAL_A = re.compile(r"<a\s[^>]*href=[\"'](https?:)?//[^\"']*[\"'][^>]*>(.*?)</a>", re.I | re.S)
_REMOTE_TAGS = re.compile(r"<(script|link|iframe|img|source|video|audio)\b[^>]*(src|href)=[\"'](https?:)?//[^>]*>"
                          r"(?:\s*</\1>)?", re.I | re.S)
_CSS_URL = re.compile(r"url\(\s*[\"']?(https?:)?//[^)]*\)", re.I)
_IMPORT = re.compile(r"@import\s+[\"']?(https?:)?//[^;]*;", re.I)

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#23395d;color:#fff;padding:12px 24px} header a{color:#cfe0ff}
nav{padding:6px 24px;background:#e8edf5;font-size:14px} nav a{margin-right:14px}
main{padding:8px 24px 48px;max-width:1300px}
table{border-collapse:collapse;margin:8px 0;font-size:13px;background:#fff}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef1f6} .ok{color:#17692c} .bad{color:#a4161a;font-weight:bold}
.figs{display:flex;flex-wrap:wrap;gap:12px} .figs figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px;max-width:600px}
.figs img{max-width:100%} figcaption{font-size:12px;color:#555}
pre{background:#f3f3f3;padding:8px;overflow:auto;font-size:12px}
.nb .input_area pre,.nb .highlight pre{background:#f5f7fa}
"""


# --------------------------------------------------------------------------- pieces
def _page(title: str, body: str, *, home: str = "index.html") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><header><b>{esc(title)}</b> · <a href='{home}'>report home</a>"
            f"</header><main>{body}</main></body></html>")


def _df_html(df: pd.DataFrame, *, max_rows: int = 200) -> str:
    if df is None or not len(df):
        return "<p><i>none</i></p>"
    more = f"<p><i>{len(df) - max_rows} more rows in the CSV</i></p>" if len(df) > max_rows else ""
    return df.head(max_rows).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0) + more


def localise(text: str) -> str:
    """Remove everything that would load from the network (remote scripts, style sheets,
    fonts, images, frames, CSS ``url()``/``@import``) and turn links to outside pages into
    plain text (their address shown)."""
    text = _REMOTE_TAGS.sub("", text)
    text = _CSS_URL.sub("none", text)
    text = _IMPORT.sub("", text)

    def unlink(m):
        href = re.search(r"href=[\"']([^\"']*)[\"']", m.group(0)).group(1)
        return f"<span class='ext'>{m.group(2)} [{esc(href)}]</span>"
    return _EXTERNAL_A.sub(unlink, text)


def notebook_html(path: Path) -> str:
    """One executed notebook as a self-contained page body (nbconvert, ``basic`` template:
    the cells and their outputs, images embedded as data URIs, no scripts)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input_prompt = False
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S | re.I)
    return localise(body)


def _timings(run_dir: Path) -> pd.DataFrame:
    f = run_dir / "timings.csv"
    return pd.read_csv(f) if f.exists() else pd.DataFrame()


def run_start(run_dir: Path) -> float | None:
    """When the run began (seconds since the epoch), from its folder name
    ``<profile>-<YYYYmmdd-HHMMSS>[-n]``; None for a folder named otherwise."""
    m = re.search(r"(\d{8}-\d{6})(?:-\d+)?$", Path(run_dir).name)
    if not m:
        return None
    return _dt.datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").timestamp()


def paper_outcomes(timings: pd.DataFrame, papers: Iterable[str]) -> dict[str, str]:
    """For each paper, what this run did to it: ``"regenerated"`` (its notebooks ran and
    completed), ``"not regenerated in this run: <notebook> <status>"`` (one failed or was
    interrupted: whatever its tables show is an earlier run's), or ``"not run in this run"``
    (none of its notebooks was in the run: earlier outputs, if any)."""
    status = dict(zip(timings.get("notebook", []), timings.get("status", [])))
    out = {}
    for p in papers:
        mine = {nb: st for nb, st in status.items() if p in str(nb)}
        bad = {nb: st for nb, st in mine.items() if st != "ok"}
        if bad:
            nb, st = next(iter(bad.items()))
            out[p] = f"not regenerated in this run: {Path(str(nb)).stem} {st}"
        elif mine:
            out[p] = "regenerated"
        else:
            out[p] = "not run in this run"
    return out


def _manifests(results_dir: Path) -> list[dict]:
    out = []
    for m in sorted((results_dir / "manifests").glob("*/manifest.json")):
        try:
            out.append(dict(json.loads(m.read_text()), _file=m))
        except (OSError, ValueError):
            continue
    return out


# --------------------------------------------------------------------------- the report
def build_report(run_dir: Path | str, *, profile: str | None = None, data_root: str | None = "",
                 results_dir: Path | str | None = None, figures_dir: Path | str | None = None,
                 out: Path | str | None = None) -> Path:
    """Write ``<run_dir>/report/`` (or ``out``) and return its ``index.html``.

    ``results_dir`` / ``figures_dir`` default to the run's output folders
    (``results/<label>/``, ``figures/<label>/`` for ``profile`` and ``data_root``; the profile
    is read from the run folder's name ``<profile>-<time>`` when not given).
    """
    from mer_utils import scorecard as sc
    from mer_utils.context import output_label, resolve_data_root
    from mer_utils.papers import paper_data

    run_dir = Path(run_dir)
    if results_dir is None or figures_dir is None:
        profile = profile or run_dir.name.split("-")[0]
        label = output_label(profile, resolve_data_root(data_root))
        results_dir = Path(results_dir or RESULTS_DIR / label)
        figures_dir = Path(figures_dir or FIGURES_DIR / label)
    results_dir, figures_dir = Path(results_dir), Path(figures_dir)
    out = Path(out) if out else run_dir / "report"
    if out.exists():
        shutil.rmtree(out)
    for sub in ("notebooks", "figures", "tables", "manifests"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    sections, nav = [], []

    def section(anchor: str, title: str, body: str):
        nav.append(f"<a href='#{anchor}'>{esc(title)}</a>")
        sections.append(f"<section id='{anchor}'><h2>{esc(title)}</h2>{body}</section>")

    # tables (copied first: the scorecard links to them); a table not written since the run
    # started is an earlier run's and is listed apart, never as this run's
    tables = sorted(results_dir.glob("*.csv")) if results_dir.exists() else []
    start = run_start(run_dir)
    fresh_tables = [t for t in tables if start is None or t.stat().st_mtime >= start - 1]
    old_tables = [t for t in tables if t not in fresh_tables]
    for t in tables:
        shutil.copy2(t, out / "tables" / t.name)
        md = t.with_suffix(".md")
        if md.exists():
            shutil.copy2(md, out / "tables" / md.name)

    # 1. scorecard: only papers whose notebooks completed in this run count as this run's
    timings = _timings(run_dir)
    try:
        cells = sc.cell_status(results_dir, paper_data=paper_data())
        outcome = paper_outcomes(timings, sorted(cells["paper"].unique()))
        stale = {p for p, o in outcome.items() if o != "regenerated"}
        current = cells[~cells["paper"].isin(stale)]
        if len(current):
            card = sc.scorecard(current, results_dir)
            reasons = sc.recorded_reasons(results_dir, card["paper"])
            known = {t.stem for t in fresh_tables}
            body = sc.to_html(card, current, reasons=reasons,
                              table_href=lambda n: f"tables/{n}.csv" if n in known else "#tables")
        else:
            body = "<p><i>No paper's notebook completed in this run.</i></p>"
        if stale:
            body += ("<h3>Not regenerated in this run</h3><p>These papers' numbers are not counted above: "
                     "their notebooks did not complete in this run, and the tables left by an earlier run are "
                     "listed apart under <a href='#tables'>Tables</a>.</p>"
                     + _df_html(pd.DataFrame([{"paper": p, "this run": outcome[p]} for p in sorted(stale)])))
    except Exception as exc:  # noqa: BLE001 - a report without a scorecard still shows the rest
        body = f"<p class='bad'>scorecard could not be built: {esc(type(exc).__name__)}: {esc(str(exc))}</p>"
    section("scorecard", "Reproduction scorecard", body)

    # the leaderboard's caption: which data it ranks (never read as the paper's by accident)
    if any(t.stem == "leaderboard" for t in fresh_tables):
        from mer_utils.leaderboard import read_caption

        caption = read_caption(results_dir) or "ranked on: not recorded (rerun notebook 80)"
        section("leaderboard", "Leaderboard (notebook 80)",
                f"<p class='caption'><b>{esc(caption)}</b></p><p><a href='tables/leaderboard.csv'>leaderboard.csv</a>"
                f" (<a href='tables/leaderboard.md'>md</a>)</p>")

    # 2. notebooks
    rows = []
    status = dict(zip(timings.get("notebook", []), timings.get("status", [])))
    for nb in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        target = out / "notebooks" / f"{nb.stem}.html"
        try:
            target.write_text(_page(nb.stem, f"<div class='nb'>{notebook_html(nb)}</div>", home="../index.html"),
                              encoding="utf-8")
            link = f"<a href='notebooks/{target.name}'>{esc(nb.stem)}</a>"
        except Exception as exc:  # noqa: BLE001
            link = f"{esc(nb.stem)} <span class='bad'>(not converted: {esc(str(exc))[:200]})</span>"
        st = status.get(nb.name, "")
        rows.append(f"<tr><td>{link}</td><td class='{'ok' if st == 'ok' else 'bad'}'>{esc(str(st))}</td></tr>")
    section("notebooks", "Executed notebooks",
            "<table><tr><th>notebook</th><th>status</th></tr>" + "".join(rows) + "</table>" if rows
            else "<p><i>no executed notebook in this run folder</i></p>")

    # 3. timings
    body = _df_html(timings)
    if (run_dir / "log.txt").exists():
        shutil.copy2(run_dir / "log.txt", out / "log.txt")
        body += "<p>Everything the kernels printed outside cells: <a href='log.txt'>log.txt</a></p>"
    section("timings", "Timings (seconds, kernel peak memory)", body)

    # 4. figures
    figs = sorted(figures_dir.glob("*.png")) if figures_dir.exists() else []
    n_old_figs = sum(1 for f in figs if start is not None and f.stat().st_mtime < start - 1)
    figs = [f for f in figs if start is None or f.stat().st_mtime >= start - 1]
    items = []
    for f in figs:
        shutil.copy2(f, out / "figures" / f.name)
        items.append(f"<figure><a href='figures/{esc(f.name)}'><img src='figures/{esc(f.name)}' "
                     f"alt='{esc(f.stem)}' loading='lazy'></a><figcaption>{esc(f.stem)}</figcaption></figure>")
    section("figures", f"Figures of this run ({len(figs)})",
            (f"<div class='figs'>{''.join(items)}</div>" if items else "<p><i>no figures</i></p>")
            + (f"<p>{n_old_figs} figure(s) in {esc(str(figures_dir.name))}/ are from earlier runs and not shown.</p>"
               if n_old_figs else ""))

    # 5. manifests
    parts = []
    for m in _manifests(results_dir):
        name = m.get("notebook", m["_file"].parent.name)
        shutil.copy2(m["_file"], out / "manifests" / f"{name}.json")
        data = pd.DataFrame([{"what": k, "used": v} for k, v in (m.get("data_sources") or {}).items()])
        subs = pd.DataFrame(m.get("substitutions", []))
        skipped = m.get("skipped", [])
        notes = m.get("notes", [])
        parts.append(f"<h3 id='manifest-{esc(name)}'>{esc(name)}</h3><p>profile {esc(str(m.get('profile')))}, "
                     f"commit {esc(str(m.get('git_commit', ''))[:12])}, created {esc(str(m.get('created', '')))} · "
                     f"<a href='manifests/{esc(name)}.json'>manifest.json</a></p>"
                     f"<h4>Data used</h4>{_df_html(data)}<h4>Substitutions</h4>{_df_html(subs)}"
                     f"<p>{len(skipped)} input(s) skipped.</p>"
                     + ("<h4>Notes</h4><ul>" + "".join(f"<li>{esc(str(n))}</li>" for n in notes) + "</ul>"
                        if notes else ""))
    section("manifests", "Manifests: data used and substitutions", "".join(parts) or "<p><i>none</i></p>")

    # 6. tables
    def listing(ts):
        return "<ul>" + "".join(f"<li><a href='tables/{esc(t.name)}'>{esc(t.stem)}</a>"
                                + (f" (<a href='tables/{esc(t.stem)}.md'>md</a>)" if t.with_suffix('.md').exists() else "")
                                + "</li>" for t in ts) + "</ul>"
    section("tables", f"Tables of this run ({len(fresh_tables)})", listing(fresh_tables)
            + (f"<h3>From earlier runs ({len(old_tables)}), not regenerated by this one</h3>" + listing(old_tables)
               if old_tables else ""))

    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    head = (f"<p>Run folder <code>{esc(run_dir.name)}</code> · outputs <code>{esc(results_dir.name)}</code> · "
            f"built {esc(stamp)}. Opens from the file system; nothing is fetched from the network.</p>"
            f"<nav>{''.join(nav)}</nav>")
    index = out / "index.html"
    index.write_text(_page(f"MER compendium report: {run_dir.name}", head + "".join(sections)), encoding="utf-8")
    return index


# --------------------------------------------------------------------------- the check
class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []     # (tag, attribute, value)
        self.ids: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)
            if k in ("href", "src", "srcset", "poster", "data") and v is not None:
                self.refs.append((tag, k, v))
            if k == "style" and v:
                self.styles.append(v)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def check_report(index: Path | str) -> list[str]:
    """Problems of the report whose home page is ``index``: a link or image that does not
    resolve (file or ``#anchor``), or any remote reference (``http(s)://``, ``//host``) in a
    link, a resource or a style. Every HTML page under the report folder is checked.
    Empty list: none."""
    index = Path(index)
    root = index.parent
    pages = sorted(root.rglob("*.html"))
    parsed: dict[Path, _Links] = {}
    for p in pages:
        links = _Links()
        links.feed(p.read_text(encoding="utf-8", errors="replace"))
        parsed[p.resolve()] = links
    problems = []
    for p in pages:
        links = parsed[p.resolve()]
        where = p.relative_to(root)
        for style in links.styles:
            if re.search(r"(url\(|@import)\s*[\"']?(https?:)?//", style, re.I):
                problems.append(f"{where}: remote resource in a style: {style[:80]!r}")
        for tag, attr, value in links.refs:
            v = value.strip()
            if not v or v.startswith(("data:", "mailto:", "javascript:void")):
                continue
            if _REMOTE.match(v):
                problems.append(f"{where}: remote reference <{tag} {attr}={v[:80]!r}>")
                continue
            path, _, anchor = v.partition("#")
            target = (p.parent / path).resolve() if path else p.resolve()
            if path and not target.exists():
                problems.append(f"{where}: <{tag} {attr}={v!r}> does not resolve")
                continue
            if anchor and target.suffix == ".html":
                ids = parsed.get(target).ids if target in parsed else set()
                if anchor not in ids:
                    problems.append(f"{where}: <{tag} {attr}={v!r}>: no element with id {anchor!r}")
    if not pages:
        problems.append(f"{root}: no HTML page")
    return problems


def after_run(run_dir: Path | str, *, profile: str, data_root: str = "", say=print) -> Path | None:
    """The runner's hook: build and check the report of a finished run and say where it is.
    Never raises: a failure is said clearly (``say(text, err=True)`` when ``say`` takes
    ``err``) and the notebooks' results are left as they are."""
    import time

    def tell(text: str, err: bool = False):
        try:
            say(text, err=err)
        except TypeError:
            say(text)

    t0 = time.perf_counter()
    try:
        index = build_report(run_dir, profile=profile, data_root=data_root)
        problems = check_report(index)
    except Exception as exc:  # noqa: BLE001 - the report must never hide the notebooks' outcome
        tell(f"REPORT FAILED ({type(exc).__name__}: {exc}). The notebooks' outputs above are complete "
             f"and unaffected; rebuild with: python -m mer_utils.html_report {run_dir} --profile {profile}", err=True)
        return None
    tell(f"Report ({time.perf_counter() - t0:.0f} s): {index}")
    if problems:
        tell(f"REPORT has {len(problems)} broken link(s) or remote reference(s), e.g. {problems[0]}", err=True)
    return index


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--data", default="")
    a = ap.parse_args(list(argv) if argv is not None else None)
    index = build_report(a.run_dir, profile=a.profile, data_root=a.data)
    problems = check_report(index)
    print(f"report: {index}" + (f"; {len(problems)} problem(s):\n" + "\n".join(problems) if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
