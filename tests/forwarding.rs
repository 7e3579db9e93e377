//! What crosses the proxy: the request head the backend receives (order,
//! bytes, hop-by-hop fields removed, X-Forwarded-* added), the response
//! head the client receives, bodies, routing and upstream kinds.

mod support;

use std::sync::mpsc;

use support::*;

/// The lines portier appends for a client on 127.0.0.1 asking for `host`.
fn forwarded(xff: &str, host: &str) -> String {
    format!(
        "X-Forwarded-For: {xff}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: {host}\r\nX-Real-IP: 127.0.0.1\r\n"
    )
}

/// A backend that sends each request it receives to the test and answers
/// with `response`.
fn capturing(response: &'static [u8]) -> (Backend, mpsc::Receiver<BackendRequest>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let backend = Backend::serve(move |req| {
        let _ = tx.lock().unwrap().send(req.clone());
        response.to_vec()
    });
    (backend, rx)
}

fn recv(rx: &mpsc::Receiver<BackendRequest>) -> BackendRequest {
    rx.recv_timeout(TIMEOUT)
        .expect("the backend received a request")
}

#[test]
fn request_head_reaches_backend_without_hop_by_hop_fields() {
    let (backend, rx) = capturing(
        b"HTTP/1.1 200 OK\r\nServer: backend/1\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\
          Keep-Alive: timeout=5\r\nSet-Cookie: s=1\r\nTrailer: X-Sum\r\nProxy-Connection: keep-alive\r\n\
          Upgrade: h2c\r\nContent-Length: 5\r\n\r\nhello",
    );
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(
        b"GET /path/to?q=1&r=%20 HTTP/1.1\r\n\
          Host: example.org\r\n\
          User-Agent: portier-test/1.0\r\n\
          Connection: keep-alive, X-Drop-Me\r\n\
          X-Drop-Me: secret\r\n\
          Keep-Alive: timeout=5\r\n\
          Proxy-Connection: keep-alive\r\n\
          TE: trailers\r\n\
          Trailer: X-Checksum\r\n\
          Upgrade: websocket\r\n\
          Accept: */*\r\n\
          X-Forwarded-For: 10.0.0.1\r\n\
          X-Forwarded-Proto: https\r\n\
          X-Forwarded-Host: forged.example\r\n\
          X-Real-IP: 6.6.6.6\r\n\
          x-MiXeD-Case: Value  with   inner  spaces\r\n\
          Cookie: a=1; b=2\r\n\
          X-Empty:\r\n\
          \r\n",
    );
    let got = recv(&rx);
    let want = format!(
        "GET /path/to?q=1&r=%20 HTTP/1.1\r\n\
         Host: example.org\r\n\
         User-Agent: portier-test/1.0\r\n\
         Accept: */*\r\n\
         x-MiXeD-Case: Value  with   inner  spaces\r\n\
         Cookie: a=1; b=2\r\n\
         X-Empty:\r\n\
         {}\r\n",
        forwarded("10.0.0.1, 127.0.0.1", "example.org")
    );
    assert_eq!(got.head_text(), want);
    assert!(got.body.is_empty());

    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_lines(
        &resp,
        &["Server: backend/1", "Set-Cookie: s=1"],
        &["Content-Length: 5"],
    );
    assert_eq!(resp.body, b"hello");
    // The client connection stays usable.
    let again = client.roundtrip(b"GET /again HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(again.status, 200);
    assert_eq!(recv(&rx).request_line, "GET /again HTTP/1.1");
}

#[test]
fn content_length_body_is_forwarded_with_portier_framing() {
    let (backend, rx) =
        capturing(b"HTTP/1.1 201 Created\r\nLocation: /items/7\r\nContent-Length: 2\r\n\r\nok");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(
        b"POST /items HTTP/1.1\r\nHost: api.example.org\r\nContent-Length: 11\r\n\
          Content-Type: text/plain\r\n\r\nhello world",
    );
    let got = recv(&rx);
    let want = format!(
        "POST /items HTTP/1.1\r\nHost: api.example.org\r\nContent-Type: text/plain\r\n{}Content-Length: 11\r\n\r\n",
        forwarded("127.0.0.1", "api.example.org")
    );
    assert_eq!(got.head_text(), want);
    assert_eq!(got.body, b"hello world");
    assert_eq!(resp.status_line, "HTTP/1.1 201 Created");
    assert_lines(&resp, &["Location: /items/7"], &["Content-Length: 2"]);
    assert_eq!(resp.body, b"ok");
}

#[test]
fn zero_length_body_is_announced_upstream() {
    let (backend, rx) = capturing(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp =
        client.roundtrip(b"PUT /empty HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(resp.status, 200);
    let got = recv(&rx);
    assert!(got
        .head_text()
        .starts_with("PUT /empty HTTP/1.1\r\nHost: example.org\r\nX-Forwarded-For: 127.0.0.1\r\n"));
    // Either "Content-Length: 0" or no framing field says "no body".
    let framing: Vec<_> = got
        .headers
        .iter()
        .filter(|(n, _)| {
            n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
        })
        .collect();
    assert!(
        framing.is_empty() || framing == [&("Content-Length".to_string(), "0".to_string())],
        "{}",
        got.head_text()
    );
    assert!(got.body.is_empty());
}

#[test]
fn x_forwarded_for_fields_are_merged_and_extended() {
    let (backend, rx) = capturing(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(
        b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: example.org\r\n\
          X-Forwarded-For: 2.2.2.2, 3.3.3.3\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    let want = format!(
        "GET / HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n{}\r\n",
        forwarded("1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1", "example.org")
    );
    assert_eq!(recv(&rx).head_text(), want);
}

#[test]
fn http10_request_goes_upstream_as_http11_and_client_connection_closes() {
    let (backend, rx) = capturing(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(b"GET /old HTTP/1.0\r\nHost: example.org\r\nAccept: */*\r\n\r\n");
    let want = format!(
        "GET /old HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n{}\r\n",
        forwarded("127.0.0.1", "example.org")
    );
    assert_eq!(recv(&rx).head_text(), want);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_lines(
        &resp,
        &["X-A: b"],
        &["Content-Length: 3", "Connection: close"],
    );
    assert_eq!(resp.body, b"abc");
    client.assert_closed();
}

#[test]
fn client_connection_close_is_honoured_and_not_forwarded() {
    let (backend, rx) = capturing(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp =
        client.roundtrip(b"GET /bye HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n");
    let want = format!(
        "GET /bye HTTP/1.1\r\nHost: example.org\r\n{}\r\n",
        forwarded("127.0.0.1", "example.org")
    );
    assert_eq!(recv(&rx).head_text(), want);
    assert_lines(&resp, &[], &["Content-Length: 2", "Connection: close"]);
    assert_eq!(resp.body, b"ok");
    client.assert_closed();
}

#[test]
fn one_mebibyte_each_way() {
    let backend = Backend::serve(|req| {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            req.body.len()
        )
        .into_bytes();
        r.extend(req.body.iter().rev());
        r
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut client = proxy.connect();
    let mut request = format!(
        "POST /big HTTP/1.1\r\nHost: example.org\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let resp = client.roundtrip(&request);
    assert_eq!(resp.status, 200);
    let reversed: Vec<u8> = body.iter().rev().copied().collect();
    assert!(
        resp.body == reversed,
        "1 MiB body came back altered ({} bytes)",
        resp.body.len()
    );
    backend.settle();
    let received = &backend.connections()[0].bytes;
    let head_end = find(received, b"\r\n\r\n").unwrap() + 4;
    assert!(
        received[head_end..] == body[..],
        "the backend received an altered body"
    );
}

#[test]
fn routes_by_host_and_path() {
    let tagged = |tag: &'static str| {
        Backend::serve(move |req| ok(format!("{tag}:{}", req.target()).as_bytes()))
    };
    let (api, wild, default) = (tagged("api"), tagged("wild"), tagged("default"));
    let toml = format!(
        "[runtime]\nworkers = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[upstream]]\nname = \"api\"\nservers = [\"{}\"]\n\n\
         [[upstream]]\nname = \"wild\"\nservers = [\"{}\"]\n\n\
         [[upstream]]\nname = \"default\"\nservers = [\"{}\"]\n\n\
         [[route]]\nupstream = \"api\"\nhost = [\"api.example\"]\npath = \"/api/\"\n\n\
         [[route]]\nupstream = \"wild\"\nhost = [\"*.example.org\"]\n\n\
         [[route]]\nupstream = \"default\"\n",
        api.server(),
        wild.server(),
        default.server()
    );
    let proxy = Proxy::start(&toml);
    let mut client = proxy.connect();
    for (host, target, want) in [
        ("api.example", "/api/x", "api:/api/x"),
        ("API.Example:8080", "/api/y", "api:/api/y"),
        ("api.example", "/apix", "default:/apix"),
        ("api.example", "/other", "default:/other"),
        ("www.example.org", "/api/x", "wild:/api/x"),
        ("a.b.example.org", "/", "wild:/"),
        ("example.org", "/", "default:/"),
        ("elsewhere.test", "/api/x", "default:/api/x"),
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let resp = client.roundtrip(req.as_bytes());
        assert_eq!(resp.status, 200, "{host}{target}");
        assert_eq!(
            String::from_utf8_lossy(&resp.body),
            want,
            "Host {host}, target {target}"
        );
    }
}

#[test]
fn host_with_port_is_preserved() {
    let (backend, rx) = capturing(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let resp = client.roundtrip(b"GET / HTTP/1.1\r\nHost: Example.ORG:8443\r\n\r\n");
    assert_eq!(resp.status, 200);
    let got = recv(&rx);
    assert!(
        got.head_text().starts_with(
            "GET / HTTP/1.1\r\nHost: Example.ORG:8443\r\nX-Forwarded-For: 127.0.0.1\r\n"
        ),
        "{}",
        got.head_text()
    );
    assert_eq!(got.header("x-real-ip"), Some("127.0.0.1"));
}

#[test]
fn unix_socket_upstream() {
    let dir = TempDir::new("unix-upstream");
    let path = dir.join("backend.sock");
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let _backend = Backend::start_unix(&path, move |conn| {
        while let Some(req) = conn.read_request() {
            let _ = tx.lock().unwrap().send(req.clone());
            conn.write_all(&ok(b"via unix socket"));
        }
    });
    let proxy = ProxyConfig::new(format!("unix:{}", path.display())).start();
    let mut client = proxy.connect();
    let resp = client
        .roundtrip(b"POST /sock HTTP/1.1\r\nHost: example.org\r\nContent-Length: 4\r\n\r\nping");
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"via unix socket");
    let got = recv(&rx);
    let want = format!(
        "POST /sock HTTP/1.1\r\nHost: example.org\r\n{}Content-Length: 4\r\n\r\n",
        forwarded("127.0.0.1", "example.org")
    );
    assert_eq!(got.head_text(), want);
    assert_eq!(got.body, b"ping");
    // Keep-alive works over the Unix socket too.
    let again = client.roundtrip(b"GET /sock2 HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert_eq!(again.body, b"via unix socket");
}

#[test]
fn auto_workers_serve_many_connections() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .runtime("workers", "\"auto\"")
        .start();
    assert!(proxy.server().workers() >= 1);
    let mut clients: Vec<RawClient> = (0..8).map(|_| proxy.connect()).collect();
    for round in 0..3 {
        for (i, c) in clients.iter_mut().enumerate() {
            let target = format!("/c{i}/r{round}");
            let resp = c.roundtrip(
                format!("GET {target} HTTP/1.1\r\nHost: example.org\r\n\r\n").as_bytes(),
            );
            assert_eq!(resp.status, 200);
            assert_eq!(String::from_utf8_lossy(&resp.body), target);
        }
    }
}

#[test]
fn response_status_and_reason_pass_through() {
    let backend = Backend::serve(|req| match req.target() {
        "/teapot" => b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n".to_vec(),
        "/custom" => b"HTTP/1.1 299 Fine Thanks\r\nContent-Length: 1\r\n\r\nx".to_vec(),
        _ => b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops".to_vec(),
    });
    let proxy = ProxyConfig::new(backend.server()).start();
    let mut client = proxy.connect();
    let r = client.roundtrip(b"GET /teapot HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 418 I'm a teapot");
    let r = client.roundtrip(b"GET /custom HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 299 Fine Thanks");
    assert_eq!(r.body, b"x");
    let r = client.roundtrip(b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(r.body, b"oops");
    assert!(
        !r.closes(),
        "an upstream 500 does not close the client connection by itself"
    );
}
