#!/usr/bin/env bash
# matrix-render as a KRM function in a real KRM host: kpt (preinstalled at /usr/bin/kpt; no
# network needed, `--exec` runs a local executable). Checks, with the values of the
# external-secrets fixture:
#   1. `kpt fn eval DIR --exec tests/krm/matrix-render-krm --fn-config stack.yaml` writes the
#      stack to DIR/matrix-stack.yaml: the same objects, byte for byte, as
#      `matrix-render render` of the same values; the package's own file is kept; a second
#      eval changes nothing;
#   2. a Kptfile pipeline (`exec:` + `configPath:`) under `kpt fn render --allow-exec` does
#      the same, and rendering twice changes nothing;
#   3. after a config change (MatrixRTC off) `kpt fn render` removes the objects it no
#      longer generates;
#   4. a bad config fails the function: kpt exits non-zero, shows the result with its
#      `spec.` field path, and leaves the package untouched.
# Usage: bash tests/krm/run.sh [path/to/matrix-render]   (default: target/debug/matrix-render)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cli="$(realpath "${1:-target/debug/matrix-render}")"
fn="$(realpath tests/krm/matrix-render-krm)"
values=tests/fixtures/external-secrets/values.yaml
export MATRIX_RENDER="$cli"
command -v kpt >/dev/null || { echo "kpt is not installed" >&2; exit 1; }
echo "kpt $(kpt version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# A MatrixStack function config with the values file under `spec`; $3: extra annotations.
stack() {
  {
    echo "apiVersion: matrix-render.github.io/v1alpha1"
    echo "kind: MatrixStack"
    echo "metadata:"
    echo "  name: matrix-stack"
    if [ -n "${3:-}" ]; then echo "  annotations:"; echo "$3"; fi
    echo "spec:"
    sed 's/^/  /' "$1"
  } >"$2"
}

# "kind/namespace/name" of every document of a YAML stream (block style, as both write it).
ids() {
  awk '
    /^---$/ { flush(); next }
    /^kind: / { kind = $2 }
    /^metadata:/ { meta = 1; next }
    /^[^ ]/ { meta = 0 }
    meta && /^  name: / { name = $2 }
    meta && /^  namespace: / { ns = $2 }
    END { flush() }
    function flush() { if (kind != "") print kind "/" ns "/" name; kind = ""; name = ""; ns = "" }
  ' "$1"
}

# The generated file must hold exactly what `matrix-render render` prints (kpt drops the
# leading `---` and its own annotations).
same_objects() {
  local generated="$1" expected="$2" what="$3"
  [ -f "$generated" ] || fail "$what: $generated was not written"
  if ! diff <(sed '/^---$/d' "$expected") <(sed '/^---$/d' "$generated") >"$work/diff"; then
    head -20 "$work/diff" >&2
    fail "$what: $generated differs from matrix-render render"
  fi
  diff <(ids "$expected") <(ids "$generated") >/dev/null || fail "$what: objects differ"
  ok "$what: $(ids "$generated" | wc -l) objects ($(ids "$generated" | cut -d/ -f1 | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')), as matrix-render render"
}

unrelated() {
  cat >"$1/unrelated.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated # a comment kpt keeps
  namespace: other
data:
  greeting: hello
EOF
}

"$cli" render -f "$values" >"$work/expected.yaml"
[ "$(ids "$work/expected.yaml" | wc -l)" -gt 20 ] || fail "the CLI rendered too few objects"

# 1. kpt fn eval with --fn-config.
mkdir "$work/eval"
unrelated "$work/eval"
cp "$work/eval/unrelated.yaml" "$work/unrelated.orig"
stack "$values" "$work/stack.yaml"
kpt fn eval "$work/eval" --exec "$fn" --fn-config "$work/stack.yaml" >"$work/log" 2>&1 \
  || { cat "$work/log" >&2; fail "kpt fn eval failed"; }
[ "$(ls "$work/eval" | tr '\n' ' ')" = "matrix-stack.yaml unrelated.yaml " ] \
  || fail "kpt fn eval wrote $(ls "$work/eval" | tr '\n' ' ')"
cmp -s "$work/unrelated.orig" "$work/eval/unrelated.yaml" || fail "kpt fn eval changed unrelated.yaml"
same_objects "$work/eval/matrix-stack.yaml" "$work/expected.yaml" "kpt fn eval"
cp -r "$work/eval" "$work/eval.first"
kpt fn eval "$work/eval" --exec "$fn" --fn-config "$work/stack.yaml" >"$work/log" 2>&1 \
  || { cat "$work/log" >&2; fail "the second kpt fn eval failed"; }
