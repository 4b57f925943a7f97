#!/usr/bin/env python3
"""Run the REAL programs (Synapse, coturn, nginx) on matrix-render's output.

Usage (from the repository root, after `bash scripts/real-deps.sh`):

    dist/real-venv/bin/python tests/real/run.py \\
        --cli target/debug/matrix-render \\
        --fixtures seed-rtc,example,registration-off,static-off,custom-pages,rtc-custom,delegation,postgres,psa-split,psa-restricted,psa-single

For each fixture the CLI is run in tests/fixtures/<name>/ with the arguments
in its render.args plus `--format json`, and the Kubernetes List it prints is
turned into the files the pods would see: every volume of a Deployment
(ConfigMap, Secret, projected Secrets/ConfigMaps with their `items`
key -> path, emptyDir, PVC) is written under a temporary directory at
<tmp>/<pod>/<mountPath>, exactly as the kubelet would mount it. The fixture's
values (the -f files and --set/--set-string of render.args, merged) give the
expectations that come from the input (global.domain, global.serverName,
synapse.wellKnown.delegatedServer, matrixrtc.enabled) and tell which Secrets
are existingSecret references. Such a Secret exists only in a cluster: a pod
that needs it (mounted, or in its env such as PGPASSWORD) is NOT RUNNABLE
here, which is a FAIL with that message, never a silent skip (e.g. the fixture
external-secrets). Then:

  a. Synapse runs on the rendered homeserver.yaml (unchanged, first -c) plus one
     override file (second -c) that only moves the listener to 127.0.0.1 and
     the data/pid/log/secret paths into the temporary pod tree, with the env
     of its container (PGPASSWORD from its secretKeyRef).
     With `database: {name: psycopg2}` a throwaway PostgreSQL (Debian's
     postgresql: initdb into its own temporary directory as the `postgres`
     user, else `nobody`, since PostgreSQL refuses root; 127.0.0.1 and a free
     port only; scram-sha-256 passwords over TCP) gets the rendered role and
     database (UTF8, C collation, template0) with the password of the rendered
     Secret that the Deployment's env PGPASSWORD names. Synapse with a wrong
     PGPASSWORD must fail to start (PostgreSQL refusing the password); then it
     runs for real, and the user it registered must be a row of PostgreSQL's
     users table, with no SQLite file anywhere in the pod's volumes.
  b. coturn runs on a copy of the rendered turnserver.conf and the command line
     of the coturn Deployment, with loopback-only overrides; turnutils_uclient
     allocates relays with the TURN REST credentials that Synapse handed out.
  c. nginx runs on a copy of the rendered nginx.conf with only paths and the
     listen address substituted, and every rendered page and asset is fetched
     (the Deployment with app.kubernetes.io/component: static-pages).
  d. with delegation (a `matrix-wellknown` ConfigMap: global.serverName is not
     global.domain), the matrix-wellknown Deployment's nginx runs the same way
     on its rendered nginx.conf: /.well-known/matrix/server and /client are
     checked against the values and against what Synapse itself served, and an
     Ingress/HTTPRoute must route them on the server-name host.
  e. Element: the `element` Deployment runs nginx itself (not the image's
     entrypoint) on its rendered nginx.conf, the same way as c./d. The image is
     not pulled: its /app bundle is a STAND-IN laid out in the pod tree
     (index.html, i18n/en_EN.json, version and one bundles/<hash>/ file, each
     with a marker of the run; every check answered from it says
     "[stand-in /app bundle]"), the rendered element-config/config.json is
     mounted over it by subPath as in the pod, and Debian's
     /etc/nginx/mime.types stands for the image's. nginx runs as the pod's
     runAsUser/runAsGroup/fsGroup (when this script is root) on a tree with
     the pod's ownership: volumes root-owned and read-only, emptyDirs 0777, the
     stand-in bundle read-only. Checked: nginx -t; /, /index.html, /config.json
     (byte-identical to the rendered one, application/json), /i18n/en_EN.json
     and /version with Cache-Control no-cache, a bundle file without it; Element's
     X-Frame-Options, X-Content-Type-Options and Content-Security-Policy on every
     answer, 404s included; missing files 404; the probe paths 200; no
     [emerg]/[alert]/[crit]; nothing written in the pod tree outside its
     emptyDirs (compared while running and after the stop).

Everything listens on and talks to 127.0.0.1 only, every process and request is
bounded in time, and every process started here is stopped before the next
part, also on failure. A rejected config is a FAIL with the program's message:
the test never changes what the rendered config says beyond the documented
overrides (listen addresses/ports, the database host/port, data/pid/log/temp
paths, secret file paths, coturn TLS off and loopback peers).

Every override, in one place (each is also commented where it is made):

  Synapse (override.yaml, the second -c; top-level keys replace the rendered
  ones, `listeners` and `database` whole):
    listeners              the rendered list with only port -> a free port and
                           bind_addresses -> [127.0.0.1]
    pid_file, log_config, media_store_path, signing_key_path,
    registration_shared_secret_path, recaptcha_public_key_path,
    recaptcha_private_key_path, turn_shared_secret_path (every *_path)
                           the same file in the temporary pod tree
    database               sqlite3: the rendered mapping with only
                           args.database moved; psycopg2: the rendered mapping
                           with only args.host -> 127.0.0.1 and args.port -> the
                           throwaway server's port (the rendered host is a
                           cluster name that does not resolve here)
  Synapse's environment: the container's env as rendered (PGPASSWORD), this
    machine's PG* variables removed and PGPASSFILE pointing at no file (the pod
    has neither: libpq must take the password from PGPASSWORD alone).
  coturn (a copy of turnserver.conf, plus command-line options after the
  Deployment's own `-c <conf> --static-auth-secret=$(TURN_SHARED_SECRET)`):
    listening-ip, relay-ip, external-ip lines removed from the copy (coturn adds
      file and command-line addresses together, so the command line cannot
      replace them; external-ip would send relay traffic off this machine)
    --listening-ip=127.0.0.1 --relay-ip=127.0.0.1
    --listening-port / --tls-listening-port = free ports
    --no-tls --no-dtls     (the certificate comes from cert-manager)
    --allow-loopback-peers --allowed-peer-ip=127.0.0.1 (the rendered
      denied-peer-ip=127.0.0.0-127.255.255.255 stays in the file)
    --pidfile, --userdb    in the temporary directory; --log-file=stdout
  nginx, static pages, well-known and Element (a copy of nginx.conf, by text
  substitution):
    every volume mountPath (pages, static-assets, /etc/nginx/custom,
      /etc/nginx/well-known, /tmp, /app/config.json) -> the same directory in
      the temporary pod tree
    Element: the image's /app -> the stand-in /app in the temporary pod tree
    `listen 8080` -> `listen 127.0.0.1:<free port>`
    /etc/nginx/mime.types stays (Debian's nginx-common has it)
    and `-e <error log>` on the command line.

One PASS/FAIL line is printed per check, INFO lines for context, and the
closing line `real-programs: N passed, M failed`; the exit code is 1 on any
failure.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import copy
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Wall-clock bounds (seconds).
RENDER_TIMEOUT = 120
SYNAPSE_GENKEYS_TIMEOUT = 180
SYNAPSE_START_TIMEOUT = 90  # --synapse-timeout
# Synapse is never left running longer than this (a watchdog terminates it).
# With report_stats: true it would phone home (to a non-loopback address) 5
# minutes after start; this bound keeps every run below that.
SYNAPSE_MAX_LIFETIME = 240
HTTP_TIMEOUT = 10
REGISTER_TIMEOUT = 90
COTURN_START_TIMEOUT = 20
UCLIENT_TIMEOUT = 20  # as in `timeout 20 turnutils_uclient ...`
NGINX_START_TIMEOUT = 20
STOP_TIMEOUT = 15
POSTGRES_INITDB_TIMEOUT = 120
POSTGRES_START_TIMEOUT = 60
# Synapse given a wrong PGPASSWORD must have exited within this.
SYNAPSE_BAD_PASSWORD_TIMEOUT = 60


# --------------------------------------------------------------------------
# Results


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []

    def check(self, fixture: str, name: str, ok: bool, detail: str = "") -> bool:
        word = "PASS" if ok else "FAIL"
        line = f"{word} [{fixture}] {name}"
        if detail:
            line += f": {detail}"
        print(line, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(line)
        return ok

    @staticmethod
    def info(fixture: str, msg: str) -> None:
        print(f"INFO [{fixture}] {msg}", flush=True)


def tail(text: str, lines: int = 25) -> str:
    got = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join("    | " + line for line in got)


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------
# Child processes: every one is registered and stopped, whatever happens.

_CHILDREN: list[subprocess.Popen] = []
# Temporary directories outside the run's own (PostgreSQL's: its non-root user
# must own them), removed at the end unless --keep.
_EXTRA_DIRS: list[str] = []


def child_env(extra_path: str | None = None) -> dict[str, str]:
    """The environment for the programs: no HTTP proxy, so that requests to
    127.0.0.1 (urllib here, `requests` in register_new_matrix_user) go straight
    to the loopback address."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if extra_path:
        env["PATH"] = extra_path + os.pathsep + env.get("PATH", "")
    return env


class RunAs:
    """The user a pod's container runs as (securityContext runAsUser, runAsGroup,
    fsGroup and supplementalGroups as supplementary groups)."""

    def __init__(self, uid: int, gid: int, groups: list[int], fs_group: int | None = None):
        self.uid, self.gid, self.groups, self.fs_group = uid, gid, groups, fs_group

    def popen_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": self.groups}

    def __str__(self) -> str:
        return f"uid {self.uid}, gid {self.gid}, groups {self.groups}"


def start_process(cmd: list[str], log_path: str, cwd: str, env: dict[str, str],
                  run_as: RunAs | None = None) -> subprocess.Popen:
    log = open(log_path, "wb")
    try:
        if run_as is not None:
            # The program may reopen its stdout/stderr by name (nginx's
            # `error_log /dev/stderr`): the file must be its user's.
            os.fchown(log.fileno(), run_as.uid, run_as.gid)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # own process group: nginx workers go with it
            **(run_as.popen_kwargs() if run_as is not None else {}),
        )
    finally:
        log.close()
    _CHILDREN.append(proc)
    return proc


def stop_process(proc: subprocess.Popen | None, timeout: float = STOP_TIMEOUT) -> None:
    """terminate (SIGTERM), then SIGKILL the process group after `timeout`."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.terminate()
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout=10)
    # Leftovers of the group (e.g. nginx workers after a crash of the master).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def stop_all_children() -> None:
    for proc in list(_CHILDREN):
        stop_process(proc, timeout=5)


def _on_signal(signum, _frame):
    stop_all_children()
    raise SystemExit(128 + signum)


def run_cmd(cmd: list[str], timeout: float, cwd: str, env: dict[str, str],
            run_as: RunAs | None = None) -> tuple[int | None, str]:
    """Run to completion (bounded). Returns (exit code or None on timeout, output)."""
    if run_as is not None:
        # Output into a file of the user (a pipe of root's could not be reopened
        # by name, as nginx does with /dev/stderr).
        with tempfile.TemporaryFile() as out:
            os.fchown(out.fileno(), run_as.uid, run_as.gid)
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                   env=env, timeout=timeout, start_new_session=True, **run_as.popen_kwargs())
                rc: int | None = r.returncode
                note = ""
            except subprocess.TimeoutExpired:
                rc, note = None, f"\n(timed out after {timeout} s)"
            out.seek(0)
            return rc, out.read().decode("utf-8", "replace") + note
    try:
        r = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            timeout=timeout,
            start_new_session=True,
        )
        return r.returncode, r.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if e.stdout else ""
        return None, out + f"\n(timed out after {timeout} s)"


# --------------------------------------------------------------------------
# Loopback networking helpers


def _port_free(port: int, udp: bool) -> bool:
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(udp: bool = False, span: int = 1, avoid: range = range(0)) -> int:
    """A port on 127.0.0.1 free for TCP (and UDP), together with the next
    span-1 ports, none of them in `avoid`."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        s.close()
        if any(port + i in avoid for i in range(span)):
            continue
        if port + span < 65535 and all(_port_free(port + i, udp) for i in range(span)):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def wait_tcp(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: dict | None = None, token: str | None = None):
    """(status or None, headers, body bytes or error text). Loopback only."""
    assert url.startswith(f"http://{LOOPBACK}:"), url
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(req, timeout=HTTP_TIMEOUT) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, None, str(e).encode()


def as_json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


# --------------------------------------------------------------------------
# YAML (homeserver.yaml): PyYAML comes with matrix-synapse in the venv.


def load_yaml(path: str, python: str):
    try:
        import yaml  # type: ignore

        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except ImportError:
        code = "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
        out = subprocess.run([python, "-c", code, path], capture_output=True, timeout=60, check=True)
        return json.loads(out.stdout)


# --------------------------------------------------------------------------
# The fixture's values: its -f files and --set/--set-string options, merged in
# order as matrix-render does (later wins, mappings merged key by key). Used
# only for expectations that come from the input (global.domain,
# global.serverName, synapse.wellKnown.delegatedServer, matrixrtc.enabled) and
# to recognise existingSecret references; the render itself is the CLI's.


def _merge(dst: dict, src: dict) -> dict:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += text[i:i + 2]
            i += 2
            continue
        depth += ch == "{"
        depth -= ch == "}"
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def _typed(val: str, as_string: bool):
    """Helm's --set typing (strvals): true/false, null, integers; else a string."""
    if as_string:
        return val
    if val.startswith("{") and val.endswith("}"):
        return [_typed(v, False) for v in _split_unescaped(val[1:-1], ",") if v != ""]
    if val.lower() in ("true", "false"):
        return val.lower() == "true"
    if val == "null":
        return None
    if re.fullmatch(r"-?(0|[1-9]\d*)", val):
        return int(val)
    return val


def _set_path(values: dict, expr: str, as_string: bool) -> None:
    for assignment in _split_unescaped(expr, ","):
        path, eq, val = assignment.partition("=")
        if not eq:
            raise ValueError(f"--set {assignment!r}: no '='")
        keys = [k.replace("\\.", ".") for k in re.split(r"(?<!\\)\.", path)]
        node = values
        for n, key in enumerate(keys):
            m = re.fullmatch(r"(.*)\[(\d+)\]", key)
            last = n == len(keys) - 1
            value = _typed(val.replace("\\,", ","), as_string)
            if m:
                lst = node.setdefault(m.group(1), [])
                idx = int(m.group(2))
                while len(lst) <= idx:
                    lst.append(None)
                if last:
                    lst[idx] = value
                else:
                    if not isinstance(lst[idx], dict):
                        lst[idx] = {}
                    node = lst[idx]
            elif last:
                node[key] = value
            else:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]


def fixture_values(fdir: str, argv: list[str], python: str) -> dict:
    """The merged values of render.args (raises ValueError on what it cannot read)."""
    values: dict = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        opt, eq, inline = a.partition("=") if a.startswith("--") else (a, "", "")
        if opt in ("-f", "--values", "--set", "--set-string", "--static-dir", "--format", "--output-dir"):
            if eq:
                val = inline
            elif i + 1 < len(argv):
                val = argv[i + 1]
                i += 1
            else:
                raise ValueError(f"{opt} without a value")
            if opt in ("-f", "--values"):
                if val == "-":
                    raise ValueError("-f - (stdin) cannot be read back by this test")
                doc = load_yaml(os.path.join(fdir, val), python)
                if doc is not None and not isinstance(doc, dict):
                    raise ValueError(f"{val}: not a mapping")
                _merge(values, doc or {})
            elif opt in ("--set", "--set-string"):
                _set_path(values, val, opt == "--set-string")
        i += 1
    return values


