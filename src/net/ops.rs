//! io_uring operations tokio-uring lacks, submitted through its public
//! `UnsubmittedOneshot` hook with SQEs built by the `io-uring` 0.6 crate
//! (the version tokio-uring links, so the entry types are the same).
//!
//! Every operation owns what the kernel reads or writes (buffers, iovec
//! array, and a reference that keeps the file descriptor open) until its
//! completion arrives, even if the awaiting future is dropped: tokio-uring
//! keeps the op's data in its slab until the CQE comes back.

use std::io;
use std::rc::Rc;

use io_uring_06::{cqueue, opcode, types};
use tokio_uring::{OneshotOutputTransform, UnsubmittedOneshot};

use super::gather::{Gather, Part};

/// Anything that keeps a socket's file descriptor open while an op runs.
pub(crate) type FdGuard = Rc<dyn std::any::Any>;

fn cqe_result(cqe: &cqueue::Entry) -> io::Result<usize> {
    let res = cqe.result();
    if res >= 0 {
        Ok(res as usize)
    } else {
        Err(io::Error::from_raw_os_error(-res))
    }
}

// ---- PollAdd: wait until a socket is readable without pinning a buffer ----

pub(crate) struct PollData {
    _fd: FdGuard,
}

pub(crate) struct PollTransform;

impl OneshotOutputTransform for PollTransform {
    type Output = io::Result<u32>;
    type StoredData = PollData;

    fn transform_oneshot_output(self, _data: PollData, cqe: cqueue::Entry) -> io::Result<u32> {
        cqe_result(&cqe).map(|mask| mask as u32)
    }
}

/// Completes when `fd` is readable (data, EOF or error). One-shot, level
/// checked at submission: bytes already queued complete it at once.
pub(crate) async fn poll_readable(fd: i32, guard: FdGuard) -> io::Result<u32> {
    // SAFETY: PollAdd reads no user memory; `guard` keeps `fd` open until the
    // completion is reaped, so the kernel never polls a reused descriptor.
    let sqe = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32).build();
    UnsubmittedOneshot::new(PollData { _fd: guard }, PollTransform, sqe)
        .submit()
        .await
}

/// Completes when `fd` is writable or failed (a non-blocking connect done).
/// The socket must outlive the returned future's completion: the caller owns
/// it and only drops it after the poll completed or the connect was aborted.
pub(crate) async fn poll_writable(fd: i32, guard: FdGuard) -> io::Result<u32> {
    // SAFETY: as for `poll_readable`: no user memory is involved.
    let sqe = opcode::PollAdd::new(types::Fd(fd), libc::POLLOUT as u32).build();
    UnsubmittedOneshot::new(PollData { _fd: guard }, PollTransform, sqe)
        .submit()
        .await
}

// ---- Writev: one gathered write of ranges of `base` and `gather.extra` ----

pub(crate) struct WritevData {
    _fd: FdGuard,
    base: Vec<u8>,
    gather: Gather,
    iov: Vec<libc::iovec>,
}

pub(crate) struct WritevTransform;

pub(crate) type WritevOutput = (io::Result<usize>, Vec<u8>, Gather, Vec<libc::iovec>);

impl OneshotOutputTransform for WritevTransform {
    type Output = WritevOutput;
    type StoredData = WritevData;

    fn transform_oneshot_output(self, data: WritevData, cqe: cqueue::Entry) -> WritevOutput {
        (cqe_result(&cqe), data.base, data.gather, data.iov)
    }
}

/// The most iovecs one submission carries (the kernel's UIO_MAXIOV is 1024).
const MAX_IOV: usize = 512;

/// The bytes of one piece of `gather`. Ranges that fall outside
/// `base`/`extra` are clamped (never read past).
fn part_bytes<'a>(base: &'a [u8], gather: &'a Gather, part: &Part) -> &'a [u8] {
    match *part {
        Part::Base { start, end } => base.get(start as usize..end as usize).unwrap_or(&[]),
        Part::Extra { start, end } => gather
            .extra
            .get(start as usize..end as usize)
            .unwrap_or(&[]),
    }
}

