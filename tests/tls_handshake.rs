//! TLS handshakes over real sockets: session resumption across workers,
//! OCSP stapling, RSA and ECDSA certificates for one name, the default
//! certificate for unknown or missing SNI, and ClientHellos the policy
//! refuses (hand-built, since rustls's client cannot send them).

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, SignatureScheme, SupportedProtocolVersion};
use support::{
    client_config, client_config_with, connect, connect_as, dns_names, fatal_alert, get, key_type,
    peer_leaf, tls_listener, AcceptAny, Backend, KeyType, Proxy, ProxyConfig, RawHello, TempDir,
    TestCert, Tls, ALERT_HANDSHAKE_FAILURE, ALERT_PROTOCOL_VERSION, ALERT_UNRECOGNIZED_NAME,
    TIMEOUT,
};

const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// The address of the TLS listener added with [`tls_listener`] (the second).
fn tls_addr(proxy: &Proxy) -> SocketAddr {
    proxy.server().listen_addrs()[1]
}

/// Connects `count` times with `config` to `example.org`, one request
/// each; returns the handshake kinds and checks every answer.
fn handshakes(
    addr: SocketAddr,
    config: impl Fn() -> Arc<ClientConfig>,
    count: usize,
    tag: &str,
) -> Vec<HandshakeKind> {
    (0..count)
        .map(|i| {
            let mut tls = connect(addr, "example.org", config()).unwrap();
            let path = format!("/{tag}-{i}");
            let (head, body) = get(&mut tls, "example.org", &path);
            assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
            assert_eq!(body, path.as_bytes());
            tls.conn.handshake_kind().expect("handshake done")
        })
        .collect()
}

/// With two workers (SO_REUSEPORT spreads the connections over both), one
/// client config resumes every connection after the first; a new client
/// config each time never does. Every request still reaches the backend.
fn resumption(session_tickets: bool) {
    let dir = TempDir::new("tls-resume");
    let backend = Backend::echo_target();
    let cert = TestCert::generate(&dir, "site", &["example.org"], KeyType::Ecdsa);
    let proxy = ProxyConfig::new(backend.server())
        .runtime("workers", "2")
        .listener("tls", &cert.inline())
        .listener("session_tickets", &session_tickets.to_string())
        .start();
    const COUNT: usize = 6;
    let mut paths = Vec::new();
    for (name, versions) in [("tls13", TLS13), ("tls12", TLS12)] {
        let shared = client_config(versions);
        let kinds = handshakes(
            proxy.addr,
            || shared.clone(),
            COUNT,
            &format!("{name}-shared"),
        );
        let mut expected = vec![HandshakeKind::Resumed; COUNT];
        expected[0] = HandshakeKind::Full;
        assert_eq!(
            kinds, expected,
            "{name}, one client config, tickets {session_tickets}"
        );

        let kinds = handshakes(
            proxy.addr,
            || client_config(versions),
            3,
            &format!("{name}-fresh"),
        );
        assert_eq!(
            kinds,
            [HandshakeKind::Full; 3],
            "{name}, a new client config each time, tickets {session_tickets}"
        );
        for i in 0..COUNT {
            paths.push(format!("GET /{name}-shared-{i} HTTP/1.1\r\n"));
        }
    }
    backend.settle();
    let seen = String::from_utf8_lossy(&backend.all_bytes()).into_owned();
    for path in paths {
        assert!(seen.contains(&path), "{path:?} not in {seen}");
    }
}

#[test]
fn sessions_resume_across_workers_from_the_shared_cache() {
    resumption(false);
}

#[test]
fn sessions_resume_across_workers_with_tickets() {
    resumption(true);
}

/// A syntactically valid, `successful` OCSPResponse (what certs.rs checks);
/// the responseBytes content is arbitrary: nobody verifies it here.
const OCSP_RESPONSE: &[u8] = &[
    0x30, 0x10, // OCSPResponse
    0x0a, 0x01, 0x00, // responseStatus: successful
    0xa0, 0x0b, // [0] responseBytes
    0x30, 0x09, 0x06, 0x01, 0x2a, 0x04, 0x04, 0xde, 0xad, 0xbe, 0xef,
];