def vget(values: dict, path: str, default=None):
    node = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


# --------------------------------------------------------------------------
# The rendered List


class Rendered:
    def __init__(self, items: list[dict], values: dict | None = None):
        self.items = items
        # The fixture's values (its -f files and --set options merged), for the
        # expectations that come from the input (server name, delegated server)
        # and to tell an existingSecret reference from a missing object.
        self.values = values if isinstance(values, dict) else {}
        self.existing_secrets = existing_secret_refs(self.values)

    def scoped(self, namespace: str | None) -> "Rendered":
        """The objects a pod in `namespace` can use: that namespace's own (a pod mounts
        ConfigMaps and Secrets of its own namespace only) and the cluster-scoped ones."""
        view = Rendered.__new__(Rendered)
        view.items = [it for it in self.items
                      if (it.get("metadata") or {}).get("namespace") in (namespace, None)]
        view.values = self.values
        view.existing_secrets = self.existing_secrets
        return view

    def get(self, kind: str, name: str) -> dict | None:
        for it in self.items:
            if it.get("kind") == kind and it.get("metadata", {}).get("name") == name:
                return it
        return None

    def of_kind(self, kind: str) -> list[dict]:
        return [it for it in self.items if it.get("kind") == kind]

    def deployment_running(self, pred, exclude: tuple[str, ...] = ()) -> tuple[dict, dict] | tuple[None, None]:
        """The first Deployment (not named in `exclude`) with a container for
        which pred(command+args)."""
        for dep in self.of_kind("Deployment"):
            if dep["metadata"]["name"] in exclude:
                continue
            for c in dep["spec"]["template"]["spec"].get("containers", []):
                if pred(list(c.get("command", [])) + list(c.get("args", []))):
                    return dep, c
        return None, None

    def deployments_mounting_configmap(self, name: str) -> list[dict]:
        """Deployments with a volume (plain or projected) of ConfigMap `name`."""
        out = []
        for dep in self.of_kind("Deployment"):
            for v in dep["spec"]["template"]["spec"].get("volumes", []):
                names = [(v.get("configMap") or {}).get("name")]
                names += [(s.get("configMap") or {}).get("name") for s in (v.get("projected") or {}).get("sources", [])]
                if name in names:
                    out.append(dep)
                    break
        return out

    def secret_value(self, key: str) -> tuple[str | None, bytes | None]:
        """(Secret name, decoded value) of the only rendered Secret with `key`."""
        found = []
        for s in self.of_kind("Secret"):
            if key in (s.get("data") or {}):
                found.append((s["metadata"]["name"], base64.b64decode(s["data"][key])))
            elif key in (s.get("stringData") or {}):
                found.append((s["metadata"]["name"], s["stringData"][key].encode()))
        # The same Secret copied into two namespaces (the split Pod Security layout) is one.
        found = list(dict.fromkeys(found))
        if len(found) != 1:
            return None, None
        return found[0]

    def object_data(self, kind: str, name: str) -> dict[str, bytes] | None:
        """The decoded keys of a rendered ConfigMap/Secret; None if not rendered."""
        obj = self.get(kind, name)
        if obj is None:
            return None
        if kind == "ConfigMap":
            data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
            data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        else:
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
        return data

    def missing_reason(self, kind: str, name: str) -> tuple[str, str]:
        """Why a referenced ConfigMap/Secret is not in the render:
        ("cert-manager" | "external" | "missing", explanation)."""
        if kind == "Secret":
            if name in {c["spec"].get("secretName") for c in self.of_kind("Certificate")}:
                return "cert-manager", f"Secret {name} is made by cert-manager (Certificate), not rendered"
            if name in self.existing_secrets:
                return "external", (f"Secret {name} is an existingSecret reference of the values, not "
                                    "rendered: cannot be resolved here")
        return "missing", f"{kind} {name} is not in the render"


def existing_secret_refs(values) -> dict[str, list[str]]:
    """{Secret name: [values paths]} of every `existingSecret: {name: ...}` in the values."""
    refs: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                sub = f"{path}.{k}" if path else str(k)
                if k == "existingSecret" and isinstance(v, dict) and v.get("name"):
                    key = f" key {v['key']}" if v.get("key") else ""
                    refs.setdefault(str(v["name"]), []).append(f"{sub}.name{key}")
                else:
                    walk(v, sub)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(values, "")
    return refs


def volume_files(rendered: Rendered, vol: dict) -> tuple[dict[str, tuple[bytes, int]], list[tuple[str, str, str]]]:
    """Files of a configMap, secret or projected volume as the kubelet lays them
    out: ({relative path: (content, mode)}, unresolved), where unresolved lists
    (reason kind, message, its items) for each source that cannot be materialized:
    "cert-manager" / "external" / "missing" for an object that is not rendered
    (see Rendered.missing_reason), "key" for an `items` key the object lacks.
    An `optional: true` source that is missing is left out, as the kubelet does."""
    files: dict[str, tuple[bytes, int]] = {}
    unresolved: list[tuple[str, str]] = []
    if "projected" in vol:
        default_mode = vol["projected"].get("defaultMode", 0o644)
        sources = vol["projected"].get("sources") or []
    else:
        src = vol.get("configMap") or vol.get("secret") or {}
        default_mode = src.get("defaultMode", 0o644)
        sources = [{"configMap" if "configMap" in vol else "secret": src}]
    for source in sources:
        if "configMap" in source:
            kind, src = "ConfigMap", source["configMap"]
            name = src.get("name")
        elif "secret" in source:
            kind, src = "Secret", source["secret"]
            name = src.get("secretName") or src.get("name")  # secretName in a volume, name in a projection
        else:
            unresolved.append(("unsupported", f"projected source {sorted(source)} is not supported by this test", ""))
            continue
        data = rendered.object_data(kind, name)
        if data is None:
            if not src.get("optional", False):
                why, msg = rendered.missing_reason(kind, name)
                items = ", ".join(f"{i['key']} -> {i['path']}" for i in src.get("items") or [])
                unresolved.append((why, msg, items))
            continue
        if src.get("items"):
            for item in src["items"]:
                if item["key"] in data:
                    files[item["path"]] = (data[item["key"]], item.get("mode", default_mode))
                elif not src.get("optional", False):
                    unresolved.append(("key", f"{kind} {name} has no key {item['key']!r}",
                                       f"{item['key']} -> {item['path']}"))
        else:
            for k, v in data.items():
                files[k] = (v, default_mode)
    return files, unresolved


class Pod:
    """The files a Deployment's pod sees, laid out under `root`.

    problems: volumes that cannot be laid out because the render is wrong
    (a missing object, a missing key, an unknown volume kind); external: the
    ones that cannot be laid out because they come from Secrets that exist only
    in the cluster (existingSecret references): the pod is not runnable here."""

    def __init__(self, rendered: Rendered, dep: dict, root: str, fixture: str, res: Results):
        # Only what the pod's own namespace holds.
        rendered = rendered.scoped(dep["metadata"].get("namespace"))
        self.rendered = rendered
        self.root = root
        self.mounts: dict[str, str] = {}  # mountPath -> volume name
        spec = dep["spec"]["template"]["spec"]
        self.volumes: dict[str, dict] = {v["name"]: v for v in spec.get("volumes", [])}
        problems: list[str] = []
        external: list[str] = []
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            for m in c.get("volumeMounts", []):
                mp = m["mountPath"]
                if mp in self.mounts:
                    continue
                self.mounts[mp] = m["name"]
                vol = self.volumes.get(m["name"])
                host = self.host(mp)
                if vol is None:
                    problems.append(f"volumeMount {mp} names no volume {m['name']!r}")
                    continue
                if "configMap" in vol or "secret" in vol or "projected" in vol:
                    files, unresolved = volume_files(rendered, vol)
                    grouped: dict[tuple[str, str], list[str]] = {}  # one line per object
                    for why, msg, items in unresolved:
                        grouped.setdefault((why, msg), []).extend([items] if items else [])
                    for (why, msg), items in grouped.items():
                        line = f"{mp}: {msg}" + (f" (items {', '.join(items)})" if items else "")
                        if why == "cert-manager":
                            res.info(fixture, f"{line}: left empty")
                        elif why == "external":
                            external.append(line)
                        else:
                            problems.append(line)
                    if m.get("subPath"):
                        os.makedirs(os.path.dirname(host), exist_ok=True)
                        if m["subPath"] in files:
                            content, mode = files[m["subPath"]]
                            with open(host, "wb") as f:
                                f.write(content)
                            os.chmod(host, mode)
                        elif not unresolved:
                            problems.append(f"{mp}: subPath {m['subPath']!r} is not a file of volume {m['name']!r}")
                        continue
                    os.makedirs(host, exist_ok=True)
                    for name, (content, mode) in files.items():
                        path = os.path.join(host, name)
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with open(path, "wb") as f:
                            f.write(content)
                        os.chmod(path, mode)
                elif "emptyDir" in vol or "persistentVolumeClaim" in vol:
                    os.makedirs(host, exist_ok=True)
                else:
                    problems.append(f"{mp}: volume kind {sorted(vol)} not supported by this test")
        self.problems = problems
        self.external = external

    def host(self, pod_path: str) -> str:
        return os.path.join(self.root, pod_path.lstrip("/"))

    def remap(self, pod_path: str) -> str | None:
        """Host path for an absolute pod path under one of the mounts."""
        for mp in sorted(self.mounts, key=len, reverse=True):
            if pod_path == mp or pod_path.startswith(mp.rstrip("/") + "/"):
                return self.host(pod_path)
        return None


def container_env(container: dict, rendered: Rendered) -> tuple[dict[str, str], dict[str, str]]:
    """The container's env as the kubelet sets it (value, secretKeyRef,
    configMapKeyRef resolved from the rendered objects): (env, unset) where
    unset tells why each variable that cannot be set here is unset."""
    env: dict[str, str] = {}
    unset: dict[str, str] = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        vf = e.get("valueFrom", {})
        for ref_kind, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if ref_kind not in vf:
                continue
            ref = vf[ref_kind]
            data = rendered.object_data(kind, ref["name"])
            if data is not None and ref["key"] in data:
                env[e["name"]] = data[ref["key"]].decode("utf-8", "replace")
            elif data is None:
                unset[e["name"]] = rendered.missing_reason(kind, ref["name"])[1]
            else:
                unset[e["name"]] = f"{kind} {ref['name']} has no key {ref['key']!r}"
    return env, unset


