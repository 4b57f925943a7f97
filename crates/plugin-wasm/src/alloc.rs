//! The raw module's allocator: the system allocator (dlmalloc on wasm32), or, for an
//! instance the host renders with once and then drops, a bump allocator that never frees.
//!
//! A one-shot instance's memory is thrown away whole after its one render, so freeing block
//! by block is wasted work: malloc and free were a seventh of all the instructions of a
//! `matrix-render render` run (measured with callgrind: 16.8 M -> 14.4 M for the whole
//! process). The host asks for it with `mr_one_shot` before anything is allocated; a
//! long-lived instance (the batch's) never calls it and keeps the system allocator.
//!
//! Safety of the switch: it happens once and never back, so a block from the system
//! allocator is never given to the bump allocator's bookkeeping: after the switch, freeing
//! any block is a no-op (a block allocated before it just stays), and growing one copies it.
//! The bump region takes fresh pages from `memory.grow`, which the system allocator then
//! never sees. A failed `memory.grow` (the host's memory limit) returns null, which Rust
//! turns into an allocation-failure trap, as with the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Pages (64 KiB) taken at least per `memory.grow`: 1 MiB, so a render grows memory a few
/// times rather than once per large block.
const GROW_PAGES: usize = 16;
const PAGE: usize = 65_536;

/// See the module documentation.
#[derive(Debug)]
pub struct CoreAllocator {
    one_shot: Cell<bool>,
    /// The bump region: where it starts, its next free byte, and its end. Only a block
    /// inside it can be taken back or grown in place.
    floor: Cell<usize>,
    top: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: wasm32 without the `atomics` feature runs one thread, so the cells are never
// touched concurrently (the module is only compiled for that target).
#[expect(unsafe_code, reason = "a global allocator must be Sync")]
unsafe impl Sync for CoreAllocator {}

impl CoreAllocator {
    pub const fn new() -> Self {
        Self {
            one_shot: Cell::new(false),
            floor: Cell::new(0),
            top: Cell::new(0),
            end: Cell::new(0),
        }
    }

    /// Switches to bump allocation for the rest of the instance's life.
    pub fn set_one_shot(&self) {
        self.one_shot.set(true);
    }

    /// Whether the block at `start` of `size` bytes is the last one of the bump region.
    fn is_top(&self, start: usize, size: usize) -> bool {
        start >= self.floor.get() && start + size == self.top.get()
    }

    fn bump(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        let size = layout.size();
        let mut start = self.top.get().next_multiple_of(align);
        if self.end.get() == 0 || start.saturating_add(size) > self.end.get() {
            let pages = size.saturating_add(align).div_ceil(PAGE).max(GROW_PAGES);
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return std::ptr::null_mut();
            }
            let base = old * PAGE;
            // Continue the region when the new pages follow it; start over otherwise.
            if base != self.end.get() {
                self.floor.set(base);
                start = base.next_multiple_of(align);
            }
            self.end.set(base + pages * PAGE);
        }
        self.top.set(start + size);
        start as *mut u8
    }
}

#[expect(unsafe_code, reason = "the GlobalAlloc implementation")]
// SAFETY: every block handed out is `layout.size()` bytes of otherwise unused linear memory,
// aligned to `layout.align()`: bump blocks come from pages only this allocator grew and
// never overlap (the top only moves up, or back over the very block being freed or grown
// at the top); system blocks come from `System` and go back only to it.
unsafe impl GlobalAlloc for CoreAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.one_shot.get() {
            self.bump(layout)
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.one_shot.get() {
            // The last block can be taken back; any other stays until the instance goes.
            if self.is_top(ptr as usize, layout.size()) {
                self.top.set(ptr as usize);
            }
        } else {
            // SAFETY: the caller's contract, passed on; before the switch every block is a
            // system block.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.one_shot.get() {
            // SAFETY: the caller's contract, passed on.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let start = ptr as usize;
        // The block at the top grows or shrinks in place when the region has room.
        if self.is_top(start, layout.size()) && start.saturating_add(new_size) <= self.end.get() {
            self.top.set(start + new_size);
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = self.bump(new_layout);
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap (the new
            // one lies above the top the old one ended below).
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
        }
        new
    }
}
