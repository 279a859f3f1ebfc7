#!/usr/bin/env bash
# The GPU check: every network at its paper size under torch (KERAS_BACKEND=torch unless set),
# a bounded number of training steps each (seconds per epoch, peak GPU memory, projected full
# hours), then one seeded unit on the GPU against the CPU within a stated tolerance.
# Fits in 8 minutes on one GPU (default budget: 360 s of timings, then the unit check).
#
#   bash benchmarks/gpu_check.sh                          # on a GPU machine
#   bash benchmarks/gpu_check.sh --budget-s 5 --only velankar --steps 1 --batch-cap 2 \
#        --unit-rows 8 --unit-epochs 1                    # the tiny CPU run CI does
#   bash benchmarks/gpu_check.sh --out runs/gpu-check     # also writes gpu_check.json
#
# Exit status 1 when the unit's GPU and CPU predictions differ by more than --tolerance.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${MER_PYTHON:-python}
if [ -x .venv/bin/python ] && [ -z "${MER_PYTHON:-}" ]; then PY=.venv/bin/python; fi
export KERAS_BACKEND=${KERAS_BACKEND:-torch}
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec "$PY" benchmarks/gpu_check.py "$@"
