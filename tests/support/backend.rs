//! A backend server on std threads that records every byte it receives.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{find, header_in, parse_chunk_size, show, TIMEOUT};

/// What one backend connection received.
#[derive(Clone, Debug, Default)]
pub struct ConnRecord {
    pub peer: Option<SocketAddr>,
    /// Every byte read from the connection, in order.
    pub bytes: Vec<u8>,
    /// The connection ended (EOF, error or closed by the handler).
    pub closed: bool,
    sentinel: bool,
}

#[derive(Default)]
struct Records {
    conns: Mutex<Vec<ConnRecord>>,
    changed: Condvar,
}

impl Records {
    fn update(&self, index: usize, f: impl FnOnce(&mut ConnRecord)) {
        let mut conns = self.conns.lock().unwrap();
        f(&mut conns[index]);
        self.changed.notify_all();
    }

    /// Waits until `pred` holds on the records; panics after [`TIMEOUT`].
    fn wait<T>(&self, what: &str, mut pred: impl FnMut(&[ConnRecord]) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        let mut conns = self.conns.lock().unwrap();
        loop {
            if let Some(v) = pred(&conns) {
                return v;
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("backend: timed out waiting for {what}: {conns:?}"));
            conns = self.changed.wait_timeout(conns, left).unwrap().0;
        }
    }
}

trait Stream: Read + Write + Send {
    fn shutdown_write(&self);
    fn shutdown_both(&self);
}

impl Stream for TcpStream {
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Stream for UnixStream {
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

type Handler = Arc<dyn Fn(&mut BackendConn) + Send + Sync>;

/// A backend server on std threads: one thread accepts, one thread per
/// connection runs the handler. Every byte read is recorded per connection;
/// after the handler returns, the write side is shut and the rest of what
/// the peer sends is still read and recorded until EOF (unless the handler
/// called [`BackendConn::abort`]).
pub struct Backend {
    pub addr: Option<SocketAddr>,
    records: Arc<Records>,
    stop: Arc<AtomicBool>,
    unix_path: Option<PathBuf>,
}

impl Backend {
    pub fn start(handler: impl Fn(&mut BackendConn) + Send + Sync + 'static) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("backend bind");
        let addr = listener.local_addr().expect("backend addr");
        let records = Arc::new(Records::default());
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Handler = Arc::new(handler);
        let (r, s) = (records.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let peer = stream.peer_addr().ok();
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let _ = stream.set_write_timeout(Some(TIMEOUT));
                spawn_conn(&r, &handler, Box::new(stream), peer);
            }
        });
        Backend {
            addr: Some(addr),
            records,
            stop,
            unix_path: None,
        }
    }

    /// A backend on a Unix socket at `path`.
    pub fn start_unix(
        path: &Path,
        handler: impl Fn(&mut BackendConn) + Send + Sync + 'static,
    ) -> Backend {
        let listener = UnixListener::bind(path).expect("unix backend bind");
        let records = Arc::new(Records::default());
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Handler = Arc::new(handler);
        let (r, s) = (records.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let _ = stream.set_write_timeout(Some(TIMEOUT));
                spawn_conn(&r, &handler, Box::new(stream), None);
            }
        });
        Backend {
            addr: None,
            records,
            stop,
            unix_path: Some(path.to_owned()),
        }
    }

    /// Answers every request on every connection with `respond(request)`
    /// until the peer closes or sends something unparsable.
    pub fn serve(respond: impl Fn(&BackendRequest) -> Vec<u8> + Send + Sync + 'static) -> Backend {
        Backend::start(move |conn| {
            while let Some(req) = conn.read_request() {
                conn.write_all(&respond(&req));
            }
        })
    }

    /// Answers every request with 200 and the request target as the body.
    pub fn echo_target() -> Backend {
        Backend::serve(|req| ok(req.target().as_bytes()))
    }

    /// "127.0.0.1:PORT" for the config.
    pub fn server(&self) -> String {
        match (&self.addr, &self.unix_path) {
            (Some(a), _) => a.to_string(),
            (None, Some(p)) => format!("unix:{}", p.display()),
            _ => unreachable!(),
        }
    }

    /// Makes sure every connection portier opened so far has been accepted
    /// (and so is counted): connects once more and waits until that
    /// connection shows up in the records (accept order is FIFO).
    pub fn settle(&self) {
        let addr = self.addr.expect("settle needs a TCP backend");
        let sentinel = TcpStream::connect(addr).expect("sentinel connect");
        let me = sentinel.local_addr().expect("sentinel addr");
        self.records.wait("the sentinel connection", |conns| {
            conns.iter().any(|c| c.peer == Some(me)).then_some(())
        });
        let mut conns = self.records.conns.lock().unwrap();
        for c in conns.iter_mut().filter(|c| c.peer == Some(me)) {
            c.sentinel = true;
        }
    }

    /// The connections accepted so far (call [`Backend::settle`] first to
    /// count the ones still in the accept queue).
    pub fn connections(&self) -> Vec<ConnRecord> {
        let conns = self.records.conns.lock().unwrap();
        conns.iter().filter(|c| !c.sentinel).cloned().collect()
    }

    pub fn connection_count(&self) -> usize {
        self.connections().len()
    }

    /// Every byte received on every connection, concatenated.
    pub fn all_bytes(&self) -> Vec<u8> {
        self.connections()
            .into_iter()
            .flat_map(|c| c.bytes)
            .collect()
    }

    /// Waits until at least `n` connections were accepted.
    pub fn wait_connections(&self, n: usize) {
        self.records.wait(&format!("{n} connections"), |conns| {
            (conns.iter().filter(|c| !c.sentinel).count() >= n).then_some(())
        });
    }

    /// Waits until connection `i` (accept order) satisfies `pred`.
    pub fn wait_conn(
        &self,
        i: usize,
        what: &str,
        pred: impl Fn(&ConnRecord) -> bool,
    ) -> ConnRecord {
        self.records.wait(what, |conns| {
            let c = conns.iter().filter(|c| !c.sentinel).nth(i)?;
            pred(c).then(|| c.clone())
        })
    }

    /// Waits until connection `i` has ended and returns its record.
    pub fn wait_closed(&self, i: usize) -> ConnRecord {
        self.wait_conn(i, &format!("connection {i} to close"), |c| c.closed)
    }

    /// Waits until connection `i` has received `needle`.
    pub fn wait_bytes(&self, i: usize, needle: &[u8]) -> ConnRecord {
        let what = format!("connection {i} to receive {:?}", show(needle));
        self.wait_conn(i, &what, |c| find(&c.bytes, needle).is_some())
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that its thread ends.
        if let Some(addr) = self.addr {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
        if let Some(path) = &self.unix_path {
            let _ = UnixStream::connect(path);
        }
    }
}

