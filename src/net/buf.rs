//! Per-worker pools of owned buffers. A connection borrows one only while it
//! has bytes to hold and gives it back when done, so an idle keep-alive
//! connection costs no buffer at all.
//!
//! What a pool keeps after a burst is bounded, and given back to the
//! allocator when it goes unused: [`Kept::trim`] (run every second by the
//! worker) frees the items that stayed in the pool for the whole interval.

use std::cell::{Cell, RefCell};

/// A bounded stack of reusable items that forgets the ones nobody needed
/// since the last [`Kept::trim`] (single-threaded: one per worker).
pub struct Kept<T> {
    max: usize,
    items: RefCell<Vec<T>>,
    /// The fewest items held since the last trim: that many were not used.
    low: Cell<usize>,
}

impl<T> Kept<T> {
    pub const fn new(max: usize) -> Self {
        Self {
            max,
            items: RefCell::new(Vec::new()),
            low: Cell::new(0),
        }
    }

    pub fn pop(&self) -> Option<T> {
        let mut items = self.items.borrow_mut();
        let item = items.pop();
        self.low.set(self.low.get().min(items.len()));
        item
    }

    /// Keeps `item` unless the stack is full (then it is dropped).
    pub fn push(&self, item: T) {
        let mut items = self.items.borrow_mut();
        if items.len() < self.max {
            items.push(item);
        }
    }

    /// Drops the items that stayed unused since the last trim (the bottom
    /// of the stack: the least recently used).
    pub fn trim(&self) {
        let mut items = self.items.borrow_mut();
        let unused = self.low.get().min(items.len());
        items.drain(..unused);
        self.low.set(items.len());
    }

    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A stack of cleared buffers of one capacity (single-threaded: one per worker).
pub struct BufferPool {
    capacity: usize,
    free: Kept<Vec<u8>>,
}

impl BufferPool {
    pub fn new(capacity: usize, max_kept: usize) -> Self {
        Self {
            capacity,
            free: Kept::new(max_kept),
        }
    }

    /// The capacity of the buffers this pool hands out.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// An empty buffer with at least `capacity()` bytes of spare room.
    pub fn take(&self) -> Vec<u8> {
        match self.free.pop() {
            Some(buf) => buf,
            None => Vec::with_capacity(self.capacity),
        }
    }

    /// Returns a buffer; buffers of another capacity (grown or foreign) and
    /// buffers beyond the pool's bound are freed.
    pub fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() != self.capacity {
            return;
        }
        buf.clear();
        self.free.push(buf);
    }

    /// Frees the buffers nobody used since the last trim.
    pub fn trim(&self) {
        self.free.trim();
    }

    /// Buffers currently kept (for metrics and tests).
    pub fn kept(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_bounds() {
        let pool = BufferPool::new(64, 1);
        let mut a = pool.take();
        a.extend_from_slice(b"abc");
        let ptr = a.as_ptr();
        pool.give(a);
        pool.give(Vec::with_capacity(64));
        assert_eq!(pool.kept(), 1);
        let b = pool.take();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr);
        pool.give(Vec::with_capacity(10));
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn trim_frees_what_stayed_unused_for_a_whole_interval() {
        let kept = Kept::new(8);
        (0..6).for_each(|i| kept.push(i));
        kept.trim(); // the interval before: nothing known unused yet
        assert_eq!(kept.len(), 6);
        // A burst uses two of them, then returns them.
        let (a, b) = (kept.pop(), kept.pop());
        kept.push(b.unwrap_or_default());
        kept.push(a.unwrap_or_default());
        kept.trim();
        assert_eq!(kept.len(), 2, "the four never popped are freed");
        kept.trim();
        assert_eq!(kept.len(), 0, "then the rest, unused for a whole interval");
        kept.push(1);
        assert!(!kept.is_empty());
    }
}