#[test]
fn ocsp_staple_is_sent_as_configured_and_only_with_its_certificate() {
    let dir = TempDir::new("tls-ocsp");
    let backend = Backend::echo_target();
    let staple = dir.join("staple.der");
    std::fs::write(&staple, OCSP_RESPONSE).unwrap();
    let stapled =
        TestCert::generate(&dir, "stapled", &["stapled.example"], KeyType::Ecdsa).with_ocsp(staple);
    let plain = TestCert::generate(&dir, "plain", &["plain.example"], KeyType::Ecdsa);
    let proxy = ProxyConfig::new(backend.server())
        .tail(&tls_listener(&[], &[&stapled, &plain]))
        .start();
    let addr = tls_addr(&proxy);
    for versions in [TLS13, TLS12] {
        for (sni, cert, ocsp) in [
            ("stapled.example", &stapled, OCSP_RESPONSE),
            ("plain.example", &plain, &[][..]),
        ] {
            let verifier = AcceptAny::new();
            let mut tls =
                connect(addr, sni, client_config_with(verifier.clone(), versions)).unwrap();
            let seen = verifier.seen();
            let what = format!("{sni} {versions:?}");
            cert.assert_is(seen.cert.as_deref().expect("a full handshake"), &what);
            assert_eq!(seen.ocsp, ocsp, "{what}");
            assert_eq!(get(&mut tls, sni, "/o").1, b"/o");
        }
    }
}

/// Signature schemes of a client that can only verify RSA signatures.
const RSA_ONLY: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

#[test]
fn rsa_only_clients_get_the_rsa_certificate_and_others_the_ecdsa_one() {
    let dir = TempDir::new("tls-rsa-ecdsa");
    let backend = Backend::echo_target();
    let names = ["shop.example", "*.shop.example"];
    // RSA listed first: ECDSA is still preferred.
    let rsa = TestCert::generate(&dir, "rsa", &names, KeyType::Rsa);
    let ecdsa = TestCert::generate(&dir, "ecdsa", &names, KeyType::Ecdsa);
    assert_eq!(key_type(&rsa.der), KeyType::Rsa);
    assert_eq!(key_type(&ecdsa.der), KeyType::Ecdsa);
    let proxy = ProxyConfig::new(backend.server())
        .tail(&tls_listener(&[], &[&rsa, &ecdsa]))
        .start();
    let addr = tls_addr(&proxy);
    for versions in [TLS13, TLS12] {
        for sni in ["shop.example", "www.shop.example"] {
            for (verifier, cert) in [
                (AcceptAny::with_schemes(RSA_ONLY), &rsa),
                (AcceptAny::new(), &ecdsa),
            ] {
                let what = format!("{sni} {versions:?} {:?}", key_type(&cert.der));
                let mut tls = connect(addr, sni, client_config_with(verifier, versions)).unwrap();
                let leaf = peer_leaf(&tls);
                assert_eq!(key_type(&leaf), key_type(&cert.der), "{what}");
                cert.assert_is(&leaf, &what);
                assert_eq!(get(&mut tls, sni, "/k").1, b"/k", "{what}");
            }
        }
    }
}

/// A connection without SNI: rustls sends none for an IP address.
fn connect_without_sni(addr: SocketAddr) -> Tls {
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    connect_as(addr, name, client_config(rustls::ALL_VERSIONS)).unwrap()
}

#[test]
fn unknown_or_missing_sni_gets_a_self_signed_certificate_and_the_catch_all_route() {
    let dir = TempDir::new("tls-self-signed");
    let backend = Backend::echo_target();
    let site = TestCert::generate(&dir, "site", &["example.org"], KeyType::Ecdsa);
    // The listener's default: default_certificate = "self-signed". Only
    // example.org is proxied; any other host meets `respond = 404`.
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &site.inline())
        .route("host", "\"example.org\"")
        .tail("[[route]]\nrespond = 404\n")
        .start();

    let mut tls = connect(
        proxy.addr,
        "example.org",
        client_config(rustls::ALL_VERSIONS),
    )
    .unwrap();
    site.assert_is(&peer_leaf(&tls), "example.org");
    assert_eq!(get(&mut tls, "example.org", "/known").1, b"/known");

    let mut shown = Vec::new();
    for tls in [
        connect(
            proxy.addr,
            "unknown.example",
            client_config(rustls::ALL_VERSIONS),
        ),
        Ok(connect_without_sni(proxy.addr)),
    ] {
        let mut tls = tls.expect("the handshake succeeds");
        let leaf = peer_leaf(&tls);
        assert_ne!(leaf, site.der, "not the configured certificate");
        assert_eq!(dns_names(&leaf), ["localhost"]);
        assert_eq!(key_type(&leaf), KeyType::Ecdsa);
        shown.push(leaf);
        let (head, body) = get(&mut tls, "unknown.example", "/unknown");
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
        assert_eq!(body, b"404 Not Found\n");
    }
    assert_eq!(shown[0], shown[1], "one self-signed certificate");

    backend.settle();
    let seen = String::from_utf8_lossy(&backend.all_bytes()).into_owned();
    assert!(seen.contains("GET /known "), "{seen}");
    assert!(!seen.contains("/unknown"), "{seen}");
}

