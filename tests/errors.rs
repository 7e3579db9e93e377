//! The responses portier writes itself when a limit is hit or an upstream
//! fails: exact status lines, `Connection: close`, then EOF; and what the
//! backend saw (usually nothing at all).

mod support;

use support::*;

/// Sends `request` to a proxy in front of a recording backend configured by
/// `configure`, asserts the error `code`, and returns the backend.
fn expect_error(
    configure: impl FnOnce(ProxyConfig) -> ProxyConfig,
    request: &[u8],
    code: u16,
) -> Backend {
    let backend = Backend::echo_target();
    let proxy = configure(ProxyConfig::new(backend.server())).start();
    let mut client = proxy.connect();
    client.send_lossy(request);
    assert_error_and_close(&mut client, code);
    backend
}

fn assert_backend_untouched(backend: &Backend) {
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        0,
        "the backend was contacted: {}",
        show(&backend.all_bytes())
    );
}

#[test]
fn malformed_request_line_is_400() {
    let backend = expect_error(|c| c, b"GARBAGE\r\n\r\n", 400);
    assert_backend_untouched(&backend);
}

#[test]
fn request_line_longer_than_the_head_limit_is_414() {
    let mut request = b"GET /".to_vec();
    request.resize(request.len() + 3000, b'a');
    let backend = expect_error(|c| c.limit("max_request_head", "\"1k\""), &request, 414);
    assert_backend_untouched(&backend);
}

#[test]
fn header_section_larger_than_the_head_limit_is_431() {
    let mut request = b"GET / HTTP/1.1\r\nHost: example.org\r\nX-Big: ".to_vec();
    request.resize(request.len() + 3000, b'b');
    request.extend_from_slice(b"\r\n\r\n");
    let backend = expect_error(|c| c.limit("max_request_head", "\"1k\""), &request, 431);
    assert_backend_untouched(&backend);
}

#[test]
fn more_header_fields_than_max_headers_is_431() {
    let mut request = b"GET / HTTP/1.1\r\nHost: example.org\r\n".to_vec();
    for i in 0..6 {
        request.extend(format!("X-H{i}: {i}\r\n").bytes());
    }
    request.extend_from_slice(b"\r\n");
    let backend = expect_error(|c| c.limit("max_headers", "5"), &request, 431);
    assert_backend_untouched(&backend);
}

#[test]
fn max_headers_is_inclusive() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .limit("max_headers", "5")
        .start();
    let mut client = proxy.connect();
    let resp =
        client.roundtrip(b"GET /five HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"/five");
}

#[test]
fn unknown_host_without_catch_all_route_is_404() {
    let backend = expect_error(
        |c| c.route("host", "[\"only.example\"]"),
        b"GET / HTTP/1.1\r\nHost: other.example\r\n\r\n",
        404,
    );
    assert_backend_untouched(&backend);
}

#[test]
fn known_host_still_routes_when_others_get_404() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .route("host", "[\"only.example\"]")
        .start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(b"GET /yes HTTP/1.1\r\nHost: only.example\r\n\r\n");
    assert_eq!(resp.body, b"/yes");
}

#[test]
fn refused_upstream_connection_is_502() {
    let proxy = ProxyConfig::new(closed_port()).start();
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut client, 502);
}

#[test]
fn refused_server_is_skipped_so_the_next_request_is_503() {
    let proxy = ProxyConfig::new(closed_port()).start();
    let mut first = proxy.connect();
    first.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut first, 502);
    let mut second = proxy.connect();
    second.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut second, 503);
}

#[test]
fn garbage_from_upstream_is_502() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"garbage\r\n\r\n");
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let resp = assert_error_and_close(&mut client, 502);
    assert!(
        !contains(&resp.body, b"garbage"),
        "upstream bytes leaked: {}",
        show(&resp.body)
    );
}

#[test]
fn ambiguous_response_framing_from_upstream_is_502() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut client, 502);
}

