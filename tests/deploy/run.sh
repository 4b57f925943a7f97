#!/usr/bin/env bash
# All deploy/ recipe tests: bash tests/deploy/run.sh [path/to/matrix-render]
# (default target/debug/matrix-render). Runs every test, then exits 1 if any failed.
set -uo pipefail
dir=$(dirname "${BASH_SOURCE[0]}")
failed=0
for t in argocd kustomize flux; do
  bash "$dir/$t.sh" "$@" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { echo "deploy recipes: $failed of 3 tests failed"; exit 1; }
