//! The bad-input corpus (tests/bad): each case is a values file layered over `_base.yaml`
//! (unless it starts with `# base: none`), with extra flags from an `# args:` line. Its
//! `.snap` holds the reviewed expectation: the exit code, the core's diagnostics (code, path,
//! file:line:column, message, hint) and the CLI's stderr. The core (crates/render/tests) and
//! the real binary (crates/host-cli/tests, which include this file) must both match it.

use std::path::PathBuf;

use matrix_render_model::api::RenderRequest;
use matrix_render_model::{NamedText, Severity};

use crate::common::repo;

pub struct Case {
    pub name: String,
    pub args: Vec<String>,
}

pub fn dir() -> PathBuf {
    repo().join("tests/bad")
}

pub fn cases() -> Vec<Case> {
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

/// The exit code and the diagnostics of the native core, one line each.
pub fn core_lines(case: &Case) -> (i32, String) {
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

/// A snapshot's text: the command, the core's exit code and diagnostics, the CLI's stderr.
pub fn snapshot(case: &Case, (code, diagnostics): (i32, String), stderr: &str) -> String {
    format!(
        "# matrix-render render {}\nexit: {code}\n--- diagnostics\n{diagnostics}--- stderr\n{stderr}",
        case.args.join(" ")
    )
}

/// (exit code, diagnostics, stderr) of a snapshot.
pub fn parse_snapshot(text: &str) -> (i32, &str, &str) {
    let exit = text
        .lines()
        .find_map(|l| l.strip_prefix("exit: "))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let (_, rest) = text.split_once("--- diagnostics\n").unwrap();
    let (diagnostics, stderr) = rest.split_once("--- stderr\n").unwrap();
    (exit, diagnostics, stderr)
}

pub fn snap_path(case: &Case) -> PathBuf {
    dir().join(format!("{}.snap", case.name))
}
