#!/usr/bin/env bash
# One entry point for the compendium.
#
#   ./run_all.sh                         set up, then run every notebook under the demo profile
#   ./run_all.sh --tests [PYTEST ARGS]   set up, then run the test suite
#   ./run_all.sh --profile smoke|demo|full --data DIR --only 40 [--only 01] [--skip-setup]
#   ./run_all.sh --backend tensorflow|torch|jax [--scheduler ADDRESS] ...
#   ./run_all.sh --setup-only
#
# --backend sets KERAS_BACKEND for every kernel (default: $KERAS_BACKEND when set, else the
# first of tensorflow, torch, jax installed in the venv, else tensorflow for a fresh one);
# set-up installs the matching extra of pyproject.toml ([tensorflow], [torch], [jax]; with
# MER_GPU=1 [gpu-torch] / [gpu-jax] / [gpu], the CUDA builds).
# --scheduler ADDRESS (or $MER_SCHEDULER) runs the feature extraction and the training units
# (run_protocol: one unit per worker) on a dask.distributed cluster (tcp://host:8786, or
# "local" for a LocalCluster on this machine; extra [cluster]).
# --profile full first prints the projected training cost (python -m mer_utils.cost).
#
# Set-up (idempotent, skipped when nothing changed): a virtual environment in .venv
# (Python from $PYTHON, default python3), the pinned dependencies of pyproject.toml,
# a Jupyter kernel "Python (MER compendium)" inside the venv, and the musicnn wheel
# that carries the offline pretrained embedding (fetched from the package registry).
# --tests also installs the extras [torch] and [cluster]: the model tests and the smoke runs of
# the notebooks that train networks run again under Keras's torch backend, and the cluster
# extraction test runs on a dask LocalCluster.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
VENV=${MER_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

mode=notebooks
profile=demo
data=""
only=()
skip_setup=0
pytest_args=()
backend=""
scheduler=${MER_SCHEDULER:-}

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --tests) mode=tests; shift; pytest_args=("$@"); break ;;
    --setup-only) mode=setup; shift ;;
    --profile) profile=${2:?--profile needs smoke, demo or full}; shift 2 ;;
    --profile=*) profile=${1#*=}; shift ;;
    --data) data=${2:?--data needs a folder}; shift 2 ;;
    --data=*) data=${1#*=}; shift ;;
    --only) only+=("--only" "${2:?--only needs a notebook number or name}"); shift 2 ;;
    --only=*) only+=("--only" "${1#*=}"); shift ;;
    --skip-setup) skip_setup=1; shift ;;
    --backend) backend=${2:?--backend needs tensorflow, torch or jax}; shift 2 ;;
    --backend=*) backend=${1#*=}; shift ;;
    --scheduler) scheduler=${2:?--scheduler needs an address (tcp://host:8786) or local}; shift 2 ;;
    --scheduler=*) scheduler=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

case "$profile" in smoke|demo|full) ;; *) echo "run_all.sh: --profile must be smoke, demo or full" >&2; exit 2 ;; esac
if [ -n "$data" ] && [ ! -d "$data" ]; then
  echo "run_all.sh: --data $data is not a folder" >&2; exit 2
fi
if [ -n "$data" ]; then
  if [ ! -r "$data" ] || [ ! -x "$data" ] || ! data=$(cd "$data" 2>/dev/null && pwd); then
    echo "run_all.sh: --data $data cannot be read (permissions?): give a folder you can list and read" >&2; exit 2
  fi
fi

# The Keras backend: --backend, else $KERAS_BACKEND, else the first one installed in the venv
# (tensorflow, torch, jax), else tensorflow (a fresh venv; set-up then installs it).
backend_how="--backend"
if [ -z "$backend" ] && [ -n "${KERAS_BACKEND:-}" ]; then backend=$KERAS_BACKEND; backend_how="KERAS_BACKEND"; fi
if [ -z "$backend" ]; then
  backend_how="detected in $VENV"
  if [ -x "$VENV/bin/python" ]; then
    backend=$("$VENV/bin/python" -c 'import importlib.util as u
print(next((b for b in ("tensorflow", "torch", "jax") if u.find_spec(b)), ""))' 2>/dev/null || true)
  fi
  if [ -z "$backend" ]; then backend=tensorflow; backend_how="default (nothing installed yet)"; fi
fi
case "$backend" in
  tensorflow|torch|jax) ;;
  *) echo "run_all.sh: unknown Keras backend '$backend' (from $backend_how): choose tensorflow, torch or jax" >&2; exit 2 ;;
