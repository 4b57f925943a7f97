#!/usr/bin/env bash
# Packages the workspace's crates (`cargo package --workspace --locked`, which also builds
# each packaged crate to verify it). The CLI crate carries the core as a wasm module, since a
# package has no workspace source to build it from: this script first builds that module
# exactly as crates/host-cli/build.rs does in the repository (same cargo command, same
# cleaned environment, same target dir, so after a build it is already there), and writes
#   crates/host-cli/core/matrix_render_core.wasm   the module (not in git)
#   crates/host-cli/core/BUILD-INFO                crate version, SHA-256, commit, compiler
# which the packaged build.rs checks. Same commit, compiler and cargo home (the module names
# its dependencies' source paths in panic locations), same bytes.
#
# The module is not committed, so cargo counts it as an uncommitted change: the script checks
# itself that nothing else is uncommitted, then passes --allow-dirty. Arguments go to cargo
# (`bash scripts/package.sh --list`; to publish, run `cargo publish --workspace --locked
# --allow-dirty` after this script). MATRIX_RENDER_WASM_TARGET_DIR overrides the target dir
# of the module's build, as it does for build.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ -z "$version" ]; then
  echo "package.sh: no workspace version in Cargo.toml" >&2
  exit 1
fi

allow_dirty=
for arg in "$@"; do
  [ "$arg" = --allow-dirty ] && allow_dirty=1
done
if [ -z "$allow_dirty" ]; then
  dirty=$(git status --porcelain --untracked-files=all -- . ':!crates/host-cli/core')
  if [ -n "$dirty" ]; then
    printf 'package.sh: uncommitted changes (commit them, or pass --allow-dirty):\n%s\n' \
      "$dirty" >&2
    exit 1
  fi
fi

target_dir=${MATRIX_RENDER_WASM_TARGET_DIR:-$root/target/wasm-core}
(
  # What build.rs removes from the nested build's environment: the outer build's cargo
  # settings, compiler wrappers and flags.
  for name in $(compgen -e); do
    case $name in
      CARGO_HOME | CARGO_NET_OFFLINE) ;;
      CARGO_* | RUSTC | RUSTC_WRAPPER | RUSTC_WORKSPACE_WRAPPER | RUSTFLAGS | RUSTDOCFLAGS | \
        TARGET | HOST | OUT_DIR | OPT_LEVEL | PROFILE | DEBUG | NUM_JOBS | RUSTC_LINKER)
        unset "$name" ;;
    esac
  done
  cargo build --locked --package matrix-render-plugin --features raw \
    --target wasm32-unknown-unknown --profile wasm-release --target-dir "$target_dir"
)

core=crates/host-cli/core
mkdir -p "$core"
cp "$target_dir/wasm32-unknown-unknown/wasm-release/matrix_render_plugin.wasm" \
  "$core/matrix_render_core.wasm.tmp"
mv "$core/matrix_render_core.wasm.tmp" "$core/matrix_render_core.wasm"
{
  echo "# The core module of the matrix-render CLI, built by scripts/package.sh; the crate's"
  echo "# build.rs checks the version and the digest."
  echo "version $version"
  echo "sha256 $(sha256sum "$core/matrix_render_core.wasm" | cut -d ' ' -f 1)"
  echo "commit $(git rev-parse HEAD)"
  echo "rustc $(rustc --version)"
} >"$core/BUILD-INFO"

args=(--workspace --locked)
[ -z "$allow_dirty" ] && args+=(--allow-dirty)
# `cargo package --workspace` verifies each crate against the others through a temporary
# local registry. Cargo takes a registry crate's version as its content: it extracts it once
# into $CARGO_HOME/registry/src and never rebuilds it in a target dir that built that
# version before. A second packaging of the same version would verify against the first
# one's sources and build. Our crates are not on crates.io, so every extraction of them
# there, and every build of them in the target dir, is such a leftover (the workspace's own
# builds of them are redone once).
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/matrix-render-* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/matrix-render-* \
  "${CARGO_TARGET_DIR:-$root/target}"/*/.fingerprint/matrix-render-* \
  "${CARGO_TARGET_DIR:-$root/target}"/*/deps/libmatrix_render* \
  "${CARGO_TARGET_DIR:-$root/target}"/*/deps/matrix_render*
cargo package "${args[@]}" "$@"
