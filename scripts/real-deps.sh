#!/usr/bin/env bash
# Install what tests/real/run.py needs to run the REAL programs on the
# rendered config (idempotent; makes no network call when all is there):
#
#   - Debian: coturn (turnserver, turnutils_uclient), nginx-light (nginx) and
#     postgresql (initdb, postgres, psql, pg_isready in /usr/lib/postgresql/<v>/bin:
#     run.py starts a throwaway server on 127.0.0.1 for a homeserver.yaml on psycopg2;
#     tests/real/backup.py also uses its pg_dump and pg_restore), redis-server
#     (redis-server, redis-cli: tests/real/workers.py runs the rendered
#     redis.conf for Synapse's replication) and haproxy (the worker router on
#     the rendered haproxy.cfg)
#   - a Python venv at ${MR_REAL_VENV:-<repo>/dist/real-venv} with a pinned
#     matrix-synapse (python -m synapse.app.homeserver, register_new_matrix_user)
#     and its url-preview extra (lxml): the rendered homeserver.yaml may set
#     url_preview_enabled, which Synapse refuses to start without lxml; and its
#     oidc extra (authlib): tests/real/extra_config.py configures an OIDC
#     provider through synapse.extraConfig, which Synapse refuses to load
#     without authlib; the official matrixdotorg/synapse image ships every extra;
#     and psycopg2 (as the pinned psycopg2-binary wheel, never built from source:
#     the same module matrix-synapse[postgres] needs, without libpq-dev and a
#     compiler) for Synapse on PostgreSQL; and its redis extra (txredisapi,
#     hiredis): Synapse workers replicate through Redis and refuse to start
#     without it (tests/real/workers.py). synapse_port_db (SQLite to
#     PostgreSQL) comes with matrix-synapse itself.
#
# The Debian packages would start coturn, nginx, PostgreSQL (a `main`
# cluster on port 5432), Redis (port 6379) and HAProxy as system services. The tests start their own instances
# on 127.0.0.1 only, so the services are kept from starting during the install
# (policy-rc.d), and stopped and disabled afterwards should they run anyway.
#
# Runs as root on Debian 12.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MR_REAL_VENV:-$REPO/dist/real-venv}"

APT_PACKAGES=(coturn nginx-light postgresql redis-server haproxy)
# Pinned so that the config Synapse accepts does not change under the tests.
# txredisapi pinned: its 1.6.0 (what the redis extra's `>=1.4.12` picks) makes RedisFactory a
# plain Factory, and Synapse 1.162's Redis connection fails at start with "'super' object has
# no attribute 'startedConnecting'"; 1.4.12 is the version Synapse requires at least.
PIP_PACKAGES=("matrix-synapse[url-preview,oidc,redis]==1.162.0" lxml authlib "txredisapi==1.4.12" hiredis
  "psycopg2-binary==2.9.13")
SERVICES=(coturn nginx postgresql redis-server haproxy)

log() { echo "real-deps: $*"; }

# is_installed, apt_install, npm_have
source "$(dirname "${BASH_SOURCE[0]}")/lib-deps.sh"

# --- Debian packages -------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  # Keep the package scripts from starting the services (Debian's standard
  # policy-rc.d hook: exit 101 = action forbidden). Only if there is none yet,
  # and removed again whatever happens.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  log "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  log "apt-get install -y ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ -e $policy ]] && grep -qx 'exit 101' "$policy" && [[ $(wc -l <"$policy") -eq 2 ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
else
  log "apt: ${APT_PACKAGES[*]} already installed"
fi

# Make sure no system instance of these services runs or starts at boot.
for svc in "${SERVICES[@]}"; do
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    if [[ -x /etc/init.d/$svc ]]; then
      # Only stop when the service's pid file names a live process.
      case $svc in
        coturn) pidfiles=(/run/turnserver/turnserver.pid /var/run/turnserver.pid /run/turnserver.pid) ;;
        nginx) pidfiles=(/run/nginx.pid) ;;
        postgresql) pidfiles=(/run/postgresql/*.pid) ;;
        redis-server) pidfiles=(/run/redis/redis-server.pid /var/run/redis/redis-server.pid) ;;
        haproxy) pidfiles=(/run/haproxy.pid /var/run/haproxy.pid) ;;
      esac
      for pf in "${pidfiles[@]}"; do
        if [[ -s $pf ]] && kill -0 "$(head -n 1 "$pf")" 2>/dev/null; then
          log "stopping the system $svc service"
          /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
          break
        fi
      done
    fi
    if command -v update-rc.d >/dev/null 2>&1 && ls /etc/rc2.d/S*"$svc" >/dev/null 2>&1; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
for tool in turnserver turnutils_uclient nginx redis-server redis-cli haproxy; do
  command -v "$tool" >/dev/null 2>&1 || { echo "real-deps: $tool missing after install" >&2; exit 1; }
done
# PostgreSQL's server programs are not on PATH on Debian: run.py finds them there too.
pg_bin=""
while IFS= read -r dir; do
  if [[ -x $dir/initdb && -x $dir/postgres && -x $dir/psql && -x $dir/pg_isready ]]; then
    pg_bin=$dir
    break
  fi
done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V -r)
[[ -n $pg_bin ]] || { echo "real-deps: initdb/postgres/psql/pg_isready missing in /usr/lib/postgresql/*/bin" >&2; exit 1; }

# --- Python venv -------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "venv: $VENV exists"
else
  [[ -e "$VENV" ]] && { log "venv: $VENV is broken, recreating"; rm -rf "$VENV"; }
  log "venv: creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV"; then
    rm -rf "$VENV"
    is_installed python3-venv || {
      DEBIAN_FRONTEND=noninteractive apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    }
    /usr/bin/python3 -m venv "$VENV"
  fi
fi

pip_missing=()
while IFS= read -r spec; do
  if [[ -n "$spec" ]]; then pip_missing+=("$spec"); fi
done < <("$VENV/bin/python" - "${PIP_PACKAGES[@]}" <<'PY'
import sys
from importlib import metadata

for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    name = name.split("[", 1)[0]
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have is None or (want and have != want):
        print(spec)
PY
)
if [[ ${#pip_missing[@]} -gt 0 ]]; then
  log "missing or at another version: ${pip_missing[*]}"
  log "pip install ${PIP_PACKAGES[*]}"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --only-binary=psycopg2-binary \
    "${PIP_PACKAGES[@]}"
else
  log "pip: ${PIP_PACKAGES[*]} already installed in $VENV"
fi
for tool in python register_new_matrix_user synapse_port_db; do
  [[ -x "$VENV/bin/$tool" ]] || { echo "real-deps: $VENV/bin/$tool missing" >&2; exit 1; }
done
"$VENV/bin/python" -c 'import synapse.app.homeserver, synapse.app.generic_worker, lxml, psycopg2, authlib, txredisapi, hiredis' \
  || { echo "real-deps: synapse, lxml, psycopg2, authlib, txredisapi or hiredis does not import in $VENV" >&2; exit 1; }

log "done (venv: $VENV; PostgreSQL: $pg_bin)"