def expand_k8s_vars(args: list[str], container: dict, rendered: Rendered) -> tuple[list[str], dict[str, str]]:
    """Expand $(VAR) in command/args like the kubelet does, from the
    container's env (value, secretKeyRef, configMapKeyRef). Also returns why
    each env var that could not be set is unset."""
    env, unset = container_env(container, rendered)

    def sub(m: re.Match) -> str:
        if m.group(1):  # $$(VAR) is the escape for a literal $(VAR)
            return "$(" + m.group(1) + ")"
        return env.get(m.group(2), m.group(0))

    pat = re.compile(r"\$\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
    return [pat.sub(sub, a) for a in args], unset


def arg_after(args: list[str], *flags: str) -> str | None:
    for i, a in enumerate(args):
        if a in flags and i + 1 < len(args):
            return args[i + 1]
        for f in flags:
            if f.startswith("--") and a.startswith(f + "="):
                return a[len(f) + 1:]
    return None


# --------------------------------------------------------------------------
# A throwaway PostgreSQL for a homeserver.yaml on psycopg2 (the database server
# the cluster would have). Debian's postgresql package (scripts/real-deps.sh);
# initdb into a private temporary directory, the server on 127.0.0.1 only.

POSTGRES_TOOLS = ("initdb", "postgres", "psql", "pg_isready")


def postgres_bindir() -> str | None:
    """The directory with initdb, postgres, psql and pg_isready: Debian's
    /usr/lib/postgresql/<newest>/bin, else where initdb on PATH lives."""
    cands = []
    base = "/usr/lib/postgresql"
    if os.path.isdir(base):
        vers = [v for v in os.listdir(base) if re.fullmatch(r"\d+(\.\d+)?", v)]
        cands += [os.path.join(base, v, "bin") for v in sorted(vers, key=lambda v: float(v), reverse=True)]
    found = shutil.which("initdb")
    if found:
        cands.append(os.path.dirname(os.path.realpath(found)))
    for d in cands:
        if all(os.access(os.path.join(d, t), os.X_OK) for t in POSTGRES_TOOLS):
            return d
    return None


def sql_ident(name: str) -> str:
    if "\0" in name:
        raise ValueError("NUL in an SQL identifier")
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    if "\0" in text:
        raise ValueError("NUL in an SQL string")
    return "'" + text.replace("'", "''") + "'"  # standard_conforming_strings is on


def libpq_free_env(env: dict[str, str]) -> dict[str, str]:
    """`env` without the PG* variables of the machine running the test (PGHOST,
    PGPASSWORD, PGSSLMODE, ...): libpq reads them, the pod has none of them."""
    return {k: v for k, v in env.items() if not k.startswith("PG")}


class Postgres:
    """initdb + postgres on 127.0.0.1:<free port>, in a temporary directory of
    its own (PostgreSQL refuses to run as root: as root, initdb and the server
    run as the `postgres` user, else `nobody`, through setpriv; the directory is
    theirs, mode 0700). The unix socket is in that directory and trusted only
    for the superuser `postgres` (nobody else can reach it); TCP takes
    scram-sha-256 passwords only. fsync off: the data is thrown away.
    stop() always (fast shutdown, then the directory is removed unless --keep)."""

    def __init__(self, ctx: "Ctx", bindir: str, log_path: str):
        self.ctx = ctx
        self.bindir = bindir
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.dir: str | None = None
        self.prefix: list[str] = []
        self.user = ""
        self.started_at = 0.0

    def tool(self, name: str) -> str:
        return os.path.join(self.bindir, name)

    def env(self) -> dict[str, str]:
        env = libpq_free_env(child_env())
        env.update(LC_ALL="C", LANG="C")
        if self.dir:
            env["HOME"] = self.dir
        return env

    def start(self) -> tuple[bool, str]:
        """(up, detail)."""
        import pwd

        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            if shutil.which("setpriv") is None:
                return False, "running as root and setpriv (util-linux) is missing: cannot drop to a non-root user"
            self.prefix = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"]
            self.user, uid, gid = pw.pw_name, pw.pw_uid, pw.pw_gid
        else:
            self.user, uid, gid = pwd.getpwuid(os.geteuid()).pw_name, -1, -1
        self.dir = tempfile.mkdtemp(prefix="real-postgres-")
        _EXTRA_DIRS.append(self.dir)
        sock = os.path.join(self.dir, "sock")
        data = os.path.join(self.dir, "data")
        os.makedirs(sock, mode=0o700)
        for d in (self.dir, sock):
            os.chmod(d, 0o700)
            if uid >= 0:
                os.chown(d, uid, gid)
        self.sock = sock
        t0 = time.monotonic()
        rc, out = run_cmd(self.prefix + [self.tool("initdb"), "-D", data, "-U", "postgres", "--encoding=UTF8",
                                         "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"],
                          POSTGRES_INITDB_TIMEOUT, self.dir, self.env())
        if rc != 0:
            return False, f"initdb as {self.user}: exit {rc}\n{tail(out)}"
        t_initdb = time.monotonic() - t0
        # pg_hba.conf replaced whole: the superuser over the private socket
        # (the role setup below), every other role over TCP on 127.0.0.1 with a
        # scram-sha-256 password only.
        hba = os.path.join(data, "pg_hba.conf")
        with open(hba, "w", encoding="utf-8") as f:
            f.write("# tests/real/run.py: throwaway server\n"
                    "local all postgres trust\n"
                    f"host  all all {LOOPBACK}/32 scram-sha-256\n")
        if uid >= 0:
            os.chown(hba, uid, gid)
        self.port = free_port()
        cmd = self.prefix + [self.tool("postgres"), "-D", data,
                             "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={self.port}",
                             "-c", f"unix_socket_directories={sock}", "-c", "ssl=off",
                             "-c", "password_encryption=scram-sha-256", "-c", "log_connections=on",
                             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.started_at = time.monotonic()
        self.proc = start_process(cmd, self.log_path, self.dir, self.env())
        deadline = self.started_at + POSTGRES_START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            rc, _ = run_cmd([self.tool("pg_isready"), "-q", "-h", LOOPBACK, "-p", str(self.port), "-t", "2"],
                            10, self.dir, self.env())
            if rc == 0:
                return True, (f"as {self.user}, 127.0.0.1:{self.port}; initdb {t_initdb:.1f} s, "
                              f"up in {time.monotonic() - self.started_at:.1f} s")
            time.sleep(0.3)
        return False, f"process exit {self.proc.poll()}\n{tail(read_text(self.log_path), 30)}"

    def admin_sql(self, sql: str) -> tuple[int | None, str]:
        """Run `sql` as the superuser over the private socket (a file in the
        private directory: the password is not on a command line)."""
        assert self.dir and self.port
        path = os.path.join(self.dir, "setup.sql")
        with open(path, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(sql)
        try:
            return run_cmd([self.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                            "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-f", path],
                           60, self.dir, self.env())
        finally:
            os.unlink(path)

    def query_as(self, user: str, password: str, dbname: str, sql: str) -> tuple[int | None, str]:
        """psql -At as `user` over TCP (scram-sha-256) with `password`."""
        env = self.env()
        env["PGPASSWORD"] = password
        return run_cmd([self.tool("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", LOOPBACK,
                        "-p", str(self.port), "-U", user, "-d", dbname, "-c", sql], 60, self.dir, env)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGINT)  # fast shutdown
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    pass
            stop_process(self.proc)
            self.ctx.res.info(self.ctx.fixture, f"postgresql stopped (exit {self.proc.returncode}), "
                                                f"was up {time.monotonic() - self.started_at:.1f} s")
            self.proc = None
        if self.dir and not self.ctx.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.dir in _EXTRA_DIRS:
                _EXTRA_DIRS.remove(self.dir)
            self.dir = None


# --------------------------------------------------------------------------
# a. Synapse


def parse_duration_ms(v) -> int | None:
    if isinstance(v, int):
        return v
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)?", str(v))
    if not m:
        return None
    mult = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 604_800_000, "y": 31_536_000_000, None: 1}[m.group(2)]
    return int(m.group(1)) * mult


class SynapseRun:
    """Starts Synapse, runs the checks; the process is left running so that
    coturn can use the TURN credentials it handed out. stop() always."""

    def __init__(self, ctx: "Ctx", rendered: Rendered, work: str):
        self.ctx = ctx
        self.r = rendered
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.watchdog: threading.Timer | None = None
        self.started_at = 0.0
        self.turn_creds: dict | None = None
        self.log_path = os.path.join(work, "synapse.log")
        # What Synapse itself served at /.well-known/matrix/{client,server}
        # (parsed JSON), for the comparison with the delegation files.
        self.well_known_client: dict | None = None
        self.well_known_server = None
        self.key_port: int | None = None
        # psycopg2: the throwaway PostgreSQL, and the role, database and password
        # Synapse uses (the password from the Deployment's env PGPASSWORD).
        self.pg: Postgres | None = None
        self.pg_login: dict | None = None

    def _expire(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            print(f"INFO [{self.ctx.fixture}] synapse: up for {SYNAPSE_MAX_LIFETIME} s: terminated", flush=True)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        try:
            if self.watchdog is not None:
                self.watchdog.cancel()
            if self.proc is not None:
                stop_process(self.proc)
                self.ctx.res.info(self.ctx.fixture, f"synapse stopped (exit {self.proc.returncode}), "
                                                    f"was up {time.monotonic() - self.started_at:.1f} s")
                self.report_log()
                self.proc = None
        finally:
            if self.pg is not None:  # after Synapse, its client
                self.pg.stop()
                self.pg = None

    def report_log(self) -> None:
        text = read_text(self.log_path)
        seen = set()
        for line in text.splitlines():
            m = re.search(r" - (WARNING|ERROR|CRITICAL) - (.*)$", line)
            banner = ("STARTING SERVER", "Copyright (c)", "Licensed under", "/synapse/app/homeserver.py version")
            if m and m.group(2) not in seen and not any(b in m.group(2) for b in banner):
                seen.add(m.group(2))
                if len(seen) <= 12:
                    self.ctx.res.info(self.ctx.fixture, f"synapse log {m.group(1)}: {m.group(2)[:300]}")

    def run(self) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        dep, container = self.r.deployment_running(lambda a: "synapse.app.homeserver" in a)
        if not res.check(fx, "synapse: a Deployment runs synapse.app.homeserver", dep is not None):
            return
        cmd = list(container.get("command", [])) + list(container.get("args", []))
        conf_pod = arg_after(cmd, "-c", "--config-path")
        pod = Pod(self.r, dep, os.path.join(self.work, "synapse-pod"), fx, res)
        # Every volume (ConfigMap, Secret, projected Secrets with items
        # key -> path, emptyDir, PVC) laid out as the kubelet would; the
        # existingSecret references are reported below (not runnable here).
        if not res.check(fx, "synapse: pod volumes are all rendered (existingSecret references aside)",
                         not pod.problems, "; ".join(pod.problems)):
            return
        conf_host = pod.remap(conf_pod) if conf_pod else None
        if not res.check(fx, "synapse: --config-path is a file in a mounted volume",
                         bool(conf_host and os.path.isfile(conf_host)), f"{conf_pod}"):
            return
        hs = load_yaml(conf_host, self.ctx.python)
        if not res.check(fx, "synapse: rendered homeserver.yaml is a mapping", isinstance(hs, dict)):
            return
        # The container's env as the kubelet sets it (PGPASSWORD from its
        # secretKeyRef with psycopg2): Synapse gets exactly that.
        pod_env, unset = container_env(container, pod.rendered)
        # Not runnable here: Secrets that only exist in the cluster (mounted or
        # in the env), or a database server other than the throwaway PostgreSQL
        # below. A FAIL, never a silent skip.
        blockers = list(pod.external) + [f"env {k}: {why}" for k, why in sorted(unset.items())]
        db = hs.get("database") or {}
        if db.get("name") == "psycopg2":
            if "PGPASSWORD" not in pod_env and "PGPASSWORD" not in unset:
                blockers.append("database psycopg2, but the synapse container sets no env PGPASSWORD "
                                "(and homeserver.yaml has no password)")
        elif db.get("name") not in ("sqlite3", None):
            blockers.append(f"database {db.get('name')} needs a database server (sqlite3 and psycopg2 run here)")
        if not res.check(fx, "synapse: runnable here (every Secret it mounts or has in its env is rendered; "
                             "sqlite3, or psycopg2 with PGPASSWORD)",
                         not blockers, ("NOT RUNNABLE by this test: " + "; ".join(blockers)) if blockers else ""):
            return
        self.check_server_name(hs, pod)

        # ---- the override file (second -c): listener + data/pid/log/secret paths
        override: dict = {}
        port = free_port()
        listeners = copy.deepcopy(hs.get("listeners") or [])
        client_port = None
        self.key_port = None  # a listener with the `federation` or `keys` resource
        for lst in listeners:
            # ONLY the address and the port change; type, tls, x_forwarded and
            # resources stay as rendered.
            lst["bind_addresses"] = [LOOPBACK]
            names = [n for r_ in lst.get("resources", []) for n in r_.get("names", [])]
            if client_port is None and lst.get("type") == "http" and "client" in names:
                lst["port"] = client_port = port
            else:
                lst["port"] = free_port()
            if self.key_port is None and lst.get("type") == "http" and not lst.get("tls") and (
                    "federation" in names or "keys" in names):
                self.key_port = lst["port"]
        if not res.check(fx, "synapse: rendered listeners include an http client listener",
                         client_port is not None, json.dumps(hs.get("listeners"))):
            return
        override["listeners"] = listeners
        for key, val in hs.items():
            # pid_file, log_config and every *_path option (media_store_path,
            # signing_key_path, registration_shared_secret_path,
            # recaptcha_*_key_path, turn_shared_secret_path, ...) pointing into
            # a volume: the same file in the temporary pod tree.
            if isinstance(val, str) and val.startswith("/") and (
                    key.endswith("_path") or key in ("pid_file", "log_config")):
                host = pod.remap(val)
                if host is None:
                    res.info(fx, f"synapse: {key}: {val} is not in a mounted volume; left unchanged")
                else:
                    override[key] = host
        # The files Synapse reads at start (log_config, the secret files of
        # *_secret_path / *_key_path / *_password_path, from the projected
        # secrets volume): present in the pod tree. signing_key_path is made
        # by --generate-keys below.
        read = {k: v for k, v in hs.items() if isinstance(v, str) and v.startswith("/") and k != "signing_key_path"
                and (k == "log_config" or re.search(r"(secret|key|password)_path$", k))}
        absent = [f"{k}: {v}" for k, v in sorted(read.items())
                  if not (override.get(k) and os.path.isfile(override[k]))]
        res.check(fx, "synapse: the files homeserver.yaml reads (log_config, secret *_path) are in its volumes",
                  not absent, ", ".join(sorted(read)) if not absent else "missing: " + "; ".join(absent))
        db = copy.deepcopy(db) if db else {"name": "sqlite3", "args": {}}
        dbpath = (db.get("args") or {}).get("database") if db.get("name") == "sqlite3" else None
        if db.get("name") == "psycopg2":
            if not self.setup_postgres(db, container, pod_env):
                return
            # `database` is replaced whole: the rendered mapping with ONLY
            # args.host and args.port changed. The rendered host is the
            # cluster's database Service name (postgres.example.internal,
            # *.svc.cluster.local): it does not resolve on this machine, and
            # the server here is the throwaway one on 127.0.0.1:<free port>.
            # user, dbname, sslmode, cp_min/cp_max stay as rendered, and there
            # is still no password: libpq takes it from PGPASSWORD.
            db["args"]["host"] = LOOPBACK
            db["args"]["port"] = self.pg.port
            override["database"] = db
        if dbpath:
            host = pod.remap(dbpath) if dbpath.startswith("/") else None
            if host is None:
                res.info(fx, f"synapse: database.args.database {dbpath} is not in a mounted volume")
            else:
                db["args"]["database"] = host  # `database` is replaced whole: the rest as rendered
                override["database"] = db
        override_path = os.path.join(self.work, "override.yaml")
        with open(override_path, "w", encoding="utf-8") as f:
            f.write("# Only loopback listener and temp-dir paths; see tests/real/run.py\n")
            json.dump(override, f, indent=2)  # JSON is YAML
        res.info(fx, "synapse override: " + json.dumps(override))

        base = [self.ctx.python, "-m", "synapse.app.homeserver", "-c", conf_host, "-c", override_path]
        # The pod's env (PGPASSWORD from the Secret with psycopg2) on top of
        # this machine's, less its PG* variables (libpq would read them; the pod
        # has none), and PGPASSFILE pointing at no file: like the container,
        # which has no ~/.pgpass, the password can only come from PGPASSWORD.
        env = libpq_free_env(child_env())
        env["PGPASSFILE"] = os.path.join(self.work, "no-such-pgpass")
        env.update(pod_env)
        # ---- --generate-keys (the init container)
        t0 = time.monotonic()
        rc, out = run_cmd(base + ["--generate-keys"], SYNAPSE_GENKEYS_TIMEOUT, pod.root, env)
        key_path = override.get("signing_key_path") or ""
        ok = rc == 0 and bool(key_path) and os.path.isfile(key_path) and os.path.getsize(key_path) > 0
        res.check(fx, "synapse: --generate-keys exits 0 and creates the signing key", ok,
                  f"{time.monotonic() - t0:.1f} s" if ok else f"exit {rc}, key {key_path}\n{tail(out)}")
        if not ok:
            return
        if self.pg is not None:
            self.check_wrong_password(base, pod, env, client_port)

        # ---- start for real
        t0 = time.monotonic()
        self.proc = start_process(base, self.log_path, pod.root, env)
        self.started_at = t0
        self.watchdog = threading.Timer(SYNAPSE_MAX_LIFETIME, self._expire, args=(self.proc,))
        self.watchdog.daemon = True
        self.watchdog.start()
        url = f"http://{LOOPBACK}:{client_port}"
        deadline = t0 + self.ctx.synapse_timeout
        status = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            status, _, _ = http("GET", url + "/_matrix/client/versions")
            if status == 200:
                break
            time.sleep(0.5)
        if not res.check(fx, "synapse: starts and answers GET /_matrix/client/versions 200", status == 200,
                         f"{time.monotonic() - t0:.1f} s" if status == 200 else
                         f"status {status}, process exit {self.proc.poll()}\n{tail(read_text(self.log_path), 40)}"):
            return

        self.check_well_known(url, hs)
        self.check_signing_key(hs, key_path)
        self.check_register_and_turn(url, hs)
        if self.pg is not None:
            self.check_data_in_postgres(hs, pod)

    # ---- psycopg2: the throwaway PostgreSQL with the rendered role and database
    def setup_postgres(self, db: dict, container: dict, pod_env: dict[str, str]) -> bool:
        fx, res = self.ctx.fixture, self.ctx.res
        args = db.get("args") or {}
        user, dbname = args.get("user"), args.get("dbname") or args.get("database")
        ok = bool(user) and bool(dbname) and bool(args.get("host")) and bool(args.get("port")) \
            and not any(k in args for k in ("password", "passfile"))
        if not res.check(fx, "synapse: database psycopg2 names user, dbname, host and port, and no password "
                             "(libpq reads PGPASSWORD)", ok,
                         json.dumps({k: v for k, v in args.items() if k not in ("password",)})
                         + (" + a password" if "password" in args else "")):
            return False
        ref = next(((e.get("valueFrom") or {}).get("secretKeyRef") or {}
                    for e in container.get("env", []) if e.get("name") == "PGPASSWORD"), {})
        source = f"{ref.get('name')}.{ref.get('key')}" if ref else "the env value"
        rc, out = run_cmd([self.ctx.python, "-c", "import psycopg2; print(psycopg2.__version__)"], 60,
                          self.work, child_env())
        if not res.check(fx, "synapse: psycopg2 imports in --python (bash scripts/real-deps.sh)", rc == 0,
                         out.strip().splitlines()[-1] if rc == 0 and out.strip() else f"exit {rc}\n{tail(out)}"):
            return False
        bindir = postgres_bindir()
        if not res.check(fx, "postgresql: " + ", ".join(POSTGRES_TOOLS) + " installed (bash scripts/real-deps.sh)",
                         bindir is not None, bindir or "not found in /usr/lib/postgresql/*/bin nor on PATH"):
            return False
        self.pg = Postgres(self.ctx, bindir, os.path.join(self.work, "postgresql.log"))
        up, detail = self.pg.start()
        if not res.check(fx, "postgresql: a throwaway server (initdb, non-root, 127.0.0.1 only, scram-sha-256 "
                             "over TCP) starts", up, detail):
            return False
        # The role and database the rendered config names, the password from the
        # rendered Secret through the Deployment's env PGPASSWORD; the database as
        # Synapse requires it (UTF8, C collation, from template0).
        password = pod_env["PGPASSWORD"]
        sql = (f"CREATE ROLE {sql_ident(user)} LOGIN PASSWORD {sql_literal(password)};\n"
               f"CREATE DATABASE {sql_ident(dbname)} OWNER {sql_ident(user)} ENCODING 'UTF8' "
               "LC_COLLATE='C' LC_CTYPE='C' TEMPLATE template0;\n")
        rc, out = self.pg.admin_sql(sql)
        if not res.check(fx, f"postgresql: role {user} (password <{source}> from env PGPASSWORD) and database "
                             f"{dbname} (UTF8, C collation, template0) created", rc == 0,
                         "" if rc == 0 else f"exit {rc}\n{tail(out.replace(password, '<password>'))}"):
            return False
        # The role logs in over TCP with that password (scram-sha-256).
        rc, out = self.pg.query_as(user, password, dbname, "SELECT current_user")
        if not res.check(fx, f"postgresql: {user} logs in over TCP with the Secret's password", rc == 0
                         and out.strip() == user, f"exit {rc}\n{tail(out.replace(password, '<password>'))}"
                         if rc != 0 or out.strip() != user else ""):
            return False
        self.pg_login = {"user": user, "dbname": dbname, "password": password, "source": source}
        return True

    def check_wrong_password(self, base: list[str], pod: Pod, env: dict[str, str], client_port: int) -> None:
        """Synapse with a wrong PGPASSWORD (all else the same) must not start,
        and PostgreSQL must have refused that password: the password Synapse
        uses is PGPASSWORD's."""
        fx, res = self.ctx.fixture, self.ctx.res
        assert self.pg is not None and self.pg_login is not None
        bad = dict(env)
        bad["PGPASSWORD"] = "wrong-" + secrets.token_hex(8)
        log_path = os.path.join(self.work, "synapse-wrong-password.log")
        pg_offset = len(read_text(self.pg.log_path))
        t0 = time.monotonic()
        proc = start_process(base, log_path, pod.root, bad)
        answered = False
        try:
            deadline = t0 + SYNAPSE_BAD_PASSWORD_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                status, _, _ = http("GET", f"http://{LOOPBACK}:{client_port}/_matrix/client/versions")
                if status == 200:
                    answered = True
                    break
                time.sleep(0.5)
            rc = proc.poll()  # None: still running
        finally:
            stop_process(proc)
        took = time.monotonic() - t0
        refused = f'password authentication failed for user "{self.pg_login["user"]}"'
        pg_log = read_text(self.pg.log_path)[pg_offset:]
        log = read_text(log_path)
        said = [ln.strip() for ln in log.splitlines() if "password authentication failed" in ln]
        ok = rc not in (None, 0) and not answered and refused in pg_log
        res.check(fx, "synapse: with a wrong PGPASSWORD it does not start (exits non-zero; PostgreSQL logs "
                      "'password authentication failed')", ok,
                  f"exit {rc} after {took:.1f} s; synapse: {said[-1][:200] if said else '?'}" if ok else
                  f"exit {rc} ({'still running' if rc is None else 'exited'} after {took:.1f} s), answered "
                  f"/versions: {answered}, postgresql refused the password: {refused in pg_log}\n"
                  f"{tail(log, 30)}")

    def check_data_in_postgres(self, hs: dict, pod: Pod) -> None:
        """The user registered above is in PostgreSQL (not in an SQLite file)."""
        fx, res = self.ctx.fixture, self.ctx.res
        assert self.pg is not None and self.pg_login is not None
        login = self.pg_login
        want_id = f"@alice:{hs.get('server_name')}"
        sql = (f"SELECT u.name, (SELECT count(*) FROM access_tokens t WHERE t.user_id = u.name), "
               f"(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public') "
               f"FROM users u WHERE u.name = {sql_literal(want_id)}")
        rc, out = self.pg.query_as(login["user"], login["password"], login["dbname"], sql)
        row = out.strip().split("|") if rc == 0 else []
        ok = len(row) == 3 and row[0] == want_id and row[1].isdigit() and int(row[1]) >= 1
        res.check(fx, f"postgresql: {want_id} is in table users of database {login['dbname']}, with an access "
                      f"token (psql as {login['user']} over TCP)", ok,
                  f"{row[1]} access token(s), {row[2]} tables in schema public" if ok else
                  f"exit {rc}, rows {out.strip()[:300]!r}")
        sqlite = []
        rendered_db = pod.remap("/data/homeserver.db")
        if rendered_db and os.path.exists(rendered_db):
            sqlite.append(rendered_db)
        for dirpath, _, files in os.walk(pod.root):
            for name in files:
                path = os.path.join(dirpath, name)
                if path not in sqlite and re.search(r"\.(db|sqlite3?)(-journal|-wal|-shm)?$", name):
                    sqlite.append(path)
        res.check(fx, "synapse: no SQLite database file in the pod's volumes (no /data/homeserver.db)", not sqlite,
                  ", ".join(os.path.relpath(p, pod.root) for p in sqlite))

    # ---- the server name (global.serverName, else global.domain)
    def check_server_name(self, hs: dict, pod: Pod) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        values = self.r.values
        want = vget(values, "global.serverName") or vget(values, "global.domain")
        got = hs.get("server_name")
        res.check(fx, "synapse: server_name = global.serverName (else global.domain) of the values",
                  bool(want) and got == want, f"server_name {got!r}, values {want!r}")
        domain = vget(values, "global.domain")
        res.check(fx, "synapse: public_baseurl = https://<global.domain>/",
                  hs.get("public_baseurl") == f"https://{domain}/",
                  f"public_baseurl {hs.get('public_baseurl')!r}, global.domain {domain!r}")
        skp = hs.get("signing_key_path")
        ok = isinstance(skp, str) and os.path.basename(skp) == f"{got}.signing.key" and pod.remap(skp) is not None
        res.check(fx, "synapse: signing_key_path is <server_name>.signing.key in a mounted volume", ok,
                  f"signing_key_path {skp!r}, server_name {got!r}")

    # ---- the signing key Synapse made (--generate-keys) is the one it serves
    def check_signing_key(self, hs: dict, key_host: str) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        server_name = str(hs.get("server_name"))
        if self.key_port is None:
            res.info(fx, "synapse: no plain http listener with the federation/keys resource: "
                         "/_matrix/key/v2/server not checked")
            return
        # signing key file: "ed25519 <version> <base64 seed>"; the public key
        # from it with Synapse's own library (signedjson, in --python).
        code = ("import sys, json\n"
                "from signedjson.key import read_signing_keys, get_verify_key, encode_verify_key_base64\n"
                "keys = read_signing_keys(open(sys.argv[1]))\n"
                "print(json.dumps({f'{k.alg}:{k.version}': encode_verify_key_base64(get_verify_key(k)) "
                "for k in keys}))\n")
        rc, out = run_cmd([self.ctx.python, "-c", code, key_host], 60, self.work, child_env())
        file_keys = as_json(out.strip().splitlines()[-1].encode()) if rc == 0 and out.strip() else None
        ok = isinstance(file_keys, dict) and bool(file_keys)
        if not res.check(fx, f"synapse: the signing key file {os.path.basename(key_host)} holds ed25519 keys", ok,
                         ", ".join(sorted(file_keys)) if ok else f"exit {rc}\n{tail(out)}"):
            return
        status, _, raw = http("GET", f"http://{LOOPBACK}:{self.key_port}/_matrix/key/v2/server")
        body = as_json(raw) or {}
        served = {k: (v or {}).get("key") for k, v in (body.get("verify_keys") or {}).items()}
        sigs = sorted(((body.get("signatures") or {}).get(server_name) or {}))
        ok = (status == 200 and body.get("server_name") == server_name and served == file_keys
              and sigs == sorted(file_keys))
        res.check(fx, "synapse: /_matrix/key/v2/server is for server_name, with the key of the signing key file "
                      "(verify_keys and signature)", ok,
                  f"server_name {body.get('server_name')}, keys {sorted(served)}" if ok else
                  f"status {status}, server_name {body.get('server_name')!r} (want {server_name!r}), "
                  f"verify_keys {served}, file {file_keys}, signed by {sigs}")

    # ---- /.well-known
    def check_well_known(self, url: str, hs: dict) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        status, _, raw = http("GET", url + "/.well-known/matrix/client")
        body = as_json(raw)
        if status == 200 and isinstance(body, dict):
            self.well_known_client = body
        base_url = hs.get("public_baseurl")
        ok = status == 200 and isinstance(body, dict) and body.get("m.homeserver", {}).get("base_url") == base_url
        res.check(fx, "synapse: /.well-known/matrix/client answers with m.homeserver.base_url = public_baseurl",
                  ok, f"status {status}, body {raw[:300]!r}")
        if not ok:
            return
        key = "org.matrix.msc4143.rtc_foci"
        extra = hs.get("extra_well_known_client_content") or {}
        rendered_foci = extra.get(key)
        rtc_on = any(dep["metadata"]["name"] in ("livekit", "matrixrtc-jwt") for dep in self.r.of_kind("Deployment"))
        served = body.get(key)
        if rtc_on:
            urls = [f.get("livekit_service_url") for f in (rendered_foci or []) if isinstance(f, dict)]
            served_urls = [f.get("livekit_service_url") for f in (served or []) if isinstance(f, dict)]
            ok = bool(urls) and served == rendered_foci and served_urls == urls and all(
                isinstance(u, str) and u.startswith("https://") for u in urls)
            res.check(fx, f"synapse: /.well-known/matrix/client has {key} with the rendered livekit_service_url "
                          "(MatrixRTC on)", ok,
                      f"served {json.dumps(served)}" if ok else
                      f"rendered {json.dumps(rendered_foci)}, served {json.dumps(served)}")
        else:
            res.check(fx, f"synapse: /.well-known/matrix/client has no {key} (MatrixRTC off)",
                      served is None and rendered_foci is None,
                      f"rendered {json.dumps(rendered_foci)}, served {json.dumps(served)}")
        for k, v in extra.items():
            if k != key:
                res.check(fx, f"synapse: /.well-known/matrix/client serves extra key {k} as rendered",
                          body.get(k) == v, f"served {json.dumps(body.get(k))}")

        status, _, raw = http("GET", url + "/.well-known/matrix/server")
        server_name = str(hs.get("server_name"))
        if hs.get("serve_server_wellknown", False):
            want_host = server_name if re.search(r":\d+$", server_name) else f"{server_name}:443"
            got = as_json(raw)
            self.well_known_server = got
            res.check(fx, "synapse: /.well-known/matrix/server = {\"m.server\": \"<server_name>:443\"} "
                          "(serve_server_wellknown: true)",
                      status == 200 and got == {"m.server": want_host}, f"status {status}, body {raw[:200]!r}")
        else:
            res.check(fx, "synapse: /.well-known/matrix/server is 404 (serve_server_wellknown: false)",
                      status == 404, f"status {status}, body {raw[:200]!r}")

    # ---- register_new_matrix_user, login, /voip/turnServer
    def check_register_and_turn(self, url: str, hs: dict) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        sname, shared = self.r.secret_value("REGISTRATION_SHARED_SECRET")
        if not res.check(fx, "synapse: one rendered Secret has REGISTRATION_SHARED_SECRET", shared is not None):
            return
        password = secrets.token_urlsafe(18)
        # `--opt=value`: a value starting with "-" (token_urlsafe makes one
        # time in 64) would otherwise be read as an option by argparse.
        cmd = [self.ctx.register_cmd, f"--shared-secret={shared.decode()}", "-u", "alice",
               f"--password={password}", "--no-admin", url]
        t0 = time.monotonic()
        rc, out = run_cmd(cmd, REGISTER_TIMEOUT, self.work, child_env())
        shown = out.replace(shared.decode(), "<secret>").replace(password, "<password>")
        if not res.check(fx, "synapse: register_new_matrix_user "
                             f"--shared-secret=<{sname}.REGISTRATION_SHARED_SECRET> -u alice --no-admin exits 0",
                         rc == 0,
                         f"{time.monotonic() - t0:.1f} s" if rc == 0 else f"exit {rc}\n{tail(shown)}"):
            return
        status, _, raw = http("POST", url + "/_matrix/client/v3/login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": password,
        })
        body = as_json(raw) or {}
        token = body.get("access_token")
        if not res.check(fx, "synapse: alice logs in with her password (/_matrix/client/v3/login)",
                         status == 200 and bool(token), f"status {status}, body {raw[:300]!r}"):
            return
        want_name = vget(self.r.values, "global.serverName") or vget(self.r.values, "global.domain")
        want_id = f"@alice:{want_name}"
        status, _, raw = http("GET", url + "/_matrix/client/v3/account/whoami", token=token)
        who = (as_json(raw) or {}).get("user_id")
        res.check(fx, "synapse: the registered user is @alice:<global.serverName, else global.domain> "
                      "(login and /account/whoami)", body.get("user_id") == want_id and who == want_id,
                  f"login user_id {body.get('user_id')!r}, whoami {who!r} (status {status}), want {want_id!r}")

        coturn_dep, _ = self.r.deployment_running(lambda a: bool(a) and os.path.basename(a[0]) == "turnserver")
        status, _, raw = http("GET", url + "/_matrix/client/v3/voip/turnServer", token=token)
        body = as_json(raw)
        if coturn_dep is None:
            res.check(fx, "synapse: /voip/turnServer gives no TURN server (coturn off)",
                      status == 200 and not (body or {}).get("uris"), f"status {status}, body {raw[:300]!r}")
            return
        want_uris = hs.get("turn_uris")
        ok = (status == 200 and isinstance(body, dict) and body.get("uris") == want_uris and bool(want_uris)
              and bool(body.get("username")) and bool(body.get("password")))
        res.check(fx, "synapse: /voip/turnServer returns the rendered turn_uris and a username/password", ok,
                  f"uris {body.get('uris')}, ttl {body.get('ttl')}" if ok else
                  f"status {status}, body {raw[:400]!r}, rendered turn_uris {want_uris}")
        if not ok:
            return
        user = body["username"]
        tname, turn_secret = self.r.secret_value("TURN_SHARED_SECRET")
        want_user = re.fullmatch(r"\d+:@alice:" + re.escape(str(hs.get("server_name"))), user) is not None
        if turn_secret is not None:
            want_pw = base64.b64encode(hmac.new(turn_secret, user.encode(), hashlib.sha1).digest()).decode()
            res.check(fx, f"synapse: TURN password = base64(HMAC-SHA1(<{tname}.TURN_SHARED_SECRET>, username))",
                      want_user and body["password"] == want_pw, f"username {user}")
        lifetime = parse_duration_ms(hs.get("turn_user_lifetime", "1h"))
        if lifetime is not None:
            res.check(fx, "synapse: /voip/turnServer ttl = turn_user_lifetime", body.get("ttl") == lifetime // 1000,
                      f"ttl {body.get('ttl')}, turn_user_lifetime {hs.get('turn_user_lifetime')}")
        self.turn_creds = {"username": user, "password": body["password"], "source": "synapse /voip/turnServer"}


# --------------------------------------------------------------------------
# b. coturn

# Lines of the rendered turnserver.conf removed on the test's copy. coturn ADDS
# the listening-ip / relay-ip of the file to those of the command line (it does
# not replace them), so a command-line option cannot take their place:
#   listening-ip  (0.0.0.0 in the render): would listen on every address.
#   relay-ip      (the node address): not an address of this machine.
#   external-ip   (the public address): coturn would hand it out as the relayed
#                 address, and the client would send its relay traffic there,
#                 off this machine.
# Each is replaced by a 127.0.0.1 option on the command line (none for
# external-ip). Their values are still checked to be IP addresses.
COTURN_REMOVED_KEYS = ("listening-ip", "relay-ip", "external-ip")


def coturn_conf_copy(text: str) -> tuple[str, dict[str, list[str]]]:
    removed: dict[str, list[str]] = {}
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*([A-Za-z0-9_-]+)\s*(?:=\s*(.*?))?\s*$", line)
        if m and not line.lstrip().startswith("#") and m.group(1) in COTURN_REMOVED_KEYS:
            removed.setdefault(m.group(1), []).append(m.group(2) or "")
            out.append(f"# removed by tests/real/run.py (loopback only): {line}")
        else:
            out.append(line)
    return "\n".join(out) + "\n", removed


def conf_values(text: str) -> dict[str, list[str]]:
    vals: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        vals.setdefault(k.strip(), []).append(v.strip())
    return vals


def coturn_checks(ctx: "Ctx", rendered: Rendered, work: str, hs: dict | None, creds: dict | None) -> None:
    fx, res = ctx.fixture, ctx.res
    dep, container = rendered.deployment_running(lambda a: bool(a) and os.path.basename(a[0]) == "turnserver")
    if dep is None:
        res.info(fx, "coturn: no coturn Deployment: not run")
        return
    pod = Pod(rendered, dep, os.path.join(work, "coturn-pod"), fx, res)
    if not res.check(fx, "coturn: pod volumes are all rendered (existingSecret references aside)",
                     not pod.problems, "; ".join(pod.problems)):
        return
    cmd, unset = expand_k8s_vars(list(container.get("command", [])) + list(container.get("args", [])),
                                 container, pod.rendered)
    used = {m_ for a in cmd for m_ in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", a)}
    external = [f"env {v}: {why}" for v, why in sorted(unset.items())
                if v in used and "existingSecret reference" in why]
    external += pod.external
    if not res.check(fx, "coturn: runnable here (every Secret its command and volumes use is rendered)",
                     not external, ("NOT RUNNABLE by this test: " + "; ".join(external)) if external else ""):
        return
    unexpanded = [a for a in cmd if re.search(r"\$\([A-Za-z_]", a)]
    if not res.check(fx, "coturn: every $(VAR) of the container command is set from its env",
                     not unexpanded, " ".join(unexpanded) + "".join(
                         f"; {v}: {why}" for v, why in sorted(unset.items()) if v in used)):
        return
    conf_pod = arg_after(cmd, "-c")
    conf_host = pod.remap(conf_pod) if conf_pod else None
    if not res.check(fx, "coturn: -c names a file in a mounted volume", bool(conf_host and os.path.isfile(conf_host)),
                     str(conf_pod)):
        return
    text = read_text(conf_host)
    copy_text, removed = coturn_conf_copy(text)
    bad = [f"{k}={v}" for k, vs in removed.items() for v in vs if not _is_ip(v)]
    res.check(fx, "coturn: the address lines replaced for loopback (listening-ip, relay-ip, external-ip) hold IPs",
              not bad, ", ".join(bad) if bad else ", ".join(f"{k}={v}" for k, vs in removed.items() for v in vs))
    vals = conf_values(text)

    # turn_uris (Synapse) against the ports coturn listens on.
    if hs and hs.get("turn_uris"):
        plain = vals.get("listening-port", ["3478"])[-1]
        tls = vals.get("tls-listening-port", ["5349"])[-1]
        wrong = []
        for uri in hs["turn_uris"]:
            m = re.match(r"(turns?):([^:?]+)(?::(\d+))?", uri)
            if not m:
                wrong.append(f"{uri}: not a turn: URI")
                continue
            want = tls if m.group(1) == "turns" else plain
            got = m.group(3) or ("5349" if m.group(1) == "turns" else "3478")
            if got != want:
                wrong.append(f"{uri}: port {got}, turnserver.conf has {want}")
        res.check(fx, "coturn: turn_uris ports match listening-port / tls-listening-port", not wrong, "; ".join(wrong))

    conf_copy = os.path.join(work, "turnserver.conf")
    with open(conf_copy, "w", encoding="utf-8") as f:
        f.write(copy_text)
    # Not in the rendered relay range (min-port..max-port), which coturn keeps
    # for the relayed addresses on 127.0.0.1.
    try:
        relay = range(int(vals.get("min-port", ["49152"])[-1]), int(vals.get("max-port", ["65535"])[-1]) + 1)
    except ValueError:
        relay = range(0)
    port = free_port(udp=True, span=2, avoid=relay)  # coturn may also take port+1 (alt port)
    tls_port = free_port(udp=True, span=2, avoid=relay)
    pidfile = os.path.join(work, "turnserver.pid")
    args = []
    i = 1
    while i < len(cmd):  # the Deployment's args, with -c pointing at the copy
        if cmd[i] == "-c" and i + 1 < len(cmd):
            args += ["-c", conf_copy]
            i += 2
            continue
        args.append(cmd[i])
        i += 1
    overrides = [
        f"--listening-ip={LOOPBACK}",        # instead of the removed listening-ip
        f"--relay-ip={LOOPBACK}",            # instead of the removed relay-ip
        f"--listening-port={port}",          # a free port instead of 3478
        f"--tls-listening-port={tls_port}",  # a free port instead of 5349 (unused: --no-tls)
        "--no-tls", "--no-dtls",             # no certificate here (cert-manager makes it)
        "--allow-loopback-peers",            # the peers (the relays of -y) are on 127.0.0.1
        f"--allowed-peer-ip={LOOPBACK}",     # ... which the rendered denied-peer-ip 127.0.0.0/8 blocks
        f"--pidfile={pidfile}",              # instead of /tmp/turnserver.pid
        "--log-file=stdout",                 # as rendered; collected in coturn.log
        f"--userdb={os.path.join(work, 'turndb')}",  # SQLite user DB in the temp dir, not /var/lib/turn
    ]
    full = ["turnserver"] + args + overrides
    shown = [a if not a.startswith("--static-auth-secret=") else "--static-auth-secret=<secret>" for a in full]
    res.info(fx, "coturn: " + " ".join(shlex.quote(a) for a in shown))
    log_path = os.path.join(work, "coturn.log")
    t0 = time.monotonic()
    proc = start_process(full, log_path, work, child_env())
    try:
        up = wait_tcp(port, proc, COTURN_START_TIMEOUT)
        if not res.check(fx, "coturn: turnserver starts and listens on 127.0.0.1", up,
                         f"{time.monotonic() - t0:.1f} s" if up else
                         f"process exit {proc.poll()}\n{tail(read_text(log_path), 40)}"):
            return
        time.sleep(0.5)  # relay threads
        if creds is None:
            # Synapse did not hand out credentials (its checks failed above):
            # compute them the same way (TURN REST API) from the rendered Secret.
            _, sec = rendered.secret_value("TURN_SHARED_SECRET")
            if sec is None:
                res.check(fx, "coturn: TURN credentials available", False, "no Secret with TURN_SHARED_SECRET")
                return
            user = f"{int(time.time()) + 3600}:@alice:{(hs or {}).get('server_name', 'localhost')}"
            pw = base64.b64encode(hmac.new(sec, user.encode(), hashlib.sha1).digest()).decode()
            creds = {"username": user, "password": pw, "source": "computed (Synapse gave none)"}
        res.info(fx, f"coturn: TURN credentials from {creds['source']}: username {creds['username']}")
        for label, extra in (("UDP", []), ("TCP", ["-t"])):
            ucmd = ["timeout", str(UCLIENT_TIMEOUT), "turnutils_uclient", *extra, "-y",
                    "-u", creds["username"], "-w", creds["password"], "-p", str(port), LOOPBACK]
            t1 = time.monotonic()
            rc, out = run_cmd(ucmd, UCLIENT_TIMEOUT + 10, work, child_env())
            m = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
            sent, recv = (int(m[-1][0]), int(m[-1][1])) if m else (0, 0)
            lost = re.findall(r"Total lost packets (\d+)", out)
            ok = rc == 0 and "ERROR" not in out and recv > 0
            res.check(fx, f"coturn: turnutils_uclient {' '.join(extra + ['-y'])} allocates over {label} and relays data",
                      ok, f"sent {sent}, received {recv}, lost {lost[-1] if lost else '?'}, "
                          f"{time.monotonic() - t1:.1f} s" if ok else
                      f"exit {rc}\n{tail(out.replace(creds['password'], '<password>'))}")
        alive = proc.poll() is None
        res.check(fx, "coturn: still running after the clients", alive,
                  "" if alive else f"exit {proc.poll()}\n{tail(read_text(log_path))}")
    finally:
        stop_process(proc)
        res.info(fx, f"coturn stopped (exit {proc.returncode}), was up {time.monotonic() - t0:.1f} s")
    log = read_text(log_path)
    fatal = [ln for ln in log.splitlines()
             if "Bad configuration format" in ln or "WARNING: cannot" in ln or "CONFIG ERROR" in ln]
    res.check(fx, "coturn: log has no 'Bad configuration format' / 'WARNING: cannot' / 'CONFIG ERROR'",
              not fatal, "\n".join("    | " + ln for ln in fatal[:20]))
    ours = ("allow_loopback_peers", "only one IP address is provided")
    for ln in dict.fromkeys(ln.strip() for ln in log.splitlines()
                            if re.search(r"WARNING|ERROR", ln) and ln not in fatal):
        note = " (caused by the test's loopback overrides)" if any(o in ln for o in ours) else ""
        res.info(fx, f"coturn log: {ln[:300]}{note}")


def _is_ip(v: str) -> bool:
    # external-ip may be "public" or "public/private"
    try:
        for part in v.split("/"):
            ipaddress.ip_address(part.strip())
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------
# c. nginx: the static pages (element-static) and the delegation files
#    (matrix-wellknown). Both run the Deployment's own command line on a copy of
#    the rendered nginx.conf with only the mount paths and the listen address
#    substituted (nginx_setup).

WELLKNOWN = "matrix-wellknown"  # ConfigMap (and Deployment) of the delegation files


def routes_to(rendered: Rendered, dep: dict) -> list[dict]:
    """Every Ingress path and HTTPRoute match whose backend is a Service that
    selects the Deployment's pods: {kind, name, hosts, type, path, service,
    port, container_port} where container_port is the Deployment's
    containerPort the Service port's targetPort resolves to (None if it does
    not resolve)."""
    labels = dep["spec"]["template"]["metadata"].get("labels", {})
    cports = {}
    for c in dep["spec"]["template"]["spec"].get("containers", []):
        for p in c.get("ports", []):
            cports[p.get("containerPort")] = p.get("containerPort")
            if p.get("name"):
                cports[p["name"]] = p.get("containerPort")
    services = {
        s["metadata"]["name"]: s
        for s in rendered.of_kind("Service")
        if s["spec"].get("selector") and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
    }

    def target(svc_name: str, port) -> int | None:
        for sp in services[svc_name]["spec"].get("ports", []):
            if port in (sp.get("port"), sp.get("name")):
                return cports.get(sp.get("targetPort", sp.get("port")))
        return None

    out = []
    for ing in rendered.of_kind("Ingress"):
        for rule in ing["spec"].get("rules", []):
            for p in (rule.get("http") or {}).get("paths", []):
                svc = p.get("backend", {}).get("service", {})
                if svc.get("name") in services:
                    port = svc.get("port", {}).get("number", svc.get("port", {}).get("name"))
                    out.append({"kind": "Ingress", "name": ing["metadata"]["name"],
                                "hosts": [rule["host"]] if rule.get("host") else [],
                                "type": p.get("pathType", "ImplementationSpecific"), "path": p.get("path", "/"),
                                "service": svc["name"], "port": port, "container_port": target(svc["name"], port)})
    for rt in rendered.of_kind("HTTPRoute"):
        for rule in rt["spec"].get("rules", []):
            backends = [b for b in rule.get("backendRefs", [])
                        if b.get("kind", "Service") == "Service" and b.get("name") in services]
            for b in backends:
                for match in rule.get("matches") or [{}]:
                    path = match.get("path") or {}
                    out.append({"kind": "HTTPRoute", "name": rt["metadata"]["name"],
                                "hosts": list(rt["spec"].get("hostnames") or []),
                                "type": path.get("type", "PathPrefix"), "path": path.get("value", "/"),
                                "service": b["name"], "port": b.get("port"),
                                "container_port": target(b["name"], b.get("port"))})
    return out


def route_matches(rt: dict, host: str | None, path: str) -> bool:
    """Whether a request for host/path is selected by the route (Ingress and
    Gateway API path semantics; Prefix is element-wise; ImplementationSpecific
    is taken as a prefix, as ingress-nginx does)."""
    if host is not None and rt["hosts"] and host not in rt["hosts"]:
        return False
    if rt["type"] == "Exact":
        return path == rt["path"]
    if rt["type"] == "RegularExpression":
        return re.fullmatch(rt["path"], path) is not None
    prefix = rt["path"].rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def route_desc(rt: dict) -> str:
    return (f"{rt['kind']} {rt['name']}: {','.join(rt['hosts']) or '*'} {rt['type']} {rt['path']} -> "
            f"Service {rt['service']}:{rt['port']}")


class NginxSetup:
    """An nginx Deployment's pod laid out under work/, the copy of its
    nginx.conf and its command line, after `nginx -t` accepted the copy."""

    def __init__(self, pod: Pod, container: dict, cmd: list[str], conf_pod: str, text: str, port: int,
                 full: list[str], work: str, run_as: RunAs | None = None):
        self.pod, self.container, self.cmd, self.conf_pod, self.text = pod, container, cmd, conf_pod, text
        self.port, self.full, self.work, self.run_as = port, full, work, run_as
        # The pod tree outside its emptyDirs, as it was before nginx first ran
        # (tree_state), and those emptyDirs (host paths).
        self.tree_before: dict[str, tuple] = {}
        self.empty_dirs: list[str] = []
        self.errlog = os.path.join(work, "nginx-error.log")
        self.log_path = os.path.join(work, "nginx.log")
        self.base = f"http://{LOOPBACK}:{port}"
        self.proc: subprocess.Popen | None = None
        self.t0 = 0.0


def tree_state(root: str, skip: list[str]) -> dict[str, tuple]:
    """{path relative to root: (kind, mode, uid, gid, size, mtime_ns, sha256)}
    of everything under root except the directories in `skip` (and their content)."""
    state: dict[str, tuple] = {}
    skip_set = {os.path.normpath(p) for p in skip}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.normpath(os.path.join(d, x)) not in skip_set]
        for name in [""] + dirs + files:
            path = os.path.join(d, name) if name else d
            st = os.lstat(path)
            digest = ""
            if name in files and os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            kind = "dir" if os.path.isdir(path) and not os.path.islink(path) else "file"
            # (a directory's mtime changes with any entry made or removed in it)
            state[os.path.relpath(path, root)] = (kind, st.st_mode, st.st_uid, st.st_gid, st.st_size,
                                                  st.st_mtime_ns, digest)
    return state


def pod_run_as(dep: dict, container: dict) -> tuple[RunAs | None, str]:
    """The user the container runs as (its securityContext over the pod's), or
    None with the reason when that is not a fixed non-root user."""
    psc = dep["spec"]["template"]["spec"].get("securityContext") or {}
    csc = container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    gid = csc.get("runAsGroup", psc.get("runAsGroup"))
    if uid is None:
        return None, "no runAsUser: the image's user"
    if uid == 0:
        return None, "runAsUser 0"
    fs_group = int(psc["fsGroup"]) if psc.get("fsGroup") is not None else None
    groups = ([fs_group] if fs_group is not None else []) + [int(g) for g in psc.get("supplementalGroups") or []]
    return RunAs(int(uid), int(gid if gid is not None else 0), list(dict.fromkeys(groups)), fs_group), ""


def pod_permissions(pod: Pod, image_files: list[str], image_paths: tuple[str, ...], run_as: RunAs) -> None:
    """Ownership and modes as in the pod: the directories of the tree and the
    image's files root-owned and not writable by the pod's user (the image's
    files and directories read-only: r-x / r--); ConfigMap/Secret volumes
    root-owned with group fsGroup, read-only (they are read-only mounts);
    emptyDirs 0777 (+ setgid and group fsGroup with an fsGroup), as the kubelet
    makes them."""
    fs_group = run_as.fs_group or 0
    image_dirs = {pod.host(p) for p in image_paths}
    for p in image_files:
        d = os.path.dirname(pod.host(p))
        while d.startswith(pod.root.rstrip("/") + "/"):
            image_dirs.add(d)
            d = os.path.dirname(d)
    for d, _dirs, files in os.walk(pod.root):
        os.chown(d, 0, 0)
        os.chmod(d, 0o555 if d in image_dirs else 0o755)
        for fn in files:
            os.chown(os.path.join(d, fn), 0, 0)
            os.chmod(os.path.join(d, fn), 0o444)
    for mp, vname in pod.mounts.items():
        vol = pod.volumes.get(vname, {})
        host = pod.host(mp)
        if "emptyDir" in vol:
            os.chown(host, 0, fs_group)
            os.chmod(host, 0o2777 if fs_group else 0o777)
        elif os.path.isdir(host):  # ConfigMap/Secret volumes are mounted read-only
            for d, _dirs, files in os.walk(host):
                os.chown(d, 0, fs_group)
                os.chmod(d, 0o555)
                for fn in files:
                    os.chown(os.path.join(d, fn), 0, fs_group)
                    os.chmod(os.path.join(d, fn), 0o444)
        elif os.path.exists(host):  # a subPath file
            os.chown(host, 0, fs_group)
            os.chmod(host, 0o444)


def nginx_setup(ctx: "Ctx", rendered: Rendered, dep: dict, container: dict, work: str, label: str,
                image_files: dict[str, bytes] | None = None, image_paths: tuple[str, ...] = (),
                run_as: RunAs | None = None) -> NginxSetup | None:
    """The pod laid out under work/nginx-pod, the conf copy, `nginx -t`.

    image_files: {pod path: content} of files the image provides (stand-ins),
    written where no volume mount shadows them; image_paths: directories of the
    image the conf names (remapped into the pod tree like the mount paths);
    run_as: the pod's user: nginx is then run as that user on a tree laid out
    as the kubelet does (pod_permissions)."""
    fx, res = ctx.fixture, ctx.res
    root = os.path.join(work, "nginx-pod")
    pod = Pod(rendered, dep, root, fx, res)
    blockers = pod.problems + pod.external
    if not res.check(fx, f"{label}: pod volumes are all rendered", not blockers, "; ".join(blockers)):
        return None
    image_written: list[str] = []
    for pod_path, content in sorted((image_files or {}).items()):
        if pod.remap(pod_path) is not None:
            res.info(fx, f"{label}: the image's {pod_path} is shadowed by a volume mount: not laid out")
            continue
        host = pod.host(pod_path)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "wb") as f:
            f.write(content)
        image_written.append(pod_path)
    cmd = list(container.get("command", [])) + list(container.get("args", []))
    conf_pod = arg_after(cmd, "-c")
    conf_host = pod.remap(conf_pod) if conf_pod else None
    if not res.check(fx, f"{label}: -c names a file in a mounted volume", bool(conf_host and os.path.isfile(conf_host)),
                     str(conf_pod)):
        return None
    text = read_text(conf_host)

    # ---- the copy: text substitutions, each documented
    port = free_port()
    subs = []
    new = text
    # 1. every volume mountPath (/usr/share/nginx/html/pages, .../static-assets,
    #    /etc/nginx/custom, /etc/nginx/well-known, /tmp, ...) -> the same
    #    directory in the temp pod tree. One pass over the text (longest
    #    mountPath first), so that a replaced path (itself under /tmp) is never
    #    replaced again.
    #    The image's directories the conf names (image_paths, e.g. Element's
    #    /app) likewise.
    mps = sorted({mp.rstrip("/") or "/" for mp in list(pod.mounts) + list(image_paths)}, key=len, reverse=True)
    counts: dict[str, int] = {}

    def mount_sub(m: re.Match) -> str:
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
        return pod.host(m.group(0)).rstrip("/")

    pat = re.compile(r"(?<![\w./-])(?:" + "|".join(re.escape(mp) for mp in mps) + r")(?=[/;\s\"']|$)")
    new = pat.sub(mount_sub, new)
    subs += [f"{mp} -> {pod.host(mp)} ({n}x)" for mp, n in counts.items()]
    # 2. listen <port> -> listen 127.0.0.1:<free port>
    listen_ports = []

    def listen_sub(m: re.Match) -> str:
        pm = re.search(r"(\d+)\s*$", m.group(2).split()[0])
        listen_ports.append(int(pm.group(1)) if pm else None)
        rest = " ".join(m.group(2).split()[1:])
        return f"{m.group(1)}listen {LOOPBACK}:{port}{(' ' + rest) if rest else ''};"

    new = re.sub(r"(^|\n[ \t]*|[;{][ \t]*)listen\s+([^;]+);", listen_sub, new)
    subs.append(f"listen {listen_ports} -> listen {LOOPBACK}:{port}")
    # 3. /etc/nginx/mime.types stays: the Debian package has it (as the image does).
    res.info(fx, f"{label} conf substitutions: " + "; ".join(subs))
    if not res.check(fx, f"{label}: the conf has exactly one listen directive", len(listen_ports) == 1,
                     f"listen ports {listen_ports}"):
        return None
    cports = [p.get("containerPort") for p in container.get("ports", [])]
    res.check(fx, f"{label}: listens on the Deployment's containerPort", listen_ports[0] in cports,
              f"listen {listen_ports[0]}, containerPorts {cports}")
    conf_copy = os.path.join(work, "nginx.conf")
    with open(conf_copy, "w", encoding="utf-8") as f:
        f.write(new)
    # nginx (root here) runs its workers as `nobody`: let them read the tree.
    for d, _dirs, files in os.walk(work):
        os.chmod(d, 0o755)
        for fn in files:
            os.chmod(os.path.join(d, fn), os.stat(os.path.join(d, fn)).st_mode | 0o444)
    # ... and the temporary directories above it, up to real-programs-* (only
    # directories this script made).
    d = os.path.dirname(work)
    while d not in ("/", ""):
        os.chmod(d, os.stat(d).st_mode | 0o005)
        if os.path.basename(d).startswith("real-programs-"):
            break
        d = os.path.dirname(d)
    if run_as is not None:
        pod_permissions(pod, image_written, image_paths, run_as)

    args = []
    i = 1
    while i < len(cmd):  # the Deployment's args, with -c pointing at the copy
        if cmd[i] == "-c" and i + 1 < len(cmd):
            args += ["-c", conf_copy]
            i += 2
            continue
        args.append(cmd[i])
        i += 1
    setup = NginxSetup(pod, container, cmd, conf_pod, text, port, [], work, run_as)
    # and `-e <error log>` (the log before the conf's error_log is read)
    setup.full = ["nginx"] + args + ["-e", setup.errlog]
    if run_as is not None:
        with open(setup.errlog, "wb"):
            pass
        os.chown(setup.errlog, run_as.uid, run_as.gid)
    setup.empty_dirs = [pod.host(mp) for mp, v in pod.mounts.items() if "emptyDir" in pod.volumes.get(v, {})]
    setup.tree_before = tree_state(pod.root, setup.empty_dirs)
    t0 = time.monotonic()
    rc, out = run_cmd(["nginx", "-t"] + args + ["-e", setup.errlog], 30, work, child_env(), run_as)
    if not res.check(fx, f"{label}: nginx -t accepts the config", rc == 0,
                     f"{time.monotonic() - t0:.1f} s" if rc == 0 else f"exit {rc}\n{tail(out)}"):
        return None
    return setup


