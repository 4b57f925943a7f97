//! Golden outputs through the CLI binary running the wasm core: exactly the committed bytes
//! (which the core's own tests, crates/render/tests, write and check natively), every time.

use std::process::Command;

use crate::common::{args, fixtures, repo};

/// A newcomer's first run, the README's `render -f examples/values.yaml -f
/// examples/secrets.yaml`, is clean: no warning to puzzle over.
#[test]
fn the_example_config_renders_without_diagnostics() {
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(repo())
        .args([
            "render",
            "-f",
            "examples/values.yaml",
            "-f",
            "examples/secrets.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
}

#[test]
fn cli_through_wasmtime_matches_golden_twice() {
    let bin = env!("CARGO_BIN_EXE_matrix-render");
    for (name, dir) in fixtures() {
        for (format, ext) in [("yaml", "yaml"), ("json", "json")] {
            let golden =
                std::fs::read_to_string(repo().join("tests/golden").join(format!("{name}.{ext}")))
                    .expect("golden file (run `cargo xtask regen` first)");
            for run in 1..=2 {
                let out = Command::new(bin)
                    .current_dir(&dir)
                    .arg("render")
                    .args(args(&dir))
                    .args(["--format", format])
                    .output()
                    .unwrap();
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{name} run {run}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    out.stdout == golden.as_bytes(),
                    "{name} ({format}) run {run}: the CLI's bytes differ from the native core's golden output"
                );
            }
        }
    }
}

#[test]
fn output_dir_holds_one_file_per_object_in_install_order() {
    let bin = env!("CARGO_BIN_EXE_matrix-render");
    let (_, dir) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "seed-rtc")
        .unwrap();
    let out_dir = std::env::temp_dir().join(format!("mr-outdir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    // The user keeps a file of their own next to the output (what a later render removes
    // is tested in output_dir.rs).
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("kustomization.yaml"), "resources: []\n").unwrap();
    let out = Command::new(bin)
        .current_dir(&dir)
        .arg("render")
        .args(args(&dir))
        .arg("--output-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(out_dir.join("kustomization.yaml")).expect("the user's file was removed");
    std::fs::remove_file(out_dir.join(".matrix-render-files")).expect("no list of the files");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Each file is one document of the stream, and the files sorted by name apply the kinds
    // in the stream's (install) order: the `NN-` prefixes of the stream's documents never
    // decrease. (Within a kind the order may differ: `element-static.yaml` sorts first.)
    let golden = std::fs::read_to_string(repo().join("tests/golden/seed-rtc.yaml")).unwrap();
    let documents: Vec<String> = golden
        .split("\n---\n")
        .map(|d| {
            format!(
                "---\n{}\n",
                d.trim_start_matches("---\n").trim_end_matches('\n')
            )
        })
        .collect();
    let by_text: std::collections::BTreeMap<String, &String> = names
        .iter()
        .map(|n| (std::fs::read_to_string(out_dir.join(n)).unwrap(), n))
        .collect();
    assert_eq!(
        by_text.len(),
        names.len(),
        "two files hold the same document"
    );
    assert_eq!(documents.len(), names.len(), "one file per document");
    let ranks: Vec<&str> = documents
        .iter()
        .map(|d| {
            by_text
                .get(d)
                .unwrap_or_else(|| panic!("no file holds {d}"))
                .split('-')
                .next()
                .unwrap()
        })
        .collect();
    assert!(ranks.is_sorted(), "{ranks:?}");
    assert!(
        ranks.len() > 20 && ranks.first() < ranks.last(),
        "{ranks:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".yaml") && !n.starts_with('.'))
    );
    assert_eq!(names[0], "01-networkpolicy-acme-http01-solver.yaml");
    std::fs::remove_dir_all(&out_dir).unwrap();
}
