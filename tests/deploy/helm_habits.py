#!/usr/bin/env python3
"""matrix-render's Helm-style flags against the real `helm template`, for the same input.

A throwaway chart whose only template prints `.Values.element.extraConfig` and
`.Release.Namespace` shows what Helm makes of `-f`, `--set`, `--set-string`, `--set-json`,
`--set-file` and `-n`. matrix-render gets the same flags on top of the example config;
`element.extraConfig` is a free-form map merged into Element's config.json, so every key
Helm computes there must appear in the rendered config.json with the same value, and every
object of the main namespace must carry the namespace Helm reports.

Where matrix-render departs from Helm on purpose, the case says so and checks our side:
a URL as `-f` (Helm downloads it; the core reads no network) and `-s/--show-only`
(Helm selects template files, matrix-render objects by kind and name).

Usage: python tests/deploy/helm_habits.py --cli target/debug/matrix-render [--helm dist/bench/helm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = ["-f", os.path.join(REPO, "examples/values.yaml"), "-f", os.path.join(REPO, "examples/secrets.yaml")]

CHART_YAML = "apiVersion: v2\nname: habits\nversion: 0.1.0\n"
# The chart's own defaults: what matrix-render's defaults hold under the same key.
CHART_VALUES = "element:\n  extraConfig: {}\n"
TEMPLATE = (
    "extraConfig: {{ .Values.element.extraConfig | toJson }}\n"
    "namespace: {{ .Release.Namespace | toJson }}\n"
)


def run(cmd: list[str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}")


def helm_values(helm: str, chart: str, flags: list[str], cwd: str, env: dict) -> tuple[dict, str]:
    out = subprocess.run([helm, "template", "habits", chart, *flags], cwd=cwd, capture_output=True,
                         text=True, timeout=120, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"helm template {' '.join(flags)}: {out.stderr.strip()}")
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    doc = docs[0]
    return doc["extraConfig"], doc["namespace"]


def render(cli: str, flags: list[str], cwd: str) -> tuple[list[dict], subprocess.CompletedProcess]:
    out = run([cli, "render", *BASE, *flags], cwd)
    if out.returncode != 0:
        return [], out
    return [d for d in yaml.safe_load_all(out.stdout) if d], out


def element_config(objects: list[dict]) -> dict:
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and "config.json" in (obj.get("data") or {}):
            return json.loads(obj["data"]["config.json"])
    raise RuntimeError("no ConfigMap with config.json (Element's) in the render")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--helm", default=os.path.join(REPO, "dist/bench/helm"))
    args = parser.parse_args()
    cli = os.path.abspath(args.cli)
    helm = os.path.abspath(args.helm)
    checks = Checks()

    with tempfile.TemporaryDirectory(prefix="helm-habits-") as tmp:
        env = dict(os.environ)
        for var in ("HELM_DATA_HOME", "HELM_CONFIG_HOME", "HELM_CACHE_HOME"):
            env[var] = os.path.join(tmp, "helm", var.lower())
        chart = os.path.join(tmp, "chart")
        os.makedirs(os.path.join(chart, "templates"))
        for name, text in [("Chart.yaml", CHART_YAML), ("values.yaml", CHART_VALUES),
                           ("templates/values.yaml", TEMPLATE)]:
            with open(os.path.join(chart, name), "w", encoding="utf-8") as f:
                f.write(text)
        with open(os.path.join(tmp, "a.yaml"), "w", encoding="utf-8") as f:
            f.write("element:\n  extraConfig:\n    x: 1\n    m: {a: 1, keep: true}\n    l: [1, 2]\n")
        with open(os.path.join(tmp, "b.yaml"), "w", encoding="utf-8") as f:
            f.write("element:\n  extraConfig:\n    x: 2\n    m: {a: 2}\n")
        with open(os.path.join(tmp, "motd.txt"), "w", encoding="utf-8") as f:
            f.write("Welcome,\nfriends: yes\n")

        cases: list[tuple[str, list[str]]] = [
            ("-f twice: the later file wins, maps merge", ["-f", "a.yaml", "-f", "b.yaml"]),
            ("--set over -f", ["-f", "a.yaml", "--set", "element.extraConfig.x=3"]),
            ("--set types: numbers, booleans, null, leading zeros, lists",
             ["--set", "element.extraConfig.n=007,element.extraConfig.t=true,element.extraConfig.z=0",
              "--set", "element.extraConfig.list={a,b,c}", "--set", "element.extraConfig.e=a\\,b"]),
            ("--set-string keeps text", ["--set-string", "element.extraConfig.n=007,element.extraConfig.t=true"]),
            ("--set-json: a JSON object merges into the values around it",
             ["-f", "a.yaml", "--set-json", 'element.extraConfig.m={"b":[1,{"c":null}],"d":"x"}']),
            ("--set-json before --set, whatever the order on the line",
             ["--set", "element.extraConfig.x=5", "--set-json", "element.extraConfig.x=6"]),
            ("--set-json a whole list and a string", ["--set-json", 'element.extraConfig.l=["p","q"]',
                                                     "--set-json", 'element.extraConfig.s="on"']),
            ("--set-file: the file's text, last", ["--set", "element.extraConfig.motd=x",
                                                   "--set-file", "element.extraConfig.motd=motd.txt"]),
            ("-n sets the namespace", ["-n", "chat"]),
        ]
        for name, flags in cases:
            try:
                want, namespace = helm_values(helm, chart, flags, tmp, env)
            except RuntimeError as e:
                checks.check(f"{name}: helm template", False, str(e))
                continue
            objects, out = render(cli, flags, tmp)
            if out.returncode != 0:
                checks.check(f"{name}: matrix-render render exits 0", False, out.stderr.strip()[-2000:])
                continue
            got = element_config(objects)
            differ = {k: (v, got.get(k, "<missing>")) for k, v in want.items()
                      if k not in got or got[k] != v}
            checks.check(f"{name}: every key Helm computes has Helm's value in config.json",
                         not differ, f"(helm, matrix-render): {differ}")
            if "-n" in flags:
                namespaces = sorted({o["metadata"].get("namespace") for o in objects
                                     if o.get("kind") != "Namespace" and o["metadata"].get("namespace")})
                checks.check(f"{name}: the objects' namespace is Helm's .Release.Namespace ({namespace})",
                             namespaces == [namespace], f"namespaces rendered: {namespaces}")

        # Departures, on purpose.
        out = run([cli, "render", "-f", "https://example.org/values.yaml"], tmp)
        checks.check("a URL as -f: Helm downloads it, matrix-render refuses it (exit 1, the URL named)",
                     out.returncode == 1 and "https://example.org/values.yaml" in out.stderr
                     and out.stdout == "", f"exit {out.returncode}: {out.stderr.strip()[-500:]}")
        objects, out = render(cli, ["-s", "ConfigMap/element-config"], tmp)
        kinds = [(o.get("kind"), o["metadata"]["name"]) for o in objects]
        checks.check("-s/--show-only: matrix-render selects objects (Helm selects template files)",
                     out.returncode == 0 and kinds == [("ConfigMap", "element-config")],
                     f"exit {out.returncode}, objects {kinds}: {out.stderr.strip()[-500:]}")

    print(f"helm-habits: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
