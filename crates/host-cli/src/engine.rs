//! Runs the embedded, precompiled core through wasmtime, with memory and time limits.

use std::time::Duration;

use wasmtime::{Engine, Instance, Module, ResourceLimiter, Store, Trap, TypedFunc};

use crate::engine_config;

/// The core compiled to wasm32 (for size reports and other hosts).
pub static CORE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/core.wasm"));
/// The same module precompiled for this binary's target by build.rs, page-aligned so that
/// its code can run where it lies in the binary (see [`InPlace`]).
static CORE_CWASM: &PageAligned<[u8]> =
    &PageAligned(*include_bytes!(concat!(env!("OUT_DIR"), "/core.cwasm")));

/// The page size the embedded artifact is aligned to.
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct PageAligned<T: ?Sized>(T);

/// Makes the embedded artifact's code executable where it lies, in this binary's read-only
/// data, instead of copying it into fresh memory: a run then maps only the code pages it
/// executes, from the page cache, rather than writing 3.4 MB page by page (about a quarter
/// of a one-shot render's time).
#[derive(Debug)]
#[cfg(unix)]
struct InPlace;

#[cfg(unix)]
impl wasmtime::CustomCodeMemory for InPlace {
    fn required_alignment(&self) -> usize {
        PAGE
    }

    fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        #[expect(
            unsafe_code,
            reason = "mprotect of the code range wasmtime hands over; it only adds execute \
                      permission to read-only pages that nothing writes"
        )]
        // SAFETY: wasmtime passes a page-aligned range inside the artifact it loaded (our
        // static, or its own copy of it); changing the protection of those pages to
        // read + execute affects no Rust reference, since nothing writes to them.
        let rc = unsafe {
            libc::mprotect(
                ptr.cast_mut().cast(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error().into())
        }
    }

    fn unpublish_executable(&self, _ptr: *const u8, _len: usize) -> wasmtime::Result<()> {
        // The code stays executable: it is immutable, and another module in this process
        // may still run the same pages.
        Ok(())
    }
}

/// The module, loaded in place when the platform allows it (see [`InPlace`]), else copied;
/// and whether it was loaded in place.
fn load_module() -> Result<(Engine, Module, bool), CoreError> {
    #[cfg_attr(not(unix), expect(unused_mut, reason = "only unix changes the config"))]
    let mut config =
        engine_config::config(None).map_err(|e| internal("configuring wasmtime", e))?;
    #[cfg(unix)]
    let page_size_ok = {
        #[expect(unsafe_code, reason = "sysconf has no preconditions")]
        // SAFETY: sysconf only reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).is_ok_and(|s| s == PAGE)
    };
    #[cfg(unix)]
    if page_size_ok {
        config.with_custom_code_memory(Some(std::sync::Arc::new(InPlace)));
        let engine = Engine::new(&config).map_err(|e| internal("starting wasmtime", e))?;
        let bytes: &[u8] = &CORE_CWASM.0;
        #[expect(
            unsafe_code,
            reason = "the audited in-place deserialize: the bytes are our own build.rs output, \
                      embedded immutably in this binary, compiled by the same wasmtime version"
        )]
        // SAFETY: CORE_CWASM was produced by `Engine::precompile_module` of this wasmtime
        // version in build.rs; it is an immutable static, so it lives as long as the module
        // and nothing modifies it.
        let loaded = unsafe { Module::deserialize_raw(&engine, std::ptr::NonNull::from(bytes)) };
        if let Ok(module) = loaded {
            return Ok((engine, module, true));
        }
        // Fall through: some hardened kernels refuse to make mapped data executable.
        config.with_custom_code_memory(None);
    }
    let engine = Engine::new(&config).map_err(|e| internal("starting wasmtime", e))?;
    #[expect(
        unsafe_code,
        reason = "the audited deserialize: the bytes are our own build.rs output, embedded in \
                  this binary by include_bytes! and compiled by the same wasmtime version"
    )]
    // SAFETY: CORE_CWASM was produced by `Engine::precompile_module` of this wasmtime
    // version in build.rs and cannot be replaced at run time.
    let module = unsafe { Module::deserialize(&engine, &CORE_CWASM.0) }
        .map_err(|e| internal("loading the embedded core", e))?;
    Ok((engine, module, false))
}

/// Why the core could not produce a response.
#[derive(Debug)]
pub struct CoreError {
    /// What stopped it.
    pub kind: Failure,
    /// What happened, for people.
    pub message: String,
}

