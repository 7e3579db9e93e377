//! Message framing through the proxy: chunked bodies re-framed both ways,
//! Expect: 100-continue, bodiless responses, close-delimited responses and
//! upstreams that fail in the middle of a response.

mod support;

use std::sync::mpsc;

use support::*;

const FORWARDED: &str =
    "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: example.org\r\nX-Real-IP: 127.0.0.1\r\n";

fn capture_all() -> (Backend, mpsc::Receiver<BackendRequest>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let backend = Backend::serve(move |req| {
        let _ = tx.lock().unwrap().send(req.clone());
        ok(format!("got {} bytes", req.body.len()).as_bytes())
    });
    (backend, rx)
}

/// Asserts that `raw` is a chunked body with no extensions and no trailer
/// fields whose payload is `payload`.
fn assert_clean_chunked(raw: &[u8], payload: &[u8]) {
    let decoded =
        decode_chunked(raw).unwrap_or_else(|| panic!("invalid chunked body: {}", show(raw)));
    assert!(
        decoded == payload,
        "decoded {} != sent {}",
        show(&decoded),
        show(payload)
    );
    assert!(
        raw.ends_with(b"\r\n0\r\n\r\n") || raw == b"0\r\n\r\n",
        "trailer fields kept: {}",
        show(raw)
    );
    let mut rest = raw;
    while let Some(i) = find(rest, b"\r\n") {
        let size_line = &rest[..i];
        assert!(
            !size_line.contains(&b';'),
            "chunk extension kept: {}",
            show(raw)
        );
        let size = usize::from_str_radix(std::str::from_utf8(size_line).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        rest = &rest[i + 2 + size + 2..];
    }
}

#[test]
fn chunked_request_is_validated_and_reframed() {
    let (backend, rx) = capture_all();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"POST /upload HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n");
    client.send(b"5;name=value\r\nhello\r\n");
    client.send(b"1A;x\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-Sum: 42\r\nX-Other: 1\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"got 31 bytes");
    let got = rx.recv_timeout(TIMEOUT).unwrap();
    let want = format!("POST /upload HTTP/1.1\r\nHost: example.org\r\n{FORWARDED}Transfer-Encoding: chunked\r\n\r\n");
    assert_eq!(got.head_text(), want);
    assert_clean_chunked(&got.raw_body, b"helloabcdefghijklmnopqrstuvwxyz");
}

#[test]
fn chunked_request_sent_byte_by_byte() {
    let (backend, rx) = capture_all();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let request: &[u8] =
        b"POST /slow HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n\
        3\r\nabc\r\n10;e=\"q\"\r\n0123456789abcdef\r\n1\r\nZ\r\n0\r\n\r\n";
    for b in request {
        client.send(std::slice::from_ref(b));
    }
    let resp = client.read_response();
    assert_eq!(resp.body, b"got 20 bytes");
    let got = rx.recv_timeout(TIMEOUT).unwrap();
    assert_clean_chunked(&got.raw_body, b"abc0123456789abcdefZ");
}

#[test]
fn large_chunked_request_is_streamed_intact() {
    let (backend, rx) = capture_all();
    let proxy = ProxyConfig::new(backend.server()).start();
    let payload: Vec<u8> = (0..1024 * 1024 + 17u32)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let mut request =
        b"POST /big HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in payload.chunks(60_000) {
        request.extend(format!("{:X}\r\n", chunk.len()).bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut client = proxy.connect();
    let resp = client.roundtrip(&request);
    assert_eq!(resp.body, format!("got {} bytes", payload.len()).as_bytes());
    let got = rx.recv_timeout(TIMEOUT).unwrap();
    assert!(got.body == payload, "payload altered");
    assert_clean_chunked(&got.raw_body, &payload);
}

fn chunked_backend() -> Backend {
    Backend::serve(|req| match req.target() {
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\
            Trailer: X-T\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-T: 1\r\n\r\n"
                .to_vec()
        }
        t => ok(t.as_bytes()),
    })
}

#[test]
fn chunked_response_is_reframed_for_http11_clients() {
    let backend = chunked_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(b"GET /chunked HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_lines(
        &resp,
        &["Content-Type: text/plain"],
        &["Transfer-Encoding: chunked"],
    );
    assert!(resp.chunked);
    assert_clean_chunked(&resp.raw_body, b"abcdefg");
    // Nothing stray after the body: the next exchange parses cleanly.
    let next = client.roundtrip(b"GET /next HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(next.body, b"/next");
}

#[test]
fn chunked_response_is_decoded_for_http10_clients() {
    let backend = chunked_backend();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /chunked HTTP/1.0\r\nHost: example.org\r\n\r\n");
    let head = client.read_head();
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_lines(&head, &["Content-Type: text/plain"], &["Connection: close"]);
    assert_eq!(show(&client.read_to_eof()), "abcdefg");
}

#[test]
fn expect_100_continue() {
    let (backend, rx) = capture_all();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"POST /e HTTP/1.1\r\nHost: example.org\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
    let interim = client.read_head();
    assert_eq!(show(&interim.head), show(b"HTTP/1.1 100 Continue\r\n\r\n"));
    client.send(b"0123456789");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"got 10 bytes");
    let got = rx.recv_timeout(TIMEOUT).unwrap();
    let want =
        format!("POST /e HTTP/1.1\r\nHost: example.org\r\n{FORWARDED}Content-Length: 10\r\n\r\n");
    assert_eq!(got.head_text(), want);
    assert_eq!(got.body, b"0123456789");
}

#[test]
fn expect_100_continue_with_chunked_body() {
    let (backend, rx) = capture_all();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"PUT /e HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n");
    let interim = client.read_head();
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    client.send(b"6\r\nchunky\r\n0\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.body, b"got 6 bytes");
    let got = rx.recv_timeout(TIMEOUT).unwrap();
    assert!(got.header("expect").is_none(), "{}", got.head_text());
    assert_clean_chunked(&got.raw_body, b"chunky");
}

#[test]
fn head_response_keeps_content_length_and_has_no_body() {
    let backend = Backend::serve(|req| match req.method() {
        "HEAD" => {
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n".to_vec()
        }
        _ => ok(req.target().as_bytes()),
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"HEAD /file HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let resp = client.read_response_as(Expect::NoBody);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.header_all("content-length"), ["1234"]);
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    assert!(resp.header("transfer-encoding").is_none());
    let next = client.roundtrip(b"GET /after-head HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(next.status_line, "HTTP/1.1 200 OK");
    assert_eq!(next.body, b"/after-head");
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let backend = Backend::serve(|req| match req.target() {
        "/204" => b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n".to_vec(),
        "/304" => b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n".to_vec(),
        t => ok(t.as_bytes()),
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let r = client.roundtrip(b"GET /204 HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    assert_lines(&r, &["X-A: 1"], &[]);
    let r = client
        .roundtrip(b"GET /304 HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: \"v1\"\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified");
    assert_eq!(r.header("etag"), Some("\"v1\""));
    assert!(r.header("transfer-encoding").is_none());
    let r = client.roundtrip(b"GET /after HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"/after");
}

#[test]
fn close_delimited_response_reaches_the_client_whole() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"HTTP/1.1 200 OK\r\nX-Kind: until-close\r\n\r\n");
            conn.write_all(b"all of this, ");
            conn.write_all(b"until the server closes");
        }
        // Returning shuts the write side: the body ends here.
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /stream HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert!(resp.closes(), "{}", resp.head_text());
    assert_eq!(resp.header("x-kind"), Some("until-close"));
    assert_eq!(
        String::from_utf8_lossy(&resp.body),
        "all of this, until the server closes"
    );
    client.assert_closed();
}

#[test]
fn upstream_failure_mid_content_length_body_truncates_and_closes() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
        }
        conn.abort();
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /big HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let head = client.read_head();
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("content-length"), Some("1000"));
    let rest = client.read_to_eof();
    assert_eq!(
        show(&rest),
        "0123456789",
        "the client must see a short body, then EOF"
    );
}

#[test]
fn upstream_failure_mid_chunked_body_never_sends_last_chunk() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        }
        conn.abort();
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /big HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let head = client.read_head();
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let rest = client.read_to_eof();
    assert!(
        !rest.starts_with(b"0\r\n") && !contains(&rest, b"\r\n0\r\n"),
        "a truncated body was completed: {}",
        show(&rest)
    );
    assert!(
        contains(&rest, b"hello") || rest.is_empty(),
        "{}",
        show(&rest)
    );
}

#[test]
fn invalid_chunked_response_never_looks_complete() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            );
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /bad HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let head = client.read_head();
    let rest = client.read_to_eof();
    if head.status == 502 {
        assert_eq!(head.status_line, "HTTP/1.1 502 Bad Gateway");
    } else {
        assert_eq!(head.status, 200, "{}", head.head_text());
        assert!(
            !contains(&rest, b"X") && !contains(&rest, b"0\r\n\r\n"),
            "{}",
            show(&rest)
        );
    }
}

#[test]
fn informational_103_is_passed_and_final_response_follows() {
    let backend = Backend::serve(|_| {
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"
            .to_vec()
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /hints HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let mut resp = client.read_response();
    if resp.status == 103 {
        assert_eq!(resp.header("link"), Some("</s.css>; rel=preload"));
        resp = client.read_response();
    }
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"done");
}
