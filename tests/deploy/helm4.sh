#!/usr/bin/env bash
# The Helm 4 plugin (deploy/helm4/): builds it with deploy/helm4/build.sh, installs it with the
# real Helm 4 (dist/bench/helm, fetched by bench/helm-deps.sh when missing; MR_HELM overrides)
# into a temporary Helm home, and checks through `helm matrix-render`:
#   - install from the directory and from an unsigned archive (which Helm refuses without
#     --verify=false), `helm plugin list`;
#   - every fixture except custom-pages (--static-dir: the plugin can read no file) gives the
#     CLI's bytes, YAML and JSON, with its values files piped as one `---`-separated stream;
#   - `validate --format json` gives the CLI's diagnostics for every input of tests/bad, the
#     file and line mapped to the stream (a case whose file is not a values document of its
#     own, an empty file or several documents, is compared by its codes);
#   - a bad config exits nonzero with nothing on stdout and the diagnostics on stderr;
#     `-f FILE` and unknown flags are refused; Helm's own -n is not passed on;
#   - schema and version equal the CLI's; --help reaches the plugin;
#   - plugin.yaml's timeout and memory limit are applied.
# Usage: bash tests/deploy/helm4.sh [path/to/matrix-render]   (default target/debug/matrix-render)
# shellcheck disable=SC2016,SC2034 # backquotes in single-quoted patterns; NAME is for lib.sh
NAME=deploy/helm4
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM=${MR_HELM:-$REPO/dist/bench/helm}
if [ ! -x "$HELM" ]; then
  bash "$REPO/bench/helm-deps.sh" >/dev/null
fi
case "$("$HELM" version --short 2>/dev/null)" in
v4.*) ;;
*)
  echo "$NAME: FAILED: $HELM is not Helm 4 ($("$HELM" version --short 2>&1 | head -n 1))" >&2
  exit 1
  ;;
esac

SRC="$T/src/matrix-render"
if ! bash "$REPO/deploy/helm4/build.sh" "$SRC" >"$T/build.log" 2>&1; then
  echo "$NAME: FAILED: deploy/helm4/build.sh" >&2
  tail -n 20 "$T/build.log" >&2
  exit 1
fi

# A Helm home of our own. Helm 4.1's local and http installers write to
# $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says (helm/helm#32646), so keep them equal.
export HELM_DATA_HOME="$T/helm/data" HELM_CONFIG_HOME="$T/helm/config"
export HELM_CACHE_HOME="$T/helm/cache" HELM_PLUGINS="$T/helm/data/plugins"
unset HELM_NO_PLUGINS HELM_DEBUG
H() { "$HELM" "$@"; }

# 1. Install from the directory (Helm links it: "development mode", no signature check).
if H plugin install "$SRC" >"$T/install.out" 2>&1; then pass; else fail "plugin install: $(cat "$T/install.out")"; fi
if H plugin list 2>&1 | grep -Eq '^matrix-render[[:space:]]+0\.1\.0[[:space:]]+cli/v1'; then
  pass
else
  fail "plugin list: $(H plugin list 2>&1)"
fi

# 2. schema, version, --help.
H matrix-render schema >"$T/schema.json" 2>"$T/schema.err" || fail "schema exited nonzero: $(cat "$T/schema.err")"
"$CLI" schema >"$T/cli-schema.json"
same_bytes "schema" "$T/cli-schema.json" "$T/schema.json"
H matrix-render version >"$T/version.txt" 2>&1 || fail "version exited nonzero"
"$CLI" --version >"$T/cli-version.txt"
same_bytes "version" "$T/cli-version.txt" "$T/version.txt"
if H matrix-render --help 2>&1 | grep -q '^  helm matrix-render validate \[flags\] < values.yaml$'; then
  pass
else
  fail "--help does not reach the plugin"
fi

# stream FILE...: the values files as one stream, each document after a `---` line.
stream() { awk 'FNR==1 {print "---"} {print}' "$@"; }

# 3. A bad config: nonzero, no manifests, the diagnostics and Helm's one-line error on stderr.
printf 'global:\n  domain: matrix.example.org\nnope: 1\n' >"$T/bad.yaml"
rc=0
H matrix-render render <"$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
if [ "$rc" -ne 0 ]; then pass; else fail "bad config: exit 0"; fi
if [ ! -s "$T/bad.out" ]; then pass; else fail "bad config: wrote to stdout"; fi
if grep -q '^error\[unknown-key\]: unknown key `nope` in the top level$' "$T/bad.err" &&
  grep -q '^ --> stdin:3:1$' "$T/bad.err" &&
  grep -q '^3 | nope: 1$' "$T/bad.err" &&
  grep -Eq '^Error: plugin error: matrix-render: [0-9]+ errors, 0 warnings; nothing was written$' "$T/bad.err"; then
  pass
