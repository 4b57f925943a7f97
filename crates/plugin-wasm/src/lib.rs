//! matrix-render's core as WebAssembly. Each flavour is a cargo feature and only moves
//! bytes: decode the request, call [`matrix_render_renderer::render_json`], encode the
//! response.
//!
//! - `raw`: no imports at all; the module `matrix-render` embeds and runs through wasmtime.

#[cfg(feature = "raw")]
pub mod raw;
