//! Per-worker pools of owned buffers. A connection borrows one only while it
//! has bytes to hold and gives it back when done, so an idle keep-alive
//! connection costs no buffer at all.

use std::cell::RefCell;

/// A stack of cleared buffers of one capacity (single-threaded: one per worker).
pub struct BufferPool {
    capacity: usize,
    max_kept: usize,
    free: RefCell<Vec<Vec<u8>>>,
}

impl BufferPool {
    pub fn new(capacity: usize, max_kept: usize) -> Self {
        Self {
            capacity,
            max_kept,
            free: RefCell::new(Vec::new()),
        }
    }

    /// The capacity of the buffers this pool hands out.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// An empty buffer with at least `capacity()` bytes of spare room.
    pub fn take(&self) -> Vec<u8> {
        match self.free.borrow_mut().pop() {
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
        let mut free = self.free.borrow_mut();
        if free.len() < self.max_kept {
            buf.clear();
            free.push(buf);
        }
    }

    /// Buffers currently kept (for metrics and tests).
    pub fn kept(&self) -> usize {
        self.free.borrow().len()
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
}