#[test]
fn unknown_or_missing_sni_gets_the_named_default_certificate() {
    let dir = TempDir::new("tls-named-default");
    let backend = Backend::echo_target();
    let a = TestCert::generate(&dir, "a", &["a.example"], KeyType::Ecdsa).named("first");
    let b = TestCert::generate(&dir, "b", &["b.example"], KeyType::Ecdsa).named("fallback");
    let proxy = ProxyConfig::new(backend.server())
        .tail(&tls_listener(
            &["default_certificate = \"fallback\""],
            &[&a, &b],
        ))
        .start();
    let addr = tls_addr(&proxy);
    let all = || client_config(rustls::ALL_VERSIONS);
    for (sni, cert) in [
        ("a.example", &a),
        ("b.example", &b),
        ("unknown.example", &b),
    ] {
        let mut tls = connect(addr, sni, all()).unwrap();
        cert.assert_is(&peer_leaf(&tls), sni);
        assert_eq!(get(&mut tls, sni, "/n").1, b"/n", "{sni}");
    }
    let mut tls = connect_without_sni(addr);
    b.assert_is(&peer_leaf(&tls), "no SNI");
    assert_eq!(get(&mut tls, "b.example", "/no-sni").1, b"/no-sni");
}

const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
const ECDHE_ECDSA_AES128_CBC_SHA: u16 = 0xc009;
const ECDHE_RSA_AES128_CBC_SHA: u16 = 0xc013;
const ECDHE_ECDSA_AES128_CBC_SHA256: u16 = 0xc023;
const ECDHE_RSA_AES128_CBC_SHA256: u16 = 0xc027;
const RSA_AES128_GCM: u16 = 0x009c;
const RSA_AES256_GCM: u16 = 0x009d;

/// A TLS listener (default certificate: self-signed, so a hello without
/// SNI is not refused for its name) in front of a recording backend.
fn policy_proxy(dir: &TempDir) -> (Backend, Proxy) {
    let backend = Backend::echo_target();
    let site = TestCert::generate(dir, "site", &["example.org"], KeyType::Ecdsa);
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &site.inline())
        .start();
    (backend, proxy)
}

#[test]
fn a_hand_built_tls12_hello_with_a_good_suite_gets_a_server_hello() {
    let dir = TempDir::new("tls-raw-ok");
    let (_backend, proxy) = policy_proxy(&dir);
    let mut tcp = TcpStream::connect_timeout(&proxy.addr, TIMEOUT).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    tcp.write_all(&RawHello::new([3, 3], &[ECDHE_ECDSA_AES128_GCM]).record())
        .unwrap();
    // The first record of the server's flight: handshake (22), version 3,3,
    // a ServerHello (2) choosing TLS 1.2 and the offered suite.
    let mut head = [0u8; 5];
    tcp.read_exact(&mut head).unwrap();
    assert_eq!(head[..3], [0x16, 0x03, 0x03], "{head:?}");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([head[3], head[4]]))];
    tcp.read_exact(&mut body).unwrap();
    assert_eq!(body[0], 2, "ServerHello");
    assert_eq!(body[4..6], [3, 3], "TLS 1.2");
    let session_id_len = usize::from(body[6 + 32]);
    let suite = &body[6 + 32 + 1 + session_id_len..][..2];
    assert_eq!(suite, ECDHE_ECDSA_AES128_GCM.to_be_bytes());
}

/// Sends `hello`; the server must answer exactly `alert` and close, and the
/// backend must see nothing.
fn refused(proxy: &Proxy, backend: &Backend, hello: &RawHello, alert: [u8; 7]) {
    let mut client = proxy.connect();
    client.send(&hello.record());
    let answer = client.read_to_eof();
    assert_eq!(answer, alert, "{hello:x?}");
    backend.settle();
    assert_eq!(backend.connection_count(), 0, "{hello:x?}");
}

#[test]
fn a_tls11_hello_is_refused_with_a_protocol_version_alert() {
    let dir = TempDir::new("tls-raw-11");
    let (backend, proxy) = policy_proxy(&dir);
    for suites in [&[ECDHE_ECDSA_AES128_GCM][..], &[ECDHE_ECDSA_AES128_CBC_SHA]] {
        let hello = RawHello::new([3, 2], suites);
        refused(
            &proxy,
            &backend,
            &hello,
            fatal_alert(ALERT_PROTOCOL_VERSION),
        );
    }
}

