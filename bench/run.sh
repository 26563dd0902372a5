#!/usr/bin/env bash
# The benchmark on a fresh machine: installs what is missing (like ./test.sh), then runs
# `python -m bench.run` with the shared model cache. Extra arguments go to bench.run
# (e.g. bash bench/run.sh --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
ensure_system_packages ffmpeg espeak-ng postgresql sox
ensure_venv
# Shared across clones on this machine: our trained model and the `rasa init` model.
export SAPALAPOR_MODEL_DIR="${SAPALAPOR_MODEL_DIR:-$SAPALAPOR_HOME/models}"
step "Running the benchmark (bench/README.md explains every figure)"
exec "$SAPALAPOR_PYTHON" -m bench.run "$@"
