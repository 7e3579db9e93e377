//! TLS termination over real sockets: a rustls client against a portier TLS
//! listener in front of a plaintext backend. Certificates are made with
//! rcgen for each test.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use rustls::pki_types::pem::PemObject;
use support::{
    certificate, client_config, connect, connect_any, get, presented_names, read_response, Backend,
    ProxyConfig, TempDir, TIMEOUT,
};

#[test]
fn https_request_keeps_alive_and_tells_the_backend_it_was_https() {
    let dir = TempDir::new("tls-basic");
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .listener(
            "tls",
            &certificate(&dir, "site", &["example.org", "*.example.org"]),
        )
        .start();
    let mut tls = connect_any(proxy.addr, "www.example.org");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(presented_names(&tls).contains("example.org"));
    for path in ["/one", "/two"] {
        let (head, body) = get(&mut tls, "www.example.org", path);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
        assert_eq!(body, path.as_bytes());
    }
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        1,
        "one pooled upstream connection"
    );
    let seen = String::from_utf8_lossy(&backend.all_bytes()).into_owned();
    assert_eq!(
        seen.matches("X-Forwarded-Proto: https\r\n").count(),
        2,
        "{seen}"
    );
    assert!(
        seen.contains("X-Forwarded-Host: www.example.org\r\n"),
        "{seen}"
    );
}

#[test]
fn tls12_client_is_served_under_the_default_policy() {
    let dir = TempDir::new("tls-12");
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &certificate(&dir, "site", &["example.org"]))
        .start();
    let mut tls = connect(
        proxy.addr,
        "example.org",
        client_config(&[&rustls::version::TLS12]),
    )
    .unwrap();
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    let (head, body) = get(&mut tls, "example.org", "/v12");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, b"/v12");
}

#[test]
fn large_bodies_cross_tls_both_ways() {
    let dir = TempDir::new("tls-large");
    // The backend answers with a body twice the size of the one it got.
    let backend = Backend::serve(|req| {
        let mut body = req.body.clone();
        body.extend_from_slice(&req.body);
        let mut out =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        out.extend_from_slice(&body);
        out
    });
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &certificate(&dir, "site", &["example.org"]))
        .start();
    let mut tls = connect_any(proxy.addr, "example.org");
    let body: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    write!(
        tls,
        "POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    tls.write_all(&body).unwrap();
    let (head, got) = read_response(&mut tls);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(got.len(), 2 << 20);
    assert!(
        got[..body.len()] == body[..] && got[body.len()..] == body[..],
        "body corrupted"
    );
}

#[test]
fn unknown_name_is_refused_with_unrecognized_name_when_asked_to_reject() {
    let dir = TempDir::new("tls-reject");
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &certificate(&dir, "site", &["example.org"]))
        .listener("default_certificate", "\"reject\"")
        .start();
    let err = connect(proxy.addr, "other.net", client_config(rustls::ALL_VERSIONS))
        .expect_err("the handshake must fail");
    let text = format!("{err:?}");
    assert!(
        text.contains("UnrecognisedName") || text.contains("UnrecognizedName"),
        "{text}"
    );
    // The known name still works.
    let mut tls = connect_any(proxy.addr, "example.org");
    assert_eq!(get(&mut tls, "example.org", "/ok").1, b"/ok");
    backend.settle();
    assert_eq!(
        backend.connection_count(),
        1,
        "the refused client reached no backend"
    );
}

#[test]
fn a_stalled_handshake_neither_blocks_others_nor_lives_past_its_timeout() {
    let dir = TempDir::new("tls-stall");
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &certificate(&dir, "site", &["example.org"]))
        .listener("tls_handshake_timeout", "\"300ms\"")
        .start();
    // Half a ClientHello, then silence.
    let mut stalled = TcpStream::connect(proxy.addr).unwrap();
    stalled.set_read_timeout(Some(TIMEOUT)).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    let mut tls = connect_any(proxy.addr, "example.org");
    assert_eq!(get(&mut tls, "example.org", "/other").1, b"/other");
    // The stalled one is closed by the handshake timeout (EOF or reset).
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "nothing is answered to a stalled handshake: {rest:?}"
    );
}

