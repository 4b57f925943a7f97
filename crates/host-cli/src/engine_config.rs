//! The wasmtime configuration, shared by build.rs (which precompiles the core with it) and
//! the runtime (which must deserialize with a compatible one).

/// Time a render may take: about 10,000 times what rendering the seed stack with MatrixRTC
/// takes (1 ms).
pub const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Linear memory a render may use.
pub const MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// The engine settings; `target` is set only when precompiling.
pub fn config(target: Option<&str>) -> wasmtime::Result<wasmtime::Config> {
    let mut config = wasmtime::Config::new();
    // A render is stopped by a deadline on the engine's epoch, which the host advances on a
    // clock (engine.rs), rather than by fuel: fuel made every basic block count down a
    // counter in memory, a sixth of a batch's CPU time (measured), while an epoch check is
    // one load and compare at function entries and loop heads. The price is that where a
    // runaway render stops depends on the machine's speed, not on the input alone; the
    // limit is a safety net 10,000 times above a real render, so no real input lands near it.
    config.epoch_interruption(true);
    // Every run copies the precompiled module into executable memory, page by page, so its
    // size is start-up time. Traps are told apart by their codes, and the host never unwinds
    // through wasm frames (panic = "abort"), so neither the wasm address map nor native
    // unwind tables are needed: together they were 15% of the artifact.
    config.generate_address_map(false);
    config.native_unwind_info(false);
    // Copy-on-write memory images pay off when one module is instantiated many times; a run
    // instantiates it once (a batch worker once per worker), and building the image (a
    // memfd written with the initial memory, then mapped) cost a tenth of the whole process
    // (3.6 -> 3.2 ms median, measured). Eager initialisation copies the data segments instead.
    config.memory_init_cow(false);
    if let Some(target) = target {
        config.target(target)?;
    }
    Ok(config)
}
