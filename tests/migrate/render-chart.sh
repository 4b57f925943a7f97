#!/usr/bin/env bash
# Renders tests/migrate/seed-chart (a reconstruction of the seed Helm chart from its
# documentation, see tests/migrate/README.md) with the real Helm 4 into the manifests the
# migration tests read as "what `helm get manifest matrix -n matrix` prints":
#   tests/migrate/chart-manifest.yaml      the seed's values and secrets, MatrixRTC off (18 objects)
#   tests/migrate/chart-manifest-rtc.yaml  the same with --set matrixrtc.enabled=true (25 objects)
#
# `helm template` prints the release manifest that an install stores, which is what
# `helm get manifest` prints, followed by the chart's hooks (`helm get manifest` leaves hooks
# out: they are `helm get hooks`) and, with --include-crds only, CRDs from crds/ before it.
# This chart has no hooks, no tests and no crds/, so the documents are the same. Other
# differences, none of which this chart is exposed to: `helm template` fakes the cluster
# (Capabilities are Helm's defaults, `lookup` finds nothing), and it trims the manifest where
# `helm get manifest` prints it as stored, so trailing blank lines may differ.
#
# Usage: bash tests/migrate/render-chart.sh [--check]
#   --check  render into a temporary directory and fail if the committed files differ.
# Helm is dist/bench/helm (fetched by bench/helm-deps.sh when missing); MR_HELM overrides.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
NAME=migrate/render-chart

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*)
  echo "usage: $0 [--check]" >&2
  exit 2
  ;;
esac

HELM=${MR_HELM:-$REPO/dist/bench/helm}
if [ ! -x "$HELM" ]; then
  bash "$REPO/bench/helm-deps.sh" >/dev/null
fi
case "$("$HELM" version --short 2>/dev/null)" in
v4.*) ;;
*)
  echo "$NAME: FAILED: $HELM is not Helm 4 ($("$HELM" version --short 2>&1 | head -n 1))" >&2
  exit 1
  ;;
esac

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# A Helm home of its own: nothing read from or written to the user's.
export HELM_CACHE_HOME="$T/home/cache" HELM_CONFIG_HOME="$T/home/config" HELM_DATA_HOME="$T/home/data"

render() {
  "$HELM" template matrix tests/migrate/seed-chart -n matrix \
    -f tests/fixtures/seed/values.yaml -f tests/fixtures/seed/secrets.yaml "$@"
}
render >"$T/chart-manifest.yaml"
render --set matrixrtc.enabled=true >"$T/chart-manifest-rtc.yaml"

# The object counts RESOURCES.md gives for the seed.
for pair in chart-manifest.yaml:18 chart-manifest-rtc.yaml:25; do
  file=${pair%%:*}
  want=${pair##*:}
  got=$(grep -c '^kind: ' "$T/$file" || true)
  if [ "$got" != "$want" ]; then
    echo "$NAME: FAILED: $file has $got objects, the seed chart renders $want" >&2
    exit 1
  fi
done

if [ "$check" = 1 ]; then
  stale=0
  for file in chart-manifest.yaml chart-manifest-rtc.yaml; do
    if ! diff -u "tests/migrate/$file" "$T/$file" >"$T/diff" 2>&1; then
      echo "$NAME: FAILED: tests/migrate/$file is not what the chart renders:" >&2
      head -n 40 "$T/diff" >&2
      stale=1
    fi
  done
  if [ "$stale" = 1 ]; then
    echo "$NAME: run bash tests/migrate/render-chart.sh and commit the result" >&2
    exit 1
  fi
  echo "$NAME: OK tests/migrate/chart-manifest.yaml (18 objects) and chart-manifest-rtc.yaml (25) are up to date"
else
  cp "$T/chart-manifest.yaml" "$T/chart-manifest-rtc.yaml" tests/migrate/
  echo "$NAME: wrote tests/migrate/chart-manifest.yaml (18 objects) and chart-manifest-rtc.yaml (25)"
fi
