//! Request heads (RFC 9112 §3): the request line, the fields a proxy must
//! check before anything is forwarded, and the hop-by-hop flags.

use std::mem::MaybeUninit;

use super::lines::{
    bytes, header_lines, header_slots, leading_empty_lines, mark_connection_options, merge_length,
    span, syntax_error, BARE_LF, STACK_HEADERS,
};
use super::{HeadError, HeadLimits, Method, Parsed, RequestHead, Version};
use crate::http1::fields::{self, Codings, CodingsVerdict, ConnectionOptions, Field};
use crate::http1::framing;

/// Parses a request head at the start of `buf`.
pub fn parse_request(buf: &[u8], limits: &HeadLimits) -> Result<Parsed<RequestHead>, HeadError> {
    let mut head = RequestHead::default();
    Ok(match parse_request_into(buf, limits, &mut head)? {
        Parsed::Complete(()) => Parsed::Complete(head),
        Parsed::Partial => Parsed::Partial,
    })
}

/// Like [`parse_request`], reusing `head` (and its header vector). On
/// `Partial` or an error the contents of `head` are unspecified.
pub fn parse_request_into(
    buf: &[u8],
    limits: &HeadLimits,
    head: &mut RequestHead,
) -> Result<Parsed<()>, HeadError> {
    let window = buf.get(..limits.max_head).unwrap_or(buf);
    let mut stack = [MaybeUninit::uninit(); STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, limits.max_headers);
    let mut req = httparse::Request::new(&mut []);
    let status = httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, window, slots)
        .map_err(|e| syntax_error(e, window))?;
    let head_len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if window.len() >= limits.max_head => {
            // RFC 9112 §3: a request line longer than we accept is a 414.
            let line_ended = leading_empty_lines(window)
                .ok()
                .and_then(|p| window.get(p..))
                .is_some_and(|rest| rest.contains(&b'\n'));
            return Err(if line_ended {
                HeadError::TooLarge
            } else {
                HeadError::TargetTooLong
            });
        }
        httparse::Status::Partial => return Ok(Parsed::Partial),
    };
    let (Some(m), Some(t), Some(v)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed("incomplete request line"));
    };
    head.head_len = head_len;
    head.method_range = span(buf, m.as_bytes())?;
    head.target = span(buf, t.as_bytes())?;
    head.method = Method::from_bytes(m.as_bytes());
    head.version = if v == 1 {
        Version::Http11
    } else {
        Version::Http10
    };
    // RFC 9112 §2.2: portier accepts CRLF only (and CRLF empty lines before
    // the request line); every line end is checked here and in header_lines.
    if leading_empty_lines(buf)? != head.method_range.start {
        return Err(BARE_LF);
    }
    // request-line = method SP request-target SP HTTP-version CRLF (§3).
    let version_end = head.target.end + " HTTP/1.1".len();
    if buf.get(version_end) != Some(&b'\r') {
        return Err(BARE_LF);
    }
    head.request_line = head.method_range.start..version_end + 2;
    header_lines(
        buf,
        head.request_line.end,
        head_len,
        req.headers,
        &mut head.headers,
    )?;

    if head.method == Method::Connect {
        return Err(HeadError::NotImplemented("CONNECT"));
    }
    check_target(head.method, bytes(buf, &head.target))?;
    request_fields(buf, head)?;
    Ok(Parsed::Complete(()))
}

/// RFC 9112 §3.2: portier serves origin-form, and asterisk-form for
/// OPTIONS (§3.2.4). Absolute-form is meant for forward proxies and
/// authority-form for CONNECT; both are refused.
fn check_target(method: Method, target: &[u8]) -> Result<(), HeadError> {
    match target {
        [b'/', ..] if !target.is_ascii() => {
            Err(HeadError::Malformed("non-ASCII byte in request target"))
        }
        // origin-form = absolute-path [ "?" query ]: no fragment.
        [b'/', ..] if target.contains(&b'#') => {
            Err(HeadError::Malformed("fragment in request target"))
        }
        [b'/', ..] => Ok(()),
        b"*" if method == Method::Options => Ok(()),
        b"*" => Err(HeadError::Malformed("asterisk-form target without OPTIONS")),
        _ if target.windows(3).any(|w| w == b"://") => {
            Err(HeadError::Malformed("absolute-form request target"))
        }
        _ => Err(HeadError::Malformed("request target not in origin-form")),
    }
}

