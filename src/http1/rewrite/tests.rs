use super::*;
use crate::http1::head::{parse_request, parse_response, HeadLimits, Method, Parsed};

fn request(raw: &[u8]) -> RequestHead {
    match parse_request(raw, &HeadLimits::default()) {
        Ok(Parsed::Complete(h)) => h,
        other => panic!("{other:?}"),
    }
}

fn response(raw: &[u8], method: Method) -> ResponseHead {
    match parse_response(raw, &HeadLimits::default(), method) {
        Ok(Parsed::Complete(h)) => h,
        other => panic!("{other:?}"),
    }
}

fn client(ip: &str, host: &'static [u8]) -> ClientInfo<'static> {
    ClientInfo {
        ip: ip.parse().unwrap(),
        proto: "https",
        host,
    }
}

fn upstream(raw: &[u8], client: &ClientInfo, body: OutBody) -> (String, Gather) {
    let head = request(raw);
    let mut out = Gather::new();
    upstream_request(raw, &head, client, body, &mut out);
    (String::from_utf8(out.to_vec(raw)).unwrap(), out)
}

#[test]
fn strips_hop_by_hop_and_adds_forwarding_fields() {
    let raw =
        b"POST /submit?x=1 HTTP/1.1\r\nHost: app.example\r\nConnection: keep-alive, X-Secret\r\n\
        X-Secret: s\r\nTransfer-Encoding: chunked\r\nX-Real-IP: 6.6.6.6\r\nAccept: */*\r\n\
        X-Forwarded-For: 10.0.0.1\r\nCookie: c=1\r\nExpect: 100-continue\r\n\r\nBODY";
    let (text, out) = upstream(raw, &client("192.0.2.7", b"app.example"), OutBody::Chunked);
    assert_eq!(
        text,
        "POST /submit?x=1 HTTP/1.1\r\nHost: app.example\r\nAccept: */*\r\nCookie: c=1\r\n\
         X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\nX-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: app.example\r\nX-Real-IP: 192.0.2.7\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    // Request line + Host merge into one range; Accept and Cookie are two
    // more; the added lines are one extra piece.
    assert_eq!(out.parts.len(), 4);
}

#[test]
fn http10_request_goes_upstream_as_http11_with_host() {
    let raw = b"GET /old HTTP/1.0\r\nUser-Agent: x\r\n\r\n";
    let (text, _) = upstream(
        raw,
        &client("2001:db8::5", b"default.example"),
        OutBody::None,
    );
    assert_eq!(
        text,
        "GET /old HTTP/1.1\r\nUser-Agent: x\r\nHost: default.example\r\n\
         X-Forwarded-For: 2001:db8::5\r\nX-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: default.example\r\nX-Real-IP: 2001:db8::5\r\n\r\n"
    );
}

#[test]
fn several_forwarded_for_fields_and_mapped_ipv4() {
    let raw = b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3\r\n\r\n";
    let (text, _) = upstream(
        raw,
        &client("::ffff:203.0.113.9", b"h"),
        OutBody::Length(12),
    );
    assert!(
        text.contains("\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 203.0.113.9\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nX-Real-IP: 203.0.113.9\r\n"), "{text}");
    assert!(text.ends_with("\r\nContent-Length: 12\r\n\r\n"), "{text}");
    assert_eq!(text.matches("X-Forwarded-For").count(), 1);
}

#[test]
fn response_head_for_the_client() {
    let raw = b"HTTP/1.0 201 Created Here\r\nContent-Length: 3\r\nKeep-Alive: timeout=5\r\nSet-Cookie: a=b\r\nConnection: keep-alive\r\nLocation: /x\r\n\r\nabc";
    let head = response(raw, Method::Post);
    let mut out = Gather::new();
    client_response(raw, &head, OutBody::Length(3), true, &mut out);
    assert_eq!(
        String::from_utf8(out.to_vec(raw)).unwrap(),
        "HTTP/1.1 201 Created Here\r\nSet-Cookie: a=b\r\nLocation: /x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    );

    let raw = b"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = response(raw, Method::Get);
    out.clear();
    client_response_with(
        raw,
        &head,
        OutBody::None,
        ConnectionLine::KeepAlive,
        &mut out,
    );
    assert_eq!(
        out.to_vec(raw),
        b"HTTP/1.1 200 \r\nConnection: keep-alive\r\n\r\n"
    );
    out.clear();
    client_response(raw, &head, OutBody::Chunked, false, &mut out);
    assert_eq!(
        out.to_vec(raw),
        b"HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn head_response_keeps_its_content_length() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    let head = response(raw, Method::Head);
    let mut out = Gather::new();
    client_response(raw, &head, OutBody::None, false, &mut out);
    assert_eq!(
        out.to_vec(raw),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    );
}

#[test]
fn number_and_address_formatting() {
    let mut d = [0u8; 20];
    assert_eq!(format_u64(0, &mut d), b"0");
    assert_eq!(format_u64(1234567890, &mut d), b"1234567890");
    assert_eq!(format_u64(u64::MAX, &mut d), b"18446744073709551615");
    let mut a = [0u8; 48];
    let long: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
        .parse()
        .unwrap();
    assert_eq!(format_ip(long, &mut a), long.to_string().as_bytes());
    assert_eq!(
        format_ip("127.0.0.1".parse().unwrap(), &mut a),
        b"127.0.0.1"
    );
    for v4 in ["0.0.0.0", "255.255.255.255", "10.0.100.9", "192.168.1.20"] {
        let ip: IpAddr = v4.parse().unwrap();
        assert_eq!(format_ip(ip, &mut a), v4.as_bytes());
    }
}
