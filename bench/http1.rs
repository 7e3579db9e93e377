//! HTTP/1.1 hot paths: head parsing, chunked re-framing, head rewriting.
//! `cargo bench --bench http1` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portier::http1::chunked::ChunkedDecoder;
use portier::http1::head::{
    parse_request_into, parse_response_into, HeadLimits, Method, Parsed, RequestHead, ResponseHead,
};
use portier::http1::rewrite::{client_response, upstream_request, ClientInfo, OutBody};
use portier::net::gather::Gather;

/// What a browser sends for a page of a web application.
const BROWSER_GET: &[u8] = b"GET /app/patients/dashboard?tab=overview&page=2 HTTP/1.1\r\n\
Host: portal.example-health.eu\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: de-DE,de;q=0.8,en-US;q=0.5,en;q=0.3\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Connection: keep-alive\r\n\
Cookie: sessionid=4f9c2a7be1d04b3a9f6e8d7c5b4a3921; csrftoken=Zx81kq0PqL2mN5vB7cX9\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-User: ?1\r\n\
Referer: https://portal.example-health.eu/app/patients/\r\n\
Priority: u=0, i\r\n\r\n";

const UPSTREAM_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx\r\n\
Date: Tue, 14 Apr 2026 09:12:44 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 18231\r\n\
Connection: keep-alive\r\n\
Cache-Control: no-store\r\n\
Strict-Transport-Security: max-age=63072000\r\n\
X-Content-Type-Options: nosniff\r\n\
Set-Cookie: csrftoken=Zx81kq0PqL2mN5vB7cX9; Path=/; Secure; SameSite=Lax\r\n\r\n";

fn parse_heads(c: &mut Criterion) {
    let limits = HeadLimits {
        max_head: 64 * 1024,
        max_headers: 100,
    };
    let mut g = c.benchmark_group("head");
    g.throughput(Throughput::Bytes(BROWSER_GET.len() as u64));
    let mut head = RequestHead::default();
    g.bench_function("parse_request_browser_get", |b| {
        b.iter(|| {
            let r = parse_request_into(black_box(BROWSER_GET), &limits, &mut head);
            assert_eq!(r, Ok(Parsed::Complete(())));
        })
    });
    g.throughput(Throughput::Bytes(UPSTREAM_RESPONSE.len() as u64));
    let mut res = ResponseHead::default();
    g.bench_function("parse_response", |b| {
        b.iter(|| {
            let r =
                parse_response_into(black_box(UPSTREAM_RESPONSE), &limits, Method::Get, &mut res);
            assert_eq!(r, Ok(Parsed::Complete(())));
        })
    });
    g.finish();
}

/// A 64 KiB body sent as 4 KiB chunks with a small extension each.
fn chunked_body() -> (Vec<u8>, u64) {
    let mut body = Vec::new();
    let payload = vec![b'x'; 4096];
    for _ in 0..16 {
        body.extend_from_slice(b"1000;v=1\r\n");
        body.extend_from_slice(&payload);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    (body, 16 * 4096)
}

fn chunked(c: &mut Criterion) {
    let (body, payload) = chunked_body();
    let mut g = c.benchmark_group("chunked");
    g.throughput(Throughput::Bytes(body.len() as u64));
    let mut out = Gather::new();
    g.bench_function("reframe_64k_in_4k_chunks", |b| {
        b.iter(|| {
            out.clear();
            let p = ChunkedDecoder::new().reframe(black_box(&body), 0, &mut out);
            assert!(matches!(p, Ok(p) if p.done && p.data == payload));
        })
    });
    let mut decoded = Vec::with_capacity(body.len());
    g.bench_function("decode_into_64k_in_4k_chunks", |b| {
        b.iter(|| {
            decoded.clear();
            let p = ChunkedDecoder::new().decode_into(black_box(&body), &mut decoded);
            assert!(matches!(p, Ok(p) if p.done));
        })
    });
    g.finish();
}

fn rewrite(c: &mut Criterion) {
    let limits = HeadLimits::default();
    let mut head = RequestHead::default();
    assert_eq!(
        parse_request_into(BROWSER_GET, &limits, &mut head),
        Ok(Parsed::Complete(()))
    );
    let mut res = ResponseHead::default();
    assert_eq!(
        parse_response_into(UPSTREAM_RESPONSE, &limits, Method::Get, &mut res),
        Ok(Parsed::Complete(()))
    );
    let client = ClientInfo {
        ip: "2001:db8:85a3::8a2e:370:7334"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
        proto: "https",
        host: b"portal.example-health.eu",
    };
    let mut out = Gather::new();
    let mut g = c.benchmark_group("rewrite");
    g.bench_function("upstream_request", |b| {
        b.iter(|| {
            out.clear();
            upstream_request(
                black_box(BROWSER_GET),
                &head,
                &client,
                OutBody::None,
                &mut out,
            );
            black_box(out.len())
        })
    });
    g.bench_function("client_response", |b| {
        b.iter(|| {
            out.clear();
            client_response(
                black_box(UPSTREAM_RESPONSE),
                &res,
                OutBody::Length(18231),
                false,
                &mut out,
            );
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, parse_heads, chunked, rewrite);
criterion_main!(benches);
