//! The plugins' allocator: blocks of a few size classes, kept on free lists, over a general
//! allocator (talc in a plugin) for everything else.
//!
//! A step call parses names, addresses and text into many small, short-lived strings and
//! vectors, and lifting the host's answers into the plugin allocates one block per string.
//! Measured on the identity benchmark (50,000 messages through the identity and merger
//! plugins), talc's allocate and deallocate took a quarter of the plugins' time: a general
//! allocator splits and coalesces blocks on every call. With the size classes in front, the
//! benchmark's 50,000 messages took 8.6 s instead of 9.9 s (medians of four alternating runs
//! on a 2-core machine), 5,000 took 0.72 s instead of 0.84 s. Here a block of at most
//! [`LARGEST`] bytes is rounded up to a power of two; freeing it pushes it on its class's
//! list and allocating pops it, a few instructions each. New blocks are cut from slabs of
//! [`SLAB`] bytes taken from the general allocator; larger or more strictly aligned requests
//! go to it directly.
//!
//! The cost: a freed small block stays in its class for later requests of that class and
//! is never handed back (nor could a WebAssembly memory shrink), and rounding up wastes up to
//! half a block. A plugin's memory so stays near the peak of its small blocks plus what its
//! large ones need; the instance's memory limit still applies to the total.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};

/// The smallest class, which is also the alignment every class block has.
const SMALLEST: usize = 16;
/// The largest class: requests above it go to the general allocator.
pub const LARGEST: usize = 4096;
/// Classes 16, 32, ..., 4096 bytes: one per power of two from SMALLEST to LARGEST.
const CLASSES: usize = (LARGEST.trailing_zeros() - SMALLEST.trailing_zeros() + 1) as usize;
/// How much is taken from the general allocator at a time to cut new blocks from.
pub const SLAB: usize = 64 * 1024;

/// The class of a request, or None when the general allocator serves it.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > LARGEST || layout.align() > SMALLEST {
        return None;
    }
    let size = layout.size().max(SMALLEST);
    // 16 -> 0, 17..=32 -> 1, ..., 2049..=4096 -> 8.
    Some((usize::BITS - (size - 1).leading_zeros()) as usize - SMALLEST.trailing_zeros() as usize)
}

const fn class_size(class: usize) -> usize {
    SMALLEST << class
}

struct State {
    /// The first free block of each class; a free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// What is left of the current slab: `next` up to `end`.
    next: *mut u8,
    end: *mut u8,
}

/// Size classes over `A`. Not for threads: a plugin instance runs one call at a time on one
/// thread (WebAssembly without the threads proposal), and only there is it `Sync`, as a
/// `global_allocator` must be.
pub struct SizeClasses<A> {
    general: A,
    state: UnsafeCell<State>,
}

// SAFETY: WebAssembly without the threads proposal has one thread, so the state is never
// reached from two at once. Elsewhere (the tests) the allocator is not `Sync`: each instance
// stays on the thread that made it.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[allow(unsafe_code)]
unsafe impl<A: Sync> Sync for SizeClasses<A> {}

impl<A> SizeClasses<A> {
    /// An allocator with empty free lists, over `general`.
    pub const fn new(general: A) -> SizeClasses<A> {
        SizeClasses {
            general,
            state: UnsafeCell::new(State {
                free: [ptr::null_mut(); CLASSES],
                next: ptr::null_mut(),
                end: ptr::null_mut(),
            }),
        }
    }
}

#[allow(unsafe_code)]
impl<A: GlobalAlloc> SizeClasses<A> {
    /// A new block of `class`, cut from the current slab or from a new one.
    ///
    /// # Safety
    /// The caller holds the only access to `state`.
    unsafe fn cut(&self, state: &mut State, class: usize) -> *mut u8 {
        let size = class_size(class);
        if (state.end as usize) - (state.next as usize) < size {
            // SAFETY: SLAB is non-zero and a power of two, so the layout is valid.
            let slab = unsafe { self.general.alloc(Layout::from_size_align_unchecked(SLAB, SMALLEST)) };
            if slab.is_null() {
                return slab;
            }
            // The rest of the old slab (less than one block of this class) is left unused.
            state.next = slab;
            // SAFETY: `slab` points to SLAB bytes.
            state.end = unsafe { slab.add(SLAB) };
        }
        let block = state.next;
        // SAFETY: at least `size` bytes are left before `end`.
        state.next = unsafe { block.add(size) };
        block
    }
}

