//! Provides the core for wasm32-unknown-unknown (feature `raw`, profile `wasm-release`),
//! precompiles it with wasmtime's cranelift for the CLI's target, and leaves both in
//! OUT_DIR for `include_bytes!`. At run time only wasmtime's runtime is linked.
//!
//! The module comes from one of two places:
//!
//! - **In the repository** (the workspace's `crates/plugin-wasm` next to this crate): built
//!   from source by a nested cargo in its own target dir (`target/wasm-core`, or
//!   `MATRIX_RENDER_WASM_TARGET_DIR`), so a change to the core rebuilds it. This is every
//!   developer build, and `cargo install --path crates/host-cli`.
//! - **In the packaged crate** (`cargo package`, a registry, a vendored copy; recognised by
//!   the `Cargo.toml.orig` that cargo writes into every package), where the workspace's
//!   source is absent: the module `scripts/package.sh` built the same way and placed in
//!   `core/` before packaging, `core/matrix_render_core.wasm`, with `core/BUILD-INFO`
//!   recording the crate version, the module's SHA-256, the commit and the compiler. The
//!   module must be there, for this crate's version, with that digest; no wasm toolchain
//!   is needed. The same source, lock file, compiler and cargo home (the module names its
//!   dependencies' source paths in panic locations) give the same module bytes, so the
//!   packaged CLI runs exactly the core a repository build of that commit embeds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[path = "src/engine_config.rs"]
#[expect(
    dead_code,
    reason = "the runtime limits in this shared file are used by the CLI, not here"
)]
mod engine_config;

/// Where a packaged crate carries the core module, and the record of how it was built
/// (written by scripts/package.sh).
const SHIPPED_CORE: &str = "core/matrix_render_core.wasm";
const SHIPPED_INFO: &str = "core/BUILD-INFO";

fn main() {
    if let Err(e) = run() {
        // A build script reports failure by panicking; the message is what cargo shows.
        panic!("building the embedded wasm core failed: {e}");
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(var("OUT_DIR")?);
    let target = var("TARGET")?;
    println!("cargo:rerun-if-changed=src/engine_config.rs");

    let workspace = manifest_dir.ancestors().nth(2).map(Path::to_path_buf);
    let bytes = match workspace {
        Some(workspace) if in_repository(&manifest_dir, &workspace) => {
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
            println!("cargo:rerun-if-env-changed=MATRIX_RENDER_WASM_TARGET_DIR");
            // A separate target dir: the outer cargo holds the lock on its own.
            let target_dir = env::var_os("MATRIX_RENDER_WASM_TARGET_DIR")
                .map_or_else(|| workspace.join("target").join("wasm-core"), PathBuf::from);
            let wasm = build_core(&workspace, &target_dir)?;
            std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?
        }
        _ => shipped_core(&manifest_dir)?,
    };
    std::fs::write(out_dir.join("core.wasm"), &bytes).map_err(|e| e.to_string())?;

    let config = engine_config::config(Some(&target)).map_err(|e| e.to_string())?;
    let engine = wasmtime::Engine::new(&config).map_err(|e| e.to_string())?;
    let compiled = engine
        .precompile_module(&bytes)
        .map_err(|e| format!("precompiling the core: {e}"))?;
    std::fs::write(out_dir.join("core.cwasm"), compiled).map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether this crate sits in the repository's workspace, with the core's source beside it,
/// rather than in a package (which cargo always gives a `Cargo.toml.orig`).
fn in_repository(manifest_dir: &Path, workspace: &Path) -> bool {
    !manifest_dir.join("Cargo.toml.orig").exists()
        && workspace.join("crates/plugin-wasm/Cargo.toml").is_file()
        && workspace.join("Cargo.lock").is_file()
}

/// The module a packaged crate carries, checked against its BUILD-INFO.
fn shipped_core(manifest_dir: &Path) -> Result<Vec<u8>, String> {
    println!("cargo:rerun-if-changed={SHIPPED_CORE}");
    println!("cargo:rerun-if-changed={SHIPPED_INFO}");
    let missing = |what: &str, e: std::io::Error| {
        format!(
            "{what}: {e}. This crate is not in the matrix-render repository, so it needs the \
             core module that scripts/package.sh puts in {SHIPPED_CORE} before packaging"
        )
    };
    let bytes =
        std::fs::read(manifest_dir.join(SHIPPED_CORE)).map_err(|e| missing(SHIPPED_CORE, e))?;
    let info = std::fs::read_to_string(manifest_dir.join(SHIPPED_INFO))
        .map_err(|e| missing(SHIPPED_INFO, e))?;
    let field = |key: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
            .map(str::trim)
            .ok_or_else(|| format!("{SHIPPED_INFO} has no `{key}` line"))
    };
    let version = var("CARGO_PKG_VERSION")?;
    let built_for = field("version")?;
    if built_for != version {
        return Err(format!(
            "{SHIPPED_CORE} was built for matrix-render {built_for}, this crate is {version}"
        ));
    }
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let recorded = field("sha256")?;
    if digest != recorded {
        return Err(format!(
            "{SHIPPED_CORE} has SHA-256 {digest}, but {SHIPPED_INFO} records {recorded}"
        ));
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(format!("{SHIPPED_CORE} is not a WebAssembly module"));
    }
    Ok(bytes)
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

/// Builds the raw core from the workspace's source. scripts/package.sh runs the same cargo
/// command, in the same environment, for the module a package carries: keep them in step.
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
