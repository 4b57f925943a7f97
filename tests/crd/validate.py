#!/usr/bin/env python3
"""Validate every custom resource in the golden manifests against its CRD schema, strictly.

Usage:
  dist/test-venv/bin/python tests/crd/validate.py --node-modules dist/crd-node/node_modules \
      tests/golden/*.yaml

tests/kube-validate.sh validates the built-in kinds; kubernetes-validate has no schema for
custom resources and only notes them. This covers them: every document whose API group is
one of the CRD groups (KUBE_VALIDATE_CRD_GROUPS, space separated, the same variable and
default as tests/kube-validate.sh) is validated by tests/crd/validate.mjs against the
schema of its CRD (npm packages installed by scripts/crd-deps.sh; see validate.mjs for
where the schemas come from and what "strict" means there).

A file fails when it cannot be read or parsed, or when any of its custom resources
  - breaks its schema (type, enum, pattern, format, length, required, ...),
  - has a field that is not in the schema (the API server would drop it silently), or
  - has a kind/version for which no schema is installed.
The run also fails when no custom resource at all was found (nothing was validated).

Output: one line per file ("N custom resources validated"), one FAIL line per problem,
and a closing line "crd-validate: P passed, F failed" counting files. Exit status 1 on any
failure, 2 on a usage or setup error.

YAML is read the way tests/kube-validate.sh counts objects (PyYAML safe loader, empty
documents dropped, "=" scalars read as strings): YAML 1.1, as Kubernetes reads it.
"""

import argparse
import collections
import json
import os
import subprocess
import sys

import yaml

DEFAULT_CRD_GROUPS = "cert-manager.io gateway.networking.k8s.io traefik.io monitoring.coreos.com"
HERE = os.path.dirname(os.path.abspath(__file__))


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: str(node.value))


def api_group(doc):
    api = doc.get("apiVersion")
    if isinstance(api, str) and "/" in api:
        return api.split("/", 1)[0]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", required=True,
                        help="node_modules installed by scripts/crd-deps.sh")
    parser.add_argument("--node", default="node", help="Node.js binary (default: node)")
    parser.add_argument("files", nargs="+", help="manifest files (multi-document YAML)")
    args = parser.parse_args()

    groups = set(os.environ.get("KUBE_VALIDATE_CRD_GROUPS", DEFAULT_CRD_GROUPS).split())
    if not os.path.isdir(os.path.join(args.node_modules, "@kubernetes-models")):
        print("crd-validate: %s has no @kubernetes-models (run scripts/crd-deps.sh)"
              % args.node_modules, file=sys.stderr)
        return 2

    # Read every file; collect the custom resources.
    requests = []
    per_file = collections.OrderedDict()  # name -> {"objects": n, "read_error": str|None}
    for name in args.files:
        info = {"objects": 0, "read_error": None}
        per_file[name] = info
        try:
            with open(name, encoding="utf-8") as f:
                docs = [d for d in yaml.load_all(f.read(), Loader=Loader) if d]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            info["read_error"] = " ".join(str(e).split())
            continue
        info["objects"] = len(docs)
        for index, doc in enumerate(docs):
            if isinstance(doc, dict) and api_group(doc) in groups:
                requests.append({"id": [name, index], "object": doc})

    results = []
    if requests:
        try:
            proc = subprocess.run(
                [args.node, os.path.join(HERE, "validate.mjs"), args.node_modules],
                input=json.dumps(requests), capture_output=True, text=True, check=False)
        except OSError as e:
            print("crd-validate: cannot run %s: %s" % (args.node, e), file=sys.stderr)
            return 2
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            print("crd-validate: validate.mjs exited with status %d" % proc.returncode,
                  file=sys.stderr)
            return 2
        results = json.loads(proc.stdout)
        if len(results) != len(requests):
            print("crd-validate: validate.mjs answered %d of %d objects"
                  % (len(results), len(requests)), file=sys.stderr)
            return 2

    by_file = collections.defaultdict(list)
    for req, res in zip(requests, results):
        by_file[req["id"][0]].append((req, res))

    passed = failed = total = 0
    schemas = set()
    for name, info in per_file.items():
        if info["read_error"]:
            print("crd-validate: FAIL %s: cannot read: %s" % (name, info["read_error"]))
            failed += 1
            continue
        problems = 0
        kinds = collections.Counter()
        for req, res in by_file.get(name, []):
            obj = req["object"]
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            label = "%s %s/%s (%s, document %d)" % (
                obj.get("kind"), meta.get("namespace", "-"), meta.get("name", "?"),
                obj.get("apiVersion"), req["id"][1] + 1)
            kinds[obj.get("kind")] += 1
            if res.get("schema"):
                schemas.add(res["schema"])
            for err in res.get("errors", []):
                print("crd-validate: FAIL %s: %s: %s" % (name, label, err))
                problems += 1
            if not res.get("ok") and not res.get("errors"):
                print("crd-validate: FAIL %s: %s: invalid" % (name, label))
                problems += 1
            for path in res.get("freeForm", []):
                print("crd-validate: note %s: %s: %s is free-form in the schema, not checked"
                      % (name, label, path))
        count = sum(kinds.values())
        total += count
        detail = ", ".join("%s x%d" % (k, n) for k, n in sorted(kinds.items()))
        if problems:
            print("crd-validate: FAILED %s: %d custom resources, %d problems" % (
                name, count, problems))
            failed += 1
        else:
            print("crd-validate: %s: %d custom resources validated%s (of %d objects)" % (
                name, count, " (%s)" % detail if detail else "", info["objects"]))
            passed += 1

    for schema in sorted(schemas):
        print("crd-validate: schema used: %s" % schema)
    if total == 0 and failed == 0:
        print("crd-validate: FAIL no custom resource (API groups: %s) in any file: "
              "nothing was validated" % " ".join(sorted(groups)))
        failed = max(failed, 1)
    print("crd-validate: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
