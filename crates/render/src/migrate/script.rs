//! The migration script: POSIX sh, self-contained (the stack and the chart's handover
//! manifest embedded as quoted here-documents), stopping at the first failure, and safe to
//! run again: every step either converges (apply, patch, delete --ignore-not-found) or is
//! skipped once done (the handover runs only while Helm still has the release's records).

use std::fmt::Write as _;

use matrix_render_model::api::MigrationObject;

/// What the script needs to know.
#[derive(Debug)]
pub struct Facts<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    /// The chart's objects as kubectl's last-applied configuration (no data values).
    pub handover: &'a str,
    /// The rendered stack.
    pub stack: &'a str,
    /// One ApplySet per namespace: its namespaced objects, or `None` when that is the
    /// whole stack.
    pub applysets: Vec<(&'a str, Option<String>)>,
    /// The chart's objects the render drops (or renders into another namespace).
    pub removed: Vec<&'a MigrationObject>,
    /// The chart's objects that cannot change in place and hold no data.
    pub replaced: Vec<&'a MigrationObject>,
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
pub fn version(tag: &str) -> Option<&str> {
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

/// The steps, written as shell (`body.sh`): the part of the script that does not depend on
/// the release.
const BODY: &str = include_str!("body.sh");

/// Python that copies the live SQLite database consistently (its backup API).
const SQLITE_COPY: &str = "import sqlite3; s = sqlite3.connect('/data/homeserver.db'); \
d = sqlite3.connect('/data/homeserver.db.backup'); s.backup(d); d.close(); s.close()";

/// The command that deletes one of the chart's objects, wherever it is.
fn delete(object: &MigrationObject) -> String {
    format!(
        "k -n {} delete {} {} --ignore-not-found",
        quote(&object.namespace),
        quote(&object.kind.to_ascii_lowercase()),
        quote(&object.name)
    )
}

/// The script's text.
#[must_use]
pub fn write(f: &Facts<'_>) -> String {
    let mut s = String::with_capacity(f.stack.len() * 2 + f.handover.len() + 16 * 1024);
    let ns = quote(f.namespace);
    let release = quote(f.release);
    let key = format!("{}.signing.key", f.server_name);
    // File names are the user's own, but a comment line must stay one line.
    let from = if f.values.is_empty() {
        "the default values".to_owned()
    } else {
        f.values
            .join(", ")
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let lines = [
        "#!/bin/sh".to_owned(),
        format!("# Switches the Helm release {release} in namespace {ns} to matrix-render's stack,"),
        format!("# with nothing lost. Written by `matrix-render migrate` from: {from}."),
        "# It holds the rendered stack, Secrets included: keep it as private as .secrets.yaml."
            .to_owned(),
        "#".to_owned(),
        "#   sh migrate.sh backup [DIR]    back up Synapse's volume into DIR (default synapse-backup)"
            .to_owned(),
        "#   sh migrate.sh run             switch over; needs synapse-backup/synapse-data.tar"
            .to_owned(),
        "#                                 (BACKUP_DIR=DIR for another folder)".to_owned(),
        "#   sh migrate.sh run --no-backup switch over without that check (you backed up otherwise)"
            .to_owned(),
        "#".to_owned(),
        "# It works on the current kubectl context (`kubectl config current-context`); set KUBECTL"
            .to_owned(),
        "# to use another command, e.g. KUBECTL='kubectl --context prod'. It stops at the first"
            .to_owned(),
        "# failure and can be run again: each step either converges or is skipped once done."
            .to_owned(),
        "#".to_owned(),
        "# Back up first. `backup` runs exactly these commands:".to_owned(),
    ];
    for line in lines {
        let _ = writeln!(s, "{line}");
    }
    if f.sqlite {
        let _ = writeln!(
            s,
            "#   kubectl -n {ns} exec deploy/synapse -- python -c \"{SQLITE_COPY}\""
        );
    }
    let _ = writeln!(
        s,
        "#   kubectl -n {ns} exec deploy/synapse -- tar -C /data -cf - . > synapse-backup/synapse-data.tar"
    );
    if f.sqlite {
        s.push_str(
            "# The archive holds a consistent copy of the SQLite database (homeserver.db.backup),\n",
        );
    } else {
        s.push_str(
            "# The database is PostgreSQL: dump it too, e.g. `pg_dump -Fc -f synapse.dump synapse` on\n\
             # a host that reaches the server. The archive holds\n",
        );
    }
    let _ = writeln!(
        s,
        "# the media store (media_store/) and the signing key ({key})."
    );
    for line in [
        "# To restore, scale Synapse to 0 and unpack the archive into the volume",
        "# (homeserver.db.backup becomes homeserver.db).",
        "#",
        "# The steps of `run`:",
        "#   1. check that the cluster, the namespace, the data volume and the backup are there;",
        "#   2. refuse a Synapse older than the one running (a downgrade refuses the database);",
        "#   3. set the data volume's PersistentVolume to reclaim policy Retain;",
        "#   4. while Helm still has the release: record the chart's manifest as each object's",
        "#      last-applied configuration (kubectl's three-way merge then removes what only the",
        "#      chart set), remove Helm's ownership annotations, and delete Helm's release records,",
        "#      so that Helm forgets the release without deleting anything;",
        "#   5. apply the stack;",
        "#   6. delete the chart's objects the stack no longer has (never the data volume);",
        "#   7. check that `kubectl diff` has nothing left to change;",
        "#   8. apply again as the kubectl ApplySet `matrix-stack`, one per namespace, so that",
        "#      later applies prune what you turn off.",
        "",
    ] {
        let _ = writeln!(s, "{line}");
    }
    s.push_str(HELPERS);
    let _ = writeln!(s, "NAMESPACE={ns}");
    let _ = writeln!(s, "RELEASE={release}");
    let _ = writeln!(s, "KUBECTL=\"${{KUBECTL:-kubectl}}\"");
    let _ = writeln!(s, "SQLITE={}", if f.sqlite { "yes" } else { "no" });
    let _ = writeln!(s, "SQLITE_COPY={}", quote(SQLITE_COPY));
    let _ = writeln!(s, "SIGNING_KEY={}", quote(&key));
    let _ = writeln!(
        s,
        "RENDERED_VERSION={}",
        quote(version(f.synapse_tag).unwrap_or(""))
    );
    let _ = writeln!(s, "RENDERED_TAG={}", quote(f.synapse_tag));
    s.push_str("WORK=$(mktemp -d)\ntrap 'rm -rf \"$WORK\"' EXIT INT TERM\n\n");

    // The embedded manifests.
    let mut files = vec![
        (
            "chart.yaml".to_owned(),
            f.handover,
            "MATRIX_RENDER_CHART_EOF",
        ),
        ("stack.yaml".to_owned(), f.stack, "MATRIX_RENDER_STACK_EOF"),
    ];
    for (ns, body) in &f.applysets {
        if let Some(body) = body {
            files.push((
                format!("applyset-{ns}.yaml"),
                body,
                "MATRIX_RENDER_STACK_EOF",
            ));
        }
    }
    for (file, body, base) in files {
        let word = delimiter(base, body);
        let _ = writeln!(s, "cat > \"$WORK/{file}\" <<'{word}'");
        s.push_str(body);
        if !body.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{word}");
    }

    // What depends on the objects: the chart's objects to delete, the ApplySets.
    s.push_str("\ndelete_removed() {\n");
    if f.removed.is_empty() {
        s.push_str("  say \"the stack keeps every object of the chart: nothing to delete\"\n");
    }
    for object in &f.removed {
        let _ = writeln!(s, "  {}", delete(object));
    }
    s.push_str("}\n\nreplace_immutable() {\n");
    if f.replaced.is_empty() {
        s.push_str("  :\n");
    }
    for object in &f.replaced {
        let _ = writeln!(s, "  {}", delete(object));
    }
    s.push_str("}\n\nrecord_applysets() {\n");
    for (ns, body) in &f.applysets {
        let file = if body.is_some() {
            format!("applyset-{ns}.yaml")
        } else {
            "stack.yaml".to_owned()
        };
        let _ = writeln!(
            s,
            "  KUBECTL_APPLYSET=true $KUBECTL -n {} apply --server-side --force-conflicts --prune --applyset=matrix-stack -f \"$WORK/{file}\"",
            quote(ns)
        );
    }
    s.push_str("}\n");
    s.push_str(BODY);
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
