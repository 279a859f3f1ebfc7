#!/usr/bin/env bash
# One entry point for the compendium.
#
#   ./run_all.sh                         set up, then run every notebook under the demo profile
#   ./run_all.sh --tests [PYTEST ARGS]   set up, then run the test suite
#   ./run_all.sh --profile smoke|demo|full --data DIR --only 40 [--only 01] [--skip-setup]
#   ./run_all.sh --setup-only
#
# Set-up (idempotent, skipped when nothing changed): a virtual environment in .venv
# (Python from $PYTHON, default python3), the pinned dependencies of pyproject.toml,
# a Jupyter kernel "Python (MER compendium)" inside the venv, and the musicnn wheel
# that carries the offline pretrained embedding (fetched from the package registry).
# --tests also installs the extra [torch]: the model tests run again under Keras's torch backend.
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

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

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
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

case "$profile" in smoke|demo|full) ;; *) echo "run_all.sh: --profile must be smoke, demo or full" >&2; exit 2 ;; esac
if [ -n "$data" ] && [ ! -d "$data" ]; then
  echo "run_all.sh: --data $data is not a folder" >&2; exit 2
fi
if [ -n "$data" ]; then data=$(cd "$data" && pwd); fi

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
  # The test suite runs the model and training tests again under a second Keras backend
  # (tests/test_backends.py): the extra of pyproject.toml named in $extras.
  if [ -n "$extras" ]; then
    local xstamp="$VENV/.mer-extra-$extras-${stamp##*-}"
    if [ ! -f "$xstamp" ]; then
      echo "== installing the extra [$extras] (a second Keras backend for the model tests)"
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

extras=""
if [ "$mode" = tests ]; then extras=torch; fi
if [ "$skip_setup" = 0 ]; then setup; fi
[ "$mode" = setup ] && exit 0

export PATH="$VENV/bin:$PATH"
export PYTHONUNBUFFERED=1
export MPLBACKEND=Agg

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
# with 130 / 143 (see mer_utils/runner.py).
exec "$VENV/bin/python" -m mer_utils.runner --profile "$profile" --data "$data" "${only[@]}"
