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
    if let Some(target) = target {
        config.target(target)?;
    }
    Ok(config)
}
