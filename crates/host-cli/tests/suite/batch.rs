//! `render --batch DIR --output-dir OUT`: every tenant rendered as a single render would be,
//! a bad tenant reported with its file and skipped, exit 1 when any tenant failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::repo;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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

/// Copies `(source, name)` pairs into `DIR/<tenant>/`; returns the values paths in order.
fn tenant(dir: &Path, tenant: &str, copies: &[(&str, &str)]) -> Vec<PathBuf> {
    let home = dir.join(tenant);
    std::fs::create_dir_all(&home).unwrap();
    copies
        .iter()
        .map(|(source, name)| {
            let to = home.join(name);
            std::fs::copy(repo().join(source), &to).unwrap();
            to
        })
        .collect()
}

#[test]
fn renders_the_good_tenants_and_reports_the_bad_one() {
    let root = scratch("mixed");
    let input = root.join("tenants");
    let good = [
        tenant(
            &input,
            "alpha",
            &[
                ("tests/fixtures/seed/values.yaml", "values.yaml"),
                ("tests/fixtures/seed/secrets.yaml", "secrets.yaml"),
            ],
        ),
        tenant(
            &input,
            "beta",
            &[
                ("examples/values.yaml", "values.yaml"),
                ("examples/secrets.yaml", ".secrets.yaml"),
            ],
        ),
        tenant(
            &input,
            "gamma",
            &[("tests/fixtures/external-secrets/values.yaml", "values.yaml")],
        ),
    ];
    std::fs::create_dir_all(input.join("broken")).unwrap();
    std::fs::write(input.join("broken/values.yaml"), "global: {}\n").unwrap();
    // Not tenants: a loose file and a hidden directory.
    std::fs::write(input.join("README.md"), "notes\n").unwrap();
    std::fs::create_dir_all(input.join(".cache")).unwrap();

    let out_dir = root.join("out");
    let out = bin()
        .args(["render", "--batch"])
        .arg(&input)
        .arg("--output-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(err.contains("tenant broken failed"), "{err}");
    let broken = input.join("broken/values.yaml").display().to_string();
    assert!(err.contains(&broken), "{err}");
    assert!(err.contains("rendered 3 tenants, 1 failed, in "), "{err}");
    assert!(!out_dir.join("broken").exists());
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["alpha", "beta", "gamma"]);

    for (name, values) in ["alpha", "beta", "gamma"].iter().zip(&good) {
        let single = root.join(format!("single-{name}"));
        let mut cmd = bin();
        cmd.arg("render");
        for v in values {
            cmd.arg("-f").arg(v);
        }
        let one = cmd.arg("--output-dir").arg(&single).output().unwrap();
        assert_eq!(one.status.code(), Some(0), "{name}");
        let batch = files(&out_dir.join(name));
        assert!(batch.len() > 10, "{name}: {} files", batch.len());
        assert!(batch == files(&single), "{name}: batch output differs");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_clean_batch_exits_zero_and_needs_an_output_dir() {
    let root = scratch("clean");
    let input = root.join("tenants");
    tenant(
        &input,
        "only",
        &[
            ("tests/fixtures/seed/values.yaml", "values.yaml"),
            ("tests/fixtures/seed/secrets.yaml", "secrets.yaml"),
        ],
    );
    let out = bin()
        .args(["render", "--batch"])
        .arg(&input)
        .arg("--output-dir")
        .arg(root.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("rendered 1 tenants, 0 failed, in "), "{err}");

    let out = bin()
        .args(["render", "--batch"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_stream_layout_writes_what_render_prints_and_replaces_the_object_files() {
    let root = scratch("stream");
    let input = root.join("tenants");
    let values = tenant(
        &input,
        "alpha",
        &[
            ("examples/values.yaml", "values.yaml"),
            ("examples/secrets.yaml", "secrets.yaml"),
        ],
    );
    let out_dir = root.join("out");
    let batch = |layout: &str| {
        let out = bin()
            .args(["render", "--batch"])
            .arg(&input)
            .arg("--output-dir")
            .arg(&out_dir)
            .args(["--batch-layout", layout])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        files(&out_dir.join("alpha"))
    };
    let mut single = bin();
    single.arg("render");
    for v in &values {
        single.arg("-f").arg(v);
    }
    let printed = single.output().unwrap().stdout;
    assert!(printed.len() > 10_000);

    let objects = batch("objects");
    assert!(objects.len() > 10, "{objects:?}");
    // Files of the user's in a tenant's directory stay, whatever their names.
    let users = [
        (
            "00-namespace-matrix.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: matrix\n",
        ),
        ("notes.txt", "mine\n"),
    ];
    for (name, text) in users {
        std::fs::write(out_dir.join("alpha").join(name), text).unwrap();
    }
    let with_users = |mut files: BTreeMap<String, Vec<u8>>| {
        for (name, text) in users {
            files.insert(name.to_owned(), text.as_bytes().to_vec());
        }
        files
    };
    // Switching to one stream removes the object files, and back again. The stream layout
    // keeps no list: its file is known by its name and content.
    let stream = batch("stream");
    assert_eq!(
        stream.keys().collect::<Vec<_>>(),
        ["00-namespace-matrix.yaml", "matrix-stack.yaml", "notes.txt"]
    );
    assert!(
        stream["matrix-stack.yaml"] == printed,
        "the stream differs from render's stdout"
    );
    assert!(batch("objects") == with_users(objects.clone()));
    // A directory of an older version (no list) still switches layouts.
    std::fs::remove_file(out_dir.join("alpha/.matrix-render-files")).unwrap();
    assert!(batch("stream") == stream);
    // The JSON stream replaces the YAML one.
    let json = bin()
        .args(["render", "--batch"])
        .arg(&input)
        .arg("--output-dir")
        .arg(&out_dir)
        .args(["--batch-layout", "stream", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    assert_eq!(
        files(&out_dir.join("alpha")).keys().collect::<Vec<_>>(),
        ["00-namespace-matrix.yaml", "matrix-stack.json", "notes.txt"]
    );
    assert!(batch("objects") == with_users(objects));
    let _ = std::fs::remove_dir_all(&root);
}

/// `render` runs the core in a one-shot instance whose allocator never frees, the batch in
/// a long-lived one with the system allocator: a large input (a megabyte-sized value, so
/// memory grows many times and big blocks are copied) comes out the same from both.
#[test]
fn a_large_input_renders_the_same_in_a_one_shot_and_a_reused_instance() {
    let root = scratch("large");
    let input = root.join("tenants");
    let values = tenant(
        &input,
        "large",
        &[("tests/fixtures/seed/secrets.yaml", "secrets.yaml")],
    );
    let seed = std::fs::read_to_string(repo().join("tests/fixtures/seed/values.yaml")).unwrap();
    // A 900 kB string in element.extraConfig, which goes into Element's config.json.
    let anchor = "  extraConfig:\n    permalink_prefix:";
    assert!(seed.contains(anchor));
    let big = seed.replacen(
        anchor,
        &format!(
            "  extraConfig:\n    big: \"{}\"\n    permalink_prefix:",
            "x".repeat(900_000)
        ),
        1,
    );
    std::fs::write(input.join("large/values.yaml"), &big).unwrap();

    let single = bin()
        .arg("render")
        .arg("-f")
        .arg(input.join("large/values.yaml"))
        .arg("-f")
        .arg(&values[0])
        .output()
        .unwrap();
    assert_eq!(
        single.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    assert!(single.stdout.len() > 900_000);
    let out = bin()
        .args(["render", "--batch"])
        .arg(&input)
        .arg("--output-dir")
        .arg(root.join("out"))
        .args(["--batch-layout", "stream"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch = std::fs::read(root.join("out/large/matrix-stack.yaml")).unwrap();
    assert!(
        batch == single.stdout,
        "the two instances rendered different bytes"
    );
    let _ = std::fs::remove_dir_all(&root);
}
