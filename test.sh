#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what is missing, then pytest.
# Extra arguments go to pytest (e.g. ./test.sh tests/storage -k postgres).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
# chromium: the browser tests (web chat, staff console) run in Debian's Chromium with axe-core.
ensure_system_packages ffmpeg espeak-ng postgresql redis-server nginx sox chromium fonts-dejavu-core
ensure_venv
ensure_npm_packages tests/support/browser
# Shared across clones on this machine: the trained model, keyed by the training data.
export SAPALAPOR_MODEL_DIR="${SAPALAPOR_MODEL_DIR:-$SAPALAPOR_HOME/models}"
step "Running the tests"
exec "$SAPALAPOR_PYTHON" -m pytest "$@"
