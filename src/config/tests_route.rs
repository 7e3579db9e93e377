//! Route actions (`upstream`, `redirect`, `respond`) and response settings
//! (`acme_webroot`, `hsts`, `response_headers`): every form and every
//! rejection with its line:col.

use super::tests::{check_cases, load, BASE};
use super::*;

/// The route appended to `BASE` (route 1).
fn route_of(body: &str) -> RouteConfig {
    let c = load(&format!("{BASE}{body}\n"));
    c.routes[1].clone()
}

fn headers(set: &[(&str, &str)], remove: &[&str]) -> ResponseHeaders {
    ResponseHeaders {
        set: set
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        remove: remove.iter().map(|n| n.to_string()).collect(),
    }
}

#[test]
fn defaults() {
    let c = load(BASE);
    let r = &c.routes[0];
    assert_eq!(r.upstream, Some(0));
    assert_eq!((r.redirect, r.respond), (None, None));
    assert_eq!((&r.acme_webroot, &r.hsts), (&None, &None));
    assert_eq!(r.response_headers, ResponseHeaders::default());
    assert!(r.response_headers.set.is_empty() && r.response_headers.remove.is_empty());
}

#[test]
fn redirect_and_respond_need_no_upstream() {
    let r = route_of(
        "[[route]]\nhost = \"a.org\"\nredirect = \"https\"\nacme_webroot = \"/var/www/acme\"",
    );
    assert_eq!(r.upstream, None);
    assert_eq!(r.redirect, Some(Redirect::Https));
    assert_eq!(r.respond, None);
    assert_eq!(r.acme_webroot, Some(PathBuf::from("/var/www/acme")));
    let r = route_of("[[route]]\npath = \"/x\"\nrespond = 404");
    assert_eq!((r.upstream, r.redirect, r.respond), (None, None, Some(404)));
    for status in [100, 599] {
        let r = route_of(&format!("[[route]]\npath = \"/x\"\nrespond = {status}"));
        assert_eq!(r.respond, Some(status));
    }
}

#[test]
fn hsts_forms() {
    let hsts = |value: &str| {
        route_of(&format!(
            "[[route]]\nhost = \"a.org\"\nupstream = \"b\"\nhsts = {value}"
        ))
        .hsts
    };
    assert_eq!(hsts("false"), Some(HstsConfig::Off));
    for value in [
        "max-age=63072000; includeSubDomains",
        "max-age=0",
        "max-age=31536000;includeSubDomains; preload",
        "max-age=1 ; preload",
    ] {
        assert_eq!(
            hsts(&format!("\"{value}\"")),
            Some(HstsConfig::Value(value.into()))
        );
    }
}

#[test]
fn response_headers_forms() {
    let r = route_of(
        r#"[[route]]
host = "a.org"
upstream = "b"
response_headers = { set = { "X-Frame-Options" = "DENY" }, remove = ["Server", "X-Powered-By"] }"#,
    );
    assert_eq!(
        r.response_headers,
        headers(&[("X-Frame-Options", "DENY")], &["server", "x-powered-by"])
    );
    // Sub-tables; `set` keeps the order written and the names' case.
    let r = route_of(
        r#"[[route]]
host = "a.org"
upstream = "b"
[route.response_headers]
remove = ["ETag"]
[route.response_headers.set]
Z-Last = "z"
"A-First" = ""
X-Robots-Tag = "noindex, nofollow"
"#,
    );
    assert_eq!(
        r.response_headers,
        headers(
            &[
                ("Z-Last", "z"),
                ("A-First", ""),
                ("X-Robots-Tag", "noindex, nofollow")
            ],
            &["etag"]
        )
    );
    let r = route_of("[[route]]\nhost = \"a.org\"\nupstream = \"b\"\nresponse_headers = {}");
    assert_eq!(r.response_headers, ResponseHeaders::default());
}

#[test]
fn every_route_key_together() {
    let text = format!(
        r#"{BASE}[[route]]
host = "a.org"
path = "/app/"
upstream = "b"
acme_webroot = "/var/www/acme"
hsts = "max-age=63072000; includeSubDomains"
response_headers = {{ set = {{ "X-Frame-Options" = "DENY" }}, remove = ["Server"] }}
max_request_body = "1M"
"#
    );
    let r = load(&text).routes[1].clone();
    assert_eq!(
        r,
        RouteConfig {
            hosts: vec![HostPattern::Exact("a.org".into())],
            path: Some("/app/".into()),
            upstream: Some(0),
            redirect: None,
            respond: None,
            acme_webroot: Some("/var/www/acme".into()),
            hsts: Some(HstsConfig::Value(
                "max-age=63072000; includeSubDomains".into()
            )),
            response_headers: headers(&[("X-Frame-Options", "DENY")], &["server"]),
            max_request_body: Some(1 << 20),
        }
    );
}