/// What stopped the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The render needed more memory than [`Limits::memory`]: the input is too large (or the
    /// limit too small), something the user can change (exit 1).
    Memory,
    /// The render took longer than [`Limits::time`] (exit 1).
    Time,
    /// Anything else: a bug (exit 2).
    Internal,
}

impl CoreError {
    fn internal(message: String) -> Self {
        Self {
            kind: Failure::Internal,
            message,
        }
    }

    /// Whether a resource limit (time or memory) stopped the core, rather than a bug.
    #[must_use]
    pub fn is_limit(&self) -> bool {
        self.kind != Failure::Internal
    }

    /// The error as the CLI prints it, with the setting that raises a limit.
    #[must_use]
    pub fn report(&self) -> String {
        let (code, hint) = match self.kind {
            Failure::Memory => (
                "memory-limit",
                "the input is too large or too deeply nested for the limit; if it is what you \
                 meant, raise the limit with MATRIX_RENDER_MEMORY_MIB (in MiB, e.g. \
                 MATRIX_RENDER_MEMORY_MIB=2048)",
            ),
            Failure::Time => (
                "time-limit",
                "the input is too large for the limit, or the machine is very busy; raise the \
                 limit with MATRIX_RENDER_TIMEOUT (e.g. MATRIX_RENDER_TIMEOUT=60s)",
            ),
            Failure::Internal => {
                return format!(
                    "error[internal]: {}\n = note: this is a bug in matrix-render; please report it\n",
                    self.message
                );
            }
        };
        format!("error[{code}]: {}\n = hint: {hint}\n", self.message)
    }
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CoreError {}

fn internal(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::internal(format!("{what}: {e}"))
}

/// Per-render resource limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a render may take, to within [`TICK`]; zero stops a render at its start.
    pub time: Duration,
    /// Linear memory per render, in bytes.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            time: engine_config::TIME_LIMIT,
            memory: engine_config::MEMORY_LIMIT,
        }
    }
}

impl Limits {
    /// The epoch deadline for a render: ticks to wait, counted from the render's start. The
    /// clock may tick right after a render starts, so one tick more than the time holds.
    fn ticks(&self) -> u64 {
        if self.time.is_zero() {
            0
        } else {
            u64::try_from(self.time.as_nanos().div_ceil(TICK.as_nanos()))
                .map_or(NO_DEADLINE, |t| t.saturating_add(1).min(NO_DEADLINE))
        }
    }
}

/// A deadline no render reaches (wasmtime adds it to the current epoch, so it must leave room).
const NO_DEADLINE: u64 = u64::MAX / 2;

/// How often the engine's epoch advances: the resolution of [`Limits::time`].
pub const TICK: Duration = Duration::from_millis(10);

/// Advances the engine's epoch every [`TICK`] for as long as the process lives, on a thread
/// of its own that does nothing else. wasm code checks the epoch at function entries and
/// loop heads and traps once its store's deadline has passed.
fn start_clock(engine: &Engine) -> Result<(), CoreError> {
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("matrix-render-clock".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        })
        .map(drop)
        .map_err(|e| internal("starting the core's clock", e))
}

/// The loaded core; cheap to call repeatedly.
pub struct Core {
    engine: Engine,
    module: Module,
    limits: Limits,
    in_place: bool,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

/// A store's memory limit, which also remembers whether it refused to grow the memory:
/// a failed `memory.grow` makes the core's allocator abort (a trap without a panic message),
/// and this tells that apart from a bug.
struct State {
    limit: usize,
    /// The size a refused growth asked for, in bytes.
    refused: Option<usize>,
}

impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allow = desired <= self.limit && maximum.is_none_or(|m| desired <= m);
        if !allow {
            self.refused = Some(desired);
        }
        Ok(allow)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // The system could not give the memory the limit allows: as much out of memory.
        self.refused.get_or_insert(self.limit);
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|m| desired <= m))
    }

    fn instances(&self) -> usize {
        1
    }
}

impl Core {
    /// Loads the embedded module.
    ///
    /// # Errors
    /// When the embedded artifact does not match this wasmtime build.
    pub fn load(limits: Limits) -> Result<Self, CoreError> {
        // One module per process: code run in place is registered with wasmtime by its
        // address, which can be registered only once (and a copy would be wasted work).
        static LOADED: std::sync::OnceLock<Result<(Engine, Module, bool), String>> =
            std::sync::OnceLock::new();
        let (engine, module, in_place) = LOADED
            .get_or_init(|| {
                load_module()
                    .and_then(|loaded| start_clock(&loaded.0).map(|()| loaded))
                    .map_err(|e| e.message)
            })
            .clone()
            .map_err(CoreError::internal)?;
        Ok(Self {
            engine,
            module,
            limits,
            in_place,
        })
    }

