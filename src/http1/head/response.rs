//! Response heads (RFC 9112 §4) as received from an upstream: every
//! refusal here is the upstream's fault, answered to the client with 502.

use std::mem::MaybeUninit;

use super::lines::{
    bytes, header_lines, header_slots, leading_empty_lines, mark_connection_options, merge_length,
    syntax_error, BARE_LF, STACK_HEADERS,
};
use super::{HeadError, HeadLimits, Method, Parsed, ResponseHead, Version};
use crate::http1::fields::{self, Codings, CodingsVerdict, ConnectionOptions, Field};
use crate::http1::framing;

/// Parses a response head at the start of `buf`, answering a request made
/// with `request_method`.
pub fn parse_response(
    buf: &[u8],
    limits: &HeadLimits,
    request_method: Method,
) -> Result<Parsed<ResponseHead>, HeadError> {
    let mut head = ResponseHead::default();
    Ok(
        match parse_response_into(buf, limits, request_method, &mut head)? {
            Parsed::Complete(()) => Parsed::Complete(head),
            Parsed::Partial => Parsed::Partial,
        },
    )
}

/// Like [`parse_response`], reusing `head`. Every error is the upstream's
/// fault (the session answers the client 502).
pub fn parse_response_into(
    buf: &[u8],
    limits: &HeadLimits,
    request_method: Method,
    head: &mut ResponseHead,
) -> Result<Parsed<()>, HeadError> {
    let window = buf.get(..limits.max_head).unwrap_or(buf);
    let mut stack = [MaybeUninit::uninit(); STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, limits.max_headers);
    let mut res = httparse::Response::new(&mut []);
    let status = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, window, slots)
        .map_err(|e| syntax_error(e, window))?;
    let head_len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if window.len() >= limits.max_head => {
            return Err(HeadError::TooLarge)
        }
        httparse::Status::Partial => return Ok(Parsed::Partial),
    };
    let (Some(v), Some(code)) = (res.version, res.code) else {
        return Err(HeadError::Malformed("incomplete status line"));
    };
    // RFC 9110 §15: status-code is three digits, 100 to 999.
    if code < 100 {
        return Err(HeadError::Malformed("status code below 100"));
    }
    head.head_len = head_len;
    head.status = code;
    head.version = if v == 1 {
        Version::Http11
    } else {
        Version::Http10
    };
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
    // (RFC 9112 §4); httparse also lets the SP before CRLF be missing.
    let code_end = leading_empty_lines(buf)? + "HTTP/1.1 200".len();
    let reason_start = if buf.get(code_end) == Some(&b' ') {
        code_end + 1
    } else {
        code_end
    };
    let lf = buf
        .get(reason_start..head_len)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map(|i| reason_start + i)
        .ok_or(HeadError::Malformed("status line without end"))?;
    if lf == reason_start || buf.get(lf - 1) != Some(&b'\r') {
        return Err(BARE_LF);
    }
    head.reason = reason_start..lf - 1;
    header_lines(buf, lf + 1, head_len, res.headers, &mut head.headers)?;
    response_fields(buf, request_method, head)?;
    Ok(Parsed::Complete(()))
}

