#!/usr/bin/env bash
# Whole-process comparison: `matrix-render render` vs `helm template`, for the same output.
#
# The reference Helm chart's only template is matrix-render's own rendering of the seed
# values with MatrixRTC on, verbatim, with no template logic: the least work Helm can do for
# this output, so the ratio is conservative. Both outputs are checked to hold the same
# objects before timing.
#
# Usage: bench/compare-helm.sh [RUNS]   (default 50; installs hyperfine if missing; builds the release CLI if missing)
# Writes dist/bench/compare-helm.{json,md} and prints medians, peak memory and ratios.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUNS="${1:-50}"
OUT="dist/bench"
CLI="${MR_CLI:-target/release/matrix-render}"
mkdir -p "$OUT"
bash bench/need-hyperfine.sh

bash bench/helm-deps.sh
HELM="$OUT/helm"
[[ -x "$CLI" ]] || cargo build --locked --release -p matrix-render

FIX=tests/fixtures/seed
ARGS=(render -f "$FIX/values.yaml" -f "$FIX/secrets.yaml" --set matrixrtc.enabled=true)

# The reference chart.
CHART="$OUT/reference-chart"
rm -rf "$CHART" && mkdir -p "$CHART/templates"
printf 'apiVersion: v2\nname: matrix-stack-reference\nversion: 0.1.0\n' > "$CHART/Chart.yaml"
"$CLI" "${ARGS[@]}" > "$CHART/templates/stack.yaml"
"$HELM" template ref "$CHART" > "$OUT/helm-output.yaml"

python3 - "$CHART/templates/stack.yaml" "$OUT/helm-output.yaml" <<'PY'
import json, sys, yaml
def load(p):
    return [d for d in yaml.safe_load_all(open(p)) if d]
a, b = load(sys.argv[1]), load(sys.argv[2])
key = lambda d: json.dumps(d, sort_keys=True)
# Helm orders objects by its own install order; compare the sets of objects.
assert sorted(map(key, a)) == sorted(map(key, b)), "helm template and matrix-render disagree on the objects"
print(f"compare-helm: both outputs hold the same {len(a)} objects")
PY

peak() { # peak RSS in KiB of one run, median of 11
  for _ in $(seq 11); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 6p
}
MR_KIB=$(peak "$CLI" "${ARGS[@]}")
HELM_KIB=$(peak "$HELM" template ref "$CHART")

hyperfine --warmup 5 --runs "$RUNS" -N --export-json "$OUT/compare-helm.json" \
  --command-name "matrix-render render" "$CLI ${ARGS[*]}" \
  --command-name "helm template" "$HELM template ref $CHART" >/dev/null

python3 - "$OUT/compare-helm.json" "$MR_KIB" "$HELM_KIB" "$OUT/compare-helm.md" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
mr, helm = res["matrix-render render"], res["helm template"]
mr_kib, helm_kib = int(sys.argv[2]), int(sys.argv[3])
ms = lambda r: r["median"] * 1000
lines = [
    "| | median wall time | peak RSS |",
    "|---|---|---|",
    f"| `matrix-render render` | {ms(mr):.1f} ms | {mr_kib/1024:.1f} MiB |",
    f"| `helm template` (reference chart) | {ms(helm):.1f} ms | {helm_kib/1024:.1f} MiB |",
    f"| ratio helm / matrix-render | {ms(helm)/ms(mr):.1f}x | {helm_kib/mr_kib:.1f}x |",
]
open(sys.argv[4], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
