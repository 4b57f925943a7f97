#!/usr/bin/env bash
# Install what tests/real/metrics.py needs on top of scripts/real-deps.sh (idempotent;
# makes no network call when all is there):
#
#   - Debian: prometheus (prometheus, promtool). The test starts its own instance on
#     127.0.0.1 with a temporary storage directory; the package's system service is kept
#     from starting during the install (policy-rc.d), and stopped and disabled afterwards
#     should it run anyway.
#
# Runs as root on Debian 12.
set -euo pipefail

log() { echo "metrics-deps: $*"; }

# is_installed, apt_install
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

if is_installed prometheus; then
  log "apt: prometheus already installed"
else
  # Debian's standard policy-rc.d hook (exit 101 = action forbidden) keeps the package
  # scripts from starting the service; only if there is none yet, removed again after.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt_install --no-install-recommends prometheus
  if [[ -e $policy ]] && grep -qx 'exit 101' "$policy" && [[ $(wc -l <"$policy") -eq 2 ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
fi

# No system instance runs or starts at boot.
if [[ -d /run/systemd/system ]]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
else
  pidfile=/run/prometheus/prometheus.pid
  if [[ -x /etc/init.d/prometheus && -s $pidfile ]] && kill -0 "$(head -n 1 "$pidfile")" 2>/dev/null; then
    log "stopping the system prometheus service"
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1 && ls /etc/rc2.d/S*prometheus >/dev/null 2>&1; then
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  systemctl disable prometheus >/dev/null 2>&1 || true
fi

for tool in prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "metrics-deps: $tool missing after install" >&2; exit 1; }
done
log "done ($(prometheus --version 2>&1 | head -n 1))"