#[test]
fn tls12_hellos_with_only_cbc_or_rsa_key_exchange_are_refused_with_handshake_failure() {
    let dir = TempDir::new("tls-raw-suites");
    let (backend, proxy) = policy_proxy(&dir);
    for suites in [
        &[
            ECDHE_ECDSA_AES128_CBC_SHA,
            ECDHE_RSA_AES128_CBC_SHA,
            ECDHE_ECDSA_AES128_CBC_SHA256,
            ECDHE_RSA_AES128_CBC_SHA256,
        ][..],
        &[RSA_AES128_GCM],
        &[RSA_AES128_GCM, RSA_AES256_GCM],
    ] {
        let mut hello = RawHello::new([3, 3], suites);
        refused(
            &proxy,
            &backend,
            &hello,
            fatal_alert(ALERT_HANDSHAKE_FAILURE),
        );
        // The same with a known server name.
        hello.sni = Some("example.org".to_owned());
        refused(
            &proxy,
            &backend,
            &hello,
            fatal_alert(ALERT_HANDSHAKE_FAILURE),
        );
    }
}

/// Waits (bounded) until portier has counted `n` failed handshakes.
fn wait_failures(proxy: &Proxy, n: u64) -> portier::runtime::stats::Stats {
    let give_up = std::time::Instant::now() + TIMEOUT;
    loop {
        let stats = proxy.server().stats();
        if stats.handshake_failures_total() >= n || std::time::Instant::now() > give_up {
            return stats;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn failed_handshakes_keep_their_own_alert_and_are_counted_by_reason() {
    use portier::tls::failure::HandshakeFailure as Why;
    let dir = TempDir::new("tls-failures");
    let backend = Backend::echo_target();
    let site = TestCert::generate(&dir, "site", &["example.org"], KeyType::Ecdsa);
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &site.inline())
        .listener("default_certificate", "\"reject\"")
        .listener("tls_handshake_timeout", "\"300ms\"")
        .start();
    // With "reject", a hello the certificate lookup refuses gets
    // unrecognized_name; one refused for its version (checked first) or,
    // with a served name, for its suites keeps its own alert.
    let mut hello = RawHello::new([3, 3], &[ECDHE_ECDSA_AES128_GCM]);
    hello.sni = Some("other.net".to_owned());
    refused(
        &proxy,
        &backend,
        &hello,
        fatal_alert(ALERT_UNRECOGNIZED_NAME),
    );
    let old = RawHello::new([3, 2], &[ECDHE_ECDSA_AES128_GCM]);
    refused(&proxy, &backend, &old, fatal_alert(ALERT_PROTOCOL_VERSION));
    let mut rsa_kx = RawHello::new([3, 3], &[RSA_AES128_GCM]);
    refused(
        &proxy,
        &backend,
        &rsa_kx,
        fatal_alert(ALERT_UNRECOGNIZED_NAME),
    );
    rsa_kx.sni = Some("example.org".to_owned());
    refused(
        &proxy,
        &backend,
        &rsa_kx,
        fatal_alert(ALERT_HANDSHAKE_FAILURE),
    );
    // Plain HTTP on the TLS port.
    let mut client = proxy.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
    assert!(!client.read_to_eof().starts_with(b"HTTP/"));
    // Half a hello, then the client goes away.
    let mut client = proxy.connect();
    client.send(&hello.record()[..20]);
    drop(client);
    // Half a hello, then silence until the handshake timeout.
    let mut stalled = proxy.connect();
    stalled.send(&hello.record()[..20]);
    assert!(stalled.read_to_eof().is_empty());

    let stats = wait_failures(&proxy, 7);
    assert_eq!(stats.handshake_failures(Why::UnknownName), 2, "{stats:?}");
    assert_eq!(stats.handshake_failures(Why::Protocol), 3, "{stats:?}");
    assert_eq!(stats.handshake_failures(Why::Closed), 1, "{stats:?}");
    assert_eq!(stats.handshake_failures(Why::Timeout), 1, "{stats:?}");
    // And none of it touched a good client.
    let mut tls = connect(
        proxy.addr,
        "example.org",
        client_config(rustls::ALL_VERSIONS),
    )
    .unwrap();
    assert_eq!(get(&mut tls, "example.org", "/fine").1, b"/fine");
    assert_eq!(proxy.server().stats().handshake_failures_total(), 7);
}
