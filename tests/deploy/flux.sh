#!/usr/bin/env bash
# The Flux recipe (deploy/flux/). There is no flux binary or cluster here, so `flux push
# artifact` and the reconciliation are documented only; this checks what can be checked:
#   - flux-ocirepository.yaml and flux-kustomization.yaml parse, with the current API versions
#     (source.toolkit.fluxcd.io/v1 OCIRepository, kustomize.toolkit.fluxcd.io/v1
#     Kustomization), and the Kustomization's sourceRef names the OCIRepository;
#   - render.sh, the CI step before `flux push artifact`, writes exactly the CLI's
#     --output-dir files into a new or empty directory, and refuses a non-empty directory,
#     a render with Secrets (unless allowed) and invalid input, leaving nothing behind.
# Usage: bash tests/deploy/flux.sh [path/to/matrix-render]   (default target/debug/matrix-render)
# shellcheck disable=SC2016,SC2034 # single-quoted bash -c scripts; NAME is for lib.sh
NAME=deploy/flux
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RENDER="$REPO/deploy/flux/render.sh"
VALUES="$REPO/deploy/kustomize/example/values.yaml" # every secret a reference
INLINE=(-f "$REPO/examples/values.yaml" -f "$REPO/examples/secrets.yaml")

# 1. The example objects.
if detail=$("$PY" "$CHECK_PY" flux "$REPO/deploy/flux"); then pass; else fail "flux example objects"; fi

# run NAME OUT_DIR ARGS...: render.sh with the CLI on PATH; its stderr in $T/NAME.err.
run() {
  local name=$1 out=$2
  shift 2
  env PATH="$BIN:$PATH" sh "$RENDER" "$out" "$@" 2>"$T/$name.err"
}
# shellcheck disable=SC2317 # called through check
leftovers() { # no .matrix-render.* temp dirs in $1
  [ -z "$(find "$1" -maxdepth 1 -name '.matrix-render.*' -print -quit)" ]
}

# 2. A new directory: the CLI's own --output-dir files, byte for byte, and the stdout objects.
mkdir -p "$T/ci"
rc=0
run new "$T/ci/manifests" -f "$VALUES" --set synapse.logLevel=WARNING || rc=$?
"$CLI" render -f "$VALUES" --set synapse.logLevel=WARNING --output-dir "$T/direct" 2>/dev/null
"$CLI" render -f "$VALUES" --set synapse.logLevel=WARNING >"$T/direct.yaml" 2>/dev/null
if [ "$rc" -ne 0 ]; then
  fail "new dir: render.sh exited $rc: $(head -c 400 "$T/new.err")"
else
  pass
  check "new dir: same files as matrix-render --output-dir" diff -r "$T/direct" "$T/ci/manifests"
  check "new dir: the objects of the stdout render" "$PY" "$CHECK_PY" same-objects "$T/direct.yaml" "$T/ci/manifests" >/dev/null
  check "new dir: no Secret" bash -c '! grep -lqx "kind: Secret" "$1"/*.yaml' _ "$T/ci/manifests"
fi
check "new dir: no temporary directory left" leftovers "$T/ci"

# 3. An existing empty directory is fine; a non-empty one is refused and left alone.
mkdir -p "$T/ci/empty"
rc=0; run empty "$T/ci/empty" -f "$VALUES" || rc=$?
check "empty dir: accepted" test "$rc" -eq 0
before=$(find "$T/ci/manifests" -type f | wc -l)
rc=0; run stale "$T/ci/manifests" -f "$VALUES" || rc=$?
check "non-empty dir: refused" test "$rc" -ne 0
check "non-empty dir: reason given" grep -q 'is not empty' "$T/stale.err"
check "non-empty dir: untouched" test "$(find "$T/ci/manifests" -type f | wc -l)" -eq "$before"

# 4. Inline secrets: refused (nothing written), or allowed explicitly.
rc=0; run secrets "$T/ci/with-secrets" "${INLINE[@]}" || rc=$?
check "secrets: refused" test "$rc" -ne 0
check "secrets: reason given" grep -q 'contains Secrets' "$T/secrets.err"
check "secrets: nothing written" test ! -e "$T/ci/with-secrets"
rc=0
MATRIX_RENDER_ALLOW_SECRETS=1 run allowed "$T/ci/allowed" "${INLINE[@]}" || rc=$?
check "secrets allowed: rendered" test "$rc" -eq 0 -a -d "$T/ci/allowed"

# 5. Invalid input: the CLI's exit status 1 and diagnostics, nothing written.
rc=0; run invalid "$T/ci/invalid" -f "$VALUES" --set synapse.replicas=many || rc=$?
check "invalid: exit 1 (got $rc)" test "$rc" -eq 1
check "invalid: diagnostics" grep -q 'error\[invalid-type\]' "$T/invalid.err"
check "invalid: nothing written" test ! -e "$T/ci/invalid"
check "no temporary directory left at the end" leftovers "$T/ci"

summary "${detail:-}; flux push and reconciliation not run (no flux binary, no cluster)"
