#!/usr/bin/env bash
# The GPU benchmark on a machine that reaches no package index (benchmarks/gpu/README.md):
# install the wheels carried in .whl/ (made here by benchmarks/gpu/wheels.py), then run run.py.
#   bash benchmarks/gpu/run.sh                 # full run, under 10 minutes on one H200
#   bash benchmarks/gpu/run.sh --tiny --device cpu
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
# the wheels are built for the GPU machine's Python 3.12 (wheels.py); another interpreter uses its own packages
if compgen -G ".whl/*.whl" >/dev/null && "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/optnas-site .whl/*.whl
    export PYTHONPATH=/tmp/optnas-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}   # optnas from this tree, for run.py and every process it starts
export PYTHONUNBUFFERED=1
"$PYTHON" benchmarks/gpu/run.py "$@"
