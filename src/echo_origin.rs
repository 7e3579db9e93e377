//! The built-in demo origin: it answers every request with the request
//! itself, head and body, byte for byte as it arrived, so `portier demo`
//! shows exactly what a backend receives from the proxy.
//!
//! A plain blocking std::net server (a demo, not the product): one thread
//! per connection, at most [`MAX_CONNECTIONS`] at a time (more are closed at
//! once), 60 s read and write timeouts, heads parsed with portier's own
//! strict parser, bodies read by Content-Length or chunked (RFC 9112 §6.3).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http1::chunked::ChunkedDecoder;
use crate::http1::framing::RequestBody;
use crate::http1::head::{parse_request_into, HeadLimits, Method, Parsed, RequestHead, Version};
use crate::http1::response;

/// Connections served at the same time.
pub const MAX_CONNECTIONS: usize = 64;
/// Body bytes echoed back; the rest is read and dropped.
pub const MAX_ECHOED_BODY: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);
const LIMITS: HeadLimits = HeadLimits {
    max_head: 64 * 1024,
    max_headers: 100,
};
const READ_SIZE: usize = 16 * 1024;

/// Serves `listener` on a new thread until the process ends.
pub fn spawn(listener: TcpListener) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("echo-origin".into())
        .spawn(move || accept_loop(listener))
}

/// Releases a connection slot when the connection thread ends (or never
/// starts).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn accept_loop(listener: TcpListener) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "echo origin: accept failed");
                // Out of descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let slot = Slot(Arc::clone(&active));
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            tracing::debug!("echo origin: connection limit reached, closing");
            drop(stream);
            drop(slot);
            continue;
        }
        let spawned = std::thread::Builder::new()
            .name("echo-conn".into())
            .spawn(move || {
                let _slot = slot;
                if let Err(e) = serve(stream) {
                    tracing::debug!(error = %e, "echo origin: connection ended");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "echo origin: cannot start a thread");
        }
    }
}

/// Serves the requests of one connection until it closes.
fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(READ_SIZE);
    let mut head = RequestHead::default();
    loop {
        // The head, parsed anew after every read.
        loop {
            match parse_request_into(&buf, &LIMITS, &mut head) {
                Ok(Parsed::Complete(())) => break,
                Ok(Parsed::Partial) => {}
                Err(e) => {
                    tracing::debug!(reason = e.reason(), "echo origin: bad request");
                    return stream.write_all(response::error(e.status()));
                }
            }
            if fill(&mut stream, &mut buf)? == 0 {
                return Ok(());
            }
        }
        let mut echo = buf.get(..head.head_len).unwrap_or_default().to_vec();
        buf.drain(..head.head_len.min(buf.len()));
        if head.expect_continue && head.body.is_present() && buf.is_empty() {
            stream.write_all(response::CONTINUE)?;
        }
        match head.body {
            RequestBody::None => {}
            RequestBody::Length(n) => read_length(&mut stream, &mut buf, n, &mut echo)?,
            RequestBody::Chunked => {
                if !read_chunked(&mut stream, &mut buf, &mut echo)? {
                    return stream.write_all(response::error(400));
                }
            }
        }
        let keep_alive_line = head.version == Version::Http10 && !head.close;
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n",
            echo.len(),
            if head.close {
                "Connection: close\r\n"
            } else if keep_alive_line {
                "Connection: keep-alive\r\n"
            } else {
                ""
            }
        )
        .into_bytes();
        // RFC 9110 §9.3.2: the answer to HEAD has no body.
        if head.method != Method::Head {
            reply.extend_from_slice(&echo);
        }
        stream.write_all(&reply)?;
        if head.close {
            return Ok(());
        }
    }
}

