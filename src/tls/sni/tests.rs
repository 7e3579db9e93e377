use rustls::{AlertDescription, ClientConfig};

use super::*;
use crate::tls::policy::{server_config, ServerOptions};
use crate::tls::test_support::{self as support, Alg, Recorder};

fn resolver(certs: Vec<LoadedCertificate>, default: DefaultCertificate) -> Arc<SniResolver> {
    Arc::new(SniResolver::new(certs, default).unwrap())
}

/// Handshakes with `sni` (or without SNI) and returns the end-entity
/// certificate the client was shown.
fn presented(
    resolver: &Arc<SniResolver>,
    client_config: ClientConfig,
    recorder: &Recorder,
    sni: Option<&str>,
) -> rustls_pki_types::CertificateDer<'static> {
    let config = server_config(Arc::clone(resolver), &ServerOptions::default()).unwrap();
    let mut client_config = client_config;
    client_config.enable_sni = sni.is_some();
    let client_config = Arc::new(client_config);
    let mut client = support::client(&client_config, sni.unwrap_or("no-sni.invalid"));
    let mut server = support::server(&config);
    support::handshake(&mut client, &mut server).unwrap();
    assert_eq!(
        server.server_name(),
        sni.map(str::to_ascii_lowercase).as_deref()
    );
    recorder.seen().cert.unwrap()
}

fn shown(
    resolver: &Arc<SniResolver>,
    sni: Option<&str>,
) -> rustls_pki_types::CertificateDer<'static> {
    let recorder = Recorder::new();
    presented(
        resolver,
        support::client_config(recorder.clone()),
        &recorder,
        sni,
    )
}

fn leaf(cert: &LoadedCertificate) -> rustls_pki_types::CertificateDer<'static> {
    cert.key.cert[0].clone()
}

#[test]
fn exact_and_wildcard_names() {
    let apex = support::loaded(&["example.org"], Alg::Ecdsa);
    let wild = support::loaded(&["*.example.org"], Alg::Ecdsa);
    let exact = support::loaded(&["a.example.org", "other.test"], Alg::Ecdsa);
    let r = resolver(
        vec![apex.clone(), wild.clone(), exact.clone()],
        DefaultCertificate::Reject,
    );

    assert_eq!(r.lookup("example.org"), Some(&[0][..]));
    assert_eq!(r.lookup("b.example.org"), Some(&[1][..]));
    assert_eq!(
        r.lookup("a.example.org"),
        Some(&[2][..]),
        "exact beats wildcard"
    );
    assert_eq!(r.lookup("other.test"), Some(&[2][..]));
    assert_eq!(
        r.lookup("x.y.example.org"),
        None,
        "wildcard covers one label"
    );
    assert_eq!(r.lookup(".example.org"), None);
    assert_eq!(r.lookup("B.Example.ORG"), Some(&[1][..]));
    assert_eq!(r.lookup("EXAMPLE.org."), Some(&[0][..]));
    assert_eq!(r.lookup("unknown.test"), None);

    assert_eq!(shown(&r, Some("example.org")), leaf(&apex));
    assert_eq!(shown(&r, Some("b.example.org")), leaf(&wild));
    assert_eq!(shown(&r, Some("a.example.org")), leaf(&exact));
    assert_eq!(shown(&r, Some("A.Example.Org")), leaf(&exact));
    assert_eq!(shown(&r, Some("Zz.EXAMPLE.org")), leaf(&wild));
}

#[test]
fn wildcard_alone_does_not_cover_apex_or_two_labels() {
    let wild = support::loaded(&["*.example.org"], Alg::Ecdsa);
    let r = resolver(vec![wild], DefaultCertificate::Reject);
    assert!(r.lookup("a.example.org").is_some());
    assert!(r.rejects(Some("example.org")));
    assert!(r.rejects(Some("a.b.example.org")));
    assert!(r.rejects(None));
    assert!(!r.rejects(Some("A.EXAMPLE.ORG")));
}

#[test]
fn unusual_wildcards_are_not_indexed() {
    let odd = support::loaded(&["*.org", "a*.example.org", "*.*.example.org"], Alg::Ecdsa);
    let r = resolver(vec![odd], DefaultCertificate::Reject);
    for name in [
        "example.org",
        "ab.example.org",
        "a.b.example.org",
        "a.*.example.org",
    ] {
        assert_eq!(r.lookup(name), None, "{name}");
    }
}

const RSA_ONLY: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
];

#[test]
fn rsa_and_ecdsa_for_one_name_follow_the_client() {
    let rsa = support::loaded(&["shop.example", "*.shop.example"], Alg::Rsa);
    let ecdsa = support::loaded(&["shop.example", "*.shop.example"], Alg::Ecdsa);
    // RSA listed first: preference still goes to ECDSA.
    let r = resolver(vec![rsa.clone(), ecdsa.clone()], DefaultCertificate::Reject);
    assert_eq!(r.lookup("shop.example"), Some(&[1, 0][..]));

    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        for sni in ["shop.example", "www.shop.example"] {
            let recorder = Recorder::new();
            let config = support::client_config_with(
                recorder.clone(),
                rustls::crypto::aws_lc_rs::default_provider(),
                versions,
            );
            assert_eq!(presented(&r, config, &recorder, Some(sni)), leaf(&ecdsa));

            let recorder = Recorder::with_schemes(RSA_ONLY.to_vec());
            let config = support::client_config_with(
                recorder.clone(),
                rustls::crypto::aws_lc_rs::default_provider(),
                versions,
            );
            assert_eq!(presented(&r, config, &recorder, Some(sni)), leaf(&rsa));
        }
    }
}

