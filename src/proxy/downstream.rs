//! The client side of a session: a plaintext connection or a TLS one, used
//! alike through [`Stream`].

use std::io;

use crate::net::{Conn, Gather, Stream};
use crate::tls::stream::TlsConn;

/// A client connection as the session sees it.
pub enum Downstream {
    Plain(Conn),
    /// Boxed: the rustls state is ~1.2 KiB, and a plaintext connection
    /// should not pay for it.
    Tls(Box<TlsConn>),
}

impl Downstream {
    /// `X-Forwarded-Proto` for requests from this client.
    pub fn proto(&self) -> &'static str {
        match self {
            Downstream::Plain(_) => "http",
            Downstream::Tls(_) => "https",
        }
    }
}

// The TLS arms are boxed: their futures are large, and every plaintext
// request would otherwise carry (and move) their size in its own future.
impl Stream for Downstream {
    async fn readable(&self) -> io::Result<()> {
        match self {
            Downstream::Plain(c) => c.readable().await,
            Downstream::Tls(c) => Box::pin(c.readable()).await,
        }
    }

    async fn read(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        match self {
            Downstream::Plain(c) => c.read(buf).await,
            Downstream::Tls(c) => Box::pin(Stream::read(&**c, buf)).await,
        }
    }

    async fn read_ready(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        match self {
            Downstream::Plain(c) => c.read_ready(buf).await,
            Downstream::Tls(c) => Box::pin(c.read_ready(buf)).await,
        }
    }

    async fn read_max(&self, buf: Vec<u8>, max: usize) -> (io::Result<usize>, Vec<u8>) {
        match self {
            Downstream::Plain(c) => c.read_max(buf, max).await,
            Downstream::Tls(c) => Box::pin(c.read_max(buf, max)).await,
        }
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        match self {
            Downstream::Plain(c) => c.write_all(buf).await,
            Downstream::Tls(c) => Box::pin(c.write_all(buf)).await,
        }
    }

    async fn write_static(&self, bytes: &'static [u8]) -> io::Result<()> {
        match self {
            Downstream::Plain(c) => c.write_static(bytes).await,
            Downstream::Tls(c) => Box::pin(c.write_static(bytes)).await,
        }
    }

    async fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> (io::Result<()>, Vec<u8>, Gather) {
        match self {
            Downstream::Plain(c) => c.write_gather(base, gather).await,
            Downstream::Tls(c) => Box::pin(c.write_gather(base, gather)).await,
        }
    }

    fn socket(&self) -> &Conn {
        match self {
            Downstream::Plain(c) => c,
            Downstream::Tls(c) => c.socket(),
        }
    }
}
