//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask regen` regenerates every artefact the tests compare byte for byte: the
//!   values schema (`schema/`, and its copy the core embeds), the contract schema, the golden outputs
//!   (`tests/golden/`), the bad-input snapshots (`tests/bad/`), the migration goldens and the
//!   README's settings table. Each is written by its own freshness test when `UPDATE_GOLDEN`
//!   is set: the schemas and the table by the model's tests (crates/model/tests), the goldens
//!   and the snapshots' diagnostics by the renderer's (crates/render/tests), the snapshots'
//!   stderr and the migration goldens by the CLI's (crates/host-cli/tests). The second pass
//!   sees the schema the first one wrote (the model embeds it), and a third, without
//!   `UPDATE_GOLDEN`, proves the result is stable. Review `git diff` after.
//! - `cargo xtask test [STEP]...` runs the test suite, or the named steps of it
//!   (`scripts/test.sh`); `cargo xtask steps` lists them.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask regen | test [STEP]... | steps";

fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), PathBuf::from)
}

/// Runs `program args` in the repository's root with `env`; false when it did not succeed.
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> bool {
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    for (key, value) in env {
        command.env(key, value);
    }
    eprintln!("xtask: {program} {}", args.join(" "));
    match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("xtask: cannot run {program}: {e}");
            false
        }
    }
}

fn regen() -> bool {
    let tests = [
        "test",
        "--locked",
        "-p",
        "matrix-render-model",
        "-p",
        "matrix-render-renderer",
        "-p",
        "matrix-render",
    ];
    for pass in ["write", "write again (the embedded schema)"] {
        eprintln!("xtask: regen: {pass}");
        // A pass may fail while what it compares is being rewritten; the check below decides.
        // Every test binary runs (`--no-fail-fast`): one that fails on a stale schema must not
        // keep the one that rewrites the schema from running.
        let write: Vec<&str> = tests.iter().copied().chain(["--no-fail-fast"]).collect();
        let _ = run("cargo", &write, &[("UPDATE_GOLDEN", "1")]);
    }
    eprintln!("xtask: regen: check");
    if !run("cargo", &tests, &[]) {
        eprintln!(
            "xtask: the tests fail with the regenerated files: a real failure, not staleness"
        );
        return false;
    }
    let _ = run("git", &["status", "--short"], &[]);
    eprintln!("xtask: regenerated; review the diff before committing");
    true
}

#[expect(
    clippy::disallowed_methods,
    reason = "a front-end of the project's own: its arguments are its input"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ok = match args.first().map(String::as_str) {
        Some("regen") if args.len() == 1 => regen(),
        Some("test") => {
            let steps: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            let mut all = vec!["scripts/test.sh"];
            all.extend(steps);
            run("bash", &all, &[])
        }
        Some("steps") if args.len() == 1 => run("bash", &["scripts/test.sh", "--list"], &[]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
