//! A raw HTTP client with an independent, strict response parser, and the
//! assertions on responses portier writes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::{find, header_in, parse_chunk_size, show, TIMEOUT};

/// A raw TCP client with an independent, strict response parser.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

/// A response as the client received it.
#[derive(Clone, Debug)]
pub struct Response {
    /// The raw head including the final empty line.
    pub head: Vec<u8>,
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (chunked framing included).
    pub raw_body: Vec<u8>,
    /// The decoded body.
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl Response {
    pub fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The response says the connection closes after it.
    pub fn closes(&self) -> bool {
        self.header_all("connection")
            .iter()
            .any(|v| v.split(',').any(|o| o.trim().eq_ignore_ascii_case("close")))
    }

    /// The header lines (without the status line and final CRLF).
    pub fn header_lines(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect()
    }
}

/// How the body of a response is delimited, as the client knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// By the response's own fields (GET and the like).
    Body,
    /// No body whatever the fields say (HEAD).
    NoBody,
}

impl RawClient {
    pub fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect to portier");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let _ = stream.set_nodelay(true);
        RawClient {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("client write");
        self.stream.flush().expect("client flush");
    }

    /// Another handle on the socket (to write from a second thread while
    /// this one reads).
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().expect("clone the client socket")
    }

    /// Writes, ignoring errors (the proxy may already have closed).
    pub fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads more bytes; Ok(false) at EOF. A reset counts as EOF.
    fn fill(&mut self) -> Result<bool, String> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                self.eof = true;
                Ok(false)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(format!(
                    "client read timed out after {TIMEOUT:?}; have {:?}",
                    show(&self.buf)
                ))
            }
            Err(e) => Err(format!("client read failed: {e}")),
        }
    }

    fn want(&mut self, n: usize) -> Result<(), String> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(format!("EOF after {:?}, wanted {n} bytes", show(&self.buf)));
            }
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let l = self.take(i + 2);
                return Ok(l);
            }
            if !self.fill()? {
                return Err(format!("EOF inside a line: {:?}", show(&self.buf)));
            }
        }
    }

    /// Reads one response head (status line and fields).
    pub fn try_read_head(&mut self) -> Result<Response, String> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill()? {
                return Err(format!("EOF before a complete head: {:?}", show(&self.buf)));
            }
        };
        let head = self.take(end);
        parse_response_head(head)
    }

    /// Reads one complete response; its body per `expect` and its fields.
    pub fn try_read_response_as(&mut self, expect: Expect) -> Result<Response, String> {
        let mut r = self.try_read_head()?;
        let bodiless = expect == Expect::NoBody
            || (100..200).contains(&r.status)
            || r.status == 204
            || r.status == 304;
        if bodiless {
            return Ok(r);
        }
        let te = r.header("transfer-encoding").map(str::to_owned);
        let cl = r.header("content-length").map(str::to_owned);
        match (te, cl) {
            (Some(_), Some(_)) => Err(format!("response with both TE and CL: {}", r.head_text())),
            (Some(te), None) => {
                if !te.eq_ignore_ascii_case("chunked") {
                    return Err(format!("response TE {te:?}"));
                }
                r.chunked = true;
                loop {
                    let size_line = self.line()?;
                    r.raw_body.extend_from_slice(&size_line);
                    let size =
                        parse_chunk_size(&size_line[..size_line.len() - 2]).ok_or_else(|| {
                            format!(
                                "bad chunk size line {:?} after {:?}",
                                show(&size_line),
                                show(&r.raw_body)
                            )
                        })?;
                    if size == 0 {
                        loop {
                            let t = self.line()?;
                            r.raw_body.extend_from_slice(&t);
                            if t == b"\r\n" {
                                return Ok(r);
                            }
                        }
                    }
                    self.want(size + 2)?;
                    let data = self.take(size + 2);
                    r.raw_body.extend_from_slice(&data);
                    if &data[size..] != b"\r\n" {
                        return Err(format!(
                            "chunk data not followed by CRLF: {:?}",
                            show(&r.raw_body)
                        ));
                    }
                    r.body.extend_from_slice(&data[..size]);
                }
            }
            (None, Some(cl)) => {
                let n: usize = cl
                    .parse()
                    .map_err(|_| format!("bad Content-Length {cl:?}"))?;
                self.want(n)?;
                r.body = self.take(n);
                r.raw_body = r.body.clone();
                Ok(r)
            }
            (None, None) => {
                r.body = self.try_read_to_eof()?;
                r.raw_body = r.body.clone();
                Ok(r)
            }
        }
    }

    pub fn try_read_response(&mut self) -> Result<Response, String> {
        self.try_read_response_as(Expect::Body)
    }

    pub fn read_response(&mut self) -> Response {
        self.try_read_response()
            .unwrap_or_else(|e| panic!("reading a response: {e}"))
    }

    pub fn read_response_as(&mut self, expect: Expect) -> Response {
        self.try_read_response_as(expect)
            .unwrap_or_else(|e| panic!("reading a response: {e}"))
    }

    pub fn read_head(&mut self) -> Response {
        self.try_read_head()
            .unwrap_or_else(|e| panic!("reading a response head: {e}"))
    }

    /// Everything until the peer closes (buffered bytes included).
    pub fn try_read_to_eof(&mut self) -> Result<Vec<u8>, String> {
        while self.fill()? {}
        Ok(std::mem::take(&mut self.buf))
    }

    pub fn read_to_eof(&mut self) -> Vec<u8> {
        self.try_read_to_eof()
            .unwrap_or_else(|e| panic!("waiting for EOF: {e}"))
    }

    /// Asserts that the connection is closed with nothing more to read.
    pub fn assert_closed(&mut self) {
        let rest = self.read_to_eof();
        assert!(
            rest.is_empty(),
            "expected EOF, got more bytes: {:?}",
            show(&rest)
        );
    }

    /// Sends `request` and reads the response.
    pub fn roundtrip(&mut self, request: &[u8]) -> Response {
        self.send(request);
        self.read_response()
    }
}

