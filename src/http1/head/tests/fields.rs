//! The field rules of request heads: Host, framing, expectations,
//! persistence and hop-by-hop flags.

use super::super::*;
use super::{hop_names, malformed, req, req_err, LIMITS};

#[test]
fn host_rules() {
    assert_eq!(malformed(b"GET / HTTP/1.1\r\n\r\n"), "missing Host");
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        "duplicate Host"
    );
    assert_eq!(
        malformed(b"GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n"),
        "duplicate Host"
    );
    for bad in [
        &b""[..],
        b"u@a",
        b"a b",
        b"a,b",
        b"a/b",
        b"a:x",
        b"[::1",
        b"a:",
    ] {
        let mut raw = b"GET / HTTP/1.1\r\nHost: ".to_vec();
        raw.extend_from_slice(bad);
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            malformed(&raw),
            "invalid Host",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let h = req(b"GET / HTTP/1.1\r\nHOST: [::1]:8080\r\n\r\n");
    assert!(h.host.is_some());
    assert!(!h.headers[0].hop);
    // HTTP/1.0 may omit Host.
    assert_eq!(req(b"GET / HTTP/1.0\r\n\r\n").host, None);
}

#[test]
fn content_length_rules() {
    let cl = |v: &str| {
        parse_request(
            format!("POST / HTTP/1.1\r\nHost: a\r\n{v}\r\n\r\n").as_bytes(),
            &LIMITS,
        )
    };
    let body = |v: &str| match cl(v) {
        Ok(Parsed::Complete(h)) => h.body,
        other => panic!("{v}: {other:?}"),
    };
    assert_eq!(body("Content-Length: 0"), RequestBody::Length(0));
    assert_eq!(body("content-length: 42"), RequestBody::Length(42));
    assert_eq!(
        body("Content-Length: 7\r\nContent-Length: 7"),
        RequestBody::Length(7)
    );
    assert_eq!(body("Content-Length: 7, 7"), RequestBody::Length(7));
    assert_eq!(
        body("Content-Length: 9223372036854775808"),
        RequestBody::Length(1 << 63)
    );
    for (v, reason) in [
        ("Content-Length: +1", "invalid Content-Length"),
        ("Content-Length: -1", "invalid Content-Length"),
        ("Content-Length: 1 2", "invalid Content-Length"),
        ("Content-Length: 0x10", "invalid Content-Length"),
        ("Content-Length: a", "invalid Content-Length"),
        ("Content-Length: ", "empty Content-Length"),
        (
            "Content-Length: 9223372036854775809",
            "Content-Length too large",
        ),
        (
            "Content-Length: 99999999999999999999",
            "Content-Length too large",
        ),
        ("Content-Length: 7, 8", "differing Content-Length values"),
        (
            "Content-Length: 7\r\nContent-Length: 8",
            "differing Content-Length values",
        ),
    ] {
        assert_eq!(cl(v), Err(HeadError::Malformed(reason)), "{v}");
    }
}

#[test]
fn transfer_encoding_rules() {
    let te = |v: &str| {
        parse_request(
            format!("POST / HTTP/1.1\r\nHost: a\r\n{v}\r\n\r\n").as_bytes(),
            &LIMITS,
        )
    };
    for ok in [
        "Transfer-Encoding: chunked",
        "transfer-encoding:  CHUNKED ",
        "Transfer-Encoding: chunked,",
    ] {
        match te(ok) {
            Ok(Parsed::Complete(h)) => assert_eq!(h.body, RequestBody::Chunked, "{ok}"),
            other => panic!("{ok}: {other:?}"),
        }
    }
    let m = HeadError::Malformed;
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nContent-Length: 5"),
        Err(m("Transfer-Encoding with Content-Length"))
    );
    assert_eq!(
        te("Content-Length: 5\r\nTransfer-Encoding: chunked"),
        Err(m("Transfer-Encoding with Content-Length"))
    );
    assert_eq!(
        te("Transfer-Encoding: gzip, chunked"),
        Err(HeadError::NotImplemented(
            "transfer coding other than chunked"
        ))
    );
    assert_eq!(
        te("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked").map_err(|e| e.status()),
        Err(501)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked, gzip"),
        Err(m("final transfer coding is not chunked"))
    );
    assert_eq!(
        te("Transfer-Encoding: gzip"),
        Err(m("final transfer coding is not chunked"))
    );
    assert_eq!(
        te("Transfer-Encoding: chunked, chunked"),
        Err(m("chunked applied more than once"))
    );
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
        Err(m("chunked applied more than once"))
    );
    assert_eq!(te("Transfer-Encoding: "), Err(m("empty Transfer-Encoding")));
    assert_eq!(
        te("Transfer-Encoding: chunked;x=1"),
        Err(m("chunked transfer coding with parameters"))
    );
    assert_eq!(
        te("Transfer-Encoding: \"chunked\""),
        Err(m("invalid transfer coding"))
    );
    assert_eq!(
        parse_request(
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            &LIMITS
        ),
        Err(m("Transfer-Encoding in HTTP/1.0 request"))
    );
}

#[test]
fn expectations() {
    let h = req(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    assert!(h.expect_continue);
    assert_eq!(
        req_err(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"),
        HeadError::ExpectationFailed
    );
    assert_eq!(
        req_err(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: \r\n\r\n").status(),
        417
    );
    assert_eq!(
        req_err(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n").status(),
        417
    );
    // RFC 9110 §10.1.1: ignored in HTTP/1.0.
    assert!(!req(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
}

#[test]
fn hop_by_hop_fields() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private, host\r\n\
        Keep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: x\r\nUpgrade: websocket\r\n\
        X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nX-Real-IP: 1.1.1.1\r\n\
        Forwarded: for=x\r\nx-private: secret\r\nAccept: */*\r\nCONNECTION: close\r\n\r\n";
    let h = req(raw);
    assert_eq!(
        hop_names(raw, &h.headers),
        [
            "Connection",
            "Keep-Alive",
            "Proxy-Connection",
            "TE",
            "Trailer",
            "Upgrade",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "X-Real-IP",
            "Forwarded",
            "x-private",
            "CONNECTION",
        ]
    );
    assert!(h.upgrade && h.close);
    assert_eq!(
        malformed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n"),
        "invalid Connection option"
    );
}

#[test]
fn forwarded_for_values() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\nx-forwarded-for:\r\nX-FORWARDED-FOR: 3.3.3.3\r\n\r\n";
    let h = req(raw);
    let v: Vec<&[u8]> = h.forwarded_for(raw).collect();
    assert_eq!(v, [&b"1.1.1.1, 2.2.2.2"[..], b"3.3.3.3"]);
}

#[test]
fn persistence() {
    assert!(!req(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").close);
    assert!(req(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").close);
    assert!(req(b"GET / HTTP/1.0\r\n\r\n").close);
    assert!(!req(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close);
    assert!(req(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").close);
}
