//! Sockets: `SO_REUSEPORT` listeners made with socket2, and [`Conn`], a TCP
//! or Unix stream with owned-buffer reads and writes on the worker's ring.

use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio_uring::buf::BoundedBuf;

use super::deadline::{self, Expire, Expiry, Timer};
use super::gather::Gather;
use super::ops;
use super::ready::Registration;

/// How long a warm client connection keeps its epoll registration while
/// idle (see [`Conn::warm`]).
pub const HOT_IDLE: Duration = Duration::from_secs(1);

/// Creates a listening socket with `SO_REUSEPORT` (each worker binds its own
/// socket to the same address and the kernel spreads connections), IPv6
/// sockets v6-only, non-blocking, with the given backlog.
pub fn bind_listener(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// One worker's accepting socket.
pub struct Listener {
    inner: tokio_uring::net::TcpListener,
}

impl Listener {
    /// Takes a listener made by [`bind_listener`] onto the current worker's ring.
    pub fn from_std(listener: std::net::TcpListener) -> Self {
        Self {
            inner: tokio_uring::net::TcpListener::from_std(listener),
        }
    }

    /// Accepts one connection (TCP_NODELAY set).
    pub async fn accept(&self) -> io::Result<(Conn, SocketAddr)> {
        let (stream, peer) = self.inner.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((Conn::new(Stream::Tcp(stream)), peer))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Stops accepting: a pending accept completes with an error and queued
    /// connections are reset, so shutdown never leaks an accepted socket.
    pub fn stop(&self) {
        // SAFETY: shutdown(2) on a descriptor this listener owns and keeps
        // open for the duration of the call; no memory is passed.
        unsafe {
            libc::shutdown(self.inner.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
}

thread_local! {
    /// Scratch space for direct (synchronous) gathered sends.
    static SEND_SCRATCH: std::cell::RefCell<ops::SendScratch> = const { std::cell::RefCell::new(ops::SendScratch::new()) };
}

/// Aborts a pending non-blocking connect so that a poll on it completes.
fn abort_connect(fd: i32) {
    // SAFETY: an all-zero sockaddr with family AF_UNSPEC is a valid argument;
    // connect(2) with AF_UNSPEC dissolves the association of a socket this
    // function's caller owns. No memory outlives the call.
    unsafe {
        let mut addr: libc::sockaddr = std::mem::zeroed();
        addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            fd,
            &addr,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        );
    }
}

enum Stream {
    Tcp(tokio_uring::net::TcpStream),
    Unix(tokio_uring::net::UnixStream),
}

struct Inner {
    /// The epoll registration, when reads wait on one (upstream connections
    /// always, busy client connections; see `ready.rs`). Declared first so
    /// that it is dropped (deregistered) before the stream closes the
    /// descriptor; only cloned for the length of one wait, which borrows
    /// the connection.
    registration: RefCell<Option<Rc<Registration>>>,
    stream: Stream,
    timer: Timer,
}

impl std::ops::Deref for Inner {
    type Target = Stream;

    fn deref(&self) -> &Stream {
        &self.stream
    }
}

fn shutdown_stream(stream: &Stream, how: Shutdown) {
    let _ = match stream {
        Stream::Tcp(s) => s.shutdown(how),
        Stream::Unix(s) => s.shutdown(how),
    };
}

impl Expire for Inner {
    fn timer(&self) -> &Timer {
        &self.timer
    }

    fn expire(&self, how: Expiry) {
        let how = match how {
            Expiry::Close => Shutdown::Both,
            Expiry::StopReading => Shutdown::Read,
        };
        shutdown_stream(&self.stream, how);
    }
}

/// A connected stream. Cloning is cheap and shares the socket; the socket is
/// closed when the last clone and the last in-flight operation are gone.
#[derive(Clone)]
pub struct Conn {
    stream: Rc<Inner>,
}

impl Conn {
    fn new(stream: Stream) -> Self {
        Self::with_registration(stream, None)
    }

    /// An upstream connection: reads wait on a persistent epoll
    /// registration (see `ready.rs`), or on the ring if registering fails.
    fn new_registered(stream: Stream) -> Self {
        let fd = match &stream {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        };
        Self::with_registration(stream, Registration::new(fd).ok().map(Rc::new))
    }

    fn with_registration(stream: Stream, registration: Option<Rc<Registration>>) -> Self {
        let inner = Rc::new(Inner {
            registration: RefCell::new(registration),
            stream,
            timer: Timer::default(),
        });
        let weak: std::rc::Weak<dyn Expire> = Rc::downgrade(&inner) as std::rc::Weak<dyn Expire>;
        deadline::register(weak);
        Self { stream: inner }
    }

    /// Arms this connection's deadline `limit` from now: past it, the
    /// worker's sweep shuts the socket (`how`), ending the operation in
    /// flight. Pair with [`Conn::disarm`].
    pub fn arm(&self, limit: std::time::Duration, how: Expiry) {
        self.stream.timer.arm(limit, how);
    }

    /// Arms the deadline at an absolute [`deadline::now_ms`] time.
    pub fn arm_at(&self, at_ms: u64, how: Expiry) {
        self.stream.timer.arm_at(at_ms, how);
    }

    /// Disarms the deadline; true when it had passed (the operation that
    /// just ended was cut short, whatever it returned).
    pub fn disarm(&self) -> bool {
        self.stream.timer.disarm()
    }

    /// Marks the connection as waiting between requests until the next
    /// `disarm`: shutdown closes it at once.
    pub fn set_idle(&self) {
        self.stream.timer.set_idle();
    }

    /// Connects over TCP within `limit` (TCP_NODELAY set). Returns
    /// `ErrorKind::TimedOut` when the limit passes; the attempt is then
    /// aborted (`connect(AF_UNSPEC)`), so no half-open socket lingers while
    /// the kernel retries SYNs.
    pub async fn connect_tcp(addr: SocketAddr, limit: std::time::Duration) -> io::Result<Conn> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_nodelay(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                let guard: ops::FdGuard = Rc::new(());
                let fd = socket.as_raw_fd();
                match tokio::time::timeout(limit, ops::poll_writable(fd, guard)).await {
                    Ok(res) => {
                        res?;
                    }
                    Err(_) => {
                        abort_connect(fd);
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                if let Some(e) = socket.take_error()? {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        let stream = tokio_uring::net::TcpStream::from_std(socket.into());
        Ok(Conn::new_registered(Stream::Tcp(stream)))
    }

    /// Connects to a Unix stream socket.
    pub async fn connect_unix(path: &Path) -> io::Result<Conn> {
        let stream = tokio_uring::net::UnixStream::connect(path).await?;
        Ok(Conn::new_registered(Stream::Unix(stream)))
    }

    fn fd(&self) -> i32 {
        match &**self.stream {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    fn guard(&self) -> ops::FdGuard {
        self.stream.clone()
    }

    fn registration(&self) -> Option<Rc<Registration>> {
        self.stream.registration.borrow().clone()
    }

    /// Lets a busy client connection wait on a persistent epoll
    /// registration instead of a one-shot poll per request, until it idles
    /// past [`HOT_IDLE`] in [`Conn::readable`]. Does nothing when already
    /// registered; stays on the ring when registering fails.
    pub fn warm(&self) {
        if self.stream.registration.borrow().is_some() {
            return;
        }
        if let Ok(r) = Registration::new(self.fd()) {
            *self.stream.registration.borrow_mut() = Some(Rc::new(r));
        }
    }

    /// Whether reads wait on an epoll registration (see [`Conn::warm`]).
    pub fn is_warm(&self) -> bool {
        self.stream.registration.borrow().is_some()
    }

    /// Waits until the peer sent bytes, closed or failed, holding no buffer.
    /// A registered (warm) client connection waits on its registration for
    /// up to [`HOT_IDLE`], then gives the registration up and waits on the
    /// ring, holding nothing.
    pub async fn readable(&self) -> io::Result<()> {
        if let Some(reg) = self.registration() {
            let timer = &self.stream.timer;
            timer.arm_demote(HOT_IDLE);
            let res = std::future::poll_fn(|cx| {
                if timer.demoted() {
                    return Poll::Ready(None);
                }
                match reg.poll_readable(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    Poll::Pending => {
                        timer.park(cx.waker());
                        Poll::Pending
                    }
                }
            })
            .await;
            timer.disarm_demote();
            if let Some(res) = res {
                return res;
            }
            drop(reg);
            self.stream.registration.borrow_mut().take();
        }
        ops::poll_readable(self.fd(), self.guard())
            .await
            .map(|_| ())
    }

    /// Reads into the spare capacity of `buf` (appending after `buf.len()`).
    /// `Ok(0)` means end of stream (or no spare capacity).
    pub async fn read(&self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        if let Some(reg) = self.registration() {
            let res = reg.read(&mut buf, usize::MAX).await;
            return (res, buf);
        }
        let len = buf.len();
        if buf.capacity() == len {
            return (Ok(0), buf);
        }
        let slice = buf.slice(len..);
        let (res, slice) = match &**self.stream {
            Stream::Tcp(s) => s.read(slice).await,
            Stream::Unix(s) => s.read(slice).await,
        };
        (res, slice.into_inner())
    }

    /// Like [`Conn::read`] for a socket that is probably readable (after
    /// [`Conn::readable`], or mid-body): one non-blocking `recv` first, the
    /// ring only if it would block.
    pub async fn read_ready(&self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        if let Some(reg) = self.registration() {
            // The registration knows whether the socket has bytes, and
            // forgets it after a read that empties the socket.
            let res = reg.read(&mut buf, usize::MAX).await;
            return (res, buf);
        }
        match ops::try_recv(self.fd(), &mut buf, usize::MAX) {
            Ok(Some(n)) => (Ok(n), buf),
            Ok(None) => self.read(buf).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Reads at most `max` bytes into the spare capacity of `buf` (so a body
    /// of known length never pulls in the next pipelined message).
    pub async fn read_max(&self, mut buf: Vec<u8>, max: usize) -> (io::Result<usize>, Vec<u8>) {
        if let Some(reg) = self.registration() {
            let res = reg.read(&mut buf, max).await;
            return (res, buf);
        }
        let len = buf.len();
        let end = len.saturating_add(max).min(buf.capacity());
        if end == len {
            return (Ok(0), buf);
        }
        match ops::try_recv(self.fd(), &mut buf, end - len) {
            Ok(Some(n)) => return (Ok(n), buf),
            Ok(None) => {}
            Err(e) => return (Err(e), buf),
        }
        let slice = buf.slice(len..end);
        let (res, slice) = match &**self.stream {
            Stream::Tcp(s) => s.read(slice).await,
            Stream::Unix(s) => s.read(slice).await,
        };
        (res, slice.into_inner())
    }

    /// Writes all of `buf[..buf.len()]` (non-blocking `send` first, then the
    /// ring for whatever remains).
    pub async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        if buf.is_empty() {
            return (Ok(()), buf);
        }
        let sent = match ops::try_send(self.fd(), &buf) {
            Ok(Some(n)) => n,
            Ok(None) => 0,
            Err(e) => return (Err(e), buf),
        };
        if sent == buf.len() {
            return (Ok(()), buf);
        }
        let rest = buf.slice(sent..);
        let (res, rest) = match &**self.stream {
            Stream::Tcp(s) => s.write_all(rest).await,
            Stream::Unix(s) => s.write_all(rest).await,
        };
        (res, rest.into_inner())
    }

    /// Writes a constant response (canned errors, `100 Continue`).
    pub async fn write_static(&self, bytes: &'static [u8]) -> io::Result<()> {
        let sent = ops::try_send(self.fd(), bytes)?.unwrap_or(0);
        let Some(rest) = bytes.get(sent..).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let res = match &**self.stream {
            Stream::Tcp(s) => s.write_all(rest).await,
            Stream::Unix(s) => s.write_all(rest).await,
        };
        res.0
    }

    /// Writes every piece of `gather` (ranges of `base` plus added bytes):
    /// one non-blocking `sendmsg` first (a connected socket almost always
    /// takes it all), then `writev` on the ring for whatever remains.
    pub async fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> (io::Result<()>, Vec<u8>, Gather) {
        let total = gather.len();
        let first = SEND_SCRATCH.with(|scratch| {
            ops::try_send_gather(self.fd(), &base, &gather, &mut scratch.borrow_mut())
        });
        let mut done = match first {
            Ok(n) => n.unwrap_or(0),
            Err(e) => return (Err(e), base, gather),
        };
        let (mut base, mut gather, mut iov) = (base, gather, Vec::new());
        while done < total {
            let (res, b, g, i) =
                ops::writev(self.fd(), self.guard(), base, gather, done, iov).await;
            (base, gather, iov) = (b, g, i);
            match res {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), base, gather),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), base, gather),
            }
        }
        (Ok(()), base, gather)
    }

    /// Shuts both directions down so that any read or poll still in flight
    /// completes (used on every timeout before the operation is dropped).
    pub fn shutdown(&self) {
        shutdown_stream(&self.stream.stream, Shutdown::Both);
    }

    /// Shuts the receiving direction: a read in flight completes with end of
    /// stream while the connection can still carry an answer (408).
    pub fn shutdown_read(&self) {
        shutdown_stream(&self.stream.stream, Shutdown::Read);
    }

    /// Shuts the sending direction (a response delimited by close is done).
    pub fn shutdown_write(&self) {
        shutdown_stream(&self.stream.stream, Shutdown::Write);
    }
}

#[cfg(test)]
mod tests;
