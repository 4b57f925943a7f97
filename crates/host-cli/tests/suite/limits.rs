//! The host's limits on what it reads, through the real binary: each values file, stdin, the
//! total of one render, the static folder, a KRM ResourceList; FIFOs and devices refused.
//! Large inputs are made here, in a temporary folder (sparse where their content does not
//! matter), never committed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const VALID: &str = "global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  turn_shared_secret: turn-secret-0123456789\nsynapse:\n  registration_shared_secret: reg-secret-0123456789\n  recaptcha: {siteKey: site, secretKey: key-0123456789}\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-limits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary in `dir`, with `stdin` piped in when given; fails the test instead of
/// hanging when the binary does not finish within 20 s.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The binary stops reading at its limit: a closed pipe is expected then.
        let _ = pipe.write_all(bytes);
    }
    let pid = child.id();
    // Output is collected on a thread (a full pipe would stall the child), the wait bounded.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("matrix-render {args:?} did not finish within 20 s");
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file of `len` bytes without writing them (a sparse file of zeros).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// A valid values file of about `len` bytes: a comment line.
fn padded(path: &Path, len: usize) {
    std::fs::write(path, format!("# {}\n", "x".repeat(len - 3))).unwrap();
}

#[test]
fn each_values_file_is_read_up_to_the_core_limit() {
    let dir = scratch("values");
    std::fs::write(dir.join("values.yaml"), VALID).unwrap();
    sparse(&dir.join("big.yaml"), 15_000_000);
    // Twenty 15 MB files: refused at the first, after reading 1 MiB and one byte of it.
    let mut args = vec!["render", "-f", "values.yaml"];
    args.extend(std::iter::repeat_n(["-f", "big.yaml"], 20).flatten());
    let started = Instant::now();
    let out = run(&dir, &args, &[], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "error[file-too-large]: big.yaml: the file holds more than 1 MiB, the most a values \
         file may hold; a values file is a few kilobytes: check that this is the right file\n"
    );
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));

    // Exactly 1 MiB is a values file still.
    padded(&dir.join("full.yaml"), 1024 * 1024);
    let out = run(
        &dir,
        &["validate", "-f", "values.yaml", "-f", "full.yaml"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn stdin_is_bounded_and_still_reads_a_pipe() {
    let dir = scratch("stdin");
    let out = run(&dir, &["validate", "-f", "-"], &[], Some(VALID.as_bytes()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut big = VALID.as_bytes().to_vec();
    big.extend(std::iter::repeat_n(b'#', 3 * 1024 * 1024));
    let out = run(&dir, &["render", "-f", "-"], &[], Some(&big));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error[file-too-large]: -: stdin holds more than 1 MiB"),
        "{err}"
    );
}

/// Everything one render reads together is bounded by MATRIX_RENDER_INPUT_MIB; the error
/// names the file that goes over it and the setting, which raises it.
#[test]
fn the_total_of_one_render_is_bounded_and_can_be_raised() {
    let dir = scratch("total");
    std::fs::write(dir.join("values.yaml"), VALID).unwrap();
    let mut args = vec!["validate", "-f", "values.yaml"];
    let names: Vec<String> = (0..5).map(|i| format!("part{i}.yaml")).collect();
    for name in &names {
        padded(&dir.join(name), 1_000_000);
        args.extend(["-f", name.as_str()]);
    }
    let out = run(&dir, &args, &[("MATRIX_RENDER_INPUT_MIB", "4")], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "error[input-too-large]: part4.yaml: with this file the input goes over 4 MiB, the \
         most read in all for one render (MATRIX_RENDER_INPUT_MIB); raise the limit if this is \
         intended, e.g. MATRIX_RENDER_INPUT_MIB=16\n"
    );
    let out = run(&dir, &args, &[("MATRIX_RENDER_INPUT_MIB", "8")], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&dir, &args, &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for bad in ["0", "lots", ""] {
        let out = run(&dir, &args, &[("MATRIX_RENDER_INPUT_MIB", bad)], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(
            err,
            format!(
                "error[invalid-environment]: MATRIX_RENDER_INPUT_MIB={bad} is not a whole \
                 number of MiB above 0\n"
            )
        );
    }
}

/// A FIFO without a writer used to block forever; FIFOs, devices and folders are refused
/// before they are opened, as values files and in a static folder.
#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let dir = scratch("fifo");
    std::fs::write(dir.join("values.yaml"), VALID).unwrap();
    let status = Command::new("mkfifo")
        .arg(dir.join("values.fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    for (file, what) in [
        ("values.fifo", "a FIFO (named pipe)"),
        ("/dev/zero", "a device"),
        (".", "a directory"),
    ] {
        let out = run(
            &dir,
            &["render", "-f", "values.yaml", "-f", file],
            &[],
            None,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(
            err,
            format!(
                "error[not-a-file]: {file}: is {what}, not a regular file; give a file (or `-` \
                 for stdin)\n"
            )
        );
    }
    // A pipe the shell opened (process substitution) is read like stdin, bounded alike.
    let bash = |script: &str| {
        Command::new("bash")
            .current_dir(&dir)
            .env("MR", env!("CARGO_BIN_EXE_matrix-render"))
            .args(["-c", script])
            .output()
            .unwrap()
    };
    let out = bash(r#""$MR" validate -f <(cat values.yaml)"#);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = bash(r#""$MR" validate -f <(head -c 2000000 /dev/zero)"#);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the file holds more than 1 MiB"), "{err}");
    let pages = dir.join("static/pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("home.html"), "<p>home</p>").unwrap();
    let status = Command::new("mkfifo")
        .arg(pages.join("welcome.html"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = run(
        &dir,
        &["render", "-f", "values.yaml", "--static-dir", "static"],
        &[],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error[not-a-file]: static/pages/welcome.html: is a FIFO"),
        "{err}"
    );
}

/// Each static folder becomes one ConfigMap: more than 1 MiB in it is refused before the
/// render, naming the file that goes over it; a batch reports it for every tenant.
#[test]
fn a_static_folder_over_a_config_map_is_refused() {
    let dir = scratch("static");
    std::fs::write(dir.join("values.yaml"), VALID).unwrap();
    let assets = dir.join("static/static-assets");
    std::fs::create_dir_all(&assets).unwrap();
    // 960 kB in one folder: under the 1 MiB of a ConfigMap.
    std::fs::write(assets.join("a.svg"), "<svg/>".repeat(80_000)).unwrap();
    std::fs::write(assets.join("b.svg"), "<svg/>".repeat(80_000)).unwrap();
    let out = run(
        &dir,
        &["render", "-f", "values.yaml", "--static-dir", "static"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The issue's case: a 2 MB page rendered with exit 0.
    let pages = dir.join("static/pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("home.html"), "<p>".repeat(700_000)).unwrap();
    let out = run(
        &dir,
        &[
            "render",
            "-f",
            "values.yaml",
            "--static-dir",
            "static",
            "--output-dir",
            "out",
        ],
        &[],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "error[file-too-large]: static/pages/home.html: with this file pages/ holds more than \
         1 MiB: the files of a static folder become one ConfigMap, and Kubernetes refuses a \
         ConfigMap over 1 MiB; make them smaller, or serve large files from elsewhere\n"
    );
    assert!(!dir.join("out").exists());

    let tenants = dir.join("tenants");
    for tenant in ["a", "b"] {
        std::fs::create_dir_all(tenants.join(tenant)).unwrap();
        std::fs::write(tenants.join(tenant).join("values.yaml"), VALID).unwrap();
    }
    let out = run(
        &dir,
        &[
            "render",
            "--batch",
            "tenants",
            "--output-dir",
            "out",
            "--static-dir",
            "static",
        ],
        &[],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("error[file-too-large]: static/pages/home.html")
            .count(),
        2,
        "{err}"
    );
    assert!(err.contains("rendered 0 tenants, 2 failed"), "{err}");
}

/// The KRM function reads its ResourceList up to MATRIX_RENDER_INPUT_MIB and answers a
/// larger one with a ResourceList of results, as the KRM specification asks.
#[test]
fn a_resource_list_is_bounded() {
    let dir = scratch("krm");
    let mut list =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    while list.len() < 2 * 1024 * 1024 {
        list.push_str("- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n");
    }
    let out = run(
        &dir,
        &["krm"],
        &[("MATRIX_RENDER_INPUT_MIB", "1")],
        Some(list.as_bytes()),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error[input-too-large]: with stdin the input goes over 1 MiB"),
        "{err}"
    );
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stdout["kind"], "ResourceList");
    assert_eq!(stdout["results"][0]["tags"]["code"], "input-too-large");
    assert!(
        stdout["results"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("MATRIX_RENDER_INPUT_MIB")),
        "{stdout}"
    );
}
