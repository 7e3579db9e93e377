use rustls::crypto::aws_lc_rs::{cipher_suite, default_provider};
use rustls::{AlertDescription, CipherSuite, HandshakeKind, ProtocolVersion};

use super::*;
use crate::tls::sni::DefaultCertificate;
use crate::tls::test_support::{self as support, Alg, Recorder};

fn resolver() -> Arc<SniResolver> {
    resolver_with(DefaultCertificate::Reject)
}

fn resolver_with(default: DefaultCertificate) -> Arc<SniResolver> {
    let certs = vec![
        support::loaded(&["site.example"], Alg::Ecdsa),
        support::loaded(&["site.example"], Alg::Rsa),
    ];
    Arc::new(SniResolver::new(certs, default).unwrap())
}

fn options(policy: TlsPolicy, session_tickets: bool) -> ServerOptions {
    ServerOptions {
        policy,
        session_tickets,
        ..ServerOptions::default()
    }
}

fn client_config(versions: &[&'static SupportedProtocolVersion]) -> Arc<rustls::ClientConfig> {
    Arc::new(support::client_config_with(
        Recorder::new(),
        default_provider(),
        versions,
    ))
}

/// One handshake to `site.example`; the server connection afterwards.
fn connect(
    server_config: &Arc<ServerConfig>,
    client_config: &Arc<rustls::ClientConfig>,
) -> Result<rustls::ServerConnection, Box<support::Failure>> {
    let mut client = support::client(client_config, "site.example");
    let mut server = support::server(server_config);
    support::handshake(&mut client, &mut server)?;
    assert_eq!(client.handshake_kind(), server.handshake_kind());
    Ok(server)
}

#[test]
fn defaults() {
    let opts = ServerOptions::default();
    assert_eq!(opts.policy, TlsPolicy::Intermediate);
    assert!(!opts.session_tickets);
    assert_eq!(opts.session_cache_size, 20_000);

    let config = server_config(resolver(), &opts).unwrap();
    assert!(config.ignore_client_order);
    assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    assert_eq!(config.max_early_data_size, 0);
    assert!(!config.ticketer.enabled());
    assert!(config.session_storage.can_cache());
}

#[test]
fn only_ecdhe_and_aead_suites_are_configured() {
    for policy in [TlsPolicy::Intermediate, TlsPolicy::Modern] {
        let config = server_config(resolver(), &options(policy, false)).unwrap();
        let provider = config.crypto_provider();
        let names: Vec<String> = provider
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        for suite in &provider.cipher_suites {
            let name = format!("{:?}", suite.suite());
            assert!(
                !name.contains("CBC") && !name.contains("SHA1") && !name.ends_with("_SHA"),
                "{name}"
            );
            assert!(
                name.contains("GCM") || name.contains("CHACHA20_POLY1305"),
                "{name}"
            );
            if suite.version() == &rustls::version::TLS12 {
                assert!(
                    name.starts_with("TLS_ECDHE_ECDSA_") || name.starts_with("TLS_ECDHE_RSA_"),
                    "{name}"
                );
            }
        }
        let tls13 = [
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_CHACHA20_POLY1305_SHA256",
        ];
        let tls12 = [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ];
        let expected: Vec<&str> = match policy {
            TlsPolicy::Intermediate => tls13.iter().chain(&tls12).copied().collect(),
            TlsPolicy::Modern => tls13.to_vec(),
        };
        assert_eq!(names, expected);

        let groups: Vec<String> = provider
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(
            groups,
            ["X25519MLKEM768", "X25519", "secp256r1", "secp384r1"]
        );
    }
}

#[test]
fn server_config_is_cheap_per_worker() {
    let r = resolver();
    let a = server_config(Arc::clone(&r), &ServerOptions::default()).unwrap();
    let b = server_config(r, &ServerOptions::default()).unwrap();
    assert!(Arc::ptr_eq(a.crypto_provider(), b.crypto_provider()));
}

#[test]
fn tls13_key_exchange_groups_and_http11() {
    let config = server_config(resolver(), &ServerOptions::default()).unwrap();
    // rustls takes the group in the client's order among the server's.
    for (client_groups, expected) in [
        (
            vec![kx_group::X25519MLKEM768, kx_group::X25519],
            rustls::NamedGroup::X25519MLKEM768,
        ),
        (vec![kx_group::X25519], rustls::NamedGroup::X25519),
        (vec![kx_group::SECP256R1], rustls::NamedGroup::secp256r1),
        (vec![kx_group::SECP384R1], rustls::NamedGroup::secp384r1),
    ] {
        let provider = rustls::crypto::CryptoProvider {
            kx_groups: client_groups,
            ..default_provider()
        };
        let client = Arc::new(support::client_config_with(
            Recorder::new(),
            provider,
            &[&rustls::version::TLS13],
        ));
        let server = connect(&config, &client).unwrap();
        assert_eq!(server.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        assert_eq!(server.alpn_protocol(), Some(&b"http/1.1"[..]));
        let group = server.negotiated_key_exchange_group().map(|g| g.name());
        assert_eq!(group, Some(expected));
    }

    // A group outside the policy is refused.
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: vec![kx_group::SECP256R1MLKEM768],
        ..default_provider()
    };
    let client = Arc::new(support::client_config_with(
        Recorder::new(),
        provider,
        &[&rustls::version::TLS13],
    ));
    let failure = connect(&config, &client).unwrap_err();
    assert!(
        matches!(failure.server, Some(rustls::Error::PeerIncompatible(_))),
        "{failure:?}"
    );
}

#[test]
fn client_without_http11_alpn_is_refused_and_without_alpn_accepted() {
    let config = server_config(resolver(), &ServerOptions::default()).unwrap();
    let mut h2_only = support::client_config(Recorder::new());
    h2_only.alpn_protocols = vec![b"h2".to_vec()];
    let failure = connect(&config, &Arc::new(h2_only)).unwrap_err();
    assert!(
        matches!(
            failure.client,
            Some(rustls::Error::AlertReceived(
                AlertDescription::NoApplicationProtocol
            ))
        ),
        "{failure:?}"
    );

    let mut no_alpn = support::client_config(Recorder::new());
    no_alpn.alpn_protocols.clear();
    let server = connect(&config, &Arc::new(no_alpn)).unwrap();
    assert_eq!(server.alpn_protocol(), None);
}

#[test]
fn tls12_under_intermediate_only() {
    let tls12 = client_config(&[&rustls::version::TLS12]);

    let config = server_config(resolver(), &options(TlsPolicy::Intermediate, false)).unwrap();
    let server = connect(&config, &tls12).unwrap();
    assert_eq!(server.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    let suite = server.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(suite, CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);

    let config = server_config(resolver(), &options(TlsPolicy::Modern, false)).unwrap();
    let failure = connect(&config, &tls12).unwrap_err();
    assert!(
        matches!(failure.server, Some(rustls::Error::PeerIncompatible(_))),
        "{failure:?}"
    );
    assert!(
        matches!(
            failure.client,
            Some(rustls::Error::AlertReceived(
                AlertDescription::ProtocolVersion
            ))
        ),
        "{failure:?}"
    );

    let server = connect(&config, &client_config(rustls::DEFAULT_VERSIONS)).unwrap();
    assert_eq!(server.protocol_version(), Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn server_order_wins_over_client_order() {
    let config = server_config(resolver(), &ServerOptions::default()).unwrap();
    for (versions, client_suites, expected) in [
        (
            &[&rustls::version::TLS13][..],
            vec![
                cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
                cipher_suite::TLS13_AES_256_GCM_SHA384,
                cipher_suite::TLS13_AES_128_GCM_SHA256,
            ],
            CipherSuite::TLS13_AES_128_GCM_SHA256,
        ),
        (
            &[&rustls::version::TLS12][..],
            vec![
                cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ],
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
    ] {
        let provider = rustls::crypto::CryptoProvider {
            cipher_suites: client_suites,
            ..default_provider()
        };
        let client = Arc::new(support::client_config_with(
            Recorder::new(),
            provider,
            versions,
        ));
        let server = connect(&config, &client).unwrap();
        assert_eq!(server.negotiated_cipher_suite().unwrap().suite(), expected);
    }
}

/// Two handshakes from one client (one client session store); the kind of
/// the second.
fn second_handshake(
    first: &Arc<ServerConfig>,
    second: &Arc<ServerConfig>,
    versions: &[&'static SupportedProtocolVersion],
) -> Option<HandshakeKind> {
    let client = client_config(versions);
    let server = connect(first, &client).unwrap();
    assert_eq!(server.handshake_kind(), Some(HandshakeKind::Full));
    connect(second, &client).unwrap().handshake_kind()
}

#[test]
fn resumption_from_the_session_cache_without_tickets() {
    let config = server_config(resolver(), &options(TlsPolicy::Intermediate, false)).unwrap();
    assert!(!config.ticketer.enabled());
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        assert_eq!(
            second_handshake(&config, &config, versions),
            Some(HandshakeKind::Resumed),
            "{versions:?}"
        );
    }
}

#[test]
fn resumption_with_tickets() {
    let opts = options(TlsPolicy::Intermediate, true);
    let config = server_config(resolver(), &opts).unwrap();
    assert!(config.ticketer.enabled());
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        assert_eq!(
            second_handshake(&config, &config, versions),
            Some(HandshakeKind::Resumed),
            "{versions:?}"
        );
    }

    // Tickets alone (no cache) are enough.
    let opts = ServerOptions {
        session_cache_size: 0,
        ..opts
    };
    let config = server_config(resolver(), &opts).unwrap();
    assert!(!config.session_storage.can_cache());
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        assert_eq!(
            second_handshake(&config, &config, versions),
            Some(HandshakeKind::Resumed),
            "{versions:?}"
        );
    }
}

#[test]
fn no_resumption_without_cache_and_tickets() {
    let opts = ServerOptions {
        session_cache_size: 0,
        ..ServerOptions::default()
    };
    let config = server_config(resolver(), &opts).unwrap();
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        assert_eq!(
            second_handshake(&config, &config, versions),
            Some(HandshakeKind::Full),
            "{versions:?}"
        );
    }
}

#[test]
fn resumption_across_workers_needs_shared_state() {
    for tickets in [false, true] {
        let opts = options(TlsPolicy::Intermediate, tickets);
        let r = resolver();
        // Each worker with its own state: a client moving to another worker
        // starts over.
        let worker_a = server_config(Arc::clone(&r), &opts).unwrap();
        let worker_b = server_config(Arc::clone(&r), &opts).unwrap();
        assert_eq!(
            second_handshake(&worker_a, &worker_b, rustls::DEFAULT_VERSIONS),
            Some(HandshakeKind::Full),
            "tickets {tickets}"
        );

        // Shared state: it resumes.
        let shared = SessionResumption::new(&opts).unwrap();
        let worker_a = server_config_with(Arc::clone(&r), &opts, &shared).unwrap();
        let worker_b = server_config_with(r, &opts, &shared).unwrap();
        assert_eq!(
            second_handshake(&worker_a, &worker_b, rustls::DEFAULT_VERSIONS),
            Some(HandshakeKind::Resumed),
            "tickets {tickets}"
        );
    }
}

/// A hand-made ClientHello record: what rustls's client cannot send (TLS 1.1,
/// CBC suites). Groups x25519; signatures ecdsa_secp256r1_sha256 and
/// rsa_pss_rsae_sha256; no SNI.
fn raw_client_hello(version: [u8; 2], suites: &[u16]) -> Vec<u8> {
    fn u16_be(n: usize) -> [u8; 2] {
        u16::try_from(n).unwrap().to_be_bytes()
    }
    let mut extensions = Vec::new();
    for (kind, data) in [
        (0x000a_u16, &[0x00, 0x02, 0x00, 0x1d][..]),
        (0x000b, &[0x01, 0x00][..]),
        (0x000d, &[0x00, 0x04, 0x04, 0x03, 0x08, 0x04][..]),
    ] {
        extensions.extend(kind.to_be_bytes());
        extensions.extend(u16_be(data.len()));
        extensions.extend(data);
    }
    let mut body = Vec::new();
    body.extend(version);
    body.extend([0x42; 32]);
    body.push(0);
    body.extend(u16_be(suites.len() * 2));
    for suite in suites {
        body.extend(suite.to_be_bytes());
    }
    body.extend([0x01, 0x00]);
    body.extend(u16_be(extensions.len()));
    body.extend(extensions);

    let mut handshake = vec![0x01, 0x00];
    handshake.extend(u16_be(body.len()));
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16_be(handshake.len()));
    record.extend(handshake);
    record
}

/// Feeds one raw ClientHello; returns the server's error and what it sent.
fn refuse(config: &Arc<ServerConfig>, hello: &[u8]) -> (rustls::Error, Vec<u8>) {
    let mut server = support::server(config);
    let mut input = hello;
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    let err = server.process_new_packets().unwrap_err();
    let mut out = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut out).unwrap();
    }
    (err, out)
}

