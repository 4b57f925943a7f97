//! `render --output-dir`: the files a render writes, the list of them it keeps
//! (`.matrix-render-files`), and what a later render removes: the files of an earlier
//! render it no longer produces, never a file of the user's, even one named like ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::repo;

const LIST: &str = ".matrix-render-files";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-outdir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `render -f examples/values.yaml -f examples/secrets.yaml EXTRA... --output-dir OUT`,
/// MatrixRTC on unless `extra` turns it off.
fn render(out: &Path, extra: &[&str]) -> Output {
    let examples = repo().join("examples");
    let output = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("render")
        .arg("-f")
        .arg(examples.join("values.yaml"))
        .arg("-f")
        .arg(examples.join("secrets.yaml"))
        .args(extra)
        .arg("--output-dir")
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

const RTC_OFF: &[&str] = &["--set", "matrixrtc.enabled=false"];

/// Every file in `dir` by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Every file in `dir` by name, with its inode.
#[cfg(unix)]
fn inodes(dir: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().ino(),
            )
        })
        .collect()
}

/// The names the list holds, in order.
fn listed(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(LIST))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The object files (`NN-kind-name.yaml`) in `dir`, sorted.
fn object_files(dir: &Path) -> Vec<String> {
    files(dir)
        .into_keys()
        .filter(|n| n.ends_with(".yaml") && n.as_bytes()[0].is_ascii_digit())
        .collect()
}

/// A Namespace of the user's, named as the core would name a Namespace's file.
const USERS_NAMESPACE: &str =
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: matrix\n  labels:\n    team: chat\n";