/// Reads `n` body bytes (some may already be in `buf`), echoing at most
/// [`MAX_ECHOED_BODY`] of them.
fn read_length(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    n: u64,
    echo: &mut Vec<u8>,
) -> io::Result<()> {
    let mut remaining = n;
    let mut echoed = 0;
    loop {
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let part = buf.get(..take).unwrap_or_default();
        let keep = part.len().min(MAX_ECHOED_BODY - echoed);
        echo.extend_from_slice(part.get(..keep).unwrap_or_default());
        echoed += keep;
        buf.drain(..take);
        remaining -= take as u64;
        if remaining == 0 {
            return Ok(());
        }
        if fill(stream, buf)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Reads a chunked body, echoing its raw bytes (framing included) up to
/// [`MAX_ECHOED_BODY`]. Returns false when the body is not valid chunked.
fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>, echo: &mut Vec<u8>) -> io::Result<bool> {
    let mut decoder = ChunkedDecoder::new();
    let mut payload = Vec::new();
    let mut echoed = 0;
    loop {
        let progress = match decoder.decode_into(buf, &mut payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(reason = e.reason(), "echo origin: bad chunked body");
                return Ok(false);
            }
        };
        payload.clear();
        let raw = buf.get(..progress.consumed).unwrap_or_default();
        let keep = raw.len().min(MAX_ECHOED_BODY - echoed);
        echo.extend_from_slice(raw.get(..keep).unwrap_or_default());
        echoed += keep;
        buf.drain(..progress.consumed.min(buf.len()));
        if progress.done {
            return Ok(true);
        }
        if fill(stream, buf)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Appends one read to `buf`; 0 at end of stream.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; READ_SIZE];
    loop {
        match stream.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::head::{parse_response, ResponseHead};
    use std::net::Shutdown;

    fn start() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(listener).unwrap();
        addr
    }

    fn connect(addr: std::net::SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Reads one Content-Length framed response; `pending` keeps bytes of
    /// the next one.
    fn read_response(s: &mut TcpStream, pending: &mut Vec<u8>) -> (ResponseHead, Vec<u8>, Vec<u8>) {
        loop {
            if let Ok(Parsed::Complete(h)) = parse_response(pending, &LIMITS, Method::Get) {
                let len = match h.body {
                    crate::http1::framing::ResponseBody::Length(n) => n as usize,
                    other => panic!("{other:?}"),
                };
                if pending.len() >= h.head_len + len {
                    let head = pending[..h.head_len].to_vec();
                    let body = pending[h.head_len..h.head_len + len].to_vec();
                    pending.drain(..h.head_len + len);
                    return (h, head, body);
                }
            }
            assert!(fill(s, pending).unwrap() > 0, "connection closed early");
        }
    }

    fn assert_closed(s: &mut TcpStream) {
        let mut rest = Vec::new();
        assert_eq!(
            fill(s, &mut rest).unwrap_or(0),
            0,
            "{:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    #[test]
    fn echoes_requests_on_a_keep_alive_connection() {
        let addr = start();
        let mut s = connect(addr);
        let first = b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-Custom:  y \r\n\r\n";
        let second = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let mut both = first.to_vec();
        both.extend_from_slice(second);
        s.write_all(&both).unwrap();
        let mut pending = Vec::new();
        let (h, head, body) = read_response(&mut s, &mut pending);
        assert_eq!(h.status, 200);
        assert_eq!(
            head,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                first.len()
            )
            .as_bytes()
        );
        assert_eq!(body, first);
        let (_, _, body) = read_response(&mut s, &mut pending);
        assert_eq!(body, second);
        // Still open: a third request is answered.
        s.write_all(first).unwrap();
        assert_eq!(read_response(&mut s, &mut pending).2, first);
    }

    #[test]
    fn echoes_chunked_bodies_raw_and_honours_close() {
        let addr = start();
        let mut s = connect(addr);
        let req = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
            3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n";
        // Sent in two writes split inside a size line.
        s.write_all(&req[..req.len() - 20]).unwrap();
        s.write_all(&req[req.len() - 20..]).unwrap();
        let mut pending = Vec::new();
        let (h, head, body) = read_response(&mut s, &mut pending);
        assert!(h.close);
        assert!(String::from_utf8_lossy(&head).contains("\r\nConnection: close\r\n"));
        assert_eq!(body, req);
        assert_closed(&mut s);
    }

    #[test]
    fn bad_requests_get_the_canned_error_and_a_close() {
        let addr = start();
        let mut s = connect(addr);
        s.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
        )
        .unwrap();
        let mut got = Vec::new();
        while fill(&mut s, &mut got).unwrap() > 0 {}
        assert_eq!(got, response::error(400));

        let mut s = connect(addr);
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .unwrap();
        let mut got = Vec::new();
        while fill(&mut s, &mut got).unwrap() > 0 {}
        assert_eq!(got, response::error(400));
    }

    #[test]
    fn large_bodies_are_capped_and_drained() {
        let addr = start();
        let mut s = connect(addr);
        let extra = 1000;
        let n = MAX_ECHOED_BODY + extra;
        let head = format!("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n");
        let mut writer = s.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            writer.write_all(head.as_bytes()).unwrap();
            writer.write_all(&vec![b'z'; n]).unwrap();
            writer.write_all(b"GET /next HTTP/1.0\r\n\r\n").unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut pending = Vec::new();
        let (_, _, body) = read_response(&mut s, &mut pending);
        assert!(body.starts_with(b"PUT /big HTTP/1.1\r\n"));
        assert_eq!(
            body.len(),
            body.iter().position(|&b| b == b'z').unwrap() + MAX_ECHOED_BODY
        );
        let (h, _, body) = read_response(&mut s, &mut pending);
        assert!(h.close);
        assert_eq!(body, b"GET /next HTTP/1.0\r\n\r\n");
        sender.join().unwrap();
        assert_closed(&mut s);
    }

    #[test]
    fn connections_beyond_the_cap_are_closed() {
        let addr = start();
        let mut held: Vec<TcpStream> = (0..MAX_CONNECTIONS).map(|_| connect(addr)).collect();
        // Each held connection is served: its thread exists.
        let mut pending = Vec::new();
        for s in held.iter_mut() {
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            read_response(s, &mut pending);
        }
        let mut over = connect(addr);
        assert_closed(&mut over);
        drop(held);
    }
}
