"""Run the numbered notebooks with papermill, in order, timing each and watching memory.

    python -m mer_utils.notebook_runner --profile demo [--data DIR] [--only 40] [--out runs/...] [--verbose]

**What the terminal shows.** One line per notebook: its name while it runs, then ``ok``,
the wall time and the kernel's peak resident memory (any substitution the notebook
recorded, such as the demo corpus standing in for real data, on indented lines below);
for a failing notebook the failing cell's traceback. Everything else printed outside the
cells — TensorFlow's C++ logging, ipykernel, Jupyter and library warnings — goes to
``<run folder>/log.txt`` under a header line per notebook (``--verbose`` leaves it on the
terminal). The run folder (``runs/<profile>-<time>/`` unless ``--out``) also holds the
executed copies (never written over the clean notebooks in notebooks/) and timings.csv.

**Environment of the kernels.** ``KERAS_BACKEND`` = ``--backend`` (tensorflow, torch or jax;
default: the caller's ``KERAS_BACKEND``, else the first of them installed; an unknown name is
an error before anything runs); ``MER_SCHEDULER`` = ``--scheduler`` when given (a dask
scheduler address, or ``local``: the cached feature extraction then runs on that cluster,
through :func:`mer_utils.cache.cached_map`, and so do the training units of
:func:`mer_utils.experiment.run_protocol`, one unit per worker); each notebook's manifest
records both. Under ``--profile full`` the run folder gets ``cost_projection.txt``, the
projected training cost (:mod:`mer_utils.cost`). ``PYTHONHASHSEED=0`` unless the caller set it, so string
hashing (and with it set iteration order) is the same in every run; each notebook's
manifest records the value (``python_hash_seed``). ``MER_STAGE`` points at a folder of
this run, which makes every notebook stage its outputs (:mod:`mer_utils.context`).

**Outputs are replaced only by a complete run.** A notebook's tables, figures and manifest
go to ``results/<label>/.incomplete/<notebook>/`` while it runs; when it finishes without
error the runner moves them into ``results/<label>/`` and ``figures/<label>/`` (each file
atomically, the manifest last), so a later notebook reads only committed outputs. A
notebook that fails or is stopped leaves the previous complete run's outputs untouched.
Predictions and split files have their own stores, which stage themselves.

**Stopping.** SIGTERM, or SIGINT (Ctrl-C, also through ``./run_all.sh``, which execs this
module), stops the running notebook's kernel and the processes it started, leaves every
output as the last complete run left it, records the notebook as ``interrupted`` in
timings.csv and exits with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).
A signal that arrives while outputs are being moved into place waits until they are.

The run stops at the first failing notebook with exit status 1.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from mer_utils.config import PROFILE_NAMES, ROOT
from mer_utils.context import STAGE_ENV, commit_stage, staged_outputs

NOTEBOOK_DIR = ROOT / "notebooks"
BACKENDS = ("tensorflow", "torch", "jax")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
                try:
                    children = me.children(recursive=True)
                except psutil.Error:
                    children = []
                for c in children:
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


# --------------------------------------------------------------------------- terminal and log
class Console:
    """The runner's own lines go to the terminal and to log.txt; everything else the process
    and its kernels write to file descriptors 1 and 2 goes to log.txt only (unless verbose).

    The kernels inherit descriptors 1 and 2 from this process, so pointing them at the log
    catches what they print outside cells (TensorFlow's C++ logs, ipykernel warnings).
    """

    def __init__(self, log_path: Path, *, verbose: bool = False):
        self.log = open(log_path, "a", buffering=1, encoding="utf-8", errors="replace")
        self.verbose = verbose
        for s in (sys.stdout, sys.stderr):
            s.flush()
        self._saved = (os.dup(1), os.dup(2))
        self.out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
        self.err = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
        self.colour = self.err.isatty()
        self._open_line, self._prefix = False, ""
        if not verbose:
            os.dup2(self.log.fileno(), 1)
            os.dup2(self.log.fileno(), 2)

    def _write(self, stream, text: str, log_text: str | None = None) -> None:
        stream.write(text)
        stream.flush()
        self.log.write(_ANSI.sub("", text if log_text is None else log_text))
        self.log.flush()

    def start(self, text: str) -> None:
        """Begin a notebook's line on the terminal (finished by :meth:`end`)."""
        self._prefix = text
        self._write(self.out, text, log_text=text + "started\n")
        self._open_line = True

    def end(self, text: str) -> None:
        self._write(self.out, text + "\n", log_text=self._prefix + text + "\n")
        self._open_line = False

    def say(self, text: str = "", *, err: bool = False) -> None:
        if self._open_line:
            self._write(self.out, "\n")
            self._open_line = False
        self._write(self.err if err else self.out, (text if self.colour else _ANSI.sub("", text)) + "\n")

    def note(self, text: str) -> None:
        """A line for log.txt only (notebook headers)."""
        self.log.write(text + "\n")
        self.log.flush()

    def close(self) -> None:
        for s in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                s.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        for f in (self.out, self.err, self.log):
            with contextlib.suppress(Exception):
                f.close()


# --------------------------------------------------------------------------- signals
class Interrupted(BaseException):
    """SIGTERM/SIGINT received (a BaseException, so that no library's ``except Exception``
    swallows it on its way out of the notebook client)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _StopHandler:
    """Turns SIGTERM/SIGINT into :class:`Interrupted` in the main thread, after sending
    SIGTERM to the processes the run started (the kernel runs in a session of its own, so
    a terminal's Ctrl-C does not reach it). While :meth:`deferred` is active (outputs being
    moved into place) a signal is only remembered in ``pending``; the run loop stops on it
    once the outputs are committed."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, baseline: set[int]):
        self.baseline, self.pending, self._defer, self._old = baseline, None, False, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.SIG_IGN:  # e.g. started with nohup / in background
                    continue
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, h in self._old.items():
            signal.signal(sig, h)

    def _handle(self, signum, frame):
        if self.pending is not None:  # a second signal while stopping: kill, don't wait
            if not self._defer:
                terminate_children(self.baseline, wait=0, kill=True)
            return
        self.pending = signum
        if self._defer:
            return
        terminate_children(self.baseline, wait=0)
        raise Interrupted(signum)

    def defer(self) -> None:
        self._defer = True

    def resume(self) -> None:
        """End :meth:`defer`; a signal that came meanwhile stays in ``pending``."""
        self._defer = False


def terminate_children(baseline: set[int] | None = None, *, wait: float = 5.0,
                       kill: bool = False) -> list[int]:
    """SIGTERM (``kill``: SIGKILL) this process's descendants not in ``baseline`` (the kernel
    and the workers it started); with ``wait`` > 0, SIGKILL those still alive after ``wait``
    seconds. Returns their pids."""
    import psutil

    try:
        procs = [p for p in psutil.Process().children(recursive=True) if p.pid not in (baseline or set())]
    except psutil.Error:
        return []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill() if kill else p.terminate()
    if wait > 0:
        _, alive = psutil.wait_procs(procs, timeout=wait)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=wait)
    return [p.pid for p in procs]


