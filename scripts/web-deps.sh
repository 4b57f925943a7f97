#!/usr/bin/env bash
# Install what the browser preview's build and its browser test need (idempotent).
#
#   - wasm-bindgen-cli, exactly the version of the `wasm-bindgen` crate in Cargo.lock (the
#     two must match), in ${MR_WEB_TOOLS:-<repo>/dist/tools}/bin (for scripts/build-web.sh)
#   - binaryen's wasm-opt 132 in dist/node-tools, through `scripts/extism-deps.sh --build`
#   - Debian's `chromium` (/usr/bin/chromium), for tests/web/run.mjs
#   - npm `playwright-core` in ${MR_WEB_NODE:-<repo>/dist/web-node}: the driver only. No
#     browser is ever downloaded through Playwright (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1); the
#     test launches /usr/bin/chromium.
#
#   bash scripts/web-deps.sh            # everything
#   bash scripts/web-deps.sh --build    # only what the build needs (wasm-bindgen, wasm-opt)
#
# Runs as root on Debian 12. When everything is already there at the pinned versions it
# makes no network call (no apt-get update, no cargo install, no npm).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${MR_WEB_TOOLS:-$REPO/dist/tools}"
WEB_NODE="${MR_WEB_NODE:-$REPO/dist/web-node}"

# Must equal the `wasm-bindgen` version pinned in Cargo.toml ([workspace.dependencies]).
WASM_BINDGEN_VERSION=0.2.130
# Pinned so that the test's driver does not change under it; 1.65 drives Chromium 148.
NPM_TEST=(playwright-core@1.65.1)

only_build=0
case "${1:-}" in
  --build) only_build=1 ;;
  "") ;;
  *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

log() { echo "web-deps: $*"; }

# is_installed, apt_install, npm_have
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

# --- wasm-bindgen-cli ----------------------------------------------------------
locked="$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p}' "$REPO/Cargo.lock")"
if [[ "$locked" != "$WASM_BINDGEN_VERSION" ]]; then
  echo "web-deps: Cargo.lock has wasm-bindgen ${locked:-<none>}, this script installs" \
    "wasm-bindgen-cli $WASM_BINDGEN_VERSION; make them equal" >&2
  exit 1
fi
WASM_BINDGEN="$TOOLS/bin/wasm-bindgen"
have="$("$WASM_BINDGEN" --version 2>/dev/null | cut -d' ' -f2 || true)"
if [[ "$have" == "$WASM_BINDGEN_VERSION" ]]; then
  log "wasm-bindgen-cli $WASM_BINDGEN_VERSION already installed in $TOOLS"
else
  mkdir -p "$TOOLS"
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (into $TOOLS; a few minutes)"
  # --locked first: the dependency versions the release was tested with. 0.2.130's lock file
  # names webpki-roots 1.0.11 (through ureq, which only its test runner uses), and the
  # crates.io index reachable here has none newer than 1.0.10, so the locked install fails;
  # then resolve afresh within the same semver ranges. The support code that writes the glue
  # (wasm-bindgen-cli-support and -shared) is pinned to =0.2.130 either way.
  if ! cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS" \
    --locked; then
    log "the locked install failed; installing without --locked"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
  fi
  have="$("$WASM_BINDGEN" --version | cut -d' ' -f2)"
  [[ "$have" == "$WASM_BINDGEN_VERSION" ]] || {
    echo "web-deps: $WASM_BINDGEN is $have after install, not $WASM_BINDGEN_VERSION" >&2
    exit 1
  }
fi

# --- wasm-opt (binaryen 132, shared with the Extism build) ---------------------
bash "$REPO/scripts/extism-deps.sh" --build

[[ $only_build -eq 0 ]] || { log "done (build tools only)"; exit 0; }

# --- Chromium ------------------------------------------------------------------
if [[ -x /usr/bin/chromium ]]; then
  log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
else
  apt_install chromium
fi

# --- playwright-core -------------------------------------------------------------
npm_missing=()
for spec in "${NPM_TEST[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  [[ "$(npm_have "$WEB_NODE" "$name")" == "$want" ]] || npm_missing+=("$spec")
done
if [[ ${#npm_missing[@]} -gt 0 ]]; then
  log "npm install ${npm_missing[*]} (into $WEB_NODE; no browser download)"
  mkdir -p "$WEB_NODE"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$WEB_NODE" --no-audit --no-fund \
    --save-exact --loglevel=error "${npm_missing[@]}"
else
  log "npm: ${NPM_TEST[*]} already installed in $WEB_NODE"
fi

log "done (wasm-bindgen: $TOOLS/bin; node modules: $WEB_NODE/node_modules; chromium: /usr/bin/chromium)"