def nginx_start(ctx: "Ctx", setup: NginxSetup, label: str) -> bool:
    fx, res = ctx.fixture, ctx.res
    res.info(fx, f"{label}: " + " ".join(shlex.quote(a) for a in setup.full))
    setup.proc = start_process(setup.full, setup.log_path, setup.work, child_env(), setup.run_as)
    setup.t0 = time.monotonic()
    up = wait_tcp(setup.port, setup.proc, NGINX_START_TIMEOUT)
    return res.check(fx, f"{label}: starts and listens on 127.0.0.1", up,
                     f"{time.monotonic() - setup.t0:.1f} s" if up else
                     f"exit {setup.proc.poll()}\n{tail(read_text(setup.log_path) + read_text(setup.errlog))}")


def nginx_probes(ctx: "Ctx", setup: NginxSetup, label: str, healthz: bool = True) -> None:
    """/healthz (unless not healthz) and every httpGet probe path of the
    container answer 200."""
    probe_paths = {"/healthz"} if healthz else set()
    for p in ("readinessProbe", "livenessProbe", "startupProbe"):
        hg = (setup.container.get(p) or {}).get("httpGet")
        if hg and hg.get("path"):
            probe_paths.add(hg["path"])
    for p in sorted(probe_paths):
        status, _, raw = http("GET", setup.base + p)
        ctx.res.check(ctx.fixture, f"{label}: GET {p} is 200", status == 200, f"status {status}, body {raw[:100]!r}")