def _children() -> set[int]:
    import psutil

    try:
        return {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return set()


@contextlib.contextmanager
def _environment(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- the run
def _stages(registry: Path) -> list[Path]:
    out = []
    for rec in sorted(registry.glob("*.json")) if registry.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, KeyError):
            out.append(Path(json.loads(rec.read_text())["stage"]))
    return out


def _substitutions(stages: list[Path]) -> list[dict]:
    """Substitutions recorded in the staged manifests (shown on the terminal)."""
    subs = []
    for stage in stages:
        for src, _ in staged_outputs(stage):
            if src.name == "manifest.json":
                with contextlib.suppress(OSError, ValueError):
                    for s in json.loads(src.read_text()).get("substitutions", []):
                        if s not in subs:
                            subs.append(s)
    return subs


def _log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        text = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def resolve_backend(backend: str | None = None) -> str:
    """The Keras backend the kernels get: ``backend``, else ``$KERAS_BACKEND``, else the first
    of tensorflow, torch, jax that is installed (tensorflow when none is). Unknown -> SystemExit."""
    import importlib.util

    how = "--backend"
    if not backend:
        backend, how = os.environ.get("KERAS_BACKEND", ""), "KERAS_BACKEND"
    if not backend:
        backend = next((b for b in BACKENDS if importlib.util.find_spec(b) is not None), "tensorflow")
    if backend not in BACKENDS:
        raise SystemExit(f"unknown Keras backend {backend!r} (from {how}): choose one of {', '.join(BACKENDS)}")
    return backend


def run(profile: str, data_root: str = "", only: list[str] | None = None, out: Path | None = None,
        kernel: str = "python3", extra_params: dict | None = None,
        directory: Path = NOTEBOOK_DIR, verbose: bool = False, backend: str | None = None,
        scheduler: str | None = None) -> int:
    """Run the notebooks; 0 when all ran, 1 at the first failure, 128 + signal when stopped."""
    backend = resolve_backend(backend)
    kernel_env = {"KERAS_BACKEND": backend}
    if scheduler:
        kernel_env["MER_SCHEDULER"] = scheduler
    nbs = list_notebooks(only, directory)
    if not nbs:
        print("No notebooks to run.", file=sys.stderr)
        return 1
    out = Path(out) if out else new_run_folder(ROOT / "runs", profile)
    out.mkdir(parents=True, exist_ok=True)
    params = {"profile": profile, "data_root": data_root or ""}
    params.update(extra_params or {})
    hash_seed = os.environ.get("PYTHONHASHSEED", "0")
    console = Console(out / "log.txt", verbose=verbose)
    try:
        console.say(f"Running {len(nbs)} notebook(s), profile={profile}, "
                    f"data={data_root or 'data/raw + demo corpus'}, KERAS_BACKEND={backend}, "
                    + (f"MER_SCHEDULER={scheduler}, " if scheduler else "") + f"PYTHONHASHSEED={hash_seed}")
        console.say(f"Executed copies, timings.csv and log.txt -> {out}")
        if profile == "full":
            _write_cost_projection(out, console.say)
        with _StopHandler(_children()) as stopper, _environment(PYTHONHASHSEED=hash_seed, **kernel_env):
            code = _run_all(nbs, out, params, kernel, console, stopper)
        if code in (0, 1):  # after the last notebook (not after a stop signal): runs/<run>/report/
            from mer_utils.html_report import after_run
            after_run(out, profile=profile, data_root=data_root, say=console.say)
        return code
    finally:
        console.close()


def _write_cost_projection(out: Path, say) -> Path | None:
    """``<run folder>/cost_projection.txt``: the projected cost of ``full`` (a note when unmeasured)."""
    from mer_utils import cost

    try:
        text = cost.format_projection(cost.load_measured())
    except (FileNotFoundError, ValueError) as exc:
        say(f"No cost projection: {exc}")
        return None
    path = out / "cost_projection.txt"
    path.write_text(text + "\n")
    total = text.splitlines()[-2].split("CPU-hours")[-1].split("GPU")[0].strip()
    say(f"Projected training cost of full: {total} CPU-hours (table: {path})")
    return path


def new_run_folder(parent: Path, profile: str) -> Path:
    """A run folder of its own, ``<parent>/<profile>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... when
    another run started in the same second): created here, atomically, so two runs never
    share one (their timings and reports would mix)."""
    from mer_utils.config import new_stamped_folder

    return new_stamped_folder(parent, profile, "run folder")


class NotebookBusy(RuntimeError):
    """Another run is executing the same notebook into the same results folder."""


@contextlib.contextmanager
def notebook_lock(results_dir: Path, notebook: str):
    """Hold ``<results_dir>/.locks/<notebook>.lock`` (an exclusive ``flock``) while a notebook
    runs and its outputs are committed: a second run of the same notebook into the same
    results folder fails at once, naming the run that holds it, and writes nothing. The lock
    goes with the process that holds it (a killed run leaves none behind)."""
    import fcntl

    folder = Path(results_dir) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.lock"
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise NotebookBusy(f"{notebook} is already running into {results_dir} ({holder}); nothing of this "
                               f"run was written. Wait for it, or run on another --data or --profile.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {_dt.datetime.now().isoformat(timespec='seconds')}\n")
        fh.flush()
        yield path
    finally:
        fh.close()


def _results_dir(params: dict) -> Path:
    from mer_utils.config import RESULTS_DIR
    from mer_utils.context import output_label, resolve_data_root

    return RESULTS_DIR / output_label(params["profile"], resolve_data_root(params.get("data_root") or None))


def _run_all(nbs, out: Path, params: dict, kernel: str, console: Console, stopper: _StopHandler) -> int:
    rows, t_all = [], time.time()
    for i, nb in enumerate(nbs, 1):
        try:
            status, dt, peak, subs = _run_one(nb, f"[{i}/{len(nbs)}] {nb.stem}", out, params, kernel,
                                              console, stopper)
        except Interrupted as stop:  # between notebooks, or after one was committed
            _write_timings(out, rows)
            console.say(f"Stopped by {stop.name}; every output is as the last complete run left it. "
                        f"Log: {out / 'log.txt'}", err=True)
            return 128 + stop.signum
        rows.append((nb.name, dt, peak, status if isinstance(status, str) else "interrupted"))
        _write_timings(out, rows)
        if isinstance(status, Interrupted):
            return 128 + status.signum
        if status != "ok":
            return 1
        if stopper.pending is not None:  # came while the outputs were being committed
            name = signal.Signals(stopper.pending).name
            console.say(f"Stopped by {name} after {nb.name} completed (its outputs are committed). "
                        f"Log: {out / 'log.txt'}", err=True)
            return 128 + stopper.pending
        for s in subs[:5]:
            console.say(f"    substitution: {s.get('used')} for {s.get('what')} ({s.get('reason')})")
        if len(subs) > 5:
            console.say(f"    ... {len(subs) - 5} more substitutions in the manifest")
    total = time.time() - t_all
    peak = max(r[2] for r in rows)
    console.say(f"All {len(rows)} notebooks ran in {total / 60:.1f} min; highest kernel peak "
                f"{peak / 2**30:.2f} GiB. Timings: {out / 'timings.csv'}")
    return 0


def _run_one(nb: Path, tag: str, out: Path, params: dict, kernel: str, console: Console,
             stopper: _StopHandler):
    """Execute one notebook and commit its staged outputs -> (status, seconds, peak, substitutions);
    status is "ok", "failed" or the :class:`Interrupted` that stopped it."""
    registry = out / "stages" / nb.stem
    registry.mkdir(parents=True, exist_ok=True)
    console.note(f"\n===== {nb.name} ({_dt.datetime.now().isoformat(timespec='seconds')}) =====")
    console.start(f"{tag} ... ")
    t0, mem = time.time(), PeakMemory()
    try:
        with notebook_lock(_results_dir(params), nb.stem):
            return _execute(nb, out, params, kernel, console, stopper, registry, t0, mem)
    except NotebookBusy as exc:
        console.end("FAILED: busy")
        console.say(str(exc), err=True)
        return "failed", time.time() - t0, 0, []


def _execute(nb: Path, out: Path, params: dict, kernel: str, console: Console, stopper: _StopHandler,
             registry: Path, t0: float, mem) -> tuple:
    import papermill as pm

    try:
        with _environment(**{STAGE_ENV: str(registry)}), mem:
            pm.execute_notebook(str(nb), str(out / nb.name), parameters=params, kernel_name=kernel,
                                cwd=str(nb.parent), progress_bar=False)
        dt = time.time() - t0
        stages = _stages(registry)
        subs = _substitutions(stages)
    except Interrupted as stop:
        dt = time.time() - t0
        terminate_children(stopper.baseline)
        console.end(f"interrupted by {stop.name} after {dt:.0f} s")
        console.say(f"Stopped by {stop.name}: the kernel of {nb.name} was stopped. Outputs of earlier "
                    f"complete runs are unchanged; what this run of {nb.stem} had written is "
                    f"discarded when it next runs. Log: {out / 'log.txt'}", err=True)
        return stop, dt, mem.peak, []
    except pm.PapermillExecutionError as exc:
        dt = time.time() - t0
        console.end(f"FAILED after {dt:.0f} s in cell {exc.exec_count}")
        tb = "\n".join(exc.traceback) if exc.traceback else f"{exc.ename}: {exc.evalue}"
        console.say(tb, err=True)
        console.say(f"Executed copy with the traceback: {out / nb.name}\nKernel log: {out / 'log.txt'}. "
                    f"Earlier complete outputs of {nb.stem} are unchanged.", err=True)
        return "failed", dt, mem.peak, []
    except Exception as exc:  # the kernel died, could not start, timed out...
        dt = time.time() - t0
        terminate_children(stopper.baseline)
        console.end(f"FAILED after {dt:.0f} s")
        tail = _log_tail(out / "log.txt")
        console.say(f"{type(exc).__name__}: {exc}"
                    + (f"\nLast lines of {out / 'log.txt'}:\n{tail}" if tail else ""), err=True)
        return "failed", dt, mem.peak, []
    stopper.defer()  # a signal from here on waits until the outputs are in place
    try:
        for stage in stages:
            commit_stage(stage)
    finally:
        stopper.resume()
    console.end(f"ok  {dt:5.0f} s  peak {mem.peak / 2**30:.2f} GiB")
    return "ok", dt, mem.peak, subs


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
    ap.add_argument("--backend", default=None, help="Keras backend of the kernels: tensorflow, torch or jax "
                    "(default: $KERAS_BACKEND, else the first installed)")
    ap.add_argument("--scheduler", default=os.environ.get("MER_SCHEDULER") or None,
                    help="dask scheduler address (or 'local') for the feature extraction")
    ap.add_argument("--verbose", action="store_true", help="leave kernel chatter on the terminal")
    a = ap.parse_args(argv)
    return run(a.profile, a.data, a.only, Path(a.out) if a.out else None, a.kernel, verbose=a.verbose,
               backend=a.backend, scheduler=a.scheduler)


if __name__ == "__main__":
    sys.exit(main())
