#!/usr/bin/env python3
"""Back up a running Synapse with the rendered backup CronJob, and restore it.

Usage (from the repository root, after `bash scripts/real-deps.sh`):

    dist/real-venv/bin/python tests/real/backup.py \\
        --cli target/debug/matrix-render --fixtures backup-sqlite,backup-postgres

For each fixture, with the helpers of tests/real/run.py (its pod layout, its
overrides and its throwaway PostgreSQL; read its docstring):

  1. Synapse runs on the rendered homeserver.yaml, exactly as run.py runs it
     (SQLite, or psycopg2 on a throwaway PostgreSQL with the rendered role,
     database and password). A user registers with the rendered registration
     shared secret, creates a room, uploads a file and sends a message.
  2. While Synapse runs, the command of the rendered CronJob `synapse-backup`
     (`/bin/sh -c SCRIPT`) runs with the pod's volumes mapped the way run.py
     maps them: the data claim `synapse-data` is the directory the running
     Synapse uses, bind-mounted READ-ONLY in a private mount namespace as the
     pod mounts it (this needs root; without root the run says so and goes on
     without the read-only mount); the backup claim is a fresh directory,
     holding older backups so that the pruning to `backup.keep` is seen; the
     Secret volume (PostgreSQL password) is laid out from the rendered Secret;
     the container's env as rendered, with PGHOST/PGPORT moved to the
     throwaway server (the same override run.py makes for Synapse). Python
     (the Synapse image's, with sqlite3) and pg_dump (the image's) are this
     machine's: the venv's and PostgreSQL's bin directory first on PATH.
     Only the mount paths in the script change (by text, as run.py does for
     nginx.conf).
  3. A second message is sent after the backup: it must NOT come back.
  4. Synapse stops; its data directory (and, with PostgreSQL, its server) is
     deleted. The restore follows the README ("Backups and restore"): the
     backup's signing key and media store (and homeserver.db with SQLite) are
     copied into an empty data volume; with PostgreSQL the dump is restored
     with `pg_restore --no-owner --exit-on-error` as the Synapse role into a
     fresh, empty database created as Synapse requires, on a new server.
  5. A second Synapse boots from the rendered config and that data alone; the
     user logs in with her password, reads the first message back, does not
     see the second, and downloads the file; the signing key is the one the
     first Synapse served.

One PASS/FAIL line per check, then `backup-restore: N passed, M failed`.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (tests/real/run.py)

CRONJOB = "synapse-backup"
BACKUP_TIMEOUT = 120
RESTORE_TIMEOUT = 120
USER = "alice"
BACKUP_NAME = re.compile(r"^\d{8}T\d{6}Z$")


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def http_raw(method: str, url: str, body: bytes | None, token: str, content_type: str = ""):
    """(status, body bytes) of a loopback request with a raw body."""
    assert url.startswith(f"http://{R.LOOPBACK}:"), url
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with R._OPENER.open(req, timeout=R.HTTP_TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e).encode()


class State:
    """What the first Synapse wrote, for the checks after the restore."""

    def __init__(self) -> None:
        self.password = secrets.token_urlsafe(18)
        self.token: str | None = None
        self.room_id: str | None = None
        self.before = f"before the backup {secrets.token_hex(6)}"
        self.after = f"after the backup {secrets.token_hex(6)}"
        self.media = secrets.token_bytes(4096)
        self.mxc: str | None = None
        self.key: bytes | None = None
        self.server_name = ""


class FirstSynapse(R.SynapseRun):
    """run.py's Synapse run, whose user part writes the data to back up."""

    def __init__(self, ctx, rendered, work, state: State):
        super().__init__(ctx, rendered, work)
        self.state = state
        self.url = ""

    def check_register_and_turn(self, url: str, hs: dict) -> None:
        fx, res, st = self.ctx.fixture, self.ctx.res, self.state
        self.url = url
        st.server_name = str(hs.get("server_name"))
        sname, shared = self.r.secret_value("REGISTRATION_SHARED_SECRET")
        if not res.check(fx, "synapse: one rendered Secret has REGISTRATION_SHARED_SECRET", shared is not None):
            return
        rc, out = R.run_cmd([self.ctx.register_cmd, f"--shared-secret={shared.decode()}", "-u", USER,
                             f"--password={st.password}", "--no-admin", url], R.REGISTER_TIMEOUT, self.work,
                            R.child_env())
        shown = out.replace(shared.decode(), "<secret>").replace(st.password, "<password>")
        if not res.check(fx, f"synapse: register_new_matrix_user --shared-secret=<{sname}.REGISTRATION_SHARED_SECRET> "
                             f"-u {USER} exits 0", rc == 0, "" if rc == 0 else f"exit {rc}\n{R.tail(shown)}"):
            return
        st.token = login(url, st.password)
        if not res.check(fx, f"synapse: {USER} logs in", st.token is not None):
            return
        status, _, raw = R.http("POST", url + "/_matrix/client/v3/createRoom", {"name": "backup test"}, st.token)
        st.room_id = (R.as_json(raw) or {}).get("room_id")
        if not res.check(fx, f"synapse: {USER} creates a room", status == 200 and bool(st.room_id),
                         f"{st.room_id}" if st.room_id else f"status {status}, {raw[:200]!r}"):
            return
        status, raw = http_raw("POST", url + "/_matrix/media/v3/upload?filename=notes.bin", st.media, st.token,
                               "application/octet-stream")
        st.mxc = (R.as_json(raw) or {}).get("content_uri")
        res.check(fx, f"synapse: {USER} uploads a file of {len(st.media)} bytes", status == 200 and bool(st.mxc),
                  f"{st.mxc}" if st.mxc else f"status {status}, {raw[:200]!r}")
        event = send(url, st.token, st.room_id, st.before)
        res.check(fx, f"synapse: {USER} sends the message {st.before!r}", event is not None, f"event {event}")


