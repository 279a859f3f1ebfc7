"""The cost model of the ``full`` profile: what the papers' own sizes cost to train.

One row per network of a paper at the paper's sizes (input shape, training rows per unit,
epochs, batch size, number of units), with the seconds per training sample measured through
the training engine on a few steps (``python benchmarks/bench_cost.py``, which writes
:data:`MEASURED`; ``benchmarks/gpu_check.sh`` adds the GPU's). The projection is plain
arithmetic, an upper bound where a stop rule ends training early::

    seconds per unit = seconds per sample x training rows x epochs
    CPU-hours        = seconds per unit x units / 3600

``python -m mer_utils.cost`` prints the table (``./run_all.sh --profile full`` does before it
starts). This module imports nothing that trains: it reads and adds up.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

__all__ = ["MEASURED", "COLUMNS", "load_measured", "unit_seconds", "projection", "format_projection", "main"]

#: the committed measurements (written by ``benchmarks/bench_cost.py``)
MEASURED = Path(__file__).resolve().parent / "data" / "cost_full.csv"
#: the columns of :data:`MEASURED`; ``gpu_seconds_per_sample`` is empty until a GPU measured it
COLUMNS = ("paper", "network", "input_shape", "parameters", "n_train", "epochs", "batch_size", "units",
           "seconds_per_sample", "gpu_seconds_per_sample", "measured_batch", "measured_steps", "basis")


def load_measured(path: Path | str | None = None) -> pd.DataFrame:
    """The measured table; a clear error when it is absent or lacks a column."""
    path = Path(path) if path is not None else MEASURED
    if not path.exists():
        raise FileNotFoundError(f"{path}: no cost measurements yet; run `python benchmarks/bench_cost.py` "
                                "(a few training steps per network, minutes on a CPU)")
    df = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing; rerun `python benchmarks/bench_cost.py`")
    return df


def unit_seconds(seconds_per_sample: float, n_train: int, epochs: int) -> float:
    """Training seconds of one unit: every training row seen once per epoch, every epoch run."""
    if seconds_per_sample != seconds_per_sample:           # NaN: not measured
        return float("nan")
    return float(seconds_per_sample) * int(n_train) * int(epochs)


def projection(df: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per network, per paper + "all"): seconds per unit, CPU-hours (and GPU-hours where measured)."""
    df = load_measured() if df is None else df.copy()
    df["cpu_s_per_unit"] = [unit_seconds(s, n, e) for s, n, e in zip(df.seconds_per_sample, df.n_train, df.epochs)]
    df["cpu_hours"] = df.cpu_s_per_unit * df.units / 3600
    gpu = pd.to_numeric(df.get("gpu_seconds_per_sample"), errors="coerce")
    df["gpu_hours"] = [unit_seconds(g, n, e) * u / 3600
                       for g, n, e, u in zip(gpu, df.n_train, df.epochs, df.units)]
    papers = df.groupby("paper", sort=False).agg(networks=("network", "size"), units=("units", "sum"),
                                                 cpu_hours=("cpu_hours", "sum"),
                                                 gpu_hours=("gpu_hours", lambda s: s.sum(min_count=len(s))))
    papers.loc["all"] = [papers.networks.sum(), papers.units.sum(), papers.cpu_hours.sum(),
                         papers.gpu_hours.sum(min_count=len(papers))]
    return df, papers.reset_index()


def _hours(h: float) -> str:
    if h != h:
        return "not measured"
    return f"{h:,.0f}" if h >= 10 else f"{h:.1f}"


def format_projection(df: pd.DataFrame | None = None) -> str:
    """The projection as text: one line per network, one per paper, the total."""
    nets, papers = projection(df)
    lines = ["Projected training cost of --profile full (the papers' sizes; upper bounds: every epoch run)",
             f"{'paper':<10} {'network':<26} {'input':<16} {'rows':>6} {'ep':>4} {'units':>5} "
             f"{'s/unit':>9} {'CPU-h':>8} {'GPU-h':>12}"]
    for r in nets.itertuples():
        lines.append(f"{r.paper:<10} {r.network[:26]:<26} {str(r.input_shape)[:16]:<16} {r.n_train:>6} {r.epochs:>4} "
                     f"{r.units:>5} {r.cpu_s_per_unit:>9,.0f} {_hours(r.cpu_hours):>8} {_hours(r.gpu_hours):>12}")
    lines.append("")
    for r in papers.itertuples():
        lines.append(f"{r.paper:<10} {int(r.units):>5} units  CPU-hours {_hours(r.cpu_hours):>8}  "
                     f"GPU-hours {_hours(r.gpu_hours)}")
    total = float(papers.cpu_hours.iloc[-1])
    lines.append(f"On this CPU, one process: about {math.ceil(total / 24):,} days; N workers "
                 "(./run_all.sh --scheduler) divide it by about N.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        print(format_projection(load_measured(argv[0] if argv else None)))
    except (FileNotFoundError, ValueError) as exc:
        print(f"cost projection unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
