#!/usr/bin/env bash
# Batch rendering: `matrix-render render --batch` of N generated tenants, N = 10 .. 10000.
#
# Usage: bench/batch.sh [N ...]   (default 10 100 1000 10000; needs hyperfine and python3)
# Writes dist/bench/batch.json (one hyperfine result per N, with "n") and redraws
# bench/batch-time.svg with bench/plot.py. Tenants are generated once per N under
# dist/bench/tenants-N (bench/gen-tenants.py, seeded: the same files every time); each run
# writes to a fresh output directory on the same file system.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
CLI="${MR_CLI:-target/release/matrix-render}"
OUT="dist/bench"
mkdir -p "$OUT"
[[ -x "$CLI" ]] || cargo build --locked --release -p matrix-render
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(10 100 1000 10000)

parts=()
for n in "${SIZES[@]}"; do
  dir="$OUT/tenants-$n"
  [[ -f "$dir/.count-$n" ]] || { python3 bench/gen-tenants.py "$n" "$dir"; touch "$dir/.count-$n"; }
  runs=10; [[ $n -ge 10000 ]] && runs=5
  hyperfine -N --warmup 1 --runs "$runs" \
    --prepare "rm -rf $OUT/batch-out" \
    --export-json "$OUT/batch-$n.json" \
    "$CLI render --batch $dir --output-dir $OUT/batch-out" >&2
  parts+=("$OUT/batch-$n.json")
done
python3 - "$OUT/batch.json" "${SIZES[@]}" <<'PY'
import json, sys
out, sizes = sys.argv[1], sys.argv[2:]
results = []
for n in sizes:
    r = json.load(open(f"dist/bench/batch-{n}.json"))["results"][0]
    r.pop("exit_codes", None)
    results.append({"n": int(n), "median": r["median"], "mean": r["mean"],
                    "min": r["min"], "max": r["max"], "stddev": r["stddev"],
                    "times": r["times"]})
json.dump({"command": "matrix-render render --batch DIR --output-dir OUT",
           "results": results}, open(out, "w"), indent=2)
for r in results:
    print(f"N={r['n']:>6}: median {r['median']*1000:9.1f} ms  "
          f"({r['n']/r['median']:8.0f} tenants/s)")
PY
python3 bench/plot.py "$OUT/batch.json" bench/batch-time.svg
