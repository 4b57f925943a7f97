//! The wasmtime configuration, shared by build.rs (which precompiles the core with it) and
//! the runtime (which must deserialize with a compatible one).

/// Fuel per render: about 400 times what rendering the seed stack with MatrixRTC costs
/// (51 million units, measured).
pub const FUEL: u64 = 20_000_000_000;

/// Linear memory a render may use.
pub const MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// The engine settings; `target` is set only when precompiling.
pub fn config(target: Option<&str>) -> wasmtime::Result<wasmtime::Config> {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true);
    // Every run copies the precompiled module into executable memory, page by page, so its
    // size is start-up time. Traps are told apart by their codes, and the host never unwinds
    // through wasm frames (panic = "abort"), so neither the wasm address map nor native
    // unwind tables are needed: together they were 15% of the artifact.
    config.generate_address_map(false);
    config.native_unwind_info(false);
    if let Some(target) = target {
        config.target(target)?;
    }
    Ok(config)
}
