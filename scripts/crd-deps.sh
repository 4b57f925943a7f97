#!/usr/bin/env bash
# Install the CRD schemas for tests/crd/validate.py (idempotent).
#
#   - Node.js and npm (the machine's; Debian's nodejs and npm if there is none)
#   - ${MR_CRD_NODE:-<repo>/dist/crd-node}/node_modules: the npm packages pinned in
#     tests/crd/package.json, every transitive version and integrity hash pinned by
#     tests/crd/package-lock.json (npm ci, no install scripts):
#       @kubernetes-models/gateway-api 0.5.1  Gateway API v1.0.0 CRDs (HTTPRoute v1 ...)
#       @kubernetes-models/cert-manager 5.0.1 cert-manager v1.20.2 CRDs (Certificate v1 ...)
#       @kubernetes-models/traefik 1.0.1      traefik-helm-chart v39.0.8 CRDs, Traefik v3
#                                             (traefik.io/v1alpha1 Middleware ...)
#       @kubernetes-models/prometheus-operator 6.0.0
#                                             Prometheus Operator API types
#                                             (monitoring.coreos.com/v1 ServiceMonitor ...)
#     Each package's build turned the upstream CRD YAML listed in its package.json
#     ("crd-generate.input"), or for prometheus-operator the Go API types the CRDs are
#     generated from ("go-generate.input"), into ajv validators; see tests/crd/validate.mjs.
#
# Runs as root on Debian 12. When the pinned packages are already installed (a stamp
# holds the hash of package.json and package-lock.json) it makes no network call.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${MR_CRD_NODE:-$REPO/dist/crd-node}"
SRC="$REPO/tests/crd"
STAMP="$DEST/.crd-deps-stamp"

log() { echo "crd-deps: $*"; }

# --- Node.js and npm -----------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "apt-get update && apt-get install -y nodejs npm"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
log "node $(node --version), npm $(npm --version)"

# --- the pinned npm packages ---------------------------------------------------
want="$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1)"

# Prints the pinned packages that are missing or at another version (no network).
check_installed() {
  node - "$SRC/package.json" "$DEST/node_modules" <<'JS'
const fs = require("fs");
const path = require("path");
const [pkgFile, modules] = process.argv.slice(2);
const deps = JSON.parse(fs.readFileSync(pkgFile, "utf8")).dependencies;
for (const [name, want] of Object.entries(deps)) {
  let have = null;
  try {
    have = JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8")).version;
  } catch (e) {}
  if (have !== want) console.log(`${name}@${want} (installed: ${have ?? "none"})`);
}
JS
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -d "$DEST/node_modules" ]] &&
  [[ -z "$(check_installed)" ]]; then
  log "npm: $(cd "$SRC" && node -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + "@" + v).join(" ")') already installed in $DEST"
else
  log "npm ci into $DEST"
  rm -rf "$DEST"
  mkdir -p "$DEST"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
  # The packages declare engines node>=22 but run on the machine's Node.js 20
  # (tests/crd/validate.py fails loudly if they ever do not); --loglevel=error hides
  # the EBADENGINE warnings.
  (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  bad="$(check_installed)"
  if [[ -n "$bad" ]]; then
    echo "crd-deps: after npm ci, not installed as pinned: $bad" >&2
    exit 1
  fi
  echo "$want" >"$STAMP"
fi

log "done (node_modules: $DEST/node_modules)"
