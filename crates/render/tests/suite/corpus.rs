//! The bad-input corpus through the native core: every case is diagnosed, as its reviewed
//! snapshot says (tests/bad; the CLI's tests check the binary's stderr against the same
//! snapshots).

use std::path::Path;

#[path = "../shared/corpus.rs"]
mod shared;
use shared::{cases, core_lines, dir, parse_snapshot, snap_path, snapshot};

#[test]
fn corpus_is_large_and_every_case_is_diagnosed() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} bad inputs", cases.len());
    for case in &cases {
        let (_, lines) = core_lines(case);
        assert!(!lines.is_empty(), "{}: no diagnostic at all", case.name);
    }
}

#[test]
fn core_matches_the_reviewed_snapshots() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for case in cases() {
        let path = snap_path(&case);
        let text = std::fs::read_to_string(&path);
        if update {
            // The core's part; the CLI's tests write its stderr (kept here until they do).
            let stderr = text.as_deref().map_or("", |t| parse_snapshot(t).2);
            std::fs::write(&path, snapshot(&case, core_lines(&case), stderr)).unwrap();
            continue;
        }
        let text = text.unwrap_or_else(|_| {
            panic!(
                "{}: no snapshot; run `cargo xtask regen` and review it",
                case.name
            )
        });
        let (exit, diagnostics, _) = parse_snapshot(&text);
        let (code, lines) = core_lines(&case);
        assert_eq!(
            (code, lines.as_str()),
            (exit, diagnostics),
            "{}: the core's diagnostics changed",
            case.name
        );
    }
}

#[test]
fn snapshots_have_no_orphans() {
    let names: Vec<String> = cases()
        .into_iter()
        .map(|c| format!("{}.snap", c.name))
        .collect();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if Path::new(&file).extension().is_some_and(|e| e == "snap") {
            assert!(
                names.contains(&file),
                "{file} belongs to no case; delete it"
            );
        }
    }
}
