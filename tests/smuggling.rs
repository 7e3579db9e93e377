//! Request smuggling and malformed HTTP: every ambiguity is refused with an
//! exact status and a closed connection, and the backend receives nothing
//! from that connection (or, for errors found inside a body, nothing from
//! the ambiguity on and never a complete request).

mod support;

use std::sync::mpsc;

use support::*;

/// A backend that answers every request it can parse (so that a request
/// wrongly let through shows up as a 200 at the client).
fn recording_backend() -> Backend {
    Backend::serve(|req| ok(format!("reached {}", req.target()).as_bytes()))
}

/// Sends `request` in one write and asserts `code`, `Connection: close`,
/// EOF, and that the backend was never contacted.
fn assert_rejected(request: &[u8], code: u16) {
    let backend = recording_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send_lossy(request);
    assert_error_and_close(&mut client, code);
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        0,
        "the backend received: {}",
        show(&backend.all_bytes())
    );
}

macro_rules! rejected {
    ($($name:ident: $code:expr, $request:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_rejected($request, $code);
            }
        )*
    };
}

rejected! {
    content_length_with_transfer_encoding: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG";
    transfer_encoding_with_content_length_hiding_a_request: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n\
          5c\r\nGPOST /smuggled HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n";
    transfer_encoding_in_http10: 400,
        b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    chunked_twice_in_one_field: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n";
    chunked_in_two_fields: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    identity_transfer_coding: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n";
    unknown_coding_xchunked: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n";
    chunked_not_last: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n";
    chunked_then_identity_field: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n";
    gzip_then_chunked_is_not_implemented: 501,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
    space_before_colon_in_transfer_encoding: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n";
    vertical_tab_before_chunked: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n";
    leading_space_before_first_field: 400,
        b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n";
    folded_transfer_encoding: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n";
    two_different_content_lengths: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde";
    content_length_list_with_different_values: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 5\r\n\r\nabcde";
    content_length_with_plus_sign: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nabcde";
    content_length_in_hex: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nabcde";
    content_length_with_inner_space: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nabcde";
    negative_content_length: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nabcde";
    overflowing_content_length: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nabcde";
    space_before_colon_in_content_length: 400,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nabcde";
    obs_fold_continuation: 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: first\r\n second\r\n\r\n";
    bare_cr_in_header_value: 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Value: a\rb\r\n\r\n";
    bare_lf_line_endings: 400,
        b"GET / HTTP/1.1\nHost: a\nX-A: b\n\n";
    one_bare_lf_among_crlf: 400,
        b"GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n";
    missing_host_in_http11: 400,
        b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n";
    two_host_fields: 400,
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n";
    empty_host: 400,
        b"GET / HTTP/1.1\r\nHost: \r\n\r\n";
    host_with_space: 400,
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n";
    host_with_userinfo: 400,
        b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n";
    absolute_form_target: 400,
        b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
    space_in_target: 400,
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n";
    fragment_in_target: 400,
        b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n";
    two_spaces_in_request_line: 400,
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n";
    invalid_method_characters: 400,
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n";
    header_name_with_space: 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
    header_line_without_colon: 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n";
    nul_in_header_value: 400,
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n";
    http2_preface: 400,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    http_version_1_2: 400,
        b"GET / HTTP/1.2\r\nHost: a\r\n\r\n";
    lowercase_http_version: 400,
        b"GET / http/1.1\r\nHost: a\r\n\r\n";
    http09_request_line: 400,
        b"GET /\r\n\r\n";
    connect_is_not_implemented: 501,
        b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n";
    unknown_expectation: 417,
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx";
}

/// For errors found while reading a chunked body: the backend may have
/// received the head (portier streams), but after the error it receives
/// none of `forbidden`, never a last chunk, and its connection is closed.
fn assert_backend_never_got(backend: &Backend, forbidden: &[&[u8]]) {
    backend.settle();
    for i in 0..backend.connection_count() {
        let bytes = backend.wait_closed(i).bytes;
        let body = match find(&bytes, b"\r\n\r\n") {
            Some(end) => &bytes[end + 4..],
            None => &bytes[..],
        };
        assert!(
            !contains(body, b"0\r\n\r\n"),
            "the backend got a complete chunked body: {}",
            show(&bytes)
        );
        for f in forbidden {
            assert!(
                !contains(body, f),
                "the backend got {:?}: {}",
                show(f),
                show(&bytes)
            );
        }
    }
}

const CHUNKED_HEAD: &[u8] =
    b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

/// Sends the chunked head and `body` in one write; expects 400.
fn assert_chunked_rejected(body: &[u8], forbidden: &[&[u8]]) {
    let backend = recording_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let mut request = CHUNKED_HEAD.to_vec();
    request.extend_from_slice(body);
    request.extend_from_slice(SMUGGLED);
    client.send_lossy(&request);
    assert_error_and_close(&mut client, 400);
    let mut forbidden = forbidden.to_vec();
    forbidden.push(b"/smuggled");
    assert_backend_never_got(&backend, &forbidden);
}