    /// Whether the precompiled code runs where it lies in the binary (the fast path) rather
    /// than from a copy.
    #[must_use]
    pub fn in_place(&self) -> bool {
        self.in_place
    }

    /// Sends a RenderRequest JSON and returns the RenderResponse JSON, in a fresh instance.
    ///
    /// # Errors
    /// A trap (a panic in the core, its time or memory limit) or an ABI mismatch.
    pub fn call(&self, request: &[u8]) -> Result<Vec<u8>, CoreError> {
        self.instantiate(true)?.render(request, false)
    }

    /// A new instance of the core for many renders in a row (see [`Session`]).
    ///
    /// # Errors
    /// The module cannot be instantiated or lacks an export.
    pub fn session(&self) -> Result<Session, CoreError> {
        self.instantiate(false)
    }

    /// A new instance; a `one_shot` one renders once and is dropped, so its first render
    /// already allocates from the core's render arena (`mr_one_shot`: a seventh fewer
    /// instructions for a whole `render` run; a reused instance uses the arena from its
    /// second render on).
    fn instantiate(&self, one_shot: bool) -> Result<Session, CoreError> {
        let mut store = Store::new(
            &self.engine,
            State {
                limit: self.limits.memory,
                refused: None,
            },
        );
        store.limiter(|s| s);
        // Instantiation runs no wasm code of ours; each render sets its own deadline.
        store.set_epoch_deadline(NO_DEADLINE);
        let instance = Instance::new(&mut store, &self.module, &[]).map_err(|e| {
            if store.data().refused.is_some() {
                out_of_memory(self.limits)
            } else {
                internal("instantiating the core", e)
            }
        })?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| CoreError::internal("the core exports no memory".to_owned()))?;
        let alloc = instance
            .get_typed_func::<u32, u32>(&mut store, "mr_alloc")
            .map_err(|e| internal("the core's mr_alloc", e))?;
        let render = instance
            .get_typed_func::<(u32, u32), u64>(&mut store, "mr_render")
            .map_err(|e| internal("the core's mr_render", e))?;
        let free = instance
            .get_typed_func::<(u32, u32), ()>(&mut store, "mr_free")
            .map_err(|e| internal("the core's mr_free", e))?;
        if one_shot {
            instance
                .get_typed_func::<(), ()>(&mut store, "mr_one_shot")
                .and_then(|f| f.call(&mut store, ()))
                .map_err(|e| internal("the core's mr_one_shot", e))?;
        }
        Ok(Session {
            store,
            instance,
            memory,
            alloc,
            render,
            free,
            limits: self.limits,
            poisoned: false,
        })
    }
}

/// One instance of the core, reused across renders: each render gets the full time limit,
/// and its response buffer is freed with `mr_free` after it is copied out. After a trap the
/// instance is unusable: its next render fails, and the caller starts a new one.
pub struct Session {
    store: Store<State>,
    instance: Instance,
    memory: wasmtime::Memory,
    alloc: TypedFunc<u32, u32>,
    render: TypedFunc<(u32, u32), u64>,
    free: TypedFunc<(u32, u32), ()>,
    limits: Limits,
    poisoned: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether a trap ended this instance (start a new session).
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Sends a RenderRequest JSON and returns the RenderResponse JSON.
    ///
    /// # Errors
    /// A trap (a panic in the core, its time or memory limit), an ABI mismatch, or a
    /// session that an earlier trap ended.
    pub fn call(&mut self, request: &[u8]) -> Result<Vec<u8>, CoreError> {
        self.render(request, true)
    }

