#!/usr/bin/env python3
"""Synapse with workers, Redis and the router: every rendered process run for real.

Usage (from the repository root, after `bash scripts/real-deps.sh`):

    dist/real-venv/bin/python tests/real/workers.py --cli target/debug/matrix-render

The fixture tests/fixtures/workers (every worker type on) is rendered with the CLI
(`render <its render.args> --format json`), and its processes run on this machine the way
their pods would run them, with the helpers of tests/real/run.py (its pod layout, its
throwaway PostgreSQL; read its docstring). In order:

  A. One process on SQLite. The same values with `--set synapse.workers.enabled=false
     --set synapse.database.type=sqlite --set-string synapse.signingKey=` (no key in the
     secrets yet) render the one-process stack; its Synapse runs as run.py runs it (its
     init container's --generate-keys makes the signing key on the data
     volume). A user (olivia) registers with the rendered shared secret, creates a room,
     sends a message and uploads a file; then the README's wait: until the table
     background_updates is empty (synapse_port_db refuses a database with pending
     updates; a new server's take about a minute). Synapse stops.
  B. The README's "From one process to many", step by step:
     - the workers fixture is rendered again with `--set-string synapse.signingKey=<the
       key file of the data volume>` (the README copies the key into the secrets file);
       the key may appear in no ConfigMap;
     - a throwaway PostgreSQL gets the rendered role, database and password (the Secret
       behind PGPASSWORD of the main process), and max_connections for every process's
       pool (the README's prerequisite: processes x cp_max; PostgreSQL's default 100 is
       less than 24 x 10);
     - `synapse_port_db --sqlite-database <data volume>/homeserver.db --postgres-config
       <file>` runs, the file being `server_name`, `signing_key_path` (the key on the data
       volume), `media_store_path` (the volume's) and the rendered `database` section with only host/port on loopback, as the
       README's migration pod writes it; PGPASSWORD from the rendered Secret; then the
       README's SQL that makes each restarted sequence's last value the last one used
       (SEQUENCE_FIX below: without it the first write of each stream after the port is
       never announced to the other processes).
  C. The worker stack on that database, all on loopback:
     - Redis: Debian's redis-server runs the container command of the Deployment
       `synapse-redis` as rendered (`/bin/sh -c ...`, which writes the auth file `include`d
       by redis.conf from the mounted password), on the rendered redis.conf of ConfigMap
       `synapse-redis`;
     - Synapse main: the `synapse` Deployment's command with one more `--config-path` (the
       override below); then ONE process per pod of every rendered worker StatefulSet
       (`synapse-<type>-<i>`), each running its container's command exactly as rendered
       (`/bin/sh -c 'printf worker_name ... && exec python -m synapse.app.generic_worker
       ...'`) with the pod's env (SYNAPSE_WORKER_NAME = the pod's name from its fieldRef,
       PGPASSWORD from its Secret) and the pod's volumes laid out by run.py's Pod; the
       claim `synapse-data` is ONE directory shared by every pod that mounts it: the data
       volume of part A;
     - the router: Debian's HAProxy (2.6) runs the `synapse-router` container's command on
       the rendered haproxy.cfg (one process: the router's replicas are identical).
     Checks: every process answers GET /health on its own address; a wrong Redis password
     and no password are refused; olivia (from SQLite) logs in through the router, reads
     her message back and downloads her file (served by the media worker from the shared
     claim); main serves the signing key of the data volume; an admin (root, registered
     against main) starts the admin job `regenerate_directory` through the router, as the
     README says after synapse_port_db (which leaves the user directory to be rebuilt).
     Then, THROUGH THE ROUTER, two
     new users (alice, bob: register_new_matrix_user against main's own address) log in,
     create a room, join, send messages, /sync and sliding sync, /messages, upload and
     download media, typing, receipts, presence, account data and tags, push rules,
     to-device, device rename and keys upload, keys query, user directory search,
     federation version, inbound federation transactions (`/send`) from two origin
     servers, three each, which must each reach one process (sticky per origin; their
     X-Matrix header has no signature, so Synapse refuses them with 400 before fetching
     any key), a main-only endpoint. Every request carries a unique query
     parameter `mr_req=<label>-<random>`; the process that served it is the one whose
     own log (Synapse's access log `synapse.access.http.<port>`) has that marker, and
     HAProxy's log line for it must name the same server. The expected process type of
     each request follows Synapse's docs/workers.md; the table of request -> process is
     printed at the end.
     Writes on the stream writers: the `instance_name` column of each stream's table
     (events, receipts_linearized, presence_stream, account_data, room_tags_revisions,
     push_rules_stream, device_inbox, device_lists_stream) names the configured writer,
     and the event persister has the replication request `send_events` in its own log.
     Replication through Redis: a /sync long-poll served by the synchrotron wakes up with
     each write made on another process (message, typing, receipt, presence, account
     data, push rule, to-device, device list); `CLIENT LIST` shows a subscribed
     connection of EVERY Synapse process (the connection's socket found in that process's
     /proc/<pid>/fd) and `PUBSUB NUMSUB <server_name>` counts them all.
  D. Back to one process (the README's way back): every process but PostgreSQL stops; the
     values with `--set synapse.workers.enabled=false` (PostgreSQL and the signing key
     kept) render the main process alone, which runs on the same database and the same
     claim synapse-data (its own loopback address); alice logs in on it, reads her message
     and downloads the file the media worker stored on the claim.

Addresses: each process gets its own loopback address 127.X.Y.N (X, Y random per run; all
of 127/8 is loopback on Linux), so that every rendered port stays as rendered (8008, 9093,
6379, metrics); every cluster DNS name the config names (the Services
`synapse.<ns>.svc.cluster.local`, `synapse-redis.<ns>.svc.cluster.local`, each worker pod's
`synapse-<type>-<i>.synapse-<type>.<ns>.svc.cluster.local`) maps to the address of the
process behind it. PostgreSQL is run.py's throwaway server (127.0.0.1, a free port).

Every override, in one place:

  Synapse (main and workers): one more `--config-path <override.yaml>` after the rendered
  ones (Synapse reads the files in order, a later top-level key replacing an earlier one):
    listeners (main), worker_listeners (workers)
                          as rendered, with only bind_addresses -> [the process's address]
    instance_map          as rendered, with each host -> the address of its process
    redis                 as rendered, with host -> Redis's address and password_path in
                          the pod tree
    database              as rendered, with args.host -> 127.0.0.1, args.port -> the
                          throwaway server's port
    every *_path, *_file, pid_file, log_config (also nested, e.g. redis.password_path)
                          the same file in the pod's tree (volumes laid out by run.py's
                          Pod; a path on no volume: the same path under the pod's root)
  Synapse's commands: the pod paths in them (volume mount paths, and /tmp) -> the same
    directories of the pod's tree, by text; `python` is the venv's (first on PATH); the
    env is the pod's (run.py's container_env, plus fieldRef metadata.name/namespace), this
    machine's PG* variables removed and PGPASSFILE pointing at no file.
  Redis: the laid-out redis.conf edited in place: every `bind` line -> `bind <its address>`
    (one added if there is none), mount paths -> the pod tree (by text); the command as
    rendered with mount paths -> the pod tree.
  HAProxy: the laid-out haproxy.cfg edited in place: each cluster DNS name -> the address
    of its process (the server addresses), each `bind` address -> the router's address
    (the port as rendered); the command as rendered with mount paths -> the pod tree. It
    runs in a mount namespace of its own (root: unshare) where /etc/resolv.conf names only
    127.0.0.1, standing in for the pod's resolv.conf that `parse-resolv-conf` reads: no DNS
    query can leave the machine (with every server an address, none is made).
  PostgreSQL: run.py's server, with `-c max_connections=N` added to its command line (a
    wrapper around the server binary): N = Synapse processes x cp_max + 20.
  synapse_port_db: see B.

Bounded: every process is stopped at the end, also on failure; Synapse processes are
terminated by a watchdog after STACK_LIFETIME seconds; every request has a timeout.

One PASS/FAIL line per check, INFO lines for context, the request -> process table, and the
closing line `workers: N passed, M failed`; the exit code is 1 on any failure.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import copy
import ipaddress
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (tests/real/run.py)

FIXTURE = "workers"
SQLITE = "workers-sqlite"  # label of part A
WORKER_START_TIMEOUT = 240  # every worker answers /health within this
MAIN_START_TIMEOUT = 120
REDIS_START_TIMEOUT = 20
ROUTER_START_TIMEOUT = 30
PORT_DB_TIMEOUT = 300
BACKGROUND_UPDATES_TIMEOUT = 180
# Every Synapse process is terminated after this (a watchdog), whatever happens.
STACK_LIFETIME = 900
SYNC_TIMEOUT_MS = 20_000  # a /sync long-poll waits at most this for a write
POLL_TIMEOUT = 60  # the user directory (rebuilt by a background job) and other asynchronous results
ROUTER = "synapse-router"
REDIS = "synapse-redis"
MAIN = "synapse"
DATA_CLAIM = "synapse-data"


# --------------------------------------------------------------------------
# Loopback addresses and HTTP on any of them


class Addresses:
    """127.X.Y.1, .2, ... for the processes of one run (X, Y random)."""

    def __init__(self) -> None:
        rnd = random.SystemRandom()
        self.prefix = f"127.{rnd.randint(16, 250)}.{rnd.randint(1, 250)}."
        self.n = 0

    def take(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n}"


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


def bindable(ip: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def http(method: str, url: str, body=None, token: str | None = None, raw: bytes | None = None,
         ctype: str = "", timeout: float = R.HTTP_TIMEOUT, headers: dict | None = None):
    """(status or None, headers, body bytes). Loopback (127/8) only."""
    host = urllib.parse.urlsplit(url).hostname or ""
    assert loopback(host), url
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype or "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with R._OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, None, str(e).encode()


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def substitute(text: str, paths: dict[str, str]) -> str:
    """Each pod path (a whole path, not a prefix of a longer name) -> its host path, in one
    pass (as tests/real/backup.py does for the backup script)."""
    if not paths:
        return text
    alternation = "|".join(re.escape(mp) for mp in sorted(paths, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w./-])(" + alternation + r")(?![\w.-])")
    return pattern.sub(lambda m: paths[m.group(1)], text)


# The README's SQL after synapse_port_db (see Runner.port_db).
SEQUENCE_FIX = """DO $$
DECLARE seq text; v bigint;
BEGIN
  FOR seq IN SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
             WHERE schemaname = 'public' AND last_value IS NULL LOOP
    EXECUTE 'SELECT last_value FROM ' || seq INTO v;
    IF v > 1 THEN PERFORM setval(seq, v - 1); END IF;
  END LOOP;
END $$;"""


# --------------------------------------------------------------------------
# PostgreSQL for many processes


class BigPostgres(R.Postgres):
    """run.py's throwaway server with max_connections raised to `connections`: every
    Synapse process keeps a pool of up to cp_max connections, and PostgreSQL's default of
    100 is less than 24 processes x cp_max 10 (the server refuses the rest with "remaining
    connection slots are reserved"). The server binary is wrapped by a script that adds
    `-c max_connections=N` to run.py's command line."""

    def __init__(self, ctx, bindir: str, log_path: str, connections: int, wrapper_dir: str):
        super().__init__(ctx, bindir, log_path)
        self.connections = connections
        self.wrapper = os.path.join(wrapper_dir, "postgres")
        with open(self.wrapper, "w", encoding="utf-8") as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(os.path.join(bindir, "postgres"))} "$@" '
                    f"-c max_connections={connections}\n")
        os.chmod(self.wrapper, 0o755)
        os.chmod(wrapper_dir, 0o755)

    def tool(self, name: str) -> str:
        return self.wrapper if name == "postgres" else super().tool(name)


# --------------------------------------------------------------------------
# One process of the stack


