//! Fixture discovery and golden files (shared with the CLI's tests), and the request a
//! fixture's arguments make: the one the CLI builds from them (the CLI's golden test checks
//! that its bytes are these tests' goldens).

use std::collections::BTreeMap;
use std::path::Path;

use matrix_render_model::NamedText;
use matrix_render_model::api::{Format, RenderOptions, RenderRequest};

#[path = "../../shared/fixtures.rs"]
mod fixtures;
pub use fixtures::*;

/// The request of a fixture: its render.args with paths resolved in `dir`, in `format`.
pub fn request(dir: &Path, format: Format) -> RenderRequest {
    let args = args(dir);
    let mut request = RenderRequest {
        options: RenderOptions {
            format,
            ..RenderOptions::default()
        },
        ..RenderRequest::default()
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().expect("every fixture flag takes a value").clone();
        let path = dir.join(&value);
        match flag.as_str() {
            "-f" | "--values" => request.values.push(NamedText {
                name: path.display().to_string(),
                text: std::fs::read_to_string(&path).unwrap(),
            }),
            "--set" => request.set.push(value),
            "--set-string" => request.set_string.push(value),
            "--static-dir" => request.files = static_files(&path),
            other => panic!("unsupported flag {other} in {}", dir.display()),
        }
    }
    request
}

/// `--static-dir DIR`: the regular files of `DIR/pages` and `DIR/static-assets`, keyed
/// `pages/<name>` and `static-assets/<name>`.
fn static_files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for sub in ["pages", "static-assets"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.insert(
                    format!("{sub}/{name}"),
                    std::fs::read_to_string(entry.path()).unwrap(),
                );
            }
        }
    }
    assert!(!files.is_empty(), "{}: no static files", dir.display());
    files
}
