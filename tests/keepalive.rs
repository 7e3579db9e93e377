//! Persistent connections on both sides: upstream connection reuse, the
//! retry of a request whose pooled connection turned out dead, pipelining,
//! and the keep-alive timeouts.

mod support;

use support::*;

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: example.org\r\n\r\n").into_bytes()
}

/// The head portier sends upstream for `get(target)`.
fn forwarded_get(target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: example.org\r\nX-Forwarded-For: 127.0.0.1\r\n\
         X-Forwarded-Proto: http\r\nX-Forwarded-Host: example.org\r\nX-Real-IP: 127.0.0.1\r\n\r\n"
    )
}

#[test]
fn requests_on_one_client_connection_share_one_backend_connection() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    for target in ["/one", "/two", "/three"] {
        let resp = client.roundtrip(&get(target));
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert!(!resp.closes(), "{}", resp.head_text());
        assert_eq!(resp.body, target.as_bytes());
    }
    backend.settle();
    let conns = backend.connections();
    assert_eq!(conns.len(), 1, "one upstream connection for three requests");
    let want = forwarded_get("/one") + &forwarded_get("/two") + &forwarded_get("/three");
    assert_eq!(show(&conns[0].bytes), show(want.as_bytes()));
}

#[test]
fn get_is_retried_when_the_pooled_connection_was_closed_after_a_response() {
    // The first connection answers one request, then closes (no
    // Connection: close announced); later connections serve normally.
    let backend = Backend::start(|conn| {
        if conn.index == 0 {
            if conn.read_request().is_some() {
                conn.write_all(&ok(b"first"));
            }
            return;
        }
        while let Some(req) = conn.read_request() {
            conn.write_all(&ok(req.target().as_bytes()));
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let first = client.roundtrip(&get("/a"));
    assert_eq!(first.body, b"first");
    let second = client.roundtrip(&get("/b"));
    assert_eq!(second.status_line, "HTTP/1.1 200 OK");
    assert_eq!(second.body, b"/b");
    assert!(!second.closes());
    backend.settle();
    assert_eq!(backend.connection_count(), 2);
    let third = client.roundtrip(&get("/c"));
    assert_eq!(third.body, b"/c");
}

/// A backend whose first connection answers one request ("first"), reads
/// the head of the next one and closes without answering; later
/// connections echo the target.
fn dies_after_first_response() -> Backend {
    Backend::start(|conn| {
        if conn.index == 0 {
            if conn.read_request().is_some() {
                conn.write_all(&ok(b"first"));
                let _ = conn.read_head();
            }
            conn.abort();
            return;
        }
        while let Some(req) = conn.read_request() {
            conn.write_all(&ok(req.target().as_bytes()));
        }
    })
}

#[test]
fn get_is_retried_when_the_pooled_connection_dies_on_the_next_request() {
    // The first connection answers one request, reads the head of the next
    // one and closes without answering: the GET was sent, nothing came
    // back, and it is idempotent, so portier retries on a new connection.
    let backend = dies_after_first_response();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    assert_eq!(client.roundtrip(&get("/a")).body, b"first");
    let second = client.roundtrip(&get("/b"));
    assert_eq!(second.status_line, "HTTP/1.1 200 OK");
    assert_eq!(second.body, b"/b");
    backend.settle();
    let conns = backend.connections();
    assert_eq!(conns.len(), 2);
    let want = forwarded_get("/a") + &forwarded_get("/b");
    assert_eq!(show(&backend.wait_closed(0).bytes), show(want.as_bytes()));
    assert_eq!(show(&conns[1].bytes), show(forwarded_get("/b").as_bytes()));
}

#[test]
fn post_with_body_is_not_retried_after_it_was_sent() {
    // As above, but the request that meets the dying connection is a POST
    // with a body: it must not be replayed (502, no second connection).
    let backend = dies_after_first_response();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    assert_eq!(client.roundtrip(&get("/a")).body, b"first");
    client.send(b"POST /pay HTTP/1.1\r\nHost: example.org\r\nContent-Length: 7\r\n\r\nonce!!!");
    assert_error_and_close(&mut client, 502);
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        1,
        "the POST was replayed on a new connection"
    );
    let received = backend.wait_closed(0).bytes;
    assert!(
        contains(&received, b"POST /pay HTTP/1.1\r\n"),
        "{}",
        show(&received)
    );
}

#[test]
fn post_reaches_the_backend_at_most_once_after_the_pooled_connection_closed() {
    // The first connection answers one request and closes after it (the
    // backend keeps reading, so whatever portier writes to it is
    // recorded). portier may notice the close before sending (200 on a new
    // connection) or after sending (then it must not replay: 502); either
    // way the POST reaches the backend at most once.
    let backend = Backend::start(|conn| {
        if conn.index == 0 {
            if conn.read_request().is_some() {
                conn.write_all(&ok(b"first"));
            }
            return;
        }
        while let Some(req) = conn.read_request() {
            conn.write_all(&ok(req.target().as_bytes()));
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    assert_eq!(client.roundtrip(&get("/a")).body, b"first");
    client.send(b"POST /pay HTTP/1.1\r\nHost: example.org\r\nContent-Length: 7\r\n\r\nonce!!!");
    let resp = client.read_response();
    backend.settle();
    let first = backend.wait_closed(0).bytes;
    let all = backend.all_bytes();
    let posts = all.windows(9).filter(|w| w == b"POST /pay").count();
    match resp.status {
        200 => {
            assert_eq!(resp.body, b"/pay");
            assert_eq!(posts, 1, "{}", show(&all));
            assert!(!contains(&first, b"POST /pay"), "{}", show(&first));
        }
        _ => {
            assert_eq!(resp.status_line, status_line(502));
            assert!(resp.closes());
            client.assert_closed();
            assert!(posts <= 1, "the POST was replayed: {}", show(&all));
        }
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let mut burst = get("/1");
    burst.extend(get("/2"));
    burst.extend(get("/3"));
    client.send(&burst);
    for target in ["/1", "/2", "/3"] {
        let resp = client.read_response();
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(String::from_utf8_lossy(&resp.body), target);
    }
    backend.settle();
    let conns = backend.connections();
    assert_eq!(conns.len(), 1);
    let want = forwarded_get("/1") + &forwarded_get("/2") + &forwarded_get("/3");
    assert_eq!(show(&conns[0].bytes), show(want.as_bytes()));
}

#[test]
fn pipelined_bodies_end_where_their_framing_says() {
    let backend = Backend::serve(|req| {
        let body = format!(
            "{} {} [{}]",
            req.method(),
            req.target(),
            String::from_utf8_lossy(&req.body)
        );
        ok(body.as_bytes())
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    client.send(
        b"POST /cl HTTP/1.1\r\nHost: example.org\r\nContent-Length: 5\r\n\r\nGET /\
          POST /chunked HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\nGET \r\n2\r\n/x\r\n0\r\n\r\n\
          GET /last HTTP/1.1\r\nHost: example.org\r\n\r\n",
    );
    for want in ["POST /cl [GET /]", "POST /chunked [GET /x]", "GET /last []"] {
        let resp = client.read_response();
        assert_eq!(resp.status, 200);
        assert_eq!(String::from_utf8_lossy(&resp.body), want);
    }
}

#[test]
fn upstream_connection_close_is_not_passed_to_the_client() {
    let backend = Backend::start(|conn| {
        if let Some(req) = conn.read_request() {
            let body = req.target().as_bytes();
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            conn.write_all(&r);
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    for target in ["/x", "/y"] {
        let resp = client.roundtrip(&get(target));
        assert_eq!(resp.status, 200);
        assert_lines(&resp, &[], &[&format!("Content-Length: {}", target.len())]);
        assert_eq!(resp.body, target.as_bytes());
    }
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        2,
        "a closed upstream connection is not reused"
    );
}

#[test]
fn http10_upstream_response_is_not_reused() {
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold");
        }
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    for _ in 0..2 {
        let resp = client.roundtrip(&get("/"));
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(resp.body, b"old");
    }
    backend.settle();
    assert_eq!(backend.connection_count(), 2);
}

#[test]
fn idle_client_connection_closes_after_keepalive_timeout() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .limit("keepalive_timeout", "\"200ms\"")
        .start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(&get("/idle"));
    assert_eq!(resp.status, 200);
    assert!(!resp.closes());
    // Bounded by the client's read timeout: EOF must come well before.
    let started = std::time::Instant::now();
    client.assert_closed();
    assert!(started.elapsed() < TIMEOUT);
}

#[test]
fn keepalive_timeout_zero_closes_after_each_response() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .limit("keepalive_timeout", "\"0s\"")
        .start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(&get("/once"));
    assert_eq!(resp.status, 200);
    assert_lines(&resp, &[], &["Content-Length: 5", "Connection: close"]);
    client.assert_closed();
}

#[test]
fn backend_connections_are_reused_across_sequential_exchanges_with_bodies() {
    let backend = Backend::serve(|req| ok(&req.body));
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    for i in 0..5 {
        let body = format!("body number {i}");
        let req = format!(
            "PUT /r HTTP/1.1\r\nHost: example.org\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let resp = client.roundtrip(req.as_bytes());
        assert_eq!(resp.body, body.as_bytes());
        let chunked = format!("POST /c HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
        let resp = client.roundtrip(chunked.as_bytes());
        assert_eq!(resp.body, body.as_bytes());
    }
    backend.settle();
    assert_eq!(backend.connection_count(), 1);
}

#[test]
fn busy_client_connection_is_served_on_epoll_and_still_closed_by_keepalive_timeout() {
    // From its third request a client connection waits on an epoll
    // registration instead of a one-shot poll; nothing observable changes.
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .limit("keepalive_timeout", "\"200ms\"")
        .start();
    let mut client = proxy.connect();
    for i in 0..5 {
        let path = format!("/busy{i}");
        let resp = client.roundtrip(&get(&path));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, path.as_bytes());
    }
    // A head in two writes, then two pipelined requests in one.
    client.send(b"GET /split HTTP/1.1\r\nHo");
    client.send(b"st: example.org\r\n\r\n");
    assert_eq!(client.read_response().body, b"/split");
    let mut two = get("/p1");
    two.extend_from_slice(&get("/p2"));
    client.send(&two);
    assert_eq!(client.read_response().body, b"/p1");
    assert_eq!(client.read_response().body, b"/p2");
    let started = std::time::Instant::now();
    client.assert_closed();
    assert!(started.elapsed() < TIMEOUT);
    let seen = backend.wait_bytes(0, b"GET /p2 ");
    let text = String::from_utf8_lossy(&seen.bytes).into_owned();
    for path in ["/busy0", "/busy4", "/split", "/p1", "/p2"] {
        assert!(
            text.contains(&format!("GET {path} HTTP/1.1")),
            "{path} not in {text}"
        );
    }
}
