//! The `raw` ABI: linear-memory buffers and one render call.
//!
//! - `mr_one_shot()`, optional and first: the instance renders once and is then dropped, so
//!   its allocator can use the render arena from the start (see `alloc`; a reused instance
//!   switches to it from its second render on);
//! - `mr_alloc(len) -> ptr` reserves `len` bytes for the host to write a request into;
//! - `mr_render(ptr, len) -> (out_ptr << 32) | out_len` takes ownership of the request buffer,
//!   renders it, and returns a RenderResponse JSON buffer that the host reads and then frees;
//! - `mr_free(ptr, len)` releases a buffer returned by `mr_alloc` or `mr_render`;
//! - `mr_panic_message() -> (ptr << 32) | len` holds the message of a panic after the trap it
//!   caused (empty when none), so the host can report it.
//!
//! All integers are u32 offsets and lengths in the module's memory.

use std::sync::{Mutex, Once};

static PANIC_MESSAGE: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

fn install_panic_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Ok(mut slot) = PANIC_MESSAGE.lock() {
                *slot = info.to_string().into_bytes();
            }
        }));
    });
}

fn pack(ptr: *const u8, len: usize) -> u64 {
    // wasm32 pointers and lengths fit in 32 bits.
    ((ptr as usize as u64) << 32) | (len as u64)
}

fn leak(bytes: Vec<u8>) -> u64 {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed).cast::<u8>();
    pack(ptr, len)
}

/// Declares this instance one-shot: it renders once and is then dropped, so its first render
/// can already allocate from the render arena. Call it first, before `mr_alloc`; an
/// instance that renders many times never calls it.
#[expect(unsafe_code, reason = "an exported symbol of the wasm ABI")]
#[unsafe(no_mangle)]
pub extern "C" fn mr_one_shot() {
    #[cfg(all(
        target_arch = "wasm32",
        target_os = "unknown",
        not(target_feature = "atomics")
    ))]
    crate::ALLOCATOR.set_one_shot();
}

/// Reserves `len` bytes and returns their offset.
#[expect(unsafe_code, reason = "an exported symbol of the wasm ABI")]
#[unsafe(no_mangle)]
pub extern "C" fn mr_alloc(len: u32) -> u32 {
    let buffer = vec![0_u8; len as usize].into_boxed_slice();
    Box::into_raw(buffer).cast::<u8>() as usize as u32
}

/// Frees a buffer from `mr_alloc` or `mr_render`.
///
/// # Safety
/// `ptr` and `len` must describe a buffer this module handed out and not yet freed.
#[expect(
    unsafe_code,
    reason = "an exported symbol of the wasm ABI that takes back a buffer"
)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mr_free(ptr: u32, len: u32) {
    let slice = std::ptr::slice_from_raw_parts_mut(ptr as usize as *mut u8, len as usize);
    // SAFETY: the caller returns a buffer that `mr_alloc` or `leak` created with this length.
    drop(unsafe { Box::from_raw(slice) });
}

/// Renders the RenderRequest JSON at `ptr..ptr+len` (taking ownership of that buffer).
///
/// # Safety
/// `ptr` and `len` must describe a buffer from `mr_alloc`.
#[expect(
    unsafe_code,
    reason = "an exported symbol of the wasm ABI that reads a host-written buffer"
)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mr_render(ptr: u32, len: u32) -> u64 {
    install_panic_hook();
    #[cfg(all(
        target_arch = "wasm32",
        target_os = "unknown",
        not(target_feature = "atomics")
    ))]
    crate::ALLOCATOR.render_starts();
    let slice = std::ptr::slice_from_raw_parts_mut(ptr as usize as *mut u8, len as usize);
    // SAFETY: the caller passes a buffer from `mr_alloc` of exactly this length.
    let request = unsafe { Box::from_raw(slice) };
    let response = matrix_render_renderer::render_json(&request);
    drop(request);
    leak(response.into_bytes())
}

/// The message of the last panic, if any.
#[expect(unsafe_code, reason = "an exported symbol of the wasm ABI")]
#[unsafe(no_mangle)]
pub extern "C" fn mr_panic_message() -> u64 {
    let message = PANIC_MESSAGE.lock().map(|m| m.clone()).unwrap_or_default();
    leak(message)
}
