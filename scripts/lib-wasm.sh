# Shared by the wasm build scripts (scripts/build-extism.sh, scripts/build-web.sh) and
# bench/sizes.sh: wasm-opt's feature flags and size helpers.

# rustc's default wasm32 features (rustc --print cfg --target wasm32-unknown-unknown). The
# modules have no target_features section to read them from, and enabling more would let
# wasm-opt emit instructions that older hosts reject.
WASM_FEATURES=(
  --mvp-features
  --enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong
  --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int
  --enable-reference-types --enable-sign-ext
)

size() { wc -c <"$1" | tr -d ' '; }
gz() { gzip -9 -n -c "$1" | wc -c | tr -d ' '; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