fn parse_response_head(head: Vec<u8>) -> Result<Response, String> {
    let text =
        String::from_utf8(head.clone()).map_err(|_| format!("non-UTF-8 head {:?}", show(&head)))?;
    let body = text
        .strip_suffix("\r\n\r\n")
        .ok_or("head without CRLF CRLF")?;
    let mut lines = body.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    if status_line.contains('\n') || status_line.contains('\r') {
        return Err(format!("bare CR/LF in status line {status_line:?}"));
    }
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        if line.contains('\n') || line.contains('\r') {
            return Err(format!("bare CR/LF in header line {line:?}"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without colon {line:?}"))?;
        if name.is_empty() || name.contains(' ') {
            return Err(format!("invalid header name in {line:?}"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Response {
        head,
        status_line,
        status,
        headers,
        raw_body: Vec::new(),
        body: Vec::new(),
        chunked: false,
    })
}

/// The status line portier writes for `code` (RFC 9110 reason phrases).
pub fn status_line(code: u16) -> String {
    let reason = match code {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => panic!("no reason phrase for {code} in the test table"),
    };
    format!("HTTP/1.1 {code} {reason}")
}

/// Asserts an error response portier wrote itself: the exact status line,
/// `Connection: close`, and then EOF on the connection.
pub fn assert_error_and_close(client: &mut RawClient, code: u16) -> Response {
    let resp = client.read_response();
    assert_eq!(
        resp.status_line,
        status_line(code),
        "head:\n{}",
        resp.head_text()
    );
    assert!(
        resp.closes(),
        "error response without Connection: close:\n{}",
        resp.head_text()
    );
    client.assert_closed();
    resp
}

/// Asserts the head lines of a response: `first` exactly, in order, then
/// exactly the lines of `rest` in any order.
pub fn assert_lines(resp: &Response, first: &[&str], rest: &[&str]) {
    let lines = resp.header_lines();
    let head = resp.head_text();
    assert!(
        lines.len() >= first.len(),
        "missing lines {first:?} in\n{head}"
    );
    assert_eq!(&lines[..first.len()], first, "head:\n{head}");
    let mut tail: Vec<&str> = lines[first.len()..].iter().map(String::as_str).collect();
    let mut want = rest.to_vec();
    tail.sort_unstable();
    want.sort_unstable();
    assert_eq!(tail, want, "portier's own header lines; head:\n{head}");
}