def nginx_stop(ctx: "Ctx", setup: NginxSetup, label: str) -> None:
    """Stop nginx (if it was started) and look at its logs."""
    fx, res = ctx.fixture, ctx.res
    if setup.proc is None:
        return
    stop_process(setup.proc)
    res.info(fx, f"{label} stopped (exit {setup.proc.returncode}), was up {time.monotonic() - setup.t0:.1f} s")
    setup.proc = None
    log = read_text(setup.errlog) + read_text(setup.log_path)
    fatal = [ln for ln in log.splitlines() if re.search(r"\[(emerg|alert|crit)\]", ln)]
    res.check(fx, f"{label}: no [emerg]/[alert]/[crit] in its logs", not fatal, "\n".join(fatal[:10]))
    for ln in dict.fromkeys(ln for ln in log.splitlines() if re.search(r"\[(warn|error)\]", ln)):
        res.info(fx, f"{label} log: {ln[:300]}")


STATIC_PAGES_COMPONENT = "static-pages"  # app.kubernetes.io/component of the static-pages pods


def nginx_checks(ctx: "Ctx", rendered: Rendered, work: str) -> None:
    """The static pages: the nginx Deployment whose pods are the
    `app.kubernetes.io/component: static-pages` (the well-known one is checked
    in d., Element's own nginx in e.)."""
    fx, res = ctx.fixture, ctx.res
    is_nginx = lambda a: bool(a) and os.path.basename(a[0]) == "nginx"  # noqa: E731
    others = tuple(
        d["metadata"]["name"] for d in rendered.of_kind("Deployment")
        if d["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        != STATIC_PAGES_COMPONENT)
    dep, container = rendered.deployment_running(is_nginx, exclude=others)
    wk = {d["metadata"]["name"] for d in rendered.deployments_mounting_configmap(WELLKNOWN)}
    for name in others:
        rest = tuple(n for n in others if n != name) + ((dep["metadata"]["name"],) if dep else ())
        if name not in wk and name != ELEMENT and rendered.deployment_running(is_nginx, exclude=rest)[0]:
            res.info(fx, f"nginx: Deployment {name} also runs nginx (not the static pages, not the well-known "
                         "files): not run here")
    if dep is None:
        res.info(fx, f"nginx: no static-pages Deployment (component {STATIC_PAGES_COMPONENT}, nginx): not run")
        return
    setup = nginx_setup(ctx, rendered, dep, container, work, "nginx")
    if setup is None:
        return
    pod, text, conf_pod = setup.pod, setup.text, setup.conf_pod

    # Which location serves which volume (from the ORIGINAL conf).
    served: list[tuple[str, str, dict]] = []  # (location prefix, mountPath, location body)
    for m in re.finditer(r"location\s+(?:\^~\s+)?(/[^\s{]*)\s*\{([^}]*)\}", text):
        loc, body = m.group(1), m.group(2)
        am = re.search(r"\b(alias|root)\s+([^;]+);", body)
        if not am:
            continue
        kind, target = am.group(1), am.group(2).strip().rstrip("/")
        for mp in sorted(pod.mounts, key=len, reverse=True):
            m_ = mp.rstrip("/")
            if kind == "alias" and target == m_:
                # alias <mount>/: <loc><name> is <mount>/<name>
                served.append((loc, mp, {"kind": kind, "url": loc.rstrip("/"), "body": body}))
                break
            if kind == "root" and (m_ == target or m_.startswith(target + "/")):
                # root <dir>: <uri> is <dir><uri>, so <mount>/<name> is <mount - dir>/<name>
                url = m_[len(target):]
                if (url + "/").startswith(loc.rstrip("/") + "/") or loc == "/":
                    served.append((loc, mp, {"kind": kind, "url": url, "body": body}))
                    break

    try:
        if not nginx_start(ctx, setup, "nginx"):
            return
        base = setup.base
        nginx_probes(ctx, setup, "nginx")

        # Ingress paths / HTTPRoute matches whose backend is the static-pages Service.
        routes = routes_to(rendered, dep)
        cports = [p.get("containerPort") for p in container.get("ports", [])]
        for rt in routes:
            res.check(fx, f"nginx: route {route_desc(rt)} reaches the nginx containerPort",
                      rt["container_port"] in cports, f"targetPort resolves to {rt['container_port']}, "
                                                      f"containerPorts {cports}")
        # Every ConfigMap/Secret volume but the one holding nginx.conf is
        # content, and some location must serve it.
        conf_mount = next(mp for mp in sorted(pod.mounts, key=len, reverse=True)
                          if conf_pod.startswith(mp.rstrip("/") + "/"))
        for mp, vname in sorted(pod.mounts.items()):
            vol = pod.volumes.get(vname, {})
            if mp == conf_mount or not ("configMap" in vol or "secret" in vol or "projected" in vol):
                continue
            cm = (vol.get("configMap") or {}).get("name") or (vol.get("secret") or {}).get("secretName") or vname
            locs = [loc for loc, m, _ in served if m == mp]
            res.check(fx, f"nginx: a location of nginx.conf serves {cm} (mounted at {mp})", bool(locs),
                      f"location(s) {locs}" if locs else
                      "no location has an alias/root into it; locations with alias/root: " +
                      ", ".join(f"{m_.group(1)} -> {m_.group(2).strip()}" for m_ in re.finditer(
                          r"location\s+(?:\^~\s+)?(/[^\s{]*)\s*\{[^}]*\b(?:alias|root)\s+([^;]+);", text)))
        for p_ in sorted({rt["path"] for rt in routes}):
            if p_.rstrip("/") == "":
                continue  # "/" is Element's own path, not the static pages'
            hit = any(loc.rstrip("/") == p_.rstrip("/") or loc.startswith(p_.rstrip("/") + "/")
                      for loc, _, _ in served)
            res.check(fx, f"nginx: route path {p_} (to the static-pages Service) is served from a volume", hit,
                      f"locations with a volume: {[loc for loc, _, _ in served]}")
        for loc, mp, info in served:
            vol = pod.volumes[pod.mounts[mp]]
            cm = (vol.get("configMap") or {}).get("name") or (vol.get("secret") or {}).get("secretName") \
                or pod.mounts[mp]
            files = {k: v for k, (v, _mode) in volume_files(rendered, vol)[0].items()}
            prefix = info["url"]
            routed = [rt for rt in routes if route_matches(rt, None, f"{prefix}/")]
            res.check(fx, f"nginx: an Ingress/HTTPRoute routes {prefix}/ to the static-pages Service", bool(routed),
                      "; ".join(route_desc(rt) for rt in routed) if routed else
                      "routes to it: " + ("; ".join(route_desc(rt) for rt in routes) or "none"))
            if not res.check(fx, f"nginx: ConfigMap {cm} (served at {prefix}/) has files", bool(files)):
                continue
            for name, want in sorted(files.items()):
                path = f"{prefix}/{name}"
                status, headers, raw = http("GET", base + path)
                ctype = (headers or {}).get("Content-Type", "") if headers else ""
                res.check(fx, f"nginx: GET {path} is 200 and byte-identical to {cm}/{name}",
                          status == 200 and raw == want,
                          f"{len(raw)} bytes, {ctype}" if status == 200 and raw == want else
                          f"status {status}, {len(raw)} bytes vs {len(want)} rendered")
                for ext, mime in ((".html", "text/html"), (".svg", "image/svg+xml"), (".css", "text/css")):
                    if name.endswith(ext) and status == 200:
                        res.check(fx, f"nginx: {path} has Content-Type {mime}", ctype.startswith(mime), ctype)
            im = re.search(r"\bindex\s+([^;]+);", info["body"])
            if im:
                idx = im.group(1).split()[0]
                if idx in files:
                    status, _, raw = http("GET", f"{base}{prefix}/")
                    res.check(fx, f"nginx: GET {prefix}/ serves the index {idx}",
                              status == 200 and raw == files[idx], f"status {status}, {len(raw)} bytes")
                else:
                    res.check(fx, f"nginx: index {idx} of {prefix}/ is a file of {cm}", False,
                              f"files: {sorted(files)}")
            rnd = secrets.token_hex(6)
            status, _, _ = http("GET", f"{base}{prefix}/no-such-file-{rnd}.html")
            res.check(fx, f"nginx: GET {prefix}/no-such-file-{rnd}.html is 404", status == 404, f"status {status}")
        rnd = secrets.token_hex(6)
        status, _, _ = http("GET", f"{base}/no-such-path-{rnd}")
        res.check(fx, f"nginx: GET /no-such-path-{rnd} is 404", status == 404, f"status {status}")
        res.check(fx, "nginx: still running after the requests", setup.proc.poll() is None,
                  f"exit {setup.proc.poll()}")
    finally:
        nginx_stop(ctx, setup, "nginx")


# --------------------------------------------------------------------------
# d. the delegation files (global.serverName): the matrix-wellknown nginx


def wellknown_checks(ctx: "Ctx", rendered: Rendered, work: str, syn: "SynapseRun", hs: dict | None) -> None:
    fx, res = ctx.fixture, ctx.res
    label = "well-known nginx"
    values = rendered.values
    domain = vget(values, "global.domain")
    server_name = vget(values, "global.serverName") or domain
    delegates = server_name != domain
    cm = rendered.get("ConfigMap", WELLKNOWN)
    if cm is None:
        res.check(fx, f"well-known: no {WELLKNOWN} ConfigMap, as there is no delegation "
                      "(global.serverName empty or = global.domain)", not delegates,
                  f"global.serverName {server_name!r}, global.domain {domain!r}")
        return
    res.check(fx, f"well-known: {WELLKNOWN} is rendered for a delegation (global.serverName != global.domain)",
              delegates, f"global.serverName {server_name!r}, global.domain {domain!r}")

    # ---- expectations, from the values (and Synapse's own answers)
    delegated = vget(values, "synapse.wellKnown.delegatedServer") or f"{domain}:443"
    want_server = {"m.server": delegated}
    want_base_url = f"https://{domain}/"
    rtc_on = vget(values, "matrixrtc.enabled", False) is True
    foci_key = "org.matrix.msc4143.rtc_foci"

    deps = rendered.deployments_mounting_configmap(WELLKNOWN)
    if not res.check(fx, f"well-known: exactly one Deployment mounts ConfigMap {WELLKNOWN}", len(deps) == 1,
                     f"{[d['metadata']['name'] for d in deps]}"):
        return
    dep = deps[0]
    vnames = {v["name"] for v in dep["spec"]["template"]["spec"].get("volumes", [])
              if (v.get("configMap") or {}).get("name") == WELLKNOWN}
    container = next((c for c in dep["spec"]["template"]["spec"].get("containers", [])
                      if any(m["name"] in vnames for m in c.get("volumeMounts", []))), None)
    cmd = list((container or {}).get("command", [])) + list((container or {}).get("args", []))
    if not res.check(fx, f"well-known: Deployment {dep['metadata']['name']} runs nginx with the {WELLKNOWN} files",
                     bool(cmd) and os.path.basename(cmd[0]) == "nginx", " ".join(cmd)):
        return

    # ---- routing: https://<server name>/.well-known/matrix/{client,server}
    #      reach this Deployment's nginx (Ingress or HTTPRoute -> Service -> containerPort)
    routes = routes_to(rendered, dep)
    cports = [p.get("containerPort") for p in container.get("ports", [])]
    for doc in ("client", "server"):
        path = f"/.well-known/matrix/{doc}"
        hit = [rt for rt in routes if route_matches(rt, server_name, path) and rt["container_port"] in cports]
        res.check(fx, f"well-known: an Ingress/HTTPRoute routes https://{server_name}{path} to the {WELLKNOWN} "
                      "nginx containerPort", bool(hit),
                  "; ".join(route_desc(rt) for rt in hit) if hit else
                  "routes to it: " + ("; ".join(f"{route_desc(rt)} (containerPort {rt['container_port']})"
                                                for rt in routes) or "none"))
    other = [rt for rt in routes if set(rt["hosts"]) != {server_name}]
    res.check(fx, f"well-known: the routes to {WELLKNOWN} are for host {server_name} only", bool(routes) and not other,
              "; ".join(route_desc(rt) for rt in other or routes))
    if hs is not None:
        # The delegation target and the client base_url lead to Synapse's host.
        syn_routes = []
        sdep, _ = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
        if sdep is not None:
            syn_routes = [rt for rt in routes_to(rendered, sdep)
                          if route_matches(rt, domain, "/_matrix/client/versions")]
        res.check(fx, f"well-known: Synapse's host {domain} (m.homeserver.base_url) is routed to Synapse",
                  bool(syn_routes), "; ".join(route_desc(rt) for rt in syn_routes) or "no route")

    setup = nginx_setup(ctx, rendered, dep, container, work, label)
    if setup is None:
        return
    files = {k: v for k, (v, _m) in volume_files(rendered, setup.pod.volumes[next(iter(vnames))])[0].items()}
    try:
        if not nginx_start(ctx, setup, label):
            return
        nginx_probes(ctx, setup, label)
        base = setup.base

        def get_json(path: str):
            status, headers, raw = http("GET", base + path)
            headers = headers or {}
            ctype = headers.get("Content-Type", "") if status else ""
            acao = headers.get("Access-Control-Allow-Origin") if status else None
            return status, ctype, acao, raw, as_json(raw)

        # /.well-known/matrix/server
        status, ctype, acao, raw, body = get_json("/.well-known/matrix/server")
        res.check(fx, f"{label}: GET /.well-known/matrix/server is 200 with Content-Type application/json "
                      "and Access-Control-Allow-Origin: *",
                  status == 200 and ctype.split(";")[0].strip() == "application/json" and acao == "*",
                  f"status {status}, Content-Type {ctype!r}, Access-Control-Allow-Origin {acao!r}")
        res.check(fx, f"{label}: /.well-known/matrix/server = {json.dumps(want_server)} "
                      "(synapse.wellKnown.delegatedServer, else <global.domain>:443)",
                  status == 200 and body == want_server, f"served {raw[:200]!r}")
        if "server.json" in files:
            res.check(fx, f"{label}: /.well-known/matrix/server is byte-identical to {WELLKNOWN}/server.json",
                      raw == files["server.json"], f"{len(raw)} bytes vs {len(files['server.json'])}")
        if syn.well_known_server is not None and syn.well_known_server != body:
            res.info(fx, f"note: Synapse itself (serve_server_wellknown) answers {json.dumps(syn.well_known_server)} "
                         f"at https://{domain}/.well-known/matrix/server, the delegation answers "
                         f"{json.dumps(body)} at https://{server_name}/.well-known/matrix/server "
                         "(federation only asks the server-name host)")

        # /.well-known/matrix/client
        status, ctype, acao, raw, body = get_json("/.well-known/matrix/client")
        res.check(fx, f"{label}: GET /.well-known/matrix/client is 200 with Content-Type application/json "
                      "and Access-Control-Allow-Origin: *",
                  status == 200 and ctype.split(";")[0].strip() == "application/json" and acao == "*"
                  and isinstance(body, dict),
                  f"status {status}, Content-Type {ctype!r}, Access-Control-Allow-Origin {acao!r}, body {raw[:200]!r}")
        body = body if isinstance(body, dict) else {}
        got_base = (body.get("m.homeserver") or {}).get("base_url")
        res.check(fx, f"{label}: /.well-known/matrix/client m.homeserver.base_url = https://<global.domain>/",
                  got_base == want_base_url, f"served {got_base!r}, want {want_base_url!r}")
        if hs is not None:
            res.check(fx, f"{label}: m.homeserver.base_url = Synapse's public_baseurl",
                      got_base == hs.get("public_baseurl"), f"public_baseurl {hs.get('public_baseurl')!r}")
        if "client.json" in files:
            res.check(fx, f"{label}: /.well-known/matrix/client is byte-identical to {WELLKNOWN}/client.json",
                      raw == files["client.json"], f"{len(raw)} bytes vs {len(files['client.json'])}")
        foci = body.get(foci_key)
        syn_client = syn.well_known_client
        if rtc_on:
            if syn_client is not None:
                ref, src_ = syn_client.get(foci_key), "Synapse's own /.well-known/matrix/client"
            else:
                ref = ((hs or {}).get("extra_well_known_client_content") or {}).get(foci_key)
                src_ = "the rendered extra_well_known_client_content (Synapse did not answer)"
            res.check(fx, f"{label}: {foci_key} = what {src_} has (MatrixRTC on)",
                      bool(foci) and foci == ref, f"served {json.dumps(foci)}, reference {json.dumps(ref)}")
        else:
            res.check(fx, f"{label}: /.well-known/matrix/client has no {foci_key} (MatrixRTC off)", foci is None,
                      f"served {json.dumps(foci)}")
        if syn_client is not None:
            res.check(fx, f"{label}: /.well-known/matrix/client is the same document as Synapse's own",
                      body == syn_client, f"delegation {json.dumps(body)}, Synapse {json.dumps(syn_client)}")
        else:
            res.info(fx, f"{label}: Synapse gave no /.well-known/matrix/client to compare with")

        # anything else: 404 (still with the CORS header: `add_header ... always`)
        rnd = secrets.token_hex(6)
        for path in ("/", f"/no-such-path-{rnd}", "/.well-known/matrix/support", "/.well-known/matrix/",
                     "/.well-known/matrix/client/x", "/.well-known/matrix/serverx", "/_matrix/client/versions",
                     "/.well-known/matrix/client.json", "/server.json", "/nginx.conf"):
            status, _, _, _, _ = get_json(path)
            res.check(fx, f"{label}: GET {path} is 404", status == 404, f"status {status}")
        res.check(fx, f"{label}: still running after the requests", setup.proc.poll() is None,
                  f"exit {setup.proc.poll()}")
    finally:
        nginx_stop(ctx, setup, label)


# --------------------------------------------------------------------------
# e. Element: the `element` Deployment's own nginx (not the image's entrypoint)
#    on its rendered nginx.conf, over a STAND-IN of the image's /app bundle
#    (the image is not pulled here), run as the pod's user.

ELEMENT = "element"  # Deployment name
ELEMENT_CONFIG = "element-config"  # ConfigMap with config.json
ELEMENT_APP = "/app"  # where the Element image has its bundle
ELEMENT_CONFIG_PATH = "/app/config.json"
SECURITY_HEADERS = (("X-Frame-Options", "SAMEORIGIN"), ("X-Content-Type-Options", "nosniff"),
                    ("Content-Security-Policy", "frame-ancestors 'self'"))


def element_standin(token: str) -> dict[str, bytes]:
    """The files of the stand-in /app bundle (pod path -> content): what the
    checks fetch of the image's bundle, each with a marker of this run."""
    return {
        f"{ELEMENT_APP}/index.html": (
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>stand-in Element bundle {token}</title></head>\n"
            f"<body>Stand-in for the Element image's index.html ({token}).</body></html>\n").encode(),
        f"{ELEMENT_APP}/i18n/en_EN.json": json.dumps({"stand-in": token, "Welcome": "Welcome"}).encode() + b"\n",
        f"{ELEMENT_APP}/version": f"stand-in-{token}\n".encode(),
        # a hashed bundle file: outside the no-cache location
        f"{ELEMENT_APP}/bundles/{token}/bundle.js": f"/* stand-in Element bundle {token} */\n".encode(),
    }


def element_checks(ctx: "Ctx", rendered: Rendered, work: str) -> None:
    fx, res = ctx.fixture, ctx.res
    label = "element nginx"
    sb = f"{label} [stand-in /app bundle]"  # checks whose answer comes from the stand-in files
    dep = rendered.get("Deployment", ELEMENT)
    if not res.check(fx, f"element: Deployment {ELEMENT} is rendered", dep is not None,
                     f"Deployments: {[d['metadata']['name'] for d in rendered.of_kind('Deployment')]}"):
        return
    spec = dep["spec"]["template"]["spec"]
    containers = spec.get("containers", [])
    cmds = [list(c.get("command", [])) + list(c.get("args", [])) for c in containers]
    container = next((c for c, a in zip(containers, cmds) if a and os.path.basename(a[0]) == "nginx"), None)
    if not res.check(fx, f"element: Deployment {ELEMENT} runs nginx itself (command nginx, not the image's "
                         "entrypoint)", container is not None,
                     "; ".join(f"{c.get('name')}: {' '.join(a) or '(image entrypoint)'}"
                               for c, a in zip(containers, cmds))):
        return
    cmd = list(container.get("command", [])) + list(container.get("args", []))
    g = arg_after(cmd, "-g") or ""
    res.check(fx, "element: nginx stays in the foreground (-g 'daemon off;')",
              re.search(r"(^|;)\s*daemon\s+off\s*;", g) is not None, " ".join(shlex.quote(a) for a in cmd))

    # config.json: the rendered ConfigMap key, mounted by subPath over the image's
    want_cfg = (rendered.object_data("ConfigMap", ELEMENT_CONFIG) or {}).get("config.json")
    if not res.check(fx, f"element: ConfigMap {ELEMENT_CONFIG} has a config.json that is a JSON object",
                     want_cfg is not None and isinstance(as_json(want_cfg), dict),
                     "no such key" if want_cfg is None else f"{want_cfg[:100]!r}"):
        return
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    cmount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == ELEMENT_CONFIG_PATH), None)
    mounted = None
    if cmount is not None and cmount["name"] in vols:
        files = volume_files(rendered, vols[cmount["name"]])[0]
        sub = cmount.get("subPath")
        mounted = files.get(sub, (None, 0))[0] if sub else None
    ok = mounted is not None and mounted == want_cfg
    res.check(fx, f"element: {ELEMENT_CONFIG_PATH} is mounted (subPath) with {ELEMENT_CONFIG}/config.json", ok,
              "no mount at " + ELEMENT_CONFIG_PATH if cmount is None else
              f"volume {cmount['name']}, subPath {cmount.get('subPath')}" if ok else
              f"mount {cmount}: {'not a subPath of a rendered file' if mounted is None else 'other content'}")

    # the image's files: the stand-in bundle, and Debian's mime.types for the image's
    have = os.path.isfile("/etc/nginx/mime.types")
    res.check(fx, "element: /etc/nginx/mime.types (the image's; Debian's nginx-common here) is there", have,
              "" if have else "missing on this machine")
    token = secrets.token_hex(6)
    standin = element_standin(token)
    run_as, why = pod_run_as(dep, container)
    if run_as is not None and os.geteuid() != 0:
        res.info(fx, f"{label}: not root here: runs as this user, not the pod's ({run_as})")
        run_as = None
    elif run_as is None:
        res.info(fx, f"{label}: {why}: runs as this user")
    else:
        res.info(fx, f"{label}: runs as the pod's user ({run_as}), on a tree with the pod's ownership")
    csc = container.get("securityContext") or {}
    if not csc.get("readOnlyRootFilesystem"):
        res.info(fx, f"{label}: note: readOnlyRootFilesystem is not set")
    res.info(fx, f"{sb}: the image is not pulled: {ELEMENT_APP} is a stand-in with "
                 + ", ".join(p[len(ELEMENT_APP) + 1:] for p in standin) + f" (marker {token})")

    # Routing: https://<global.elementDomain>/ reaches this nginx.
    edomain = vget(rendered.values, "global.elementDomain")
    routes = routes_to(rendered, dep)
    cports = [p.get("containerPort") for p in container.get("ports", [])]
    hit = [rt for rt in routes if route_matches(rt, edomain, "/") and rt["container_port"] in cports]
    res.check(fx, f"element: an Ingress/HTTPRoute routes https://{edomain or '*'}/ to the element nginx "
                  "containerPort", bool(hit),
              "; ".join(route_desc(rt) for rt in hit) if hit else
              "routes to it: " + ("; ".join(f"{route_desc(rt)} (containerPort {rt['container_port']})"
                                            for rt in routes) or "none"))

    setup = nginx_setup(ctx, rendered, dep, container, work, label, image_files=standin,
                        image_paths=(ELEMENT_APP,), run_as=run_as)
    if setup is None:
        return
    running_state: dict[str, tuple] | None = None  # the pod tree while nginx ran, after the requests
    try:
        if not nginx_start(ctx, setup, label):
            return
        base = setup.base
        probe = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        res.check(fx, "element: the readinessProbe is an httpGet with a path", bool(probe),
                  json.dumps(container.get("readinessProbe")))
        nginx_probes(ctx, setup, label, healthz=False)

        def get(path: str):
            status, headers, raw = http("GET", base + path)
            return status, headers, raw

        def header(headers, name: str) -> list[str]:
            return list(headers.get_all(name) or []) if headers is not None else []

        def no_cache(headers) -> bool:
            return any("no-cache" in [v.strip() for v in h.split(",")] for h in header(headers, "Cache-Control"))

        def ctype(headers) -> str:
            return header(headers, "Content-Type")[0].split(";")[0].strip() if header(headers, "Content-Type") else ""

        answers: dict[str, tuple] = {}
        index = standin[f"{ELEMENT_APP}/index.html"]
        for path in ("/", "/index.html"):
            status, headers, raw = answers[path] = get(path)
            res.check(fx, f"{sb}: GET {path} is the stand-in index.html, text/html, Cache-Control: no-cache",
                      status == 200 and raw == index and ctype(headers) == "text/html" and no_cache(headers),
                      f"status {status}, {len(raw)} bytes "
                      f"({'the stand-in' if raw == index else 'NOT the stand-in'}), "
                      f"Content-Type {ctype(headers)!r}, Cache-Control {header(headers, 'Cache-Control')}")

        status, headers, raw = answers["/config.json"] = get("/config.json")
        res.check(fx, "element nginx: GET /config.json is 200, Content-Type application/json, "
                      "Cache-Control: no-cache",
                  status == 200 and ctype(headers) == "application/json" and no_cache(headers),
                  f"status {status}, Content-Type {ctype(headers)!r}, "
                  f"Cache-Control {header(headers, 'Cache-Control')}")
        res.check(fx, f"element nginx: /config.json is byte-identical to the rendered {ELEMENT_CONFIG}/config.json",
                  status == 200 and raw == want_cfg, f"{len(raw)} bytes vs {len(want_cfg)} rendered")

        for name, mime in (("i18n/en_EN.json", "application/json"), ("version", None)):
            path = f"/{name}"
            want = standin[f"{ELEMENT_APP}/{name}"]
            status, headers, raw = answers[path] = get(path)
            res.check(fx, f"{sb}: GET {path} is the stand-in file"
                          + (f", {mime}" if mime else "") + ", Cache-Control: no-cache",
                      status == 200 and raw == want and (mime is None or ctype(headers) == mime)
                      and no_cache(headers),
                      f"status {status}, {len(raw)} bytes vs {len(want)}, Content-Type {ctype(headers)!r}, "
                      f"Cache-Control {header(headers, 'Cache-Control')}")

        bundle = f"/bundles/{token}/bundle.js"
        status, headers, raw = answers[bundle] = get(bundle)
        res.check(fx, f"{sb}: GET {bundle} (a hashed bundle file) is 200 and not Cache-Control: no-cache",
                  status == 200 and raw == standin[ELEMENT_APP + bundle] and not no_cache(headers),
                  f"status {status}, {len(raw)} bytes, Cache-Control {header(headers, 'Cache-Control')}")

        # missing files: 404, also in the no-cache location
        rnd = secrets.token_hex(6)
        for path in (f"/no-such-file-{rnd}.js", f"/i18n/no_SUCH-{rnd}.json", f"/config.no-such-{rnd}.json"):
            status, headers, raw = answers[path] = get(path)
            res.check(fx, f"{sb}: GET {path} is 404", status == 404, f"status {status}")
        if edomain:
            # Element asks config.<its host name>.json first, then config.json.
            path = f"/config.{edomain}.json"
            status, headers, raw = answers[path] = get(path)
            res.check(fx, f"{sb}: GET {path} (asked first by Element) is 404, so Element falls back to "
                          "/config.json", status == 404, f"status {status}")

        # Element's security headers on every answer, each once
        for path, (status, headers, _raw) in answers.items():
            bad = []
            for name, want in SECURITY_HEADERS:
                got = header(headers, name)
                if got != [want]:
                    bad.append(f"{name}: {got}")
            res.check(fx, f"{label}: GET {path} ({status}) carries "
                          + ", ".join(f"{n}: {v}" for n, v in SECURITY_HEADERS) + " (each once)",
                      status is not None and not bad, "; ".join(bad))

        running_state = tree_state(setup.pod.root, setup.empty_dirs)
        written = sorted(os.path.relpath(os.path.join(d, f), setup.pod.root)
                         for ed in setup.empty_dirs for d, _ds, fs in os.walk(ed) for f in fs + _ds)
        res.info(fx, f"{label}: in its emptyDirs while running: {', '.join(written) or 'nothing'}")
        res.check(fx, f"{label}: still running after the requests", setup.proc.poll() is None,
                  f"exit {setup.proc.poll()}")
    finally:
        nginx_stop(ctx, setup, label)
        before = setup.tree_before
        added: set[str] = set()
        removed: set[str] = set()
        changed: set[str] = set()
        # while running (a pid or temp file is gone after the stop) and after the stop
        for state in (running_state, tree_state(setup.pod.root, setup.empty_dirs)):
            if state is None:
                continue
            added |= set(state) - set(before)
            removed |= set(before) - set(state)
            changed |= {p for p in set(before) & set(state) if before[p] != state[p]}
        added, removed, changed = sorted(added), sorted(removed), sorted(changed)
        emptydirs = ", ".join("/" + os.path.relpath(d, setup.pod.root) for d in setup.empty_dirs) or "none"
        res.check(fx, f"{label}: writes only into its emptyDir ({emptydirs}): the rest of the pod tree "
                      f"(mounted ConfigMaps, the stand-in {ELEMENT_APP}) is unchanged",
                  not (added or removed or changed),
                  "; ".join(f"{w} {', '.join('/' + p.removeprefix('.').lstrip('/') for p in ps[:10])}" for w, ps in
                            (("added", added), ("removed", removed), ("changed", changed)) if ps))


