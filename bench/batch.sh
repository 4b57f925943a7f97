#!/usr/bin/env bash
# Batch rendering: `matrix-render render --batch` of N generated tenants, N = 10 .. 10000.
#
# Usage: [MR_BATCH_LAYOUT=stream|objects] bench/batch.sh [N ...]
#   (default: stream; N = 10 100 1000 10000; installs hyperfine if missing; needs python3)
# Writes dist/bench/batch-LAYOUT.json (one hyperfine result per N, with "n"); for the
# stream layout it also redraws bench/batch-time.svg with bench/plot.py. Tenants are generated once per N under
# dist/bench/tenants-N (bench/gen-tenants.py, seeded: the same files every time); each run
# writes to a fresh output directory on the same file system.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
CLI="${MR_CLI:-target/release/matrix-render}"
OUT="dist/bench"
mkdir -p "$OUT"
bash bench/need-hyperfine.sh
[[ -x "$CLI" ]] || cargo build --locked --release -p matrix-render
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(10 100 1000 10000)
LAYOUT="${MR_BATCH_LAYOUT:-stream}"

parts=()
for n in "${SIZES[@]}"; do
  dir="$OUT/tenants-$n"
  [[ -f "$dir/.count-$n" ]] || { python3 bench/gen-tenants.py "$n" "$dir"; touch "$dir/.count-$n"; }
  runs=10; [[ $n -ge 10000 ]] && runs=3
  hyperfine -N --warmup 1 --runs "$runs" \
    --prepare "rm -rf $OUT/batch-out" \
    --export-json "$OUT/batch-$LAYOUT-$n.json" \
    "$CLI render --batch $dir --output-dir $OUT/batch-out --batch-layout $LAYOUT" >&2
  parts+=("$OUT/batch-$LAYOUT-$n.json")
done
python3 - "$OUT/batch-$LAYOUT.json" "$LAYOUT" "${SIZES[@]}" <<'PY'
import json, sys
out, layout, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
results = []
for n in sizes:
    r = json.load(open(f"dist/bench/batch-{layout}-{n}.json"))["results"][0]
    r.pop("exit_codes", None)
    results.append({"n": int(n), "median": r["median"], "mean": r["mean"],
                    "min": r["min"], "max": r["max"], "stddev": r["stddev"],
                    "user": r["user"], "system": r["system"], "times": r["times"]})
json.dump({"command": f"matrix-render render --batch DIR --output-dir OUT --batch-layout {layout}",
           "results": results}, open(out, "w"), indent=2)
for r in results:
    print(f"{layout} N={r['n']:>6}: median {r['median']*1000:9.1f} ms  "
          f"({r['n']/r['median']:8.0f} tenants/s; user {r['user']:.2f} s, system {r['system']:.2f} s)")
PY
if [[ $LAYOUT == stream ]]; then
  python3 bench/plot.py "$OUT/batch-$LAYOUT.json" bench/batch-time.svg
fi
