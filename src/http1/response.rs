//! The complete responses portier writes itself: error answers (RFC 9110
//! §15) and the interim 100 Continue (RFC 9110 §15.2.1). Static bytes, so a
//! refusal costs no allocation. Error answers close the connection
//! (RFC 9112 §9.6): after an error portier no longer trusts the framing of
//! what the client sends next. No Server field: nothing reveals a version.

/// The interim response sent before reading a body when the client sent
/// `Expect: 100-continue` (RFC 9110 §10.1.1).
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// One canned answer: status line text, its Content-Length, and the body
/// (the status line text followed by a newline).
macro_rules! canned {
    ($status:literal, $len:literal) => {
        concat!(
            "HTTP/1.1 ",
            $status,
            "\r\nContent-Type: text/plain\r\nContent-Length: ",
            $len,
            "\r\nConnection: close\r\n\r\n",
            $status,
            "\n"
        )
        .as_bytes()
    };
}

/// The complete response for an error `status`; a status without its own
/// text gets the 500 answer.
pub fn error(status: u16) -> &'static [u8] {
    match status {
        400 => canned!("400 Bad Request", "16"),
        404 => canned!("404 Not Found", "14"),
        408 => canned!("408 Request Timeout", "20"),
        413 => canned!("413 Content Too Large", "22"),
        414 => canned!("414 URI Too Long", "17"),
        417 => canned!("417 Expectation Failed", "23"),
        429 => canned!("429 Too Many Requests", "22"),
        431 => canned!("431 Request Header Fields Too Large", "36"),
        501 => canned!("501 Not Implemented", "20"),
        502 => canned!("502 Bad Gateway", "16"),
        503 => canned!("503 Service Unavailable", "24"),
        504 => canned!("504 Gateway Timeout", "20"),
        _ => canned!("500 Internal Server Error", "26"),
    }
}

/// `301` to the same host and target over https (`redirect = "https"`),
/// without a body. `host` is the Host value without its port; `target` the
/// origin-form target as received (both already validated by the parser).
pub fn redirect_https(host: &[u8], target: &[u8], close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + host.len() + target.len());
    out.extend_from_slice(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://");
    out.extend_from_slice(host);
    out.extend_from_slice(target);
    out.extend_from_slice(b"\r\nContent-Length: 0\r\n");
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A route's static answer (`respond = N`): the canned text for the
/// statuses above, else the bare status with an empty body. Closes.
pub fn status_only(status: u16) -> Vec<u8> {
    if matches!(
        status,
        400 | 404 | 408 | 413 | 414 | 417 | 429 | 431 | 500 | 501 | 502 | 503 | 504
    ) {
        return error(status).to_vec();
    }
    format!("HTTP/1.1 {status} \r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUSES: [u16; 13] = [
        400, 404, 408, 413, 414, 417, 429, 431, 500, 501, 502, 503, 504,
    ];

    #[test]
    fn content_length_matches_body() {
        for status in STATUSES {
            let r = std::str::from_utf8(error(status)).unwrap();
            let (head, body) = r.split_once("\r\n\r\n").unwrap();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(len, body.len(), "{status}");
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{status}");
            assert!(body.starts_with(&status.to_string()), "{status}");
            assert!(head.contains("\r\nConnection: close"));
            assert!(!head.lines().any(|l| l.starts_with("Server:")));
        }
    }

    #[test]
    fn unknown_status_is_500() {
        assert_eq!(error(418), error(500));
        assert!(error(0).starts_with(b"HTTP/1.1 500 "));
    }

    #[test]
    fn canned_responses_parse_as_responses() {
        use crate::http1::framing::ResponseBody;
        use crate::http1::head::{parse_response, HeadLimits, Method, Parsed};
        for status in STATUSES {
            let r = error(status);
            match parse_response(r, &HeadLimits::default(), Method::Get) {
                Ok(Parsed::Complete(h)) => {
                    assert_eq!(h.status, status);
                    assert!(h.close);
                    assert_eq!(h.body, ResponseBody::Length((r.len() - h.head_len) as u64));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_response(CONTINUE, &HeadLimits::default(), Method::Post),
            Ok(Parsed::Complete(h)) if h.status == 100 && h.head_len == CONTINUE.len()
        ));
    }

    #[test]
    fn redirect_and_static_answers() {
        assert_eq!(
            redirect_https(b"example.org", b"/a?b=1", false),
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.org/a?b=1\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(redirect_https(b"h", b"/", true).ends_with(b"Connection: close\r\n\r\n"));
        assert_eq!(status_only(404), error(404));
        assert_eq!(
            status_only(410),
            b"HTTP/1.1 410 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
}
