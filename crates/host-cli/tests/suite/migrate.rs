//! `matrix-render migrate`: the report and script for the chart's own manifest (golden), the
//! refusals, and the script's control flow against a recording kubectl stand-in.
//!
//! The chart manifests in tests/migrate are `helm template` of a reconstruction of the chart
//! (tests/migrate/README.md); tests/migrate/render-chart.sh --check keeps them current.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{check_golden, repo};

fn cli(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `migrate` for the seed's values and secrets, from the chart's manifest, as run from the
/// repository root with relative paths (so the golden files name them as a user would).
fn migrate(rtc: bool, extra: &[&str]) -> Output {
    let manifest = if rtc {
        "tests/migrate/chart-manifest-rtc.yaml"
    } else {
        "tests/migrate/chart-manifest.yaml"
    };
    migrate_from(manifest, rtc, extra)
}

fn migrate_from(manifest: &str, rtc: bool, extra: &[&str]) -> Output {
    let mut args = vec![
        "migrate",
        "--from-helm",
        manifest,
        "-f",
        "tests/fixtures/seed/values.yaml",
        "-f",
        "tests/fixtures/seed/secrets.yaml",
    ];
    if rtc {
        args.extend(["--set", "matrixrtc.enabled=true"]);
    }
    args.extend(extra);
    cli(&args, &repo())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_report_and_script_for_the_charts_manifest_are_golden() {
    for (rtc, name) in [(false, "seed"), (true, "seed-rtc")] {
        let out = migrate(rtc, &[]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let dir = repo().join("tests/golden/migrate");
        std::fs::create_dir_all(&dir).unwrap();
        check_golden(&dir.join(format!("{name}.report.txt")), &stderr);
        check_golden(&dir.join(format!("{name}.sh")), &stdout);
        // A POSIX shell (Debian's dash) reads the whole script.
        let syntax = Command::new("sh")
            .args(["-n", dir.join(format!("{name}.sh")).to_str().unwrap()])
            .output()
            .unwrap();
        assert!(syntax.status.success(), "{}", text(&syntax.stderr));

        // What the issue found on a real server is in the report.
        assert!(stderr.contains("changed  ConfigMap/synapse-extra-config"));
        assert!(stderr.contains("- data[\"synapse-extra-config.yaml\"]"));
        assert!(stderr.contains("- spec.template.spec.initContainers[name=synapse-generate]"));
        assert!(stderr.contains("ports[containerPort=80]"));
        let volume = stderr
            .lines()
            .find(|l| l.contains("PersistentVolumeClaim/synapse-data"))
            .unwrap();
        assert!(volume.contains("holds data: kept in place"), "{volume}");
        // The script embeds exactly the stack `render` prints.
        let render = cli(
            &[
                "render",
                "-f",
                "tests/fixtures/seed/values.yaml",
                "-f",
                "tests/fixtures/seed/secrets.yaml",
                "--set",
                if rtc {
                    "matrixrtc.enabled=true"
                } else {
                    "matrixrtc.enabled=false"
                },
            ],
            &repo(),
        );
        let stack = text(&render.stdout);
        assert!(stdout.contains(&stack));
        // No secret of the chart's (its ConfigMaps hold them in clear) reaches the report,
        // and the script's handover carries none either: only the stack's Secrets hold values.
        let secrets =
            std::fs::read_to_string(repo().join("tests/fixtures/seed/secrets.yaml")).unwrap();
        let handover = stdout
            .split("MATRIX_RENDER_CHART_EOF")
            .nth(1)
            .unwrap()
            .to_owned();
        for line in secrets.lines() {
            let Some((_, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            if value.len() < 8 {
                continue;
            }
            assert!(!stderr.contains(value), "{name}: a secret in the report");
            assert!(
                !handover.contains(value),
                "{name}: a secret in the handover"
            );
        }
    }
}

#[test]
fn the_native_core_writes_the_same_script_as_the_cli() {
    use matrix_render::input::{self, Inputs};
    use matrix_render_model::NamedText;
    use matrix_render_model::api::MigrateFrom;

    let root = repo();
    let mut request = input::request(&Inputs {
        values: vec![
            root.join("tests/fixtures/seed/values.yaml")
                .display()
                .to_string(),
            root.join("tests/fixtures/seed/secrets.yaml")
                .display()
                .to_string(),
        ],
        ..Inputs::default()
    })
    .unwrap();
    // The CLI names the files as given on its command line.
    for (doc, name) in request.values.iter_mut().zip([
        "tests/fixtures/seed/values.yaml",
        "tests/fixtures/seed/secrets.yaml",
    ]) {
        doc.name = name.to_owned();
    }
    request.options.migrate = Some(MigrateFrom {
        manifest: NamedText {
            name: "tests/migrate/chart-manifest.yaml".to_owned(),
            text: std::fs::read_to_string(root.join("tests/migrate/chart-manifest.yaml")).unwrap(),
        },
        release: None,
        namespace: None,
    });
    let native = matrix_render_renderer::render(&request);
    assert!(native.ok, "{:?}", native.diagnostics);
    let migration = native.migration.unwrap();
    assert_eq!(migration.script, text(&migrate(false, &[]).stdout));
    assert_eq!(migration.release, "matrix");
    assert_eq!(migration.namespace, "matrix");
    assert!(
        migration
            .objects
            .iter()
            .any(|o| o.name == "synapse-data" && o.holds_data)
    );
}

#[test]
fn a_manifest_that_is_not_the_charts_is_refused_at_its_line() {
    let dir = tempdir("refused");
    let chart = std::fs::read_to_string(repo().join("tests/migrate/chart-manifest.yaml")).unwrap();
    let foreign = format!(
        "{chart}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: postgres\n"
    );
    let path = dir.join("chart.yaml");
    std::fs::write(&path, &foreign).unwrap();
    let line = foreign.lines().count();
    let out = migrate_from(path.to_str().unwrap(), false, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("error[not-the-chart]"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:{line}:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("no script was written"), "{stderr}");

    // An empty manifest, and one for another namespace.
    std::fs::write(&path, "# nothing\n").unwrap();
    let out = migrate_from(path.to_str().unwrap(), false, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("holds no Kubernetes object"));
    // A release name no shell command may carry.
    let out = migrate(false, &["--release", "x\nrm -rf /"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[invalid-name]"), "{stderr}");
    assert!(out.stdout.is_empty());
    let out = migrate(false, &["--set", "namespace=chat"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[namespace-mismatch]"), "{stderr}");
    assert!(stderr.contains("set `namespace: matrix`"), "{stderr}");
}

#[test]
fn what_cannot_change_in_place_is_an_error_with_a_hint() {
    let dir = tempdir("immutable");
    let chart = std::fs::read_to_string(repo().join("tests/migrate/chart-manifest.yaml")).unwrap();
    // The chart's claim with a storage class and a larger size than the render asks for.
    let path = dir.join("chart.yaml");
    edit(
        &chart,
        "  resources:\n    requests:\n      storage: 10Gi",
        "  storageClassName: fast\n  resources:\n    requests:\n      storage: 20Gi",
        &path,
    );
    let out = migrate_from(path.to_str().unwrap(), false, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("spec.storageClassName"), "{stderr}");
    assert!(
        stderr.contains("synapse.storage.storageClassName"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot shrink"), "{stderr}");
    // With the class set and the size kept, it goes through.
    let out = migrate_from(
        path.to_str().unwrap(),
        false,
        &[
            "--set",
            "synapse.storage.storageClassName=fast",
            "--set",
            "synapse.storage.size=20Gi",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A Secret of another type holds no data: the script deletes it before the apply
    // creates it anew.
    edit(
        &chart,
        "type: Opaque\nstringData:\n  TURN_SHARED_SECRET",
        "type: example.com/turn\nstringData:\n  TURN_SHARED_SECRET",
        &path,
    );
    let out = migrate_from(path.to_str().unwrap(), false, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("  replaced Secret/coturn-secret"),
        "{stderr}"
    );
    let replace = stdout.split("replace_immutable() {").nth(1).unwrap();
    assert!(
        replace
            .starts_with("\n  k -n 'matrix' delete 'secret' 'coturn-secret' --ignore-not-found\n}")
    );

    // An object in another namespace than the render's is deleted there and created anew.
    edit(
        &chart,
        "kind: Deployment\nmetadata:\n  name: coturn\n  namespace: matrix\n",
        "kind: Deployment\nmetadata:\n  name: coturn\n  namespace: turn\n",
        &path,
    );
    let out = migrate_from(path.to_str().unwrap(), false, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("  new      Deployment/coturn"), "{stderr}");
    assert!(stderr.contains("  removed  Deployment/coturn"), "{stderr}");
    assert!(stdout.contains("  k -n 'turn' delete 'deployment' 'coturn' --ignore-not-found\n"));
    assert!(
        stderr.contains("into namespace `matrix`: the script deletes the chart's in `turn`"),
        "{stderr}"
    );

    // The split namespace layout: coturn and MatrixRTC move to a privileged namespace of
    // their own; the chart's objects are deleted where they were, one ApplySet per namespace.
    let out = migrate(
        true,
        &[
            "--set",
            "podSecurity.enabled=true",
            "--set",
            "podSecurity.hostNetworkNamespace=matrix-host",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("  new      Deployment/coturn -n matrix-host"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  removed  Deployment/coturn\n"),
        "{stderr}"
    );
    assert!(stdout.contains("  k -n 'matrix' delete 'deployment' 'coturn' --ignore-not-found\n"));
    let applysets: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("--applyset=matrix-stack"))
        .collect();
    assert_eq!(
        applysets,
        [
            "  KUBECTL_APPLYSET=true $KUBECTL -n 'matrix' apply --server-side --force-conflicts --prune --applyset=matrix-stack -f \"$WORK/applyset-matrix.yaml\"",
            "  KUBECTL_APPLYSET=true $KUBECTL -n 'matrix-host' apply --server-side --force-conflicts --prune --applyset=matrix-stack -f \"$WORK/applyset-matrix-host.yaml\"",
        ]
    );
    // Namespace objects never join a set: pruning one would delete the data volume.
    let sets = stdout.split("<<'MATRIX_RENDER_STACK_EOF'").skip(2);
    for set in sets {
        assert!(!set.contains("\nkind: Namespace\n"));
    }

    // Values that drop a component the chart runs: the script deletes its objects, and says so.
    let out = migrate(true, &["--set", "matrixrtc.enabled=false"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[object-removed]"), "{stderr}");
    assert!(stdout.contains("k -n 'matrix' delete 'deployment' 'livekit' --ignore-not-found"));
}

#[test]
fn the_manifest_can_come_from_stdin() {
    let chart = std::fs::read(repo().join("tests/migrate/chart-manifest.yaml")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .args([
            "migrate",
            "--from-helm",
            "-",
            "-f",
            "tests/fixtures/seed/values.yaml",
            "-f",
            "tests/fixtures/seed/secrets.yaml",
        ])
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &chart).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&migrate(false, &[]).stdout));
}

/// Writes `chart` with its first `from` replaced by `to` to `path`.
fn edit(chart: &str, from: &str, to: &str, path: &Path) {
    assert!(chart.contains(from), "the chart manifest has no {from:?}");
    std::fs::write(path, chart.replacen(from, to, 1)).unwrap();
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "matrix-render-migrate-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A kubectl stand-in that records every call and answers as a cluster with the chart
/// installed would. It checks nothing about Kubernetes itself: these tests prove the
/// script's order of steps, its stops and its re-runs, not what a real API server does.
const STAND_IN: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$STATE/log"
case "$*" in
  "config current-context") echo test-context ;;
  "-n matrix get secrets,configmaps -l owner=helm,name=matrix -o name")
    [ -e "$STATE/forgotten" ] || echo secret/sh.helm.release.v1.matrix.v1 ;;
  "-n matrix exec deploy/synapse -- python -c import synapse; print(synapse.__version__)")
    echo "${RUNNING:-1.165.0}" ;;
  "-n matrix exec deploy/synapse -- tar -C /data -cf - .") tar -C "$DATA" -cf - . ;;
  "-n matrix get persistentvolumeclaim synapse-data -o jsonpath={.spec.volumeName}") echo pvc-1234 ;;
  "patch persistentvolume pvc-1234"*) touch "$STATE/retain" ;;
  "get persistentvolume pvc-1234 -o jsonpath={.spec.persistentVolumeReclaimPolicy}")
    if [ -e "$STATE/retain" ]; then echo Retain; else echo Delete; fi ;;
  "-n matrix delete secrets,configmaps -l owner=helm,name=matrix") touch "$STATE/forgotten" ;;
  "apply -f "*) [ -z "${FAIL_APPLY:-}" ] || exit 1; cp "$3" "$STATE/applied.yaml" ;;
  "diff -f "*) exit "${DIFF_EXIT:-0}" ;;
  "-n matrix apply --server-side"*) echo "KUBECTL_APPLYSET=$KUBECTL_APPLYSET" >> "$STATE/log" ;;
esac
"#;

/// The migration pins the version the chart runs (README: before you switch).
const PINNED: &str = "synapse.image.tag=v1.165.0";

struct Cluster {
    root: PathBuf,
    script: PathBuf,
}

impl Cluster {
    fn new(name: &str) -> Self {
        let root = tempdir(name);
        for dir in ["state", "data", "work"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("data/homeserver.db.backup"), "db").unwrap();
        std::fs::write(
            root.join("data/matrix.danishkodemonkey.net.signing.key"),
            "key",
        )
        .unwrap();
        std::fs::write(root.join("kubectl"), STAND_IN).unwrap();
        let script = root.join("migrate.sh");
        std::fs::write(&script, migrate(false, &["--set", PINNED]).stdout).unwrap();
        Self { root, script }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let out = Command::new("sh")
            .arg(&self.script)
            .args(args)
            .current_dir(self.root.join("work"))
            .env(
                "KUBECTL",
                format!("sh {}", self.root.join("kubectl").display()),
            )
            .env("STATE", self.root.join("state"))
            .env("DATA", self.root.join("data"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    }

    fn log(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.root.join("state/log")).unwrap_or_default();
        std::fs::remove_file(self.root.join("state/log")).ok();
        log.lines()
            .map(|l| {
                // Temporary file names differ from run to run.
                l.split_whitespace()
                    .map(|w| {
                        if w.ends_with("/chart.yaml") || w.ends_with("/stack.yaml") {
                            "FILE"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

#[test]
fn stand_in_kubectl_the_scripts_steps_run_in_order_stop_at_a_failure_and_rerun_safely() {
    let server = "matrix.danishkodemonkey.net";
    let values = std::fs::read_to_string(repo().join("tests/fixtures/seed/values.yaml")).unwrap();
    assert!(
        values.contains(server),
        "the seed's server name changed: update this test"
    );
    let cluster = Cluster::new("script");

    // Without arguments it explains itself and changes nothing.
    let (code, stderr) = cluster.run(&[], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("sh migrate.sh backup"), "{stderr}");
    assert!(cluster.log().is_empty());

    // `run` before a backup stops before any change.
    let (code, stderr) = cluster.run(&["run"], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no backup"), "{stderr}");
    assert!(
        !cluster
            .log()
            .iter()
            .any(|l| l.starts_with("patch") || l.starts_with("apply"))
    );

    // The backup: a consistent database copy, then the volume as a tar with the key.
    let (code, stderr) = cluster.run(&["backup"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let log = cluster.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].contains("import sqlite3"));
    assert_eq!(
        log[1],
        "-n matrix exec deploy/synapse -- tar -C /data -cf - ."
    );
    assert!(
        cluster
            .root
            .join("work/synapse-backup/synapse-data.tar")
            .is_file()
    );
    // A second backup into the same folder is refused: the first is kept.
    let (code, _) = cluster.run(&["backup"], &[]);
    assert_eq!(code, Some(1));
    cluster.log();

    // An older Synapse than the one running stops before anything changes.
    let (code, stderr) = cluster.run(&["run"], &[("RUNNING", "1.170.0")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("a downgrade refuses the database"),
        "{stderr}"
    );
    assert!(!cluster.log().iter().any(|l| l.starts_with("patch")));

    // A failing apply stops the script after the handover, before the checks.
    let (code, _) = cluster.run(&["run"], &[("FAIL_APPLY", "1")]);
    assert_eq!(code, Some(1));
    let log = cluster.log();
    let steps: Vec<&str> = log.iter().map(String::as_str).collect();
    assert_eq!(
        steps,
        [
            "config current-context",
            "get namespace matrix",
            "-n matrix get persistentvolumeclaim synapse-data",
            "-n matrix get secrets,configmaps -l owner=helm,name=matrix -o name",
            "-n matrix exec deploy/synapse -- python -c import synapse; print(synapse.__version__)",
            "-n matrix get persistentvolumeclaim synapse-data -o jsonpath={.spec.volumeName}",
            "patch persistentvolume pvc-1234 -p {\"spec\":{\"persistentVolumeReclaimPolicy\":\"Retain\"}}",
            "get persistentvolume pvc-1234 -o jsonpath={.spec.persistentVolumeReclaimPolicy}",
            "apply set-last-applied --create-annotation -f FILE",
            "annotate -f FILE meta.helm.sh/release-name- meta.helm.sh/release-namespace-",
            "-n matrix delete secrets,configmaps -l owner=helm,name=matrix",
            "apply -f FILE",
        ]
    );

    // Run again: Helm has forgotten the release, so the handover is skipped; the rest runs.
    let (code, stderr) = cluster.run(&["run"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("already handed over"), "{stderr}");
    let log = cluster.log();
    assert!(!log.iter().any(|l| l.contains("set-last-applied")));
    let tail: Vec<&str> = log.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "apply -f FILE",
            "diff -f FILE",
            "-n matrix apply --server-side --force-conflicts --prune --applyset=matrix-stack -f FILE",
            "KUBECTL_APPLYSET=true",
        ]
    );
    // What was applied is the rendered stack.
    let applied = std::fs::read_to_string(cluster.root.join("state/applied.yaml")).unwrap();
    let render = cli(
        &[
            "render",
            "-f",
            "tests/fixtures/seed/values.yaml",
            "-f",
            "tests/fixtures/seed/secrets.yaml",
            "--set",
            PINNED,
        ],
        &repo(),
    );
    assert_eq!(applied, text(&render.stdout));

    // `kubectl diff` still finding changes fails the run, after printing them.
    let (code, stderr) = cluster.run(&["run"], &[("DIFF_EXIT", "1")]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("still shows changes"), "{stderr}");
    assert!(!cluster.log().iter().any(|l| l.contains("--applyset")));
    std::fs::remove_dir_all(&cluster.root).ok();
}