#[test]
fn the_list_names_exactly_the_files_written_in_install_order() {
    let root = scratch("list");
    let out = root.join("out");
    render(&out, &[]);
    let objects = object_files(&out);
    assert!(objects.len() > 20, "{objects:?}");
    // The object files sort in install order, and so does the list.
    assert_eq!(listed(&out), objects);
    let all = files(&out);
    assert_eq!(all.len(), objects.len() + 1, "{:?}", all.keys());
    let list = String::from_utf8(all[LIST].clone()).unwrap();
    assert!(list.starts_with("# "), "{list}");
    // Not a manifest file to kubectl, kustomize or Flux: hidden, no .yaml/.yml/.json.
    assert!(!LIST.ends_with(".yaml") && !LIST.ends_with(".yml") && !LIST.ends_with(".json"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn turning_a_component_off_removes_its_files_and_leaves_the_users() {
    let root = scratch("off");
    let out = root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The user keeps files beside the output: one named as the core names files, a
    // kustomization, notes.
    std::fs::write(out.join("00-namespace-matrix.yaml"), USERS_NAMESPACE).unwrap();
    std::fs::write(out.join("kustomization.yaml"), "resources: []\n").unwrap();
    std::fs::write(out.join("NOTES.md"), "mine\n").unwrap();
    let users = ["00-namespace-matrix.yaml", "NOTES.md", "kustomization.yaml"];

    render(&out, &[]);
    let on = object_files(&out);
    assert!(
        on.iter().any(|n| n.contains("-deployment-livekit")),
        "{on:?}"
    );
    let before = files(&out);
    #[cfg(unix)]
    let inodes_before = inodes(&out);
    render(&out, RTC_OFF);
    let off = object_files(&out);
    // A file that did not change is the same file (a hard link carried into the new
    // directory): same inode, same modification time.
    #[cfg(unix)]
    {
        let after = inodes(&out);
        let same: Vec<&String> = off
            .iter()
            .filter(|n| before.get(*n) == files(&out).get(*n))
            .collect();
        assert!(same.len() > 10, "{same:?}");
        for name in same {
            assert_eq!(after[name], inodes_before[name], "{name}");
        }
    }

    // Exactly what a render into a new directory writes, plus the user's files.
    let fresh = root.join("fresh");
    render(&fresh, RTC_OFF);
    let mut expected = files(&fresh);
    for name in users {
        expected.insert(name.to_owned(), std::fs::read(out.join(name)).unwrap());
    }
    assert!(files(&out) == expected, "{:?}", files(&out).keys());
    assert_eq!(listed(&out), object_files(&fresh));
    // The nine MatrixRTC objects went, nothing else did, and no other file was renamed.
    let gone: Vec<&String> = on.iter().filter(|n| !off.contains(n)).collect();
    assert_eq!(gone.len(), on.len() - off.len());
    assert_eq!(gone.len(), 9, "{gone:?}");
    assert!(
        gone.iter()
            .all(|n| n.contains("livekit") || n.contains("matrixrtc") || n.contains("matrix-rtc")),
        "{gone:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
#[cfg(unix)]
fn a_render_that_changes_nothing_writes_nothing() {
    use std::os::unix::fs::MetadataExt as _;
    let root = scratch("same");
    let out = root.join("out");
    render(&out, RTC_OFF);
    let stamp = |dir: &Path| -> BTreeMap<String, (u64, i64, i64)> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    (m.ino(), m.mtime(), m.mtime_nsec()),
                )
            })
            .collect()
    };
    let before = stamp(&out);
    let bytes = files(&out);
    let again = render(&out, RTC_OFF);
    assert_eq!(stamp(&out), before, "a file (or the list) was rewritten");
    assert!(files(&out) == bytes);
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("warning: kept"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_directory_of_an_older_version_loses_only_files_that_prove_to_be_ours() {
    let root = scratch("older");
    let out = root.join("out");
    render(&out, &[]);
    // An older version kept no list.
    std::fs::remove_file(out.join(LIST)).unwrap();
    let livekit = object_files(&out)
        .into_iter()
        .find(|n| n.contains("-deployment-livekit"))
        .unwrap();
    // Files named like ours that are not: the user's Namespace, junk, one of our objects
    // renamed by hand, one of ours with our label taken off.
    std::fs::write(out.join("00-namespace-matrix.yaml"), USERS_NAMESPACE).unwrap();
    std::fs::write(out.join("99-secret-stale.yaml"), "stale").unwrap();
    let ours = std::fs::read_to_string(out.join(&livekit)).unwrap();
    std::fs::write(out.join("98-deployment-livekit-copy.yaml"), &ours).unwrap();
    let unlabelled = ours.replace("app.kubernetes.io/managed-by: matrix-render", "x: y");
    assert_ne!(unlabelled, ours);
    std::fs::write(out.join("97-deployment-livekit.yaml"), &unlabelled).unwrap();
    let users = [
        "00-namespace-matrix.yaml",
        "97-deployment-livekit.yaml",
        "98-deployment-livekit-copy.yaml",
        "99-secret-stale.yaml",
    ];

    let run = render(&out, RTC_OFF);
    let names = files(&out);
    for name in users {
        assert!(names.contains_key(name), "{name} was removed");
    }
    assert!(
        !names.contains_key(&livekit),
        "a stale file of ours was kept"
    );
    let fresh = root.join("fresh");
    render(&fresh, RTC_OFF);
    let mut expected = files(&fresh);
    for name in users {
        expected.insert(name.to_owned(), names[name].clone());
    }
    assert!(names == expected, "{:?}", names.keys());
    // Unlisted files are not ours to warn about.
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains("warning: kept"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_listed_file_someone_replaced_is_kept_with_a_warning() {
    let root = scratch("replaced");
    let out = root.join("out");
    render(&out, &[]);
    let livekit = object_files(&out)
        .into_iter()
        .find(|n| n.contains("-deployment-livekit"))
        .unwrap();
    std::fs::write(out.join(&livekit), USERS_NAMESPACE).unwrap();
    let run = render(&out, RTC_OFF);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        std::fs::read_to_string(out.join(&livekit)).unwrap(),
        USERS_NAMESPACE
    );
    assert!(
        err.contains("warning: kept ") && err.contains(&livekit),
        "{err}"
    );
    assert!(!listed(&out).contains(&livekit));
    // The other MatrixRTC files are gone.
    assert!(
        object_files(&out)
            .iter()
            .all(|n| *n == livekit || !n.contains("livekit")),
        "{:?}",
        object_files(&out)
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn json_files_are_listed_and_pruned_too() {
    let root = scratch("json");
    let out = root.join("out");
    render(&out, &["--format", "json"]);
    let on = listed(&out);
    assert!(on.iter().all(|n| n.ends_with(".json")), "{on:?}");
    render(
        &out,
        &["--format", "json", "--set", "matrixrtc.enabled=false"],
    );
    let off = listed(&out);
    assert!(off.len() + 9 <= on.len(), "{off:?}");
    let mut present: Vec<String> = files(&out).into_keys().filter(|n| n != LIST).collect();
    present.sort();
    assert_eq!(present, off);
    // Back to YAML: the JSON files go, the YAML ones come.
    render(&out, &[]);
    assert!(files(&out).keys().all(|n| !n.ends_with(".json")));
    let _ = std::fs::remove_dir_all(&root);
}

#[cfg(unix)]
#[test]
fn files_holding_a_secret_are_private_and_a_planted_link_is_not_followed() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

    let out = scratch("private");
    // A link planted where the renderer writes its temporary file points at a file of the
    // user's: the render must neither write through it nor move it into place.
    let victim = out.join("victim.txt");
    std::fs::write(&victim, "the user's\n").unwrap();
    let probe = scratch("private-probe");
    assert!(render(&probe, &[]).status.success());
    let secret = object_files(&probe)
        .into_iter()
        .find(|n| n.contains("-secret-"))
        .unwrap();
    std::os::unix::fs::symlink(&victim, out.join(format!(".{secret}.tmp"))).unwrap();

    let rendered = render(&out, &[]);
    assert!(rendered.status.success());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the user's\n");
    assert!(
        std::fs::symlink_metadata(out.join(&secret))
            .unwrap()
            .file_type()
            .is_file()
    );
    assert!(!out.join(format!(".{secret}.tmp")).exists());

    let mut secrets = 0;
    for name in object_files(&out) {
        let text = std::fs::read_to_string(out.join(&name)).unwrap();
        if text.contains("\nkind: Secret\n") {
            secrets += 1;
            assert_eq!(mode(&out.join(&name)), 0o600, "{name}");
        }
    }
    assert!(secrets >= 2, "the example renders Secrets");

    // A Secret file an older version left readable is restricted by a render that changes
    // nothing else.
    std::fs::set_permissions(out.join(&secret), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(render(&out, &[]).status.success());
    assert_eq!(mode(&out.join(&secret)), 0o600);
}
