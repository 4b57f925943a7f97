//! `--output-dir` and `--batch` written all or nothing: a disk that fills up midway, a signal
//! sent to a batch midway, links planted at every name the writer uses, file names that do
//! not move when a component is switched, and a batch whose output lies in its input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo;

const BIN: &str = env!("CARGO_BIN_EXE_matrix-render");
const LIST: &str = ".matrix-render-files";
const RTC_OFF: &[&str] = &["--set", "matrixrtc.enabled=false"];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-safety-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn examples() -> [PathBuf; 2] {
    let dir = repo().join("examples");
    [dir.join("values.yaml"), dir.join("secrets.yaml")]
}

/// `render -f examples/values.yaml -f examples/secrets.yaml EXTRA... --output-dir OUT`.
fn render(out: &Path, extra: &[&str]) -> Output {
    let [values, secrets] = examples();
    Command::new(BIN)
        .arg("render")
        .arg("-f")
        .arg(values)
        .arg("-f")
        .arg(secrets)
        .args(extra)
        .arg("--output-dir")
        .arg(out)
        .output()
        .unwrap()
}

fn ok(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every entry under `dir`, by path relative to it: a file's bytes, a link's target, a
/// directory as `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(name, format!("-> {}", target.display()).into_bytes());
            } else if meta.is_dir() {
                out.insert(name, b"dir".to_vec());
                walk(root, &path, out);
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The object files of an output directory (everything but the list).
fn object_names(dir: &Path) -> Vec<String> {
    tree(dir).into_keys().filter(|n| n != LIST).collect()
}

#[test]
fn a_full_disk_leaves_the_previous_output_as_it_was_and_exits_1_with_the_path() {
    let root = scratch("full");
    let mount = root.join("fs");
    std::fs::create_dir_all(&mount).unwrap();
    let out = mount.join("out");
    let [values, secrets] = examples();
    let (values, secrets) = (values.display(), secrets.display());
    // In a mount namespace of its own, so the tmpfs goes away with the shell: the output of
    // the first render (MatrixRTC off, about 110 KiB) fits; the second changes every object
    // (another namespace) and does not. Each state is saved as a tar file (names, modes,
    // modification times, bytes) outside the tmpfs.
    let script = format!(
        "set -u\n\
         mount -t tmpfs -o size=200k tmpfs '{mount}' || exit 99\n\
         '{BIN}' render -f '{values}' -f '{secrets}' --set matrixrtc.enabled=false --output-dir '{out}' 2>'{root}/first.err' || exit 98\n\
         echo user > '{out}/NOTES.md'\n\
         tar -cf '{root}/before.tar' -C '{mount}' out || exit 97\n\
         '{BIN}' render -f '{values}' -f '{secrets}' --set namespace=elsewhere --output-dir '{out}' 2>'{root}/second.err'\n\
         echo $? > '{root}/second.code'\n\
         tar -cf '{root}/after.tar' -C '{mount}' out || exit 97\n\
         ls -A '{mount}' > '{root}/beside' || exit 97\n",
        mount = mount.display(),
        out = out.display(),
        root = root.display(),
    );
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let namespace = if root_user { "-m" } else { "-rm" };
    let run = Command::new("unshare")
        .arg(namespace)
        .args(["sh", "-c", &script])
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs `unshare` (util-linux) to mount a small tmpfs: {e}")
        });
    assert!(
        run.status.code() != Some(99) && run.status.success(),
        "cannot mount a tmpfs in a mount namespace (`unshare {namespace}`; as root or with \
         user namespaces allowed): {:?} {}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let code = std::fs::read_to_string(root.join("second.code")).unwrap();
    let err = std::fs::read_to_string(root.join("second.err")).unwrap();
    assert_eq!(code.trim(), "1", "{err}");
    assert!(
        err.contains("error[cannot-write]: ")
            && err.contains(&out.display().to_string())
            && err.contains("No space left on device"),
        "{err}"
    );
    assert!(
        !err.contains("internal") && !err.contains("report"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("beside")).unwrap(),
        "out\n",
        "something was left beside the output"
    );
    let before = std::fs::read(root.join("before.tar")).unwrap();
    let after = std::fs::read(root.join("after.tar")).unwrap();
    assert!(before.len() > 50 << 10, "the first output was written");
    assert!(before == after, "the failed render changed the directory");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn names_do_not_move_when_matrixrtc_is_switched() {
    let root = scratch("names");
    let (on, off) = (root.join("on"), root.join("off"));
    ok(&render(&on, &[]));
    ok(&render(&off, RTC_OFF));
    let (on, off) = (object_names(&on), object_names(&off));
    let gone: Vec<&String> = on.iter().filter(|n| !off.contains(n)).collect();
    assert!(off.iter().all(|n| on.contains(n)), "{off:?} {on:?}");
    assert_eq!(gone.len(), 9, "{gone:?}");
    assert!(
        gone.iter()
            .all(|n| n.contains("livekit") || n.contains("matrixrtc") || n.contains("matrix-rtc")),
        "{gone:?}"
    );
    // The same with the host-network namespace: the objects that move there are renamed
    // (they are other objects), the others are not.
    let host = ["--set", "podSecurity.hostNetworkNamespace=matrix-host"];
    let moved = root.join("moved");
    ok(&render(&moved, host.as_slice()));
    let moved = object_names(&moved);
    for name in &on {
        let stem = name.strip_suffix(".yaml").unwrap();
        assert!(
            moved.contains(name) || moved.contains(&format!("{stem}_matrix-host.yaml")),
            "{name}: {moved:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[cfg(unix)]
#[test]
fn links_planted_at_our_names_are_never_followed() {
    let root = scratch("links");
    let victim = root.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("file"), "the user's\n").unwrap();
    let out = root.join("out");
    ok(&render(&out, RTC_OFF));
    let names = object_names(&out);
    let (first, last) = (names[0].clone(), names[names.len() - 1].clone());

    // At an output file's name: listed, so ours to replace; the link goes, its target stays.
    std::fs::remove_file(out.join(&first)).unwrap();
    std::os::unix::fs::symlink(victim.join("file"), out.join(&first)).unwrap();
    // At a leftover's name beside the output (a dead process's directory being built): not
    // a directory, so neither removed nor followed.
    let dead = Command::new("true").spawn().unwrap();
    let pid = dead.id();
    let mut dead = dead;
    dead.wait().unwrap();
    for leftover in [
        format!(".out.matrix-render-{pid}-0"),
        format!(".out.matrix-render-old-{pid}-0"),
    ] {
        std::os::unix::fs::symlink(&victim, root.join(leftover)).unwrap();
    }
    // At the temporary name of an earlier version.
    std::os::unix::fs::symlink(victim.join("file"), out.join(format!(".{last}.tmp"))).unwrap();
    ok(&render(&out, &[]));
    assert!(
        std::fs::symlink_metadata(out.join(&first))
            .unwrap()
            .is_file()
    );
    assert_eq!(tree(&victim).len(), 1);
    assert_eq!(
        std::fs::read_to_string(victim.join("file")).unwrap(),
        "the user's\n"
    );
    // An earlier version's temporary name is not carried over.
    assert!(std::fs::symlink_metadata(out.join(format!(".{last}.tmp"))).is_err());

    // At the list's name: refused, nothing written, the target untouched.
    std::fs::remove_file(out.join(LIST)).unwrap();
    std::os::unix::fs::symlink(victim.join("file"), out.join(LIST)).unwrap();
    let before = tree(&out);
    let refused = render(&out, RTC_OFF);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(LIST) && err.contains("not a regular file"),
        "{err}"
    );
    assert!(tree(&out) == before);
    assert_eq!(
        std::fs::read_to_string(victim.join("file")).unwrap(),
        "the user's\n"
    );
    // Nothing but `out`, the victim and the planted links beside them.
    let mut beside: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside.len(), 4, "{beside:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_users_file_where_ours_goes_is_an_error_and_is_kept() {
    let root = scratch("clash");
    let out = root.join("out");
    let probe = root.join("probe");
    ok(&render(&probe, &[]));
    let name = object_names(&probe)
        .into_iter()
        .find(|n| n.contains("-deployment-synapse"))
        .unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(&name), "mine\n").unwrap();
    let refused = render(&out, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains(&name) && err.contains("move it away"), "{err}");
    assert_eq!(object_names(&out), std::slice::from_ref(&name));
    assert_eq!(std::fs::read_to_string(out.join(&name)).unwrap(), "mine\n");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_unwritable_output_is_exit_1_with_the_path() {
    let root = scratch("unwritable");
    let file = root.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let refused = render(&file, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("error[cannot-write]: ") && err.contains(&file.display().to_string()),
        "{err}"
    );
    assert!(!err.contains("please report"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_render_from_inside_the_output_directory_that_would_swap_it_is_refused() {
    let root = scratch("inside-out");
    let out = root.join("out");
    ok(&render(&out, RTC_OFF));
    let before = tree(&out);
    let [values, secrets] = examples();
    let from_inside = |extra: &[&str]| {
        Command::new(BIN)
            .current_dir(&out)
            .arg("render")
            .arg("-f")
            .arg(&values)
            .arg("-f")
            .arg(&secrets)
            .args(extra)
            .args(["--output-dir", "."])
            .output()
            .unwrap()
    };
    // Nothing to change: nothing is swapped, fine.
    ok(&from_inside(RTC_OFF));
    let refused = from_inside(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("current directory"), "{err}");
    assert!(tree(&out) == before);
    let _ = std::fs::remove_dir_all(&root);
}

/// `count` tenants `t000`... in `dir`, each the example's values and secrets.
fn tenants(dir: &Path, count: usize) {
    let [values, secrets] = examples();
    for i in 0..count {
        let home = dir.join(format!("t{i:03}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::copy(&values, home.join("values.yaml")).unwrap();
        std::fs::copy(&secrets, home.join("secrets.yaml")).unwrap();
    }
}

fn batch(input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["render", "--batch"])
        .arg(input)
        .arg("--output-dir")
        .arg(out)
        .args(extra);
    command
}

#[cfg(unix)]
#[test]
fn a_signal_stops_a_batch_between_tenants_with_every_tenant_whole() {
    let root = scratch("signal");
    let input = root.join("tenants");
    let out = root.join("out");
    let count = 120;
    tenants(&input, count);
    // What a tenant holds before (MatrixRTC off) and after (on).
    let (old, new) = (root.join("old"), root.join("new"));
    ok(&render(&old, RTC_OFF));
    ok(&render(&new, &[]));
    let (old, new) = (tree(&old), tree(&new));
    ok(&batch(&input, &out, RTC_OFF).output().unwrap());

    let child = batch(&input, &out, &[])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Once the first tenant has its new output, SIGTERM.
    let started = Instant::now();
    while tree(&out.join("t000")) != new {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no tenant written"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    let finished = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(143), "{err}");
    let summary = err.lines().last().unwrap();
    assert!(
        summary.starts_with("matrix-render: rendered ") && summary.contains("stopped by SIGTERM"),
        "{err}"
    );
    let (mut renewed, mut kept) = (0, 0);
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left behind: {name}");
        let held = tree(&entry.path());
        if held == new {
            renewed += 1;
        } else {
            assert!(held == old, "{name} is neither the old output nor the new");
            kept += 1;
        }
    }
    assert_eq!(renewed + kept, count);
    assert!(
        kept > 0,
        "the signal came after the last tenant; nothing tested"
    );
    assert!(
        summary.contains(&format!("rendered {renewed} tenants, 0 failed"))
            && summary.contains(&format!("{kept} not rendered")),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_batch_whose_output_lies_in_its_input_runs_again() {
    let root = scratch("inside");
    let input = root.join("t");
    tenants(&input, 2);
    let out = input.join("out");
    let first = batch(&input, &out, &[]).output().unwrap();
    ok(&first);
    let written = tree(&out);
    assert_eq!(
        written
            .keys()
            .filter(|k| !k.contains('/'))
            .collect::<Vec<_>>(),
        ["t000", "t001"]
    );
    let again = batch(&input, &out, &[]).output().unwrap();
    ok(&again);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("rendered 2 tenants, 0 failed"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(tree(&out) == written);
    // A tenant's output copied elsewhere in the input is no tenant either.
    std::fs::rename(out.join("t000"), input.join("copy")).unwrap();
    let third = batch(&input, &out, &[]).output().unwrap();
    ok(&third);
    assert!(String::from_utf8_lossy(&third.stderr).contains("rendered 2 tenants"));
    // Nor is a tenant's output of the stream layout.
    let (other, stream) = (root.join("other"), root.join("stream"));
    tenants(&other, 1);
    ok(&batch(&other, &stream, &["--batch-layout", "stream"])
        .output()
        .unwrap());
    std::fs::rename(stream.join("t000"), input.join("stream-copy")).unwrap();
    let fourth = batch(&input, &out, &[]).output().unwrap();
    ok(&fourth);
    assert!(String::from_utf8_lossy(&fourth.stderr).contains("rendered 2 tenants"));
    // The input itself as the output is refused.
    let refused = batch(&input, &input, &[]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&root);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_exit_1_not_a_bug() {
    let [values, secrets] = examples();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let run = Command::new(BIN)
        .arg("render")
        .arg("-f")
        .arg(values)
        .arg("-f")
        .arg(secrets)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("error[cannot-write]: stdout: ") && !err.contains("please report"),
        "{err}"
    );
}
