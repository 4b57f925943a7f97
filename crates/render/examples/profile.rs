//! A fixed workload for profilers (callgrind, perf): renders the seed values with MatrixRTC
//! on, 20 times, through `render_json`, exactly as the benchmarks do. The fixture is compiled
//! in, so the run reads no files and its instruction count is repeatable:
//!
//! ```text
//! cargo build --profile profiling -p matrix-render-renderer --example profile
//! valgrind --tool=callgrind target/profiling/examples/profile
//! ```

use matrix_render_renderer::model::NamedText;
use matrix_render_renderer::{RenderRequest, render_json};

const VALUES: &str = include_str!("../../../tests/fixtures/seed/values.yaml");
const SECRETS: &str = include_str!("../../../tests/fixtures/seed/secrets.yaml");
const RENDERS: usize = 20;

fn main() {
    let doc = |name: &str, text: &str| NamedText {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    let request = RenderRequest {
        values: vec![doc("values.yaml", VALUES), doc("secrets.yaml", SECRETS)],
        set: vec!["matrixrtc.enabled=true".to_owned()],
        ..RenderRequest::default()
    };
    let body = serde_json::to_vec(&request).unwrap_or_default();
    let mut bytes = 0;
    for _ in 0..RENDERS {
        bytes += std::hint::black_box(render_json(std::hint::black_box(&body))).len();
    }
    assert!(bytes > RENDERS * 10_000, "the renders failed");
}
