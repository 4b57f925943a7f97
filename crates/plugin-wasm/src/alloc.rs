//! The allocator of the raw and Extism modules: the system allocator (dlmalloc on wasm32) or
//! a render arena.
//!
//! A render allocates and frees some ten thousand blocks, and nearly all of them are gone
//! when it returns: malloc and free were a seventh of all the instructions of a
//! `matrix-render render` run (callgrind, 16.8 M -> 15.0 M for the whole process with the
//! arena) and about a quarter of a reused instance's render time in a sampling profile. In
//! the arena a block is a pointer bump; freeing only counts, and when no arena block is left
//! alive the whole arena is free again.
//!
//! - A one-shot instance (`mr_one_shot`: the host renders once, then drops the instance)
//!   uses the arena from the start.
//! - A reused instance (the batch's, or an Extism host's plugin: each call that reads an
//!   input counts as a render) renders its first request with the system allocator,
//!   so that what lives on after a render (the parsed defaults, the panic hook: statics built
//!   on first use) lives in system blocks, then uses the arena from its second render on.
//!   If an arena block ever outlives a render (a static first built in a later render), the
//!   arena is retired: new blocks come from the system allocator again, so memory stays
//!   bounded, and the arena's blocks stay valid until freed.
//!
//! Soundness rests on two rules: the arena is emptied only when its count of live blocks is
//! zero, and a block is told apart by its address (the arena is one range of pages that this
//! allocator grew, and the system allocator never grows memory while the arena is in use,
//! since it allocates nothing then). A failed `memory.grow` (the host's memory limit) returns
//! null, which Rust turns into an allocation-failure trap, as with the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Pages (64 KiB) taken at least per `memory.grow`: 1 MiB, so a render grows memory a few
/// times rather than once per large block.
const GROW_PAGES: usize = 16;
const PAGE: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every block from the system allocator.
    System,
    /// New blocks from the arena.
    Arena,
    /// New blocks from the system allocator again; arena blocks are still recognised.
    Retired,
}

/// See the module documentation.
#[derive(Debug)]
pub struct CoreAllocator {
    mode: Cell<Mode>,
    renders: Cell<u32>,
    /// The arena: `floor..end`, with the next free byte at `top`; `end` is 0 before the first
    /// block.
    floor: Cell<usize>,
    top: Cell<usize>,
    end: Cell<usize>,
    /// Arena blocks not yet freed.
    live: Cell<usize>,
}

// SAFETY: wasm32 without the `atomics` feature runs one thread, so the cells are never
// touched concurrently (the module is only compiled for that target).
#[expect(unsafe_code, reason = "a global allocator must be Sync")]
unsafe impl Sync for CoreAllocator {}

impl CoreAllocator {
    pub const fn new() -> Self {
        Self {
            mode: Cell::new(Mode::System),
            renders: Cell::new(0),
            floor: Cell::new(0),
            top: Cell::new(0),
            end: Cell::new(0),
            live: Cell::new(0),
        }
    }

    /// `mr_one_shot`: the arena from now on.
    #[cfg_attr(
        not(feature = "raw"),
        expect(dead_code, reason = "only the raw ABI has one-shot instances")
    )]
    pub fn set_one_shot(&self) {
        if self.mode.get() == Mode::System {
            self.mode.set(Mode::Arena);
        }
    }

    /// Called as each render starts, with the request buffer allocated: the second render
    /// of an instance switches to the arena; a render that finds arena blocks left over
    /// from the previous one (more than its request) retires the arena.
    pub fn render_starts(&self) {
        match self.mode.get() {
            Mode::System if self.renders.get() > 0 => self.mode.set(Mode::Arena),
            Mode::Arena if self.live.get() > 1 => self.mode.set(Mode::Retired),
            _ => {}
        }
        self.renders.set(self.renders.get().saturating_add(1));
    }

    fn in_arena(&self, ptr: usize) -> bool {
        self.end.get() != 0 && (self.floor.get()..self.end.get()).contains(&ptr)
    }

    /// Whether the arena block at `start` of `size` bytes is its last one.
    fn is_top(&self, start: usize, size: usize) -> bool {
        start + size.max(1) == self.top.get()
    }

    /// A new arena block, or null when memory cannot grow.
    #[expect(
        unsafe_code,
        reason = "falls back to the system allocator when the arena cannot grow in place"
    )]
    fn bump(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        // Zero-sized blocks take a byte, so every block lies inside `floor..end`.
        let size = layout.size().max(1);
        // `align` is a power of two: a mask, where `next_multiple_of` would divide. An
        // overflow (which memory never reaches) lands past `end` and takes the grow path.
        let mut start = self
            .top
            .get()
            .checked_add(align - 1)
            .map_or(usize::MAX, |end| end & !(align - 1));
        if self.end.get() == 0 || start.saturating_add(size) > self.end.get() {
            let pages = size.saturating_add(align).div_ceil(PAGE).max(GROW_PAGES);
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return std::ptr::null_mut();
            }
            let base = old * PAGE;
            if base != self.end.get() {
                // Not contiguous with the arena (only the first time: nothing else grows
                // memory meanwhile): start it here if it is empty, else retire it.
                if self.live.get() != 0 {
                    self.mode.set(Mode::Retired);
                    // The pages just grown stay unused: this happens at most once.
                    // SAFETY: a valid layout, as the caller's.
                    return unsafe { System.alloc(layout) };
                }
                self.floor.set(base);
                start = base.next_multiple_of(align);
            }
            self.end.set(base + pages * PAGE);
        }
        self.top.set(start + size);
        self.live.set(self.live.get() + 1);
        start as *mut u8
    }

    /// Frees an arena block: the last one gives its bytes back; no live block left empties
    /// the arena.
    fn release(&self, start: usize, size: usize) {
        let live = self.live.get().saturating_sub(1);
        self.live.set(live);
        if live == 0 {
            self.top.set(self.floor.get());
        } else if self.is_top(start, size) {
            self.top.set(start);
        }
    }
}

#[expect(unsafe_code, reason = "the GlobalAlloc implementation")]
// SAFETY: every block handed out is `layout.size()` bytes of otherwise unused linear memory,
// aligned to `layout.align()`. Arena blocks lie in pages only this allocator grew, never
// overlap (the top moves up, back over the very block being freed or grown at the top, or
// to the floor when no arena block is alive), and go back only to the arena (told apart by
// address); system blocks come from `System` and go back only to it.
unsafe impl GlobalAlloc for CoreAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.mode.get() == Mode::Arena {
            self.bump(layout)
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.in_arena(ptr as usize) {
            self.release(ptr as usize, layout.size());
        } else {
            // SAFETY: the caller's contract, passed on: a block outside the arena is a
            // system block.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        let in_arena = self.in_arena(start);
        if !in_arena && self.mode.get() != Mode::Arena {
            // SAFETY: the caller's contract, passed on.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The arena's last block grows or shrinks in place when the arena has room.
        if in_arena
            && self.mode.get() == Mode::Arena
            && self.is_top(start, layout.size())
            && start.saturating_add(new_size.max(1)) <= self.end.get()
        {
            self.top.set(start + new_size.max(1));
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a valid, non-zero-sized layout (the caller's contract on `new_size`).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap (the
            // old one is still allocated while the new one is handed out); then the old one
            // is freed by whoever gave it out.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}
