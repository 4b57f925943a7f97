#!/usr/bin/env python3
"""Run the REAL programs (Synapse, coturn, nginx) on matrix-render's output.

Usage (from the repository root, after `bash scripts/real-deps.sh`):

    dist/real-venv/bin/python tests/real/run.py \\
        --cli target/debug/matrix-render \\
        --fixtures seed-rtc,example,registration-off,static-off

For each fixture the CLI is run in tests/fixtures/<name>/ with the arguments
in its render.args plus `--format json`, and the Kubernetes List it prints is
turned into the files the pods would see: every volume of a Deployment
(ConfigMap, Secret, emptyDir, PVC) is written under a temporary directory at
<tmp>/<pod>/<mountPath>, exactly as the kubelet would mount it. Then:

  a. Synapse runs on the rendered homeserver.yaml (unchanged, first -c) plus one
     override file (second -c) that only moves the listener to 127.0.0.1 and
     the data/pid/log/secret paths into the temporary pod tree.
  b. coturn runs on a copy of the rendered turnserver.conf and the command line
     of the coturn Deployment, with loopback-only overrides; turnutils_uclient
     allocates relays with the TURN REST credentials that Synapse handed out.
  c. nginx runs on a copy of the rendered nginx.conf with only paths and the
     listen address substituted, and every rendered page and asset is fetched.

Everything listens on and talks to 127.0.0.1 only, every process and request is
bounded in time, and every process started here is stopped before the next
part, also on failure. A rejected config is a FAIL with the program's message:
the test never changes what the rendered config says beyond the documented
overrides (listen addresses/ports, data/pid/log/temp paths, secret file paths,
coturn TLS off and loopback peers).

Every override, in one place (each is also commented where it is made):

  Synapse (override.yaml, the second -c; top-level keys replace the rendered
  ones, `listeners` and `database` whole):
    listeners              the rendered list with only port -> a free port and
                           bind_addresses -> [127.0.0.1]
    pid_file, log_config, media_store_path, signing_key_path,
    registration_shared_secret_path, recaptcha_public_key_path,
    recaptcha_private_key_path, turn_shared_secret_path (every *_path)
                           the same file in the temporary pod tree
    database               the rendered mapping with only args.database moved
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
  nginx (a copy of nginx.conf, by text substitution):
    every volume mountPath (pages, static-assets, /etc/nginx/custom, /tmp) ->
      the same directory in the temporary pod tree
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


def start_process(cmd: list[str], log_path: str, cwd: str, env: dict[str, str]) -> subprocess.Popen:
    log = open(log_path, "wb")
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # own process group: nginx workers go with it
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


def run_cmd(cmd: list[str], timeout: float, cwd: str, env: dict[str, str]) -> tuple[int | None, str]:
    """Run to completion (bounded). Returns (exit code or None on timeout, output)."""
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
# The rendered List


class Rendered:
    def __init__(self, items: list[dict]):
        self.items = items

    def get(self, kind: str, name: str) -> dict | None:
        for it in self.items:
            if it.get("kind") == kind and it.get("metadata", {}).get("name") == name:
                return it
        return None

    def of_kind(self, kind: str) -> list[dict]:
        return [it for it in self.items if it.get("kind") == kind]

    def deployment_running(self, pred) -> tuple[dict, dict] | tuple[None, None]:
        """The first Deployment with a container for which pred(command+args)."""
        for dep in self.of_kind("Deployment"):
            for c in dep["spec"]["template"]["spec"].get("containers", []):
                if pred(list(c.get("command", [])) + list(c.get("args", []))):
                    return dep, c
        return None, None

    def secret_value(self, key: str) -> tuple[str | None, bytes | None]:
        """(Secret name, decoded value) of the only rendered Secret with `key`."""
        found = []
        for s in self.of_kind("Secret"):
            if key in (s.get("data") or {}):
                found.append((s["metadata"]["name"], base64.b64decode(s["data"][key])))
            elif key in (s.get("stringData") or {}):
                found.append((s["metadata"]["name"], s["stringData"][key].encode()))
        if len(found) != 1:
            return None, None
        return found[0]


def secret_or_configmap_files(rendered: Rendered, vol: dict) -> tuple[dict[str, bytes], int] | None:
    """Files of a configMap/secret volume as the kubelet lays them out, and the
    file mode. None when the object is not in the render."""
    if "configMap" in vol:
        src = vol["configMap"]
        obj = rendered.get("ConfigMap", src["name"])
        if obj is None:
            return None
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    else:
        src = vol["secret"]
        obj = rendered.get("Secret", src["secretName"])
        if obj is None:
            return None
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        data.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    mode = src.get("defaultMode", 0o644)
    if src.get("items"):
        data = {i["path"]: data[i["key"]] for i in src["items"] if i["key"] in data}
    return data, mode


class Pod:
    """The files a Deployment's pod sees, laid out under `root`."""

    def __init__(self, rendered: Rendered, dep: dict, root: str, fixture: str, res: Results):
        self.root = root
        self.mounts: dict[str, str] = {}  # mountPath -> volume name
        self.volumes: dict[str, dict] = {}
        spec = dep["spec"]["template"]["spec"]
        self.volumes = {v["name"]: v for v in spec.get("volumes", [])}
        certs = {c["spec"].get("secretName") for c in rendered.of_kind("Certificate")}
        problems = []
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
                if "configMap" in vol or "secret" in vol:
                    got = secret_or_configmap_files(rendered, vol)
                    if got is None:
                        ref = vol.get("configMap", {}).get("name") or vol.get("secret", {}).get("secretName")
                        optional = (vol.get("configMap") or vol.get("secret")).get("optional", False)
                        if "secret" in vol and ref in certs:
                            res.info(fixture, f"{mp}: Secret {ref} is made by cert-manager (Certificate), "
                                              "not rendered: left empty")
                        elif not optional:
                            problems.append(f"{mp}: {('ConfigMap' if 'configMap' in vol else 'Secret')} "
                                            f"{ref} is not in the render")
                        os.makedirs(host, exist_ok=True)
                        continue
                    files, mode = got
                    if m.get("subPath"):
                        os.makedirs(os.path.dirname(host), exist_ok=True)
                        with open(host, "wb") as f:
                            f.write(files[m["subPath"]])
                        os.chmod(host, mode)
                        continue
                    os.makedirs(host, exist_ok=True)
                    for name, content in files.items():
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

    def host(self, pod_path: str) -> str:
        return os.path.join(self.root, pod_path.lstrip("/"))

    def remap(self, pod_path: str) -> str | None:
        """Host path for an absolute pod path under one of the mounts."""
        for mp in sorted(self.mounts, key=len, reverse=True):
            if pod_path == mp or pod_path.startswith(mp.rstrip("/") + "/"):
                return self.host(pod_path)
        return None