esac

setup() {
  local t0=$SECONDS
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
      echo "run_all.sh: need Python 3.10-3.12 (set PYTHON=python3.11); $PY is $("$PY" --version 2>&1)" >&2
      exit 1
    fi
    echo "== creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.mer-setup-$( (cat pyproject.toml; echo v2) | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "== installing pinned dependencies (pyproject.toml)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e .
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name mer-compendium \
      --display-name "Python (MER compendium)" >/dev/null
    rm -f "$VENV"/.mer-setup-*
    touch "$stamp"
    if "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("tensorflow"); m.version("tensorflow-cpu")' 2>/dev/null; then
      echo "   note: $VENV holds two TensorFlow builds (tensorflow beside tensorflow-cpu, left by an" \
           "older set-up that installed tf-keras); recreate it (remove the folder) to keep one." >&2
    fi
  fi
  # The backend's extra ([tensorflow], [torch], [jax]; with MER_GPU=1 the CUDA builds) and,
  # for the test suite, the second backend and the cluster extra (tests/test_backends.py,
  # tests/test_cluster.py): the extras of pyproject.toml named in $extras.
  if [ -n "$extras" ]; then
    local xstamp="$VENV/.mer-extra-${extras//,/+}-${stamp##*-}"
    if [ ! -f "$xstamp" ]; then
      echo "== installing the extras [$extras]"
      "$VENV/bin/python" -m pip install -q -e ".[$extras]"
      rm -f "$VENV"/.mer-extra-*
      touch "$xstamp"
    fi
  fi
  # Offline pretrained embedding: the musicnn wheel's checkpoints (read, never imported).
  if ! ls data/cache/weights/musicnn-0.1.0-*.whl >/dev/null 2>&1; then
    echo "== fetching the musicnn 0.1.0 wheel (pretrained MTT/MSD checkpoints)"
    mkdir -p data/cache/weights
    "$VENV/bin/python" -m pip download -q --no-deps musicnn==0.1.0 -d data/cache/weights \
      || echo "   (could not fetch it: musicnn embeddings will be unavailable and reported as such)"
  fi
  echo "== set-up ready ($((SECONDS - t0)) s)"
}

# the extra of the chosen backend: CPU builds, or with MER_GPU=1 the CUDA ones
if [ "${MER_GPU:-0}" = 1 ]; then
  case "$backend" in tensorflow) extras=gpu ;; *) extras=gpu-$backend ;; esac
else
  extras=$backend
fi
if [ "$mode" = tests ]; then
  case ",$extras," in *,torch,*) ;; *) extras="$extras,torch" ;; esac
  extras="$extras,cluster"
fi
if [ "$skip_setup" = 0 ]; then setup; fi
[ "$mode" = setup ] && exit 0

export PATH="$VENV/bin:$PATH"
export PYTHONUNBUFFERED=1
export MPLBACKEND=Agg
export KERAS_BACKEND=$backend
if [ -n "$scheduler" ]; then export MER_SCHEDULER=$scheduler; fi

if [ "$mode" = tests ]; then
  set +e
  "$VENV/bin/python" -m pytest "${pytest_args[@]}"
  rc=$?
  set -e
  if [ $rc -eq 5 ]; then
    echo "run_all.sh: pytest collected no tests — treating that as a failure" >&2
    exit 1
  fi
  exit $rc
fi

# exec: the runner replaces this shell, so Ctrl-C (SIGINT to the foreground process group)
# and SIGTERM reach it directly. It stops the running notebook's kernel (which runs in a
# session of its own), keeps every output as the last complete run left it, and exits
# with 130 / 143 (see mer_utils/notebook_runner.py).
echo "Keras backend: $backend ($backend_how)${scheduler:+; dask scheduler: $scheduler}"
if [ "$profile" = full ]; then
  # what the papers' own sizes cost (mer_utils/cost.py, measured by benchmarks/bench_cost.py)
  "$VENV/bin/python" -m mer_utils.cost || echo "(no cost projection: run python benchmarks/bench_cost.py)" >&2
  echo
fi
exec "$VENV/bin/python" -m mer_utils.notebook_runner --profile "$profile" --data "$data" --backend "$backend" \
  ${scheduler:+--scheduler "$scheduler"} "${only[@]}"