def login(url: str, password: str) -> str | None:
    status, _, raw = R.http("POST", url + "/_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": USER}, "password": password})
    return (R.as_json(raw) or {}).get("access_token") if status == 200 else None


def send(url: str, token: str, room_id: str, body: str) -> str | None:
    txn = secrets.token_hex(8)
    status, _, raw = R.http("PUT", f"{url}/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/{txn}",
                            {"msgtype": "m.text", "body": body}, token)
    return (R.as_json(raw) or {}).get("event_id") if status == 200 else None


def messages(url: str, token: str, room_id: str) -> list[str] | None:
    status, _, raw = R.http("GET", f"{url}/_matrix/client/v3/rooms/{q(room_id)}/messages?dir=b&limit=100",
                            None, token)
    if status != 200:
        return None
    return [e.get("content", {}).get("body") for e in (R.as_json(raw) or {}).get("chunk", [])
            if e.get("type") == "m.room.message"]


class SecondSynapse(R.SynapseRun):
    """run.py's Synapse run on the restored data: with PostgreSQL the dump goes into the
    fresh database before Synapse starts; the user part reads the data back."""

    def __init__(self, ctx, rendered, work, state: State, dump: str | None):
        super().__init__(ctx, rendered, work)
        self.state = state
        self.dump = dump

    def setup_postgres(self, db: dict, container: dict, pod_env: dict[str, str]) -> bool:
        if not super().setup_postgres(db, container, pod_env):
            return False
        fx, res = self.ctx.fixture, self.ctx.res
        login_ = self.pg_login
        env = self.pg.env()
        env["PGPASSWORD"] = login_["password"]
        cmd = [self.pg.tool("pg_restore"), "--no-owner", "--exit-on-error", "-h", R.LOOPBACK, "-p", str(self.pg.port),
               "-U", login_["user"], "-d", login_["dbname"], self.dump or "<no dump>"]
        t0 = time.monotonic()
        rc, out = R.run_cmd(cmd, RESTORE_TIMEOUT, self.work, env)
        shown = " ".join(cmd[:-1] + [os.path.basename(cmd[-1])])
        return res.check(fx, f"restore: {shown} into the fresh database exits 0", rc == 0,
                         f"{time.monotonic() - t0:.1f} s" if rc == 0 else
                         f"exit {rc}\n{R.tail(out.replace(login_['password'], '<password>'))}")

    def check_register_and_turn(self, url: str, hs: dict) -> None:
        fx, res, st = self.ctx.fixture, self.ctx.res, self.state
        token = login(url, st.password)
        if not res.check(fx, f"restored synapse: {USER} logs in with her password", token is not None):
            return
        got = messages(url, token, st.room_id or "")
        res.check(fx, f"restored synapse: {USER} reads the message sent before the backup",
                  got is not None and st.before in got, f"messages {got}")
        res.check(fx, "restored synapse: the message sent after the backup is not there",
                  got is not None and st.after not in got, f"messages {got}")
        if st.mxc:
            server, media_id = st.mxc[len("mxc://"):].split("/", 1)
            status, raw = http_raw("GET", f"{url}/_matrix/client/v1/media/download/{server}/{media_id}", None, token)
            res.check(fx, f"restored synapse: {USER} downloads the file (the media store came back)",
                      status == 200 and raw == st.media, f"status {status}, {len(raw)} bytes")