#[test]
fn hsts_by_default_on_tls_and_route_header_edits() {
    let dir = TempDir::new("tls-headers");
    let backend = Backend::serve(|_| {
        b"HTTP/1.1 200 OK\r\nServer: apache/2.4.1\r\nX-Powered-By: php\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let cert = certificate(&dir, "site", &["example.org", "plain.example.org"]);
    let route = "[[route]]\nhost = \"plain.example.org\"\nupstream = \"backend\"\nhsts = false\n\
                 response_headers = { set = { \"X-Frame-Options\" = \"DENY\", \"Referrer-Policy\" = \"no-referrer\" }, remove = [\"Server\", \"X-Powered-By\"] }\n";
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &cert)
        .tail(route)
        .start();
    let mut tls = connect_any(proxy.addr, "example.org");
    let (head, _) = get(&mut tls, "example.org", "/");
    assert!(
        head.contains("\r\nStrict-Transport-Security: max-age=63072000\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nServer: apache/2.4.1\r\n"), "{head}");
    let (head, body) = get(&mut tls, "plain.example.org", "/");
    assert_eq!(body, b"ok");
    assert!(!head.contains("Strict-Transport-Security"), "{head}");
    assert!(
        !head.contains("Server:") && !head.contains("X-Powered-By"),
        "{head}"
    );
    assert!(head.contains("\r\nX-Frame-Options: DENY\r\n"), "{head}");
    assert!(!head.contains("SAMEORIGIN"), "{head}");
    assert!(
        head.contains("\r\nReferrer-Policy: no-referrer\r\n"),
        "{head}"
    );
}

#[test]
fn redirect_routes_apply_to_plaintext_only_and_sni_picks_the_certificate() {
    let dir = TempDir::new("tls-sni");
    let backend = Backend::echo_target();
    let a = certificate(&dir, "a", &["a.example"]);
    let b = certificate(&dir, "b", &["*.b.example"]);
    let cert_table = |t: &str| {
        t.trim_start_matches('{')
            .trim_end_matches('}')
            .replace(", ", "\n")
    };
    let tail = format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[[listener.certificate]]\n{}\n[[listener.certificate]]\n{}\n\
         [[route]]\nhost = [\"a.example\", \"x.b.example\"]\nredirect = \"https\"\n\
         [[route]]\nhost = [\"a.example\", \"x.b.example\"]\nupstream = \"backend\"\n",
        cert_table(&a),
        cert_table(&b)
    );
    let proxy = ProxyConfig::new(backend.server()).tail(&tail).start();
    let tls_addr = proxy.server().listen_addrs()[1];
    // Plaintext: redirected.
    let mut plain = proxy.connect();
    plain.send(b"GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n");
    assert_eq!(
        plain.read_response().header("location"),
        Some("https://a.example/p")
    );
    // TLS: proxied, each name with its own certificate.
    let mut seen = Vec::new();
    for name in ["a.example", "x.b.example"] {
        let mut tls = connect_any(tls_addr, name);
        seen.push(tls.conn.peer_certificates().unwrap()[0].as_ref().to_vec());
        let (head, body) = get(&mut tls, name, "/q");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(body, b"/q");
    }
    assert_ne!(seen[0], seen[1], "SNI chose the certificate");
    for (name, pem) in [("a", &seen[0]), ("b", &seen[1])] {
        let file = std::fs::read_to_string(dir.path().join(format!("{name}.pem"))).unwrap();
        let der = rustls::pki_types::CertificateDer::from_pem_slice(file.as_bytes()).unwrap();
        assert_eq!(der.as_ref(), &pem[..], "certificate {name}");
    }
}

#[test]
fn check_loads_certificates_and_strict_refuses_expired_ones() {
    let dir = TempDir::new("tls-check");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["old.example".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("old.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("old.key"), key.serialize_pem()).unwrap();
    let write_config = |key_file: &str| {
        let path = dir.path().join("p.toml");
        let text = format!(
            "[[listener]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"old.pem\", key = \"{key_file}\" }}\n\
             [[upstream]]\nname = \"u\"\nservers = [\"127.0.0.1:9\"]\n[[route]]\nupstream = \"u\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let run = |args: &[&str], cfg: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portier"))
            .args(args)
            .arg(cfg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cfg = write_config("old.key");
    let (code, stderr) = run(&["check"], &cfg);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("has expired"), "{stderr}");
    let (code, stderr) = run(&["check", "--strict"], &cfg);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("old.pem has expired"), "{stderr}");
    let cfg = write_config("missing.key");
    let (code, stderr) = run(&["check"], &cfg);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("missing.key"), "{stderr}");
}

#[test]
fn a_response_head_of_many_fields_arrives_whole_over_tls() {
    // 45 fields, each followed by a hop-by-hop one portier drops, so the
    // head is 45+ separate pieces: more than portier hands rustls in one
    // vectored write.
    let dir = TempDir::new("tls-many-fields");
    let backend = Backend::serve(|_| {
        let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n");
        for i in 0..45 {
            head.push_str(&format!(
                "X-Field-{i}: value-{i}\r\nKeep-Alive: timeout=5\r\n"
            ));
        }
        head.push_str("\r\nbody");
        head.into_bytes()
    });
    let proxy = ProxyConfig::new(backend.server())
        .listener("tls", &certificate(&dir, "site", &["example.org"]))
        .start();
    let mut tls = connect_any(proxy.addr, "example.org");
    for _ in 0..2 {
        let (head, body) = get(&mut tls, "example.org", "/many");
        assert_eq!(body, b"body");
        let fields: Vec<&str> = head.lines().filter(|l| l.starts_with("X-Field-")).collect();
        assert_eq!(fields.len(), 45, "{head}");
        assert!(!head.contains("Keep-Alive"), "{head}");
        for (i, line) in fields.iter().enumerate() {
            assert_eq!(*line, format!("X-Field-{i}: value-{i}"));
        }
    }
}