    fn render(&mut self, request: &[u8], free: bool) -> Result<Vec<u8>, CoreError> {
        if self.poisoned {
            return Err(CoreError::internal(
                "the core instance trapped in an earlier render".to_owned(),
            ));
        }
        let result = self.render_inner(request, free);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn render_inner(&mut self, request: &[u8], free: bool) -> Result<Vec<u8>, CoreError> {
        let store = &mut self.store;
        store.set_epoch_deadline(self.limits.ticks());
        let len = u32::try_from(request.len())
            .map_err(|_| CoreError::internal("the request is larger than 4 GiB".to_owned()))?;
        let ptr = self
            .alloc
            .call(&mut *store, len)
            .map_err(|e| trap_error(&self.instance, store, e, self.limits))?;
        self.memory
            .write(&mut *store, ptr as usize, request)
            .map_err(|e| internal("writing the request", e))?;
        let packed = self
            .render
            .call(&mut *store, (ptr, len))
            .map_err(|e| trap_error(&self.instance, store, e, self.limits))?;
        let response = read_packed(&self.memory, store, packed)?;
        if free {
            // A one-shot call drops the whole instance instead. The render is done: freeing
            // its response is not held to its deadline.
            store.set_epoch_deadline(NO_DEADLINE);
            let (out_ptr, out_len) = ((packed >> 32) as u32, (packed & 0xffff_ffff) as u32);
            self.free
                .call(&mut *store, (out_ptr, out_len))
                .map_err(|e| trap_error(&self.instance, store, e, self.limits))?;
        }
        Ok(response)
    }
}

fn read_packed(
    memory: &wasmtime::Memory,
    store: &Store<State>,
    packed: u64,
) -> Result<Vec<u8>, CoreError> {
    let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    let data = memory.data(store);
    data.get(ptr..ptr + len).map(<[u8]>::to_vec).ok_or_else(|| {
        CoreError::internal("the core returned a buffer outside its memory".to_owned())
    })
}

/// A time limit as people write it: `10 s`, `250 ms`.
#[must_use]
pub fn duration(time: Duration) -> String {
    if time.subsec_millis() == 0 && time.as_secs() > 0 {
        format!("{} s", time.as_secs())
    } else {
        format!("{} ms", time.as_millis())
    }
}

/// The memory limit, as people write it: `512 MiB`.
#[must_use]
pub fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes / 1024 / 1024)
}

fn out_of_memory(limits: Limits) -> CoreError {
    CoreError {
        kind: Failure::Memory,
        message: format!(
            "the render needs more than {} of memory, the core's limit",
            mib(limits.memory)
        ),
    }
}

