#!/usr/bin/env bash
# The kustomize generator (deploy/kustomize/): installs the MatrixStack legacy exec plugin in a
# temporary plugin home, builds deploy/kustomize/example with the preinstalled
# `kubectl kustomize --enable-alpha-plugins`, and checks that
#   - the objects are the CLI's render of the same values (same count, kinds and names, equal
#     content) plus the example's `labels` transform, which leaves selectors alone;
#   - the plugin is found through XDG_CONFIG_HOME and KUSTOMIZE_PLUGIN_HOME, and not without
#     --enable-alpha-plugins;
#   - invalid configs fail the build with matrix-render's diagnostics;
#   - a MatrixStack with its values under `spec` (the file `matrix-render render -f` and the
#     KRM function read) builds the same objects, alone or layered over valuesFiles, and
#     `matrix-render render -f` / `krm` read that same file;
#   - the deprecated apiVersion matrix-render.dev/v1alpha1 still builds from the old plugin
#     path;
#   - kustomize's `namespace:` does not reach the Traefik middleware references (the README's
#     caveat), while `set: [namespace=...]` does;
#   - the plugin's config parser reads hand-written configs (comments, quotes, indentation).
# Usage: bash tests/deploy/kustomize.sh [path/to/matrix-render]   (default target/debug/matrix-render)
# shellcheck disable=SC2016,SC2034 # single-quoted bash -c scripts; NAME is for lib.sh
NAME=deploy/kustomize
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v kubectl >/dev/null 2>&1; then
  echo "$NAME: FAILED: kubectl not found (its kustomize runs the plugin)" >&2
  exit 1
fi

PLUGIN_HOME="$T/xdg/kustomize/plugin"
PLUGIN_DIR="$PLUGIN_HOME/matrix-render.github.io/v1alpha1/matrixstack"
mkdir -p "$PLUGIN_DIR"
cp "$REPO/deploy/kustomize/MatrixStack" "$PLUGIN_DIR/MatrixStack"
chmod 755 "$PLUGIN_DIR/MatrixStack"

EX="$T/example"
cp -R "$REPO/deploy/kustomize/example" "$EX"

# build NAME DIR [kubectl kustomize flags...]: plugin home via XDG_CONFIG_HOME, CLI on PATH.
build() {
  local name=$1 dir=$2
  shift 2
  env -u KUSTOMIZE_PLUGIN_HOME PATH="$BIN:$PATH" XDG_CONFIG_HOME="$T/xdg" \
    kubectl kustomize "$@" "$dir" >"$T/$name.yaml" 2>"$T/$name.err"
}
# bad NAME RC PATTERN: the build failed, printed no objects, and stderr matches PATTERN.
bad() {
  local name=$1 rc=$2 pattern=$3
  if [ "$rc" -eq 0 ]; then fail "$name: the build succeeded"; else pass; fi
  if [ -s "$T/$name.yaml" ]; then fail "$name: printed objects"; else pass; fi
  if grep -Eq "$pattern" "$T/$name.err"; then pass; else fail "$name: stderr lacks /$pattern/: $(head -c 400 "$T/$name.err")"; fi
}

# 1. The example, and the CLI with the flags its matrix-stack.yaml stands for.
rc=0
build example "$EX" --enable-alpha-plugins || rc=$?
(cd "$EX" && "$CLI" render -f values.yaml -f production.values.yaml --set namespace=chat \
  --set synapse.reportStats=false --set-string "element.branding.appName=Example Chat" \
  >"$T/direct.yaml" 2>"$T/direct.err")
if [ "$rc" -ne 0 ]; then
  fail "example: kubectl kustomize failed: $(head -c 800 "$T/example.err")"
else
  pass
  if summary_line=$("$PY" "$CHECK_PY" kustomize-compare "$T/example.yaml" "$T/direct.yaml" environment=production); then
    pass
  else
    fail "example: the generated objects differ from the CLI's render"
  fi
  ns=$("$PY" "$CHECK_PY" field "$T/example.yaml" 'metadata|namespace' | tr '\n' ' ')
  check "example: every object in namespace chat (got: $ns)" test "$ns" = "chat "
  mw=$("$PY" "$CHECK_PY" field "$T/example.yaml" 'metadata|annotations|traefik.ingress.kubernetes.io/router.middlewares')
  check "example: middleware reference in chat (got: $mw)" test "$mw" = "chat-matrix-rtc-strip-prefix@kubernetescrd"
