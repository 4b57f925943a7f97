#!/usr/bin/env bash
# Installs hyperfine from Debian's packages when it is missing (benchmarks only; the test
# command never needs it). Sourced or run by the bench/ scripts.
if ! command -v hyperfine >/dev/null 2>&1; then
  echo "bench: installing hyperfine (apt)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >&2; }
fi
