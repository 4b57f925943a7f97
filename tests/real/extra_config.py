#!/usr/bin/env python3
"""A REAL Synapse runs the rendered tests/fixtures/extra-config: what `synapse.extraConfig`,
`synapse.extraSecretConfig`, `synapse.extraConfigSecrets` and `synapse.appServices` render
reaches Synapse.

Usage (from the repository root, after `bash scripts/real-deps.sh`):

    dist/real-venv/bin/python tests/real/extra_config.py --cli target/debug/matrix-render

The fixture is rendered by the CLI with its render.args plus three flags that point the
SMTP settings at a loopback SMTP sink of this script (`email.smtp_host`, `email.smtp_port`,
`email.require_transport_security: false`: the sink speaks no TLS). The objects the
fixture only references (they exist in the operator's namespace, not in the render) are
made here with test values and added to the rendered List: the Secret with the OIDC client
secret, the Secret with a further config file (`enable_set_displayname: false`), and the two
app service registrations (a Secret and a ConfigMap). Then every volume of the synapse
Deployment is laid out as the kubelet would (tests/real/run.py's Pod), and Synapse runs with
the container's own `--config-path` list, in order, plus one last override file that changes
only what run.py's does (loopback listener, data/pid/log paths) and the pod paths inside
`oidc_providers` and `app_service_config_files`, remapped to the same files in the temporary
pod tree. Checked:

  - the ConfigMap holds neither the SMTP password nor the OIDC client secret; the rendered
    Secret holds the `email` section whole;
  - Synapse's own config reader (`python -m synapse.config read`) gives the OIDC provider the
    client secret of the existing Secret and the SMTP settings their values;
  - GET /_matrix/client/v3/login lists m.login.sso with the configured identity provider,
    and its SSO redirect goes to the configured authorization endpoint with the client id;
  - a registration e-mail (POST /register/email/requestToken) reaches the SMTP sink, which
    was logged in to with the user and the password of `extraSecretConfig`;
  - each app service's as_token is accepted (whoami answers its sender), so both
    registration files were loaded;
  - the further config file from the existing Secret applies (capabilities: display names
    cannot be changed).

Exit 1 on any failure; the closing line is `extra-config: N passed, M failed`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (tests/real/run.py: the pod layout and process helpers)

FX = "extra-config"
SINK_TIMEOUT = 30


class SmtpSink:
    """A loopback SMTP server that accepts AUTH PLAIN and any mail, and records both."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((R.LOOPBACK, 0))
        self.sock.listen(4)
        self.sock.settimeout(1.0)
        self.port = self.sock.getsockname()[1]
        self.logins: list[tuple[str, str]] = []
        self.mails: list[dict] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(SINK_TIMEOUT)
        f = conn.makefile("rb")

        def send(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        mail: dict = {"rcpt": []}
        try:
            send("220 sink ESMTP")
            while True:
                raw = f.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    send("250-sink")
                    send("250 AUTH PLAIN")
                elif verb == "AUTH":
                    parts = line.split()
                    if len(parts) == 3 and parts[1].upper() == "PLAIN":
                        fields = base64.b64decode(parts[2]).split(b"\0")
                        if len(fields) == 3:
                            self.logins.append((fields[1].decode(), fields[2].decode()))
                            send("235 ok")
                            continue
                    send("504 PLAIN only")
                elif verb == "MAIL":
                    mail = {"from": line[len("MAIL FROM:"):].strip(), "rcpt": []}
                    send("250 ok")
                elif verb == "RCPT":
                    mail["rcpt"].append(line[len("RCPT TO:"):].strip())
                    send("250 ok")
                elif verb == "DATA":
                    send("354 go on")
                    body = []
                    while True:
                        raw = f.readline()
                        if not raw or raw in (b".\r\n", b".\n"):
                            break
                        body.append(raw.decode("utf-8", "replace"))
                    mail["data"] = "".join(body)
                    self.mails.append(mail)
                    send("250 queued")
                elif verb == "QUIT":
                    send("221 bye")
                    return
                elif verb in ("RSET", "NOOP"):
                    send("250 ok")
                else:
                    send("502 not here")
        except OSError:
            return
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping = True
        self.sock.close()


def registration(sender: str, url: str, as_token: str, hs_token: str, server: str, prefix: str) -> str:
    """An app service registration file (JSON is YAML)."""
    return json.dumps({
        "id": sender,
        "url": url,
        "as_token": as_token,
        "hs_token": hs_token,
        "sender_localpart": sender,
        "rate_limited": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"@{prefix}_.*:{server}"}],
            "aliases": [], "rooms": [],
        },
    }, indent=2)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def read_config(python: str, config_args: list[str], key: str, cwd: str) -> tuple[int | None, str]:
    """Synapse's own reading of the config files: `python -m synapse.config read KEY -c ...`."""
    return R.run_cmd([python, "-m", "synapse.config", "read", key, *config_args], 120, cwd, R.child_env())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path to the matrix-render binary")
    ap.add_argument("--python", default=os.path.join(R.REPO, "dist", "real-venv", "bin", "python"),
                    help="Python with matrix-synapse")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    res = R.Results()
    cli = os.path.abspath(args.cli)
    fdir = os.path.join(R.REPO, "tests", "fixtures", FX)
    for path in (cli, args.python):
        if not os.path.exists(path):
            res.check("setup", "programs are installed (bash scripts/real-deps.sh)", False, path)
            print(f"extra-config: {res.passed} passed, {res.failed} failed")
            return 1
    work = tempfile.mkdtemp(prefix="real-extra-config-")
    sink = SmtpSink()
    proc = None
    try:
        proc = run(args, res, cli, fdir, work, sink)
    except Exception:  # noqa: BLE001 - a crash of the test is a failure
        import traceback
        res.check(FX, "checks ran to the end", False, traceback.format_exc())
    finally:
        if proc is not None:
            R.stop_process(proc)
        R.stop_all_children()
        sink.stop()
        if args.keep:
            print(f"INFO [{FX}] temporary files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if res.failures:
        print("Failures:")
        for f in res.failures:
            print("  " + f.splitlines()[0])
    print(f"extra-config: {res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 and res.passed > 0 else 1


def run(args, res: R.Results, cli: str, fdir: str, work: str, sink: SmtpSink):
    flags = [
        "--set-string", f"synapse.extraConfig.email.smtp_host={R.LOOPBACK}",
        "--set", f"synapse.extraConfig.email.smtp_port={sink.port}",
        "--set", "synapse.extraConfig.email.require_transport_security=false",
    ]
    argv = R.render_args(fdir) + flags
    r = subprocess.run([cli, "render", *argv, "--format", "json"], cwd=fdir, capture_output=True,
                       timeout=R.RENDER_TIMEOUT, stdin=subprocess.DEVNULL)
    data = json.loads(r.stdout) if r.returncode == 0 else None
    if not res.check(FX, "matrix-render renders the fixture (with the SMTP sink's address)",
                     isinstance(data, dict) and data.get("kind") == "List",
                     f"exit {r.returncode}\n{R.tail(r.stderr.decode('utf-8', 'replace'))}"):
        return None
    values = R.fixture_values(fdir, argv, args.python)
    smtp_pass = R.vget(values, "synapse.extraSecretConfig.email.smtp_pass")
    smtp_user = R.vget(values, "synapse.extraConfig.email.smtp_user")
    server = R.vget(values, "global.serverName") or R.vget(values, "global.domain")
    rendered = R.Rendered(data["items"], values)

    # ---- the ConfigMap keeps no secret; the email section is in the rendered Secret
    cm = rendered.get("ConfigMap", "synapse-extra-config")
    cm_text = json.dumps(cm)
    res.check(FX, "the homeserver.yaml ConfigMap holds no SMTP password, no SMTP section and no OIDC client secret",
              bool(cm) and smtp_pass not in cm_text and "smtp_host" not in cm_text
              and "client_secret:" not in cm["data"]["homeserver.yaml"])
    secret_data = rendered.object_data("Secret", "synapse-secret-config") or {}
    p = os.path.join(work, "secret-sections.yaml")
    with open(p, "wb") as f:
        f.write(secret_data.get("extra-secret-config.yaml", b""))
    sections = R.load_yaml(p, args.python)
    email = (sections or {}).get("email") or {}
    res.check(FX, "the Secret synapse-secret-config holds the email section whole (extraConfig and extraSecretConfig merged)",
              email.get("smtp_pass") == smtp_pass and email.get("smtp_user") == smtp_user
              and email.get("smtp_port") == sink.port and "notif_from" in email,
              json.dumps(sorted(email)))

    # ---- the objects of the operator's namespace that the fixture references
    dep, container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
    if not res.check(FX, "a Deployment runs synapse.app.homeserver", dep is not None):
        return None
    ns = dep["metadata"].get("namespace")
    oidc_secret = "oidc-" + secrets.token_hex(16)
    as_port = R.free_port()
    telegram = ("telegrambot", secrets.token_hex(16), secrets.token_hex(16))
    irc = ("ircbot", secrets.token_hex(16), secrets.token_hex(16))
    url = f"http://{R.LOOPBACK}:{as_port}"

    def obj(kind: str, name: str, data: dict[str, str]) -> dict:
        meta = {"name": name, "namespace": ns}
        if kind == "Secret":
            return {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {k: b64(v) for k, v in data.items()}}
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": data}

    rendered.items += [
        obj("Secret", "synapse-sso", {"keycloak-client-secret": oidc_secret}),
        obj("Secret", "synapse-more-config", {"profile.yaml": "enable_set_displayname: false\n"}),
        obj("Secret", "mautrix-telegram", {"registration.yaml": registration(
            telegram[0], url, telegram[1], telegram[2], server, "telegram")}),
        obj("ConfigMap", "irc-bridge", {"appservice.yaml": registration(
            irc[0], url, irc[1], irc[2], server, "irc")}),
    ]
    pod = R.Pod(rendered, dep, os.path.join(work, "synapse-pod"), FX, res)
    if not res.check(FX, "every volume of the pod is laid out (the referenced objects made here)",
                     not pod.problems and not pod.external, "; ".join(pod.problems + pod.external)):
        return None

    # ---- the container's config files, in its order
    cmd = list(container.get("command", [])) + list(container.get("args", []))
    pod_paths = [cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a in ("-c", "--config-path")]
    hosts = [pod.remap(p) for p in pod_paths]
    res.check(FX, "the container loads homeserver.yaml, the extraSecretConfig file and the extraConfigSecrets file",
              len(pod_paths) == 3 and all(h and os.path.isfile(h) for h in hosts), " ".join(pod_paths))
    if not all(h and os.path.isfile(h) for h in hosts):
        return None
    merged: dict = {}
    for h in hosts:
        merged.update(R.load_yaml(h, args.python) or {})  # Synapse merges top-level keys so

    # ---- the override (last -c): loopback listener, data/pid/log paths, pod paths remapped
    override: dict = {}
    port = R.free_port()
    listeners = copy.deepcopy(merged.get("listeners") or [])
    for lst in listeners:
        lst["bind_addresses"] = [R.LOOPBACK]
        lst["port"] = port if "client" in [n for r_ in lst.get("resources", []) for n in r_.get("names", [])] \
            else R.free_port()
    override["listeners"] = listeners
    for key, val in merged.items():
        if isinstance(val, str) and val.startswith("/") and (key.endswith("_path") or key in ("pid_file", "log_config")):
            host = pod.remap(val)
            if host is not None:
                override[key] = host
    db = copy.deepcopy(merged["database"])
    db["args"]["database"] = pod.remap(db["args"]["database"])
    override["database"] = db
    providers = copy.deepcopy(merged.get("oidc_providers") or [])
    remapped = []
    for p in providers:
        if "client_secret_path" in p:
            p["client_secret_path"] = pod.remap(p["client_secret_path"])
            remapped.append(p["client_secret_path"])
    override["oidc_providers"] = providers
    override["app_service_config_files"] = [pod.remap(p) for p in merged.get("app_service_config_files") or []]
    res.check(FX, "the OIDC client secret and both registrations are files in the pod's volumes",
              len(remapped) == 1 and all(p and os.path.isfile(p) for p in remapped + override["app_service_config_files"])
              and len(override["app_service_config_files"]) == 2,
              json.dumps(merged.get("app_service_config_files")))
    override_path = os.path.join(work, "override.yaml")
    with open(override_path, "w", encoding="utf-8") as f:
        json.dump(override, f, indent=2)
    config_args = [a for h in hosts + [override_path] for a in ("-c", h)]

    # ---- start
    base = [args.python, "-m", "synapse.app.homeserver", *config_args]
    rc, out = R.run_cmd(base + ["--generate-keys"], R.SYNAPSE_GENKEYS_TIMEOUT, pod.root, R.child_env())
    if not res.check(FX, "synapse --generate-keys exits 0", rc == 0, R.tail(out)):
        return None

    # ---- Synapse's own reading of the merged config (it needs the signing key)
    rc, out = read_config(args.python, config_args, "oidc.oidc_providers", pod.root)
    res.check(FX, "Synapse reads the OIDC provider with the client secret of the existing Secret",
              rc == 0 and "idp_id='oidc-keycloak'" in out and repr(oidc_secret) in out,
              "" if rc == 0 else R.tail(out.replace(oidc_secret, "********")))
    rc, out = read_config(args.python, config_args, "email.email_smtp_user", pod.root)
    res.check(FX, "Synapse reads the SMTP user of extraConfig (merged with the Secret's section)",
              rc == 0 and f"email.email_smtp_user: {smtp_user}" in out, R.tail(out))

    log_path = os.path.join(work, "synapse.log")
    t0 = time.monotonic()
    proc = R.start_process(base, log_path, pod.root, R.child_env())
    base_url = f"http://{R.LOOPBACK}:{port}"
    status = None
    while time.monotonic() - t0 < R.SYNAPSE_START_TIMEOUT and proc.poll() is None:
        status, _, _ = R.http("GET", base_url + "/_matrix/client/versions")
        if status == 200:
            break
        time.sleep(0.5)
    if not res.check(FX, "synapse starts and answers /_matrix/client/versions", status == 200,
                     f"{time.monotonic() - t0:.1f} s" if status == 200 else R.tail(R.read_text(log_path), 40)):
        return proc

    # ---- SSO
    status, _, body = R.http("GET", base_url + "/_matrix/client/v3/login")
    flows = (R.as_json(body) or {}).get("flows") or []
    sso = [f for f in flows if f.get("type") == "m.login.sso"]
    idps = sso[0].get("identity_providers", []) if sso else []
    res.check(FX, "GET /_matrix/client/v3/login lists m.login.sso with the configured identity provider",
              status == 200 and any(i.get("id") == "oidc-keycloak" and i.get("name") == "Example SSO" for i in idps),
              json.dumps(flows))
    redirect = urllib.parse.quote("https://element.example.org/", safe="")
    # Not followed: the authorization endpoint is not on this machine.
    conn = http.client.HTTPConnection(R.LOOPBACK, port, timeout=R.HTTP_TIMEOUT)
    try:
        # As the Ingress forwards it: Synapse sends a request for another host to its
        # public_baseurl first.
        conn.request("GET", f"/_matrix/client/v3/login/sso/redirect/oidc-keycloak?redirectUrl={redirect}",
                     headers={"Host": R.vget(values, "global.domain"), "X-Forwarded-For": "203.0.113.7",
                              "X-Forwarded-Proto": "https"})
        answer = conn.getresponse()
        status, location = answer.status, answer.getheader("Location") or ""
    finally:
        conn.close()
    want = R.vget(values, "synapse.extraConfig.oidc_providers")[0]["authorization_endpoint"]
    res.check(FX, "the SSO redirect goes to the configured authorization endpoint with the client id",
              status == 302 and location.startswith(want + "?") and "client_id=synapse" in location,
              f"{status} {location[:160]}")

    # ---- SMTP: a registration e-mail through the sink, logged in with extraSecretConfig's password
    status, _, body = R.http("POST", base_url + "/_matrix/client/v3/register/email/requestToken",
                             {"client_secret": "extraconfig1", "email": "alice@example.org", "send_attempt": 1})
    deadline = time.monotonic() + SINK_TIMEOUT
    while not sink.mails and time.monotonic() < deadline:
        time.sleep(0.2)
    mail = sink.mails[0] if sink.mails else {}
    res.check(FX, "a registration e-mail reaches the SMTP server of extraConfig, from notif_from",
              status == 200 and "sid" in (R.as_json(body) or {}) and "alice@example.org" in " ".join(mail.get("rcpt", []))
              and "matrix@example.org" in mail.get("from", ""),
              f"{status} {body[:200]!r} mails {len(sink.mails)}")
    res.check(FX, "Synapse logged in to SMTP with extraConfig's user and extraSecretConfig's password",
              (smtp_user, smtp_pass) in sink.logins,
              f"{len(sink.logins)} logins, users {[u for u, _ in sink.logins]}")

    # ---- app services: each registration's as_token is known to Synapse
    for sender, as_token, _ in (telegram, irc):
        status, _, body = R.http("GET", base_url + "/_matrix/client/v3/account/whoami", token=as_token)
        res.check(FX, f"the app service {sender} is registered (whoami with its as_token)",
                  status == 200 and (R.as_json(body) or {}).get("user_id") == f"@{sender}:{server}",
                  f"{status} {body[:200]!r}")

    # ---- the further config file from the existing Secret
    status, _, body = R.http("GET", base_url + "/_matrix/client/v3/capabilities", token=telegram[1])
    caps = (R.as_json(body) or {}).get("capabilities") or {}
    res.check(FX, "the extraConfigSecrets file applies (display names cannot be changed)",
              status == 200 and (caps.get("m.set_displayname") or {}).get("enabled") is False,
              f"{status} {json.dumps(caps)[:200]}")
    return proc


if __name__ == "__main__":
    sys.exit(main())
