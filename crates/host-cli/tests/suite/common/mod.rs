//! Fixture discovery and golden files (shared with the core's tests), and the requests the
//! CLI builds from a fixture's arguments.

use std::path::Path;

use matrix_render::input::{self, Inputs};
use matrix_render_model::api::{Format, RenderRequest};

#[path = "../../../../render/tests/shared/fixtures.rs"]
mod fixtures;
pub use fixtures::*;

/// The same inputs the CLI builds from those arguments, with paths resolved in `dir`.
pub fn inputs(dir: &Path, format: Format) -> Inputs {
    let args = args(dir);
    let mut inputs = Inputs {
        format,
        ..Inputs::default()
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().expect("every fixture flag takes a value").clone();
        let path = || dir.join(&value).display().to_string();
        match flag.as_str() {
            "-f" | "--values" => inputs.values.push(path()),
            "--set" => inputs.set.push(value),
            "--set-string" => inputs.set_string.push(value),
            "--static-dir" => inputs.static_dir = Some(path()),
            other => panic!("unsupported flag {other} in {}", dir.display()),
        }
    }
    inputs
}

pub fn request(dir: &Path, format: Format) -> RenderRequest {
    input::request(&inputs(dir, format)).unwrap()
}
