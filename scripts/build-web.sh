#!/usr/bin/env bash
# Build the browser preview into dist/web/ (web/README.md describes the page).
#
#   bash scripts/build-web.sh [OUT]        # then: python3 -m http.server -d dist/web
#
# 1. scripts/web-deps.sh --build installs wasm-bindgen-cli (the exact version of the crate)
#    and wasm-opt 132 when they are missing;
# 2. cargo builds crates/plugin-wasm with only the `web` feature for wasm32-unknown-unknown
#    with the `wasm-web` profile (opt-level "s", for size), in its own target dir
#    (${MR_WEB_TARGET_DIR:-target/wasm-web}) so that it does not wait on, or rebuild, other
#    builds;
# 3. wasm-bindgen --target web writes the ES module glue (matrix_render_web.js) and the module
#    (matrix_render_web_bg.wasm), which must export render, version, panicMessage and
#    utf16Column. It warns that the `target_features` section is missing: the wasm-web
#    profile strips it with the symbols; the glue it writes without it works (the browser
#    test runs it), so the warning is expected;
# 4. wasm-opt -Os shrinks the module with rustc's wasm32 default features (scripts/lib-wasm.sh,
#    as scripts/build-extism.sh). Its output is cached under the target dir by the sha256 of
#    its input, the tool and the flags: wasm-opt takes about 40 s;
# 5. the page's sources (web/*.html, *.css, *.js) and the example values
#    (examples/values.yaml, examples/secrets.yaml, fetched by the page) are copied next to it.
#
# Everything is assembled in a temporary directory next to OUT (default dist/web) that then
# replaces OUT, so a server of OUT never sees half a build. The same sources give the same
# bytes (wasm-bindgen and wasm-opt are deterministic; the script prints the wasm's sha256).
# Sizes are printed raw and gzipped (gzip -9), for the wasm and for the whole bundle.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"

OUT="${1:-dist/web}"
TARGET_DIR="${MR_WEB_TARGET_DIR:-target/wasm-web}"
TOOLS="${MR_WEB_TOOLS:-$REPO/dist/tools}"
NODE_TOOLS="${MR_NODE_TOOLS:-$REPO/dist/node-tools}"
WASM_BINDGEN="$TOOLS/bin/wasm-bindgen"
WASM_OPT="$NODE_TOOLS/node_modules/.bin/wasm-opt"
NAME=matrix_render_web
# WASM_FEATURES, size, gz, sha
source scripts/lib-wasm.sh

log() { echo "build-web: $*"; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

MR_WEB_TOOLS="$TOOLS" MR_NODE_TOOLS="$NODE_TOOLS" bash scripts/web-deps.sh --build

log "cargo build (web, wasm32-unknown-unknown, wasm-web) in $TARGET_DIR"
cargo build --locked -p matrix-render-plugin --no-default-features --features web \
  --target wasm32-unknown-unknown --profile wasm-web --target-dir "$TARGET_DIR"
built="$TARGET_DIR/wasm32-unknown-unknown/wasm-web/matrix_render_plugin.wasm"

mkdir -p "$(dirname "$OUT")"
tmp="$(mktemp -d "$OUT.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

log "wasm-bindgen --target web"
"$WASM_BINDGEN" --target web --no-typescript --out-name "$NAME" --out-dir "$tmp" "$built"
bound="$tmp/${NAME}_bg.wasm"

cache="$TARGET_DIR/web-opt"
key="$(sha "$bound")-$(echo "$(sha "$WASM_OPT") ${WASM_FEATURES[*]} -Os" | sha256sum | cut -c1-16)"
if [[ -f "$cache/$key.wasm" ]]; then
  log "wasm-opt -Os: cached ($cache/$key.wasm)"
else
  log "wasm-opt -Os"
  mkdir -p "$cache"
  rm -f "$cache"/*.wasm
  "$WASM_OPT" "${WASM_FEATURES[@]}" -Os "$bound" -o "$cache/$key.wasm.tmp"
  mv -f "$cache/$key.wasm.tmp" "$cache/$key.wasm"
fi
cp "$cache/$key.wasm" "$bound"

# The exports the page uses, and no import outside wasm-bindgen's glue.
node - "$bound" <<'JS'
const bytes = require('node:fs').readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const modules = [...new Set(WebAssembly.Module.imports(mod).map((i) => i.module))];
const bad = modules.filter((m) => !m.startsWith('./matrix_render_web_bg') && m !== 'wbg');
if (bad.length) {
  console.error('build-web: imports from other modules:', bad.join(', '));
  process.exit(1);
}
const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
const missing = ['render', 'version', 'panicMessage', 'utf16Column', 'memory'].filter((n) => !exported.has(n));
if (missing.length) {
  console.error('build-web: missing exports:', missing.join(', '));
  process.exit(1);
}
JS

cp web/*.html web/*.css web/*.js "$tmp/"
mkdir -p "$tmp/examples"
cp examples/values.yaml examples/secrets.yaml "$tmp/examples/"
chmod -R a+rX "$tmp"

# Replace OUT: two renames, and the old build is removed after.
old="$OUT.old.$$"
[[ ! -e "$OUT" ]] || mv "$OUT" "$old"
mv "$tmp" "$OUT"
trap - EXIT
rm -rf "$old"

wasm="$OUT/${NAME}_bg.wasm"
total=0
total_gz=0
while IFS= read -r file; do
  total=$((total + $(size "$file")))
  total_gz=$((total_gz + $(gz "$file")))
done < <(find "$OUT" -type f | LC_ALL=C sort)
log "cargo output: $(size "$built") bytes ($(gz "$built") gzipped)"
log "$wasm: $(size "$wasm") bytes, $(kib "$(size "$wasm")"); gzipped $(gz "$wasm") bytes, $(kib "$(gz "$wasm")"); sha256 $(sha "$wasm")"
log "$OUT (all $(find "$OUT" -type f | wc -l) files): $total bytes, $(kib "$total"); gzipped file by file $total_gz bytes, $(kib "$total_gz")"
if ((total_gz > 400 * 1024)); then
  log "warning: the gzipped bundle is over its 400 KiB budget"
fi
log "serve it with: python3 -m http.server -d $OUT"
