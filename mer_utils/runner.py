"""Run the numbered notebooks with papermill, in order, timing each and watching memory.

    python -m mer_utils.runner --profile demo [--data DIR] [--only 40] [--out runs/...]

Executed copies go to a run folder (never over the clean notebooks in notebooks/); the
notebooks write tables to results/<profile>/ and figures to figures/<profile>/. The run
stops at the first failing notebook with a non-zero exit and the failing cell's error.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import threading
import time
from pathlib import Path

from mer_utils.config import PROFILE_NAMES, ROOT

NOTEBOOK_DIR = ROOT / "notebooks"


def list_notebooks(only: list[str] | None = None, directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Numbered notebooks (``NN_name.ipynb``) in order; ``only`` filters by prefix or name."""
    nbs = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if only:
        chosen = []
        for key in only:
            key = key.removesuffix(".ipynb")
            match = [p for p in nbs if p.stem == key or p.stem.startswith(key + "_") or p.stem.split("_")[0] == key]
            if not match:
                raise SystemExit(f"--only {key}: no notebook matches; have: {', '.join(p.stem for p in nbs)}")
            chosen += [m for m in match if m not in chosen]
        nbs = chosen
    return nbs


class PeakMemory:
    """Polls the resident memory of this process's children (the Jupyter kernel) in a thread."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def __enter__(self):
        import psutil

        me = psutil.Process()

        def poll():
            while not self._stop.is_set():
                total = 0
                for c in me.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
                self._stop.wait(self.interval)

        self._t = threading.Thread(target=poll, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def run(profile: str, data_root: str = "", only: list[str] | None = None, out: Path | None = None,
        kernel: str = "python3", extra_params: dict | None = None,
        directory: Path = NOTEBOOK_DIR) -> int:
    import papermill as pm

    nbs = list_notebooks(only, directory)
    if not nbs:
        print("No notebooks to run.", file=sys.stderr)
        return 1
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out else ROOT / "runs" / f"{profile}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    params = {"profile": profile, "data_root": data_root or ""}
    params.update(extra_params or {})
    print(f"Running {len(nbs)} notebook(s), profile={profile}, data={data_root or 'data/raw + demo corpus'}")
    print(f"Executed copies -> {out}")
    rows, t_all = [], time.time()
    for i, nb in enumerate(nbs, 1):
        print(f"[{i}/{len(nbs)}] {nb.name} ...", flush=True)
        t0 = time.time()
        try:
            with PeakMemory() as mem:
                pm.execute_notebook(str(nb), str(out / nb.name), parameters=params, kernel_name=kernel,
                                    cwd=str(nb.parent), progress_bar=False)
        except pm.PapermillExecutionError as exc:
            dt = time.time() - t0
            print(f"[{i}/{len(nbs)}] {nb.name} FAILED after {dt:.0f} s in cell {exc.exec_count}:\n"
                  f"{exc.ename}: {exc.evalue}\n"
                  f"Executed copy with the traceback: {out / nb.name}", file=sys.stderr, flush=True)
            _write_timings(out, rows + [(nb.name, dt, mem.peak, "failed")])
            return 1
        dt = time.time() - t0
        rows.append((nb.name, dt, mem.peak, "ok"))
        print(f"[{i}/{len(nbs)}] {nb.name} done in {dt:.0f} s (kernel peak RSS {mem.peak / 2**30:.2f} GiB)",
              flush=True)
    total = time.time() - t_all
    _write_timings(out, rows)
    peak = max(r[2] for r in rows)
    print(f"All {len(rows)} notebooks ran in {total / 60:.1f} min; highest kernel peak RSS "
          f"{peak / 2**30:.2f} GiB. Timings: {out / 'timings.csv'}")
    return 0


def _write_timings(out: Path, rows) -> None:
    lines = ["notebook,seconds,peak_rss_gib,status"]
    lines += [f"{n},{s:.1f},{m / 2**30:.3f},{st}" for n, s, m, st in rows]
    (out / "timings.csv").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo", choices=PROFILE_NAMES)
    ap.add_argument("--data", default="", help="data root: one data set or a folder of several")
    ap.add_argument("--only", action="append", help="notebook number or name (repeatable)")
    ap.add_argument("--out", default=None, help="folder for the executed copies")
    ap.add_argument("--kernel", default="python3")
    a = ap.parse_args(argv)
    return run(a.profile, a.data, a.only, Path(a.out) if a.out else None, a.kernel)


if __name__ == "__main__":
    sys.exit(main())