# --------------------------------------------------------------------------
# Driver


class Ctx:
    def __init__(self, fixture: str, res: Results, python: str, register_cmd: str, synapse_timeout: float,
                 keep: bool = False):
        self.fixture = fixture
        self.keep = keep
        self.res = res
        self.python = python
        self.register_cmd = register_cmd
        self.synapse_timeout = synapse_timeout


def render_args(fixture_dir: str) -> list[str]:
    with open(os.path.join(fixture_dir, "render.args"), encoding="utf-8") as f:
        return shlex.split(f.read())


def render(cli: str, fixture_dir: str) -> tuple[int | None, str, str]:
    args = render_args(fixture_dir)
    try:
        r = subprocess.run([cli, "render", *args, "--format", "json"], cwd=fixture_dir,
                           capture_output=True, timeout=RENDER_TIMEOUT, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout.decode(), r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {RENDER_TIMEOUT} s"


def run_fixture(fx: str, args, res: Results, tmp_root: str, timings: dict) -> None:
    fdir = os.path.join(args.fixtures_dir, fx)
    if not res.check(fx, "fixture has render.args", os.path.isfile(os.path.join(fdir, "render.args")), fdir):
        return
    t0 = time.monotonic()
    rc, out, err = render(args.cli, fdir)
    data = None
    if rc == 0:
        try:
            data = json.loads(out)
        except ValueError:
            data = None
    if not res.check(fx, "matrix-render render ... --format json prints a List", rc == 0 and isinstance(data, dict)
                     and data.get("kind") == "List" and isinstance(data.get("items"), list),
                     f"{time.monotonic() - t0:.1f} s" if rc == 0 else f"exit {rc}\n{tail(err)}"):
        return
    try:
        values = fixture_values(fdir, render_args(fdir), args.python)
        verr = ""
    except Exception as e:  # noqa: BLE001
        values, verr = None, f"{type(e).__name__}: {e}"
    if not res.check(fx, "the fixture's values (render.args -f/--set) are readable, with global.domain",
                     isinstance(values, dict) and bool(vget(values, "global.domain")), verr):
        return
    rendered = Rendered(data["items"], values)
    work = tempfile.mkdtemp(prefix=f"{fx}-", dir=tmp_root)
    ctx = Ctx(fx, res, args.python, args.register_cmd, args.synapse_timeout, args.keep)

    syn = SynapseRun(ctx, rendered, os.path.join(work, "synapse"))
    os.makedirs(syn.work)
    hs = None
    t0 = time.monotonic()
    try:
        try:
            syn.run()
        except Exception:  # noqa: BLE001 - a crash of the test is a failure, not an abort
            res.check(fx, "synapse: checks ran to the end", False, traceback.format_exc())
        timings.setdefault("synapse", 0.0)
        timings["synapse"] += time.monotonic() - t0
        # homeserver.yaml for the coturn cross-checks
        dep, container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
        cm = rendered.get("ConfigMap", "synapse-extra-config")
        if cm and "homeserver.yaml" in (cm.get("data") or {}):
            p = os.path.join(work, "homeserver.yaml")
            with open(p, "w", encoding="utf-8") as f:
                f.write(cm["data"]["homeserver.yaml"])
            try:
                hs = load_yaml(p, args.python)
            except Exception:  # noqa: BLE001
                hs = None
        # b. coturn, while Synapse (whose credentials it uses) still runs
        t1 = time.monotonic()
        cwork = os.path.join(work, "coturn")
        os.makedirs(cwork)
        try:
            coturn_checks(ctx, rendered, cwork, hs if isinstance(hs, dict) else None, syn.turn_creds)
        except Exception:  # noqa: BLE001
            res.check(fx, "coturn: checks ran to the end", False, traceback.format_exc())
        timings.setdefault("coturn", 0.0)
        timings["coturn"] += time.monotonic() - t1
    finally:
        t2 = time.monotonic()
        syn.stop()
        timings["synapse"] = timings.get("synapse", 0.0) + time.monotonic() - t2

    # c. nginx
    t3 = time.monotonic()
    nwork = os.path.join(work, "nginx")
    os.makedirs(nwork)
    try:
        nginx_checks(ctx, rendered, nwork)
    except Exception:  # noqa: BLE001
        res.check(fx, "nginx: checks ran to the end", False, traceback.format_exc())
    timings.setdefault("nginx", 0.0)
    timings["nginx"] += time.monotonic() - t3

    # e. Element's nginx
    t5 = time.monotonic()
    ework = os.path.join(work, "element")
    os.makedirs(ework)
    try:
        element_checks(ctx, rendered, ework)
    except Exception:  # noqa: BLE001
        res.check(fx, "element nginx: checks ran to the end", False, traceback.format_exc())
    timings.setdefault("element", 0.0)
    timings["element"] += time.monotonic() - t5

    # d. the delegation files (after Synapse: compared with what it served)
    t4 = time.monotonic()
    wwork = os.path.join(work, "well-known")
    os.makedirs(wwork)
    try:
        wellknown_checks(ctx, rendered, wwork, syn, hs if isinstance(hs, dict) else None)
    except Exception:  # noqa: BLE001
        res.check(fx, "well-known: checks ran to the end", False, traceback.format_exc())
    timings.setdefault("well-known", 0.0)
    timings["well-known"] += time.monotonic() - t4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path to the matrix-render binary")
    ap.add_argument("--fixtures", required=True, help="comma-separated fixture names (tests/fixtures/<name>)")
    ap.add_argument("--fixtures-dir", default=os.path.join(REPO, "tests", "fixtures"))
    ap.add_argument("--python", default=None,
                    help="Python with matrix-synapse (default: this one, else <repo>/dist/real-venv/bin/python)")
    ap.add_argument("--register-cmd", default=None, help="register_new_matrix_user (default: next to --python)")
    ap.add_argument("--synapse-timeout", type=float, default=SYNAPSE_START_TIMEOUT,
                    help="seconds Synapse has to answer /_matrix/client/versions")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    args = ap.parse_args()

    args.cli = os.path.abspath(args.cli)
    args.fixtures_dir = os.path.abspath(args.fixtures_dir)
    if args.python is None:
        has = subprocess.run([sys.executable, "-c", "import synapse.app.homeserver"],
                             capture_output=True).returncode == 0
        args.python = sys.executable if has else os.path.join(REPO, "dist", "real-venv", "bin", "python")
    if args.register_cmd is None:
        cand = os.path.join(os.path.dirname(args.python), "register_new_matrix_user")
        args.register_cmd = cand if os.path.exists(cand) else (shutil.which("register_new_matrix_user") or cand)

    res = Results()
    missing = [t for t in ("turnserver", "turnutils_uclient", "nginx", "timeout") if shutil.which(t) is None]
    for path, what in ((args.cli, "--cli"), (args.python, "--python"), (args.register_cmd, "--register-cmd")):
        if not os.path.exists(path):
            missing.append(f"{what} {path}")
    if missing:
        res.check("setup", "programs are installed (bash scripts/real-deps.sh)", False, ", ".join(missing))
        print(f"real-programs: {res.passed} passed, {res.failed} failed")
        return 1

    atexit.register(stop_all_children)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    tmp_root = tempfile.mkdtemp(prefix="real-programs-")
    timings: dict[str, float] = {}
    t_all = time.monotonic()
    try:
        for fx in [f.strip() for f in args.fixtures.split(",") if f.strip()]:
            t0 = time.monotonic()
            run_fixture(fx, args, res, tmp_root, timings)
            Results.info(fx, f"fixture took {time.monotonic() - t0:.1f} s")
    finally:
        stop_all_children()
        if args.keep:
            print(f"INFO [all] temporary files kept in {tmp_root}" +
                  "".join(f" and {d}" for d in _EXTRA_DIRS))
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
            for d in _EXTRA_DIRS:
                shutil.rmtree(d, ignore_errors=True)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print(f"INFO [all] total {time.monotonic() - t_all:.1f} s ({parts})")
    if res.failures:
        print("Failures:")
        for f in res.failures:
            print("  " + f.splitlines()[0])
    print(f"real-programs: {res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
