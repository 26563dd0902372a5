#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh, safe to repeat: system packages (apt-get, only what is
# missing), Python 3.10, and a virtualenv installed from requirements.lock in one resolve.
#
# The virtualenv lives outside the checkout, keyed by a hash of the lock file and the Python
# version, so fresh clones on the same machine reuse it and a changed lock builds a new one.
# Sourced, not executed: it exports SAPALAPOR_HOME and SAPALAPOR_PYTHON.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SAPALAPOR_HOME="${SAPALAPOR_HOME:-$HOME/.cache/sapalapor}"
mkdir -p "$SAPALAPOR_HOME"

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Need root to run: $*" >&2; return 1; fi
}

ensure_system_packages() {
  local wanted=("$@") missing=() pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "Installing system packages: ${missing[*]}"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# npm packages of one folder (a package.json with its package-lock.json), installed exactly as
# locked; repeated only when the lock changed.
ensure_npm_packages() {
  local folder="$ROOT/$1" stamp
  command -v npm >/dev/null || ensure_system_packages nodejs npm
  stamp="$folder/node_modules/.lock-$(sha256sum "$folder/package-lock.json" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    step "Installing npm packages in $1"
    (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}

find_python310() {
  local candidate
  for candidate in \
      "$(command -v pyenv >/dev/null && pyenv root 2>/dev/null)/versions/$(cat "$ROOT/.python-version" 2>/dev/null)/bin/python3.10" \
      "$(command -v python3.10 2>/dev/null || true)" \
      "$HOME"/.pyenv/versions/3.10*/bin/python3.10 \
      /usr/bin/python3.10 /usr/local/bin/python3.10; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  # No 3.10 here: let uv install one (needs the internet to reach uv's Python builds).
  if ! command -v uv >/dev/null; then
    python3 -m pip install --quiet --user uv >&2 || return 1
    export PATH="$HOME/.local/bin:$PATH"
  fi
  uv python install 3.10 >&2 && uv python find 3.10
}

ensure_venv() {
  local python key venv
  python="$(find_python310)" || { echo "Python 3.10 is required and could not be found or installed." >&2; exit 1; }
  key="$( (cat "$ROOT/requirements.lock"; "$python" -VV) | sha256sum | cut -c1-16)"
  venv="$SAPALAPOR_HOME/venv-$key"
  if [ ! -f "$venv/.installed" ]; then
    step "Creating the Python 3.10 environment in $venv (first run: several minutes)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # Only pip itself: anything else (wheel, setuptools) comes pinned from the lock, since a newer
    # wheel pulls a packaging that Rasa rejects at import time.
    "$venv/bin/python" -m pip install --quiet --upgrade "pip>=24,<26"
    step "Installing the locked dependencies (requirements.lock)"
    "$venv/bin/python" -m pip install --progress-bar on -r "$ROOT/requirements.lock" \
      2>&1 | grep -v "^WARNING: Location" || true
    "$venv/bin/python" -m pip check
    touch "$venv/.installed"
  fi
  ln -sfn "$venv" "$ROOT/.venv"
  export SAPALAPOR_PYTHON="$venv/bin/python"
}
