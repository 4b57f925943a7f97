#!/usr/bin/env python3
"""Run checkov's Kubernetes checks over rendered golden outputs.

    tests/checkov/run.py --checkov dist/checkov-venv/bin/checkov \
        [--summary-json PATH] [--jobs N] tests/golden/seed-rtc.yaml tests/golden/example.yaml ...

Interpreter: any Python 3.9+ (the system python3 or dist/checkov-venv/bin/python). The script
itself needs PyYAML; when the running interpreter lacks it, the script re-executes itself with
the `python` beside the --checkov executable (the checkov venv always has PyYAML). checkov is
installed by scripts/checkov-deps.sh.

Each file is scanned by its own checkov process (`checkov -f FILE --framework kubernetes -o json`),
so that graph checks such as CKV2_K8S_6 (every pod covered by a NetworkPolicy) only see the
objects of that one golden: a NetworkPolicy in one golden never covers the pods of another.
checkov reads every document of a multi-document YAML file (verified with checkov 3.3.30: the
results are identical to those over one file per document); the script still checks that
checkov saw every document (parsing_errors == 0 and resource_count == documents + pod templates).
checkov makes no network call here: --skip-download, BC_SKIP_MAPPING=TRUE and
CKV_SKIP_PACKAGE_UPDATE_CHECK=true.

Prints per file the passed/failed/skipped counts, every failed check (check id, resource as
kind/namespace/name, check name) and every skipped check (check id, resource, the reason from
the `checkov.io/skip*: CKV_ID=reason` annotation). Exit status:
  0  no check failed and every skip has a reason;
  1  a check failed, or a skip has an empty reason (`CKV_ID=` or no `=` at all, which checkov
     reports as "No comment provided");
  2  checkov could not run, crashed, or did not see every document of a file.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CHECKOV = REPO / "dist" / "checkov-venv" / "bin" / "checkov"
# checkov's own placeholder when a skip annotation has no "=reason" part.
NO_COMMENT = "No comment provided"
# Kinds whose pod template checkov turns into a nested "Pod" resource (kubernetes_utils.py).
POD_TEMPLATE_KINDS = {
    "Deployment", "DeploymentConfig", "DaemonSet", "Job", "ReplicaSet",
    "ReplicationController", "StatefulSet",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkov", default=str(DEFAULT_CHECKOV), help="checkov executable")
    p.add_argument("--summary-json", metavar="PATH", help="write the counts as JSON here")
    p.add_argument("--jobs", type=int, default=2, help="checkov processes at once (default 2)")
    p.add_argument("files", nargs="+", help="golden YAML files")
    return p.parse_args(argv)


def ensure_yaml(args: argparse.Namespace):
    try:
        import yaml  # noqa: F401

        return yaml
    except ImportError:
        pass
    venv_python = Path(args.checkov).parent / "python"
    if os.environ.get("MR_CHECKOV_REEXEC") or not os.access(venv_python, os.X_OK):
        sys.exit(f"checkov: PyYAML is missing and {venv_python} is not usable")
    env = dict(os.environ, MR_CHECKOV_REEXEC="1")
    os.execve(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --- what the file holds, computed the way checkov names resources -------------------------


def resource_id(kind: str, metadata: dict, parent: str | None = None) -> str | None:
    """checkov.kubernetes.kubernetes_utils.get_resource_id / build_resource_id_from_labels."""
    namespace = metadata.get("namespace", "default")
    name = metadata.get("name")
    if name:
        return f"{kind}.{namespace}.{name}"
    labels = metadata.get("labels")
    if labels:
        label_str = ".".join(f"{k}-{v}" for k, v in labels.items()) or "default"
        if parent:
            return f"{kind}.{namespace}.{parent}.{label_str}"
        return f"{kind}.{namespace}.{label_str}"
    return None


def inventory(yaml, path: str) -> tuple[set[str], dict[str, str]]:
    """Document resource ids, and a display name for each id (nested pods included)."""
    with open(path, encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d is not None]
    ids: set[str] = set()
    display: dict[str, str] = {}
    for doc in docs:
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            continue
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            continue
        kind, ns, name = doc["kind"], meta.get("namespace", "default"), meta["name"]
        rid = resource_id(kind, meta)
        ids.add(rid)
        display[rid] = f"{kind}/{ns}/{name}"
        template = (doc.get("spec") or {}).get("template") if isinstance(doc.get("spec"), dict) else None
        if kind in POD_TEMPLATE_KINDS and isinstance(template, dict):
            tmeta = dict(template.get("metadata") or {})
            if tmeta.get("namespace") is None and meta.get("namespace") is not None:
                tmeta["namespace"] = meta["namespace"]
            pid = resource_id(template.get("kind", "Pod"), tmeta, parent=name)
            if pid:
                display[pid] = f"Pod/{tmeta.get('namespace', 'default')}/{name} (pod template of {kind}/{ns}/{name})"
    return ids, display


def show(rid: str, display: dict[str, str]) -> str:
    if rid in display:
        return display[rid]
    parts = rid.split(".", 2)
    return "/".join(parts) if len(parts) == 3 else rid


# --- running checkov -------------------------------------------------------------------------


def run_checkov(checkov: str, path: str) -> dict:
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="true",
               LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    cmd = [checkov, "-f", path, "--framework", "kubernetes", "-o", "json", "--skip-download"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    # checkov exits 1 when a check failed, 0 when none did; anything else is a crash.
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stderr[-4000:]}")
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"{' '.join(cmd)}: output is not JSON ({e})\n{proc.stdout[:2000]}\n{proc.stderr[-4000:]}")
    reports = out if isinstance(out, list) else [out]
    reports = [r for r in reports if isinstance(r, dict) and r.get("check_type") == "kubernetes"]
    if len(reports) != 1:
        raise RuntimeError(f"{' '.join(cmd)}: no kubernetes report (did checkov see any Kubernetes object?)\n"
                           f"{proc.stdout[:2000]}")
    return reports[0]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    yaml = ensure_yaml(args)
    if not os.access(args.checkov, os.X_OK):
        print(f"checkov: {args.checkov} is not executable (run scripts/checkov-deps.sh)", file=sys.stderr)
        return 2

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {f: pool.submit(run_checkov, args.checkov, f) for f in args.files}
        reports = {}
        for f, fut in futures.items():
            try:
                reports[f] = fut.result()
            except Exception as e:  # noqa: BLE001 - report and exit 2
                print(f"checkov: {f}: {e}", file=sys.stderr)
                return 2

    summary: dict = {"checkov_version": None, "files": {}, "total": {"passed": 0, "failed": 0, "skipped": 0}}
    bad = False
    broken = False
    for f in args.files:
        report = reports[f]
        s = report["summary"]
        summary["checkov_version"] = s.get("checkov_version")
        res = report["results"]
        failed, skipped = res.get("failed_checks", []), res.get("skipped_checks", [])
        doc_ids, display = inventory(yaml, f)

        # Did checkov see every document? resource_count counts graph vertices: every named
        # document plus one nested Pod per pod template.
        seen = {c["resource"] for k in ("passed_checks", "failed_checks", "skipped_checks") for c in res.get(k, [])}
        pods = {r for r in seen if r.startswith("Pod.") and r not in doc_ids}
        if s.get("parsing_errors"):
            print(f"checkov: {f}: {s['parsing_errors']} parsing error(s): {report.get('parsing_errors')}", file=sys.stderr)
            broken = True
        if s.get("resource_count") != len(doc_ids) + len(pods) or not seen <= doc_ids | pods:
            print(f"checkov: {f}: checkov saw {s.get('resource_count')} resources, the file has "
                  f"{len(doc_ids)} documents + {len(pods)} pod templates", file=sys.stderr)
            broken = True

        print(f"{f}: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
        for c in sorted(failed, key=lambda c: (c["check_id"], c["resource"])):
            print(f"  FAILED   {c['check_id']:<11} {show(c['resource'], display)}: {c['check_name']}")
        empty = 0
        for c in sorted(skipped, key=lambda c: (c["check_id"], c["resource"])):
            reason = (c.get("check_result") or {}).get("suppress_comment") or ""
            if not reason.strip() or reason.strip() == NO_COMMENT:
                empty += 1
                reason_txt = "EMPTY REASON"
            else:
                reason_txt = f"reason: {reason}"
            print(f"  SKIPPED  {c['check_id']:<11} {show(c['resource'], display)}: {reason_txt}")
        if failed or empty:
            bad = True
        summary["files"][f] = {
            "passed": s["passed"], "failed": s["failed"], "skipped": s["skipped"],
            "skipped_without_reason": empty,
            "failed_checks": sorted({f"{c['check_id']} {show(c['resource'], display)}" for c in failed}),
            "skipped_checks": sorted({f"{c['check_id']} {show(c['resource'], display)}" for c in skipped}),
        }
        for k in ("passed", "failed", "skipped"):
            summary["total"][k] += s[k]

    if args.summary_json:
        Path(args.summary_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary_json).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    t = summary["total"]
    print(f"checkov {summary['checkov_version']}, {len(args.files)} file(s)")
    print(f"checkov: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped")
    if broken:
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
