#!/usr/bin/env bash
# The Argo CD Config Management Plugin (deploy/argocd/), without Argo CD: runs generate.sh the
# way argocd-cmp-server does (`/bin/sh generate.sh generate` in the app directory, a clean
# environment with Argo CD's build variables, ARGOCD_ENV_* and PARAM_*, the CLI on PATH) and
# checks that
#   - stdout is byte for byte what the CLI prints for the equivalent flags, and only objects;
#   - invalid input exits nonzero with nothing on stdout;
#   - `discover` and `announce` answer as plugin.yaml promises;
#   - the Component (ConfigMap + repo-server patch) builds with kubectl kustomize against a
#     stub argocd-repo-server Deployment, and plugin.yaml and the patch parse.
# Usage: bash tests/deploy/argocd.sh [path/to/matrix-render]   (default target/debug/matrix-render)
# shellcheck disable=SC2016,SC2034 # single-quoted bash -c scripts; NAME is for lib.sh
NAME=deploy/argocd
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GEN="$REPO/deploy/argocd/generate.sh"
FIX="$REPO/tests/deploy/fixtures"

# The app directory, as Argo CD unpacks it: the fixture plus a .secrets.yaml.
APP="$T/repo/apps/matrix"
mkdir -p "$APP"
cp "$FIX"/argocd-app/*.yaml "$APP/"
printf 'coturn:\n  turn_shared_secret: "test-turn-shared-secret-0123456789abcdef"\n' >"$APP/.secrets.yaml"

# cmp NAME DIR VERB [VAR=VALUE...]: generate.sh VERB in DIR with the environment Argo CD sets;
# stdout in $T/NAME.out, stderr in $T/NAME.err; returns generate.sh's status.
cmp_run() {
  local name=$1 dir=$2 verb=$3
  shift 3
  (cd "$dir" && env -i \
    PATH="$BIN:/usr/local/bin:/usr/bin:/bin" HOME="$T/home" \
    ARGOCD_APP_NAME=matrix-prod ARGOCD_APP_NAMESPACE=chat ARGOCD_APP_PROJECT_NAME=default \
    ARGOCD_APP_REVISION=0123456789abcdef0123456789abcdef01234567 ARGOCD_APP_REVISION_SHORT=0123456 \
    ARGOCD_APP_SOURCE_PATH=apps/matrix ARGOCD_APP_SOURCE_REPO_URL=https://git.example.org/ops.git \
    ARGOCD_APP_SOURCE_TARGET_REVISION=HEAD KUBE_VERSION=1.32.0 KUBE_API_VERSIONS=v1,apps/v1,networking.k8s.io/v1 \
    "$@" /bin/sh "$GEN" "$verb" >"$T/$name.out" 2>"$T/$name.err")
}
# direct NAME DIR ARGS...: the CLI itself, in DIR.
direct() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && "$CLI" render "$@" >"$T/$name.want" 2>"$T/$name.want.err")
}
# ok_run NAME: generate.sh succeeded, its stdout equals the CLI's and holds only objects.
ok_run() {
  local name=$1 rc=$2
  if [ "$rc" -ne 0 ]; then
    fail "$name: generate.sh exited $rc: $(head -c 600 "$T/$name.err")"
    return
  fi
  pass
  same_bytes "$name: stdout vs the CLI" "$T/$name.want" "$T/$name.out"
  check "$name: stdout holds only Kubernetes objects" "$PY" "$CHECK_PY" objects "$T/$name.out" >/dev/null
}
# bad_run NAME RC PATTERN: generate.sh failed with nothing on stdout, stderr matching PATTERN.
bad_run() {
  local name=$1 rc=$2 pattern=$3
  if [ "$rc" -eq 0 ]; then fail "$name: exit 0 on invalid input"; else pass; fi
  if [ -s "$T/$name.out" ]; then fail "$name: wrote $(wc -c <"$T/$name.out") bytes to stdout"; else pass; fi
  if grep -Eq "$pattern" "$T/$name.err"; then pass; else fail "$name: stderr lacks /$pattern/: $(head -c 400 "$T/$name.err")"; fi
}

FILES=(-f values.yaml -f 10-site.values.yaml -f 20-rtc.values.yaml -f .secrets.yaml)

# 1. Discovered files, env --set, eleven array parameters (index 10 must come after 9, not
#    after 1: 9 and 10 both set synapse.logLevel), a --set-string parameter, and
#    ARGOCD_APP_PARAMETERS as Argo CD sends it.
ENV_SET="element.replicas=2,synapse.reportStats=false"
values=(synapse.media.maxUploadSize=50M synapse.logLevel=INFO)
for i in 2 3 4 5 6 7 8; do values+=(element.ui.defaultCountryCode=DE); done
values+=(synapse.logLevel=WARNING synapse.logLevel=DEBUG)
params=()
set_flags=()
json='[{"name":"set","array":['
sep=
for i in "${!values[@]}"; do
  params+=("PARAM_SET_$i=${values[$i]}")
  set_flags+=(--set "${values[$i]}")
  json+="$sep\"${values[$i]}\""
  sep=,
done
json+=']},{"name":"set-string","array":["element.branding.appName=0123"]}]'
params+=(PARAM_SET_STRING_0=element.branding.appName=0123)

rc=0
cmp_run full "$APP" generate ARGOCD_ENV_MATRIX_RENDER_SET="$ENV_SET" ARGOCD_APP_PARAMETERS="$json" "${params[@]}" || rc=$?
direct full "$APP" "${FILES[@]}" --set "$ENV_SET" "${set_flags[@]}" --set-string element.branding.appName=0123
ok_run full "$rc"
check "full: the last --set wins (logLevel DEBUG)" grep -q 'level: DEBUG' "$T/full.out"
check "full: --set-string kept 0123 a string" grep -q '"brand": "0123"' "$T/full.out"
check "full: stderr names the values files" grep -q 'values files values.yaml 10-site.values.yaml 20-rtc.values.yaml .secrets.yaml; 12 --set, 1 --set-string' "$T/full.err"
check "full: ARGOCD_APP_PARAMETERS is JSON" "$PY" -c 'import json, sys; json.loads(sys.argv[1])' "$json"
# The comparisons would notice a wrong order: other file or --set orders render other bytes.
direct ordered "$APP" "${FILES[@]}"
direct swapped "$APP" -f values.yaml -f 20-rtc.values.yaml -f 10-site.values.yaml -f .secrets.yaml
check "sanity: file order changes the output" bash -c '! cmp -s "$1" "$2"' _ "$T/ordered.want" "$T/swapped.want"
lexical=()
for i in 0 1 10 2 3 4 5 6 7 8 9; do lexical+=(--set "${values[$i]}"); done
direct lexical "$APP" "${FILES[@]}" --set "$ENV_SET" "${lexical[@]}" --set-string element.branding.appName=0123
check "sanity: index order 0,1,10,2.. changes the output" bash -c '! cmp -s "$1" "$2"' _ "$T/full.want" "$T/lexical.want"

# 2. Files named by the values-files array parameter (no discovery).
rc=0
cmp_run param-files "$APP" generate PARAM_VALUES_FILES_0=values.yaml PARAM_VALUES_FILES_1=20-rtc.values.yaml \
  PARAM_VALUES_FILES_2=.secrets.yaml || rc=$?
direct param-files "$APP" -f values.yaml -f 20-rtc.values.yaml -f .secrets.yaml
ok_run param-files "$rc"

# 2b. The CLI from MATRIX_RENDER_BIN (as repo-server-patch.yaml sets it), not from PATH.
rc=0
cmp_run bin-env "$APP" generate MATRIX_RENDER_BIN="$CLI" PATH=/usr/bin:/bin || rc=$?
direct bin-env "$APP" "${FILES[@]}"
ok_run bin-env "$rc"

# 3. Files named by the Application's env, comma-separated, spaces trimmed.
rc=0
cmp_run env-files "$APP" generate ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES="values.yaml, 10-site.values.yaml,.secrets.yaml" || rc=$?
direct env-files "$APP" -f values.yaml -f 10-site.values.yaml -f .secrets.yaml
ok_run env-files "$rc"

# 4. namespace-from-app: the destination namespace, as --set-string.
rc=0
cmp_run ns "$APP" generate PARAM_NAMESPACE_FROM_APP=true ARGOCD_ENV_MATRIX_RENDER_SET_STRING=element.branding.appName=Chat || rc=$?
direct ns "$APP" "${FILES[@]}" --set-string namespace=chat --set-string element.branding.appName=Chat
ok_run ns "$rc"
ns_seen=$("$PY" "$CHECK_PY" field "$T/ns.out" 'metadata|namespace' | tr '\n' ' ')
check "ns: every object in namespace chat (got: $ns_seen)" test "$ns_seen" = "chat "

# 5. static-dir, relative to the app directory.
cp -R "$REPO/tests/fixtures/custom-pages/static" "$APP/static"
rc=0
cmp_run static "$APP" generate PARAM_STATIC_DIR=static || rc=$?
direct static "$APP" "${FILES[@]}" --static-dir static
ok_run static "$rc"
rm -rf "$APP/static"

# 6. Invalid input: nonzero, nothing on stdout, the reason on stderr.
rc=0; cmp_run bad-set "$APP" generate PARAM_SET_0=synapse.replicas=many || rc=$?
bad_run bad-set "$rc" 'error\[invalid-type\]'
NOSEC="$T/repo/apps/nosecrets"
mkdir -p "$NOSEC" && cp "$FIX"/argocd-app/*.yaml "$NOSEC/"
rc=0; cmp_run missing-secret "$NOSEC" generate || rc=$?
bad_run missing-secret "$rc" 'error\[missing-secret\]'
rc=0; cmp_run escape "$APP" generate PARAM_VALUES_FILES_0=../nosecrets/values.yaml || rc=$?
bad_run escape "$rc" 'may not leave the app directory'
rc=0; cmp_run absolute "$APP" generate ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES=/etc/hostname || rc=$?
bad_run absolute "$rc" 'absolute paths are not allowed'
rc=0; cmp_run both "$APP" generate PARAM_VALUES_FILES_0=values.yaml ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES=values.yaml || rc=$?
bad_run both "$rc" 'not both'
mkdir -p "$T/repo/apps/empty"
rc=0; cmp_run empty "$T/repo/apps/empty" generate || rc=$?
bad_run empty "$rc" 'no values files'
rc=0; cmp_run bad-bool "$APP" generate PARAM_NAMESPACE_FROM_APP=maybe || rc=$?
bad_run bad-bool "$rc" 'expected true or false'
TYPO="$T/repo/apps/typo"
mkdir -p "$TYPO" && cp "$APP"/*.yaml "$APP/.secrets.yaml" "$TYPO/"
printf 'synapse:\n  registration:\n    enabeld: false\n' >"$TYPO/30-typo.values.yaml"
rc=0; cmp_run typo "$TYPO" generate || rc=$?
bad_run typo "$rc" 'error\[unknown-key\].*enabeld'

# 7. discover: prints a line for a matrix-render app only; always exits 0.
d() { # d NAME DIR EXPECT(match|none) [VAR=VALUE...]
  local name=$1 dir=$2 want=$3 rc=0
  shift 3
  cmp_run "discover-$name" "$dir" discover "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then fail "discover $name: exit $rc"; return; fi
  if [ "$want" = match ] && [ -s "$T/discover-$name.out" ]; then pass
  elif [ "$want" = none ] && [ ! -s "$T/discover-$name.out" ]; then pass
  else fail "discover $name: expected $want, got '$(cat "$T/discover-$name.out")'"; fi
}
d app "$APP" match
HELM="$T/repo/apps/chart" && mkdir -p "$HELM" && printf 'apiVersion: v2\nname: x\nversion: 0.1.0\n' >"$HELM/Chart.yaml" && cp "$APP/values.yaml" "$HELM/"
d helm-chart "$HELM" none
KUS="$T/repo/apps/kus" && mkdir -p "$KUS" && printf 'resources: []\n' >"$KUS/kustomization.yaml" && cp "$APP/values.yaml" "$KUS/"
d kustomization "$KUS" none
MAN="$T/repo/apps/manifests" && mkdir -p "$MAN" && printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\n' >"$MAN/values.yaml"
d manifest "$MAN" none
d empty "$T/repo/apps/empty" none
d named "$T/repo/apps/empty" match PARAM_VALUES_FILES_0=site.yaml

# 8. announce: JSON naming the files generate would use.
rc=0; cmp_run announce "$APP" announce || rc=$?
check "announce: exit 0" test "$rc" -eq 0
check "announce: values-files default" "$PY" "$CHECK_PY" announce "$T/announce.out" \
  values.yaml 10-site.values.yaml 20-rtc.values.yaml .secrets.yaml
rc=0; cmp_run announce-empty "$T/repo/apps/empty" announce || rc=$?
check "announce (no files): exit 0" test "$rc" -eq 0
check "announce (no files): empty default" "$PY" "$CHECK_PY" announce "$T/announce-empty.out"

# 9. The install Component against a stub argocd-repo-server; plugin.yaml and the patch parse.
if kubectl kustomize "$FIX/argocd-install" >"$T/install.yaml" 2>"$T/install.err"; then
  pass
  check "install: ConfigMap, sidecar, mounts, plugin.yaml" "$PY" "$CHECK_PY" argocd-install "$T/install.yaml" "$REPO" >/dev/null
else
  fail "install: kubectl kustomize failed: $(head -c 600 "$T/install.err")"
fi

summary "generate.sh printed the CLI's bytes in 6 setups, rejected 8 invalid inputs"
