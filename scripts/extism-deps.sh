#!/usr/bin/env bash
# Install what the Extism plugin's build and host tests need (idempotent).
#
#   - npm packages in ${MR_NODE_TOOLS:-<repo>/dist/node-tools}: binaryen (wasm-opt 132, for
#     scripts/build-extism.sh; Debian's binaryen is too old) and @extism/extism (the Node
#     host SDK, for tests/extism/node_host.cjs)
#   - a Python venv at ${MR_EXTISM_VENV:-<repo>/dist/extism-venv} with the Python host SDK
#     `extism` and its runtime `extism-sys` (for tests/extism/python_host.py)
#
#   bash scripts/extism-deps.sh            # everything
#   bash scripts/extism-deps.sh --build    # only what the build needs (wasm-opt)
#
# Runs as root on Debian 12. When everything is already there at the pinned versions it
# makes no network call (no apt-get update, no npm, no pip).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_TOOLS="${MR_NODE_TOOLS:-$REPO/dist/node-tools}"
VENV="${MR_EXTISM_VENV:-$REPO/dist/extism-venv}"

# Pinned so that the optimiser's output and the hosts under test do not change.
# @extism/extism: 1.0.3 (the "latest" tag) has no memory limit and no call timeout; the 2.0
# release candidate has both (`memory.maxPages`, `timeoutMs` with `runInWorker`).
NPM_BUILD=(binaryen@132.0.0)
NPM_HOSTS=(@extism/extism@2.0.0-rc13)
# extism is the Python SDK; extism-sys is the runtime it loads (libextism, wasmtime inside).
PIP_PACKAGES=(extism==1.1.1 extism-sys==1.41.0 cffi==2.1.1 pycparser==3.12 jsonschema==4.26.0)

only_build=0
case "${1:-}" in
  --build) only_build=1 ;;
  "") ;;
  *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

log() { echo "extism-deps: $*"; }

# is_installed, apt_install, npm_have
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

# --- Node and npm ------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi

npm_specs=("${NPM_BUILD[@]}")
[[ $only_build -eq 1 ]] || npm_specs+=("${NPM_HOSTS[@]}")
npm_missing=()
for spec in "${npm_specs[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  [[ "$(npm_have "$NODE_TOOLS" "$name")" == "$want" ]] || npm_missing+=("$spec")
done
if [[ ${#npm_missing[@]} -gt 0 ]]; then
  log "npm install ${npm_missing[*]} (into $NODE_TOOLS)"
  mkdir -p "$NODE_TOOLS"
  npm install --prefix "$NODE_TOOLS" --no-audit --no-fund --save-exact --loglevel=error \
    "${npm_missing[@]}"
else
  log "npm: ${npm_specs[*]} already installed in $NODE_TOOLS"
fi
[[ -x "$NODE_TOOLS/node_modules/.bin/wasm-opt" ]] || {
  echo "extism-deps: $NODE_TOOLS/node_modules/.bin/wasm-opt missing after install" >&2
  exit 1
}

[[ $only_build -eq 0 ]] || { log "done (build tools only)"; exit 0; }

# --- Python venv ---------------------------------------------------------------
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

# Which pinned packages are missing or at another version? (no network)
pip_missing=()
while IFS= read -r spec; do
  if [[ -n "$spec" ]]; then pip_missing+=("$spec"); fi
done < <("$VENV/bin/python" - "${PIP_PACKAGES[@]}" <<'PY'
import sys
from importlib import metadata

for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        print(spec)
PY
)
if [[ ${#pip_missing[@]} -gt 0 ]]; then
  log "pip install ${pip_missing[*]}"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${PIP_PACKAGES[@]}"
else
  log "pip: ${PIP_PACKAGES[*]} already installed in $VENV"
fi
"$VENV/bin/python" -c 'import extism' || {
  echo "extism-deps: the extism package does not import in $VENV" >&2
  exit 1
}

log "done (node tools: $NODE_TOOLS; venv: $VENV)"