def mount_path_of_claim(pod_spec: dict, container: dict, claim: str) -> str | None:
    names = {v["name"] for v in pod_spec.get("volumes", [])
             if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim}
    return next((m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in names), None)


def synapse_data_mount(rendered: R.Rendered) -> str:
    """Where the Synapse container mounts its data claim."""
    dep, container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
    spec = dep["spec"]["template"]["spec"]
    claim = next(v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes", [])
                 if v.get("persistentVolumeClaim"))
    return mount_path_of_claim(spec, container, claim) or "/data"


def substitute(script: str, paths: dict[str, str]) -> str:
    """Each mount path, as a whole path (not a prefix of a longer name), by its host path,
    in one pass (a host path may itself contain a mount path such as /tmp)."""
    alternation = "|".join(re.escape(mp) for mp in sorted(paths, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w./-])(" + alternation + r")(?![\w.-])")
    return pattern.sub(lambda m: paths[m.group(1)], script)


def run_backup(ctx, rendered: R.Rendered, first: FirstSynapse, work: str) -> str | None:
    """Runs the CronJob's command; returns the new backup's directory."""
    fx, res = ctx.fixture, ctx.res
    job = rendered.get("CronJob", CRONJOB)
    if not res.check(fx, f"the render has the CronJob {CRONJOB}", job is not None):
        return None
    tmpl = job["spec"]["jobTemplate"]["spec"]["template"]
    spec = tmpl["spec"]
    container = spec["containers"][0]
    command = container.get("command", [])
    if not res.check(fx, "backup: the container's command is /bin/sh -c SCRIPT",
                     len(command) == 3 and command[:2] == ["/bin/sh", "-c"], json.dumps(command)[:200]):
        return None
    dep, syn_container = rendered.deployment_running(lambda a: "synapse.app.homeserver" in a)
    syn_spec = dep["spec"]["template"]["spec"]
    data_claim = next((v["persistentVolumeClaim"]["claimName"] for v in syn_spec.get("volumes", [])
                       if v.get("persistentVolumeClaim")), None)
    syn_data = mount_path_of_claim(syn_spec, syn_container, data_claim)
    job_data = mount_path_of_claim(spec, container, data_claim)
    data_mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == job_data), {})
    affinity = ((spec.get("affinity") or {}).get("podAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or []
    on_node = any(t.get("topologyKey") == "kubernetes.io/hostname" and
                  (t.get("labelSelector") or {}).get("matchLabels") == dep["spec"]["selector"]["matchLabels"]
                  for t in affinity)
    res.check(fx, f"backup: the pod mounts Synapse's claim {data_claim} read-only, on Synapse's node "
                  "(required pod affinity, kubernetes.io/hostname)",
              bool(job_data) and data_mount.get("readOnly") is True and on_node,
              f"{job_data} readOnly {data_mount.get('readOnly')}, affinity {json.dumps(affinity)}")
    if not job_data or not syn_data:
        return None
    # The pod's volumes: Secrets laid out by run.py's Pod; the data claim is the running
    # Synapse's directory; the backup claim a directory of its own.
    fake = {"metadata": job["metadata"], "spec": {"template": tmpl}}
    pod = R.Pod(rendered, fake, os.path.join(work, "backup-pod"), fx, res)
    if not res.check(fx, "backup: pod volumes are all rendered", not pod.problems and not pod.external,
                     "; ".join(pod.problems + pod.external)):
        return None
    data_host = os.path.join(work, "synapse", "synapse-pod", syn_data.lstrip("/"))
    backup_host = os.path.join(work, "backup-volume")
    os.makedirs(backup_host)
    paths = {}
    for m in container.get("volumeMounts", []):
        vol = next(v for v in spec["volumes"] if v["name"] == m["name"])
        claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        paths[m["mountPath"]] = data_host if claim == data_claim else backup_host if claim else pod.host(m["mountPath"])
    # Older backups on the volume: the run keeps the newest `keep` (its own included).
    keep = int(re.search(r"^keep=(\d+)$", command[2], re.M).group(1))
    old = [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(1_600_000_000 + i * 86_400)) for i in range(keep + 1)]
    for name in old:
        os.makedirs(os.path.join(backup_host, name, "media_store"))
    os.makedirs(os.path.join(backup_host, ".partial-20200101T000000Z"))  # a run that died

    script = substitute(command[2], paths)
    env, unset = R.container_env(container, pod.rendered)
    if not res.check(fx, "backup: the container's env is rendered", not unset,
                     json.dumps(unset) if unset else ", ".join(sorted(env)) or "(no env)"):
        return None
    if first.pg is not None:
        # As run.py does for Synapse: the cluster's database name does not resolve here.
        env.update(PGHOST=R.LOOPBACK, PGPORT=str(first.pg.port))
    path_dirs = [os.path.dirname(ctx.python)] + ([first.pg.bindir] if first.pg is not None else [])
    full_env = R.libpq_free_env(R.child_env(os.pathsep.join(path_dirs)))
    full_env["PGPASSFILE"] = os.path.join(work, "no-such-pgpass")
    full_env.update(env)
    if os.geteuid() == 0 and shutil.which("unshare"):
        # The data claim read-only, as in the pod, in a mount namespace of its own.
        wrapper = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
                   'if touch "$1/.rw-probe" 2>/dev/null; then echo "not read-only" >&2; exit 99; fi && '
                   'shift && exec /bin/sh -c "$@"')
        cmd = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", wrapper, "sh", data_host, script]
        how = "with the data volume bind-mounted read-only"
    else:
        cmd = ["/bin/sh", "-c", script]
        how = "WITHOUT a read-only data volume (not root: no mount namespace)"
    R.Results.info(fx, f"the data volume while Synapse runs: {sorted(os.listdir(data_host))}")
    alive = first.proc is not None and first.proc.poll() is None
    t0 = time.monotonic()
    rc, out = R.run_cmd(cmd, BACKUP_TIMEOUT, work, full_env)
    took = time.monotonic() - t0
    alive_after = first.proc is not None and first.proc.poll() is None
    for line in out.strip().splitlines():
        R.Results.info(fx, f"backup output: {line}")
    if not res.check(fx, f"backup: the CronJob's script exits 0 while Synapse runs, {how}",
                     rc == 0 and alive and alive_after,
                     f"{took:.1f} s" if rc == 0 else f"exit {rc}, synapse running {alive}/{alive_after}\n{R.tail(out)}"):
        return None
    names = sorted(os.listdir(backup_host))
    new = [n for n in names if BACKUP_NAME.match(n) and n not in old]
    res.check(fx, f"backup: one new backup, the newest {keep} kept, the older and the partial deleted",
              len(new) == 1 and names == sorted(old[len(old) - (keep - 1):] + new),
              f"volume holds {names}")
    if len(new) != 1:
        return None
    return os.path.join(backup_host, new[0])


