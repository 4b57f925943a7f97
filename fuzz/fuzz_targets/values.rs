//! Arbitrary bytes as a values document, merged with a fixed valid document in both orders.
//! Invariants: see `matrix_render_fuzz::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use matrix_render_fuzz::{check, doc, fixed_doc};
use matrix_render_renderer::RenderRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fuzzed = doc("values.yaml", text);
    // Fuzzed document first: the fixed document supplies (or overrides) the required keys.
    check(&RenderRequest {
        values: vec![fuzzed.clone(), fixed_doc()],
        ..RenderRequest::default()
    });
    // Fixed document first: the fuzzed one overrides it.
    check(&RenderRequest {
        values: vec![fixed_doc(), fuzzed],
        ..RenderRequest::default()
    });
});