fn spawn_conn(
    records: &Arc<Records>,
    handler: &Handler,
    stream: Box<dyn Stream>,
    peer: Option<SocketAddr>,
) {
    let index = {
        let mut conns = records.conns.lock().unwrap();
        conns.push(ConnRecord {
            peer,
            ..ConnRecord::default()
        });
        records.changed.notify_all();
        conns.len() - 1
    };
    let (records, handler) = (records.clone(), handler.clone());
    std::thread::spawn(move || {
        let mut conn = BackendConn {
            stream,
            buf: Vec::new(),
            index,
            records: records.clone(),
            aborted: false,
            eof: false,
        };
        handler(&mut conn);
        if !conn.aborted {
            conn.stream.shutdown_write();
            while conn.fill() {}
        }
        records.update(index, |c| c.closed = true);
    });
}

/// One accepted backend connection, as the handler sees it.
pub struct BackendConn {
    stream: Box<dyn Stream>,
    /// Received and not yet consumed.
    buf: Vec<u8>,
    pub index: usize,
    records: Arc<Records>,
    aborted: bool,
    eof: bool,
}

impl BackendConn {
    /// Reads more bytes into the buffer (and the record). False at EOF,
    /// on error or timeout.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.records
                    .update(self.index, |c| c.bytes.extend_from_slice(&chunk[..n]));
                true
            }
        }
    }

    /// Reads until `n` bytes are buffered; false if the stream ended first.
    fn want(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            if !self.fill() {
                return false;
            }
        }
        true
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    /// Reads one line ending in CRLF (returned without it).
    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = self.take(i + 2);
                return Some(line[..i].to_vec());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads one raw request head, up to and including the empty line.
    /// `None` at EOF before a complete head.
    pub fn read_head(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                return Some(self.take(i + 4));
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads one request (head and body, by Content-Length or chunked,
    /// checking the chunked syntax strictly). `None` at EOF, timeout, or
    /// when the bytes are not a valid request.
    pub fn read_request(&mut self) -> Option<BackendRequest> {
        let head = self.read_head()?;
        let mut req = BackendRequest::parse(head)?;
        if req.is_chunked() {
            loop {
                let size_line = self.line()?;
                req.raw_body.extend_from_slice(&size_line);
                req.raw_body.extend_from_slice(b"\r\n");
                let size = parse_chunk_size(&size_line)?;
                if size == 0 {
                    loop {
                        let trailer = self.line()?;
                        req.raw_body.extend_from_slice(&trailer);
                        req.raw_body.extend_from_slice(b"\r\n");
                        if trailer.is_empty() {
                            return Some(req);
                        }
                    }
                }
                if !self.want(size + 2) {
                    return None;
                }
                let data = self.take(size + 2);
                req.raw_body.extend_from_slice(&data);
                if &data[size..] != b"\r\n" {
                    return None;
                }
                req.body.extend_from_slice(&data[..size]);
            }
        }
        if let Some(n) = req.content_length() {
            if !self.want(n) {
                return None;
            }
            req.body = self.take(n);
            req.raw_body = req.body.clone();
        }
        Some(req)
    }

    pub fn write_all(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
        let _ = self.stream.flush();
    }

    /// Closes the connection now, without reading what is left.
    pub fn abort(&mut self) {
        self.aborted = true;
        self.stream.shutdown_both();
    }
}

/// A request as the backend received it.
#[derive(Clone, Debug)]
pub struct BackendRequest {
    /// The raw head including the final empty line.
    pub head: Vec<u8>,
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    /// The body as sent on the wire (chunked framing included).
    pub raw_body: Vec<u8>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl BackendRequest {
    fn parse(head: Vec<u8>) -> Option<BackendRequest> {
        let text = String::from_utf8(head.clone()).ok()?;
        let mut lines = text.strip_suffix("\r\n\r\n")?.split("\r\n");
        let request_line = lines.next()?.to_owned();
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        Some(BackendRequest {
            head,
            request_line,
            headers,
            raw_body: Vec::new(),
            body: Vec::new(),
        })
    }

    pub fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    pub fn method(&self) -> &str {
        self.request_line.split(' ').next().unwrap_or("")
    }

    pub fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }
}

/// `HTTP/1.1 200 OK` with a Content-Length body.
pub fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}
