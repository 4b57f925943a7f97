#!/bin/sh
# matrix-render as an Argo CD Config Management Plugin (sidecar, Argo CD 2.8+).
# plugin.yaml runs this script in the Application's source directory:
#
#   generate.sh [generate]   render the stack; stdout carries only the objects
#   generate.sh discover     print a line when this directory is a matrix-render app
#   generate.sh announce     print the dynamic parameter announcement (JSON)
#
# Inputs (see deploy/argocd/README.md for the full contract):
#   values files   PARAM_VALUES_FILES_<i> (array parameter `values-files`), or
#                  ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES="a.yaml,b.yaml"; otherwise
#                  values.yaml, then *.values.yaml in byte order, then .secrets.yaml,
#                  each if present
#   --set          ARGOCD_ENV_MATRIX_RENDER_SET, then PARAM_SET, then PARAM_SET_<i>
#   --set-string   ARGOCD_ENV_MATRIX_RENDER_SET_STRING, PARAM_SET_STRING, PARAM_SET_STRING_<i>
#   --static-dir   PARAM_STATIC_DIR or ARGOCD_ENV_MATRIX_RENDER_STATIC_DIR
#   namespace      PARAM_NAMESPACE_FROM_APP or ARGOCD_ENV_MATRIX_RENDER_NAMESPACE_FROM_APP
#                  = "true": --set-string namespace=$ARGOCD_APP_NAMESPACE
# MATRIX_RENDER_BIN (sidecar env) names the CLI; default: matrix-render on PATH.
#
# Diagnostics go to stderr (Argo CD shows them in the app's error); exit 1 on invalid input.
set -eu
export LC_ALL=C

me=matrix-render-cmp
nl='
'

die() {
  printf '%s: %s\n' "$me" "$*" >&2
  exit 1
}

# A path from a parameter or from the directory: relative, inside the app directory, one line.
check_path() {
  case $1 in
  '') die "empty file name" ;;
  /*) die "$1: absolute paths are not allowed; name a file inside the app directory" ;;
  .. | ../* | */.. | */../*) die "$1: paths may not leave the app directory" ;;
  *[[:cntrl:]]*) die "file names with control characters are not supported" ;;
  esac
}

# The indices of the array parameter $1 (PARAM_X_0, PARAM_X_1, ...) in numeric order.
indices() {
  env | sed -n "s/^$1_\\([0-9][0-9]*\\)=.*/\\1/p" | sort -n -u
}

# is_set NAME: the variable NAME is set (Argo CD leaves out variables with empty values).
is_set() {
  eval "[ \"\${$1+x}\" = x ]"
}