/// Fills `iov` with the pieces of `gather` that remain after `skip` bytes.
fn fill_iovecs(base: &[u8], gather: &Gather, mut skip: usize, iov: &mut Vec<libc::iovec>) {
    iov.clear();
    for part in &gather.parts {
        let slice = part_bytes(base, gather, part);
        if skip >= slice.len() {
            skip -= slice.len();
            continue;
        }
        let rest = &slice[skip..];
        skip = 0;
        iov.push(libc::iovec {
            iov_base: rest.as_ptr() as *mut libc::c_void,
            iov_len: rest.len(),
        });
        if iov.len() == MAX_IOV {
            break;
        }
    }
}

/// Submits one `writev` of what remains of `gather` after `skip` bytes.
/// Returns the bytes written (possibly short) and the owned buffers.
pub(crate) async fn writev(
    fd: i32,
    guard: FdGuard,
    base: Vec<u8>,
    gather: Gather,
    skip: usize,
    mut iov: Vec<libc::iovec>,
) -> WritevOutput {
    fill_iovecs(&base, &gather, skip, &mut iov);
    if iov.is_empty() {
        return (Ok(0), base, gather, iov);
    }
    let (ptr, len) = (iov.as_ptr(), iov.len() as u32);
    // SAFETY: every iovec points into the heap storage of `base` or
    // `gather.extra`, and `iov`'s own storage is heap too; all three vectors
    // move into the op's data, which tokio-uring keeps alive (unmoved heap
    // blocks, no reallocation) until the CQE arrives, even if this future is
    // dropped. `guard` keeps `fd` open for as long.
    let sqe = opcode::Writev::new(types::Fd(fd), ptr, len).build();
    let data = WritevData {
        _fd: guard,
        base,
        gather,
        iov,
    };
    UnsubmittedOneshot::new(data, WritevTransform, sqe)
        .submit()
        .await
}

// ---- Direct non-blocking calls, for when the socket is known to be ready ----
//
// The calls are made with syscall(2) rather than glibc's wrappers, which
// are pthread cancellation points (two extra calls each; portier never
// cancels threads). Every argument is passed as a C long, as syscall(2)
// reads them.
//
// A write on a connected socket almost always completes at once, and a read
// right after a readiness poll finds its bytes: doing those as one
// `MSG_DONTWAIT` system call skips an io_uring round trip (SQE, CQE, task
// wake-up and re-poll of the session). `Ok(None)` means "would block": the
// caller falls back to the ring.

/// Runs one non-blocking call (retrying on EINTR): `Ok(Some(n))` bytes,
/// `Ok(None)` would block.
fn nonblocking(mut call: impl FnMut() -> isize) -> io::Result<Option<usize>> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// `recv(MSG_DONTWAIT)` into the spare capacity of `buf`.
pub(crate) fn try_recv(fd: i32, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    if len == 0 {
        return Ok(Some(0));
    }
    let ptr = spare.as_mut_ptr();
    // SAFETY: the kernel writes at most `len` bytes into the spare capacity
    // of `buf`, which is valid, writable and exclusively borrowed for the
    // duration of the call.
    let n = nonblocking(|| unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd as libc::c_long,
            ptr as libc::c_long,
            len as libc::c_long,
            libc::MSG_DONTWAIT as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
        ) as isize
    })?;
    if let Some(n) = n {
        // SAFETY: recv initialised the first `n` (<= len) spare bytes.
        unsafe { buf.set_len(buf.len() + n) };
    }
    Ok(n)
}

/// Gathers of at most this many bytes are copied into one buffer and sent
/// with `send`: one contiguous copy into the socket costs the kernel less
/// than walking an iovec piece by piece. Measured with a 340-byte head
/// and body in 5 pieces (the shape of a small proxied response): about
/// 170 ns less per send; larger bodies keep `sendmsg` and copy nothing.
pub(crate) const FLATTEN_MAX: usize = 4096;

/// Per-thread scratch space for direct gathered sends.
pub(crate) struct SendScratch {
    iov: Vec<libc::iovec>,
    flat: Vec<u8>,
}