#[test]
fn chunk_size_overflow() {
    assert_chunked_rejected(b"ffffffffffffffffff\r\nAAAA\r\n0\r\n\r\n", &[b"AAAA"]);
}

#[test]
fn chunk_size_with_hex_prefix() {
    assert_chunked_rejected(b"0x5\r\nhello\r\n0\r\n\r\n", &[b"hello"]);
}

#[test]
fn negative_chunk_size() {
    assert_chunked_rejected(b"-5\r\nhello\r\n0\r\n\r\n", &[b"hello"]);
}

#[test]
fn empty_chunk_size_line() {
    assert_chunked_rejected(b"\r\nhello\r\n0\r\n\r\n", &[b"hello"]);
}

#[test]
fn chunk_data_without_crlf() {
    assert_chunked_rejected(b"3\r\nabcX\r\n0\r\n\r\n", &[b"X"]);
}

#[test]
fn chunk_data_longer_than_its_size() {
    assert_chunked_rejected(b"3\r\nabcdefgh\r\n0\r\n\r\n", &[b"defgh"]);
}

/// Sends the head and `good`, waits until the backend has the head, then
/// sends `bad` (and a smuggled request); expects 400.
fn assert_rejected_mid_body(good: &[u8], bad: &[u8], forbidden: &[&[u8]]) {
    let backend = recording_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let mut first = CHUNKED_HEAD.to_vec();
    first.extend_from_slice(good);
    client.send(&first);
    backend.wait_bytes(0, b"\r\n\r\n");
    let mut rest = bad.to_vec();
    rest.extend_from_slice(SMUGGLED);
    client.send_lossy(&rest);
    assert_error_and_close(&mut client, 400);
    let mut forbidden = forbidden.to_vec();
    forbidden.push(b"/smuggled");
    assert_backend_never_got(&backend, &forbidden);
    assert_eq!(backend.connection_count(), 1, "no other connection");
}

#[test]
fn chunk_data_without_crlf_mid_body() {
    assert_rejected_mid_body(b"3\r\nabc", b"X\r\n0\r\n\r\n", &[b"X"]);
}

#[test]
fn chunk_size_overflow_mid_body() {
    assert_rejected_mid_body(
        b"5\r\nhello\r\n",
        b"ffffffffffffffffff\r\nAAAA\r\n0\r\n\r\n",
        &[b"AAAA"],
    );
}

#[test]
fn chunk_size_with_hex_prefix_mid_body() {
    assert_rejected_mid_body(b"2\r\nok\r\n", b"0x5\r\nhello\r\n0\r\n\r\n", &[b"hello"]);
}

#[test]
fn valid_request_then_smuggling_attempt_on_the_same_connection() {
    let backend = recording_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let mut burst = b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
    burst.extend_from_slice(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    burst.extend_from_slice(SMUGGLED);
    client.send_lossy(&burst);
    let first = client.read_response();
    assert_eq!(first.status_line, "HTTP/1.1 200 OK");
    assert_eq!(first.body, b"reached /ok");
    assert_error_and_close(&mut client, 400);
    backend.settle();
    let want =
        "GET /ok HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\
                X-Forwarded-Host: a\r\nX-Real-IP: 127.0.0.1\r\n\r\n";
    assert_eq!(show(&backend.all_bytes()), show(want.as_bytes()));
}

#[test]
fn a_request_inside_a_valid_body_stays_data() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let backend = Backend::serve(move |req| {
        let _ = tx
            .lock()
            .unwrap()
            .send((req.request_line.clone(), req.body.clone()));
        ok(req.target().as_bytes())
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let mut request = format!(
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        SMUGGLED.len()
    )
    .into_bytes();
    request.extend_from_slice(SMUGGLED);
    let resp = client.roundtrip(&request);
    assert_eq!(resp.body, b"/a");
    let resp = client.roundtrip(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        resp.body, b"/next",
        "the client and the backend are out of step"
    );
    let seen: Vec<_> = rx.try_iter().collect();
    assert_eq!(
        seen,
        [
            ("POST /a HTTP/1.1".to_string(), SMUGGLED.to_vec()),
            ("GET /next HTTP/1.1".to_string(), Vec::new())
        ]
    );
}

#[test]
fn extra_bytes_after_a_response_are_never_a_response() {
    // The first connection follows its response with an unsolicited one;
    // that connection must not be reused for the next request.
    let backend = Backend::start(|conn| {
        if conn.index == 0 {
            if conn.read_request().is_some() {
                conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhijack!");
            }
            let _ = conn.read_head();
            return;
        }
        while let Some(req) = conn.read_request() {
            conn.write_all(&ok(req.target().as_bytes()));
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let first = client.roundtrip(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(first.body, b"ok");
    // Whatever portier did with the upstream connection, the next answer
    // is the backend's answer to the next request, never the injected one.
    let mut client = if first.closes() {
        client.assert_closed();
        proxy.connect()
    } else {
        client
    };
    let second = client.roundtrip(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(String::from_utf8_lossy(&second.body), "/2");
}