def expand_k8s_vars(args: list[str], container: dict, rendered: Rendered) -> list[str]:
    """Expand $(VAR) in command/args like the kubelet does, from the
    container's env (value, secretKeyRef, configMapKeyRef)."""
    env: dict[str, str] = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        vf = e.get("valueFrom", {})
        if "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            s = rendered.get("Secret", ref["name"])
            if s is not None and ref["key"] in (s.get("data") or {}):
                env[e["name"]] = base64.b64decode(s["data"][ref["key"]]).decode()
            elif s is not None and ref["key"] in (s.get("stringData") or {}):
                env[e["name"]] = s["stringData"][ref["key"]]
        elif "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            cm = rendered.get("ConfigMap", ref["name"])
            if cm is not None and ref["key"] in (cm.get("data") or {}):
                env[e["name"]] = cm["data"][ref["key"]]

    def sub(m: re.Match) -> str:
        if m.group(1):  # $$(VAR) is the escape for a literal $(VAR)
            return "$(" + m.group(1) + ")"
        return env.get(m.group(2), m.group(0))

    pat = re.compile(r"\$\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
    return [pat.sub(sub, a) for a in args]


def arg_after(args: list[str], *flags: str) -> str | None:
    for i, a in enumerate(args):
        if a in flags and i + 1 < len(args):
            return args[i + 1]
        for f in flags:
            if f.startswith("--") and a.startswith(f + "="):
                return a[len(f) + 1:]
    return None


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

    def _expire(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            print(f"INFO [{self.ctx.fixture}] synapse: up for {SYNAPSE_MAX_LIFETIME} s: terminated", flush=True)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.proc is not None:
            stop_process(self.proc)
            self.ctx.res.info(self.ctx.fixture, f"synapse stopped (exit {self.proc.returncode}), "
                                                f"was up {time.monotonic() - self.started_at:.1f} s")
            self.report_log()
            self.proc = None

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
        if not res.check(fx, "synapse: pod volumes are all rendered", not pod.problems, "; ".join(pod.problems)):
            return
        conf_host = pod.remap(conf_pod) if conf_pod else None
        if not res.check(fx, "synapse: --config-path is a file in a mounted volume",
                         bool(conf_host and os.path.isfile(conf_host)), f"{conf_pod}"):
            return
        hs = load_yaml(conf_host, self.ctx.python)
        if not res.check(fx, "synapse: rendered homeserver.yaml is a mapping", isinstance(hs, dict)):
            return

        # ---- the override file (second -c): listener + data/pid/log/secret paths
        override: dict = {}
        port = free_port()
        listeners = copy.deepcopy(hs.get("listeners") or [])
        client_port = None
        for lst in listeners:
            # ONLY the address and the port change; type, tls, x_forwarded and
            # resources stay as rendered.
            lst["bind_addresses"] = [LOOPBACK]
            names = [n for r_ in lst.get("resources", []) for n in r_.get("names", [])]
            if client_port is None and lst.get("type") == "http" and "client" in names:
                lst["port"] = client_port = port
            else:
                lst["port"] = free_port()
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
        db = hs.get("database") or {}
        if db.get("name") not in ("sqlite3", None):
            res.info(fx, f"synapse: database {db.get('name')} needs a server: Synapse not run")
            return
        db = copy.deepcopy(db) if db else {"name": "sqlite3", "args": {}}
        dbpath = (db.get("args") or {}).get("database")
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
        env = child_env()
        # ---- --generate-keys (the init container)
        t0 = time.monotonic()
        rc, out = run_cmd(base + ["--generate-keys"], SYNAPSE_GENKEYS_TIMEOUT, pod.root, env)
        key_path = override.get("signing_key_path") or ""
        ok = rc == 0 and bool(key_path) and os.path.isfile(key_path) and os.path.getsize(key_path) > 0
        res.check(fx, "synapse: --generate-keys exits 0 and creates the signing key", ok,
                  f"{time.monotonic() - t0:.1f} s" if ok else f"exit {rc}, key {key_path}\n{tail(out)}")
        if not ok:
            return

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
        self.check_register_and_turn(url, hs)

    # ---- /.well-known
    def check_well_known(self, url: str, hs: dict) -> None:
        fx, res = self.ctx.fixture, self.ctx.res
        status, _, raw = http("GET", url + "/.well-known/matrix/client")
        body = as_json(raw)
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
        cmd = [self.ctx.register_cmd, "-k", shared.decode(), "-u", "alice", "-p", password, "--no-admin", url]
        t0 = time.monotonic()
        rc, out = run_cmd(cmd, REGISTER_TIMEOUT, self.work, child_env())
        shown = out.replace(shared.decode(), "<secret>").replace(password, "<password>")
        if not res.check(fx, f"synapse: register_new_matrix_user -k <{sname}.REGISTRATION_SHARED_SECRET> "
                             "-u alice --no-admin exits 0", rc == 0,
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
    if not res.check(fx, "coturn: pod volumes are all rendered", not pod.problems, "; ".join(pod.problems)):
        return
    cmd = expand_k8s_vars(list(container.get("command", [])) + list(container.get("args", [])), container, rendered)
    unexpanded = [a for a in cmd if re.search(r"\$\([A-Za-z_]", a)]
    if not res.check(fx, "coturn: every $(VAR) of the container command is set from its env",
                     not unexpanded, " ".join(unexpanded)):
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
# c. nginx


def nginx_checks(ctx: "Ctx", rendered: Rendered, work: str) -> None:
    fx, res = ctx.fixture, ctx.res
    dep, container = rendered.deployment_running(lambda a: bool(a) and os.path.basename(a[0]) == "nginx")
    if dep is None:
        res.info(fx, "nginx: no static-pages Deployment (nginx): not run")
        return
    root = os.path.join(work, "nginx-pod")
    pod = Pod(rendered, dep, root, fx, res)
    if not res.check(fx, "nginx: pod volumes are all rendered", not pod.problems, "; ".join(pod.problems)):
        return
    cmd = list(container.get("command", [])) + list(container.get("args", []))
    conf_pod = arg_after(cmd, "-c")
    conf_host = pod.remap(conf_pod) if conf_pod else None
    if not res.check(fx, "nginx: -c names a file in a mounted volume", bool(conf_host and os.path.isfile(conf_host)),
                     str(conf_pod)):
        return
    text = read_text(conf_host)

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

    # ---- the copy: text substitutions, each documented
    port = free_port()
    subs = []
    new = text
    # 1. every volume mountPath (/usr/share/nginx/html/pages, .../static-assets,
    #    /etc/nginx/custom, /tmp, ...) -> the same directory in the temp pod tree.
    #    One pass over the text (longest mountPath first), so that a replaced
    #    path (itself under /tmp) is never replaced again.
    mps = sorted((mp.rstrip("/") or "/" for mp in pod.mounts), key=len, reverse=True)
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
    res.info(fx, "nginx conf substitutions: " + "; ".join(subs))
    if not res.check(fx, "nginx: the conf has exactly one listen directive", len(listen_ports) == 1,
                     f"listen ports {listen_ports}"):
        return
    cports = [p.get("containerPort") for p in container.get("ports", [])]
    res.check(fx, "nginx: listens on the Deployment's containerPort", listen_ports[0] in cports,
              f"listen {listen_ports[0]}, containerPorts {cports}")
    conf_copy = os.path.join(work, "nginx.conf")
    with open(conf_copy, "w", encoding="utf-8") as f:
        f.write(new)
    # nginx (root here) runs its workers as `nobody`: let them read the tree.
    for d, dirs, files in os.walk(work):
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

    errlog = os.path.join(work, "nginx-error.log")
    args = []
    i = 1
    while i < len(cmd):  # the Deployment's args, with -c pointing at the copy
        if cmd[i] == "-c" and i + 1 < len(cmd):
            args += ["-c", conf_copy]
            i += 2
            continue
        args.append(cmd[i])
        i += 1
    t0 = time.monotonic()
    rc, out = run_cmd(["nginx", "-t"] + args + ["-e", errlog], 30, work, child_env())
    if not res.check(fx, "nginx: nginx -t accepts the config", rc == 0,
                     f"{time.monotonic() - t0:.1f} s" if rc == 0 else f"exit {rc}\n{tail(out)}"):
        return
    log_path = os.path.join(work, "nginx.log")
    full = ["nginx"] + args + ["-e", errlog]
    res.info(fx, "nginx: " + " ".join(shlex.quote(a) for a in full))
    proc = start_process(full, log_path, work, child_env())
    t0 = time.monotonic()
    try:
        up = wait_tcp(port, proc, NGINX_START_TIMEOUT)
        if not res.check(fx, "nginx: starts and listens on 127.0.0.1", up,
                         f"{time.monotonic() - t0:.1f} s" if up else
                         f"exit {proc.poll()}\n{tail(read_text(log_path) + read_text(errlog))}"):
            return
        base = f"http://{LOOPBACK}:{port}"
        # probes of the Deployment (readiness/liveness: /healthz) and /healthz itself
        probe_paths = {"/healthz"}
        for p in ("readinessProbe", "livenessProbe", "startupProbe"):
            hg = (container.get(p) or {}).get("httpGet")
            if hg and hg.get("path"):
                probe_paths.add(hg["path"])
        for p in sorted(probe_paths):
            status, _, raw = http("GET", base + p)
            res.check(fx, f"nginx: GET {p} is 200", status == 200, f"status {status}, body {raw[:100]!r}")

        ingress_paths = ingress_paths_to(rendered, dep)
        # Every ConfigMap/Secret volume but the one holding nginx.conf is
        # content, and some location must serve it.
        conf_mount = next(mp for mp in sorted(pod.mounts, key=len, reverse=True)
                          if conf_pod.startswith(mp.rstrip("/") + "/"))
        for mp, vname in sorted(pod.mounts.items()):
            vol = pod.volumes.get(vname, {})
            if mp == conf_mount or not ("configMap" in vol or "secret" in vol):
                continue
            cm = (vol.get("configMap") or {}).get("name") or (vol.get("secret") or {}).get("secretName")
            locs = [loc for loc, m, _ in served if m == mp]
            res.check(fx, f"nginx: a location of nginx.conf serves {cm} (mounted at {mp})", bool(locs),
                      f"location(s) {locs}" if locs else
                      "no location has an alias/root into it; locations with alias/root: " +
                      ", ".join(f"{m_.group(1)} -> {m_.group(2).strip()}" for m_ in re.finditer(
                          r"location\s+(?:\^~\s+)?(/[^\s{]*)\s*\{[^}]*\b(?:alias|root)\s+([^;]+);", text)))
        for p_ in sorted(ingress_paths):
            if p_.rstrip("/") == "":
                continue  # "/" is Element's own path, not the static pages'
            hit = any(loc.rstrip("/") == p_.rstrip("/") or loc.startswith(p_.rstrip("/") + "/")
                      for loc, _, _ in served)
            res.check(fx, f"nginx: Ingress path {p_} (to the static-pages Service) is served from a volume", hit,
                      f"locations with a volume: {[loc for loc, _, _ in served]}")
        for loc, mp, info in served:
            vol = pod.volumes[pod.mounts[mp]]
            cm = (vol.get("configMap") or {}).get("name") or (vol.get("secret") or {}).get("secretName")
            files = (secret_or_configmap_files(rendered, vol) or ({}, 0))[0]
            prefix = info["url"]
            routed = any(prefix == p.rstrip("/") or prefix.startswith(p.rstrip("/") + "/") for p in ingress_paths)
            res.check(fx, f"nginx: an Ingress routes {prefix} to the static-pages Service", routed,
                      f"Ingress paths to it: {sorted(ingress_paths)}")
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
        res.check(fx, "nginx: still running after the requests", proc.poll() is None, f"exit {proc.poll()}")
    finally:
        stop_process(proc)
        res.info(fx, f"nginx stopped (exit {proc.returncode}), was up {time.monotonic() - t0:.1f} s")
    log = read_text(errlog) + read_text(log_path)
    fatal = [ln for ln in log.splitlines() if re.search(r"\[(emerg|alert|crit)\]", ln)]
    res.check(fx, "nginx: no [emerg]/[alert]/[crit] in its logs", not fatal, "\n".join(fatal[:10]))
    for ln in dict.fromkeys(ln for ln in log.splitlines() if re.search(r"\[(warn|error)\]", ln)):
        res.info(fx, f"nginx log: {ln[:300]}")


def ingress_paths_to(rendered: Rendered, dep: dict) -> set[str]:
    """Ingress paths whose backend Service selects the Deployment's pods."""
    labels = dep["spec"]["template"]["metadata"].get("labels", {})
    services = {
        s["metadata"]["name"]
        for s in rendered.of_kind("Service")
        if s["spec"].get("selector") and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
    }
    paths = set()
    for ing in rendered.of_kind("Ingress"):
        for rule in ing["spec"].get("rules", []):
            for p in (rule.get("http") or {}).get("paths", []):
                if p.get("backend", {}).get("service", {}).get("name") in services:
                    paths.add(p.get("path", "/"))
    return paths


# --------------------------------------------------------------------------
# Driver


class Ctx:
    def __init__(self, fixture: str, res: Results, python: str, register_cmd: str, synapse_timeout: float):
        self.fixture = fixture
        self.res = res
        self.python = python
        self.register_cmd = register_cmd
        self.synapse_timeout = synapse_timeout


def render(cli: str, fixture_dir: str) -> tuple[int | None, str, str]:
    with open(os.path.join(fixture_dir, "render.args"), encoding="utf-8") as f:
        args = shlex.split(f.read())
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
    rendered = Rendered(data["items"])
    work = tempfile.mkdtemp(prefix=f"{fx}-", dir=tmp_root)
    ctx = Ctx(fx, res, args.python, args.register_cmd, args.synapse_timeout)

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
            print(f"INFO [all] temporary files kept in {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
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