impl SendScratch {
    pub(crate) const fn new() -> Self {
        Self {
            iov: Vec::new(),
            flat: Vec::new(),
        }
    }
}

/// Sends as much of `gather` as the socket takes now, without blocking:
/// copied into one buffer and `send` when small ([`FLATTEN_MAX`]), else
/// one `sendmsg`. Either way the bytes go out in the gather's order, so a
/// short count is a `skip` for [`writev`].
pub(crate) fn try_send_gather(
    fd: i32,
    base: &[u8],
    gather: &Gather,
    scratch: &mut SendScratch,
) -> io::Result<Option<usize>> {
    if gather.len() <= FLATTEN_MAX {
        let flat = &mut scratch.flat;
        flat.clear();
        for part in &gather.parts {
            flat.extend_from_slice(part_bytes(base, gather, part));
        }
        if flat.is_empty() {
            return Ok(Some(0));
        }
        return try_send(fd, flat);
    }
    let iov = &mut scratch.iov;
    fill_iovecs(base, gather, 0, iov);
    if iov.is_empty() {
        return Ok(Some(0));
    }
    // SAFETY: a zeroed msghdr is valid; it points at `iov`, whose entries
    // point into `base` and `gather.extra`, all borrowed for the duration of
    // this synchronous call.
    nonblocking(|| unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len() as _;
        let msg_ptr: *const libc::msghdr = &msg;
        libc::syscall(
            libc::SYS_sendmsg,
            fd as libc::c_long,
            msg_ptr as libc::c_long,
            (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as libc::c_long,
        ) as isize
    })
}

/// `send(MSG_DONTWAIT | MSG_NOSIGNAL)` of `bytes`.
pub(crate) fn try_send(fd: i32, bytes: &[u8]) -> io::Result<Option<usize>> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: the kernel reads at most `bytes.len()` bytes from a valid
    // borrowed slice during this synchronous call.
    nonblocking(|| unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd as libc::c_long,
            bytes.as_ptr() as libc::c_long,
            bytes.len() as libc::c_long,
            flags as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
        ) as isize
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovecs_skip_written_bytes() {
        let base = b"0123456789".to_vec();
        let mut g = Gather::new();
        g.push_base(0..4);
        g.push_extra(b"ab");
        g.push_base(6..10);
        let mut iov = Vec::new();
        fill_iovecs(&base, &g, 5, &mut iov);
        assert_eq!(iov.len(), 2);
        assert_eq!(iov[0].iov_len, 1);
        assert_eq!(iov[1].iov_len, 4);
        fill_iovecs(&base, &g, 10, &mut iov);
        assert!(iov.is_empty());
    }

    /// Both ways of a direct gathered send put the pieces on the wire in
    /// order: a small gather (flattened, `send`) and one past
    /// `FLATTEN_MAX` (`sendmsg`), over a real socket pair.
    #[test]
    fn direct_gathered_sends_keep_the_pieces_in_order() {
        use std::io::Read;
        use std::os::fd::AsRawFd;

        let (tx, mut rx) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let mut scratch = SendScratch::new();
        for body_len in [100, FLATTEN_MAX + 1000] {
            let base: Vec<u8> = (0..body_len + 40).map(|i| (i % 251) as u8).collect();
            let mut g = Gather::new();
            g.push_base(0..20);
            g.push_extra(b"X-Added: 1\r\n");
            g.push_base(20..40);
            g.push_extra(b"\r\n");
            g.push_base(40..40 + body_len);
            let mut expected = base[..20].to_vec();
            expected.extend_from_slice(b"X-Added: 1\r\n");
            expected.extend_from_slice(&base[20..40]);
            expected.extend_from_slice(b"\r\n");
            expected.extend_from_slice(&base[40..40 + body_len]);

            let sent = try_send_gather(tx.as_raw_fd(), &base, &g, &mut scratch)
                .expect("send")
                .expect("the socket buffer takes it at once");
            assert_eq!(sent, expected.len());
            let mut got = vec![0u8; expected.len()];
            rx.read_exact(&mut got).expect("read");
            assert_eq!(got, expected, "body of {body_len} bytes");
        }
    }
}
