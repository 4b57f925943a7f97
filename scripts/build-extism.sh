#!/usr/bin/env bash
# Build the Extism plugin: dist/matrix-render.extism.wasm (docs/extism.md describes its ABI).
#
#   bash scripts/build-extism.sh [OUT]
#
# 1. cargo builds crates/plugin-wasm with only the `extism` feature for wasm32-unknown-unknown
#    (no WASI) with the `wasm-release` profile, in its own target dir
#    (${MR_EXTISM_TARGET_DIR:-target/wasm-extism}) so that it does not wait on, or rebuild,
#    the CLI's nested build of the raw core in target/wasm-core;
# 2. wasm-opt 132 (npm `binaryen`, installed by scripts/extism-deps.sh --build) shrinks it
#    with -Os. The feature flags are exactly the ones rustc enables for wasm32 by default:
#    the module has no target_features section to read them from, and enabling more would
#    let wasm-opt emit instructions that older hosts reject. wasm-opt is deterministic: the
#    same input gives the same bytes;
# 3. the result must import only Extism's host functions (`extism:host/env`) and export
#    render, validate, schema and version; it is written to OUT (default
#    dist/matrix-render.extism.wasm) atomically, and the sizes are printed. When OUT is
#    already the optimised form of the same cargo output (OUT.source records it), step 2 is
#    skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"

OUT="${1:-dist/matrix-render.extism.wasm}"
TARGET_DIR="${MR_EXTISM_TARGET_DIR:-target/wasm-extism}"
NODE_TOOLS="${MR_NODE_TOOLS:-$REPO/dist/node-tools}"
WASM_OPT="$NODE_TOOLS/node_modules/.bin/wasm-opt"
# WASM_FEATURES, size, gz, sha
source scripts/lib-wasm.sh

log() { echo "build-extism: $*"; }

MR_NODE_TOOLS="$NODE_TOOLS" bash scripts/extism-deps.sh --build

log "cargo build (extism, wasm32-unknown-unknown, wasm-release) in $TARGET_DIR"
cargo build --locked -p matrix-render-plugin --no-default-features --features extism \
  --target wasm32-unknown-unknown --profile wasm-release --target-dir "$TARGET_DIR"
built="$TARGET_DIR/wasm32-unknown-unknown/wasm-release/matrix_render_plugin.wasm"


# wasm-opt (binaryen compiled to JavaScript) takes about 40 s: skip it when OUT was made from
# these very cargo bytes with these flags (recorded next to OUT).
stamp="$OUT.source"
want="$(sha "$built") $(sha "$WASM_OPT") ${WASM_FEATURES[*]} -Os"
if [[ -f "$OUT" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "$OUT is up to date: $(size "$OUT") bytes ($(gz "$OUT") gzipped), sha256 $(sha "$OUT")"
  exit 0
fi

mkdir -p "$(dirname "$OUT")"
tmp="$OUT.tmp.$$"
trap 'rm -f "$tmp"' EXIT
log "wasm-opt -Os"
"$WASM_OPT" "${WASM_FEATURES[@]}" -Os "$built" -o "$tmp"

# Imports and exports, read by the engine that the Node host uses.
node - "$tmp" <<'JS'
const bytes = require('node:fs').readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const bad = WebAssembly.Module.imports(mod).filter((i) => i.module !== 'extism:host/env');
if (bad.length) {
  console.error('build-extism: imports other than extism:host/env:', JSON.stringify(bad));
  process.exit(1);
}
const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
const missing = ['render', 'validate', 'schema', 'version', 'memory'].filter((n) => !exported.has(n));
if (missing.length) {
  console.error('build-extism: missing exports:', missing.join(', '));
  process.exit(1);
}
JS
mv -f "$tmp" "$OUT"
trap - EXIT
echo "$want" >"$stamp"

log "cargo output: $(size "$built") bytes ($(gz "$built") gzipped)"
log "$OUT: $(size "$OUT") bytes ($(gz "$OUT") gzipped), sha256 $(sha "$OUT")"
