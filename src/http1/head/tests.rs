use super::*;

pub(super) const LIMITS: HeadLimits = HeadLimits {
    max_head: 8192,
    max_headers: 32,
};

pub(super) fn req(raw: &[u8]) -> RequestHead {
    match parse_request(raw, &LIMITS) {
        Ok(Parsed::Complete(h)) => h,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
    }
}

pub(super) fn req_err(raw: &[u8]) -> HeadError {
    match parse_request(raw, &LIMITS) {
        Err(e) => e,
        other => panic!("accepted {:?}: {other:?}", String::from_utf8_lossy(raw)),
    }
}

pub(super) fn malformed(raw: &[u8]) -> &'static str {
    match req_err(raw) {
        HeadError::Malformed(r) => r,
        e => panic!("{:?}: {e:?}", String::from_utf8_lossy(raw)),
    }
}

pub(super) fn hop_names<'a>(raw: &'a [u8], lines: &[HeaderLine]) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.hop)
        .map(|l| std::str::from_utf8(&raw[l.name.clone()]).unwrap())
        .collect()
}

mod fields;

#[test]
fn parses_offsets_into_the_buffer() {
    let raw =
        b"POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nX-A:  v  \r\n\r\nabc";
    let h = req(raw);
    assert_eq!(h.head_len, raw.len() - 3);
    assert_eq!(h.method, Method::Post);
    assert_eq!(&raw[h.method_range.clone()], b"POST");
    assert_eq!(&raw[h.target.clone()], b"/a?b=1");
    assert_eq!(&raw[h.request_line.clone()], b"POST /a?b=1 HTTP/1.1\r\n");
    assert_eq!(h.version, Version::Http11);
    assert_eq!(&raw[h.host.clone().unwrap()], b"example.com");
    assert_eq!(h.body, RequestBody::Length(3));
    assert!(!h.close && !h.expect_continue && !h.upgrade);
    assert_eq!(h.headers.len(), 3);
    assert_eq!(&raw[h.headers[2].value.clone()], b"v");
    assert_eq!(&raw[h.headers[2].line.clone()], b"X-A:  v  \r\n");
    assert_eq!(hop_names(raw, &h.headers), ["Content-Length"]);
    assert_eq!(h.path(raw), b"/a");
    assert_eq!(h.header(raw, b"x-a"), Some(&b"v"[..]));
}

#[test]
fn partial_until_the_empty_line() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for end in 0..raw.len() {
        assert_eq!(
            parse_request(&raw[..end], &LIMITS),
            Ok(Parsed::Partial),
            "{end}"
        );
    }
    assert!(matches!(
        parse_request(raw, &LIMITS),
        Ok(Parsed::Complete(_))
    ));
}

#[test]
fn reuse_with_parse_into() {
    let mut head = RequestHead::default();
    let a = b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nA: 1\r\n\r\n";
    assert_eq!(
        parse_request_into(a, &LIMITS, &mut head),
        Ok(Parsed::Complete(()))
    );
    assert!(head.close);
    let b = b"GET /y HTTP/1.1\r\nHost: b\r\n\r\n";
    assert_eq!(
        parse_request_into(b, &LIMITS, &mut head),
        Ok(Parsed::Complete(()))
    );
    assert!(!head.close);
    assert_eq!(head.headers.len(), 1);
    assert_eq!(head, req(b));
}