else
  fail "bad config: stderr: $(head -c 600 "$T/bad.err")"
fi
# The same problem in the second document of a stream is located by the stream's line.
rc=0
stream "$REPO/tests/fixtures/seed/values.yaml" "$T/bad.yaml" |
  H matrix-render validate >/dev/null 2>"$T/bad2.err" || rc=$?
line=$(($(wc -l <"$REPO/tests/fixtures/seed/values.yaml") + 2 + 3))
if [ "$rc" -ne 0 ] && grep -q "^ *--> stdin:$line:1\$" "$T/bad2.err"; then
  pass
else
  fail "second document: rc $rc, wanted stdin:$line:1 in: $(head -c 400 "$T/bad2.err")"
fi

# 4. Files and unknown flags are refused; Helm keeps -n for itself.
rc=0
H matrix-render -f values.yaml </dev/null >/dev/null 2>"$T/file.err" || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'cannot read `values.yaml`: Helm gives this plugin no access to files' "$T/file.err"; then
  pass
else
  fail "-f values.yaml: rc $rc: $(cat "$T/file.err")"
fi
rc=0
H matrix-render --output-dir out </dev/null >/dev/null 2>"$T/flag.err" || rc=$?
if [ "$rc" -ne 0 ] && grep -q '`--output-dir` is not available in the Helm plugin' "$T/flag.err"; then
  pass
else
  fail "--output-dir: rc $rc: $(cat "$T/flag.err")"
fi
SEED="$REPO/tests/fixtures/seed"
stream "$SEED/values.yaml" "$SEED/secrets.yaml" >"$T/seed.yaml"
(cd "$SEED" && "$CLI" render -f values.yaml -f secrets.yaml >"$T/seed-cli.yaml" 2>/dev/null)
H matrix-render -n elsewhere render <"$T/seed.yaml" >"$T/seed-n.yaml" 2>/dev/null || fail "-n: exit nonzero"
same_bytes "-n stays with Helm" "$T/seed-cli.yaml" "$T/seed-n.yaml"

# 5. Every fixture and every bad input against the CLI (Python drives both; one line per check).
while IFS= read -r line; do
  case $line in
  "ok "*) pass ;;
  "FAIL "*) fail "${line#FAIL }" ;;
  *) echo "$NAME: $line" >&2 ;;
  esac
done < <("$PY" - "$REPO" "$CLI" "$HELM" <<'PY' || echo "FAIL the comparison script failed"
import json, subprocess, sys
from pathlib import Path

repo, cli, helm = Path(sys.argv[1]), sys.argv[2], sys.argv[3]


def stream(folder, files):
    """The awk stream: `---`, then each file's lines, each ending in a newline."""
    text, start = "", {}
    line = 0
    for f in files:
        body = (folder / f).read_text()
        n = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
        text += "---\n" + body + ("" if not body or body.endswith("\n") else "\n")
        start[f] = line + 1  # the file's line L is the stream's line start + L
        line += 1 + n
    return text, start


def split_args(argv):
    files, flags, static = [], [], False
    it = iter(argv)
    for flag in it:
        value = next(it)
        if flag in ("-f", "--values"):
            files.append(value)
        elif flag in ("--set", "--set-string"):
            flags += [flag, value]
        elif flag == "--static-dir":
            static = True
        else:
            raise ValueError(f"unsupported flag {flag}")
    return files, flags, static


def run(cmd, cwd=None, stdin=None):
    return subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True)


# Fixtures: the rendered bytes.
skipped = []
for fixture in sorted((repo / "tests/fixtures").iterdir()):
    args_file = fixture / "render.args"
    if not args_file.is_file():
        continue
    argv = args_file.read_text().split()
    files, flags, static = split_args(argv)
    if static:
        skipped.append(fixture.name)
        continue
    text, _ = stream(fixture, files)
    for fmt in ("yaml", "json"):
        want = run([cli, "render", *argv, "--format", fmt], cwd=fixture)
        got = run([helm, "matrix-render", "render", *flags, "--format", fmt], stdin=text)
        name = f"fixture {fixture.name} ({fmt})"
        if want.returncode != 0:
            print(f"FAIL {name}: the CLI failed: {want.stderr[:300]}")
        elif got.returncode != 0:
            print(f"FAIL {name}: helm matrix-render exited {got.returncode}: {got.stderr[:600]}")
        elif got.stdout != want.stdout:
            print(f"FAIL {name}: the bytes differ ({len(got.stdout)} vs {len(want.stdout)})")
        else:
            print(f"ok {name}")
print(f"fixtures skipped (--static-dir): {', '.join(skipped) or 'none'}")