#[allow(unsafe_code)]
// SAFETY: every block handed out is `class_size` bytes (at least the request) at an address
// aligned to SMALLEST (slabs are, and classes are multiples of it), or comes from the general
// allocator with the caller's layout; a block is on at most one free list, and only blocks
// the caller gives back are put there.
unsafe impl<A: GlobalAlloc> GlobalAlloc for SizeClasses<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { self.general.alloc(layout) };
        };
        // SAFETY: single-threaded (see `Sync`), and no reference to the state outlives a call.
        let state = unsafe { &mut *self.state.get() };
        let head = state.free[class];
        if let Some(block) = NonNull::new(head) {
            // SAFETY: a free block holds the next free block's address in its first bytes.
            state.free[class] = unsafe { block.as_ptr().cast::<*mut u8>().read() };
            return head;
        }
        // SAFETY: as above.
        unsafe { self.cut(state, class) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { self.general.dealloc(block, layout) };
        };
        // SAFETY: single-threaded (see `Sync`).
        let state = unsafe { &mut *self.state.get() };
        // SAFETY: the block is at least SMALLEST bytes, aligned, and the caller's no longer.
        unsafe { block.cast::<*mut u8>().write(state.free[class]) };
        state.free[class] = block;
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` rounded up to the alignment does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            // Still fits the block it has.
            (Some(old), Some(new)) if old == new => block,
            // SAFETY: forwarded with the caller's guarantees.
            (None, None) => unsafe { self.general.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: `new_layout` is valid (see above) and non-zero when `layout` was.
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and do not overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use std::alloc::System;
    use std::collections::HashSet;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn requests_fall_in_the_smallest_class_that_holds_them() {
        for (size, align, class) in [
            (1, 1, Some(0)),
            (16, 8, Some(0)),
            (17, 1, Some(1)),
            (32, 4, Some(1)),
            (33, 16, Some(2)),
            (100, 8, Some(3)),
            (2048, 8, Some(7)),
            (2049, 8, Some(8)),
            (4096, 16, Some(8)),
            (4097, 8, None),
            (64, 32, None),
            (1 << 20, 8, None),
        ] {
            assert_eq!(class_of(layout(size, align)), class, "{size} bytes, aligned to {align}");
            if let Some(class) = class {
                assert!(class_size(class) >= size);
            }
        }
    }

    #[test]
    fn blocks_are_aligned_apart_and_reused_after_a_free() {
        let heap = SizeClasses::new(System);
        unsafe {
            let mut live = Vec::new();
            let mut seen = HashSet::new();
            for size in [1, 7, 16, 24, 40, 100, 500, 1000, 3000, 4096, 5000, 70_000] {
                for _ in 0..50 {
                    let l = layout(size, 8);
                    let block = heap.alloc(l);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % 8, 0);
                    // Fill it: overlapping blocks would overwrite each other's pattern.
                    ptr::write_bytes(block, (size % 251) as u8, size);
                    assert!(seen.insert(block as usize), "{size}: a live block handed out twice");
                    live.push((block, l));
                }
            }
            for &(block, l) in &live {
                let expected = (l.size() % 251) as u8;
                assert!(
                    std::slice::from_raw_parts(block, l.size())
                        .iter()
                        .all(|b| *b == expected)
                );
            }
            // A freed block of a class is the next one that class hands out.
            let (block, l) = live[60];
            heap.dealloc(block, l);
            assert_eq!(heap.alloc(l), block);
            for (block, l) in live {
                heap.dealloc(block, l);
            }
        }
    }

    #[test]
    fn realloc_keeps_the_contents_across_classes_and_to_the_general_allocator() {
        let heap = SizeClasses::new(System);
        unsafe {
            let mut l = layout(10, 1);
            let mut block = heap.alloc(l);
            ptr::copy_nonoverlapping(b"0123456789".as_ptr(), block, 10);
            for new_size in [12, 16, 17, 200, 4096, 10_000, 300, 5, 10] {
                block = heap.realloc(block, l, new_size);
                assert!(!block.is_null());
                let kept = l.size().min(new_size).min(10);
                assert_eq!(std::slice::from_raw_parts(block, kept), &b"0123456789"[..kept]);
                l = layout(new_size, 1);
            }
            heap.dealloc(block, l);
        }
    }
}
