//! The io_uring layer: the only module that imports `tokio_uring` and the
//! only home of `unsafe` code in portier.
//!
//! Everything above this module sees portier's own types: [`Conn`] (a TCP or
//! Unix stream with owned-buffer reads and writes), [`Listener`],
//! [`WorkerRuntime`] and [`BufferPool`]. Replacing tokio-uring (for example
//! with compio) is a change to this module alone.
//!
//! Facts this module relies on (checked on Linux 6.18, see DESIGN.md):
//! dropping an in-flight operation does not cancel it, so callers that time
//! out call [`Conn::shutdown`] before dropping; idle connections wait with
//! [`Conn::readable`] (a PollAdd, no buffer pinned) and borrow a buffer from
//! the worker's [`BufferPool`] only once bytes have arrived.

pub mod buf;
pub mod deadline;
pub mod gather;
mod ops;
mod ready;
pub mod socket;
pub mod stream;
mod thp;
mod uring;

pub use buf::BufferPool;
pub use deadline::{now_ms, Expiry};
pub use gather::{Gather, GatherPool, Part};
pub use socket::{bind_listener, Conn, Listener};
pub use stream::Stream;
pub use thp::disable_transparent_huge_pages;
pub use uring::{spawn, RuntimeError, WorkerRuntime};
