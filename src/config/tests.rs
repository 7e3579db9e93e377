//! Tests of the whole module through `load_str`: the demo, a complete file,
//! defaults, and every rejection with its line:col. The value parsers have
//! their own tests in `values.rs`; listener TLS and the route actions and
//! response settings have theirs in `tests_tls.rs` and `tests_route.rs`.

use super::*;

/// A minimal valid file of 9 lines; tests append sections from line 10.
pub(super) const BASE: &str = "[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:9000\"]\n\n[[route]]\nupstream = \"b\"\n";

pub(super) fn load(text: &str) -> Config {
    load_str(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts that `text` fails at `line`:`col` with a message containing `needle`.
#[track_caller]
pub(super) fn fails(text: &str, line: usize, col: usize, needle: &str) {
    let Err(e) = load_str(text, "test.toml") else {
        panic!("should be rejected ({needle}):\n{text}");
    };
    assert_eq!((e.line, e.col), (Some(line), Some(col)), "{e}");
    assert!(e.message.contains(needle), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("test.toml:{line}:{col}: ")),
        "{e}"
    );
}

fn tcp(s: &str) -> ServerAddr {
    ServerAddr::Tcp(s.parse().unwrap())
}

#[test]
fn demo_parses() {
    let c = demo().unwrap();
    assert_eq!(c.origin, "<embedded demo>");
    assert_eq!(c.runtime.workers, Workers::Auto);
    assert_eq!(c.listeners[0].address, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.upstreams[0].name, "echo");
    assert_eq!(c.upstreams[0].servers, vec![tcp("127.0.0.1:8081")]);
    assert_eq!(c.routes.len(), 1);
    assert!(c.routes[0].hosts.is_empty() && c.routes[0].path.is_none());
    let echo = c.echo_origin.unwrap();
    assert_eq!(echo.address, "127.0.0.1:8081".parse().unwrap());
    // The demo writes the defaults out; keep them in sync.
    assert_eq!(c.limits, Limits::default());
}

#[test]
fn full_example() {
    let text = r#"
[runtime]
workers = 4
shutdown_timeout = "30s"

[limits]
max_request_head = "8k"
max_headers = 50
client_header_timeout = "10s"
client_body_timeout = "500ms"
keepalive_timeout = "0s"
send_timeout = "2m"
max_request_body = "1G"
max_connections = 100

[[listener]]
address = "0.0.0.0:80"
backlog = 512

[[listener]]
address = "[::1]:8443"

[[upstream]]
name = "app"
servers = ["127.0.0.1:9000", "[::1]:9000", "localhost:80", "unix:/run/app.sock"]
connect_timeout = "1s"
read_timeout = "1h"
send_timeout = "3s"
keepalive_idle = "4s"
max_idle_per_server = 0

[[upstream]]
name = "other"
servers = ["10.0.0.1:80"]

[[route]]
host = ["Example.ORG", "*.example.org"]
path = "/api/"
upstream = "other"
max_request_body = "256M"

[[route]]
host = "example.org"
upstream = "app"

[echo_origin]
address = "127.0.0.1:8081"
"#;
    let c = load(text);
    assert_eq!(c.origin, "test.toml");
    assert_eq!(c.runtime.workers, Workers::Count(4));
    assert_eq!(c.runtime.shutdown_timeout, Duration::from_secs(30));
    let l = &c.limits;
    assert_eq!((l.max_request_head, l.max_headers), (8192, 50));
    assert_eq!(l.client_header_timeout, Duration::from_secs(10));
    assert_eq!(l.client_body_timeout, Duration::from_millis(500));
    assert_eq!(l.keepalive_timeout, Duration::ZERO);
    assert_eq!(l.send_timeout, Duration::from_secs(120));
    assert_eq!((l.max_request_body, l.max_connections), (1 << 30, 100));
    assert_eq!(c.listeners[0].address, "0.0.0.0:80".parse().unwrap());
    assert_eq!(c.listeners[0].backlog, 512);
    assert_eq!(c.listeners[1].address, "[::1]:8443".parse().unwrap());
    assert_eq!(c.listeners[1].backlog, 1024);

    let app = &c.upstreams[0];
    let n = app.servers.len();
    assert!(n >= 4, "{:?}", app.servers);
    assert_eq!(app.servers[..2], [tcp("127.0.0.1:9000"), tcp("[::1]:9000")]);
    for s in &app.servers[2..n - 1] {
        assert!(
            matches!(s, ServerAddr::Tcp(a) if a.ip().is_loopback() && a.port() == 80),
            "{s}"
        );
    }
    assert_eq!(app.servers[n - 1], ServerAddr::Unix("/run/app.sock".into()));
    assert_eq!(app.servers[n - 1].to_string(), "unix:/run/app.sock");
    assert_eq!(app.servers[1].to_string(), "[::1]:9000");
    assert_eq!(app.connect_timeout, Duration::from_secs(1));
    assert_eq!(app.read_timeout, Duration::from_secs(3600));
    assert_eq!(app.send_timeout, Duration::from_secs(3));
    assert_eq!(app.keepalive_idle, Duration::from_secs(4));
    assert_eq!(app.max_idle_per_server, 0);

    let r = &c.routes[0];
    let hosts = vec![
        HostPattern::Exact("example.org".into()),
        HostPattern::Wildcard(".example.org".into()),
    ];
    assert_eq!(r.hosts, hosts);
    assert_eq!(r.path.as_deref(), Some("/api/"));
    assert_eq!((r.upstream, r.max_request_body), (Some(1), Some(256 << 20)));
    assert_eq!(c.routes[1].hosts, hosts[..1]);
    assert_eq!(
        (c.routes[1].upstream, c.routes[1].max_request_body),
        (Some(0), None)
    );
    assert!(c.echo_origin.is_some());
}

#[test]
fn defaults_when_sections_are_omitted() {
    let c = load(BASE);
    assert_eq!(c.runtime.workers, Workers::Auto);
    assert_eq!(c.runtime.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.limits.max_request_head, 16 * 1024);
    assert_eq!(c.limits.keepalive_timeout, Duration::from_secs(75));
    assert_eq!(c.limits.max_request_body, 32 << 20);
    assert_eq!(c.listeners[0].backlog, 1024);
    let u = &c.upstreams[0];
    assert_eq!(
        (u.connect_timeout, u.read_timeout),
        (Duration::from_secs(5), Duration::from_secs(60))
    );
    assert_eq!(
        (u.send_timeout, u.keepalive_idle),
        (Duration::from_secs(60), Duration::from_secs(60))
    );
    assert_eq!(u.max_idle_per_server, 32);
    assert!(c.echo_origin.is_none());
    // Empty sections give the same defaults.
    let c = load(&format!("{BASE}[runtime]\n[limits]\n"));
    assert_eq!(c.limits, Limits::default());
}

#[test]
fn syntax_and_unknown_keys() {
    fails(&format!("{BASE}[limits\n"), 10, 8, "invalid table header");
    fails(
        &format!("{BASE}bogus = 1\n"),
        10,
        1,
        "unknown field `bogus`",
    );
    fails(
        &format!("{BASE}[limits]\nmax_header = 1\n"),
        11,
        1,
        "unknown field `max_header`",
    );
    fails(
        &format!("{BASE}upstream = \"b\"\nbacklog = 5\n"),
        10,
        1,
        "duplicate key",
    );
    fails(
        &format!("{BASE}[[route]]\npath = \"/\"\n"),
        10,
        1,
        "this route has no upstream, redirect or respond; add one, such as upstream = \"b\"",
    );
    fails(
        &format!("{BASE}[limits]\nmax_headers = \"x\"\n"),
        11,
        15,
        "expected an integer",
    );
    fails(
        &format!("{BASE}[limits]\nsend_timeout = 1.5\n"),
        11,
        16,
        "expected a duration such as",
    );
    let e = load_str("[listener]\naddress = \"127.0.0.1:1\"\n", "t").unwrap_err();
    assert!(
        e.message.contains("write [[listener]], not [listener]"),
        "{e}"
    );
}

#[test]
fn missing_sections_have_no_position() {
    let cases = [
        ("[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:9\"]\n[[route]]\nupstream = \"b\"\n", "no [[listener]]"),
        ("[[listener]]\naddress = \"127.0.0.1:1\"\n", "no [[upstream]]"),
        ("[[listener]]\naddress = \"127.0.0.1:1\"\n[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:9\"]\n", "no [[route]]"),
    ];
    for (text, needle) in cases {
        let e = load_str(text, "test.toml").unwrap_err();
        assert_eq!((e.line, e.col), (None, None));
        assert!(
            e.to_string().starts_with(&format!("test.toml: {needle}")),
            "{e}"
        );
    }
}

#[test]
fn files() {
    let e = load_file(Path::new("/nonexistent/portier.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/nonexistent/portier.toml: cannot read: No such file or directory (os error 2)"
    );
    let dir = std::env::temp_dir().join(format!("portier-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.toml");
    std::fs::write(&path, format!("{BASE}[limits]\nmax_headers = 0\n")).unwrap();
    let e = load_file(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:11:15: limits.max_headers must be between 1 and 1000, got 0",
            path.display()
        )
    );
    std::fs::write(&path, BASE).unwrap();
    assert_eq!(load_file(&path).unwrap().origin, path.display().to_string());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn columns_count_characters() {
    assert_eq!(line_col("ab\nc", 0), (1, 1));
    assert_eq!(line_col("ab\nc", 3), (2, 1));
    assert_eq!(line_col("ab\nc", 99), (2, 2));
    assert_eq!(line_col("é = 1", 3), (1, 3));
    fails(
        &format!("{BASE}# héhé\n[limits]\nmax_headers = 0 # é\n"),
        12,
        15,
        "max_headers",
    );
    fails(
        &format!("{BASE}[limits] # ééé\nmax_headers = 1\n  \"é\" = 2\n"),
        12,
        3,
        "unknown field `é`",
    );
}

/// Rejected configurations. Each case is `BASE` (9 lines) followed by
/// the lines under its `## line:col message-fragment` header.
const CASES: &str = r#"
## 11:16 limits.send_timeout: invalid duration "1.5s": fractions are not supported
[limits]
send_timeout = "1.5s"
## 11:16 limits.send_timeout: invalid duration "10": missing unit; write "10s"
[limits]
send_timeout = "10"
## 11:16 invalid duration "10": missing unit
[limits]
send_timeout = 10
## 11:16 limits.send_timeout: invalid duration "-1s": negative
[limits]
send_timeout = "-1s"
## 11:16 limits.send_timeout must be greater than zero
[limits]
send_timeout = "0s"
## 11:23 limits.client_body_timeout: invalid duration "9999999999999999999h": too large
[limits]
client_body_timeout = "9999999999999999999h"
## 11:20 runtime.shutdown_timeout: invalid duration "5x": unknown unit "x"
[runtime]
shutdown_timeout = "5x"
## 11:20 limits.max_request_head: invalid size "16kb"
[limits]
max_request_head = "16kb"
## 11:20 limits.max_request_head must be between 1024 and 1048576 bytes, got 2097152
[limits]
max_request_head = "2M"
## 11:20 limits.max_request_body: invalid size -1: negative
[limits]
max_request_body = -1
## 12:15 limits.max_headers must be between 1 and 1000, got 0
[limits]
max_request_body = 0
max_headers = 0
## 11:19 limits.max_connections must be between 1 and 1048576, got 0
[limits]
max_connections = 0
## 11:11 runtime.workers must be "auto" or an integer from 1 to 1024, got "many"
[runtime]
workers = "many"
## 11:11 runtime.workers must be "auto" or an integer from 1 to 1024, got 0
[runtime]
workers = 0
## 11:11 got 1025
[runtime]
workers = 1025
## 11:11 listener.address: invalid address "localhost:8080"; expected an IP address and port
[[listener]]
address = "localhost:8080"
## 12:11 listener.backlog must be between 1 and 65535, got 0
[[listener]]
address = "127.0.0.1:1"
backlog = 0
## 11:11 duplicate listener address 127.0.0.1:8080 (first defined on line 2)
[[listener]]
address = "127.0.0.1:8080"
## 11:8 duplicate upstream name "b" (first defined on line 5)
[[upstream]]
name = "b"
servers = ["127.0.0.1:1"]
## 11:8 invalid upstream name "a b"
[[upstream]]
name = "a b"
servers = ["127.0.0.1:1"]
## 12:11 upstream "c" has no servers
[[upstream]]
name = "c"
servers = []
## 12:27 invalid server "127.0.0.1": missing port; write "127.0.0.1:80"
[[upstream]]
name = "c"
servers = ["127.0.0.1:1", "127.0.0.1"]
## 12:12 invalid server "app.internal": missing port
[[upstream]]
name = "c"
servers = ["app.internal"]
## 12:12 invalid server "127.0.0.1:0": port 0 is not allowed
[[upstream]]
name = "c"
servers = ["127.0.0.1:0"]
## 12:12 invalid server "app.internal:0": port 0
[[upstream]]
name = "c"
servers = ["app.internal:0"]
## 12:12 cannot resolve no-such-host.invalid:80: 
[[upstream]]
name = "c"
servers = ["no-such-host.invalid:80"]
## 12:12 the unix socket path must be absolute
[[upstream]]
name = "c"
servers = ["unix:run/app.sock"]
## 13:19 upstream.connect_timeout must be greater than zero
[[upstream]]
name = "c"
servers = ["127.0.0.1:1"]
connect_timeout = "0ms"
## 11:12 unknown upstream "x"; defined upstreams: b
[[route]]
upstream = "x"
## 12:8 route.path must start with '/', got "api"
[[route]]
upstream = "b"
path = "api"
## 12:8 route.path "/a b" contains ' '
[[route]]
upstream = "b"
path = "/a b"
## 12:8 route.host: invalid host "a.org:80": host patterns must not contain a port
[[route]]
upstream = "b"
host = "a.org:80"
## 12:18 route.host: invalid host "*.*.org": '*' is only allowed
[[route]]
upstream = "b"
host = ["a.org", "*.*.org"]
## 12:18 route.host: "A.org" is listed twice
[[route]]
upstream = "b"
host = ["a.org", "A.org"]
## 12:8 route.host is an empty list
[[route]]
upstream = "b"
host = []
## 10:1 this route has the same host and path as the route on line 8, so it would never match
[[route]]
upstream = "b"
## 14:1 this route has the same host and path as the route on line 10
[[route]]
host = ["A.org", "b.org"]
path = "/x"
upstream = "b"
[[route]]
upstream = "b"
path = "/x"
host = ["b.org", "a.org"]
## 11:11 echo_origin.address 127.0.0.1:8080 is also a [[listener]] address
[echo_origin]
address = "127.0.0.1:8080"
## 11:11 echo_origin.address: invalid address "8081"
[echo_origin]
address = "8081"
"#;

/// Checks every `## line:col message-fragment` case of `cases` (see
/// [`CASES`]); returns how many there were.
pub(super) fn check_cases(cases: &str) -> usize {
    let mut count = 0;
    for case in cases.split("\n## ").skip(1) {
        let (header, body) = case.split_once('\n').unwrap();
        let (position, needle) = header.split_once(' ').unwrap();
        let (line, col) = position.split_once(':').unwrap();
        fails(
            &format!("{BASE}{body}\n"),
            line.parse().unwrap(),
            col.parse().unwrap(),
            needle,
        );
        count += 1;
    }
    count
}

#[test]
fn rejections_name_line_and_column() {
    assert_eq!(check_cases(CASES), 39);
}

#[test]
fn accepted_edge_cases() {
    for body in [
        // Port 0 is a fresh ephemeral port each time, never a duplicate.
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[[listener]]\naddress = \"127.0.0.1:0\"",
        // Routes differing only in path, or only in host, are distinct.
        "[[route]]\nhost = \"a.org\"\nupstream = \"b\"\n[[route]]\nhost = \"a.org\"\npath = \"/x\"\nupstream = \"b\"",
        "[[route]]\nhost = \"*.a.org\"\nupstream = \"b\"",
        "[limits]\nkeepalive_timeout = \"0s\"\nmax_request_body = 0\n[runtime]\nshutdown_timeout = \"0s\"",
        "[[upstream]]\nname = \"c\"\nservers = [\"127.0.0.1:1\"]\nkeepalive_idle = \"0s\"\nmax_idle_per_server = 0",
    ] {
        if let Err(e) = load_str(&format!("{BASE}{body}\n"), "test.toml") {
            panic!("{e}\n{body}");
        }
    }
}