diff -r "$work/eval.first" "$work/eval" >/dev/null || fail "a second kpt fn eval changed the package"
ok "kpt fn eval twice: the package is unchanged"

# 2. A Kptfile pipeline under kpt fn render. `exec:` is resolved from the working directory,
# so the Kptfile names the wrapper by its absolute path.
pkg="$work/pkg"
mkdir "$pkg"
unrelated "$pkg"
stack "$values" "$pkg/stack.yaml" '    config.kubernetes.io/local-config: "true"'
cat >"$pkg/Kptfile" <<EOF
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: matrix
pipeline:
  mutators:
  - exec: $fn
    configPath: stack.yaml
EOF
kpt fn render "$pkg" --allow-exec >"$work/log" 2>&1 || { cat "$work/log" >&2; fail "kpt fn render failed"; }
same_objects "$pkg/matrix-stack.yaml" "$work/expected.yaml" "kpt fn render"
[ "$(ls "$pkg" | tr '\n' ' ')" = "Kptfile matrix-stack.yaml stack.yaml unrelated.yaml " ] \
  || fail "kpt fn render left $(ls "$pkg" | tr '\n' ' ')"
cp -r "$pkg" "$work/pkg.first"
kpt fn render "$pkg" --allow-exec >"$work/log" 2>&1 || { cat "$work/log" >&2; fail "the second kpt fn render failed"; }
diff -r "$work/pkg.first" "$pkg" >/dev/null || fail "a second kpt fn render changed the package"
ok "kpt fn render twice: the package is unchanged"

# 3. MatrixRTC off: its objects leave the package.
sed 's/^  enabled: true$/  enabled: false/' "$values" >"$work/values-rtc-off.yaml"
grep -q '^  enabled: false$' "$work/values-rtc-off.yaml" || fail "could not switch MatrixRTC off"
"$cli" render -f "$work/values-rtc-off.yaml" >"$work/expected-rtc-off.yaml"
stack "$work/values-rtc-off.yaml" "$pkg/stack.yaml" '    config.kubernetes.io/local-config: "true"'
kpt fn render "$pkg" --allow-exec >"$work/log" 2>&1 || { cat "$work/log" >&2; fail "kpt fn render (RTC off) failed"; }
same_objects "$pkg/matrix-stack.yaml" "$work/expected-rtc-off.yaml" "kpt fn render, MatrixRTC off"
! grep -q '^  name: livekit$' "$pkg/matrix-stack.yaml" || fail "the LiveKit objects were not removed"
ok "kpt fn render removed $(( $(ids "$work/expected.yaml" | wc -l) - $(ids "$pkg/matrix-stack.yaml" | wc -l) )) objects no longer generated"

# 4. A bad key: the function fails, kpt shows the result, the package stays as it was.
cp -r "$pkg" "$work/pkg.good"
sed 's/^  global:$/  global:\n    domian: matrix.example.org/' "$pkg/stack.yaml" >"$work/bad.yaml"
mv "$work/bad.yaml" "$pkg/stack.yaml"
cp "$pkg/stack.yaml" "$work/pkg.good/stack.yaml"
if kpt fn render "$pkg" --allow-exec --truncate-output=false >"$work/log" 2>&1; then
  fail "kpt fn render succeeded with a bad key"
fi
grep -q 'spec.global.domian: unknown key `domian` in `global` (hint: did you mean `domain`?)' "$work/log" \
  || { cat "$work/log" >&2; fail "kpt did not show the result with its field path"; }
diff -r "$work/pkg.good" "$pkg" >/dev/null || fail "a failed render changed the package"
if kpt fn eval "$work/eval" --exec "$fn" --fn-config "$pkg/stack.yaml" >"$work/log" 2>&1; then
  fail "kpt fn eval succeeded with a bad key"
fi
grep -q 'Exit code: 1' "$work/log" || { cat "$work/log" >&2; fail "the function did not exit 1"; }
diff -r "$work/eval.first" "$work/eval" >/dev/null || fail "a failed eval changed the package"
ok "a bad key fails in kpt with its spec.global.domian result; nothing is written"

echo "KRM function under kpt: all checks passed"