/// The semantic checks on request fields, and hop-by-hop flags.
fn request_fields(buf: &[u8], head: &mut RequestHead) -> Result<(), HeadError> {
    let mut hosts = 0u32;
    let mut content_length = None;
    let mut codings = Codings::default();
    let mut te_seen = false;
    let mut connection = ConnectionOptions::default();
    head.host = None;
    head.expect_continue = false;
    head.upgrade = false;
    for line in head.headers.iter_mut() {
        let value = bytes(buf, &line.value);
        line.hop = match fields::classify(bytes(buf, &line.name)) {
            Field::Host => {
                // RFC 9112 §3.2: exactly one Host, with a valid value.
                hosts += 1;
                if !fields::valid_host(value) {
                    return Err(HeadError::Malformed("invalid Host"));
                }
                head.host = Some(line.value.clone());
                false
            }
            Field::ContentLength => {
                content_length = Some(merge_length(content_length, value)?);
                true
            }
            Field::TransferEncoding => {
                te_seen = true;
                codings.add(value).map_err(HeadError::Malformed)?;
                true
            }
            Field::Connection => {
                connection.add(value).map_err(HeadError::Malformed)?;
                true
            }
            Field::Expect => {
                // RFC 9110 §10.1.1: 100-continue is the only expectation;
                // any other one gets 417.
                if !value.eq_ignore_ascii_case(b"100-continue") {
                    return Err(HeadError::ExpectationFailed);
                }
                // An HTTP/1.0 client cannot understand 100: ignore it.
                head.expect_continue = head.version == Version::Http11;
                true
            }
            Field::Upgrade => {
                head.upgrade = true;
                true
            }
            // RFC 9110 §7.6.1 hop-by-hop fields, and the forwarding fields
            // portier writes itself (a client must not forge them).
            Field::KeepAlive
            | Field::ProxyConnection
            | Field::Te
            | Field::Trailer
            | Field::XForwardedFor
            | Field::XForwardedProto
            | Field::XForwardedHost
            | Field::XRealIp
            | Field::Forwarded => true,
            Field::Other => false,
        };
    }
    if hosts > 1 {
        return Err(HeadError::Malformed("duplicate Host"));
    }
    if hosts == 0 && head.version == Version::Http11 {
        return Err(HeadError::Malformed("missing Host"));
    }
    if te_seen {
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
        if head.version == Version::Http10 {
            return Err(HeadError::Malformed(
                "Transfer-Encoding in HTTP/1.0 request",
            ));
        }
        // RFC 9112 §6.3 rule 3: both is a smuggling attempt; refuse it.
        if content_length.is_some() {
            return Err(HeadError::Malformed(
                "Transfer-Encoding with Content-Length",
            ));
        }
        match codings.verdict() {
            CodingsVerdict::Chunked => {}
            // RFC 9112 §6.1: an unknown coding in a request gets 501.
            CodingsVerdict::OtherThenChunked => {
                return Err(HeadError::NotImplemented(
                    "transfer coding other than chunked",
                ));
            }
            CodingsVerdict::Invalid(r) => return Err(HeadError::Malformed(r)),
        }
    }
    if connection.names_fields {
        mark_connection_options(buf, &mut head.headers);
    }
    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 persists
    // only with "keep-alive".
    head.close = match head.version {
        Version::Http11 => connection.close,
        Version::Http10 => connection.close || !connection.keep_alive,
    };
    head.body = framing::request_body(te_seen, content_length);
    Ok(())
}
