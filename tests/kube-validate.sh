#!/usr/bin/env bash
# Validate every golden manifest against the Kubernetes OpenAPI schemas that
# ship inside the PyPI package kubernetes-validate (no network needed).
#
# Usage: tests/kube-validate.sh PYTHON_VENV_BIN_DIR GOLDEN_DIR
#   e.g. tests/kube-validate.sh dist/test-venv/bin tests/golden
#
# For each Kubernetes version below this runs, over all GOLDEN_DIR/*.yaml:
#   $BIN/kubernetes-validate --strict --quiet -k VERSION FILE...
#
# What kubernetes-validate 1.x does (checked with 1.37.0):
#   - object valid                  -> no output (--quiet), exit 0
#   - object invalid (e.g. unknown field under --strict)
#                                   -> "ERROR <file> did not validate for resource ...", exit 1
#   - no schema for kind/apiVersion -> "WARN <file> Couldn't find schema for kind K with api
#                                      version G/V for kubernetes version X.Y", exit 0
#   - object it cannot handle (no apiVersion/kind) -> "ERROR <file> could not be validated", exit 2
#   - unsupported Kubernetes version -> "FATAL ...", exit 2
#   - unparsable YAML / unreadable file -> message on stderr, exit 1 (stops at that file)
# The exit code is OR-ed over all objects and files.
#
# A missing schema is therefore only a warning, even for a typo such as
# "kind: Deploymnet" in apps/v1. This script accepts a missing schema only for
# the custom-resource API groups listed in KUBE_VALIDATE_CRD_GROUPS (space
# separated; default below); any other missing schema, any ERROR/FATAL line,
# any other output line on stdout, or a nonzero exit code fails the run.
set -euo pipefail

K8S_VERSIONS=(1.29.0 1.35.0)
CRD_GROUPS="${KUBE_VALIDATE_CRD_GROUPS:-cert-manager.io gateway.networking.k8s.io traefik.io monitoring.coreos.com}"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PYTHON_VENV_BIN_DIR GOLDEN_DIR" >&2
  exit 2
fi
BIN="${1%/}"
GOLDEN="${2%/}"

KV="$BIN/kubernetes-validate"
PY="$BIN/python"
for tool in "$KV" "$PY"; do
  if [[ ! -x "$tool" ]]; then
    echo "kube-validate: $tool not found (run scripts/test-deps.sh)" >&2
    exit 1
  fi
done
if [[ ! -d "$GOLDEN" ]]; then
  echo "kube-validate: $GOLDEN is not a directory" >&2
  exit 1
fi

shopt -s nullglob
files=("$GOLDEN"/*.yaml)
shopt -u nullglob
if [[ ${#files[@]} -eq 0 ]]; then
  echo "kube-validate: no *.yaml files in $GOLDEN" >&2
  exit 1
fi

# Count the objects the same way kubernetes-validate reads them (PyYAML safe
# loader, empty documents dropped, "=" scalars read as strings).
objects=$("$PY" - "${files[@]}" <<'PY'
import sys
import yaml

class Loader(yaml.SafeLoader):
    pass

Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: str(node.value))
total = 0
ok = True
for name in sys.argv[1:]:
    try:
        with open(name, encoding="utf-8") as f:
            total += sum(1 for doc in yaml.load_all(f.read(), Loader=Loader) if doc)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        print("kube-validate: FAIL cannot read %s: %s" % (name, " ".join(str(e).split())),
              file=sys.stderr)
        ok = False
print(total)
sys.exit(0 if ok else 1)
PY
) || { echo "kube-validate: 0 passed, ${#K8S_VERSIONS[@]} failed"; exit 1; }

warn_re="^WARN (.+) Couldn't find schema for kind ([^ ]+) with api version ([^ ]+) for kubernetes version ([^ ]+)$"
failed=0
for version in "${K8S_VERSIONS[@]}"; do
  out_file=$(mktemp)
  err_file=$(mktemp)
  rc=0
  "$KV" --strict --quiet -k "$version" "${files[@]}" >"$out_file" 2>"$err_file" || rc=$?

  skipped=0
  bad=0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "$line" ]] && continue
    if [[ "$line" =~ $warn_re ]]; then
      kind="${BASH_REMATCH[2]}"
      api="${BASH_REMATCH[3]}"
      group=""
      [[ "$api" == */* ]] && group="${api%%/*}"
      if [[ -n "$group" && " $CRD_GROUPS " == *" $group "* ]]; then
        skipped=$((skipped + 1))
        echo "kube-validate $version: note: no schema for custom resource $kind ($api), not validated"
        continue
      fi
      echo "kube-validate $version: FAIL no schema for $kind ($api): unknown kind, or a custom resource whose group is not in KUBE_VALIDATE_CRD_GROUPS: $line"
      bad=$((bad + 1))
    else
      echo "kube-validate $version: FAIL $line"
      bad=$((bad + 1))
    fi
  done <"$out_file"
  if [[ -s "$err_file" ]]; then
    sed "s/^/kube-validate $version: stderr: /" "$err_file"
  fi
  rm -f "$out_file" "$err_file"

  if [[ $rc -ne 0 ]]; then
    echo "kube-validate $version: FAIL kubernetes-validate exited with status $rc"
    bad=$((bad + 1))
  fi
  validated=$((objects - skipped))
  if [[ $bad -eq 0 ]]; then
    echo "kube-validate $version: OK ${#files[@]} files, $objects objects: $validated validated against the schema (strict), $skipped custom resources without schema"
  else
    echo "kube-validate $version: FAILED ${#files[@]} files, $objects objects: $bad problems"
    failed=$((failed + 1))
  fi
done

# Closing line counts Kubernetes versions.
echo "kube-validate: $(( ${#K8S_VERSIONS[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
