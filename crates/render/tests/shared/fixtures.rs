//! Fixture discovery and golden files, shared by the core's tests (crates/render/tests) and
//! the CLI's (crates/host-cli/tests, which include this file): the fixtures and goldens are
//! the repository's, under tests/.

use std::path::{Path, PathBuf};

/// The repository root (both crates are two levels below it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every fixture directory under tests/fixtures, by name.
pub fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = repo().join("tests/fixtures");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("render.args").is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert!(
        out.len() >= 7,
        "expected at least 7 fixtures, found {}",
        out.len()
    );
    out
}

/// The CLI arguments of a fixture (after `render`), as written in its render.args.
pub fn args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("render.args"))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Writes `actual` to `path` when UPDATE_GOLDEN is set; otherwise compares bytes.
pub fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask regen` to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the render (first difference at line {}):\n  expected: {:?}\n  actual:   {:?}\nrun `cargo xtask regen` and review the diff",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// The standard base64 alphabet.
pub const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as Secrets' `data` holds values.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
