#!/usr/bin/env python3
"""A real Prometheus scrapes the metrics the rendered ServiceMonitors name.

Usage (from the repository root, after `bash scripts/real-deps.sh` and
`bash scripts/metrics-deps.sh`):

    dist/real-venv/bin/python tests/real/metrics.py --cli target/debug/matrix-render

The fixture (tests/fixtures/metrics: metrics and ServiceMonitors on, every component on)
is rendered with `--format json`. Then:

  1. Every ServiceMonitor is resolved the way the Prometheus Operator resolves it: its
     `selector` picks the Services of its namespace by label, its endpoint's `port`
     names a Service port, whose `targetPort` names a container port of the pods the
     Service selects; the container port's number is the port that is scraped. The path,
     scheme, interval and timeout are the endpoint's. No Ingress or HTTPRoute may route
     to that Service port or container port.
  2. Synapse 1.162 runs on the rendered homeserver.yaml exactly as tests/real/run.py runs
     it (its SynapseRun: the rendered config plus an override that only moves every
     listener to 127.0.0.1 on a free port and the paths into a temporary pod tree). The
     rendered listener on the ServiceMonitor's port must be Synapse's `type: metrics`
     listener, with `enable_metrics` on; its loopback stand-in port is scraped. The
     routed `http` listener must not serve `/_synapse/metrics`.
  3. Debian's prometheus runs with a static scrape config made from the ServiceMonitor
     (job, path, scheme, interval, timeout; the target is the listener's loopback
     port), on a free loopback port with a temporary storage directory. Its HTTP API
     is polled with `/api/v1/query?query=synapse_build_info` until a result comes back,
     and the result is printed.
  4. coturn: Debian's turnserver is asked (`turnserver --help`) whether it was built
     with Prometheus support. Debian 12's coturn 4.6.1 is not (no `--prometheus`
     option: it reports the rendered `prometheus` lines as "Bad configuration format"),
     so its endpoint cannot be scraped here; the coturn/coturn image the stack runs is
     built with it. LiveKit's endpoint is not run here either (no LiveKit on this
     machine).

Every check prints PASS/FAIL; the run ends with "metrics: N passed, N failed" and exits 1
on any failure.
"""

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as real  # noqa: E402  (tests/real/run.py: Synapse, processes, HTTP, results)

FIXTURE = "metrics"
PROMETHEUS_START_TIMEOUT = 30
QUERY_TIMEOUT = 90
QUERY = "synapse_build_info"


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def resolve(rendered: "real.Rendered", monitor: dict) -> tuple[list[dict], list[str]]:
    """The scrape targets of a ServiceMonitor, as the Prometheus Operator finds them:
    [{service, service_port, container, container_port, deployment, endpoint}], and the
    problems met on the way."""
    ns = monitor["metadata"]["namespace"]
    spec = monitor.get("spec") or {}
    names = (spec.get("namespaceSelector") or {}).get("matchNames") or [ns]
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    targets, problems = [], []
    services = [s for s in rendered.of_kind("Service")
                if s["metadata"].get("namespace") in names
                and matches(selector, s["metadata"].get("labels") or {})]
    if not services:
        problems.append(f"no Service in {names} has the labels {selector}")
    for endpoint in spec.get("endpoints") or []:
        found = False
        for svc in services:
            for sp in svc["spec"].get("ports") or []:
                if sp.get("name") != endpoint.get("port"):
                    continue
                target = sp.get("targetPort", sp.get("port"))
                for dep in rendered.of_kind("Deployment"):
                    tpl = dep["spec"]["template"]
                    if dep["metadata"].get("namespace") != svc["metadata"].get("namespace") or \
                            not matches(svc["spec"].get("selector") or {}, tpl["metadata"].get("labels") or {}):
                        continue
                    for c in tpl["spec"].get("containers") or []:
                        for cp in c.get("ports") or []:
                            if cp.get("name") == target or cp.get("containerPort") == target:
                                found = True
                                targets.append({
                                    "service": svc["metadata"]["name"],
                                    "service_port": sp["port"],
                                    "deployment": dep["metadata"]["name"],
                                    "container": c["name"],
                                    "container_port": cp["containerPort"],
                                    "endpoint": endpoint,
                                })
        if not found:
            problems.append(f"endpoint port {endpoint.get('port')!r} leads to no container port")
    return targets, problems


