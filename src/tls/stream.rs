//! A TLS connection over portier's owned-buffer socket, used by the HTTP/1
//! session exactly like a plaintext [`Conn`] (it implements [`Stream`]).
//!
//! rustls's buffered `ServerConnection` is fed the ciphertext the socket
//! reads and hands back plaintext; what it wants to send is written out
//! after every call. Ciphertext buffers are borrowed from a per-thread pool
//! for the duration of one read or write, so an idle TLS connection holds
//! only the rustls state.

use rustls::ServerConnection;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{self, IoSlice, Read, Write};

use super::acceptor::TlsAcceptor;
use super::failure::HandshakeError;
use super::sni::UNRECOGNIZED_NAME_ALERT;
use crate::net::buf::Kept;
use crate::net::{Conn, Expiry, Gather, Part, Stream};

/// Ciphertext buffer size: one full TLS record plus its overhead.
const CIPHER_BUF: usize = 18 * 1024;
/// Buffers kept per thread for reuse.
const KEPT: usize = 64;
/// Plaintext pieces handed to rustls per vectored write.
const SLICES: usize = 32;

thread_local! {
    static BUFS: Kept<Vec<u8>> = const { Kept::new(KEPT) };
}

fn take_buf() -> Vec<u8> {
    BUFS.with(Kept::pop)
        .unwrap_or_else(|| Vec::with_capacity(CIPHER_BUF))
}

fn give_buf(mut buf: Vec<u8>) {
    if buf.capacity() < CIPHER_BUF || buf.capacity() > 4 * CIPHER_BUF {
        return;
    }
    buf.clear();
    BUFS.with(|b| b.push(buf));
}

/// Frees this thread's ciphertext buffers that went unused since the last
/// call (the worker's housekeeping runs it every second).
pub fn trim_buffers() {
    BUFS.with(Kept::trim);
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// A server-side TLS connection.
pub struct TlsConn {
    conn: Conn,
    tls: RefCell<ServerConnection>,
    /// Plaintext bytes rustls holds for us (from the last `process_new_packets`).
    plain: Cell<usize>,
    /// Ciphertext read from the socket that rustls could not take yet
    /// (its plaintext buffer was full); empty and unallocated normally.
    backlog: RefCell<Vec<u8>>,
}

impl TlsConn {
    /// Runs the server handshake on `conn` within the listener's handshake
    /// timeout. A client whose server name the listener refuses gets the
    /// `unrecognized_name` alert (rustls itself would send access_denied).
    pub async fn accept(conn: Conn, acceptor: &TlsAcceptor) -> Result<TlsConn, HandshakeError> {
        let mut tls = ServerConnection::new(acceptor.config.clone())
            .map_err(|e| HandshakeError::new(tls_error(e)))?;
        // Everything written is flushed at once, so rustls never needs to
        // refuse plaintext.
        tls.set_buffer_limit(None);
        let t = TlsConn {
            conn,
            tls: RefCell::new(tls),
            plain: Cell::new(0),
            backlog: RefCell::new(Vec::new()),
        };
        t.conn.arm(acceptor.handshake_timeout, Expiry::Close);
        let res = t.handshake(acceptor).await;
        if t.conn.disarm() {
            return Err(HandshakeError::new(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timeout",
            )));
        }
        res.map(|()| t)
    }

    /// The negotiated SNI (for routing and logs).
    pub fn server_name(&self) -> Option<String> {
        self.tls.borrow().server_name().map(str::to_owned)
    }

    async fn handshake(&self, acceptor: &TlsAcceptor) -> Result<(), HandshakeError> {
        loop {
            if self.tls.borrow().wants_write() {
                self.flush().await.map_err(HandshakeError::new)?;
            }
            if !self.tls.borrow().is_handshaking() {
                return Ok(());
            }
            let (res, cbuf) = self.conn.read(take_buf()).await;
            let fed = match res {
                Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => self.feed(&cbuf),
                Err(e) => Err(e),
            };
            give_buf(cbuf);
            if let Err(e) = fed {
                // Only a handshake that failed for want of a certificate gets
                // unrecognized_name; any other failure keeps rustls's alert.
                let refused = no_certificate(&e) && {
                    let tls = self.tls.borrow();
                    tls.is_handshaking() && acceptor.resolver.rejects(tls.server_name())
                };
                // Best effort: tell the client why.
                return Err(if refused {
                    let _ = self.conn.write_static(&UNRECOGNIZED_NAME_ALERT).await;
                    HandshakeError::unknown_name(e)
                } else {
                    let _ = self.flush().await;
                    HandshakeError::new(e)
                });
            }
        }
    }

    /// Gives ciphertext to rustls. What it cannot take yet (its plaintext
    /// buffer is full) waits in `backlog` until the plaintext is read.
    fn feed(&self, mut cipher: &[u8]) -> io::Result<()> {
        let mut tls = self.tls.borrow_mut();
        while !cipher.is_empty() {
            // rustls takes ciphertext until it holds 16 KiB of plaintext
            // (then read_tls fails, and only the rest waits in `backlog`):
            // the tail of a record that arrived with the one before it
            // goes straight to rustls, not through an allocation.
            let n = match tls.read_tls(&mut cipher) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Other && self.plain.get() > 0 => 0,
                Err(e) => return Err(e),
            };
            let state = tls.process_new_packets().map_err(tls_error)?;
            self.plain.set(state.plaintext_bytes_to_read());
            if n == 0 {
                self.backlog.borrow_mut().extend_from_slice(cipher);
                return Ok(());
            }
        }
        Ok(())
    }

    /// Moves up to `max` bytes of decrypted plaintext into `buf`.
    /// `Some(0)`: the peer sent close_notify. `None`: nothing decrypted yet.
    fn take_plain(&self, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
        let want = self.plain.get().min(max).min(buf.capacity() - buf.len());
        let mut tls = self.tls.borrow_mut();
        if want == 0 {
            // Only a clean close is reported here; WouldBlock means "read more".
            return match tls.reader().read(&mut []) {
                Ok(_) if self.plain.get() == 0 && tls_closed(&mut tls) => Ok(Some(0)),
                _ => Ok(None),
            };
        }
        let start = buf.len();
        buf.resize(start + want, 0);
        match tls.reader().read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                self.plain.set(self.plain.get().saturating_sub(n));
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                buf.truncate(start);
                self.plain.set(0);
                Ok(None)
            }
            Err(e) => {
                buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Feeds ciphertext kept back while the plaintext buffer was full.
    fn drain_backlog(&self) -> io::Result<()> {
        if self.plain.get() > 0 || self.backlog.borrow().is_empty() {
            return Ok(());
        }
        let cipher = std::mem::take(&mut *self.backlog.borrow_mut());
        self.feed(&cipher)
    }

    /// Reads plaintext: decrypted bytes first, else ciphertext from the
    /// socket (`ready`: it probably has some already).
    async fn read_plain(
        &self,
        mut buf: Vec<u8>,
        max: usize,
        mut ready: bool,
    ) -> (io::Result<usize>, Vec<u8>) {
        loop {
            if let Err(e) = self.drain_backlog() {
                return (Err(e), buf);
            }
            match self.take_plain(&mut buf, max) {
                Ok(Some(n)) => return (Ok(n), buf),
                Ok(None) => {}
                Err(e) => return (Err(e), buf),
            }
            let cbuf = take_buf();
            let (res, cbuf) = if ready {
                self.conn.read_ready(cbuf).await
            } else {
                self.conn.read(cbuf).await
            };
            let fed = match res {
                Ok(0) => {
                    give_buf(cbuf);
                    return (Ok(0), buf);
                }
                Ok(_) => self.feed(&cbuf),
                Err(e) => Err(e),
            };
            give_buf(cbuf);
            if let Err(e) = fed {
                let _ = self.flush().await;
                return (Err(e), buf);
            }
            if self.tls.borrow().wants_write() {
                if let Err(e) = self.flush().await {
                    return (Err(e), buf);
                }
            }
            // A partial record: the rest is not there yet.
            ready = false;
        }
    }

    /// Sends every record rustls has ready.
    async fn flush(&self) -> io::Result<()> {
        loop {
            let mut out = take_buf();
            {
                let mut tls = self.tls.borrow_mut();
                while tls.wants_write() && out.len() < 4 * CIPHER_BUF - CIPHER_BUF {
                    tls.write_tls(&mut out)?;
                }
            }
            if out.is_empty() {
                give_buf(out);
                return Ok(());
            }
            let (res, out) = self.conn.write_all(out).await;
            give_buf(out);
            res?;
        }
    }

    /// Encrypts `pieces` and sends them. The pieces go to rustls as one
    /// vectored write, so a response head made of many small slices becomes
    /// one TLS record (as few as the 16 KiB record limit allows), not one
    /// record per slice.
    async fn send<'a>(&self, pieces: impl Iterator<Item = &'a [u8]>) -> io::Result<()> {
        {
            // Slices in batches on the stack (a head is a dozen or two
            // pieces): no allocation per write.
            let mut batch = [IoSlice::new(&[]); SLICES];
            let mut pieces = pieces.filter(|p| !p.is_empty()).peekable();
            let mut tls = self.tls.borrow_mut();
            while pieces.peek().is_some() {
                let mut len = 0;
                for (slot, p) in batch.iter_mut().zip(pieces.by_ref()) {
                    *slot = IoSlice::new(p);
                    len += 1;
                }
                let mut rest = &mut batch[..len];
                while !rest.is_empty() {
                    let n = tls.writer().write_vectored(rest)?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    IoSlice::advance_slices(&mut rest, n);
                }
            }
        }
        self.flush().await
    }
}

