#!/usr/bin/env bash
# Build the Helm 4 plugin directory: OUT/plugin.yaml and OUT/plugin.wasm (README.md here).
#
#   bash deploy/helm4/build.sh [OUT]        # default dist/helm4/matrix-render
#
# 1. cargo builds crates/plugin-wasm with only the `extism` feature for wasm32-wasip1 (added
#    with rustup when missing) with the `wasm-release` profile, in its own target dir
#    (${MR_HELM4_TARGET_DIR:-target/wasm-helm4}). WASI, not wasm32-unknown-unknown: Helm
#    connects a plugin's stdin, stdout and stderr only through WASI, and the WASI build is
#    the one that exports `helm_plugin_main`; dist/matrix-render.extism.wasm stays WASI-free;
# 2. the module must import only `extism:host/env` and `wasi_snapshot_preview1`, and export
#    `helm_plugin_main` and `memory`;
# 3. plugin.yaml (whose version must be the workspace version) and the module are copied to
#    OUT, the module atomically. Install with `helm plugin install OUT`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT="${1:-dist/helm4/matrix-render}"
TARGET_DIR="${MR_HELM4_TARGET_DIR:-target/wasm-helm4}"
TARGET=wasm32-wasip1

log() { echo "helm4-build: $*"; }

want=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
have=$(sed -n 's/^version: *//p' deploy/helm4/plugin.yaml | head -n 1)
if [[ "$have" != "$want" ]]; then
  log "deploy/helm4/plugin.yaml has version '$have' but the workspace is '$want'" >&2
  exit 1
fi

# rust-toolchain.toml lists only the target the CLI needs; this one is for the plugin alone.
if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "rustup target add $TARGET"
  rustup target add "$TARGET"
fi

log "cargo build (extism, $TARGET, wasm-release) in $TARGET_DIR"
cargo build --locked -p matrix-render-plugin --no-default-features --features extism \
  --target "$TARGET" --profile wasm-release --target-dir "$TARGET_DIR"
built="$TARGET_DIR/$TARGET/wasm-release/matrix_render_plugin.wasm"

node - "$built" <<'JS'
const bytes = require('node:fs').readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const allowed = new Set(['extism:host/env', 'wasi_snapshot_preview1']);
const bad = WebAssembly.Module.imports(mod).filter((i) => !allowed.has(i.module));
if (bad.length) {
  console.error('helm4-build: unexpected imports:', JSON.stringify(bad));
  process.exit(1);
}
const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
const missing = ['helm_plugin_main', 'memory'].filter((n) => !exported.has(n));
if (missing.length) {
  console.error('helm4-build: missing exports:', missing.join(', '));
  process.exit(1);
}
JS

mkdir -p "$OUT"
cp deploy/helm4/plugin.yaml "$OUT/plugin.yaml"
tmp="$OUT/plugin.wasm.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cp "$built" "$tmp"
mv -f "$tmp" "$OUT/plugin.wasm"
trap - EXIT
log "$OUT/plugin.wasm: $(wc -c <"$OUT/plugin.wasm" | tr -d ' ') bytes, sha256 $(sha256sum "$OUT/plugin.wasm" | cut -d' ' -f1)"
