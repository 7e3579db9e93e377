//! The byte-stream interface the HTTP/1 session is written against, so a
//! plaintext connection and a TLS one are used exactly alike.

use std::future::Future;
use std::io;

use super::gather::Gather;
use super::socket::Conn;

/// Owned-buffer reads and writes. Reads append to the spare capacity of the
/// buffer handed in; `Ok(0)` is the end of the stream.
pub trait Stream {
    /// Waits until a read would find bytes (or the end), holding no buffer.
    fn readable(&self) -> impl Future<Output = io::Result<()>>;
    /// Reads bytes that are not expected yet (waits on the ring).
    fn read(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)>;
    /// Reads bytes that are probably there already.
    fn read_ready(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)>;
    /// Reads at most `max` bytes.
    fn read_max(
        &self,
        buf: Vec<u8>,
        max: usize,
    ) -> impl Future<Output = (io::Result<usize>, Vec<u8>)>;
    fn write_all(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<()>, Vec<u8>)>;
    fn write_static(&self, bytes: &'static [u8]) -> impl Future<Output = io::Result<()>>;
    fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> impl Future<Output = (io::Result<()>, Vec<u8>, Gather)>;
    /// The socket underneath: deadlines and shutdowns act on it.
    fn socket(&self) -> &Conn;
}

impl Stream for Conn {
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        Conn::readable(self)
    }

    fn read(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        Conn::read(self, buf)
    }

    fn read_ready(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        Conn::read_ready(self, buf)
    }

    fn read_max(
        &self,
        buf: Vec<u8>,
        max: usize,
    ) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        Conn::read_max(self, buf, max)
    }

    fn write_all(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<()>, Vec<u8>)> {
        Conn::write_all(self, buf)
    }

    fn write_static(&self, bytes: &'static [u8]) -> impl Future<Output = io::Result<()>> {
        Conn::write_static(self, bytes)
    }

    fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> impl Future<Output = (io::Result<()>, Vec<u8>, Gather)> {
        Conn::write_gather(self, base, gather)
    }

    fn socket(&self) -> &Conn {
        self
    }
}