/// Whether the handshake failed because the certificate resolver found
/// nothing (rustls reports it as this general error).
fn no_certificate(e: &io::Error) -> bool {
    matches!(
        e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::General(m)) if m == "no server certificate chain resolved"
    )
}

fn tls_closed(tls: &mut ServerConnection) -> bool {
    matches!(tls.process_new_packets(), Ok(state) if state.peer_has_closed())
}

fn gather_pieces<'a>(base: &'a [u8], gather: &'a Gather) -> impl Iterator<Item = &'a [u8]> {
    gather.parts.iter().map(move |p| match *p {
        Part::Base { start, end } => base.get(start as usize..end as usize).unwrap_or(&[]),
        Part::Extra { start, end } => gather
            .extra
            .get(start as usize..end as usize)
            .unwrap_or(&[]),
    })
}

impl Stream for TlsConn {
    async fn readable(&self) -> io::Result<()> {
        if self.plain.get() > 0 || !self.backlog.borrow().is_empty() {
            return Ok(());
        }
        self.conn.readable().await
    }

    fn read(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        self.read_plain(buf, usize::MAX, false)
    }

    fn read_ready(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        self.read_plain(buf, usize::MAX, true)
    }

    fn read_max(
        &self,
        buf: Vec<u8>,
        max: usize,
    ) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        self.read_plain(buf, max, true)
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let res = self.send(std::iter::once(&buf[..])).await;
        (res, buf)
    }

    async fn write_static(&self, bytes: &'static [u8]) -> io::Result<()> {
        self.send(std::iter::once(bytes)).await
    }

    async fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> (io::Result<()>, Vec<u8>, Gather) {
        let res = self.send(gather_pieces(&base, &gather)).await;
        (res, base, gather)
    }

    fn socket(&self) -> &Conn {
        &self.conn
    }
}