def run_fixture(fx: str, args, res: R.Results, tmp_root: str) -> None:
    fdir = os.path.join(args.fixtures_dir, fx)
    rc, out, err = R.render(args.cli, fdir)
    data = json.loads(out) if rc == 0 else None
    if not res.check(fx, "matrix-render render ... --format json prints a List", isinstance(data, dict),
                     "" if rc == 0 else f"exit {rc}\n{R.tail(err)}"):
        return
    values = R.fixture_values(fdir, R.render_args(fdir), args.python)
    rendered = R.Rendered(data["items"], values)
    work = tempfile.mkdtemp(prefix=f"{fx}-", dir=tmp_root)
    ctx = R.Ctx(fx, res, args.python, args.register_cmd, args.synapse_timeout, args.keep)
    st = State()

    # 1.-3. Synapse runs, the user writes, the backup runs, one more message.
    first = FirstSynapse(ctx, rendered, os.path.join(work, "synapse"), st)
    os.makedirs(first.work)
    backup = None
    try:
        try:
            first.run()
            if st.token and st.room_id:
                backup = run_backup(ctx, rendered, first, work)
                event = send(first.url, st.token, st.room_id, st.after)
                res.check(fx, f"synapse: {USER} sends {st.after!r} after the backup", event is not None)
        except Exception:  # noqa: BLE001
            res.check(fx, "first synapse: checks ran to the end", False, traceback.format_exc())
    finally:
        first.stop()
    if backup is None:
        return

    # 4. The restore, from the backup alone.
    files = sorted(os.listdir(backup))
    key_name = f"{st.server_name}.signing.key"
    dump = os.path.join(backup, "synapse.pgdump")
    db_file = "synapse.pgdump" if first.pg_login else "homeserver.db"
    res.check(fx, f"backup: holds {db_file}, {key_name} and media_store/", db_file in files and key_name in files
              and "media_store" in files, f"{os.path.basename(backup)}: {files}")
    with open(os.path.join(work, "synapse", "synapse-pod", synapse_data_mount(rendered).lstrip("/"), key_name),
              "rb") as f:
        st.key = f.read()
    shutil.rmtree(os.path.join(work, "synapse"))  # the first Synapse's volumes are gone
    second_work = os.path.join(work, "restored")
    data2 = os.path.join(second_work, "synapse-pod", synapse_data_mount(rendered).lstrip("/"))
    os.makedirs(data2)
    # The README's restore: into an empty data volume, the key, the media store and
    # (SQLite) the database of one backup.
    shutil.copy2(os.path.join(backup, key_name), os.path.join(data2, key_name))
    shutil.copytree(os.path.join(backup, "media_store"), os.path.join(data2, "media_store"))
    if not first.pg_login:
        shutil.copy2(os.path.join(backup, "homeserver.db"), os.path.join(data2, "homeserver.db"))

    # 5. A second Synapse on it.
    second = SecondSynapse(ctx, rendered, second_work, st, dump if first.pg_login else None)
    try:
        try:
            second.run()
            with open(os.path.join(data2, key_name), "rb") as f:
                res.check(fx, "restored synapse: its signing key is the first one's (not regenerated)",
                          f.read() == st.key)
        except Exception:  # noqa: BLE001
            res.check(fx, "restored synapse: checks ran to the end", False, traceback.format_exc())
    finally:
        second.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path to the matrix-render binary")
    ap.add_argument("--fixtures", default="backup-sqlite,backup-postgres")
    ap.add_argument("--fixtures-dir", default=os.path.join(R.REPO, "tests", "fixtures"))
    ap.add_argument("--python", default=os.path.join(R.REPO, "dist", "real-venv", "bin", "python"))
    ap.add_argument("--synapse-timeout", type=float, default=R.SYNAPSE_START_TIMEOUT)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.cli = os.path.abspath(args.cli)
    args.register_cmd = os.path.join(os.path.dirname(args.python), "register_new_matrix_user")
    res = R.Results()
    missing = [p for p in (args.cli, args.python, args.register_cmd) if not os.path.exists(p)]
    bindir = R.postgres_bindir()
    if bindir is None or not all(os.access(os.path.join(bindir, t), os.X_OK) for t in ("pg_dump", "pg_restore")):
        missing.append("PostgreSQL's initdb, postgres, psql, pg_isready, pg_dump and pg_restore")
    if missing:
        res.check("setup", "programs are installed (bash scripts/real-deps.sh)", False, ", ".join(missing))
        print(f"backup-restore: {res.passed} passed, {res.failed} failed")
        return 1
    atexit.register(R.stop_all_children)
    signal.signal(signal.SIGTERM, R._on_signal)
    signal.signal(signal.SIGINT, R._on_signal)
    tmp_root = tempfile.mkdtemp(prefix="real-backup-")
    try:
        for fx in [f.strip() for f in args.fixtures.split(",") if f.strip()]:
            t0 = time.monotonic()
            try:
                run_fixture(fx, args, res, tmp_root)
            except Exception:  # noqa: BLE001
                res.check(fx, "checks ran to the end", False, traceback.format_exc())
            R.Results.info(fx, f"fixture took {time.monotonic() - t0:.1f} s")
    finally:
        R.stop_all_children()
        if args.keep:
            print(f"INFO [all] temporary files kept in {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
            for d in R._EXTRA_DIRS:
                shutil.rmtree(d, ignore_errors=True)
    if res.failures:
        print("Failures:")
        for f in res.failures:
            print("  " + f.splitlines()[0])
    print(f"backup-restore: {res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