/// Rejected routes, in the format of `tests::CASES`.
const CASES: &str = r#"
## 10:1 this route has no upstream, redirect or respond; add one, such as upstream = "b"
[[route]]
path = "/x"
acme_webroot = "/var/www/acme"
## 12:12 route.redirect cannot be combined with upstream; a route either proxies to an upstream, redirects, or responds itself
[[route]]
upstream = "b"
redirect = "https"
## 12:11 route.respond cannot be combined with upstream
[[route]]
upstream = "b"
respond = 404
## 12:11 route.respond cannot be combined with redirect
[[route]]
redirect = "https"
respond = 404
## 11:12 route.redirect must be "https", got "http"
[[route]]
redirect = "http"
## 11:12 route.redirect must be "https", got "HTTPS"
[[route]]
redirect = "HTTPS"
## 11:12 invalid type: boolean `true`, expected a string
[[route]]
redirect = true
## 11:11 route.respond must be between 100 and 599, got 99
[[route]]
respond = 99
## 11:11 route.respond must be between 100 and 599, got 600
[[route]]
respond = 600
## 11:11 expected an integer
[[route]]
respond = "404"
## 12:16 route.acme_webroot must be an absolute path, such as "/var/www/acme", got "www"
[[route]]
upstream = "b"
acme_webroot = "www"
## 12:16 route.acme_webroot must be an absolute path
[[route]]
upstream = "b"
acme_webroot = ""
## 12:8 route.hsts = true is not accepted; omit hsts for the default on TLS listeners, write false to send none
[[route]]
upstream = "b"
hsts = true
## 12:8 route.hsts: invalid value "max-age=abc"; expected false or "max-age=" and a number of seconds
[[route]]
upstream = "b"
hsts = "max-age=abc"
## 12:8 route.hsts: invalid value "includeSubDomains; max-age=1"
[[route]]
upstream = "b"
hsts = "includeSubDomains; max-age=1"
## 12:8 route.hsts: invalid value "max-age=10 preload"
[[route]]
upstream = "b"
hsts = "max-age=10 preload"
## 12:8 route.hsts: invalid value "max-age=1\n"
[[route]]
upstream = "b"
hsts = "max-age=1\n"
## 12:8 route.hsts: invalid value ""
[[route]]
upstream = "b"
hsts = ""
## 12:8 invalid type: integer `5`, expected false or a header value such as "max-age=63072000"
[[route]]
upstream = "b"
hsts = 5
## 13:1 route.response_headers.set: invalid header name "X Frame"; expected letters, digits and !#$%&'*+-.^_`|~
[[route]]
upstream = "b"
[route.response_headers.set]
"X Frame" = "DENY"
## 13:1 route.response_headers.set: invalid header name ""
[[route]]
upstream = "b"
[route.response_headers.set]
"" = "x"
## 13:1 route.response_headers.set: invalid header name "X-A:"
[[route]]
upstream = "b"
[route.response_headers.set]
"X-A:" = "x"
## 13:7 route.response_headers.set: the value of "X-A" contains a line break or NUL
[[route]]
upstream = "b"
[route.response_headers.set]
X-A = "a\r\nX-B: b"
## 13:7 the value of "X-A" contains a line break or NUL
[[route]]
upstream = "b"
[route.response_headers.set]
X-A = "a\u0000"
## 14:1 route.response_headers.set: "x-a" is listed twice
[[route]]
upstream = "b"
[route.response_headers.set]
X-A = "1"
x-a = "2"
## 13:1 route.response_headers.set: Content-Length is managed by portier (framing and connection handling) and cannot be set or removed
[[route]]
upstream = "b"
[route.response_headers.set]
Content-Length = "0"
## 13:1 route.response_headers.set: Strict-Transport-Security is set with route.hsts
[[route]]
upstream = "b"
[route.response_headers.set]
strict-transport-security = "max-age=1"
## 13:21 route.response_headers.remove: invalid header name "X Y"
[[route]]
upstream = "b"
[route.response_headers]
remove = ["Server", "X Y"]
## 13:21 route.response_headers.remove: "server" is listed twice
[[route]]
upstream = "b"
[route.response_headers]
remove = ["Server", "server"]
## 14:11 route.response_headers.remove: "x-a" is also in set; set already replaces it
[[route]]
upstream = "b"
[route.response_headers]
set = { X-A = "1" }
remove = ["x-a"]
## 13:11 route.response_headers.remove: Transfer-Encoding is managed by portier
[[route]]
upstream = "b"
[route.response_headers]
remove = ["Transfer-Encoding"]
## 13:1 unknown field `add`, expected `set` or `remove`
[[route]]
upstream = "b"
[route.response_headers]
add = { X-A = "1" }
## 12:20 expected a table such as { set = { "X-Frame-Options" = "DENY" }, remove = ["Server"] }
[[route]]
upstream = "b"
response_headers = "X-A"
## 13:7 expected a table of header names and values, such as { "X-Frame-Options" = "DENY" }
[[route]]
upstream = "b"
[route.response_headers]
set = ["X-A"]
## 13:7 invalid type: integer `1`, expected a string
[[route]]
upstream = "b"
[route.response_headers.set]
X-A = 1
## 13:10 invalid type: string "Server", expected a sequence
[[route]]
upstream = "b"
[route.response_headers]
remove = "Server"
## 11:1 unknown field `redirects`
[[route]]
redirects = "https"
"#;

#[test]
fn route_rejections_name_line_and_column() {
    assert_eq!(check_cases(CASES), 37);
}
