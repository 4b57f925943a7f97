#!/usr/bin/env bash
# Fuzzes matrix-render's core with cargo-fuzz (libFuzzer) and checks its invariants, not
# only that it does not crash: deterministic output, `ok` exactly when no error diagnostic,
# empty output exactly when not ok, JSON output that parses with one item per object, YAML
# output that reads back to the same objects (see fuzz/src/lib.rs).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
#
# Each target runs for SECONDS_PER_TARGET on a fresh working corpus (fuzz/corpus/<target>,
# not committed) plus the committed seeds (fuzz/seeds/<target>). Crashes, hangs (one input
# taking more than 10 s), out-of-memory and invariant failures are written to
# fuzz/artifacts/<target>/ and make the script exit nonzero. Reproduce one with
#   cd fuzz && cargo +nightly fuzz run <target> <artifact>
# Environment: FUZZ_TARGETS="values set_flags request_json" (which targets),
# FUZZ_SANITIZER=none|address (default none: both crates forbid unsafe code; address also
# checks the unsafe code in dependencies such as unsafe-libyaml, at half the speed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
targets=(${FUZZ_TARGETS:-values set_flags request_json})
sanitizer="${FUZZ_SANITIZER:-none}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "==> installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "==> building fuzz targets (sanitizer: $sanitizer)"
build_start=$SECONDS
(cd fuzz && cargo +nightly fuzz build --sanitizer "$sanitizer")
echo "    built in $((SECONDS - build_start)) s"
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin_dir="fuzz/target/$triple/release"

passed=0
failed=0
summary=()
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  seeds="fuzz/seeds/$target"
  artifacts="fuzz/artifacts/$target"
  log="fuzz/artifacts/$target.log"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$seeds" "$artifacts"
  args=(
    "-max_total_time=$seconds"
    -max_len=16384
    -timeout=10
    -rss_limit_mb=2048
    -print_final_stats=1
    "-artifact_prefix=$artifacts/"
  )
  if [[ -f "fuzz/dict/$target.dict" ]]; then
    args+=("-dict=fuzz/dict/$target.dict")
  fi
  echo "==> fuzzing $target for $seconds s (log: $log)"
  marker="$(mktemp)"
  status=0
  "$bin_dir/$target" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [[ -z "$execs" ]]; then
    # No final stats after a crash: take the last progress line (`#1234 ...`).
    execs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')"
  fi
  new_artifacts="$(find "$artifacts" -type f -newer "$marker" | sort)"
  rm -f "$marker"
  if [[ "$status" -eq 0 && -z "$new_artifacts" ]]; then
    passed=$((passed + 1))
    summary+=("$target: ok, ${execs:-?} executions")
    echo "    $target: ok, ${execs:-?} executions"
  else
    failed=$((failed + 1))
    summary+=("$target: FAILED (exit $status), ${execs:-?} executions")
    echo "    $target: FAILED (exit $status), ${execs:-?} executions"
    grep -A 4 "panicked at" "$log" | head -n 12 | sed 's/^/    /' || true
    grep -E "ERROR: libFuzzer|SUMMARY: libFuzzer|Test unit written to" "$log" | head -n 5 | sed 's/^/    /' || true
    for a in $new_artifacts; do
      echo "    artifact: $a (reproduce: cd fuzz && cargo +nightly fuzz run --sanitizer $sanitizer $target ${a#fuzz/})"
      echo "    first bytes:"
      head -c 512 "$a" | od -An -c -w32 | head -n 16 | sed 's/^/      /'
    done
  fi
done

echo
for line in "${summary[@]}"; do echo "$line"; done
echo "fuzz: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
