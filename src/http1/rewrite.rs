//! The heads portier writes: the request head sent upstream and the response
//! head sent to the client, as ranges of the buffer the head was parsed from
//! plus the few lines portier adds (RFC 9110 §7.6: a proxy removes the
//! hop-by-hop fields and writes its own framing, RFC 9112 §6–§7).
//!
//! Nothing is formatted through `format!`: numbers and addresses go through
//! small stack buffers straight into the gathered write's `extra` bytes.

use std::io::Write as _;
use std::net::IpAddr;

use crate::http1::head::{RequestHead, ResponseHead, Version};
use crate::net::gather::Gather;

/// Who sent the request, for the forwarding fields.
#[derive(Clone, Copy, Debug)]
pub struct ClientInfo<'a> {
    pub ip: IpAddr,
    /// "http" or "https".
    pub proto: &'static str,
    /// The host the request was for (its Host value, or the routed name
    /// for an HTTP/1.0 request without Host).
    pub host: &'a [u8],
}

/// How the body that follows a written head is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutBody {
    /// No framing field (no body, or a response delimited by close).
    None,
    /// `Content-Length: N`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The connection field of a response head sent to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionLine {
    /// HTTP/1.1 default: persistent, nothing to say.
    Omit,
    /// `Connection: close` (RFC 9112 §9.6).
    Close,
    /// `Connection: keep-alive`, needed by an HTTP/1.0 client that asked to
    /// keep the connection (RFC 9112 Appendix C.2.2).
    KeepAlive,
}

/// Appends the head forwarded upstream: the request line (always as
/// HTTP/1.1), every field not flagged hop-by-hop (Host included), a Host
/// line from `client.host` when the request had none (HTTP/1.0),
/// X-Forwarded-For (earlier values, then the client address),
/// X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP, the framing line of
/// `body`, and the final CRLF.
pub fn upstream_request(
    buf: &[u8],
    head: &RequestHead,
    client: &ClientInfo,
    body: OutBody,
    out: &mut Gather,
) {
    match head.version {
        Version::Http11 => out.push_base(head.request_line.clone()),
        Version::Http10 => {
            // RFC 9110 §6.2: a proxy sends its own version, not the client's.
            out.push_base(head.method_range.start..head.target.end);
            out.push_extra(b" HTTP/1.1\r\n");
        }
    }
    for line in head.headers.iter().filter(|l| !l.hop) {
        out.push_base(line.line.clone());
    }
    if head.host.is_none() && !client.host.is_empty() {
        // HTTP/1.1 requires Host (RFC 9112 §3.2).
        push_line(out, b"Host: ", client.host);
    }

    let mut ip = [0u8; 48];
    let ip = format_ip(client.ip, &mut ip);
    out.push_extra(b"X-Forwarded-For: ");
    for previous in head.forwarded_for(buf) {
        out.push_extra(previous);
        out.push_extra(b", ");
    }
    out.push_extra(ip);
    out.push_extra(b"\r\nX-Forwarded-Proto: ");
    out.push_extra(client.proto.as_bytes());
    out.push_extra(b"\r\n");
    push_line(out, b"X-Forwarded-Host: ", client.host);
    push_line(out, b"X-Real-IP: ", ip);
    push_framing(out, body);
    out.push_extra(b"\r\n");
}

/// Appends the head sent to the client: the status line as
/// `HTTP/1.1 <status> <upstream reason>`, every field not flagged
/// hop-by-hop, the framing line of `body`, `Connection: close` when `close`,
/// and the final CRLF.
///
/// Pass `OutBody::None` when `head.body` is `ResponseBody::None`: the
/// Content-Length of a HEAD or 304 response is then forwarded as received
/// (it describes the representation, RFC 9110 §8.6), and 1xx/204 responses
/// carry no framing field at all.
pub fn client_response(
    buf: &[u8],
    head: &ResponseHead,
    body: OutBody,
    close: bool,
    out: &mut Gather,
) {
    let connection = if close {
        ConnectionLine::Close
    } else {
        ConnectionLine::Omit
    };
    client_response_with(buf, head, body, connection, out);
}

/// [`client_response`] with any [`ConnectionLine`].
pub fn client_response_with(
    buf: &[u8],
    head: &ResponseHead,
    body: OutBody,
    connection: ConnectionLine,
    out: &mut Gather,
) {
    client_response_edited(buf, head, body, connection, &ResponseEdits::NONE, out);
}

