//! The client side of a session: a plaintext connection or a TLS one, used
//! alike through [`Stream`].

use std::future::Future;
use std::io;

use crate::net::{Conn, Gather, Stream};

/// A client connection as the session sees it.
pub enum Downstream {
    Plain(Conn),
}

impl Stream for Downstream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        match self {
            Downstream::Plain(c) => c.readable(),
        }
    }

    fn read(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        match self {
            Downstream::Plain(c) => c.read(buf),
        }
    }

    fn read_ready(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        match self {
            Downstream::Plain(c) => c.read_ready(buf),
        }
    }

    fn read_max(
        &self,
        buf: Vec<u8>,
        max: usize,
    ) -> impl Future<Output = (io::Result<usize>, Vec<u8>)> {
        match self {
            Downstream::Plain(c) => c.read_max(buf, max),
        }
    }

    fn write_all(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<()>, Vec<u8>)> {
        match self {
            Downstream::Plain(c) => c.write_all(buf),
        }
    }

    fn write_static(&self, bytes: &'static [u8]) -> impl Future<Output = io::Result<()>> {
        match self {
            Downstream::Plain(c) => c.write_static(bytes),
        }
    }

    fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> impl Future<Output = (io::Result<()>, Vec<u8>, Gather)> {
        match self {
            Downstream::Plain(c) => c.write_gather(base, gather),
        }
    }

    fn socket(&self) -> &Conn {
        match self {
            Downstream::Plain(c) => c,
        }
    }
}
