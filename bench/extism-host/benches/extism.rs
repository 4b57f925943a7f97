//! `render` of the seed values (with and without MatrixRTC) through the Extism flavour of the
//! core (`dist/matrix-render.extism.wasm`, built by `scripts/build-extism.sh`), hosted by the
//! Rust Extism host SDK with WASI off. The request is byte for byte the one
//! `crates/host-cli/benches/render.rs` sends to the native core and the raw module, and the
//! groups have the same names (`seed`, `seed-rtc`), so the numbers line up with that bench:
//!
//! - `extism-reused-plugin`: one `extism::Plugin`, `render` called again and again;
//! - `extism-fresh-plugin`: a new `Plugin` per call, from an `extism::CompiledPlugin` made once
//!   (`Plugin::new_from_compiled`: a new store and instance, no compilation).
//!
//! Each call copies the output out of the plugin (the raw-module bench returns a `Vec` too).
//! Run it as README.md says; each benchmark runs on one thread.

#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "a benchmark with a broken fixture or plugin should fail loudly and say why"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use extism::{CompiledPlugin, Manifest, Plugin, PluginBuilder, Wasm};
use serde_json::{Value, json};

/// The plugin's linear memory cap and call timeout docs/extism.md recommends.
const MAX_PAGES: u32 = 8192;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A path relative to this package (cargo runs benches with it as the working directory).
fn here(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn seed() -> PathBuf {
    here("../../tests/fixtures/seed")
}

/// The seed values files, in the order the CLI layers them.
fn values_files() -> [PathBuf; 2] {
    [seed().join("values.yaml"), seed().join("secrets.yaml")]
}

fn set(rtc: bool) -> String {
    format!("matrixrtc.enabled={rtc}")
}

/// The seed request as JSON, MatrixRTC on or off: what `input::request` gives for
/// `-f values.yaml -f secrets.yaml --set matrixrtc.enabled=RTC` serialised (each file named
/// by its path, keys in the struct's order).
fn request(rtc: bool) -> Vec<u8> {
    let values: Vec<Value> = values_files()
        .iter()
        .map(|path| {
            #[expect(
                clippy::disallowed_methods,
                reason = "the bench is a front-end: it reads the fixture"
            )]
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            json!({"name": path.display().to_string(), "text": text})
        })
        .collect();
    let request = json!({
        "values": values,
        "set": [set(rtc)],
        "setString": [],
        "files": {},
        "options": {"format": "yaml", "split": false, "plan": false},
    });
    serde_json::to_vec(&request).unwrap()
}

#[expect(
    clippy::disallowed_methods,
    reason = "the bench is a front-end: the environment and files are its inputs"
)]
fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

/// The plugin's bytes: `MR_EXTISM_WASM` or `dist/matrix-render.extism.wasm`.
fn plugin_wasm() -> Vec<u8> {
    let path =
        env_path("MR_EXTISM_WASM").unwrap_or_else(|| here("../../dist/matrix-render.extism.wasm"));
    #[expect(
        clippy::disallowed_methods,
        reason = "the bench is a front-end: it reads the plugin"
    )]
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the Extism plugin {}: {e}\nbuild it first with \
             `bash scripts/build-extism.sh` (from the repository root), or point MR_EXTISM_WASM \
             at one (an absolute path, or relative to bench/extism-host)",
            path.display()
        )
    })
}

/// The plugin compiled once, with the recommended limits, WASI off and wasmtime's on-disk
/// cache off (nothing is written to ~/.cache; only the fresh-plugin bench reuses the result).
fn compile(wasm: Vec<u8>) -> CompiledPlugin {
    let manifest = Manifest::new([Wasm::data(wasm)])
        .with_memory_max(MAX_PAGES)
        .with_timeout(TIMEOUT);
    PluginBuilder::new(manifest)
        .with_wasi(false)
        .with_cache_disabled()
        .compile()
        .unwrap()
}

/// The response's `output`, after checking that the call succeeded with `ok: true`.
fn checked_output(name: &str, response: &[u8]) -> String {
    let response: Value = serde_json::from_slice(response).unwrap();
    assert!(
        response["ok"] == true,
        "{name}: the plugin's response is not ok: {}",
        response["diagnostics"]
    );
    response["output"].as_str().unwrap().to_owned()
}

/// Compares the plugin's output with `matrix-render render` for the same request when the CLI
/// binary (`MR_CLI`, default `target/release/matrix-render`) exists; otherwise says so.
fn compare_with_cli(name: &str, rtc: bool, output: &str) {
    let cli = env_path("MR_CLI").unwrap_or_else(|| here("../../target/release/matrix-render"));
    if !cli.is_file() {
        eprintln!(
            "{name}: {} not found, so the output is not compared with the CLI's \
             (`cargo build --release -p matrix-render`, or set MR_CLI)",
            cli.display()
        );
        return;
    }
    let mut command = Command::new(&cli);
    command.arg("render");
    for path in values_files() {
        command.arg("-f").arg(path);
    }
    let run = command.arg("--set").arg(set(rtc)).output().unwrap();
    assert!(
        run.status.success(),
        "{name}: {} render failed ({}): {}",
        cli.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.stdout == output.as_bytes(),
        "{name}: the plugin's output ({} bytes) differs from `{} render` ({} bytes)",
        output.len(),
        cli.display(),
        run.stdout.len()
    );
    eprintln!(
        "{name}: output ({} bytes) identical to `{} render`",
        output.len(),
        cli.display()
    );
}

fn benches(c: &mut Criterion) {
    let compiled = compile(plugin_wasm());
    let mut plugin = Plugin::new_from_compiled(&compiled).unwrap();
    let version: String = plugin.call("version", "").unwrap();
    eprintln!("matrix-render Extism plugin {version}, extism host 1.30.0, WASI off");

    for rtc in [false, true] {
        let body = request(rtc);
        let name = if rtc { "seed-rtc" } else { "seed" };
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));

        let output = checked_output(name, plugin.call("render", &body[..]).unwrap());
        compare_with_cli(name, rtc, &output);
        // A fresh plugin gives the same bytes.
        let mut fresh = Plugin::new_from_compiled(&compiled).unwrap();
        assert!(checked_output(name, fresh.call("render", &body[..]).unwrap()) == output);

        group.bench_function("extism-reused-plugin", |b| {
            b.iter(|| -> Vec<u8> { plugin.call("render", black_box(&body[..])).unwrap() });
        });

        group.bench_function("extism-fresh-plugin", |b| {
            b.iter(|| -> Vec<u8> {
                let mut plugin = Plugin::new_from_compiled(black_box(&compiled)).unwrap();
                plugin.call("render", black_box(&body[..])).unwrap()
            });
        });
        group.finish();
    }
}

criterion_group!(extism, benches);
criterion_main!(extism);