#[test]
fn tls11_and_cbc_clients_are_refused() {
    let resolver = resolver_with(DefaultCertificate::Named(0));
    let intermediate = server_config(resolver, &ServerOptions::default()).unwrap();
    const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
    const ECDHE_ECDSA_AES128_CBC_SHA: u16 = 0xc009;
    const ECDHE_RSA_AES128_CBC_SHA: u16 = 0xc013;
    const ECDHE_RSA_AES128_CBC_SHA256: u16 = 0xc027;
    const RSA_AES128_GCM: u16 = 0x009c;
    const FATAL_PROTOCOL_VERSION: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];
    const FATAL_HANDSHAKE_FAILURE: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40];

    // The hand-made hello is good enough to be accepted as TLS 1.2.
    let mut server = support::server(&intermediate);
    let hello = raw_client_hello([3, 3], &[ECDHE_ECDSA_AES128_GCM]);
    server.read_tls(&mut &hello[..]).unwrap();
    server.process_new_packets().unwrap();
    assert_eq!(server.protocol_version(), Some(ProtocolVersion::TLSv1_2));

    let (err, sent) = refuse(
        &intermediate,
        &raw_client_hello([3, 2], &[ECDHE_ECDSA_AES128_GCM]),
    );
    assert!(matches!(err, rustls::Error::PeerIncompatible(_)), "{err:?}");
    assert_eq!(sent, FATAL_PROTOCOL_VERSION);

    for suites in [
        &[
            ECDHE_ECDSA_AES128_CBC_SHA,
            ECDHE_RSA_AES128_CBC_SHA,
            ECDHE_RSA_AES128_CBC_SHA256,
        ][..],
        &[RSA_AES128_GCM][..],
    ] {
        let (err, sent) = refuse(&intermediate, &raw_client_hello([3, 3], suites));
        assert!(matches!(err, rustls::Error::PeerIncompatible(_)), "{err:?}");
        assert_eq!(sent, FATAL_HANDSHAKE_FAILURE, "{suites:x?}");
    }
}
