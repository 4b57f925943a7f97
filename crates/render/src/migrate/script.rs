//! The migration script: POSIX sh, self-contained (the stack and the chart's handover
//! manifest embedded as quoted here-documents), stopping at the first failure, and safe to
//! run again: every step either converges (apply, patch, delete --ignore-not-found) or is
//! skipped once done (the handover runs only while Helm still has the release's records).

use std::fmt::Write as _;

/// What the script needs to know.
#[derive(Debug)]
pub struct Facts<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    /// The chart's objects as kubectl's last-applied configuration (no data values).
    pub handover: &'a str,
    /// The rendered stack.
    pub stack: &'a str,
    /// The chart's objects the render drops: (kind, name).
    pub removed: Vec<(&'a str, &'a str)>,
    /// Whether Synapse's database is SQLite on the volume.
    pub sqlite: bool,
    /// The Matrix server name (the signing key's file name).
    pub server_name: &'a str,
    /// The rendered Synapse image tag.
    pub synapse_tag: &'a str,
    /// The values files the render read, for the header.
    pub values: Vec<&'a str>,
}

/// `text` as one single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A here-document delimiter that no line of `body` equals.
fn delimiter(base: &str, body: &str) -> String {
    let mut word = base.to_owned();
    while body.lines().any(|line| line == word) {
        word.push('_');
    }
    word
}

/// `v1.162.0` or `1.162.0` as `1.162.0`; `None` for tags that are not a version.
fn version(tag: &str) -> Option<&str> {
    let v = tag.strip_prefix('v').unwrap_or(tag);
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then_some(v)
}

const HELPERS: &str = r#"set -eu
umask 077

say() { printf '%s\n' "$*" >&2; }
step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'migrate: error: %s\n' "$*" >&2; exit 1; }
k() { $KUBECTL "$@"; }
kn() { $KUBECTL -n "$NAMESPACE" "$@"; }
"#;

