#!/usr/bin/env bash
# Tests what the README's Install section promises, on a fresh clone of this repository's
# HEAD (so commit first; the working tree's changes are not in it):
#   1. `bash scripts/package.sh`: `cargo package --workspace --locked`, which builds each
#      packaged crate from its package alone, the CLI from the core module it carries;
#      the packaged CLI then renders the example config;
#   2. `cargo install --locked --path crates/host-cli` into a temporary root; the installed
#      `matrix-render` renders examples/values.yaml + examples/secrets.yaml.
# Both renders must succeed without a diagnostic and equal the golden output of that config
# (tests/golden/example.yaml), byte for byte.
#
# Everything lands in dist/install-test/ (the clone, the install root, and a target dir of
# its own, kept between runs so that a second run rebuilds only the workspace's crates).
#
# The install is a debug one (`cargo install --debug`) unless MR_INSTALL_PROFILE=release:
# packaging verifies the crates with cargo's plain dev profile (a packaged crate carries no
# profile of the workspace's), and with the same settings for dependencies (opt-level 0
# instead of the workspace's 1, through --config) the install reuses everything verification
# built, wasmtime and cranelift included, instead of compiling them a second time. Either way
# the core is the same wasm-release module, so the output is the same bytes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
work=$repo/dist/install-test
clone=$work/clone
profile=${MR_INSTALL_PROFILE:-debug}

log() { printf 'install-test: %s\n' "$*"; }
now() { date +%s; }

rm -rf "$clone" "$work/root" "$work/out"
mkdir -p "$work/out"
git clone --quiet --no-local "$repo" "$clone"
log "fresh clone of $(git -C "$clone" rev-parse --short HEAD) in $clone"

# The clone's builds use their own target dirs, not the repository's.
export CARGO_TARGET_DIR=$work/target
export MATRIX_RENDER_WASM_TARGET_DIR=$work/wasm-core

expect_example() {
  local name=$1 bin=$2
  (cd "$clone" && "$bin" render -f examples/values.yaml -f examples/secrets.yaml) \
    >"$work/out/$name.yaml" 2>"$work/out/$name.stderr"
  if [ -s "$work/out/$name.stderr" ]; then
    log "$name: the example config rendered with diagnostics:"
    cat "$work/out/$name.stderr" >&2
    exit 1
  fi
  if ! cmp -s "$work/out/$name.yaml" "$clone/tests/golden/example.yaml"; then
    log "$name: the render differs from tests/golden/example.yaml"
    diff -u "$clone/tests/golden/example.yaml" "$work/out/$name.yaml" | head -n 40 >&2
    exit 1
  fi
  log "$name: renders the example, equal to tests/golden/example.yaml"
}

start=$(now)
(cd "$clone" && bash scripts/package.sh)
log "cargo package --workspace --locked (verified): $(($(now) - start)) s"
packaged=$CARGO_TARGET_DIR/package/matrix-render-$(sed -n 's/^version = "\(.*\)"$/\1/p' \
  "$clone/Cargo.toml" | head -n 1)
for file in core/matrix_render_core.wasm core/BUILD-INFO Cargo.toml.orig; do
  if [ ! -f "$packaged/$file" ]; then
    log "the packaged CLI crate has no $file"
    exit 1
  fi
done
# Verification built the packaged CLI into the target dir (debug); it must be the one that
# used the module it carries, which build.rs only does without the workspace's source.
expect_example packaged "$CARGO_TARGET_DIR/debug/matrix-render"

start=$(now)
install_args=(--locked --path crates/host-cli --root "$work/root")
[ "$profile" = debug ] && install_args+=(--debug --config 'profile.dev.package."*".opt-level=0')
(cd "$clone" && cargo install "${install_args[@]}")
log "cargo install ($profile): $(($(now) - start)) s"
expect_example installed "$work/root/bin/matrix-render"
