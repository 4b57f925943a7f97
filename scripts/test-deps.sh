#!/usr/bin/env bash
# Install what the independent golden-output checks need (idempotent).
#
#   - Debian: golang-go, golang-gopkg-yaml.v2-dev (for tests/yaml11/go), shellcheck
#     (the migration scripts), util-linux and tar (unshare, to mount a small tmpfs in the
#     disk-full test of --output-dir)
#   - a Python venv at ${MR_VENV:-<repo>/dist/test-venv} with PyYAML,
#     kubernetes-validate and jsonschema (tests/yaml11/roundtrip.py,
#     tests/kube-validate.sh)
#   - the Rust target wasm32-unknown-unknown
#
#   - rustfmt and clippy for the pinned toolchain
#
# Runs as root on Debian 12. When everything is already there it makes no
# network call (no apt-get update, no pip, no rustup download).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MR_VENV:-$REPO/dist/test-venv}"

APT_PACKAGES=(golang-go golang-gopkg-yaml.v2-dev shellcheck util-linux tar)
# Pinned so that the bundled Kubernetes schemas (1.25 ... 1.37 in 1.37.0) and
# the YAML 1.1 loader do not change under the tests.
PIP_PACKAGES=(PyYAML==6.0.4 jsonschema==4.26.0 kubernetes-validate==1.37.0)

log() { echo "test-deps: $*"; }

# is_installed, apt_install, npm_have
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

# --- Debian packages -------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  apt_install "${missing[@]}"
else
  log "apt: ${APT_PACKAGES[*]} already installed"
fi
if [[ ! -f /usr/share/gocode/src/gopkg.in/yaml.v2/yaml.go ]]; then
  echo "test-deps: /usr/share/gocode/src/gopkg.in/yaml.v2 is missing after install" >&2
  exit 1
fi

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
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${pip_missing[@]}"
else
  log "pip: ${PIP_PACKAGES[*]} already installed in $VENV"
fi
for tool in kubernetes-validate python; do
  [[ -x "$VENV/bin/$tool" ]] || { echo "test-deps: $VENV/bin/$tool missing" >&2; exit 1; }
done

# --- Rust target -----------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/rustup" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
# Run inside the repo so that rust-toolchain.toml picks the toolchain.
if (cd "$REPO" && rustup target list --installed) | grep -qx wasm32-unknown-unknown; then
  log "rustup: target wasm32-unknown-unknown already installed"
else
  log "rustup target add wasm32-unknown-unknown"
  (cd "$REPO" && rustup target add wasm32-unknown-unknown)
fi

log "done (venv: $VENV)"

# --- rustfmt and clippy for the toolchain in rust-toolchain.toml ------------
for component in rustfmt clippy; do
  if (cd "$REPO" && rustup component list --installed) | grep -q "^$component"; then
    log "rustup: component $component already installed"
  else
    log "rustup component add $component"
    (cd "$REPO" && rustup component add "$component")
  fi
done
