#!/usr/bin/env bash
# Sizes of what matrix-render ships, raw and gzipped (gzip -9 -n): the release CLI (which
# embeds the raw core and its precompiled form), and each wasm flavour: raw (the module the
# CLI embeds), Extism (dist/matrix-render.extism.wasm) and web (dist/web: the module and the
# whole page). Builds whatever is missing with the project's own commands.
#
# Usage: bench/sizes.sh        Prints a Markdown table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLI=target/release/matrix-render
RAW=target/wasm-core/wasm32-unknown-unknown/wasm-release/matrix_render_plugin.wasm
EXTISM=dist/matrix-render.extism.wasm
WEB=dist/web

[[ -x "$CLI" && -f "$RAW" ]] || cargo build --locked --release -p matrix-render >&2
[[ -f "$EXTISM" ]] || bash scripts/build-extism.sh >&2
[[ -f "$WEB/index.html" ]] || bash scripts/build-web.sh >&2

# size, gz
source scripts/lib-wasm.sh
row() { printf '| %s | %s B | %s B |\n' "$1" "$(size "$2")" "$(gz "$2")"; }

echo "| artifact | raw | gzip -9 |"
echo "|---|---|---|"
row "CLI \`$CLI\`" "$CLI"
row "raw core (what the CLI embeds)" "$RAW"
row "Extism flavour \`$EXTISM\`" "$EXTISM"
row "web flavour \`$WEB/matrix_render_web_bg.wasm\`" "$WEB/matrix_render_web_bg.wasm"
total_raw=0
total_gz=0
while IFS= read -r -d '' f; do
  total_raw=$((total_raw + $(size "$f")))
  total_gz=$((total_gz + $(gz "$f")))
done < <(find "$WEB" -type f -print0)
printf '| the whole page `%s/` (each file gzipped) | %s B | %s B (%s KiB) |\n' \
  "$WEB" "$total_raw" "$total_gz" "$((total_gz / 1024))"