def routed_ports(rendered: "real.Rendered") -> set:
    """Every (Service, port number or name) an Ingress or HTTPRoute sends traffic to."""
    out = set()
    for ing in rendered.of_kind("Ingress"):
        for rule in ing["spec"].get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                svc = (p.get("backend") or {}).get("service") or {}
                port = svc.get("port") or {}
                out.add((svc.get("name"), port.get("number", port.get("name"))))
    for rt in rendered.of_kind("HTTPRoute"):
        for rule in rt["spec"].get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                out.add((ref.get("name"), ref.get("port")))
    return out


def prometheus_config(job: str, endpoint: dict, target: str, labels: dict) -> dict:
    """A static scrape job made from a ServiceMonitor endpoint."""
    scrape = {
        "job_name": job,
        "metrics_path": endpoint.get("path") or "/metrics",
        "scheme": endpoint.get("scheme") or "http",
        "static_configs": [{"targets": [target], "labels": labels}],
    }
    if endpoint.get("interval"):
        scrape["scrape_interval"] = endpoint["interval"]
    if endpoint.get("scrapeTimeout"):
        scrape["scrape_timeout"] = endpoint["scrapeTimeout"]
    return {"global": {"evaluation_interval": "1m"}, "scrape_configs": [scrape]}


def query(port: int, expr: str):
    url = f"http://{real.LOOPBACK}:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = real.http("GET", url)
    return status, real.as_json(body) if status == 200 else body


def coturn_support(res: "real.Results") -> None:
    turnserver = shutil.which("turnserver")
    if turnserver is None:
        res.info(FIXTURE, "coturn: no turnserver on this machine (bash scripts/real-deps.sh); not scraped")
        return
    r = subprocess.run([turnserver, "--help"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    text = (r.stdout + r.stderr).decode("utf-8", "replace")
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "coturn"], capture_output=True,
                             timeout=20).stdout.decode().strip() or "?"
    if "prometheus" in text:
        res.info(FIXTURE, f"coturn: Debian's coturn {version} lists --prometheus, but this test does not "
                          "scrape it yet")
    else:
        res.info(FIXTURE, f"coturn: Debian's coturn {version} was built without Prometheus support "
                          "(`turnserver --help` lists no --prometheus); its metrics cannot be scraped here. "
                          "The coturn/coturn image the stack runs is built with it.")