/// Explains a trap, with the core's panic message when it panicked.
fn trap_error(
    instance: &Instance,
    store: &mut Store<State>,
    error: wasmtime::Error,
    limits: Limits,
) -> CoreError {
    // The allocator aborts when the memory cannot grow, whatever the trap it ends in.
    if store.data().refused.is_some() {
        return out_of_memory(limits);
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::Interrupt => {
                return CoreError {
                    kind: Failure::Time,
                    message: format!(
                        "the render took longer than {}, the core's time limit",
                        duration(limits.time)
                    ),
                };
            }
            Trap::UnreachableCodeReached => {
                let message = instance
                    .get_typed_func::<(), u64>(&mut *store, "mr_panic_message")
                    .ok()
                    .and_then(|f| {
                        // A trapped instance may still be called for this.
                        store.set_epoch_deadline(NO_DEADLINE);
                        f.call(&mut *store, ()).ok()
                    })
                    .and_then(|packed| {
                        let memory = instance.get_memory(&mut *store, "memory")?;
                        read_packed(&memory, store, packed).ok()
                    })
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .filter(|m| !m.is_empty());
                return CoreError::internal(match message {
                    Some(m) => format!("the core panicked: {m}"),
                    None => "the core aborted (unreachable code reached)".to_owned(),
                });
            }
            other => return CoreError::internal(format!("the core trapped: {other}")),
        }
    }
    CoreError::internal(format!("the core failed: {error:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn the_core_runs_in_place_and_still_traps_cleanly() {
        let core = Core::load(Limits::default()).unwrap();
        assert!(
            core.in_place(),
            "the embedded core was copied instead of run in place"
        );
        let request = br#"{"values": [{"name": "v.yaml", "text": "a: [1"}]}"#;
        let response = core.call(request).unwrap();
        assert!(String::from_utf8_lossy(&response).contains("yaml-syntax"));
        let starved = Core::load(Limits {
            time: Duration::ZERO,
            ..Limits::default()
        })
        .unwrap();
        let error = starved.call(request).unwrap_err();
        assert_eq!(error.kind, Failure::Time, "{error}");
        assert!(error.message.contains("longer than 0 ms"), "{error}");
    }

    /// The clock stops a render that runs past its time, and the instance after it; a new
    /// instance of the same core renders again. The render here takes hundreds of
    /// milliseconds (60,000 map entries to read and check: 150 ms of CPU here), the limit is 1 ms.
    #[test]
    fn the_clock_stops_a_render_that_runs_too_long() {
        let mut values = String::from("element:\n  extraConfig:\n");
        // 830 kB: under the 1 MiB a values file may have.
        for i in 0..60_000 {
            values.push_str(&format!("    k{i}: 1\n"));
        }
        let request = serde_json::to_vec(&serde_json::json!({
            "values": [{"name": "values.yaml", "text": values}],
        }))
        .unwrap();
        let core = Core::load(Limits {
            time: Duration::from_millis(1),
            ..Limits::default()
        })
        .unwrap();
        let mut session = core.session().unwrap();
        let error = session.call(&request).unwrap_err();
        assert_eq!(error.kind, Failure::Time, "{error}");
        assert!(session.is_poisoned());
        let small = br#"{"values": [{"name": "v.yaml", "text": "a: [1"}]}"#;
        assert!(session.call(small).is_err());
        let response = core.session().unwrap().call(small).unwrap();
        assert!(String::from_utf8_lossy(&response).contains("yaml-syntax"));
    }

    /// A render that needs more memory than the limit fails as out of memory, whether the
    /// allocation that failed was small or large, and a limit below what the module needs
    /// at its start fails the same way at instantiation.
    #[test]
    fn a_refused_memory_growth_is_out_of_memory() {
        let request = serde_json::to_vec(&serde_json::json!({
            "values": [{"name": "v.yaml", "text": format!("a: \"{}\"", "x".repeat(900_000))}],
        }))
        .unwrap();
        for mib in [1, 2, 3] {
            let core = Core::load(Limits {
                memory: mib * 1024 * 1024,
                ..Limits::default()
            })
            .unwrap();
            let error = core.call(&request).unwrap_err();
            assert_eq!(error.kind, Failure::Memory, "{mib} MiB: {error}");
            assert_eq!(
                error.message,
                format!("the render needs more than {mib} MiB of memory, the core's limit")
            );
            assert!(error.report().contains("MATRIX_RENDER_MEMORY_MIB"));
        }
        let response = Core::load(Limits::default())
            .unwrap()
            .call(&request)
            .unwrap();
        assert!(String::from_utf8_lossy(&response).contains("unknown-key"));
    }

    #[test]
    fn deadlines_cover_the_time_limit() {
        let ticks = |ms| {
            Limits {
                time: Duration::from_millis(ms),
                ..Limits::default()
            }
            .ticks()
        };
        assert_eq!(ticks(0), 0);
        assert_eq!(ticks(1), 2);
        assert_eq!(ticks(10), 2);
        assert_eq!(ticks(11), 3);
        assert_eq!(ticks(10_000), 1_001);
        let forever = Limits {
            time: Duration::MAX,
            ..Limits::default()
        };
        assert_eq!(forever.ticks(), NO_DEADLINE);
        assert_eq!(duration(Duration::from_secs(10)), "10 s");
        assert_eq!(duration(Duration::from_millis(1500)), "1500 ms");
        assert_eq!(duration(Duration::ZERO), "0 ms");
    }

    /// A reused instance renders from its second render on in the core's arena, which is
    /// emptied when a render's last block is freed: memory stops growing, and every render
    /// gives the same bytes as the first (made with the system allocator) and as a one-shot
    /// instance (the arena from the start).
    #[test]
    fn a_reused_instance_gives_the_same_bytes_in_bounded_memory() {
        let fixture = |name: &str| {
            std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../tests/fixtures/seed")
                    .join(name),
            )
            .unwrap()
        };
        let request = serde_json::to_vec(&serde_json::json!({
            "values": [
                {"name": "values.yaml", "text": fixture("values.yaml")},
                {"name": "secrets.yaml", "text": fixture("secrets.yaml")},
            ],
            "set": ["matrixrtc.enabled=true"],
        }))
        .unwrap();
        let core = Core::load(Limits::default()).unwrap();
        let one_shot = core.call(&request).unwrap();
        assert!(String::from_utf8_lossy(&one_shot).starts_with("{\"ok\":true"));
        let mut session = core.session().unwrap();
        let mut pages = Vec::new();
        for _ in 0..12 {
            let response = session.call(&request).unwrap();
            assert!(
                response == one_shot,
                "a reused instance rendered other bytes"
            );
            pages.push(session.memory.size(&session.store));
        }
        // The first render (system allocator) and the second (the arena's first pages) may
        // grow memory; after that it must stay as it is.
        assert!(
            pages[2..].iter().all(|p| *p == pages[2]),
            "memory kept growing: {pages:?} pages"
        );
    }
}
