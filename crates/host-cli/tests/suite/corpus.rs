//! The bad-input corpus through the real binary: its exit code and stderr are the reviewed
//! snapshot's (tests/bad; the core's tests check the diagnostics natively), and never show a
//! secret of the base values.

use std::process::Command;

#[path = "../../../render/tests/shared/corpus.rs"]
mod shared;
use shared::{Case, cases, core_lines, dir, parse_snapshot, snap_path, snapshot};

fn cli(case: &Case) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(dir())
        .arg("render")
        .args(&case.args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn cli_matches_the_reviewed_snapshots() {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        for case in cases() {
            let (_, stderr) = cli(&case);
            let text = snapshot(&case, core_lines(&case), &stderr);
            std::fs::write(snap_path(&case), text).unwrap();
        }
        return;
    }
    let base = std::fs::read_to_string(dir().join("_base.yaml")).unwrap();
    let secrets: Vec<&str> = base
        .lines()
        .filter_map(|l| {
            l.split_once(": \"bad-corpus-")
                .map(|(_, v)| v.trim_end_matches('"'))
        })
        .collect();
    assert!(secrets.len() >= 5);
    for case in cases() {
        let text = std::fs::read_to_string(snap_path(&case)).unwrap();
        let (exit, _, stderr) = parse_snapshot(&text);
        let (code, actual) = cli(&case);
        assert_eq!(code, exit, "{}: exit code", case.name);
        assert_eq!(actual, stderr, "{}: the CLI's stderr changed", case.name);
        for s in &secrets {
            assert!(!actual.contains(s), "{}: stderr shows a secret", case.name);
        }
    }
}
