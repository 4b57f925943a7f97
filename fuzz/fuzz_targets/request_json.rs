//! Arbitrary bytes as a JSON render request through `render_json`, the call every wasm
//! flavour exports. Invariants: see `matrix_render_fuzz::check_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    matrix_render_fuzz::check_json(data);
});
