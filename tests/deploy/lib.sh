# shellcheck shell=bash disable=SC2034
# Shared by tests/deploy/*.sh (sourced, bash). Usage in a test: NAME=...; source lib.sh "$@"
# Sets REPO (the checkout), CLI (absolute path of the matrix-render binary, first argument,
# default target/debug/matrix-render), BIN (a temp dir holding `matrix-render` -> CLI, for
# PATH), PY (a python with PyYAML), T (a temp dir removed on exit), and provides check
# helpers and the one-line summary.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECK_PY="$REPO/tests/deploy/check.py"
CLI=${1:-target/debug/matrix-render}
case $CLI in
/*) ;;
*) CLI="$PWD/$CLI" ;;
esac
if [ ! -x "$CLI" ]; then
  echo "$NAME: FAILED: matrix-render not found at $CLI (cargo build -p matrix-render)" >&2
  exit 1
fi

PY=
for candidate in "$REPO/dist/test-venv/bin/python" python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
    PY=$candidate
    break
  fi
done
if [ -z "$PY" ]; then
  echo "$NAME: FAILED: no python with PyYAML (dist/test-venv/bin/python or python3)" >&2
  exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/mr-deploy-test.XXXXXX")
trap '[ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
BIN="$T/bin"
mkdir -p "$BIN"
ln -s "$CLI" "$BIN/matrix-render"

PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }
fail() {
  FAILED=$((FAILED + 1))
  echo "$NAME: FAIL: $*" >&2
}
# check DESCRIPTION COMMAND...: the command must succeed.
check() {
  local what=$1
  shift
  if "$@"; then pass; else fail "$what"; fi
}
# same_bytes DESCRIPTION A B
same_bytes() {
  if cmp -s "$2" "$3"; then
    pass
  else
    fail "$1: $2 and $3 differ"
    diff "$2" "$3" | head -20 >&2 || true
  fi
}
# summary [DETAIL]: the one-line result, and the exit status.
summary() {
  if [ "$FAILED" -eq 0 ]; then
    echo "$NAME: ok ($PASSED checks${1:+; $1})"
    exit 0
  fi
  echo "$NAME: FAILED ($FAILED of $((PASSED + FAILED)) checks failed)"
  exit 1
}