fn response_fields(
    buf: &[u8],
    request_method: Method,
    head: &mut ResponseHead,
) -> Result<(), HeadError> {
    let bodiless = framing::response_is_bodiless(request_method, head.status);
    let mut content_length = None;
    let mut codings = Codings::default();
    let mut te_seen = false;
    let mut connection = ConnectionOptions::default();
    for line in head.headers.iter_mut() {
        let value = bytes(buf, &line.value);
        line.hop = match fields::classify(bytes(buf, &line.name)) {
            Field::ContentLength => {
                content_length = Some(merge_length(content_length, value)?);
                // In a HEAD or 304 response Content-Length describes the
                // representation, not this message (RFC 9110 §8.6): keep it.
                // Otherwise the writer emits its own framing.
                !(bodiless && (request_method == Method::Head || head.status == 304))
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
            Field::KeepAlive
            | Field::ProxyConnection
            | Field::Te
            | Field::Trailer
            | Field::Upgrade => true,
            _ => false,
        };
    }
    let mut te_chunked = None;
    if te_seen {
        if content_length.is_some() {
            return Err(HeadError::Malformed(
                "Transfer-Encoding with Content-Length",
            ));
        }
        if head.version == Version::Http10 {
            return Err(HeadError::Malformed(
                "Transfer-Encoding in HTTP/1.0 response",
            ));
        }
        if !bodiless {
            // portier removed the client's TE field, so the upstream may
            // apply no coding but chunked (RFC 9112 §6.1, §7.4); re-framing
            // would otherwise hand the client coded bytes as content.
            match codings.verdict() {
                CodingsVerdict::Chunked => te_chunked = Some(true),
                CodingsVerdict::OtherThenChunked => {
                    return Err(HeadError::Malformed(
                        "transfer coding other than chunked in response",
                    ));
                }
                CodingsVerdict::Invalid(r) => return Err(HeadError::Malformed(r)),
            }
        }
    }
    if connection.names_fields {
        mark_connection_options(buf, &mut head.headers);
    }
    head.body = framing::response_body(request_method, head.status, te_chunked, content_length);
    head.close = connection.close
        || (head.version == Version::Http10 && !connection.keep_alive)
        || head.body.is_close_delimited();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{hop_names, LIMITS};
    use super::*;
    use crate::http1::framing::ResponseBody;

    fn res(raw: &[u8], method: Method) -> ResponseHead {
        match parse_response(raw, &LIMITS, method) {
            Ok(Parsed::Complete(h)) => h,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    fn res_err(raw: &[u8]) -> &'static str {
        match parse_response(raw, &LIMITS, Method::Get) {
            Err(HeadError::Malformed(r)) => r,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn response_basics() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Up\r\nX-Up: 1\r\nServer: s\r\n\r\nhello";
        let h = res(raw, Method::Get);
        assert_eq!(
            (h.status, h.version, h.body, h.close),
            (200, Version::Http11, ResponseBody::Length(5), false)
        );
        assert_eq!(&raw[h.reason.clone()], b"OK");
        assert_eq!(h.head_len, raw.len() - 5);
        assert_eq!(
            hop_names(raw, &h.headers),
            ["Content-Length", "Connection", "X-Up"]
        );
        assert_eq!(h.header(raw, b"server"), Some(&b"s"[..]));

        let raw = b"HTTP/1.1 404\r\nTransfer-Encoding: chunked\r\n\r\n";
        let h = res(raw, Method::Get);
        assert_eq!((h.status, h.body), (404, ResponseBody::Chunked));
        assert!(h.reason.is_empty());
        let raw = b"HTTP/1.1 200 \r\n\r\n";
        assert!(res(raw, Method::Get).reason.is_empty());
        let raw = b"HTTP/1.1 500 Internal \xe9rror\r\n\r\n";
        assert_eq!(&raw[res(raw, Method::Get).reason], b"Internal \xe9rror");
    }

    #[test]
    fn response_framing() {
        let h = res(b"HTTP/1.1 200 OK\r\n\r\n", Method::Get);
        assert_eq!((h.body, h.close), (ResponseBody::UntilClose, true));
        let h = res(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", Method::Get);
        assert_eq!((h.body, h.close), (ResponseBody::Length(1), true));
        let h = res(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            Method::Get,
        );
        assert!(!h.close);
        let h = res(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
            Method::Get,
        );
        assert!(h.close);
        // Bodiless responses; a HEAD or 304 keeps its Content-Length.
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let h = res(raw, Method::Head);
        assert_eq!(h.body, ResponseBody::None);
        assert!(!h.headers[0].hop);
        let raw = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
        assert!(!res(raw, Method::Get).headers[0].hop);
        let raw = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        let h = res(raw, Method::Get);
        assert_eq!(h.body, ResponseBody::None);
        assert!(h.headers[0].hop);
        assert_eq!(
            res(b"HTTP/1.1 100 Continue\r\n\r\n", Method::Post).body,
            ResponseBody::None
        );
    }

    #[test]
    fn response_errors() {
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
            "Transfer-Encoding with Content-Length"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            "differing Content-Length values"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            "invalid Content-Length"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
            "final transfer coding is not chunked"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            "transfer coding other than chunked in response"
        );
        assert_eq!(
            res_err(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "Transfer-Encoding in HTTP/1.0 response"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 099 Low\r\n\r\n"),
            "status code below 100"
        );
        assert_eq!(res_err(b"HTTP/1.1 20 OK\r\n\r\n"), "invalid status line");
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\nA: b\r\n\r\n"),
            "line not ended by CRLF"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nA: b\n\r\n"),
            "line not ended by CRLF"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"),
            "obs-fold (folded header line)"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n"),
            "whitespace before colon"
        );
        assert_eq!(
            res_err(b"HTTP/1.1 200 OK\r\nA: \x00\r\n\r\n"),
            "invalid byte in header value"
        );
        assert_eq!(res_err(b"HTTP/2 200 OK\r\n\r\n"), "invalid HTTP version");
        let limits = HeadLimits {
            max_head: 32,
            max_headers: 4,
        };
        let big = b"HTTP/1.1 200 OK\r\nA: 123456789012345678901234567890\r\n\r\n";
        assert_eq!(
            parse_response(big, &limits, Method::Get),
            Err(HeadError::TooLarge)
        );
        assert_eq!(
            parse_response(&big[..20], &limits, Method::Get),
            Ok(Parsed::Partial)
        );
    }
}