# Bad inputs: the diagnostics, mapped to the stream.
bad = repo / "tests/bad"
cases = 0
by_codes = []
for path in sorted(bad.glob("*.yaml")):
    if path.name.startswith("_"):
        continue
    lines = path.read_text().splitlines()
    argv = [] if "# base: none" in lines else ["-f", "_base.yaml"]
    argv += ["-f", path.name]
    for line in lines:
        if line.startswith("# args: "):
            argv += line[len("# args: "):].split()
    files, flags, _ = split_args(argv)
    text, start = stream(bad, files)
    want = run([cli, "validate", *argv, "--format", "json"], cwd=bad)
    got = run([helm, "matrix-render", "validate", *flags, "--format", "json"], stdin=text)
    name = f"bad/{path.stem}"
    cases += 1
    if (want.returncode == 0) != (got.returncode == 0):
        print(f"FAIL {name}: exit {got.returncode}, the CLI's {want.returncode}: {got.stderr[:300]}")
        continue
    try:
        w, g = json.loads(want.stdout), json.loads(got.stdout)
    except ValueError as e:
        print(f"FAIL {name}: not JSON diagnostics: {e}: {got.stdout[:200]} {got.stderr[:300]}")
        continue
    for d in w:
        if d.get("file") in start:
            if "line" in d:
                d["line"] += start[d["file"]]
            d["file"] = "stdin"
    if g == w:
        print(f"ok {name}")
        continue
    # An empty file is no document of the stream, and a file with several documents is
    # several documents of the stream: the findings differ there, by design.
    body = (bad / path.name).read_text()
    separate = not [l for l in body.splitlines() if l.strip() and not l.lstrip().startswith("#")] \
        or any(l.rstrip() == "---" for l in body.splitlines()[1:])
    if separate and got.returncode != 0 and want.returncode != 0:
        by_codes.append(path.stem)
        print(f"ok {name} (fails as the CLI does; not one document of its own)")
    else:
        print(f"FAIL {name}: diagnostics differ:\n  helm: {json.dumps(g)[:500]}\n  cli:  {json.dumps(w)[:500]}")
print(f"bad inputs: {cases}; compared by exit only: {', '.join(by_codes) or 'none'}")
if cases < 40:
    print(f"FAIL only {cases} bad inputs found")
PY
)

# 6. plugin.yaml's limits reach Helm's Extism runtime: a 1 ms timeout and a 1-page memory
# limit (below the module's own minimum) both fail the call.
limit() { # NAME SED-EXPRESSION PATTERN
  local dir="$T/limits/$1"
  mkdir -p "$dir"
  cp "$SRC/plugin.wasm" "$dir/plugin.wasm"
  # The command's name is usage's first word: a second `matrix-render` would be a conflict.
  sed -e "s/^name: matrix-render\$/name: mr-$1/" -e "s/^  usage: matrix-render /  usage: mr-$1 /" \
    -e "$2" "$SRC/plugin.yaml" >"$dir/plugin.yaml"
  H plugin install "$dir" >/dev/null 2>&1 || { fail "limit $1: install"; return; }
  local rc=0
  H "mr-$1" render <"$T/seed.yaml" >"$T/limit-$1.out" 2>"$T/limit-$1.err" || rc=$?
  if [ "$rc" -ne 0 ] && [ ! -s "$T/limit-$1.out" ] && grep -Eq "$3" "$T/limit-$1.err"; then
    pass
  else
    fail "limit $1: rc $rc: $(head -c 300 "$T/limit-$1.err")"
  fi
}
limit timeout 's/^  timeout: 10000$/  timeout: 1/' 'deadline exceeded'
limit memory 's/^    maxPages: 8192$/    maxPages: 1/' 'over limit of 1 pages'

# 7. An unsigned archive: refused without a .prov file unless --verify=false.
mkdir -p "$T/pkg"
H plugin package --sign=false -d "$T/pkg" "$SRC" >/dev/null 2>&1 || fail "plugin package"
H plugin uninstall matrix-render >/dev/null 2>&1 || fail "plugin uninstall"
tgz="$T/pkg/matrix-render-0.1.0.tgz"
if H plugin install "$tgz" >/dev/null 2>"$T/verify.err"; then
  fail "an unsigned archive installed with verification on"
elif grep -q 'no provenance file' "$T/verify.err"; then
  pass
else
  fail "unsigned archive: $(cat "$T/verify.err")"
fi
if H plugin install "$tgz" --verify=false >/dev/null 2>&1 &&
  H matrix-render render <"$T/seed.yaml" >"$T/seed-tgz.yaml" 2>/dev/null; then
  same_bytes "installed from the archive" "$T/seed-cli.yaml" "$T/seed-tgz.yaml"
else
  fail "install --verify=false and render"
fi

summary "$("$HELM" version --short)"
