//! Persistent readiness: an edge-triggered epoll registration (tokio's
//! reactor, which the io_uring runtime already polls every loop) and
//! non-blocking `recv`.
//!
//! A connection that carries request after request waits for bytes each
//! time. A one-shot io_uring poll is set up and torn down per wait (an SQE,
//! a CQE, a wake of the ring); a registration is made once and only
//! signals, which is measurably cheaper per request. It costs tokio's
//! per-fd state (~256 B) for as long as it lives, so:
//! - upstream connections, few and pooled, are registered for life;
//! - client connections are registered while they are busy (from their
//!   third request) and deregistered once they idle for a second (see
//!   `Conn::readable`), so the many idle keep-alive connections wait with a
//!   one-shot PollAdd that holds no memory while armed.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::ops;

/// The descriptor, borrowed: the stream beside the registration owns it and
/// outlives it (the registration is dropped first).
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

pub(crate) struct Registration {
    fd: AsyncFd<Fd>,
}

impl Registration {
    /// Registers `fd`, which must stay open for the registration's whole
    /// life (its owner drops the registration before closing it).
    pub(crate) fn new(fd: RawFd) -> io::Result<Self> {
        // SAFETY: `fd` is the open socket of the stream stored beside this
        // registration in the same `Inner`; `Inner` declares the
        // registration first, so it is dropped (deregistered) before the
        // stream closes the descriptor, and `Fd` always returns that same
        // descriptor. We run inside the worker's runtime, which has a reactor.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(fd), Interest::READABLE) };
        match fd {
            Ok(fd) => Ok(Self { fd }),
            Err(e) => Err(e.into_parts().1),
        }
    }

    /// Polls for readability (or a closed or failed socket). The readiness
    /// is kept: the read that follows is what clears it.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.fd.poll_read_ready(cx).map(|r| r.map(|_guard| ()))
    }

    /// Reads at most `max` bytes into the spare capacity of `buf`, waiting
    /// for readiness while the socket has nothing. `Ok(0)`: end of stream.
    pub(crate) async fn read(&self, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let asked = buf.capacity().saturating_sub(buf.len()).min(max);
        loop {
            // `poll_read_ready` keeps one waker slot per direction; the
            // `readable()` future would link a waiter into a locked list and
            // unlink it again on every wait.
            let mut guard = std::future::poll_fn(|cx| self.fd.poll_read_ready(cx)).await?;
            match ops::try_recv(self.fd.get_ref().0, buf, max)? {
                Some(n) => {
                    // A short read emptied the socket: forget the readiness
                    // now rather than learn it from an EAGAIN on the next
                    // read (what tokio's own streams do). Bytes arriving
                    // since the readiness was seen bring a new edge, which
                    // this clear does not erase.
                    if n > 0 && n < asked {
                        guard.clear_ready();
                    }
                    return Ok(n);
                }
                None => guard.clear_ready(),
            }
        }
    }
}
