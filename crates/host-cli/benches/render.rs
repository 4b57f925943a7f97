//! Load + validate + render + emit of the seed values (with and without MatrixRTC), through
//! the native core and through the embedded wasm module hosted by wasmtime (one instance
//! reused across calls). Run with `cargo bench -p matrix-render --bench render`; each
//! benchmark runs on one thread, so renders/second per core = 1 / time per iteration.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark with a broken fixture should fail loudly"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use matrix_render::engine::{Core, Limits};
use matrix_render::input::{self, Inputs};
use matrix_render_model::api::Format;

/// The seed request as JSON, MatrixRTC on or off.
fn request(rtc: bool) -> Vec<u8> {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed");
    let inputs = Inputs {
        values: vec![
            seed.join("values.yaml").display().to_string(),
            seed.join("secrets.yaml").display().to_string(),
        ],
        set: vec![format!("matrixrtc.enabled={rtc}")],
        format: Format::Yaml,
        ..Inputs::default()
    };
    serde_json::to_vec(&input::request(&inputs).unwrap()).unwrap()
}

fn ok(response: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(response).unwrap()["ok"] == true
}

fn benches(c: &mut Criterion) {
    let core = Core::load(Limits::default()).unwrap();
    for rtc in [false, true] {
        let body = request(rtc);
        let name = if rtc { "seed-rtc" } else { "seed" };
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));

        assert!(ok(matrix_render_renderer::render_json(&body).as_bytes()));
        group.bench_function("native", |b| {
            b.iter(|| matrix_render_renderer::render_json(black_box(&body)));
        });

        let mut session = core.session().unwrap();
        assert!(ok(&session.call(&body).unwrap()));
        group.bench_function("wasmtime-reused-instance", |b| {
            b.iter(|| session.call(black_box(&body)).unwrap());
        });

        group.bench_function("wasmtime-fresh-instance", |b| {
            b.iter(|| core.call(black_box(&body)).unwrap());
        });
        group.finish();
    }
}

criterion_group!(render, benches);
criterion_main!(render);
