
backup() {
  dir="${1:-synapse-backup}"
  [ ! -e "$dir/synapse-data.tar" ] || fail "$dir/synapse-data.tar exists: keep it, and back up into another folder"
  mkdir -p "$dir"
  if [ "$SQLITE" = yes ]; then
    step "copying the SQLite database consistently (homeserver.db.backup, in the pod)"
    kn exec deploy/synapse -- python -c "$SQLITE_COPY"
  fi
  step "streaming /data to $dir/synapse-data.tar"
  kn exec deploy/synapse -- tar -C /data -cf - . > "$dir/synapse-data.tar"
  tar -tf "$dir/synapse-data.tar" > "$WORK/listing" || fail "$dir/synapse-data.tar is not a tar archive"
  grep -q "$SIGNING_KEY\$" "$WORK/listing" || fail "the archive has no $SIGNING_KEY: check the volume before going on"
  if [ "$SQLITE" = yes ]; then
    grep -q 'homeserver\.db\.backup$' "$WORK/listing" || fail "the archive has no homeserver.db.backup"
  else
    say "the database is PostgreSQL: dump it too (pg_dump -Fc), the archive holds only the volume"
  fi
  say "backed up to $dir/synapse-data.tar; next: sh migrate.sh run"
}

run() {
  step "1. the cluster, the namespace, the data volume and the backup"
  say "kubectl context: $(k config current-context 2>/dev/null || echo unknown)"
  k get namespace "$NAMESPACE" > /dev/null
  kn get persistentvolumeclaim synapse-data > /dev/null || fail "no volume claim synapse-data in namespace $NAMESPACE"
  if [ "${1:-}" != --no-backup ]; then
    [ -s "${BACKUP_DIR:-synapse-backup}/synapse-data.tar" ] ||
      fail "no backup: run 'sh migrate.sh backup' first (or 'run --no-backup' if you backed up otherwise)"
  fi
  records=$(kn get secrets,configmaps -l "owner=helm,name=$RELEASE" -o name)

  step "2. Synapse's version"
  running=$(kn exec deploy/synapse -- python -c 'import synapse; print(synapse.__version__)' 2>/dev/null || true)
  if [ -z "$running" ]; then
    say "warning: could not read the running Synapse's version; make sure $RENDERED_TAG is not older"
  elif [ -z "$RENDERED_VERSION" ]; then
    say "warning: Synapse $running runs; the stack runs tag $RENDERED_TAG, which is not a version: pin synapse.image.tag to v$running or later"
  else
    lowest=$(printf '%s\n%s\n' "$RENDERED_VERSION" "$running" | sort -t. -k1,1n -k2,2n -k3,3n | head -n 1)
    if [ "$lowest" = "$RENDERED_VERSION" ] && [ "$RENDERED_VERSION" != "$running" ]; then
      fail "Synapse $running runs, the stack would run $RENDERED_VERSION: a downgrade refuses the database; set synapse.image.tag to v$running or later and render again"
    fi
    say "Synapse $running runs; the stack runs $RENDERED_VERSION"
  fi

  step "3. the data volume survives its claim"
  pv=$(kn get persistentvolumeclaim synapse-data -o 'jsonpath={.spec.volumeName}')
  [ -n "$pv" ] || fail "the claim synapse-data is not bound to a volume"
  k patch persistentvolume "$pv" -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'
  policy=$(k get persistentvolume "$pv" -o 'jsonpath={.spec.persistentVolumeReclaimPolicy}')
  [ "$policy" = Retain ] || fail "PersistentVolume $pv has reclaim policy '$policy', not Retain"

  step "4. hand the chart's objects to kubectl; Helm forgets release $RELEASE"
  if [ -n "$records" ]; then
    k apply set-last-applied --create-annotation -f "$WORK/chart.yaml"
    k annotate -f "$WORK/chart.yaml" meta.helm.sh/release-name- meta.helm.sh/release-namespace-
    kn delete secrets,configmaps -l "owner=helm,name=$RELEASE"
  else
    say "Helm has no record of release $RELEASE: already handed over"
  fi

  step "5. apply the stack"
  # What cannot change in place and holds no data (a Secret's type) is created anew.
  replace_immutable
  k apply -f "$WORK/stack.yaml"

  step "6. delete the chart's objects the stack no longer has"
  delete_removed

  step "7. nothing left to change"
  set +e
  k diff -f "$WORK/stack.yaml" > "$WORK/diff"
  status=$?
  set -e
  case $status in
    0) say "kubectl diff: no differences" ;;
    1) cat "$WORK/diff" >&2; fail "kubectl diff still shows changes (above)" ;;
    *) fail "kubectl diff failed (exit $status)" ;;
  esac

  step "8. record the stack as the ApplySet matrix-stack (one per namespace)"
  record_applysets

  say ""
  say "done: release $RELEASE now runs matrix-render's stack; Helm no longer knows it (never run helm uninstall for it)."
  say "from now on: matrix-render render ... > stack.yaml, then apply it with the ApplySet (README: Applying and pruning)"
}

case "${1:-}" in
  backup) shift; backup "$@" ;;
  run) shift; run "$@" ;;
  *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
