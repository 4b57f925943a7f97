#!/bin/sh
# Render the stack into a directory for a GitOps artifact (flux push artifact, or a commit):
#
#   deploy/flux/render.sh OUT_DIR -f values.yaml [-f more.yaml] [--set path=value]...
#
# runs `matrix-render render ARGS --output-dir` into a fresh temporary directory next to
# OUT_DIR and moves it into place only when the render succeeded, so OUT_DIR holds exactly one
# render, or nothing. It refuses
#   - an OUT_DIR that is not empty: --output-dir removes only the files its last render wrote
#     and the new one does not; any other file (a Secret saved by hand, notes) would be
#     published with the render;
#   - a render that contains Secrets: an artifact in a registry is no place for secret values.
#     Use `existingSecret: {name, key}` for every secret; MATRIX_RENDER_ALLOW_SECRETS=1 skips
#     this check (a private registry you trust with them).
# MATRIX_RENDER_BIN names the CLI (default: matrix-render on PATH). Exit 1 on invalid input.
set -eu
me=render.sh

die() {
  printf '%s: %s\n' "$me" "$*" >&2
  exit 1
}

[ $# -ge 1 ] || die "usage: render.sh OUT_DIR [matrix-render render options]"
out=$1
shift
case $out in
'' | -*) die "usage: render.sh OUT_DIR [matrix-render render options]" ;;
esac
if [ -e "$out" ]; then
  [ -d "$out" ] || die "$out exists and is not a directory"
  [ -z "$(ls -A "$out")" ] || die "$out is not empty; render into an empty or new directory (its other files would be published with the render)"
fi
parent=$(dirname "$out")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.matrix-render.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

status=0
"${MATRIX_RENDER_BIN:-matrix-render}" render "$@" --output-dir "$tmp/out" || status=$?
[ "$status" -eq 0 ] || exit "$status"

secrets=$(cd "$tmp/out" && { grep -l -x 'kind: Secret' -- *.yaml || true; } | tr '\n' ' ')
if [ -n "$secrets" ] && [ "${MATRIX_RENDER_ALLOW_SECRETS:-}" != 1 ]; then
  die "the render contains Secrets (${secrets% }); make every secret an existingSecret reference, or set MATRIX_RENDER_ALLOW_SECRETS=1"
fi

if [ -d "$out" ]; then
  rmdir "$out"
fi
mv "$tmp/out" "$out"
printf '%s: %s objects in %s\n' "$me" "$(find "$out" -type f ! -name '.*' | wc -l | tr -d ' ')" "$out" >&2