def run_metrics(args, res: "real.Results", work: str) -> None:
    fdir = os.path.join(args.fixtures_dir, FIXTURE)
    rc, out, err = real.render(args.cli, fdir)
    data = json.loads(out) if rc == 0 else None
    if not res.check(FIXTURE, "matrix-render render ... --format json prints a List",
                     isinstance(data, dict) and data.get("kind") == "List",
                     "" if rc == 0 else f"exit {rc}\n{real.tail(err)}"):
        return
    values = real.fixture_values(fdir, real.render_args(fdir), args.python)
    rendered = real.Rendered(data["items"], values)

    # ---- 1. the ServiceMonitors, resolved to container ports
    monitors = rendered.of_kind("ServiceMonitor")
    names = sorted(m["metadata"]["name"] for m in monitors)
    res.check(FIXTURE, "a ServiceMonitor for every component with metrics (coturn, livekit, synapse)",
              names == ["coturn", "livekit", "synapse"], ", ".join(names))
    routes = routed_ports(rendered)
    resolved = {}
    for m in monitors:
        name = m["metadata"]["name"]
        targets, problems = resolve(rendered, m)
        ok = len(targets) == 1 and not problems
        desc = ", ".join(f"Service {t['service']}:{t['service_port']} -> Deployment {t['deployment']} "
                         f"container {t['container']} port {t['container_port']}" for t in targets)
        if res.check(FIXTURE, f"ServiceMonitor {name}: its endpoint leads to exactly one container port",
                     ok, desc if ok else "; ".join(problems) + (f" ({desc})" if desc else "")):
            t = targets[0]
            resolved[name] = t
            routed = [r for r in routes if r[0] == t["service"]
                      and r[1] in (t["service_port"], t["endpoint"].get("port"))]
            res.check(FIXTURE, f"ServiceMonitor {name}: no Ingress or HTTPRoute routes its port", not routed,
                      f"routed: {routed}" if routed else f"routes: {sorted(map(str, routes))}")
    target = resolved.get("synapse")
    if target is None:
        return

    # ---- 2. Synapse on the rendered config
    cm = rendered.get("ConfigMap", "synapse-extra-config")
    hs_path = os.path.join(work, "homeserver.yaml")
    with open(hs_path, "w", encoding="utf-8") as f:
        f.write(cm["data"]["homeserver.yaml"])
    hs = real.load_yaml(hs_path, args.python)
    listeners = hs.get("listeners") or []
    index = next((i for i, lst in enumerate(listeners) if lst.get("port") == target["container_port"]), None)
    lst = listeners[index] if index is not None else {}
    res.check(FIXTURE, f"synapse: the ServiceMonitor's port {target['container_port']} is a `type: metrics` "
                       "listener of homeserver.yaml, with enable_metrics", lst.get("type") == "metrics"
              and hs.get("enable_metrics") is True, json.dumps(lst))
    if lst.get("type") != "metrics":
        return
    ctx = real.Ctx(FIXTURE, res, args.python, args.register_cmd, args.synapse_timeout, args.keep)
    syn = real.SynapseRun(ctx, rendered, os.path.join(work, "synapse"))
    os.makedirs(syn.work)
    prom = None
    try:
        syn.run()
        if syn.proc is None or syn.proc.poll() is not None:
            res.check(FIXTURE, "synapse: runs", False, real.tail(real.read_text(syn.log_path), 40))
            return
        with open(os.path.join(syn.work, "override.yaml"), encoding="utf-8") as f:
            f.readline()  # the comment line
            override = json.load(f)
        moved = override["listeners"][index]
        loopback = moved["port"]
        res.info(FIXTURE, f"synapse: the metrics listener (rendered port {target['container_port']}) "
                          f"runs on {real.LOOPBACK}:{loopback}")
        client = next(x["port"] for x in override["listeners"] if x.get("type") == "http")
        status, _, _ = real.http("GET", f"http://{real.LOOPBACK}:{client}{target['endpoint']['path']}")
        res.check(FIXTURE, "synapse: the routed http listener does not serve the metrics path",
                  status == 404, f"GET {target['endpoint']['path']} on the http listener: {status}")

        # ---- 3. Prometheus, scraping what the ServiceMonitor names
        ns = rendered.get("ServiceMonitor", "synapse")["metadata"]["namespace"]
        job = f"serviceMonitor/{ns}/synapse/0"
        config = prometheus_config(job, target["endpoint"], f"{real.LOOPBACK}:{loopback}", {
            "namespace": ns, "service": target["service"], "container": target["container"],
            "rendered_port": str(target["container_port"]),
        })
        pdir = os.path.join(work, "prometheus")
        os.makedirs(os.path.join(pdir, "data"))
        conf = os.path.join(pdir, "prometheus.yml")
        with open(conf, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)  # JSON is YAML
        res.info(FIXTURE, "prometheus scrape config: " + json.dumps(config))
        ok, detail = True, ""
        r = subprocess.run([args.prometheus, "--version"], capture_output=True, timeout=20)
        res.info(FIXTURE, "prometheus: " + (r.stdout + r.stderr).decode().splitlines()[0])
        r = subprocess.run([args.promtool, "check", "config", conf], capture_output=True, timeout=30) \
            if args.promtool else None
        if r is not None:
            ok, detail = r.returncode == 0, (r.stdout + r.stderr).decode().strip()
        res.check(FIXTURE, "prometheus: promtool check config accepts the scrape config", ok, detail)
        port = real.free_port()
        log = os.path.join(pdir, "prometheus.log")
        prom = real.start_process([
            args.prometheus, f"--config.file={conf}", f"--storage.tsdb.path={os.path.join(pdir, 'data')}",
            f"--web.listen-address={real.LOOPBACK}:{port}",
        ], log, pdir, real.child_env())
        t0 = time.monotonic()
        up = False
        while time.monotonic() - t0 < PROMETHEUS_START_TIMEOUT and prom.poll() is None:
            status, _, _ = real.http("GET", f"http://{real.LOOPBACK}:{port}/-/ready")
            if status == 200:
                up = True
                break
            time.sleep(0.5)
        if not res.check(FIXTURE, f"prometheus: ready on {real.LOOPBACK}:{port}", up,
                         f"{time.monotonic() - t0:.1f} s" if up else real.tail(real.read_text(log), 30)):
            return
        result, body = None, None
        while time.monotonic() - t0 < QUERY_TIMEOUT:
            status, body = query(port, QUERY)
            if status == 200 and isinstance(body, dict) and (body.get("data") or {}).get("result"):
                result = body
                break
            time.sleep(1)
        waited = time.monotonic() - t0
        if result is None:
            _, targets = real.http("GET", f"http://{real.LOOPBACK}:{port}/api/v1/targets")[1:]
            res.check(FIXTURE, f"prometheus: {QUERY} comes back", False,
                      f"after {waited:.1f} s: {body!r}\ntargets: {targets[:2000]!r}\n"
                      + real.tail(real.read_text(log), 20))
            return
        series = result["data"]["result"]
        metric = series[0]["metric"]
        ok = (metric.get("job") == job and metric.get("instance") == f"{real.LOOPBACK}:{loopback}"
              and metric.get("version", "").startswith("1.162"))
        res.check(FIXTURE, f"prometheus: {QUERY} comes back from the ServiceMonitor's job, Synapse 1.162", ok,
                  f"after {waited:.1f} s")
        print(f"PROMETHEUS QUERY {QUERY} (GET /api/v1/query?query={QUERY}):")
        print(json.dumps(result, indent=2, sort_keys=True))
        sys.stdout.flush()
    finally:
        real.stop_process(prom)
        syn.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path to the matrix-render binary")
    ap.add_argument("--fixtures-dir", default=os.path.join(real.REPO, "tests", "fixtures"))
    ap.add_argument("--python", default=None,
                    help="Python with matrix-synapse (default: this one, else <repo>/dist/real-venv/bin/python)")
    ap.add_argument("--register-cmd", default=None, help="register_new_matrix_user (default: next to --python)")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--promtool", default=shutil.which("promtool"))
    ap.add_argument("--synapse-timeout", type=float, default=real.SYNAPSE_START_TIMEOUT)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.cli = os.path.abspath(args.cli)
    args.fixtures_dir = os.path.abspath(args.fixtures_dir)
    if args.python is None:
        has = subprocess.run([sys.executable, "-c", "import synapse.app.homeserver"],
                             capture_output=True).returncode == 0
        args.python = sys.executable if has else os.path.join(real.REPO, "dist", "real-venv", "bin", "python")
    if args.register_cmd is None:
        args.register_cmd = os.path.join(os.path.dirname(args.python), "register_new_matrix_user")

    res = real.Results()
    missing = [f"{what} {path}" for what, path in (("--cli", args.cli), ("--python", args.python),
                                                   ("--prometheus", args.prometheus))
               if not path or not os.path.exists(path)]
    if missing:
        res.check("setup", "programs are installed (bash scripts/real-deps.sh scripts/metrics-deps.sh)",
                  False, ", ".join(missing))
        print(f"metrics: {res.passed} passed, {res.failed} failed")
        return 1
    atexit.register(real.stop_all_children)
    signal.signal(signal.SIGTERM, real._on_signal)
    signal.signal(signal.SIGINT, real._on_signal)
    work = tempfile.mkdtemp(prefix="real-metrics-")
    t0 = time.monotonic()
    try:
        try:
            run_metrics(args, res, work)
        except Exception:  # noqa: BLE001 - a crash of the test is a failure, not an abort
            res.check(FIXTURE, "checks ran to the end", False, traceback.format_exc())
        coturn_support(res)
    finally:
        real.stop_all_children()
        if args.keep:
            print(f"INFO [all] temporary files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            for d in real._EXTRA_DIRS:
                shutil.rmtree(d, ignore_errors=True)
    print(f"INFO [all] total {time.monotonic() - t0:.1f} s")
    if res.failures:
        print("Failures:")
        for f in res.failures:
            print("  " + f.splitlines()[0])
    print(f"metrics: {res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