#[test]
fn tls12_client_with_only_rsa_suites_gets_rsa() {
    use rustls::crypto::aws_lc_rs::cipher_suite;
    let rsa = support::loaded(&["shop.example"], Alg::Rsa);
    let ecdsa = support::loaded(&["shop.example"], Alg::Ecdsa);
    let r = resolver(vec![ecdsa, rsa.clone()], DefaultCertificate::Reject);
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let recorder = Recorder::new();
    let config =
        support::client_config_with(recorder.clone(), provider, &[&rustls::version::TLS12]);
    assert_eq!(
        presented(&r, config, &recorder, Some("shop.example")),
        leaf(&rsa)
    );
}

#[test]
fn unknown_or_missing_sni_gets_the_self_signed_default() {
    let site = support::loaded(&["site.example"], Alg::Ecdsa);
    let r = resolver(vec![site.clone()], DefaultCertificate::SelfSigned);
    let generated = r.certificates().last().unwrap().clone();
    assert_eq!(r.certificates().len(), 2);
    assert_eq!(generated.names, [SELF_SIGNED_NAME]);
    assert_eq!(generated.algorithm, KeyAlgorithm::Ecdsa);

    assert_eq!(shown(&r, Some("site.example")), leaf(&site));
    assert_eq!(shown(&r, Some("unknown.example")), leaf(&generated));
    assert_eq!(shown(&r, None), leaf(&generated));
    // The same certificate every time: generated once.
    assert_eq!(shown(&r, Some("other.example")), leaf(&generated));
    assert!(!r.rejects(None));
    assert!(!r.rejects(Some("unknown.example")));
}

#[test]
fn unknown_or_missing_sni_gets_the_named_default() {
    let a = support::loaded(&["a.example"], Alg::Ecdsa);
    let b = support::loaded(&["b.example"], Alg::Ecdsa);
    let r = resolver(vec![a.clone(), b.clone()], DefaultCertificate::Named(1));
    assert_eq!(r.certificates().len(), 2);
    assert_eq!(shown(&r, Some("a.example")), leaf(&a));
    assert_eq!(shown(&r, Some("unknown.example")), leaf(&b));
    assert_eq!(shown(&r, None), leaf(&b));

    let err = SniResolver::new(vec![a], DefaultCertificate::Named(1)).unwrap_err();
    assert!(
        matches!(err, CertError::NoSuchDefault { index: 1, count: 1 }),
        "{err}"
    );
}

/// Handshake with `sni` against a rejecting resolver; returns the errors of
/// the server and of the client. With `unrecognized_name`, the server side
/// replaces rustls's alert the way the TLS stream is meant to.
fn rejected(
    r: &Arc<SniResolver>,
    sni: Option<&str>,
    unrecognized_name: bool,
) -> Box<support::Failure> {
    let config = server_config(Arc::clone(r), &ServerOptions::default()).unwrap();
    let mut client_config = support::client_config(Recorder::new());
    client_config.enable_sni = sni.is_some();
    let client_config = Arc::new(client_config);
    let mut client = support::client(&client_config, sni.unwrap_or("no-sni.invalid"));
    let mut server = support::server(&config);
    let failure = support::handshake_with(&mut client, &mut server, |server| {
        (unrecognized_name && server.is_handshaking() && r.rejects(server.server_name()))
            .then(|| UNRECOGNIZED_NAME_ALERT.to_vec())
    })
    .unwrap_err();
    // The stream can tell which name was refused: rustls records the SNI
    // before it asks the resolver.
    assert_eq!(server.server_name(), sni);
    failure
}

#[test]
fn reject_aborts_the_handshake() {
    let a = support::loaded(&["a.example"], Alg::Ecdsa);
    let r = resolver(vec![a.clone()], DefaultCertificate::Reject);
    assert_eq!(shown(&r, Some("a.example")), leaf(&a));

    for sni in [Some("unknown.example"), None] {
        // What rustls sends by itself: access_denied.
        let failure = rejected(&r, sni, false);
        assert!(
            matches!(&failure.server, Some(rustls::Error::General(m)) if m.contains("no server certificate")),
            "{failure:?}"
        );
        assert!(
            matches!(
                failure.client,
                Some(rustls::Error::AlertReceived(AlertDescription::AccessDenied))
            ),
            "{failure:?}"
        );

        // With the stream sending UNRECOGNIZED_NAME_ALERT instead.
        let failure = rejected(&r, sni, true);
        assert!(
            matches!(
                failure.client,
                Some(rustls::Error::AlertReceived(
                    AlertDescription::UnrecognisedName
                ))
            ),
            "{failure:?}"
        );
    }
}

#[test]
fn debug_output_is_short() {
    let r = resolver(
        vec![support::loaded(&["a.example"], Alg::Ecdsa)],
        DefaultCertificate::Reject,
    );
    let text = format!("{r:?}");
    assert!(
        text.contains("a.example") && text.contains("Reject"),
        "{text}"
    );
    assert!(text.len() < 400, "{text}");
}
