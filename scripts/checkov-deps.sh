#!/usr/bin/env bash
# Install checkov for tests/checkov/run.py (idempotent).
#
#   - a Python venv at ${MR_CHECKOV_VENV:-<repo>/dist/checkov-venv} with checkov pinned
#     (kept apart from dist/test-venv: checkov pins many packages of its own, PyYAML
#     among them, which must not move the versions the other tests pin)
#
# Runs as root on Debian 12. When checkov is already there at the pinned version it
# makes no network call (no apt-get update, no pip).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MR_CHECKOV_VENV:-$REPO/dist/checkov-venv}"

# Pinned so that the set of checks and their verdicts do not change under the tests.
CHECKOV_SPEC="checkov==3.3.30"

log() { echo "checkov-deps: $*"; }

# is_installed, apt_install, npm_have
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

# --- Python venv -------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "venv: $VENV exists"
else
  [[ -e "$VENV" ]] && { log "venv: $VENV is broken, recreating"; rm -rf "$VENV"; }
  log "venv: creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV"; then
    # Debian's own python3 needs python3-venv for ensurepip.
    rm -rf "$VENV"
    is_installed python3-venv || apt_install python3-venv
    /usr/bin/python3 -m venv "$VENV"
  fi
fi

# Is checkov there at the pinned version? (no network)
have="$("$VENV/bin/python" - "$CHECKOV_SPEC" <<'PY'
import sys
from importlib import metadata

name, _, want = sys.argv[1].partition("==")
try:
    print("ok" if metadata.version(name) == want else "other")
except metadata.PackageNotFoundError:
    print("missing")
PY
)"
if [[ "$have" != ok ]]; then
  log "pip install $CHECKOV_SPEC ($have)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$CHECKOV_SPEC"
else
  log "pip: $CHECKOV_SPEC already installed in $VENV"
fi
[[ -x "$VENV/bin/checkov" ]] || { echo "checkov-deps: $VENV/bin/checkov missing" >&2; exit 1; }

log "done (checkov: $VENV/bin/checkov)"
