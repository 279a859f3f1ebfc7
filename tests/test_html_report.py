"""The browsable report: built from a small run folder, every link and image of every page
resolves, nothing remote is referenced, and the check fails on a broken link or a remote
resource. The runner's hook never hides the notebooks' outcome."""
import base64
import json

import nbformat
import pandas as pd
import pytest

from mer_utils import html_report as report

PNG = base64.b64decode(  # a 1 x 1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _run_folder(tmp_path):
    run, res, figs = tmp_path / "runs" / "demo-20260101-000000", tmp_path / "results", tmp_path / "figures"
    for d in (run, res, figs):
        d.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell(
        "# 10 · A paper\nSee [the paper](https://example.org/paper.pdf) and $x^2$.\n"
        "<img src=\"https://cdn.example.org/logo.png\">")
    code = nbformat.v4.new_code_cell("print('hi')")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(PNG).decode(),
                                                                 "text/plain": "<Figure>"})]
    nb.cells = [md, code]
    nbformat.write(nb, str(run / "10_paper.ipynb"))
    (run / "timings.csv").write_text("notebook,seconds,peak_rss_gib,status\n10_paper.ipynb,1.0,0.1,ok\n")
    (run / "log.txt").write_text("kernel chatter\n")
    pd.DataFrame([("SVM", "f1", 0.7559, 0.74, 0.02)],
                 columns=["row", "metric", "paper", "reproduced", "reproduced_std"]).to_csv(
        res / "louro_table3_paper_vs_reproduced.csv", index=False)
    (res / "louro_table3_paper_vs_reproduced.md").write_text("| x |\n")
    (res / "manifests" / "10_paper").mkdir(parents=True)
    (res / "manifests" / "10_paper" / "manifest.json").write_text(json.dumps({
        "notebook": "10_paper", "profile": "demo", "data_sources": {"quadrant": "demo corpus"},
        "substitutions": [{"what": "VGGish weights", "used": "musicnn", "reason": "offline"}],
        "skipped": [], "notes": ["a note"]}))
    (figs / "louro_f1_per_split.png").write_bytes(PNG)
    return run, res, figs


def test_report_builds_and_every_link_resolves(tmp_path):
    run, res, figs = _run_folder(tmp_path)
    index = report.build_report(run, results_dir=res, figures_dir=figs)
    assert index == run / "report" / "index.html"
    assert report.check_report(index) == []
    html = index.read_text()
    for part in ("Reproduction scorecard", "notebooks/10_paper.html", "figures/louro_f1_per_split.png",
                 "manifests/10_paper.json", "musicnn", "log.txt", "tables/louro_table3_paper_vs_reproduced.csv"):
        assert part in html, part
    assert all(p in html for p in ("cazzaniga", "javadi", "louro", "sun", "velankar"))   # all five papers
    page = (run / "report" / "notebooks" / "10_paper.html").read_text()
    assert "print" in page and "data:image/png;base64" in page and "hi" in page
    for remote in ("cdn.example.org", "mathjax", "require.js", "<script"):
        assert remote not in page.lower(), remote
    assert "the paper [https://example.org/paper.pdf]" in page     # outside link kept as text only


def test_check_fails_on_broken_link_and_remote_resource(tmp_path):
    run, res, figs = _run_folder(tmp_path)
    index = report.build_report(run, results_dir=res, figures_dir=figs)
    (run / "report" / "figures" / "louro_f1_per_split.png").unlink()
    problems = report.check_report(index)
    assert any("louro_f1_per_split.png" in p and "does not resolve" in p for p in problems)
    bad = run / "report" / "notebooks" / "bad.html"
    bad.write_text("<html><head><link rel='stylesheet' href='https://fonts.example.org/x.css'>"
                   "<style>@import url(//cdn.example.org/y.css);</style></head><body>"
                   "<a href='../index.html#no-such-anchor'>x</a><a href='#here'>y</a><p id='here'></p>"
                   "<script src='http://cdn.example.org/require.js'></script></body></html>")
    problems = report.check_report(index)
    assert any("fonts.example.org" in p for p in problems)
    assert any("require.js" in p for p in problems)
    assert any("@import" in p or "style" in p for p in problems)
    assert any("no-such-anchor" in p for p in problems)
    assert not any("#here" in p for p in problems)


