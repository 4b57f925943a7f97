//! The bad-input corpus (tests/bad): each case is a values file layered over `_base.yaml`
//! (unless it starts with `# base: none`), with extra flags from an `# args:` line. Its
//! `.snap` holds the reviewed expectation: the exit code, the core's diagnostics (code, path,
//! file:line:column, message, hint) and the CLI's stderr. The core and the real binary must
//! both match it.

use std::path::{Path, PathBuf};
use std::process::Command;

use matrix_render_model::api::RenderRequest;
use matrix_render_model::{NamedText, Severity};

use crate::common::repo;

struct Case {
    name: String,
    args: Vec<String>,
}

fn dir() -> PathBuf {
    repo().join("tests/bad")
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .map(|p| {
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let mut args = Vec::new();
            if !text.lines().any(|l| l == "# base: none") {
                args.extend(["-f".to_owned(), "_base.yaml".to_owned()]);
            }
            args.extend(["-f".to_owned(), file.clone()]);
            for line in text.lines() {
                if let Some(extra) = line.strip_prefix("# args: ") {
                    args.extend(extra.split_whitespace().map(str::to_owned));
                }
            }
            Case {
                name: file.trim_end_matches(".yaml").to_owned(),
                args,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn request(case: &Case) -> RenderRequest {
    let mut request = RenderRequest::default();
    let mut it = case.args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap().clone();
        match flag.as_str() {
            "-f" => request.values.push(NamedText {
                text: std::fs::read_to_string(dir().join(&value)).unwrap(),
                name: value,
            }),
            "--set" => request.set.push(value),
            "--set-string" => request.set_string.push(value),
            other => panic!("{}: unsupported flag {other}", case.name),
        }
    }
    request
}

fn core_lines(case: &Case) -> (i32, String) {
    let response = matrix_render_renderer::render(&request(case));
    let mut text = String::new();
    for d in &response.diagnostics {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = match (&d.file, d.line, d.column) {
            (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}"),
            (Some(f), _, _) => f.clone(),
            _ => "-".to_owned(),
        };
        text.push_str(&format!(
            "{sev} {} `{}` at {at}: {}{}\n",
            d.code,
            d.path,
            d.message,
            d.hint
                .as_deref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default()
        ));
    }
    (if response.ok { 0 } else { 1 }, text)
}

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

fn snapshot(case: &Case) -> String {
    let (code, diagnostics) = core_lines(case);
    let (_, stderr) = cli(case);
    format!(
        "# matrix-render render {}\nexit: {code}\n--- diagnostics\n{diagnostics}--- stderr\n{stderr}",
        case.args.join(" ")
    )
}

fn parse_snapshot(text: &str) -> (i32, &str, &str) {
    let exit = text
        .lines()
        .find_map(|l| l.strip_prefix("exit: "))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let (_, rest) = text.split_once("--- diagnostics\n").unwrap();
    let (diagnostics, stderr) = rest.split_once("--- stderr\n").unwrap();
    (exit, diagnostics, stderr)
}

fn snap_path(case: &Case) -> PathBuf {
    dir().join(format!("{}.snap", case.name))
}

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
        if update {
            std::fs::write(&path, snapshot(&case)).unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{}: no snapshot; run with UPDATE_GOLDEN=1 and review it",
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
fn cli_matches_the_reviewed_snapshots() {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
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
