//! The embedded demo: portier in front of its built-in echo origin, which
//! shows each request exactly as a backend receives it.

mod support;

use std::net::{SocketAddr, TcpListener};

use support::*;

/// The demo configuration on free ports: listener on port 0, echo origin
/// (and the upstream pointing at it) on a port picked by binding and
/// releasing it (a small race, acceptable for this one test file).
fn demo_proxy() -> (Proxy, SocketAddr) {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo: SocketAddr = free.local_addr().unwrap();
    drop(free);
    assert!(portier::config::DEMO.contains("127.0.0.1:8080"));
    assert!(portier::config::DEMO.contains("127.0.0.1:8081"));
    let text = portier::config::DEMO
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("127.0.0.1:8081", &echo.to_string());
    let proxy = Proxy::start(&text);
    assert_eq!(proxy.server().echo_addr(), Some(echo));
    (proxy, echo)
}

const FORWARDED: &str = "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\
                         X-Forwarded-Host: demo.test\r\nX-Real-IP: 127.0.0.1\r\n";

#[test]
fn demo_shows_the_request_as_the_origin_received_it() {
    let (proxy, _) = demo_proxy();
    let mut client = proxy.connect();
    let resp = client.roundtrip(
        b"GET /hello?name=world HTTP/1.1\r\nHost: demo.test\r\nUser-Agent: portier-test\r\n\
          Connection: keep-alive, X-Demo-Hop\r\nX-Demo-Hop: secret\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert!(!resp.closes());
    let want = format!(
        "GET /hello?name=world HTTP/1.1\r\nHost: demo.test\r\nUser-Agent: portier-test\r\n\
         Accept: */*\r\n{FORWARDED}\r\n"
    );
    assert_eq!(show(&resp.body), show(want.as_bytes()));
    // The connection stays usable.
    let again = client.roundtrip(b"GET /again HTTP/1.1\r\nHost: demo.test\r\n\r\n");
    assert_eq!(again.status, 200);
    let want = format!("GET /again HTTP/1.1\r\nHost: demo.test\r\n{FORWARDED}\r\n");
    assert_eq!(show(&again.body), show(want.as_bytes()));
}

#[test]
fn demo_echoes_a_request_body() {
    let (proxy, _) = demo_proxy();
    let mut client = proxy.connect();
    let resp = client.roundtrip(
        b"POST /form HTTP/1.1\r\nHost: demo.test\r\nContent-Type: text/plain\r\n\
          Content-Length: 13\r\n\r\nname=portier!",
    );
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    let want = format!(
        "POST /form HTTP/1.1\r\nHost: demo.test\r\nContent-Type: text/plain\r\n\
         {FORWARDED}Content-Length: 13\r\n\r\nname=portier!"
    );
    assert_eq!(show(&resp.body), show(want.as_bytes()));
}

#[test]
fn echo_origin_answers_directly() {
    let (_proxy, echo) = demo_proxy();
    let mut client = RawClient::connect(echo);
    let request: &[u8] = b"GET /direct HTTP/1.1\r\nHost: origin.test\r\nX-Probe: 1\r\n\r\n";
    let resp = client.roundtrip(request);
    assert_eq!(resp.status, 200);
    assert_eq!(show(&resp.body), show(request));
}