def test_after_run_never_raises(tmp_path, monkeypatch):
    said = []

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "build_report", boom)
    assert report.after_run(tmp_path, profile="demo", say=lambda t, err=False: said.append((t, err))) is None
    assert said and said[0][1] and "REPORT FAILED" in said[0][0] and "disk full" in said[0][0]


def test_a_failed_notebook_is_not_reported_as_this_runs_numbers(tmp_path):
    """After a kernel died in notebook 50, the report used to count Louro as regenerated, with
    the previous run's tables and figures. Now Louro is "not regenerated in this run" and the
    tables and figures left by an earlier run are listed apart, never as this run's."""
    import os
    import time

    run, res, figs = _run_folder(tmp_path)
    (run / "timings.csv").write_text("notebook,seconds,peak_rss_gib,status\n"
                                     "40_velankar_crnn.ipynb,1.0,0.1,ok\n50_louro_methods.ipynb,2.0,0.1,failed\n")
    pd.DataFrame([("CRNN", "accuracy", 0.8, 0.6, 0.02)],
                 columns=["row", "metric", "paper", "reproduced", "reproduced_std"]).to_csv(
        res / "velankar_results_paper_vs_reproduced.csv", index=False)
    old = time.time() - 10 * 86400                        # the Louro outputs are an earlier run's
    for f in (res / "louro_table3_paper_vs_reproduced.csv", figs / "louro_f1_per_split.png"):
        os.utime(f, (old, old))
    new_name = run.with_name("demo-" + time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() - 60)))
    run = run.rename(new_name)
    index = report.build_report(run, results_dir=res, figures_dir=figs)
    html = index.read_text()
    assert report.check_report(index) == []
    assert "not regenerated in this run: 50_louro_methods failed" in html
    assert "From earlier runs (1), not regenerated by this one" in html
    assert "Figures of this run (0)" in html and "1 figure(s)" in html
    assert "Tables of this run (1)" in html
    outcome = report.paper_outcomes(pd.read_csv(run / "timings.csv"), ["louro", "velankar", "sun"])
    assert outcome == {"louro": "not regenerated in this run: 50_louro_methods failed",
                       "velankar": "regenerated", "sun": "not run in this run"}


def test_report_calls_demo_agreement_not_comparable_and_shows_the_leaderboard_caption(tmp_path):
    """Louro's notebook ran on the demo corpus: its SVM F1 (0.75) lands near the paper's (0.7559),
    but the report counts it "not comparable: different data", naming both data sets; the
    leaderboard's caption says what it ranks."""
    run, res, figs = _run_folder(tmp_path)
    (res / "manifests" / "50_louro_methods").mkdir(parents=True)
    (res / "manifests" / "50_louro_methods" / "manifest.json").write_text(json.dumps({
        "notebook": "50_louro_methods", "data_sources": {"quadrant": "demo corpus (60 synthetic clips)"}}))
    (run / "timings.csv").write_text("notebook,seconds,peak_rss_gib,status\n10_paper.ipynb,1.0,0.1,ok\n"
                                     "50_louro_methods.ipynb,1.0,0.1,ok\n")
    pd.DataFrame([("SVM Baseline", "f1", 0.7559, 0.75, 0.02)],
                 columns=["row", "metric", "paper", "reproduced", "reproduced_std"]).to_csv(
        res / "louro_table3_paper_vs_reproduced.csv", index=False)
    pd.DataFrame({"entry": ["SVM"], "f1": [0.5]}).to_csv(res / "leaderboard.csv", index=False)
    (res / "leaderboard.md").write_text("ranked on: demo corpus (synthetic, 60 clips); not the paper's data\n\n| x |\n")
    index = report.build_report(run, results_dir=res, figures_dir=figs)
    assert report.check_report(index) == []
    html = index.read_text()
    assert "not comparable: different data" in html
    assert "run&#x27;s data: demo corpus (synthetic); paper&#x27;s data: Original-4QAED" in html
    assert "ranked on: demo corpus (synthetic, 60 clips); not the paper&#x27;s data" in html