class Proc:
    def __init__(self, name: str, kind: str, ip: str, work: str):
        self.name = name  # the pod's name (worker name), or the Deployment's
        self.kind = kind  # "main", a worker type ("client-reader"), "redis", "router"
        self.ip = ip
        self.work = work
        self.log_path = os.path.join(work, f"{name}.log")
        self.proc: subprocess.Popen | None = None
        self.pod: R.Pod | None = None
        self.hs: dict = {}  # the effective Synapse config (the rendered files merged)
        self.started = 0.0
        self.ready_after: float | None = None

    def log(self) -> str:
        return R.read_text(self.log_path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def cluster_names(name: str, ns: str) -> list[str]:
    """The names a Service (or a pod under a headless Service: name = pod.service) has."""
    return [f"{name}.{ns}.svc.cluster.local", f"{name}.{ns}.svc", f"{name}.{ns}"]


def pod_env(container: dict, rendered: R.Rendered, pod_name: str, ns: str, ip: str) -> tuple[dict, dict]:
    """The container's env as the kubelet sets it, fieldRefs included."""
    env, unset = R.container_env(container, rendered)
    for e in container.get("env", []):
        ref = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if ref:
            val = {"metadata.name": pod_name, "metadata.namespace": ns, "status.podIP": ip}.get(ref)
            if val is None:
                unset[e["name"]] = f"fieldRef {ref} not supported by this test"
            else:
                env[e["name"]] = val
    return env, unset


def merged_config(files: list[str], python: str) -> dict:
    """The config Synapse reads from these files: top-level keys, a later file's replacing."""
    out: dict = {}
    for path in files:
        doc = R.load_yaml(path, python)
        if isinstance(doc, dict):
            out.update(doc)
    return out


PATH_KEY = re.compile(r"(_path|_file|_dir|_directory)$|^(log_config|pid_file)$")


def remap_paths(value, pod: R.Pod, key: str = ""):
    """A config value with every absolute path under a *_path/*_file/... key moved into the
    pod's tree (nested mappings and lists too)."""
    if isinstance(value, dict):
        return {k: remap_paths(v, pod, k) for k, v in value.items()}
    if isinstance(value, list):
        return [remap_paths(v, pod, key) for v in value]
    if isinstance(value, str) and value.startswith("/") and PATH_KEY.search(key):
        return pod.remap(value) or pod.host(value)
    return value


# --------------------------------------------------------------------------
# Requests with a marker, and who served them


class Request:
    def __init__(self, label: str, method: str, path: str, expect: str):
        self.label = label
        self.method = method
        self.path = path  # without the query string
        self.expect = expect  # the process type that must serve it
        self.marker = f"{label}-{secrets.token_hex(4)}"
        self.status: int | None = None
        self.served: list[str] = []
        self.haproxy: str = ""


class Stack:
    def __init__(self, ctx: R.Ctx, args, work: str):
        self.ctx = ctx
        self.args = args
        self.work = work
        self.addr = Addresses()
        self.procs: list[Proc] = []
        self.names: dict[str, str] = {}  # cluster DNS name -> address
        self.pg: R.Postgres | None = None
        self.pg_login: dict | None = None
        self.claims: dict[str, str] = {}
        self.requests: list[Request] = []
        self.router_url = ""
        self.main: Proc | None = None
        self.redis: Proc | None = None
        self.router: Proc | None = None
        self.workers: list[Proc] = []
        self.hs: dict = {}
        self.redis_password = ""
        self.watchdog: threading.Timer | None = None
        self.lock = threading.Lock()
        # What the worker stack wrote, for the way back to one process.
        self.written: dict = {}

    # ---- helpers
    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        return self.ctx.res.check(self.ctx.fixture, name, ok, detail)

    def info(self, msg: str) -> None:
        R.Results.info(self.ctx.fixture, msg)

    def env_for(self, pod_env_: dict[str, str], work: str) -> dict[str, str]:
        env = R.libpq_free_env(R.child_env(os.path.dirname(self.ctx.python)))
        env["PGPASSFILE"] = os.path.join(work, "no-such-pgpass")
        env.update(pod_env_)
        return env

    def start(self, p: Proc, cmd: list[str], env: dict[str, str], cwd: str) -> None:
        p.started = time.monotonic()
        p.proc = R.start_process(cmd, p.log_path, cwd, env)

    def stop(self) -> None:
        self.stop_processes()
        if self.pg is not None:
            self.pg.stop()
            self.pg = None

    def stop_processes(self) -> None:
        """Every process but PostgreSQL."""
        if self.watchdog is not None:
            self.watchdog.cancel()
        # the router first, then the workers, main, Redis
        order = [p for p in self.procs if p.kind == "router"] + \
                [p for p in self.procs if p.kind not in ("router", "main", "redis")] + \
                [p for p in self.procs if p.kind == "main"] + [p for p in self.procs if p.kind == "redis"]
        for p in order:
            if p.proc is not None:
                R.stop_process(p.proc)

    def _expire(self) -> None:
        print(f"INFO [{self.ctx.fixture}] the stack ran {STACK_LIFETIME} s: terminated", flush=True)
        for p in self.procs:
            if p.alive():
                try:
                    os.killpg(p.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def synapse_procs(self) -> list[Proc]:
        return [p for p in self.procs if p.kind not in ("redis", "router")]


# --------------------------------------------------------------------------
# Part A: one process on SQLite


class OneProcess(R.SynapseRun):
    """run.py's Synapse run on the one-process SQLite render; the user part writes what the
    migration must carry over."""

    def __init__(self, ctx, rendered, work, state: dict):
        super().__init__(ctx, rendered, work)
        self.state = state

    def check_register_and_turn(self, url: str, hs: dict) -> None:
        fx, res, st = self.ctx.fixture, self.ctx.res, self.state
        st["server_name"] = str(hs.get("server_name"))
        sname, shared = self.r.secret_value("REGISTRATION_SHARED_SECRET")
        if not res.check(fx, "synapse: one rendered Secret has REGISTRATION_SHARED_SECRET", shared is not None):
            return
        user, password = st["user"], st["password"]
        rc, out = R.run_cmd([self.ctx.register_cmd, f"--shared-secret={shared.decode()}", "-u", user,
                             f"--password={password}", "--no-admin", url], R.REGISTER_TIMEOUT, self.work,
                            R.child_env())
        shown = out.replace(shared.decode(), "<secret>").replace(password, "<password>")
        if not res.check(fx, f"synapse (one process, SQLite): register_new_matrix_user -u {user} exits 0", rc == 0,
                         "" if rc == 0 else f"exit {rc}\n{R.tail(shown)}"):
            return
        token = login(url, user, password)[0]
        if not res.check(fx, f"synapse (one process, SQLite): {user} logs in", bool(token)):
            return
        status, _, raw = http("POST", url + "/_matrix/client/v3/createRoom", {"name": "before workers"}, token)
        room = (R.as_json(raw) or {}).get("room_id")
        if not res.check(fx, f"synapse (one process, SQLite): {user} creates a room", status == 200 and bool(room),
                         f"{room}" if room else f"status {status}, {raw[:200]!r}"):
            return
        st["room_id"] = room
        status, _, raw = http("PUT", f"{url}/_matrix/client/v3/rooms/{q(room)}/send/m.room.message/"
                                     f"{secrets.token_hex(6)}", {"msgtype": "m.text", "body": st["message"]}, token)
        res.check(fx, f"synapse (one process, SQLite): {user} sends {st['message']!r}", status == 200,
                  f"status {status}, {raw[:200]!r}" if status != 200 else (R.as_json(raw) or {}).get("event_id", ""))
        status, _, raw = http("POST", url + "/_matrix/media/v3/upload?filename=before.bin", token=token,
                              raw=st["media"], ctype="application/octet-stream")
        st["mxc"] = (R.as_json(raw) or {}).get("content_uri")
        res.check(fx, f"synapse (one process, SQLite): {user} uploads {len(st['media'])} bytes",
                  status == 200 and bool(st["mxc"]), st["mxc"] or f"status {status}, {raw[:200]!r}")
        # synapse_port_db refuses a database with pending background updates: as the README
        # says, wait until Synapse has run them all (the table background_updates is empty).
        db = (hs.get("database") or {}).get("args", {}).get("database", "")
        path = os.path.join(self.work, "synapse-pod", db.lstrip("/"))
        t0 = time.monotonic()
        left = None
        while time.monotonic() - t0 < BACKGROUND_UPDATES_TIMEOUT and self.proc.poll() is None:
            try:
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
                try:
                    left = con.execute("SELECT count(*) FROM background_updates").fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error as e:
                left = str(e)
            if left == 0:
                break
            time.sleep(1)
        res.check(fx, "synapse (one process, SQLite): its background updates finish (table background_updates "
                      "empty, as synapse_port_db requires)", left == 0,
                  f"{time.monotonic() - t0:.1f} s" if left == 0 else f"{left} left")


def login(url: str, user: str, password: str, marker: str = "") -> tuple[str | None, str | None, int | None]:
    """(access token, device id, status)."""
    path = "/_matrix/client/v3/login" + (f"?mr_req={marker}" if marker else "")
    status, _, raw = http("POST", url + path, {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password})
    body = R.as_json(raw) or {}
    return (body.get("access_token"), body.get("device_id"), status) if status == 200 else (None, None, status)


def render(cli: str, fdir: str, extra: list[str]) -> tuple[int | None, dict | None, str]:
    args = R.render_args(fdir) + extra
    try:
        r = subprocess.run([cli, "render", *args, "--format", "json"], cwd=fdir, capture_output=True,
                           timeout=R.RENDER_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, None, "timed out"
    data = None
    if r.returncode == 0:
        try:
            data = json.loads(r.stdout)
        except ValueError:
            data = None
    return r.returncode, data, r.stderr.decode("utf-8", "replace")


def data_mount(rendered: R.Rendered) -> str | None:
    """Where the one-process Synapse mounts the claim synapse-data."""
    dep, container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
    if dep is None:
        return None
    spec = dep["spec"]["template"]["spec"]
    names = {v["name"] for v in spec.get("volumes", [])
             if (v.get("persistentVolumeClaim") or {}).get("claimName") == DATA_CLAIM}
    return next((m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in names), None)


def part_a(ctx_a: R.Ctx, args, work: str, state: dict) -> str | None:
    """One process on SQLite; returns the directory of its data volume (the claim)."""
    res, fx = ctx_a.res, ctx_a.fixture
    fdir = os.path.join(args.fixtures_dir, FIXTURE)
    # A stack that started on one process: no signing key in the secrets yet (Synapse
    # generates it on the data volume), SQLite, workers off.
    extra = ["--set", "synapse.workers.enabled=false", "--set", "synapse.database.type=sqlite",
             "--set-string", "synapse.signingKey="]
    t0 = time.monotonic()
    rc, data, err = render(args.cli, fdir, extra)
    if not res.check(fx, "the workers values with " + " ".join(extra) + " render one process on SQLite",
                     rc == 0 and isinstance(data, dict), f"{time.monotonic() - t0:.1f} s" if rc == 0 else
                     f"exit {rc}\n{R.tail(err)}"):
        return None
    values = R.fixture_values(fdir, R.render_args(fdir) + extra, args.python)
    rendered = R.Rendered(data["items"], values)
    sts = [s["metadata"]["name"] for s in rendered.of_kind("StatefulSet")]
    res.check(fx, "one process: no worker StatefulSet, no router, no Redis",
              not sts and rendered.get("Deployment", ROUTER) is None and rendered.get("Deployment", REDIS) is None,
              f"StatefulSets {sts}")
    mount = data_mount(rendered)
    if not res.check(fx, f"one process: Synapse mounts the claim {DATA_CLAIM}", mount is not None):
        return None
    syn = OneProcess(ctx_a, rendered, os.path.join(work, "one-process"), state)
    os.makedirs(syn.work)
    try:
        syn.run()
    except Exception:  # noqa: BLE001
        res.check(fx, "one process: checks ran to the end", False, traceback.format_exc())
    finally:
        syn.stop()
    claim = os.path.join(syn.work, "synapse-pod", mount.lstrip("/"))
    return claim if os.path.isdir(claim) else None


# --------------------------------------------------------------------------
# Part C: the stack


def find_file(root: str, name: str) -> str | None:
    for d, _ds, fs in os.walk(root):
        if name in fs:
            return os.path.join(d, name)
    return None


class Runner:
    def __init__(self, st: Stack, rendered: R.Rendered, values: dict):
        self.st = st
        self.r = rendered
        self.values = values
        dep, container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
        self.main_dep, self.main_container = dep, container
        self.ns = (dep or {}).get("metadata", {}).get("namespace") or "default"

    # ---- the address plan
    def plan(self) -> bool:
        st = self.st
        st.router = Proc(ROUTER, "router", st.addr.take(), st.work)
        st.redis = Proc(REDIS, "redis", st.addr.take(), st.work)
        st.main = Proc(MAIN, "main", st.addr.take(), st.work)
        st.procs += [st.router, st.redis, st.main]
        for name in cluster_names(MAIN, self.ns):
            st.names[name] = st.main.ip
        for name in cluster_names(REDIS, self.ns):
            st.names[name] = st.redis.ip
        for name in cluster_names(ROUTER, self.ns):
            st.names[name] = st.router.ip
        self.sets = [s for s in self.r.of_kind("StatefulSet")
                     if any("synapse.app.generic_worker" in " ".join(c.get("command", []) + c.get("args", []))
                            for c in s["spec"]["template"]["spec"].get("containers", []))]
        for s in self.sets:
            service = s["spec"].get("serviceName") or ""
            kind = s["metadata"]["name"].removeprefix("synapse-")
            for i in range(int(s["spec"].get("replicas", 1))):
                pod = f"{s['metadata']['name']}-{i}"
                p = Proc(pod, kind, st.addr.take(), st.work)
                p.sts = s  # type: ignore[attr-defined]
                st.workers.append(p)
                st.procs.append(p)
                for name in cluster_names(f"{pod}.{service}", self.ns):
                    st.names[name] = p.ip
        st.check("the render has worker StatefulSets (generic_worker), one process each pod",
                 bool(st.workers), ", ".join(p.name for p in st.workers))
        busy = [f"{p.ip}:{port}" for p in st.procs for port in (8008, 9093, 6379) if not bindable(p.ip, port)]
        return st.check(f"loopback addresses {st.addr.prefix}1-{st.addr.n} are free (rendered ports 8008, 9093, "
                        "6379 on each)", not busy, ", ".join(busy))

    # ---- PostgreSQL: run.py's throwaway server, the rendered role and database
    def postgres(self) -> bool:
        st = self.st
        pod = R.Pod(self.r, self.main_dep, os.path.join(st.work, "pg-probe"), st.ctx.fixture, st.ctx.res)
        conf = R.arg_after(self.cmd_main(), "-c", "--config-path")
        hs = R.load_yaml(pod.remap(conf), st.ctx.python) if conf and pod.remap(conf) else {}
        db = (hs or {}).get("database") or {}
        if not st.check("homeserver.yaml: database psycopg2 (workers need PostgreSQL)", db.get("name") == "psycopg2",
                        json.dumps(db.get("name"))):
            return False
        env, unset = R.container_env(self.main_container, self.r)
        # Every process's pool (cp_max, Synapse's default 10) plus synapse_port_db and psql.
        cp_max = int((db.get("args") or {}).get("cp_max", 10))
        procs = 1 + len(st.workers)
        need = procs * cp_max + 20
        st.info(f"postgresql: {procs} Synapse processes x cp_max {cp_max} = {procs * cp_max} connections at most: "
                f"max_connections {need} (PostgreSQL's default is 100)")
        # The wrapper where the server's non-root user can run it (run.py's own temporary
        # directories are private); removed at the end like run.py's.
        wrapper_dir = tempfile.mkdtemp(prefix="real-workers-pg-")
        R._EXTRA_DIRS.append(wrapper_dir)
        helper = R.SynapseRun(st.ctx, self.r, st.work)
        # run.py's setup_postgres (role, database, password checks) on this server class.
        orig = R.Postgres
        R.Postgres = lambda ctx, bindir, log_path: BigPostgres(ctx, bindir, log_path, need, wrapper_dir)
        try:
            ok = helper.setup_postgres(copy.deepcopy(db), self.main_container, env)
        finally:
            R.Postgres = orig
        st.pg, st.pg_login = helper.pg, helper.pg_login
        if ok:
            rc, out = st.pg.query_as(st.pg_login["user"], st.pg_login["password"], st.pg_login["dbname"],
                                     "SHOW max_connections")
            ok = st.check(f"postgresql: max_connections is {need}", out.strip() == str(need), out.strip()[:200])
        self.db = db
        return ok

    def cmd_main(self) -> list[str]:
        c = self.main_container
        return list(c.get("command", [])) + list(c.get("args", []))

    # ---- B. synapse_port_db
    def port_db(self, claim: str | None, state: dict) -> bool:
        st = self.st
        if not claim or not os.path.isfile(os.path.join(claim, "homeserver.db")):
            st.check("synapse_port_db: the one-process data volume holds homeserver.db", False, f"{claim}")
            return False
        cfg = {"server_name": state.get("server_name"),
               "signing_key_path": os.path.join(claim, f"{state.get('server_name')}.signing.key"),
               # else Synapse's config makes ./media_store, on the pod's read-only root
               "media_store_path": os.path.join(claim, "media_store"),
               "database": copy.deepcopy(self.db)}
        cfg["database"]["args"]["host"] = R.LOOPBACK
        cfg["database"]["args"]["port"] = st.pg.port
        path = os.path.join(st.work, "port-db.yaml")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
        tool = os.path.join(os.path.dirname(st.ctx.python), "synapse_port_db")
        env = self.st.env_for({"PGPASSWORD": st.pg_login["password"]}, st.work)
        cmd = [tool, "--sqlite-database", os.path.join(claim, "homeserver.db"), "--postgres-config", path]
        t0 = time.monotonic()
        cwd = os.path.join(st.work, "port-db")
        os.makedirs(cwd, exist_ok=True)
        rc, out = R.run_cmd(cmd, PORT_DB_TIMEOUT, cwd, env)
        took = time.monotonic() - t0
        with open(os.path.join(st.work, "synapse_port_db.log"), "w", encoding="utf-8") as f:
            f.write(out)
        left = sorted(os.listdir(cwd))
        st.check("synapse_port_db writes nothing in its working directory (the pod's root file system is "
                 "read-only)", not left, ", ".join(left))
        ok = st.check("synapse_port_db --sqlite-database <data volume>/homeserver.db --postgres-config <the rendered "
                      "database section, on loopback> exits 0", rc == 0,
                      f"{took:.1f} s" if rc == 0 else f"exit {rc}\n{R.tail(out.replace(st.pg_login['password'], '<pw>'))}")
        if not ok:
            return False
        login_ = st.pg_login
        # The README's step after the port: synapse_port_db restarts the stream sequences
        # (ALTER SEQUENCE ... RESTART WITH max+1), which leaves last_value at the NEXT value,
        # never read; a stream writer takes last_value for its position at start, so the
        # first write of each such stream (receipts, account data, push rules, to-device,
        # ...) gets a position the other processes already count as seen, and no /sync
        # wakes up for it. setval(last_value - 1) keeps the next value and makes last_value
        # the last one used.
        rc, out = st.pg.query_as(login_["user"], login_["password"], login_["dbname"],
                                 "SELECT string_agg(sequencename, ' ' ORDER BY sequencename) FROM pg_sequences "
                                 "WHERE schemaname = 'public' AND last_value IS NULL")
        st.info(f"after synapse_port_db, sequences never read (last_value = the next value): {out.strip()}")
        rc, out = st.pg.query_as(login_["user"], login_["password"], login_["dbname"], SEQUENCE_FIX)
        st.check("the README's sequence fix after synapse_port_db runs as the Synapse role", rc == 0,
                 R.tail(out) if rc != 0 else "")
        user_id = f"@{state['user']}:{state['server_name']}"
        rc, out = st.pg.query_as(login_["user"], login_["password"], login_["dbname"],
                                 f"SELECT count(*) FROM users WHERE name = {R.sql_literal(user_id)}")
        st.check(f"postgresql: {user_id} (registered on SQLite) is in table users after the port", out.strip() == "1",
                 f"exit {rc}, {out.strip()[:200]!r}")
        rc, out = st.pg.query_as(login_["user"], login_["password"], login_["dbname"],
                                 "SELECT count(*) FROM events WHERE type = 'm.room.message' AND room_id = "
                                 f"{R.sql_literal(state.get('room_id') or '')}")
        st.check("postgresql: the message sent on SQLite is in table events after the port", out.strip() == "1",
                 f"exit {rc}, {out.strip()[:200]!r}")
        return True

    # ---- Redis
    def lay_out(self, name: str, file: str, what: str, p) -> tuple | None:
        """The Deployment `name` and its ConfigMap `name` (holding `file`), its first container
        and its pod's volumes laid out by run.py's Pod (kept on the process `p`)."""
        st = self.st
        dep = self.r.get("Deployment", name)
        cm = self.r.get("ConfigMap", name)
        if not st.check(f"the render has the Deployment and ConfigMap {name} ({what})",
                        dep is not None and cm is not None and file in (cm.get("data") or {})):
            return None
        container = dep["spec"]["template"]["spec"]["containers"][0]
        pod = R.Pod(self.r, dep, os.path.join(st.work, name), st.ctx.fixture, st.ctx.res)
        p.pod = pod
        label = name.removeprefix("synapse-")
        if not st.check(f"{label}: pod volumes are all rendered", not pod.problems and not pod.external,
                        "; ".join(pod.problems + pod.external)):
            return None
        return dep, cm, container, pod

    def start_redis(self) -> bool:
        st, p = self.st, self.st.redis
        laid = self.lay_out(REDIS, "redis.conf", "in-cluster Redis", p)
        if laid is None:
            return False
        dep, cm, container, pod = laid
        env, unset = pod_env(container, pod.rendered, REDIS, self.ns, p.ip)
        # The password: the rendered Secret the pod mounts or has in its env.
        name, pw = self.r.secret_value("REDIS_PASSWORD")
        st.redis_password = pw.decode() if pw else ""
        conf_text = cm["data"]["redis.conf"]
        configmaps = [c["metadata"]["name"] for c in self.r.of_kind("ConfigMap")
                      if st.redis_password and any(st.redis_password in str(v) for v in (c.get("data") or {}).values())]
        st.check("redis: the password is in a rendered Secret (REDIS_PASSWORD) and in no ConfigMap",
                 bool(st.redis_password) and not configmaps, f"Secret {name}" if not configmaps else
                 f"in ConfigMaps {configmaps}")
        st.check("redis: redis.conf includes a file (the auth file written at start)",
                 re.search(r"^\s*include\s+\S+", conf_text, re.M) is not None and "requirepass" not in conf_text)
        conf = find_file(pod.root, "redis.conf")
        paths = {mp: pod.host(mp) for mp in pod.mounts}
        port = int((re.search(r"^\s*port\s+(\d+)", conf_text, re.M) or [None, 6379])[1])
        text = substitute(conf_text, paths)
        text, n = re.subn(r"^\s*bind\s+.*$", f"bind {p.ip}", text, flags=re.M)
        if n == 0:
            text += f"\nbind {p.ip}\n"
        os.chmod(conf, 0o644)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = list(container.get("command", [])) + list(container.get("args", []))
        if cmd[:2] in (["/bin/sh", "-c"], ["sh", "-c"]) and len(cmd) >= 3:
            cmd = cmd[:2] + [substitute(cmd[2], paths)] + cmd[3:]
        else:
            cmd = [pod.remap(a) or a if a.startswith("/") else a for a in cmd]
        if not st.check("redis: the container has a command (redis-server on the rendered config)", bool(cmd),
                        json.dumps(container.get("command"))):
            return False
        # The pod's root fs stands for the image's: /tmp and the data dir exist.
        os.makedirs(pod.host("/tmp"), exist_ok=True)
        st.start(p, cmd, st.env_for(env, pod.root), pod.root)
        up = wait_tcp(p.ip, port, p.proc, REDIS_START_TIMEOUT)
        self.redis_port = port
        return st.check(f"redis: Debian's redis-server runs the rendered command and redis.conf on {p.ip}:{port}", up,
                        f"{time.monotonic() - p.started:.1f} s" if up else
                        f"exit {p.proc.poll()}\n{R.tail(p.log())}")

    # ---- a Synapse process's override
    def synapse_setup(self, p: Proc, obj: dict, container: dict, pod_name: str) -> tuple[list[str], dict] | None:
        st = self.st
        root = os.path.join(st.work, pod_name)
        pod = R.Pod(self.r, obj, root, st.ctx.fixture, st.ctx.res)
        p.pod = pod
        if not st.check(f"{pod_name}: pod volumes are all rendered", not pod.problems and not pod.external,
                        "; ".join(pod.problems + pod.external)):
            return None
        # One directory per claim, shared by every pod that mounts it.
        spec = obj["spec"]["template"]["spec"]
        for m in container.get("volumeMounts", []):
            vol = next((v for v in spec.get("volumes", []) if v["name"] == m["name"]), {})
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                shared = st.claims.setdefault(claim, os.path.join(st.work, "claims", claim))
                os.makedirs(shared, exist_ok=True)
                host = pod.host(m["mountPath"])
                if os.path.isdir(host) and not os.path.islink(host):
                    os.rmdir(host)
                os.symlink(shared, host)
        env, unset = pod_env(container, pod.rendered, pod_name, self.ns, p.ip)
        if not st.check(f"{pod_name}: its env is rendered", not unset, json.dumps(unset)):
            return None
        cmd = list(container.get("command", [])) + list(container.get("args", []))
        return cmd, env

    def override(self, p: Proc, files: list[str]) -> str:
        """The override file of a Synapse process; p.hs is its effective config."""
        st = self.st
        hs = merged_config(files, st.ctx.python)
        p.hs = hs
        o: dict = {}
        if p.kind == "main":
            lst = copy.deepcopy(hs.get("listeners") or [])
            for item in lst:
                item["bind_addresses"] = [p.ip]
            o["listeners"] = lst
        else:
            lst = copy.deepcopy(hs.get("worker_listeners") or [])
            for item in lst:
                item["bind_addresses"] = [p.ip]
            o["worker_listeners"] = lst
        im = copy.deepcopy(hs.get("instance_map") or {})
        for name, ent in im.items():
            if isinstance(ent, dict) and ent.get("host") in st.names:
                ent["host"] = st.names[ent["host"]]
        o["instance_map"] = im
        redis = copy.deepcopy(hs.get("redis") or {})
        if redis.get("host") in st.names:
            redis["host"] = st.names[redis["host"]]
        o["redis"] = remap_paths(redis, p.pod, "redis")
        db = copy.deepcopy(hs.get("database") or {})
        if db.get("name") == "psycopg2" and st.pg is not None:
            db["args"]["host"] = R.LOOPBACK
            db["args"]["port"] = st.pg.port
            o["database"] = db
        for key, val in hs.items():
            if key in o:
                continue
            moved = remap_paths(val, p.pod, key)
            if moved != val:
                o[key] = moved
        path = os.path.join(p.pod.root, "..", f"{p.name}-override.yaml")
        path = os.path.abspath(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# loopback addresses and pod-tree paths only; see tests/real/workers.py\n")
            json.dump(o, f, indent=2)
        return path

    def start_main(self) -> bool:
        st, p = self.st, self.st.main
        setup = self.synapse_setup(p, self.main_dep, self.main_container, MAIN)
        if setup is None:
            return False
        cmd, env = setup
        files = []
        args = []
        for i, a in enumerate(cmd):
            if i > 0 and cmd[i - 1] in ("-c", "--config-path"):
                files.append(p.pod.remap(a) or p.pod.host(a))
                args.append(files[-1])
            elif a == "python":
                args.append(st.ctx.python)
            else:
                args.append(a)
        override = self.override(p, files)
        st.hs = p.hs
        self.check_shared_config(p.hs)
        st.start(p, args + ["--config-path", override], st.env_for(env, p.pod.root), p.pod.root)
        ok = self.wait_health(p, MAIN_START_TIMEOUT)
        return st.check(f"synapse main: `{' '.join(cmd[:4])} ...` starts on {p.ip} and answers GET /health", ok,
                        f"{p.ready_after:.1f} s" if ok else f"exit {p.proc.poll()}\n{R.tail(p.log(), 40)}")

    def check_shared_config(self, hs: dict) -> None:
        st = self.st
        im = hs.get("instance_map") or {}
        unknown = {k: (v or {}).get("host") for k, v in im.items() if (v or {}).get("host") not in st.names}
        st.check("homeserver.yaml: every instance_map host is the DNS name of a rendered process (main or a "
                 "worker pod under its headless Service)", bool(im) and not unknown, json.dumps(unknown))
        names = {p.name for p in st.workers}
        writers = hs.get("stream_writers") or {}
        bad = {s: w for s, w in writers.items() if any(x not in names or x not in im for x in
                                                          (w if isinstance(w, list) else [w]))}
        st.check("homeserver.yaml: every stream writer is a worker pod with an instance_map entry",
                 bool(writers) and not bad, json.dumps(bad) if bad else json.dumps(writers))
        duties = {k: hs.get(k) for k in ("federation_sender_instances", "pusher_instances",
                                         "media_instance_running_background_jobs",
                                         "update_user_directory_from_worker", "notify_appservices_from_worker",
                                         "run_background_tasks_on") if k in hs}
        bad = {k: v for k, v in duties.items() if any(x not in names for x in (v if isinstance(v, list) else [v]))}
        st.check("homeserver.yaml: every singleton role names a worker pod", bool(duties) and not bad,
                 json.dumps(bad) if bad else json.dumps(duties))
        redis = hs.get("redis") or {}
        st.check("homeserver.yaml: redis enabled, host the Redis Service, password from a file",
                 redis.get("enabled") is True and redis.get("host") in st.names and
                 st.names.get(redis.get("host")) == st.redis.ip and bool(redis.get("password_path")),
                 json.dumps(redis))

    def start_workers(self) -> bool:
        st = self.st
        ok_all = True
        for p in st.workers:
            s = p.sts  # type: ignore[attr-defined]
            container = next(c for c in s["spec"]["template"]["spec"]["containers"]
                             if "synapse.app.generic_worker" in " ".join(c.get("command", []) + c.get("args", [])))
            setup = self.synapse_setup(p, s, container, p.name)
            if setup is None:
                ok_all = False
                continue
            cmd, env = setup
            if not st.check(f"{p.name}: the command is /bin/sh -c SCRIPT",
                            len(cmd) == 3 and cmd[:2] == ["/bin/sh", "-c"], json.dumps(cmd)[:300]):
                ok_all = False
                continue
            script = cmd[2]
            paths = {mp: p.pod.host(mp) for mp in p.pod.mounts}
            if "/tmp" not in paths:
                paths["/tmp"] = p.pod.host("/tmp")
                os.makedirs(paths["/tmp"], exist_ok=True)
            tmp_mounted = any(mp == "/tmp" for mp in p.pod.mounts)
            st.check(f"{p.name}: the file the command writes (/tmp/worker-name.yaml) is on a volume (emptyDir /tmp; "
                     "the root file system is read-only)", tmp_mounted or "/tmp/" not in script,
                     f"mounts {sorted(p.pod.mounts)}")
            host_script = substitute(script, paths)
            # The files Synapse reads, as the script names them (for the override).
            files = [substitute(f, paths) for f in re.findall(r"--config-path\s+(\S+)", script)]
            # worker-name.yaml is written by the script: its content is known.
            name_file = files[-1] if files else ""
            os.makedirs(os.path.dirname(name_file) or ".", exist_ok=True)
            with open(name_file, "w", encoding="utf-8") as f:
                f.write(f"worker_name: {p.name}\n")
            override = self.override(p, files)
            os.unlink(name_file)  # the script writes it itself
            st.start(p, ["/bin/sh", "-c", host_script + f" --config-path {override}"],
                     st.env_for(env, p.pod.root), p.pod.root)
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        for p in st.workers:
            if p.proc is None:
                continue
            ok = self.wait_health(p, max(1.0, deadline - time.monotonic()))
            ok_all &= st.check(f"{p.name}: starts from its rendered command on {p.ip} and answers GET /health "
                               "(worker_name = the pod's name)",
                               ok and p.hs.get("worker_app") == "synapse.app.generic_worker",
                               f"{p.ready_after:.1f} s" if ok else f"exit {p.proc.poll()}\n{R.tail(p.log(), 30)}")
        return ok_all

    def wait_health(self, p: Proc, timeout: float) -> bool:
        port = 8008
        for item in (p.hs.get("worker_listeners") if p.kind != "main" else p.hs.get("listeners")) or []:
            if item.get("type") == "http" and "replication" not in [n for r_ in item.get("resources", [])
                                                                    for n in r_.get("names", [])]:
                port = item.get("port", port)
                break
        p.http_port = port  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and p.alive():
            status, _, raw = http("GET", f"http://{p.ip}:{port}/health", timeout=3)
            if status == 200:
                p.ready_after = time.monotonic() - p.started
                return True
            time.sleep(0.5)
        return False

    # ---- the router
    def start_router(self) -> bool:
        st, p = self.st, self.st.router
        laid = self.lay_out(ROUTER, "haproxy.cfg", "haproxy.cfg", p)
        if laid is None:
            return False
        dep, cm, container, pod = laid
        original = cm["data"]["haproxy.cfg"]
        names = sorted(st.names, key=len, reverse=True)
        text = re.sub("|".join(re.escape(n) for n in names), lambda m: st.names[m.group(0)], original)
        left = sorted(set(re.findall(r"[\w.-]+\.svc\.cluster\.local", text)))
        st.check("router: every server of haproxy.cfg is the DNS name of a rendered process", not left,
                 ", ".join(left))

        def bind(m: re.Match) -> str:
            port = re.search(r":(\d+)$", m.group(2))
            return f"{m.group(1)}{p.ip}:{port.group(1) if port else '8008'}"

        text = re.sub(r"^(\s*bind\s+)(\S+)", bind, text, flags=re.M)
        self.router_port = int((re.search(r"^\s*bind\s+\S+:(\d+)", text, re.M) or [None, 8008])[1])
        paths = {mp: pod.host(mp) for mp in pod.mounts}
        text = substitute(text, paths)
        cfg = find_file(pod.root, "haproxy.cfg")
        os.chmod(cfg, 0o644)
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = list(container.get("command", [])) + list(container.get("args", []))
        if not cmd:
            cmd = ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]  # the image's CMD
        cmd = [(pod.remap(a) or a) if a.startswith("/") else a for a in cmd]
        rc, out = R.run_cmd([c if c != "-db" else "-db" for c in cmd] + ["-c"], 30, pod.root, R.child_env())
        st.check("router: haproxy -c accepts the rendered haproxy.cfg (Debian's HAProxy "
                 f"{haproxy_version()})", rc == 0, R.tail(out) if rc != 0 else out.strip().splitlines()[-1][:200]
                 if out.strip() else "")
        resolv = os.path.join(st.work, "resolv.conf")
        with open(resolv, "w", encoding="utf-8") as f:
            f.write("nameserver 127.0.0.1\n")
        if os.geteuid() == 0 and shutil.which("unshare"):
            wrapper = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
            full = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", wrapper, "sh", resolv] + cmd
        else:
            st.check("router: runs as root (a mount namespace keeps its resolvers on loopback)", False,
                     "not root or no unshare")
            return False
        st.start(p, full, R.child_env(), pod.root)
        st.router_url = f"http://{p.ip}:{self.router_port}"
        deadline = time.monotonic() + ROUTER_START_TIMEOUT
        status = None
        while time.monotonic() < deadline and p.alive():
            status, _, _ = http("GET", st.router_url + "/_matrix/client/versions?mr_req=router-up", timeout=3)
            if status == 200:
                break
            time.sleep(0.5)
        return st.check(f"router: HAProxy runs the rendered command on {p.ip}:{self.router_port} and passes "
                        "/_matrix/client/versions", status == 200,
                        f"{time.monotonic() - p.started:.1f} s" if status == 200 else
                        f"status {status}, exit {p.proc.poll()}\n{R.tail(p.log())}")


def wait_tcp(ip: str, port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((ip, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def haproxy_version() -> str:
    try:
        out = subprocess.run(["haproxy", "-v"], capture_output=True, timeout=10).stdout.decode()
        return out.split()[2] if len(out.split()) > 2 else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# --------------------------------------------------------------------------
# Redis checks (raw RESP on a socket: the password never on a command line)


def resp(ip: str, port: int, *commands: list[str]) -> list:
    """Send commands in order on one connection; return each reply (str for a status or
    error, bytes for bulk, a list for arrays, int)."""
    with socket.create_connection((ip, port), timeout=5) as s:
        f = s.makefile("rb")
        out = []
        for cmd in commands:
            payload = f"*{len(cmd)}\r\n".encode() + b"".join(
                f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in cmd)
            s.sendall(payload)
            out.append(_read_reply(f))
        return out


def _read_reply(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    t, rest = line[:1], line[1:].rstrip(b"\r\n")
    if t in (b"+", b"-"):
        return t.decode() + rest.decode()
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if t == b"*":
        n = int(rest)
        return [_read_reply(f) for _ in range(max(n, 0))]
    raise OSError(f"unexpected reply {line!r}")


def socket_inodes(pid: int) -> set[str]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", link)
            if m:
                out.add(m.group(1))
    except OSError:
        pass
    return out


def tcp_inode(local: tuple[str, int], remote: tuple[str, int]) -> str | None:
    """The inode of the TCP socket with this local and remote address (/proc/net/tcp)."""
    def enc(ip: str, port: int) -> str:
        return "".join(f"{b:02X}" for b in reversed(socket.inet_aton(ip))) + f":{port:04X}"

    want_l, want_r = enc(*local), enc(*remote)
    with open("/proc/net/tcp", encoding="ascii") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want_l and parts[2] == want_r:
                return parts[9]
    return None


# --------------------------------------------------------------------------
# The requests through the router


class Client:
    def __init__(self, st: Stack):
        self.st = st

    def call(self, label: str, expect: str, method: str, path: str, body=None, token=None, raw=None,
             ctype="", timeout: float = R.HTTP_TIMEOUT, retry_503: bool = True, headers: dict | None = None):
        """A request through the router with a marker; recorded for the served-by table."""
        rq = Request(label, method, path, expect)
        sep = "&" if "?" in path else "?"
        url = f"{self.st.router_url}{path}{sep}mr_req={rq.marker}"
        deadline = time.monotonic() + 20
        while True:
            status, got, data = http(method, url, body, token, raw, ctype, timeout, headers)
            # 503: HAProxy has no server up for the backend yet (never reached Synapse).
            if status != 503 or not retry_503 or time.monotonic() > deadline:
                break
            time.sleep(1)
        rq.status = status
        with self.st.lock:
            self.st.requests.append(rq)
        return status, got, data, rq


def main_flow(ctx: R.Ctx, args, work: str, state: dict, claim: str | None) -> None:
    os.makedirs(work, exist_ok=True)
    st = Stack(ctx, args, work)
    res, fx = ctx.res, ctx.fixture
    fdir = os.path.join(args.fixtures_dir, FIXTURE)
    key_path = os.path.join(claim, f"{state.get('server_name')}.signing.key") if claim else ""
    extra: list[str] = []
    key_text = ""
    if key_path and os.path.isfile(key_path):
        with open(key_path, encoding="utf-8") as f:
            key_text = f.read().strip()
        extra = ["--set-string", f"synapse.signingKey={key_text}"]
    res.check(fx, "the one-process data volume holds the signing key <server_name>.signing.key", bool(key_text),
              key_path)
    t0 = time.monotonic()
    rc, data, err = render(args.cli, fdir, extra)
    shown = " ".join(extra[:1] + ["synapse.signingKey=<the key file>"]) if extra else ""
    if not res.check(fx, f"matrix-render render <render.args> {shown} --format json prints a List",
                     rc == 0 and isinstance(data, dict), f"{time.monotonic() - t0:.1f} s" if rc == 0 else
                     f"exit {rc}\n{R.tail(err.replace(key_text, '<key>') if key_text else err)}"):
        return
    values = R.fixture_values(fdir, R.render_args(fdir) + extra, args.python)
    rendered = R.Rendered(data["items"], values)
    if key_text:
        seed = key_text.split()[-1]
        where = [f"{it['kind']} {it['metadata']['name']}" for it in rendered.items
                 if seed in json.dumps(it) or base64.b64encode(key_text.encode()).decode() in json.dumps(it)]
        res.check(fx, "the signing key is in Secrets only", bool(where) and all(w.startswith("Secret ") for w in where),
                  ", ".join(where))
    run = Runner(st, rendered, values)
    if run.main_dep is None:
        res.check(fx, "the render has a Deployment running synapse.app.homeserver", False)
        return
    st.watchdog = threading.Timer(STACK_LIFETIME, st._expire)
    st.watchdog.daemon = True
    st.watchdog.start()
    if claim:
        st.claims[DATA_CLAIM] = claim
    timings: dict[str, float] = {}
    try:
        t = time.monotonic()
        if not run.plan() or not run.postgres():
            return
        timings["postgresql"] = time.monotonic() - t
        t = time.monotonic()
        migrated = run.port_db(claim, state)
        timings["synapse_port_db"] = time.monotonic() - t
        t = time.monotonic()
        if not run.start_redis():
            return
        redis_wrong_password(st, run)
        timings["redis"] = time.monotonic() - t
        t = time.monotonic()
        if not run.start_main():
            return
        timings["main"] = time.monotonic() - t
        t = time.monotonic()
        run.start_workers()
        timings["workers"] = time.monotonic() - t
        t = time.monotonic()
        if not run.start_router():
            return
        timings["router"] = time.monotonic() - t
        t = time.monotonic()
        checks_health(st)
        if migrated:
            checks_migrated(st, state, key_text)
            regenerate_directory(st, run)
        checks_requests(st, run)
        checks_redis_clients(st, run)
        time.sleep(1.0)  # the last access log lines
        served_by(st)
        timings["requests"] = time.monotonic() - t
    finally:
        t = time.monotonic()
        died = [p.name for p in st.procs if p.proc is not None and p.proc.poll() is not None]
        res.check(fx, "every process ran until the end (none exited on its own)", not died, ", ".join(died))
        report_logs(st)
        st.stop_processes()
        timings["stop"] = time.monotonic() - t
        if st.pg is not None and st.written.get("media"):
            t = time.monotonic()
            try:
                back_to_one(st, args, fdir, extra)
            except Exception:  # noqa: BLE001
                res.check(fx, "back to one process: checks ran to the end", False, traceback.format_exc())
            finally:
                st.stop()
            timings["back to one process"] = time.monotonic() - t
        st.stop()
        R.Results.info(fx, "times: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


def back_to_one(st: Stack, args, fdir: str, extra: list[str]) -> None:
    """The README's way back: workers off (PostgreSQL and the signing key kept), the main
    process alone on the same database and the same claim synapse-data: alice logs in on it,
    reads her message and downloads the file the media worker stored on the claim."""
    more = extra + ["--set", "synapse.workers.enabled=false"]
    rc, data, err = render(args.cli, fdir, more)
    if not st.check("back to one process: the values with synapse.workers.enabled=false render", rc == 0 and
                    isinstance(data, dict), "" if rc == 0 else f"exit {rc}\n{R.tail(err)}"):
        return
    rendered = R.Rendered(data["items"], R.fixture_values(fdir, R.render_args(fdir) + more, args.python))
    sts = [x["metadata"]["name"] for x in rendered.of_kind("StatefulSet")]
    st.check("back to one process: no worker StatefulSet, no router, no Redis",
             not sts and rendered.get("Deployment", ROUTER) is None and rendered.get("Deployment", REDIS) is None,
             f"StatefulSets {sts}")
    run = Runner(st, rendered, {})
    p = Proc("synapse-one-process", "main", st.addr.take(), st.work)
    st.procs.append(p)
    if not bindable(p.ip, 8008):
        st.check(f"back to one process: {p.ip}:8008 is free", False)
        return
    setup = run.synapse_setup(p, run.main_dep, run.main_container, p.name)
    if setup is None:
        return
    cmd, env = setup
    mounts = {m["mountPath"]: m["name"] for m in run.main_container.get("volumeMounts", [])}
    vols = {v["name"]: v for v in run.main_dep["spec"]["template"]["spec"].get("volumes", [])}
    claim = next((mp for mp, n in mounts.items()
                  if (vols.get(n, {}).get("persistentVolumeClaim") or {}).get("claimName") == DATA_CLAIM), None)
    st.check(f"back to one process: the main process mounts the claim {DATA_CLAIM} again", claim == "/data",
             f"{claim}")
    files, argv = [], []
    for i, a in enumerate(cmd):
        if i > 0 and cmd[i - 1] in ("-c", "--config-path"):
            files.append(p.pod.remap(a) or p.pod.host(a))
            argv.append(files[-1])
        else:
            argv.append(st.ctx.python if a == "python" else a)
    override = run.override(p, files)
    st.start(p, argv + ["--config-path", override], st.env_for(env, p.pod.root), p.pod.root)
    ok = run.wait_health(p, MAIN_START_TIMEOUT)
    if not st.check(f"back to one process: Synapse alone starts on the database and the claim ({p.ip})", ok,
                    f"{p.ready_after:.1f} s" if ok else f"exit {p.proc.poll()}\n{R.tail(p.log(), 30)}"):
        return
    url = f"http://{p.ip}:{p.http_port}"  # type: ignore[attr-defined]
    w = st.written
    token, _, status = login(url, "alice", w["alice"]["password"])
    if not st.check("back to one process: alice logs in", bool(token), f"status {status}"):
        return
    status, _, raw = http("GET", f"{url}/_matrix/client/v3/rooms/{q(w['room'])}/messages?dir=b&limit=50", token=token)
    bodies = [e.get("content", {}).get("body") for e in (R.as_json(raw) or {}).get("chunk", [])]
    st.check("back to one process: alice reads the message sent through the workers", status == 200 and
             w["message"] in bodies, f"status {status}")
    server, media_id = w["mxc"][len("mxc://"):].split("/", 1)
    status, _, raw = http("GET", f"{url}/_matrix/client/v1/media/download/{server}/{media_id}", token=token)
    st.check(f"back to one process: the file the media worker stored on {DATA_CLAIM} downloads, byte for byte",
             status == 200 and raw == w["media"], f"status {status}, {len(raw)} bytes")


def redis_wrong_password(st: Stack, run: Runner) -> None:
    ip, port = st.redis.ip, run.redis_port
    try:
        r = resp(ip, port, ["PING"], ["AUTH", "wrong-" + secrets.token_hex(6)], ["PING"])
    except OSError as e:
        r = [str(e)]
    st.check("redis: without the password PING is refused (NOAUTH), a wrong password is refused (WRONGPASS) "
             "and leaves the connection unauthenticated",
             len(r) == 3 and str(r[0]).startswith("-NOAUTH") and str(r[1]).startswith("-WRONGPASS")
             and str(r[2]).startswith("-NOAUTH"), json.dumps([str(x)[:80] for x in r]))
    try:
        r = resp(ip, port, ["AUTH", st.redis_password], ["PING"])
    except OSError as e:
        r = [str(e)]
    st.check("redis: the rendered password (Secret) is accepted", r[:2] == ["+OK", "+PONG"], json.dumps(
        [str(x)[:80] for x in r]))


def checks_health(st: Stack) -> None:
    for p in st.synapse_procs():
        port = getattr(p, "http_port", 8008)
        status, _, raw = http("GET", f"http://{p.ip}:{port}/health", timeout=5)
        st.check(f"{p.name}: GET /health on its own address {p.ip}:{port} is 200 OK",
                 status == 200 and raw.strip() == b"OK", f"status {status}, {raw[:60]!r}")
    for lst in (st.main.hs.get("listeners") or []):
        names = [n for r_ in lst.get("resources", []) for n in r_.get("names", [])]
        if "replication" in names:
            status, _, _ = http("GET", f"http://{st.main.ip}:{lst['port']}/health", timeout=5)
            st.check(f"synapse main: the replication listener {lst['port']} answers /health", status == 200,
                     f"status {status}")


def checks_migrated(st: Stack, state: dict, key_text: str) -> None:
    c = Client(st)
    user = state["user"]
    status, _, raw, _ = c.call("login-olivia", "client-reader", "POST", "/_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
        "password": state["password"]})
    token = (R.as_json(raw) or {}).get("access_token")
    if not st.check(f"migrated: {user} (registered on SQLite) logs in through the router", status == 200 and
                    bool(token), f"status {status}, {raw[:200]!r}"):
        return
    room = state.get("room_id") or ""
    status, _, raw, _ = c.call("messages-olivia", "client-reader", "GET",
                               f"/_matrix/client/v3/rooms/{q(room)}/messages?dir=b&limit=50", token=token)
    bodies = [e.get("content", {}).get("body") for e in (R.as_json(raw) or {}).get("chunk", [])]
    st.check(f"migrated: {user} reads the message sent on SQLite back through the router (/messages)",
             status == 200 and state["message"] in bodies, f"status {status}, bodies {bodies}")
    if state.get("mxc"):
        server, media_id = state["mxc"][len("mxc://"):].split("/", 1)
        status, _, raw, _ = c.call("download-olivia", "media-repository", "GET",
                                   f"/_matrix/client/v1/media/download/{server}/{media_id}", token=token)
        st.check(f"migrated: {user} downloads the file uploaded on one process (the media worker serves "
                 f"the claim {DATA_CLAIM})", status == 200 and raw == state["media"],
                 f"status {status}, {len(raw)} bytes")
    if key_text:
        code = ("import sys, json\nfrom signedjson.key import decode_signing_key_base64, get_verify_key, "
                "encode_verify_key_base64\nalg, ver, seed = sys.argv[1].split()\n"
                "k = decode_signing_key_base64(alg, ver, seed)\n"
                "print(json.dumps({f'{alg}:{ver}': encode_verify_key_base64(get_verify_key(k))}))\n")
        rc, out = R.run_cmd([st.ctx.python, "-c", code, key_text], 60, st.work, R.child_env())
        want = R.as_json(out.strip().splitlines()[-1].encode()) if rc == 0 and out.strip() else None
        status, _, raw, _ = c.call("server-key", "main", "GET", "/_matrix/key/v2/server")
        served = {k: (v or {}).get("key") for k, v in ((R.as_json(raw) or {}).get("verify_keys") or {}).items()}
        st.check("migrated: /_matrix/key/v2/server (through the router) serves the key of the one-process data "
                 "volume (copied into synapse.signingKey)", status == 200 and bool(want) and served == want,
                 f"served {served}, volume {want}")


def regenerate_directory(st: Stack, run: "Runner") -> None:
    """The README's step after the move: synapse_port_db leaves the user directory to be
    rebuilt (its stream position NULL: the user directory process waits for a rebuild that
    nothing starts); an admin starts the `regenerate_directory` job (admin API, main
    process) and the background-tasks process runs it."""
    c = Client(st)
    name, shared = run.r.secret_value("REGISTRATION_SHARED_SECRET")
    pw = secrets.token_urlsafe(18)
    rc, out = R.run_cmd([st.ctx.register_cmd, f"--shared-secret={(shared or b'').decode()}", "-u", "root",
                         f"--password={pw}", "--admin", f"http://{st.main.ip}:{getattr(st.main, 'http_port', 8008)}"],
                        R.REGISTER_TIMEOUT, st.work, R.child_env())
    if not st.check("register_new_matrix_user --admin -u root against main exits 0", rc == 0,
                    f"exit {rc}\n{R.tail(out.replace(pw, '<pw>'))}" if rc != 0 else ""):
        return
    status, _, raw, _ = c.call("login-root", "client-reader", "POST", "/_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "root"}, "password": pw})
    token = (R.as_json(raw) or {}).get("access_token")
    if not st.check("root (admin) logs in through the router", status == 200 and bool(token), f"status {status}"):
        return
    status, _, raw, _ = c.call("regenerate-directory", "main", "POST",
                               "/_synapse/admin/v1/background_updates/start_job",
                               {"job_name": "regenerate_directory"}, token)
    if not st.check("the admin starts the job regenerate_directory (the README's step after synapse_port_db)",
                    status == 200, f"status {status}, {raw[:200]!r}"):
        return
    # As the README says: the rebuild is done when no background update is left (the rebuild
    # takes a snapshot of the users: those registered while it runs may be left out).
    lg = st.pg_login
    t0 = time.monotonic()
    left = "?"
    while time.monotonic() - t0 < BACKGROUND_UPDATES_TIMEOUT:
        rc, out = st.pg.query_as(lg["user"], lg["password"], lg["dbname"], "SELECT count(*) FROM background_updates")
        left = out.strip() if rc == 0 else f"exit {rc}"
        if left == "0":
            break
        time.sleep(1)
    st.check("the user directory rebuild finishes (no background update left)", left == "0",
             f"{time.monotonic() - t0:.1f} s" if left == "0" else f"{left} left")


class SyncWaiter:
    """/sync long-polls through the router in a thread (served by the synchrotron), one after
    the other from the last next_batch, until one holds what `pred` looks for or
    SYNC_TIMEOUT_MS has passed (a long-poll also returns early for other news, such as
    presence)."""

    def __init__(self, c: Client, label: str, token: str, since: str, pred):
        self.c, self.label, self.token, self.since, self.pred = c, label, token, since, pred
        self.body: dict = {}
        self.ok = False
        self.took = 0.0
        self.polls = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        deadline = t0 + SYNC_TIMEOUT_MS / 1000
        since = self.since
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            self.polls += 1
            status, _, raw, _ = self.c.call(f"{self.label}-{self.polls}", "synchrotron", "GET",
                                            f"/_matrix/client/v3/sync?since={q(since)}&timeout={left_ms}",
                                            token=self.token, timeout=left_ms / 1000 + 15)
            body = R.as_json(raw) or {} if status == 200 else {}
            if not body.get("next_batch"):
                break
            self.body, since = body, body["next_batch"]
            if self.pred(body):
                self.ok = True
                break
        self.took = time.monotonic() - t0

    def start(self) -> "SyncWaiter":
        self.thread.start()
        time.sleep(0.7)  # the long-poll is waiting on the synchrotron
        return self

    def join(self) -> None:
        self.thread.join(SYNC_TIMEOUT_MS / 1000 + 20)


def checks_requests(st: Stack, run: Runner) -> None:
    c = Client(st)
    server = str(st.hs.get("server_name"))
    name, shared = run.r.secret_value("REGISTRATION_SHARED_SECRET")
    users: dict[str, dict] = {}
    for user in ("alice", "bob"):
        pw = secrets.token_urlsafe(18)
        rc, out = R.run_cmd([st.ctx.register_cmd, f"--shared-secret={(shared or b'').decode()}", "-u", user,
                             f"--password={pw}", "--no-admin", f"http://{st.main.ip}:{st.main.http_port}"],
                            R.REGISTER_TIMEOUT, st.work, R.child_env())
        if not st.check(f"register_new_matrix_user -u {user} against main ({st.main.ip}) exits 0", rc == 0,
                        f"exit {rc}\n{R.tail(out.replace(pw, '<pw>'))}" if rc != 0 else ""):
            return
        status, _, raw, _ = c.call(f"login-{user}", "client-reader", "POST", "/_matrix/client/v3/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": pw})
        body = R.as_json(raw) or {}
        if not st.check(f"{user} logs in through the router", status == 200 and bool(body.get("access_token")),
                        f"status {status}, {raw[:200]!r}"):
            return
        users[user] = {"token": body["access_token"], "device": body.get("device_id"), "id": f"@{user}:{server}",
                       "password": pw}
    a, b = users["alice"], users["bob"]
    st.written["alice"] = a

    status, _, raw, _ = c.call("versions", "client-reader", "GET", "/_matrix/client/versions")
    st.check("GET /_matrix/client/versions through the router", status == 200, f"status {status}")
    status, _, raw, _ = c.call("whoami", "client-reader", "GET", "/_matrix/client/v3/account/whoami", token=a["token"])
    st.check("alice: /account/whoami is alice", status == 200 and (R.as_json(raw) or {}).get("user_id") == a["id"],
             f"status {status}, {raw[:200]!r}")
    status, _, raw, _ = c.call("createRoom", "client-reader", "POST", "/_matrix/client/v3/createRoom",
                               {"name": "workers", "preset": "public_chat"}, a["token"])
    room = (R.as_json(raw) or {}).get("room_id")
    if not st.check("alice creates a public room", status == 200 and bool(room), f"status {status}, {raw[:200]!r}"):
        return
    status, _, raw, _ = c.call("join", "event-creator", "POST", f"/_matrix/client/v3/join/{q(room)}", {}, b["token"])
    st.check("bob joins the room", status == 200, f"status {status}, {raw[:200]!r}")

    # bob's initial sync (synchrotron)
    status, _, raw, _ = c.call("sync-initial", "synchrotron", "GET", "/_matrix/client/v3/sync?timeout=0",
                               token=b["token"], timeout=60)
    body = R.as_json(raw) or {}
    st.check("bob: initial /sync has the room", status == 200 and room in (body.get("rooms") or {}).get("join", {}),
             f"status {status}")
    b["since"] = body.get("next_batch", "")
    status, _, raw, _ = c.call("sync-initial-alice", "synchrotron", "GET", "/_matrix/client/v3/sync?timeout=0",
                               token=a["token"], timeout=60)
    a["since"] = (R.as_json(raw) or {}).get("next_batch", "")

    def wake(label: str, who: dict, write, pred, what: str) -> None:
        """Long-polls of `who` on the synchrotron, then `write` on another process: a sync
        must hold it well before SYNC_TIMEOUT_MS (only replication tells the synchrotron)."""
        w = SyncWaiter(c, label, who["token"], who.get("since", ""), pred).start()
        write()
        w.join()
        if w.body.get("next_batch"):
            who["since"] = w.body["next_batch"]
        st.check(f"replication: {what} reaches a /sync long-poll on the synchrotron", w.ok,
                 f"after {w.took:.1f} s, {w.polls} long-poll(s)" + ("" if w.ok else f", last {json.dumps(w.body)[:300]}"))

    def timeline(got: dict) -> list[dict]:
        return ((got.get("rooms") or {}).get("join", {}).get(room, {}).get("timeline") or {}).get("events", [])

    def ephemeral(got: dict, typ: str) -> list[dict]:
        return [e for e in ((got.get("rooms") or {}).get("join", {}).get(room, {}).get("ephemeral") or {})
                .get("events", []) if e.get("type") == typ]

    # a message through the event creator, persisted by an event persister
    msg = f"hello workers {secrets.token_hex(4)}"
    sent: dict = {}

    def send_message() -> None:
        status, _, raw, _ = c.call("send", "event-creator", "PUT",
                                   f"/_matrix/client/v3/rooms/{q(room)}/send/m.room.message/{secrets.token_hex(6)}",
                                   {"msgtype": "m.text", "body": msg}, a["token"])
        sent["event_id"] = (R.as_json(raw) or {}).get("event_id")
        st.check("alice sends a message (event creator)", status == 200 and bool(sent["event_id"]),
                 f"status {status}, {raw[:200]!r}")

    wake("sync-message", b, send_message, lambda g: any(e.get("content", {}).get("body") == msg for e in timeline(g)),
         "alice's message (event creator -> event persister)")
    status, _, raw, _ = c.call("messages", "client-reader", "GET",
                               f"/_matrix/client/v3/rooms/{q(room)}/messages?dir=b&limit=20", token=b["token"])
    bodies = [e.get("content", {}).get("body") for e in (R.as_json(raw) or {}).get("chunk", [])]
    st.check("bob reads the message with /messages (client reader)", status == 200 and msg in bodies,
             f"status {status}, {bodies}")
    st.written.update(room=room, message=msg)
    status, _, raw, _ = c.call("sliding-sync", "synchrotron", "POST",
                               "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?timeout=0",
                               {"lists": {"all": {"ranges": [[0, 10]], "timeline_limit": 5,
                                                  "required_state": [["m.room.name", ""]]}}}, b["token"])
    body = R.as_json(raw) or {}
    st.check("bob: sliding sync (org.matrix.simplified_msc3575) lists the room with the message",
             status == 200 and room in (body.get("rooms") or {}) and any(
                 e.get("content", {}).get("body") == msg for e in (body.get("rooms") or {}).get(room, {})
                 .get("timeline", [])), f"status {status}, {raw[:300]!r}")

    # media
    blob = secrets.token_bytes(3000)
    status, _, raw, _ = c.call("upload", "media-repository", "POST", "/_matrix/media/v3/upload?filename=w.bin",
                               token=a["token"], raw=blob, ctype="application/octet-stream")
    mxc = (R.as_json(raw) or {}).get("content_uri") or ""
    st.written.update(mxc=mxc, media=blob)
    st.check("alice uploads a file", status == 200 and mxc.startswith("mxc://"), f"status {status}, {raw[:200]!r}")
    if mxc:
        srv, media_id = mxc[len("mxc://"):].split("/", 1)
        status, _, raw, _ = c.call("download", "media-repository", "GET",
                                   f"/_matrix/client/v1/media/download/{srv}/{media_id}", token=b["token"])
        st.check("bob downloads the file, byte for byte", status == 200 and raw == blob,
                 f"status {status}, {len(raw)} bytes")
        media_proc = next((p for p in st.workers if p.kind == "media-repository"), None)
        stored = [os.path.join(d, f) for d, _ds, fs in os.walk(st.claims.get(DATA_CLAIM, "/nonexistent"))
                  for f in fs if media_id[2:] in f or f == media_id[4:]]
        in_main = [os.path.join(d, f) for d, _ds, fs in os.walk(st.main.pod.root) for f in fs if media_id[4:] in f]
        st.check(f"the file is stored on the claim {DATA_CLAIM} (the media worker's /data), not in main's pod",
                 media_proc is not None and bool(stored) and not in_main, f"claim: {stored[:2]}, main: {in_main[:2]}")

    # typing (typing writer)
    def typing() -> None:
        status, _, raw, _ = c.call("typing", "typing", "PUT",
                                   f"/_matrix/client/v3/rooms/{q(room)}/typing/{q(a['id'])}",
                                   {"typing": True, "timeout": 20000}, a["token"])
        st.check("alice is typing (typing writer)", status == 200, f"status {status}, {raw[:200]!r}")

    wake("sync-typing", b, typing, lambda g: any(a["id"] in (e.get("content") or {}).get("user_ids", [])
                                                 for e in ephemeral(g, "m.typing")), "alice's typing notification")

    # receipts (receipts writer)
    def receipt() -> None:
        status, _, raw, _ = c.call("receipt", "receipts", "POST",
                                   f"/_matrix/client/v3/rooms/{q(room)}/receipt/m.read/{q(sent.get('event_id') or '')}",
                                   {}, b["token"])
        st.check("bob sends a read receipt (receipts writer)", status == 200, f"status {status}, {raw[:200]!r}")

    wake("sync-receipt", a, receipt, lambda g: any(sent.get("event_id") in (e.get("content") or {})
                                                   for e in ephemeral(g, "m.receipt")), "bob's read receipt")

    # presence (presence writer)
    status_msg = f"busy {secrets.token_hex(3)}"

    def presence() -> None:
        status, _, raw, _ = c.call("presence-set", "presence", "PUT",
                                   f"/_matrix/client/v3/presence/{q(a['id'])}/status",
                                   {"presence": "online", "status_msg": status_msg}, a["token"])
        st.check("alice sets her presence (presence writer)", status == 200, f"status {status}, {raw[:200]!r}")

    wake("sync-presence", b, presence, lambda g: any(e.get("sender") == a["id"] and (e.get("content") or {})
                                                     .get("status_msg") == status_msg
                                                     for e in (g.get("presence") or {}).get("events", [])),
         "alice's presence")
    status, _, raw, _ = c.call("presence-get", "presence", "GET", f"/_matrix/client/v3/presence/{q(a['id'])}/status",
                               token=b["token"])
    st.check("bob reads alice's presence", status == 200 and (R.as_json(raw) or {}).get("status_msg") == status_msg,
             f"status {status}, {raw[:200]!r}")

    # account data and tags (account_data writer)
    adt = "org.example.workers"
    adv = {"marker": secrets.token_hex(4)}

    def account_data() -> None:
        status, _, raw, _ = c.call("account-data-set", "account-data", "PUT",
                                   f"/_matrix/client/v3/user/{q(a['id'])}/account_data/{adt}", adv, a["token"])
        st.check("alice writes account data (account_data writer)", status == 200, f"status {status}, {raw[:200]!r}")

    wake("sync-account-data", a, account_data, lambda g: any(e.get("type") == adt and e.get("content") == adv
                                                             for e in (g.get("account_data") or {}).get("events", [])),
         "alice's account data")
    status, _, raw, _ = c.call("account-data-get", "account-data", "GET",
                               f"/_matrix/client/v3/user/{q(a['id'])}/account_data/{adt}", token=a["token"])
    st.check("alice reads her account data back", status == 200 and R.as_json(raw) == adv, f"status {status}")
    status, _, raw, _ = c.call("tag", "account-data", "PUT",
                               f"/_matrix/client/v3/user/{q(a['id'])}/rooms/{q(room)}/tags/u.workers",
                               {"order": 0.5}, a["token"])
    st.check("alice tags the room (account_data writer)", status == 200, f"status {status}, {raw[:200]!r}")

    # push rules (push_rules writer)
    rule = f"workers{secrets.token_hex(3)}"

    def push_rule() -> None:
        status, _, raw, _ = c.call("pushrule-set", "push-rules", "PUT",
                                   f"/_matrix/client/v3/pushrules/global/override/{rule}",
                                   {"conditions": [{"kind": "event_match", "key": "content.body",
                                                    "pattern": "never-" + rule}], "actions": []}, a["token"])
        st.check("alice adds a push rule (push_rules writer)", status == 200, f"status {status}, {raw[:200]!r}")

    wake("sync-pushrule", a, push_rule, lambda g: any(
        e.get("type") == "m.push_rules" and rule in json.dumps(e.get("content"))
        for e in (g.get("account_data") or {}).get("events", [])), "alice's push rule")
    status, _, raw, _ = c.call("pushrules-get", "push-rules", "GET", "/_matrix/client/v3/pushrules/",
                               token=a["token"])
    st.check("alice reads her push rules back", status == 200 and rule in raw.decode("utf-8", "replace"),
             f"status {status}")

    # to-device (to_device writer)
    td = {"marker": secrets.token_hex(4)}
    td_rows: list[str] = []

    def to_device() -> None:
        status, _, raw, _ = c.call("to-device", "to-device", "PUT",
                                   f"/_matrix/client/v3/sendToDevice/org.example.workers/{secrets.token_hex(6)}",
                                   {"messages": {b["id"]: {b["device"]: td}}}, a["token"])
        st.check("alice sends a to-device message to bob's device (to_device writer)", status == 200,
                 f"status {status}, {raw[:200]!r}")
        # The row goes once bob's next sync acknowledges it: read its writer now.
        if st.pg_login:
            lg = st.pg_login
            rc, out = st.pg.query_as(lg["user"], lg["password"], lg["dbname"],
                                     f"SELECT instance_name FROM device_inbox WHERE user_id = {R.sql_literal(b['id'])} "
                                     f"AND message_json LIKE {R.sql_literal('%' + td['marker'] + '%')}")
            td_rows.extend(out.strip().splitlines() if rc == 0 else [f"<exit {rc}>"])

    wake("sync-to-device", b, to_device, lambda g: any(e.get("content") == td for e in (g.get("to_device") or {})
                                                       .get("events", [])), "alice's to-device message")

    # device lists: device rename and keys upload (device_lists writer)
    status, _, raw, _ = c.call("device-rename", "device-lists", "PUT",
                               f"/_matrix/client/v3/devices/{q(a['device'] or '')}",
                               {"display_name": "workers test"}, a["token"])
    st.check("alice renames her device (device_lists writer)", status == 200, f"status {status}, {raw[:200]!r}")
    ed_key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")

    def keys_upload() -> None:
        dk = {"user_id": a["id"], "device_id": a["device"], "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
              "keys": {f"ed25519:{a['device']}": ed_key, f"curve25519:{a['device']}": ed_key},
              "signatures": {a["id"]: {f"ed25519:{a['device']}": "x" * 86}}}
        status, _, raw, _ = c.call("keys-upload", "device-lists", "POST", "/_matrix/client/v3/keys/upload",
                                   {"device_keys": dk}, a["token"])
        st.check("alice uploads her device keys (device_lists writer)", status == 200, f"status {status}, "
                                                                                       f"{raw[:200]!r}")

    wake("sync-device-list", b, keys_upload, lambda g: a["id"] in (g.get("device_lists") or {}).get("changed", []),
         "alice's device list change")
    status, _, raw, _ = c.call("keys-query", "client-reader", "POST", "/_matrix/client/v3/keys/query",
                               {"device_keys": {a["id"]: []}}, b["token"])
    got = (((R.as_json(raw) or {}).get("device_keys") or {}).get(a["id"]) or {}).get(a["device"] or "", {})
    st.check("bob queries alice's keys (client reader): the uploaded key", status == 200 and
             (got.get("keys") or {}).get(f"ed25519:{a['device']}") == ed_key, f"status {status}, {raw[:200]!r}")

    # user directory (user directory worker)
    deadline = time.monotonic() + POLL_TIMEOUT
    found = False
    n = 0
    while time.monotonic() < deadline and not found:
        n += 1
        status, _, raw, _ = c.call(f"user-directory-{n}", "user-directory", "POST",
                                   "/_matrix/client/v3/user_directory/search", {"search_term": "alice"}, b["token"])
        found = status == 200 and any(u.get("user_id") == a["id"] for u in (R.as_json(raw) or {}).get("results", []))
        if not found:
            if status != 200:
                break
            time.sleep(1)
    st.check("bob finds alice in the user directory (user directory worker)", found,
             f"{n} searches, last status {status}, {raw[:200]!r}")

    # federation (federation reader) and the rest (main)
    status, _, raw, _ = c.call("federation-version", "federation-reader", "GET", "/_matrix/federation/v1/version")
    st.check("GET /_matrix/federation/v1/version names Synapse", status == 200 and b"Synapse" in raw,
             f"status {status}, {raw[:200]!r}")
    # Inbound federation transactions, sticky per origin server (the router hashes the
    # X-Matrix origin): three transactions from each of two origins. The header has no `sig`,
    # so the process that gets one refuses it as malformed (400) before fetching any key.
    server_name = str(st.hs.get("server_name"))
    for origin in ("remote-a.example", "remote-b.example"):
        for _ in range(3):
            auth = f'X-Matrix origin="{origin}",destination="{server_name}",key="ed25519:a"'
            status, _, raw, _ = c.call(f"federation-send-{origin.split('.')[0]}", "federation-reader", "PUT",
                                       f"/_matrix/federation/v1/send/{secrets.token_hex(6)}",
                                       {"pdus": [], "edus": []}, headers={"Authorization": auth})
            st.check(f"PUT /_matrix/federation/v1/send from {origin} without a signature is refused (400)",
                     status == 400, f"status {status}, {raw[:200]!r}")
    status, _, raw, _ = c.call("thirdparty", "main", "GET", "/_matrix/client/v3/thirdparty/protocols",
                               token=a["token"])
    st.check("GET /thirdparty/protocols (no worker serves it)", status == 200, f"status {status}, {raw[:200]!r}")
    # /health is answered without an access log line: the router's own log tells where it went.
    status, _, raw = http("GET", st.router_url + "/health")
    st.check("GET /health through the router is 200 OK", status == 200 and raw.strip() == b"OK", f"status {status}")

    checks_writers(st, room, sent.get("event_id"), a, b, adt, rule, status_msg)
    want = (st.hs.get("stream_writers") or {}).get("to_device") or []
    st.check(f"stream writer: device_inbox (bob's to-device message, read before his next sync).instance_name "
             f"is a to_device writer {want}", bool(td_rows) and all(r in want for r in td_rows),
             f"instance_name {td_rows}")


def checks_writers(st: Stack, room: str, event_id: str | None, a: dict, b: dict, adt: str, rule: str,
                   status_msg: str) -> None:
    """Each write's row names its stream writer (instance_name)."""
    hs = st.hs
    writers = hs.get("stream_writers") or {}

    def names(stream: str) -> list[str]:
        w = writers.get(stream) or []
        return w if isinstance(w, list) else [w]

    login_ = st.pg_login
    if login_ is None:
        return

    def one(sql: str) -> list[str]:
        rc, out = st.pg.query_as(login_["user"], login_["password"], login_["dbname"], sql)
        return out.strip().splitlines() if rc == 0 else [f"<exit {rc}: {out.strip()[:200]}>"]

    L = R.sql_literal
    rows = one(f"SELECT DISTINCT instance_name FROM events WHERE room_id = {L(room)}")
    st.check(f"events of the room are persisted by ONE event persister of stream_writers.events {names('events')} "
             "(events.instance_name; rooms are sharded between persisters)",
             len(rows) == 1 and rows[0] in names("events"), f"instance_name {rows}")
    if event_id:
        rows_e = one(f"SELECT instance_name FROM events WHERE event_id = {L(event_id)}")
        persister = rows_e[0] if rows_e else ""
        p = next((x for x in st.workers if x.name == persister), None)
        log = p.log() if p else ""
        st.check(f"the event persister {persister} logged the replication request send_events (on its replication "
                 "listener)", p is not None and re.search(r"synapse\.access\.http\.\d+ .*\"POST "
                                                          r"/_synapse/replication/send_events/", log) is not None,
                 persister)
    for label, stream, sql in (
        ("receipts_linearized (bob's receipt)", "receipts",
         f"SELECT instance_name FROM receipts_linearized WHERE room_id = {L(room)} AND user_id = {L(b['id'])}"),
        ("presence_stream (alice)", "presence",
         f"SELECT instance_name FROM presence_stream WHERE user_id = {L(a['id'])} AND status_msg = {L(status_msg)}"),
        ("push_rules_stream (alice's rule)", "push_rules",
         f"SELECT DISTINCT instance_name FROM push_rules_stream WHERE user_id = {L(a['id'])} "
         f"AND rule_id LIKE {L('%' + rule)}"),
        ("device_lists_stream (alice's device)", "device_lists",
         f"SELECT DISTINCT instance_name FROM device_lists_stream WHERE user_id = {L(a['id'])} "
         f"AND device_id = {L(a['device'] or '')}"),
    ):
        rows = one(sql)
        want = names(stream)
        st.check(f"stream writer: {label}.instance_name is a {stream} writer {want}",
                 bool(rows) and all(r in want for r in rows), f"instance_name {rows}")
    # account data and tags leave instance_name empty: the writer's own position in
    # stream_positions (written after each write, in the background) covers the row.
    for label, sql in (
        ("account_data (alice's)",
         f"SELECT stream_id FROM account_data WHERE user_id = {L(a['id'])} AND account_data_type = {L(adt)}"),
        ("room_tags_revisions (alice's tag)",
         f"SELECT stream_id FROM room_tags_revisions WHERE user_id = {L(a['id'])} AND room_id = {L(room)}"),
    ):
        want = names("account_data")
        deadline = time.monotonic() + 10
        while True:
            rows = one(f"SELECT instance_name FROM stream_positions WHERE stream_name = 'account_data' "
                       f"AND stream_id >= ({sql})")
            if (rows and all(r in want for r in rows)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        st.check(f"stream writer: {label} is within the account_data position of {want} (stream_positions)",
                 bool(rows) and all(r in want for r in rows), f"writers at or past the row: {rows}")


def checks_redis_clients(st: Stack, run: Runner) -> None:
    """Every Synapse process has a subscribed connection to Redis (authenticated)."""
    try:
        r = resp(st.redis.ip, run.redis_port, ["AUTH", st.redis_password], ["CLIENT", "LIST"],
                 ["PUBSUB", "CHANNELS"], ["PUBSUB", "NUMSUB", str(st.hs.get("server_name"))])
    except OSError as e:
        st.check("redis: CLIENT LIST and PUBSUB answer", False, str(e))
        return
    clients = (r[1] or b"").decode("utf-8", "replace").splitlines() if isinstance(r[1], bytes) else []
    channels = sorted(x.decode() for x in r[2]) if isinstance(r[2], list) else []
    numsub = r[3][1] if isinstance(r[3], list) and len(r[3]) == 2 else None
    procs = st.synapse_procs()
    inodes = {p.name: socket_inodes(p.proc.pid) for p in procs if p.proc}
    per: dict[str, int] = {p.name: 0 for p in procs}
    for line in clients:
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if int(f.get("sub", "0") or 0) < 1:
            continue
        host, _, port = f.get("addr", "").rpartition(":")
        lhost, _, lport = f.get("laddr", "").rpartition(":")
        try:
            inode = tcp_inode((host, int(port)), (lhost, int(lport)))
        except (ValueError, OSError):
            inode = None
        for name, ins in inodes.items():
            if inode and inode in ins:
                per[name] += 1
    missing = [n for n, k in per.items() if k < 1]
    st.check(f"redis: CLIENT LIST has a subscribed (so authenticated) connection of EVERY Synapse process "
             f"({len(procs)}, each found by its socket in /proc/<pid>/fd)", not missing,
             f"missing: {missing}" if missing else f"{sum(per.values())} subscribed connections")
    st.check(f"redis: PUBSUB NUMSUB {st.hs.get('server_name')} counts every process", numsub == len(procs),
             f"{numsub} subscribers of {len(procs)}; channels {channels}")


def served_by(st: Stack) -> None:
    logs = {p.name: p.log() for p in st.synapse_procs()}
    hap = st.router.log() if st.router else ""
    access = re.compile(r"synapse\.access\.http\.\d+")
    rows: list[tuple] = []
    for rq in st.requests:
        rq.served = [n for n, text in logs.items()
                     if any(rq.marker in line and access.search(line) for line in text.splitlines()
                            if rq.marker in line)]
        m = next((re.search(r" (\S+)/(\S+) -?\d+/-?\d+/-?\d+/-?\d+/-?\d+ ", line) for line in hap.splitlines()
                  if rq.marker in line), None)
        rq.haproxy = f"{m.group(1)}/{m.group(2)}" if m else "?"
    kinds = {p.name: p.kind for p in st.synapse_procs()}
    by_label: dict[str, list[Request]] = {}
    for rq in st.requests:
        if not rq.label.startswith("router-up"):
            by_label.setdefault(re.sub(r"-\d+$", "", rq.label), []).append(rq)
    for label, rqs in by_label.items():
        bad = []
        for rq in rqs:
            who = rq.served
            server = rq.haproxy.split("/")[-1]
            if len(who) != 1 or kinds.get(who[0]) != rq.expect or server != who[0] and not (
                    server == "main" and who[0] == MAIN):
                bad.append(f"{rq.marker}: {', '.join(who) or 'no process logged it'} (HAProxy {rq.haproxy}, "
                           f"status {rq.status})")
        procs = sorted({w for rq in rqs for w in rq.served})
        servers = sorted({rq.haproxy for rq in rqs})
        rq = rqs[0]
        n = f" x{len(rqs)}" if len(rqs) > 1 else ""
        st.check(f"served by: {rq.method} {shorten(rq.path)} ({label}{n}) -> {rq.expect}", not bad,
                 "; ".join(bad[:3]) if bad else ", ".join(procs))
        rows.append((label + n, f"{rq.method} {shorten(rq.path)}", ",".join(sorted({str(r.status) for r in rqs})),
                     ", ".join(procs) or "-", ", ".join(servers)))
    # Sticky per origin: every transaction of one origin server reached the same process.
    for label, rqs in by_label.items():
        if label.startswith("federation-send-"):
            procs = sorted({w for rq in rqs for w in rq.served})
            st.check(f"federation /send from {label.removeprefix('federation-send-')}: its {len(rqs)} "
                     "transactions reached one process (sticky per origin)", len(procs) == 1, ", ".join(procs))
    print("\nRequest -> process (from each process's own access log; HAProxy's backend/server beside it):")
    head = ("request", "method path", "status", "process", "haproxy backend/server")
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    for r in [head] + rows:
        print("  " + "  ".join(str(v).ljust(w[i]) for i, v in enumerate(r)))
    print(flush=True)


def shorten(path: str) -> str:
    path = path.split("?")[0]
    path = re.sub(r"![^/]+", "!room", urllib.parse.unquote(path))
    path = re.sub(r"@[^/]+", "@user", path)
    return path


def report_logs(st: Stack) -> None:
    for p in st.procs:
        text = p.log()
        errs = [ln for ln in text.splitlines() if re.search(r" - (ERROR|CRITICAL) - ", ln)
                or (p.kind in ("router", "redis") and re.search(r"\[(ALERT|WARNING)\]|# WARNING", ln))]
        for ln in errs[:5]:
            st.info(f"{p.name} log: {ln[:300]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path to the matrix-render binary")
    ap.add_argument("--fixtures-dir", default=os.path.join(R.REPO, "tests", "fixtures"))
    ap.add_argument("--python", default=os.path.join(R.REPO, "dist", "real-venv", "bin", "python"))
    ap.add_argument("--synapse-timeout", type=float, default=R.SYNAPSE_START_TIMEOUT)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    args = ap.parse_args()
    args.cli = os.path.abspath(args.cli)
    args.fixtures_dir = os.path.abspath(args.fixtures_dir)
    args.register_cmd = os.path.join(os.path.dirname(args.python), "register_new_matrix_user")
    res = R.Results()
    missing = [p for p in (args.cli, args.python, args.register_cmd,
                           os.path.join(os.path.dirname(args.python), "synapse_port_db")) if not os.path.exists(p)]
    missing += [t for t in ("redis-server", "haproxy", "unshare") if shutil.which(t) is None]
    if R.postgres_bindir() is None:
        missing.append("PostgreSQL's initdb, postgres, psql, pg_isready")
    if missing:
        res.check("setup", "programs are installed (bash scripts/real-deps.sh)", False, ", ".join(missing))
        print(f"workers: {res.passed} passed, {res.failed} failed")
        return 1
    atexit.register(R.stop_all_children)
    signal.signal(signal.SIGTERM, R._on_signal)
    signal.signal(signal.SIGINT, R._on_signal)
    tmp_root = tempfile.mkdtemp(prefix="real-workers-")
    t_all = time.monotonic()
    state = {"user": "olivia", "password": secrets.token_urlsafe(18),
             "message": f"written on one process {secrets.token_hex(4)}", "media": secrets.token_bytes(2048)}
    try:
        t0 = time.monotonic()
        ctx_a = R.Ctx(SQLITE, res, args.python, args.register_cmd, args.synapse_timeout, args.keep)
        claim = None
        try:
            claim = part_a(ctx_a, args, tmp_root, state)
        except Exception:  # noqa: BLE001
            res.check(SQLITE, "one process: checks ran to the end", False, traceback.format_exc())
        R.Results.info(SQLITE, f"one process on SQLite took {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        ctx = R.Ctx(FIXTURE, res, args.python, args.register_cmd, args.synapse_timeout, args.keep)
        try:
            main_flow(ctx, args, os.path.join(tmp_root, "stack"), state, claim)
        except Exception:  # noqa: BLE001
            res.check(FIXTURE, "checks ran to the end", False, traceback.format_exc())
        R.Results.info(FIXTURE, f"the worker stack took {time.monotonic() - t0:.1f} s")
    finally:
        R.stop_all_children()
        if args.keep:
            print(f"INFO [all] temporary files kept in {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
            for d in R._EXTRA_DIRS:
                shutil.rmtree(d, ignore_errors=True)
    print(f"INFO [all] total {time.monotonic() - t_all:.1f} s")
    if res.failures:
        print("Failures:")
        for f in res.failures:
            print("  " + f.splitlines()[0])
    print(f"workers: {res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
