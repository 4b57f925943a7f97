#!/usr/bin/env bash
# Batch rendering: `matrix-render render --batch` of N generated tenants, N = 10 .. 10000.
#
# Usage: [MR_BATCH_LAYOUT=stream|objects] bench/batch.sh [N ...]
#   (default: stream; N = 10 100 1000 10000; installs hyperfine if missing; needs python3)
# Writes dist/bench/batch-LAYOUT.json (one hyperfine result per scenario and N); for the
# stream layout it also redraws bench/batch-time.svg with bench/plot.py. Tenants are generated once per N under
# dist/bench/tenants-N (bench/gen-tenants.py, seeded: the same files every time); the
# output goes to dist/bench/batch-out on the same file system (scenarios below).
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

# Two scenarios per N:
# - fresh: every run writes into an output directory that does not exist yet. The previous
#   run's output is moved aside, not deleted: ext4 skips inodes freed in the last minutes
#   when it allocates new ones, so deleting 10,000 directories right before a run made that
#   run spend most of its time in the kernel looking for inodes (3x the system time);
# - unchanged: the same output directory every run, after a warm-up that fills it: what a
#   scheduled re-render of a fleet where nothing changed costs (files holding the same bytes
#   are left alone).
RETIRED="$OUT/batch-retired"
for n in "${SIZES[@]}"; do
  dir="$OUT/tenants-$n"
  [[ -f "$dir/.count-$n" ]] || { python3 bench/gen-tenants.py "$n" "$dir"; touch "$dir/.count-$n"; }
  runs=10; [[ $n -ge 10000 ]] && runs=3
  cmd="$CLI render --batch $dir --output-dir $OUT/batch-out --batch-layout $LAYOUT"
  rm -rf "$OUT/batch-out"
  hyperfine -N --warmup 1 --runs "$runs" \
    --prepare "bash -c 'mkdir -p $RETIRED && if [ -e $OUT/batch-out ]; then mv $OUT/batch-out $RETIRED/\$(date +%s%N); fi'" \
    --export-json "$OUT/batch-$LAYOUT-fresh-$n.json" "$cmd" >&2
  hyperfine -N --warmup 1 --runs "$runs" \
    --export-json "$OUT/batch-$LAYOUT-unchanged-$n.json" "$cmd" >&2
done
rm -rf "$OUT/batch-out" "$RETIRED"
python3 - "$OUT/batch-$LAYOUT.json" "$LAYOUT" "${SIZES[@]}" <<'PY'
import json, sys
out, layout, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
results = []
for scenario in ("fresh", "unchanged"):
    for n in sizes:
        r = json.load(open(f"dist/bench/batch-{layout}-{scenario}-{n}.json"))["results"][0]
        r.pop("exit_codes", None)
        results.append({"scenario": scenario, "n": int(n), "median": r["median"],
                        "mean": r["mean"], "min": r["min"], "max": r["max"],
                        "stddev": r["stddev"], "user": r["user"], "system": r["system"],
                        "times": r["times"]})
json.dump({"command": f"matrix-render render --batch DIR --output-dir OUT --batch-layout {layout}",
           "results": results}, open(out, "w"), indent=2)
for r in results:
    print(f"{layout} {r['scenario']:>9} N={r['n']:>6}: median {r['median']*1000:9.1f} ms  "
          f"({r['n']/r['median']:8.0f} tenants/s; user {r['user']:.2f} s, system {r['system']:.2f} s)")
PY
if [[ $LAYOUT == stream ]]; then
  python3 bench/plot.py "$OUT/batch-$LAYOUT.json" bench/batch-time.svg
fi