/// The script's text.
#[must_use]
pub fn write(f: &Facts<'_>) -> String {
    let mut s = String::with_capacity(f.stack.len() + f.handover.len() + 16 * 1024);
    let ns = quote(f.namespace);
    let release = quote(f.release);
    let key = format!("{}.signing.key", f.server_name);
    let db_copy = "python -c 'import sqlite3; s = sqlite3.connect(\"/data/homeserver.db\"); d = sqlite3.connect(\"/data/homeserver.db.backup\"); s.backup(d); d.close(); s.close()'";

    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Switches the Helm release {release} in namespace {ns} to matrix-render's stack,"
    );
    let _ = writeln!(
        s,
        "# with nothing lost. Written by `matrix-render migrate` from: {}.",
        if f.values.is_empty() {
            "the default values".to_owned()
        } else {
            f.values.join(", ")
        }
    );
    s.push_str(
        "# It holds the rendered stack, Secrets included: keep it as private as .secrets.yaml.\n\
#\n\
#   sh migrate.sh backup [DIR]    back up Synapse's volume into DIR (default synapse-backup)\n\
#   sh migrate.sh run             switch over; needs DIR/synapse-data.tar from `backup`\n\
#   sh migrate.sh run --no-backup switch over without that check (you backed up otherwise)\n\
#\n\
# It works on the current kubectl context (`kubectl config current-context`); set KUBECTL\n\
# to use another command, e.g. KUBECTL='kubectl --context prod'. It stops at the first\n\
# failure and can be run again: each step either converges or is skipped once done.\n\
#\n\
# Back up first. `backup` runs exactly these commands:\n",
    );
    if f.sqlite {
        let _ = writeln!(s, "#   kubectl -n {ns} exec deploy/synapse -- {db_copy}");
    }
    let _ = writeln!(
        s,
        "#   kubectl -n {ns} exec deploy/synapse -- tar -C /data -cf - . > synapse-backup/synapse-data.tar"
    );
    let _ = writeln!(
        s,
        "# The archive holds {}the media store (media_store/) and the signing key ({key}).",
        if f.sqlite {
            "a consistent copy of the SQLite database (homeserver.db.backup), "
        } else {
            ""
        }
    );
    if !f.sqlite {
        s.push_str(
            "# The database is PostgreSQL: dump it too, e.g. `pg_dump -Fc -f synapse.dump synapse`\n\
# on a host that reaches the server.\n",
        );
    }
    s.push_str(
        "# Restore: scale Synapse to 0, then unpack the archive into the volume (homeserver.db.backup\n\
# becomes homeserver.db).\n\
#\n\
# The steps of `run`:\n\
#   1. check that the cluster, the namespace, the data volume and the backup are there;\n\
#   2. refuse a Synapse older than the one running (a downgrade refuses the database);\n\
#   3. set the data volume's PersistentVolume to reclaim policy Retain;\n\
#   4. while Helm still has the release: record the chart's manifest as each object's\n\
#      last-applied configuration (kubectl's three-way merge then removes what only the\n\
#      chart set), remove Helm's ownership annotations, and delete Helm's release records, so\n\
#      that Helm forgets the release without deleting anything;\n\
#   5. apply the stack;\n\
#   6. delete the chart's objects the stack no longer has (never the data volume);\n\
#   7. check that `kubectl diff` has nothing left to change;\n\
#   8. apply again as the kubectl ApplySet `matrix-stack`, so that later applies prune what\n\
#      you turn off.\n\n",
    );
    s.push_str(HELPERS);
    let _ = writeln!(s, "NAMESPACE={ns}");
    let _ = writeln!(s, "RELEASE={release}");
    let _ = writeln!(s, "KUBECTL=\"${{KUBECTL:-kubectl}}\"");
    let _ = writeln!(s, "SIGNING_KEY={}", quote(&key));
    let _ = writeln!(
        s,
        "RENDERED_VERSION={}",
        quote(version(f.synapse_tag).unwrap_or(""))
    );
    let _ = writeln!(s, "RENDERED_TAG={}", quote(f.synapse_tag));
    s.push_str(
        "WORK=$(mktemp -d)\n\
trap 'rm -rf \"$WORK\"' EXIT INT TERM\n\n",
    );

    // The embedded manifests.
    for (file, body, base) in [
        ("chart.yaml", f.handover, "MATRIX_RENDER_CHART_EOF"),
        ("stack.yaml", f.stack, "MATRIX_RENDER_STACK_EOF"),
    ] {
        let word = delimiter(base, body);
        let _ = writeln!(s, "cat > \"$WORK/{file}\" <<'{word}'");
        s.push_str(body);
        if !body.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{word}");
    }

    // backup
    s.push_str("\nbackup() {\n  dir=\"${1:-synapse-backup}\"\n");
    s.push_str(
        "  [ ! -e \"$dir/synapse-data.tar\" ] || fail \"$dir/synapse-data.tar exists: keep it, and back up into another folder\"\n\
  mkdir -p \"$dir\"\n",
    );
    if f.sqlite {
        let _ = writeln!(
            s,
            "  step \"copying the SQLite database consistently (homeserver.db.backup, in the pod)\"\n  kn exec deploy/synapse -- {db_copy}"
        );
    }
    s.push_str(
        "  step \"streaming /data to $dir/synapse-data.tar\"\n\
  kn exec deploy/synapse -- tar -C /data -cf - . > \"$dir/synapse-data.tar\"\n\
  tar -tf \"$dir/synapse-data.tar\" > \"$WORK/listing\" || fail \"$dir/synapse-data.tar is not a tar archive\"\n\
  grep -q \"$SIGNING_KEY\\$\" \"$WORK/listing\" || fail \"the archive has no $SIGNING_KEY: check the volume before going on\"\n",
    );
    if f.sqlite {
        s.push_str(
            "  grep -q 'homeserver.db.backup$' \"$WORK/listing\" || fail \"the archive has no homeserver.db.backup\"\n",
        );
    }
    s.push_str("  say \"backed up to $dir/synapse-data.tar; next: sh migrate.sh run\"\n}\n");

    // run
    s.push_str("\nrun() {\n");
    s.push_str(
        "  step \"1. the cluster, the namespace, the data volume and the backup\"\n\
  say \"kubectl context: $(k config current-context 2>/dev/null || echo unknown)\"\n\
  k get namespace \"$NAMESPACE\" > /dev/null\n\
  kn get persistentvolumeclaim synapse-data > /dev/null || fail \"no volume claim synapse-data in namespace $NAMESPACE\"\n\
  if [ \"${1:-}\" != --no-backup ]; then\n\
    [ -s \"${BACKUP_DIR:-synapse-backup}/synapse-data.tar\" ] || fail \"no backup: run 'sh migrate.sh backup' first (or 'run --no-backup' if you backed up otherwise)\"\n\
  fi\n\
  records=$(kn get secrets,configmaps -l \"owner=helm,name=$RELEASE\" -o name)\n\n\
  step \"2. Synapse's version\"\n\
  running=$(kn exec deploy/synapse -- python -c 'import synapse; print(synapse.__version__)' 2>/dev/null || true)\n\
  if [ -z \"$running\" ]; then\n\
    say \"warning: could not read the running Synapse's version; make sure $RENDERED_TAG is not older\"\n\
  elif [ -z \"$RENDERED_VERSION\" ]; then\n\
    say \"warning: Synapse $running runs; the stack runs tag $RENDERED_TAG, which is not a version: pin synapse.image.tag to v$running or later\"\n\
  else\n\
    lowest=$(printf '%s\\n%s\\n' \"$RENDERED_VERSION\" \"$running\" | sort -t. -k1,1n -k2,2n -k3,3n | head -n 1)\n\
    if [ \"$lowest\" = \"$RENDERED_VERSION\" ] && [ \"$RENDERED_VERSION\" != \"$running\" ]; then\n\
      fail \"Synapse $running runs, the stack would run $RENDERED_VERSION: a downgrade refuses the database; set synapse.image.tag to v$running or later and render again\"\n\
    fi\n\
    say \"Synapse $running runs; the stack runs $RENDERED_VERSION\"\n\
  fi\n\n\
  step \"3. the data volume survives its claim\"\n\
  pv=$(kn get persistentvolumeclaim synapse-data -o 'jsonpath={.spec.volumeName}')\n\
  [ -n \"$pv\" ] || fail \"the claim synapse-data is not bound to a volume\"\n\
  k patch persistentvolume \"$pv\" -p '{\"spec\":{\"persistentVolumeReclaimPolicy\":\"Retain\"}}'\n\
  policy=$(k get persistentvolume \"$pv\" -o 'jsonpath={.spec.persistentVolumeReclaimPolicy}')\n\
  [ \"$policy\" = Retain ] || fail \"PersistentVolume $pv has reclaim policy '$policy', not Retain\"\n\n\
  step \"4. hand the chart's objects to kubectl; Helm forgets release $RELEASE\"\n\
  if [ -n \"$records\" ]; then\n\
    k apply set-last-applied --create-annotation -f \"$WORK/chart.yaml\"\n\
    k annotate -f \"$WORK/chart.yaml\" meta.helm.sh/release-name- meta.helm.sh/release-namespace-\n\
    kn delete secrets,configmaps -l \"owner=helm,name=$RELEASE\"\n\
  else\n\
    say \"Helm has no record of release $RELEASE: already handed over\"\n\
  fi\n\n\
  step \"5. apply the stack\"\n\
  k apply -f \"$WORK/stack.yaml\"\n",
    );
    if !f.removed.is_empty() {
        s.push_str("\n  step \"6. delete the chart's objects the stack no longer has\"\n");
        for (kind, name) in &f.removed {
            let _ = writeln!(
                s,
                "  kn delete {} {} --ignore-not-found",
                quote(&kind.to_ascii_lowercase()),
                quote(name)
            );
        }
    } else {
        s.push_str(
            "\n  step \"6. the stack keeps every object of the chart: nothing to delete\"\n",
        );
    }
    s.push_str(
        "\n  step \"7. nothing left to change\"\n\
  set +e\n\
  k diff -f \"$WORK/stack.yaml\" > \"$WORK/diff\"\n\
  status=$?\n\
  set -e\n\
  case $status in\n\
    0) say \"kubectl diff: no differences\" ;;\n\
    1) cat \"$WORK/diff\" >&2; fail \"kubectl diff still shows changes (above)\" ;;\n\
    *) fail \"kubectl diff failed (exit $status)\" ;;\n\
  esac\n\n\
  step \"8. record the stack as the ApplySet matrix-stack\"\n\
  KUBECTL_APPLYSET=true $KUBECTL -n \"$NAMESPACE\" apply --server-side --force-conflicts --prune --applyset=matrix-stack -f \"$WORK/stack.yaml\"\n\n\
  say \"\"\n\
  say \"done: release $RELEASE now runs matrix-render's stack; Helm no longer knows it (never run helm uninstall for it).\"\n\
  say \"from now on: matrix-render render -f ... > stack.yaml && KUBECTL_APPLYSET=true kubectl apply -n $NAMESPACE --server-side --prune --applyset=matrix-stack -f stack.yaml\"\n\
}\n\n",
    );
    s.push_str(
        "case \"${1:-}\" in\n\
  backup) shift; backup \"$@\" ;;\n\
  run) shift; run \"$@\" ;;\n\
  *) sed -n '2,/^$/s/^# \\{0,1\\}//p' \"$0\" >&2; exit 2 ;;\n\
esac\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_and_delimiters_unique() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(delimiter("EOF", "a\nEOF\nEOF_\n"), "EOF__");
        assert_eq!(version("v1.162.0"), Some("1.162.0"));
        assert_eq!(version("latest"), None);
        assert_eq!(version("v1.162"), None);
    }
}
