//! No secret value reaches any output of the binary: every secret setting, written in every
//! YAML style (and as a flag, under a misspelled key, through an alias, inline in a KRM
//! function config), is rendered through the CLI (text and JSON diagnostics), the KRM
//! function and a batch, and every byte of stdout and stderr is searched for it. (The core's
//! tests search its response.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use matrix_render_model::config::SECRET_PATHS;

use crate::common::repo;

#[path = "../../../render/tests/shared/masking.rs"]
#[expect(dead_code, reason = "the request is the core's tests'")]
mod shared;
use shared::{Case, assert_clean, cases, seed_values};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-mask-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn cli_args(case: &Case, dir: &Path) -> Vec<String> {
    let mut args = vec!["-f".to_owned(), seed_values().name];
    if let Some(doc) = &case.doc {
        let file = dir.join("stack.yaml");
        std::fs::write(&file, doc).unwrap();
        args.extend(["-f".to_owned(), file.display().to_string()]);
    }
    for s in &case.set {
        args.extend(["--set".to_owned(), s.clone()]);
    }
    for s in &case.set_string {
        args.extend(["--set-string".to_owned(), s.clone()]);
    }
    args
}

#[test]
fn the_cli_shows_no_secret_in_text_or_json() {
    let dir = scratch("cli");
    let mut snippets = 0;
    for case in cases() {
        let args = cli_args(&case, &dir);
        for command in [
            &["validate"][..],
            &["validate", "--format", "json"],
            &["render"],
            &["render", "--format", "json"],
        ] {
            let out = bin().args(command).args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{} {command:?}", case.name);
            let text = all_output(&out);
            assert_clean(&case, &format!("matrix-render {command:?}"), &text);
            snippets += text.matches("\n  |").count();
        }
    }
    assert!(snippets > 0, "no snippet was shown at all");
}

/// A ResourceList whose function config's `spec` is the case's document, indented.
fn resource_list(doc: &str) -> String {
    let spec: String = doc.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  \
         apiVersion: matrix-render.github.io/v1alpha1\n  kind: MatrixStack\n  metadata:\n    \
         name: stack\n  spec:\n{spec}"
    )
}

#[test]
fn the_krm_function_shows_no_secret() {
    let mut ran = 0;
    for case in cases() {
        // JSON on one line cannot be indented under `spec:`; flags do not exist in KRM.
        let Some(doc) = case.doc.as_ref().filter(|d| !d.starts_with('{')) else {
            continue;
        };
        let input = resource_list(doc);
        let mut child = bin()
            .arg("krm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        assert_clean(&case, "matrix-render krm", &all_output(&out));
        ran += 1;
    }
    assert!(ran >= 9 * SECRET_PATHS.len(), "{ran}");
}

#[test]
fn a_batch_never_echoes_a_secrets_file() {
    let root = scratch("batch");
    let tenants = root.join("tenants");
    let home = tenants.join("alpha");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/seed/values.yaml"),
        home.join("values.yaml"),
    )
    .unwrap();
    // The secrets file is a link to a file that is no values file at all (a password file).
    let passwd = root.join("passwd");
    std::fs::write(
        &passwd,
        "rootZq:x:0:0:ZqSecretLine:/root:/bin/zqsh\ndaemonZq:x:1:1:ZqOther:/usr/sbin:/bin/zqsh\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&passwd, home.join("secrets.yaml")).unwrap();
    let out = bin()
        .args(["render", "--batch"])
        .arg(&tenants)
        .arg("--output-dir")
        .arg(root.join("out"))
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for forbidden in ["rootZq", "ZqSecretLine", "zqsh", "daemonZq", "ZqOther"] {
        assert!(
            !text.contains(forbidden),
            "the batch shows {forbidden}:\n{text}"
        );
    }
    assert!(
        text.contains("secrets.yaml"),
        "the file is still named:\n{text}"
    );
}

#[test]
fn an_empty_secret_is_shown_as_written() {
    let dir = scratch("empty");
    let file = dir.join("stack.yaml");
    std::fs::write(
        &file,
        "synapse:\n  registration_shared_secret: \"\"\n  registraton: {}\n",
    )
    .unwrap();
    let out = bin()
        .args(["validate", "-f"])
        .arg(repo().join("tests/fixtures/seed/values.yaml"))
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(
        text.contains("registration_shared_secret: \"\"\n"),
        "the empty value is not shown:\n{text}"
    );
    // Nor with a comment after it, as in the seed chart's values.
    let out = bin()
        .args(["validate", "-f"])
        .arg(repo().join("tests/fixtures/seed/values.yaml"))
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(
        text.contains("registration_shared_secret: \"\" #"),
        "the empty value is not shown:\n{text}"
    );
}