#[test]
fn upstream_closing_without_response_is_502() {
    let backend = Backend::start(|conn| {
        let _ = conn.read_request();
        conn.abort();
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(b"GET /x HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut client, 502);
}

#[test]
fn silent_upstream_is_504_after_read_timeout() {
    // The backend reads the request and then waits for the proxy to give
    // up (it returns when portier closes the connection).
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            let _ = conn.read_head();
        }
    });
    let proxy = ProxyConfig::new(backend.server())
        .upstream("read_timeout", "\"300ms\"")
        .start();
    let mut client = proxy.connect();
    client.send(b"GET /slow HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_error_and_close(&mut client, 504);
    // The upstream connection is not kept: a late response would belong to
    // no request.
    let record = backend.wait_closed(0);
    assert!(contains(&record.bytes, b"GET /slow HTTP/1.1\r\n"));
}

#[test]
fn content_length_over_the_route_limit_is_413() {
    let mut request =
        b"POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: 2048\r\n\r\n".to_vec();
    request.resize(request.len() + 2048, b'x');
    let backend = expect_error(|c| c.route("max_request_body", "\"1k\""), &request, 413);
    assert_backend_untouched(&backend);
}

#[test]
fn content_length_over_the_global_limit_is_413() {
    let request = b"POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: 1025\r\n\r\n";
    let backend = expect_error(|c| c.limit("max_request_body", "\"1k\""), request, 413);
    assert_backend_untouched(&backend);
}

#[test]
fn route_limit_overrides_the_global_limit() {
    let backend = Backend::serve(|req| ok(format!("{}", req.body.len()).as_bytes()));
    let proxy = ProxyConfig::new(backend.server())
        .limit("max_request_body", "\"1k\"")
        .route("max_request_body", "\"4k\"")
        .start();
    let mut client = proxy.connect();
    let mut request =
        b"POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: 4096\r\n\r\n".to_vec();
    request.resize(request.len() + 4096, b'x');
    let resp = client.roundtrip(&request);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"4096");
}

#[test]
fn chunked_body_over_the_route_limit_is_413_and_never_completes_upstream() {
    let mut request =
        b"POST /up HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        request.extend_from_slice(b"200\r\n");
        request.resize(request.len() + 512, b'y');
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let backend = expect_error(|c| c.route("max_request_body", "\"1k\""), &request, 413);
    backend.settle();
    for i in 0..backend.connection_count() {
        let bytes = backend.wait_closed(i).bytes;
        assert!(
            !contains(&bytes, b"0\r\n\r\n"),
            "a body over the limit was completed upstream"
        );
        let ys = bytes.iter().filter(|&&b| b == b'y').count();
        assert!(
            ys <= 1024,
            "{ys} body bytes over a 1k limit reached the backend"
        );
    }
}

#[test]
fn partial_head_past_client_header_timeout_is_408() {
    let backend = expect_error(
        |c| c.limit("client_header_timeout", "\"300ms\""),
        b"GET /slow HTTP/1.1\r\nHost: exam",
        408,
    );
    assert_backend_untouched(&backend);
}

#[test]
fn silent_new_connection_is_closed_without_a_response() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .limit("client_header_timeout", "\"300ms\"")
        .start();
    let mut client = proxy.connect();
    client.assert_closed();
    assert_backend_untouched(&backend);
}

#[test]
fn stalled_request_body_is_408_and_the_upstream_request_is_abandoned() {
    let backend = Backend::start(|conn| {
        let _ = conn.read_request();
    });
    let proxy = ProxyConfig::new(backend.server())
        .limit("client_body_timeout", "\"300ms\"")
        .start();
    let mut client = proxy.connect();
    client.send(b"POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: 10\r\n\r\n01234");
    assert_error_and_close(&mut client, 408);
    let record = backend.wait_closed(0);
    let body_start = find(&record.bytes, b"\r\n\r\n").expect("the head was forwarded") + 4;
    assert_eq!(show(&record.bytes[body_start..]), "01234");
}

#[test]
fn upstream_answering_before_reading_the_whole_upload_is_relayed_not_502() {
    // The backend reads the head, answers 413 and closes with the body
    // unread (so its kernel resets the connection): portier's writes of
    // the body fail, and the answer already received is what the client
    // gets, on a connection that then closes.
    let backend = Backend::start(|c| {
        if c.read_head().is_some() {
            c.write_all(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large",
            );
        }
    });
    let proxy = ProxyConfig::new(backend.server())
        .limit("max_request_body", "\"128M\"")
        .start();
    let mut client = proxy.connect();
    // Far more than the loopback socket buffers hold.
    let len = 64 << 20;
    client.send(
        format!("POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: {len}\r\n\r\n")
            .as_bytes(),
    );
    let mut writer = client.writer();
    let sending = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        let mut sent = 0;
        while sent < len {
            if std::io::Write::write_all(&mut writer, &chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(resp.body, b"too large");
    assert!(resp.closes(), "{}", resp.head_text());
    client.assert_closed();
    let sent = sending.join().expect("writer thread");
    assert!(sent < len, "the upload was cut short, not swallowed whole");
}