/// Changes a route makes to every response (`response_headers`, `hsts`).
#[derive(Clone, Debug, Default)]
pub struct ResponseEdits {
    /// Lowercased names of fields dropped from the upstream's response.
    pub remove: Vec<String>,
    /// Fields set (replacing any the upstream sent).
    pub set: Vec<(String, String)>,
    /// The Strict-Transport-Security value, replacing the upstream's.
    pub hsts: Option<String>,
}

impl ResponseEdits {
    pub const NONE: ResponseEdits = ResponseEdits {
        remove: Vec::new(),
        set: Vec::new(),
        hsts: None,
    };

    fn drops(&self, name: &[u8]) -> bool {
        self.remove
            .iter()
            .any(|r| r.as_bytes().eq_ignore_ascii_case(name))
            || self
                .set
                .iter()
                .any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            || (self.hsts.is_some() && name.eq_ignore_ascii_case(b"strict-transport-security"))
    }
}

/// [`client_response_with`] plus a route's header edits.
pub fn client_response_edited(
    buf: &[u8],
    head: &ResponseHead,
    body: OutBody,
    connection: ConnectionLine,
    edits: &ResponseEdits,
    out: &mut Gather,
) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
    // (RFC 9112 §4); the status was checked to be three digits.
    let s = head.status.min(999);
    let status = [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ];
    out.push_extra(b"HTTP/1.1 ");
    out.push_extra(&status);
    out.push_extra(b" ");
    out.push_base(head.reason.clone());
    out.push_extra(b"\r\n");
    let editing = !edits.remove.is_empty() || !edits.set.is_empty() || edits.hsts.is_some();
    for line in head.headers.iter().filter(|l| !l.hop) {
        if editing && edits.drops(buf.get(line.name.clone()).unwrap_or_default()) {
            continue;
        }
        out.push_base(line.line.clone());
    }
    for (name, value) in &edits.set {
        out.push_extra(name.as_bytes());
        push_line(out, b": ", value.as_bytes());
    }
    if let Some(hsts) = &edits.hsts {
        push_line(out, b"Strict-Transport-Security: ", hsts.as_bytes());
    }
    push_framing(out, body);
    match connection {
        ConnectionLine::Omit => {}
        ConnectionLine::Close => out.push_extra(b"Connection: close\r\n"),
        ConnectionLine::KeepAlive => out.push_extra(b"Connection: keep-alive\r\n"),
    }
    out.push_extra(b"\r\n");
}

fn push_line(out: &mut Gather, name: &[u8], value: &[u8]) {
    out.push_extra(name);
    out.push_extra(value);
    out.push_extra(b"\r\n");
}

fn push_framing(out: &mut Gather, body: OutBody) {
    match body {
        OutBody::None => {}
        OutBody::Length(n) => {
            let mut digits = [0u8; 20];
            push_line(out, b"Content-Length: ", format_u64(n, &mut digits));
        }
        OutBody::Chunked => out.push_extra(b"Transfer-Encoding: chunked\r\n"),
    }
}

/// Decimal digits of `n` in `out`.
fn format_u64(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    // u64::MAX has 20 digits, so `i` stays within 0..20.
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &out[i..]
}

/// The address as text, IPv6 without brackets (X-Forwarded-For and
/// X-Real-IP carry bare addresses). An IPv4-mapped IPv6 address (a dual
/// stack listener) is written as IPv4.
fn format_ip(ip: IpAddr, out: &mut [u8; 48]) -> &[u8] {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if let IpAddr::V4(v4) = ip {
        // The common case by hand: core::fmt costs more than the rest of
        // the header rewrite.
        let mut n = 0;
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                out[n] = b'.';
                n += 1;
            }
            let mut digits = [0u8; 20];
            let d = format_u64(u64::from(octet), &mut digits);
            out[n..n + d.len()].copy_from_slice(d);
            n += d.len();
        }
        return &out[..n];
    }
    let capacity = out.len();
    let mut cursor = &mut out[..];
    // The longest IPv6 text is 45 bytes: the write cannot fail.
    let written = match write!(cursor, "{ip}") {
        Ok(()) => capacity - cursor.len(),
        Err(_) => 0,
    };
    out.get(..written).unwrap_or_default()
}

#[cfg(test)]
mod tests;
