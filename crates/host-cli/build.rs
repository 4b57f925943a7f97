//! Builds the core for wasm32-unknown-unknown (feature `raw`, profile `wasm-release`),
//! precompiles it with wasmtime's cranelift for the CLI's target, and leaves both in
//! OUT_DIR for `include_bytes!`. At run time only wasmtime's runtime is linked.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/engine_config.rs"]
#[expect(
    dead_code,
    reason = "the runtime limits in this shared file are used by the CLI, not here"
)]
mod engine_config;

fn main() {
    if let Err(e) = run() {
        // A build script reports failure by panicking; the message is what cargo shows.
        panic!("building the embedded wasm core failed: {e}");
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir
        .ancestors()
        .nth(2)
        .ok_or("crates/host-cli has no workspace root")?
        .to_path_buf();
    let out_dir = PathBuf::from(var("OUT_DIR")?);
    let target = var("TARGET")?;

    for path in [
        "crates/model",
        "crates/render",
        "crates/plugin-wasm",
        // The model compiles the committed schema into the validator.
        "schema/matrix-render.schema.json",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    println!("cargo:rerun-if-changed=src/engine_config.rs");
    println!("cargo:rerun-if-env-changed=MATRIX_RENDER_WASM_TARGET_DIR");

    // A separate target dir: the outer cargo holds the lock on its own.
    let target_dir = env::var_os("MATRIX_RENDER_WASM_TARGET_DIR")
        .map_or_else(|| workspace.join("target").join("wasm-core"), PathBuf::from);
    let wasm = build_core(&workspace, &target_dir)?;
    let bytes = std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    std::fs::write(out_dir.join("core.wasm"), &bytes).map_err(|e| e.to_string())?;

    let config = engine_config::config(Some(&target)).map_err(|e| e.to_string())?;
    let engine = wasmtime::Engine::new(&config).map_err(|e| e.to_string())?;
    let compiled = engine
        .precompile_module(&bytes)
        .map_err(|e| format!("precompiling the core: {e}"))?;
    std::fs::write(out_dir.join("core.cwasm"), compiled).map_err(|e| e.to_string())?;
    Ok(())
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// rustup installs the toolchain that rust-toolchain.toml names, but not a target missing from
/// an already installed toolchain: add wasm32-unknown-unknown here so that a plain
/// `cargo build` works on a fresh machine. Without rustup, the nested build reports it.
fn ensure_wasm_target(workspace: &Path) -> Result<(), String> {
    let Ok(listed) = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if !listed.status.success()
        || String::from_utf8_lossy(&listed.stdout)
            .lines()
            .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    println!("cargo:warning=installing the wasm32-unknown-unknown target with rustup (once)");
    let status = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "add", "wasm32-unknown-unknown"])
        .status()
        .map_err(|e| format!("running rustup: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("`rustup target add wasm32-unknown-unknown` failed; run it by hand".to_owned())
    }
}

fn build_core(workspace: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    ensure_wasm_target(workspace)?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace).args([
        "build",
        "--package",
        "matrix-render-plugin",
        "--features",
        "raw",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]);
    cmd.arg("--target-dir").arg(target_dir);
    // The outer build's settings (wrappers such as clippy-driver, flags for the host target,
    // its jobserver) must not leak into the wasm build.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        let inherited_cargo =
            key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_NET_OFFLINE";
        if inherited_cargo
            || matches!(
                key.as_ref(),
                "RUSTC"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "RUSTC_LINKER"
                    | "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_MAKEFLAGS"
            )
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo for the wasm core: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of the wasm core failed ({status})"));
    }
    Ok(target_dir
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join("matrix_render_plugin.wasm"))
}
