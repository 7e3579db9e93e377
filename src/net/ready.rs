//! Persistent readiness for upstream connections: an edge-triggered epoll
//! registration (tokio's reactor, which the io_uring runtime already polls
//! every loop) and non-blocking `recv`.
//!
//! An upstream connection waits for a response on every request. A one-shot
//! io_uring poll (or a read that arms one) is set up and torn down each
//! time; a registration is made once per connection and only signals.
//! Upstream connections are few and pooled, so the registration's memory
//! (tokio's per-fd state) does not matter there. Client connections, which
//! are many and mostly idle, keep waiting with a one-shot PollAdd that holds
//! no memory while armed.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

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

    /// Reads at most `max` bytes into the spare capacity of `buf`, waiting
    /// for readiness while the socket has nothing. `Ok(0)`: end of stream.
    pub(crate) async fn read(&self, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let asked = buf.capacity().saturating_sub(buf.len()).min(max);
        loop {
            let mut guard = self.fd.readable().await?;
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
