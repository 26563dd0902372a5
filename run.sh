#!/usr/bin/env bash
# Runs the assistant on this machine: installs what is missing, trains the model when the
# training data changed, starts the Rasa server and the action server on SQLite under data/,
# and opens a chat in this terminal. Extra arguments go to `python -m bot run`.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
ensure_system_packages ffmpeg espeak-ng sox
ensure_venv
exec "$SAPALAPOR_PYTHON" -m bot run "$@"
