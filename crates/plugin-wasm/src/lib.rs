//! matrix-render's core as WebAssembly. Each flavour is a cargo feature and only moves
//! bytes: decode the request, call [`matrix_render_renderer::render_json`], encode the
//! response.
//!
//! - `raw`: no imports at all; the module `matrix-render` embeds and runs through wasmtime.
//! - `extism`: the exports `render`, `validate`, `schema` and `version` for Extism hosts
//!   (docs/extism.md); it imports only Extism's `extism:host/env` functions. Built for
//!   `wasm32-wasip1`, also the Helm 4 plugin ([`helm`]).
//! - `web`: wasm-bindgen exports `render`, `version`, `panicMessage` and `utf16Column` for the
//!   browser preview (`web/`, built by scripts/build-web.sh).

#[cfg(all(
    any(feature = "raw", feature = "extism"),
    target_arch = "wasm32",
    target_os = "unknown",
    not(target_feature = "atomics")
))]
mod alloc;

/// The allocator of the raw and Extism modules (see [`alloc`]). The WASI build (Helm 4)
/// keeps the system allocator: its C library allocates behind Rust's back.
#[cfg(all(
    any(feature = "raw", feature = "extism"),
    target_arch = "wasm32",
    target_os = "unknown",
    not(target_feature = "atomics")
))]
#[global_allocator]
static ALLOCATOR: alloc::CoreAllocator = alloc::CoreAllocator::new();

#[cfg(any(test, all(target_arch = "wasm32", target_os = "unknown")))]
mod mem;

#[cfg(feature = "raw")]
pub mod raw;

#[cfg(feature = "extism")]
pub mod extism;

#[cfg(feature = "extism")]
pub mod helm;

#[cfg(feature = "web")]
pub mod web;