# The values files, one per line, in merge order.
values_files() {
  vf_param=$(indices PARAM_VALUES_FILES)
  if [ -n "$vf_param" ] && [ -n "${ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES:-}" ]; then
    die "set either the values-files parameter or MATRIX_RENDER_VALUES_FILES, not both"
  fi
  if [ -n "$vf_param" ]; then
    for i in $vf_param; do
      is_set "PARAM_VALUES_FILES_$i" || continue
      eval "f=\$PARAM_VALUES_FILES_$i"
      check_path "$f"
      printf '%s\n' "$f"
    done
    return
  fi
  if [ -n "${ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES:-}" ]; then
    set -f
    old_ifs=$IFS
    IFS=,
    for f in $ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES; do
      f=$(printf '%s' "$f" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
      [ -n "$f" ] || continue
      check_path "$f"
      printf '%s\n' "$f"
    done
    IFS=$old_ifs
    set +f
    return
  fi
  if [ -f values.yaml ]; then
    printf '%s\n' values.yaml
  fi
  for f in *.values.yaml; do
    [ -f "$f" ] || continue
    check_path "$f"
    printf '%s\n' "$f"
  done
  if [ -f .secrets.yaml ]; then
    printf '%s\n' .secrets.yaml
  fi
}

# discover: a directory with values.yaml that is not a Helm chart, not a kustomization and
# not a Kubernetes manifest, or any directory when values files are named explicitly.
discover() {
  if [ -n "$(indices PARAM_VALUES_FILES)" ] || [ -n "${ARGOCD_ENV_MATRIX_RENDER_VALUES_FILES:-}" ]; then
    echo "matrix-render: values files named by the Application"
    return 0
  fi
  [ -f values.yaml ] || return 0
  for marker in Chart.yaml kustomization.yaml kustomization.yml Kustomization; do
    if [ -e "$marker" ]; then
      return 0
    fi
  done
  if grep -Eq '^(apiVersion|kind):' values.yaml; then
    return 0
  fi
  echo "matrix-render: values.yaml"
}

json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# announce: the values files this directory would use, as the default of `values-files`.
announce() {
  files=$( (values_files) 2>/dev/null) || files=
  items=
  IFS=$nl
  for f in $files; do
    items="${items:+$items, }$(json_string "$f")"
  done
  unset IFS
  printf '[{"name": "values-files", "title": "Values files, merged in this order", '
  printf '"tooltip": "Default: values.yaml, *.values.yaml (byte order), .secrets.yaml", '
  printf '"collectionType": "array", "array": [%s]}]\n' "$items"
}

generate() {
  files=$(values_files)
  [ -n "$files" ] || die "no values files in $(pwd): add values.yaml (and *.values.yaml, .secrets.yaml), or name them with the values-files parameter"

  truthy() {
    case $1 in
    true | True | TRUE | yes | 1) return 0 ;;
    '' | false | False | FALSE | no | 0) return 1 ;;
    *) die "$2: expected true or false, got '$1'" ;;
    esac
  }
  ns_from_app=${PARAM_NAMESPACE_FROM_APP:-${ARGOCD_ENV_MATRIX_RENDER_NAMESPACE_FROM_APP:-false}}
  static_dir=${PARAM_STATIC_DIR:-${ARGOCD_ENV_MATRIX_RENDER_STATIC_DIR:-}}

  set -f
  IFS=$nl
  set --
  for f in $files; do
    set -- "$@" -f "$f"
  done
  if [ -n "$static_dir" ]; then
    check_path "$static_dir"
    set -- "$@" --static-dir "$static_dir"
  fi
  if truthy "$ns_from_app" namespace-from-app; then
    [ -n "${ARGOCD_APP_NAMESPACE:-}" ] || die "namespace-from-app is on but ARGOCD_APP_NAMESPACE is empty"
    set -- "$@" --set-string "namespace=$ARGOCD_APP_NAMESPACE"
  fi
  n_set=0
  n_set_string=0
  v=
  if [ -n "${ARGOCD_ENV_MATRIX_RENDER_SET:-}" ]; then
    set -- "$@" --set "$ARGOCD_ENV_MATRIX_RENDER_SET"
    n_set=$((n_set + 1))
  fi
  if [ -n "${PARAM_SET:-}" ]; then
    set -- "$@" --set "$PARAM_SET"
    n_set=$((n_set + 1))
  fi
  for i in $(indices PARAM_SET); do
    is_set "PARAM_SET_$i" || continue
    eval "v=\$PARAM_SET_$i"
    set -- "$@" --set "$v"
    n_set=$((n_set + 1))
  done
  if [ -n "${ARGOCD_ENV_MATRIX_RENDER_SET_STRING:-}" ]; then
    set -- "$@" --set-string "$ARGOCD_ENV_MATRIX_RENDER_SET_STRING"
    n_set_string=$((n_set_string + 1))
  fi
  if [ -n "${PARAM_SET_STRING:-}" ]; then
    set -- "$@" --set-string "$PARAM_SET_STRING"
    n_set_string=$((n_set_string + 1))
  fi
  for i in $(indices PARAM_SET_STRING); do
    is_set "PARAM_SET_STRING_$i" || continue
    eval "v=\$PARAM_SET_STRING_$i"
    set -- "$@" --set-string "$v"
    n_set_string=$((n_set_string + 1))
  done
  unset IFS

  # One line of context for the error Argo CD shows; values are not printed (they may be secret).
  printf '%s: app %s: values files %s; %s --set, %s --set-string\n' "$me" \
    "${ARGOCD_APP_NAME:-?}" "$(printf '%s' "$files" | tr '\n' ' ')" "$n_set" "$n_set_string" >&2
  exec "${MATRIX_RENDER_BIN:-matrix-render}" render "$@"
}

case ${1:-generate} in
generate) generate ;;
discover) discover ;;
announce) announce ;;
*) die "usage: generate.sh [generate|discover|announce]" ;;
esac
