//! Routes answered by portier itself: `redirect = "https"` (the port-80
//! servers of an HTTPS site) and `respond = N` (catch-all routes). The
//! backend sees nothing.

mod support;

use support::{Backend, ProxyConfig};

#[test]
fn redirect_https_keeps_host_path_and_query_and_the_connection() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .tail("[[route]]\nhost = \"example.org\"\nredirect = \"https\"\n")
        .start();
    let mut client = proxy.connect();
    client.send(b"GET /a/b?c=1 HTTP/1.1\r\nHost: example.org:80\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(resp.header("location"), Some("https://example.org/a/b?c=1"));
    assert!(resp.body.is_empty());
    // Keep-alive: the next request on the same connection goes upstream.
    client.send(b"GET /next HTTP/1.1\r\nHost: other.net\r\n\r\n");
    assert_eq!(client.read_response().body, b"/next");
    backend.settle();
    let seen = String::from_utf8_lossy(&backend.all_bytes()).into_owned();
    assert!(
        !seen.contains("/a/b"),
        "the redirected request reached the backend: {seen}"
    );
}

#[test]
fn respond_answers_the_status_and_closes() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .tail("[[route]]\nhost = \"gone.example\"\nrespond = 410\n[[route]]\nhost = \"nope.example\"\nrespond = 404\n")
        .start();
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: gone.example\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 410 ");
    assert_eq!(resp.header("connection"), Some("close"));
    client.assert_closed();
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: nope.example\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(resp.body, b"404 Not Found\n");
    backend.settle();
    assert_eq!(backend.connection_count(), 0);
}

#[test]
fn acme_challenges_are_served_from_the_webroot_and_nothing_else_is() {
    let dir = support::TempDir::new("acme");
    let webroot = dir.path().join("acme");
    std::fs::create_dir(&webroot).unwrap();
    std::fs::write(webroot.join("tok-EN_1"), b"tok-EN_1.keyauth").unwrap();
    std::fs::write(dir.path().join("secret"), b"outside the webroot").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), webroot.join("link")).unwrap();
    let backend = Backend::echo_target();
    let route = format!(
        "[[route]]\nhost = \"example.org\"\nredirect = \"https\"\nacme_webroot = \"{}\"\n",
        webroot.display()
    );
    let proxy = ProxyConfig::new(backend.server()).tail(&route).start();
    let mut client = proxy.connect();
    client.send(b"GET /.well-known/acme-challenge/tok-EN_1 HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"tok-EN_1.keyauth");
    client.send(b"HEAD /.well-known/acme-challenge/tok-EN_1 HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let head = client.read_head();
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("content-length"), Some("16"));
    for target in [
        "/.well-known/acme-challenge/missing",
        "/.well-known/acme-challenge/link",
        "/.well-known/acme-challenge/../secret",
        "/.well-known/acme-challenge/..%2fsecret",
        "/.well-known/acme-challenge/",
    ] {
        let mut client = proxy.connect();
        client.send(format!("GET {target} HTTP/1.1\r\nHost: example.org\r\n\r\n").as_bytes());
        let resp = client.read_response();
        assert_eq!(resp.status_line, "HTTP/1.1 404 Not Found", "{target}");
        assert!(resp.body.is_empty(), "{target}");
    }
    // Everything else on that route still redirects.
    let mut client = proxy.connect();
    client.send(b"GET /page HTTP/1.1\r\nHost: example.org\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(resp.header("location"), Some("https://example.org/page"));
    backend.settle();
    assert_eq!(backend.connection_count(), 0);
}
