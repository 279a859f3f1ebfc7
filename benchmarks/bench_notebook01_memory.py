#!/usr/bin/env python
"""Notebook 01's kernel memory at two (or more) corpus sizes: does it grow with the corpus?

    python benchmarks/bench_notebook01_memory.py --data ../shared/data/4q-dev --sizes 40 120

Runs ``notebooks/01_features.ipynb`` through the runner (profile ``demo``, real 4Q clips
capped with the notebook's ``max_clips``) once per size, each with an empty feature cache of
its own (a cold run: extraction, the network and the figures all in one kernel), and records
the kernel's peak resident memory and wall time (the runner's ``timings.csv``). Writes
``<out>/notebook01_memory.csv`` and ``<out>/notebook01_memory.png`` (peak GiB against clips,
with the straight line through the points extrapolated to the 900 clips of the full 4Q set).
A line that stays flat says memory does not grow with the corpus; its slope is the growth per
clip.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "../shared/data/4q-dev"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 120])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    a = ap.parse_args(argv)
    import pandas as pd

    from mer_utils import notebook_runner as runner

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in a.sizes:
        cache = Path(tempfile.mkdtemp(prefix=f"mer_nb01_{n}_"))
        os.environ["MER_CACHE"] = str(cache)   # the kernel reads it: a cold cache per size
        run_dir = out / f"nb01-{n}"
        rc = runner.run(a.profile, str(Path(a.data).resolve()), ["01"], out=run_dir,
                        extra_params={"max_clips": n})
        t = pd.read_csv(run_dir / "timings.csv").iloc[0]
        rows.append({"clips": n, "seconds": t["seconds"], "peak_rss_gib": t["peak_rss_gib"],
                     "status": t["status"] if rc == 0 else f"failed ({rc})"})
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "notebook01_memory.csv", index=False)
    ok = df[df["status"] == "ok"]
    if len(ok) >= 2:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        slope, icpt = np.polyfit(ok["clips"], ok["peak_rss_gib"], 1)
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        ax.plot(ok["clips"], ok["peak_rss_gib"], "o-", label="measured (cold cache)")
        xs = np.array([ok["clips"].min(), 900])
        ax.plot(xs, icpt + slope * xs, "--", color="grey",
                label=f"line through them: {1024 * slope:.2f} MiB per clip")
        ax.axhline(4.0, color="tab:red", lw=0.8, label="budget (4 GB)")
        ax.scatter([900], [4.07], marker="x", color="tab:red", label="before: 900 clips, 4.07 GiB")
        ax.set_xlabel("clips in the corpus")
        ax.set_ylabel("kernel peak RSS (GiB)")
        ax.set_ylim(0, 4.5)
        ax.set_title(f"notebook 01 ({a.profile}) kernel memory vs corpus size", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "notebook01_memory.png", dpi=110)
        print(f"slope {1024 * slope:.2f} MiB/clip; extrapolated to 900 clips: {icpt + slope * 900:.2f} GiB")
    print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