#[test]
fn leading_empty_lines_are_skipped() {
    let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = req(raw);
    assert_eq!(h.request_line.start, 4);
    assert_eq!(
        malformed(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        "line not ended by CRLF"
    );
}

#[test]
fn httparse_syntax_errors() {
    assert_eq!(
        malformed(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        "invalid method or request target"
    );
    assert_eq!(
        malformed(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
        "invalid HTTP version"
    );
    assert_eq!(
        malformed(b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
        "invalid method or request target"
    );
    assert_eq!(
        malformed(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        "invalid HTTP version"
    );
    assert_eq!(
        malformed(b"GET / http/1.1\r\nHost: a\r\n\r\n"),
        "invalid HTTP version"
    );
    assert_eq!(
        malformed(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
        "invalid method or request target"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n"),
        "invalid header name"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\x01c\r\n\r\n"),
        "invalid byte in header value"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\x7fc\r\n\r\n"),
        "invalid byte in header value"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n c\r\n\r\n"),
        "obs-fold (folded header line)"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        "whitespace before colon"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        "whitespace before colon"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
        "header line without colon"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\n: a\r\n\r\n"),
        "invalid header name"
    );
}

#[test]
fn nul_and_controls_in_values() {
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\x00c\r\n\r\n"),
        "invalid byte in header value"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: \x00\r\n\r\n"),
        "invalid byte in header value"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\x1bc\r\n\r\n"),
        "invalid byte in header value"
    );
    // HTAB and obs-text are allowed (RFC 9110 §5.5).
    let h = req(b"GET / HTTP/1.1\r\nHost: a\r\nA: b\tc\xe9\r\n\r\n");
    assert_eq!(h.headers.len(), 2);
}

#[test]
fn bare_lf_and_bare_cr() {
    let lf = "line not ended by CRLF";
    assert_eq!(malformed(b"GET / HTTP/1.1\nHost: a\r\n\r\n"), lf);
    assert_eq!(malformed(b"GET / HTTP/1.1\r\nHost: a\n\r\n"), lf);
    assert_eq!(malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA: b \n\r\n"), lf);
    assert_eq!(malformed(b"GET / HTTP/1.1\r\nHost: a\r\nA:\n\r\n"), lf);
    assert_eq!(malformed(b"GET / HTTP/1.1\r\nHost: a\r\n\n"), lf);
    assert_eq!(malformed(b"GET / HTTP/1.1\nHost: a\n\n"), lf);
    // A CR not followed by LF is refused by httparse wherever it is.
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\rB: c\r\n\r\n"),
        "invalid byte in header value"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
        "invalid line ending"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\n\rX"),
        "invalid line ending"
    );
    assert!(matches!(
        req_err(b"GET /\r HTTP/1.1\r\n\r\n"),
        HeadError::Malformed(_)
    ));
}

#[test]
fn request_targets() {
    assert_eq!(
        req(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").method,
        Method::Options
    );
    assert_eq!(
        malformed(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        "asterisk-form target without OPTIONS"
    );
    assert_eq!(
        malformed(b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        "absolute-form request target"
    );
    assert_eq!(
        malformed(b"GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n"),
        "request target not in origin-form"
    );
    assert_eq!(
        malformed(b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"),
        "fragment in request target"
    );
    assert_eq!(
        malformed(b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"),
        "non-ASCII byte in request target"
    );
    assert_eq!(
        req_err(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        HeadError::NotImplemented("CONNECT")
    );
    assert_eq!(
        req_err(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n").status(),
        501
    );
}

#[test]
fn size_limits() {
    let limits = HeadLimits {
        max_head: 64,
        max_headers: 3,
    };
    let long_target = format!("GET /{} HTTP/1.1\r\n", "a".repeat(80));
    assert_eq!(
        parse_request(long_target.as_bytes(), &limits),
        Err(HeadError::TargetTooLong)
    );
    assert_eq!(HeadError::TargetTooLong.status(), 414);
    let long_head = format!("GET / HTTP/1.1\r\nHost: a\r\nA: {}\r\n\r\n", "b".repeat(60));
    assert_eq!(
        parse_request(long_head.as_bytes(), &limits),
        Err(HeadError::TooLarge)
    );
    assert_eq!(
        parse_request(&long_head.as_bytes()[..40], &limits),
        Ok(Parsed::Partial)
    );
    assert_eq!(HeadError::TooLarge.status(), 431);
    let many = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    let roomy = HeadLimits {
        max_head: 4096,
        max_headers: 3,
    };
    assert_eq!(parse_request(many, &roomy), Err(HeadError::TooManyHeaders));
    assert_eq!(HeadError::TooManyHeaders.status(), 431);
    let exact = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    assert!(matches!(
        parse_request(exact, &roomy),
        Ok(Parsed::Complete(_))
    ));
    // More header slots than the stack array holds.
    let mut big = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..200 {
        big.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let huge = HeadLimits {
        max_head: 1 << 16,
        max_headers: 300,
    };
    match parse_request(&big, &huge) {
        Ok(Parsed::Complete(h)) => assert_eq!(h.headers.len(), 201),
        other => panic!("{other:?}"),
    }
    // A buffer longer than max_head holding a complete small head is fine.
    let mut pipelined = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
    pipelined.extend_from_slice(&[b'x'; 100]);
    assert!(matches!(
        parse_request(&pipelined, &limits),
        Ok(Parsed::Complete(_))
    ));
}

#[test]
fn error_statuses_and_reasons() {
    assert_eq!(HeadError::Malformed("x").status(), 400);
    assert_eq!(HeadError::Malformed("x").reason(), "x");
    assert_eq!(HeadError::ExpectationFailed.status(), 417);
    assert_eq!(HeadError::NotImplemented("y").status(), 501);
    assert_eq!(HeadError::TooLarge.to_string(), "head too large (431)");
}

#[test]
fn methods() {
    assert_eq!(
        req(b"PATCH / HTTP/1.1\r\nHost: a\r\n\r\n").method,
        Method::Patch
    );
    assert_eq!(
        req(b"get / HTTP/1.1\r\nHost: a\r\n\r\n").method,
        Method::Other
    );
    assert_eq!(
        req(b"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n").method,
        Method::Other
    );
    for m in [
        Method::Get,
        Method::Head,
        Method::Options,
        Method::Trace,
        Method::Put,
        Method::Delete,
    ] {
        assert!(m.is_idempotent());
    }
    for m in [Method::Post, Method::Patch, Method::Connect, Method::Other] {
        assert!(!m.is_idempotent());
    }
}