fi

# 2. The plugin home from KUSTOMIZE_PLUGIN_HOME gives the same bytes; no plugin without the flag.
rc=0
env -u XDG_CONFIG_HOME PATH="$BIN:$PATH" KUSTOMIZE_PLUGIN_HOME="$PLUGIN_HOME" \
  kubectl kustomize --enable-alpha-plugins "$EX" >"$T/env-home.yaml" 2>"$T/env-home.err" || rc=$?
check "KUSTOMIZE_PLUGIN_HOME: build succeeds" test "$rc" -eq 0
same_bytes "KUSTOMIZE_PLUGIN_HOME vs XDG_CONFIG_HOME" "$T/example.yaml" "$T/env-home.yaml"
rc=0
build no-flag "$EX" || rc=$?
bad no-flag "$rc" 'external plugins disabled'

# 3. Invalid configs: matrix-render's diagnostics, or the plugin's, fail the build.
variant() { # variant NAME CONFIG: a copy of the example with matrix-stack.yaml replaced
  mkdir -p "$T/$1"
  cp "$EX"/*.yaml "$T/$1/"
  printf '%s\n' "$2" >"$T/$1/matrix-stack.yaml"
}
HEAD='apiVersion: matrix-render.github.io/v1alpha1
kind: MatrixStack
metadata:
  name: matrix'
variant bad-set "$HEAD
valuesFiles: [values.yaml]
set: [synapse.replicas=many]"
rc=0; build bad-set "$T/bad-set" --enable-alpha-plugins || rc=$?
bad bad-set "$rc" 'error\[invalid-type\]'
variant escape "$HEAD
valuesFiles: [../example/values.yaml]"
rc=0; build escape "$T/escape" --enable-alpha-plugins || rc=$?
bad escape "$rc" 'may not leave the kustomization directory'
variant typo "$HEAD
valueFiles: [values.yaml]"
rc=0; build typo "$T/typo" --enable-alpha-plugins || rc=$?
bad typo "$rc" 'unknown field `valueFiles`'
variant none "$HEAD"
rc=0; build none "$T/none" --enable-alpha-plugins || rc=$?
bad none "$rc" 'neither a spec nor valuesFiles'
variant bad-spec "$HEAD
valuesFiles:
  - values.yaml
spec:
  synapse:
    replicas: 2"
rc=0; build bad-spec "$T/bad-spec" --enable-alpha-plugins || rc=$?
bad bad-spec "$rc" 'error\[invalid-replicas\]'

# 3b. The values under `spec`: the MatrixStack that `render -f` and the KRM function read.
indent() { sed 's/^/  /' "$1"; }
{
  printf '%s\nspec:\n  namespace: chat\n' "$HEAD"
  indent "$EX/values.yaml"
} >"$T/spec-stack.yaml"
variant spec-only "$(cat "$T/spec-stack.yaml")"
(cd "$EX" && "$CLI" render -f values.yaml --set namespace=chat >"$T/spec-direct.yaml" 2>/dev/null)
rc=0; build spec-only "$T/spec-only" --enable-alpha-plugins || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "spec-only: build failed: $(head -c 600 "$T/spec-only.err")"
elif "$PY" "$CHECK_PY" kustomize-compare "$T/spec-only.yaml" "$T/spec-direct.yaml" environment=production >/dev/null; then
  pass
else
  fail "spec-only: the generated objects differ from the CLI's render"
fi
# The same file, unchanged, through `render -f` and as the KRM function's config.
rc=0
"$CLI" render -f "$T/spec-stack.yaml" >"$T/spec-render.yaml" 2>"$T/spec-render.err" || rc=$?
check "spec-only: render -f of the MatrixStack exits 0 (got $rc: $(head -c 300 "$T/spec-render.err"))" test "$rc" -eq 0
same_bytes "spec-only: render -f of the MatrixStack vs the values" "$T/spec-direct.yaml" "$T/spec-render.yaml"
{
  printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n'
  indent "$T/spec-stack.yaml"
} >"$T/spec-list.yaml"
rc=0
"$CLI" krm <"$T/spec-list.yaml" >"$T/spec-krm.yaml" 2>"$T/spec-krm.err" || rc=$?
check "spec-only: krm with the MatrixStack as function config exits 0 (got $rc: $(head -c 300 "$T/spec-krm.err"))" test "$rc" -eq 0
want=$(grep -c '^kind: ' "$T/spec-direct.yaml")
got=$(grep -c '^  kind: ' "$T/spec-krm.yaml" || true)
check "spec-only: krm generated $got objects (render: $want, plus the function config)" test "$got" -eq $((want + 1))

# `spec` layered over valuesFiles, with the flags: the example's objects again.
{
  printf '%s\nvaluesFiles:\n  - values.yaml\nspec:\n' "$HEAD"
  grep -v '^#' "$EX/production.values.yaml" | sed 's/^/  /'
  printf 'set:\n  - namespace=chat\n  - synapse.reportStats=false\nsetString:\n  - element.branding.appName=Example Chat\n'
} >"$T/layered.yaml"
variant layered "$(cat "$T/layered.yaml")"
rc=0; build layered "$T/layered" --enable-alpha-plugins || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "layered: build failed: $(head -c 600 "$T/layered.err")"
else
  same_bytes "layered: spec over valuesFiles vs the example" "$T/example.yaml" "$T/layered.yaml"
fi

# 3c. The deprecated apiVersion: the same plugin at the old path builds the old config.
OLD_DIR="$PLUGIN_HOME/matrix-render.dev/v1alpha1/matrixstack"
mkdir -p "$OLD_DIR"
cp "$REPO/deploy/kustomize/MatrixStack" "$OLD_DIR/MatrixStack"
chmod 755 "$OLD_DIR/MatrixStack"
variant legacy "$(sed 's|^apiVersion: matrix-render.github.io/v1alpha1$|apiVersion: matrix-render.dev/v1alpha1|' "$EX/matrix-stack.yaml")"
check "legacy: the variant uses the old apiVersion" grep -q '^apiVersion: matrix-render.dev/v1alpha1$' "$T/legacy/matrix-stack.yaml"
rc=0; build legacy "$T/legacy" --enable-alpha-plugins || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "legacy: build failed: $(head -c 600 "$T/legacy.err")"
else
  same_bytes "legacy: old apiVersion vs the example" "$T/example.yaml" "$T/legacy.yaml"
fi
variant legacy-spec "$(sed 's|^apiVersion: matrix-render.github.io/v1alpha1$|apiVersion: matrix-render.dev/v1alpha1|' "$T/spec-stack.yaml")"
rc=0; build legacy-spec "$T/legacy-spec" --enable-alpha-plugins || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "legacy-spec: build failed: $(head -c 600 "$T/legacy-spec.err")"
else
  same_bytes "legacy-spec: old apiVersion with spec vs the new" "$T/spec-only.yaml" "$T/legacy-spec.yaml"
fi
rm -rf "$OLD_DIR"

# 4. The caveat: kustomize's namespace transform moves the objects but not the namespace
#    inside the Traefik middleware reference; the values' namespace moves both.
mkdir -p "$T/ns-transform"
cp "$EX"/*.yaml "$T/ns-transform/"
printf '%s\n' "$HEAD" 'valuesFiles: [values.yaml]' >"$T/ns-transform/matrix-stack.yaml"
printf 'generators: [matrix-stack.yaml]\nnamespace: other\n' >"$T/ns-transform/kustomization.yaml"
rc=0
build ns-transform "$T/ns-transform" --enable-alpha-plugins || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "ns-transform: build failed: $(head -c 400 "$T/ns-transform.err")"
else
  ns=$("$PY" "$CHECK_PY" field "$T/ns-transform.yaml" 'metadata|namespace' | tr '\n' ' ')
  check "ns-transform: objects moved to namespace other (got: $ns)" test "$ns" = "other "
  mw=$("$PY" "$CHECK_PY" field "$T/ns-transform.yaml" 'metadata|annotations|traefik.ingress.kubernetes.io/router.middlewares')
  check "ns-transform: middleware reference still in matrix (got: $mw)" test "$mw" = "matrix-matrix-rtc-strip-prefix@kubernetescrd"
fi

# 5. The plugin alone on a hand-written config (kustomize normalizes what it passes; people
#    and other tools may not): comments, indented items, quotes, an inline empty list.
cat >"$T/hand.yaml" <<'EOF'
apiVersion: matrix-render.github.io/v1alpha1
kind: MatrixStack
metadata:
  name: matrix   # the name is not used
  annotations:
    note: "ignored"
# the files
valuesFiles:
    - values.yaml         # base
    - 'production.values.yaml'
set:
  - "synapse.logLevel=DEBUG"
  - 'element.branding.userNotice=It''s a test\, with # and an escaped comma'
setString: []
staticDir: 'static'
EOF
cp -R "$REPO/tests/fixtures/custom-pages/static" "$EX/static"
rc=0
(cd "$EX" && env PATH="$BIN:$PATH" "$PLUGIN_DIR/MatrixStack" "$T/hand.yaml" >"$T/hand.out" 2>"$T/hand.err") || rc=$?
(cd "$EX" && "$CLI" render -f values.yaml -f production.values.yaml --set synapse.logLevel=DEBUG \
  --set 'element.branding.userNotice=It'"'"'s a test\, with # and an escaped comma' --static-dir static \
  >"$T/hand.want" 2>/dev/null) || true
if [ "$rc" -ne 0 ]; then
  fail "hand-written config: plugin exited $rc: $(head -c 400 "$T/hand.err")"
else
  pass
  same_bytes "hand-written config vs the CLI" "$T/hand.want" "$T/hand.out"
fi
printf '%s\nvaluesFiles:\n  - values.yaml\nset:\n  - a: b\n' "$HEAD" >"$T/nested.yaml"
rc=0
(cd "$EX" && env PATH="$BIN:$PATH" "$PLUGIN_DIR/MatrixStack" "$T/nested.yaml" >"$T/nested.out" 2>"$T/nested.err") || rc=$?
if [ "$rc" -ne 0 ] && [ ! -s "$T/nested.out" ] && grep -q 'nested mappings are not supported' "$T/nested.err"; then
  pass
else
  fail "nested value not rejected by the parser (exit $rc): $(head -c 300 "$T/nested.err")"
fi

# A hand-written config with both shapes: matrix-render's diagnostics for the `spec` name the
# config's own line (the generator's fields are blanked, not removed), and `spec` is passed on
# as written (flow style, quotes), not parsed by the plugin.
cat >"$T/hand-spec.yaml" <<'EOF'
apiVersion: matrix-render.github.io/v1alpha1
kind: MatrixStack
metadata: {name: matrix}
valuesFiles:
  - values.yaml
set:
  - 'synapse.logLevel=DEBUG'
spec:
  element: {branding: {appName: "Chat: the test"}}
  synapse:
    replicas: 3
EOF
rc=0
(cd "$EX" && env PATH="$BIN:$PATH" "$PLUGIN_DIR/MatrixStack" "$T/hand-spec.yaml" >"$T/hand-spec.out" 2>"$T/hand-spec.err") || rc=$?
if [ "$rc" -eq 1 ] && [ ! -s "$T/hand-spec.out" ] && grep -q 'error\[invalid-replicas\]' "$T/hand-spec.err" &&
  grep -Eq -- '--> .*generator-config\.yaml:11:' "$T/hand-spec.err"; then
  pass
else
  fail "hand-written spec: want exit 1 and invalid-replicas at line 11 (exit $rc): $(head -c 500 "$T/hand-spec.err")"
fi
sed -i 's/replicas: 3/replicas: 1/' "$T/hand-spec.yaml"
rc=0
(cd "$EX" && env PATH="$BIN:$PATH" "$PLUGIN_DIR/MatrixStack" "$T/hand-spec.yaml" >"$T/hand-spec.out" 2>"$T/hand-spec.err") || rc=$?
(cd "$EX" && "$CLI" render -f values.yaml --set synapse.logLevel=DEBUG --set synapse.replicas=1 \
  --set-string 'element.branding.appName=Chat: the test' >"$T/hand-spec.want" 2>/dev/null) || true
if [ "$rc" -ne 0 ]; then
  fail "hand-written spec: plugin exited $rc: $(head -c 400 "$T/hand-spec.err")"
else
  same_bytes "hand-written spec vs the CLI" "$T/hand-spec.want" "$T/hand-spec.out"
fi

summary "example: ${summary_line:-not compared}"
