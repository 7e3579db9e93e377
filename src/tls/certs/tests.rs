use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::tls::policy::{server_config, ServerOptions};
use crate::tls::sni::{DefaultCertificate, SniResolver};
use crate::tls::test_support::{self as support, Alg, TempDir};

fn unix(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
fn loads_names_algorithm_and_expiry() {
    let dir = TempDir::new("ok");
    let mut params = support::params(&["WWW.Example.org", "*.example.org", "www.example.org"]);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let generated = support::generate_from(params, Alg::Ecdsa);
    let files = support::write(&dir, "site", &generated);

    let cert = load(&files).unwrap();

    assert_eq!(cert.names, ["www.example.org", "*.example.org"]);
    assert_eq!(cert.algorithm, KeyAlgorithm::Ecdsa);
    // 2035-01-01T00:00:00Z
    assert_eq!(cert.not_after, unix(2_051_222_400));
    assert!(!cert.expired_at(unix(2_051_222_400)));
    assert!(cert.expired_at(unix(2_051_222_401)));
    assert_eq!(cert.key.cert, [generated.der]);
    assert!(cert.key.ocsp.is_none());
}

#[test]
fn loads_rsa_and_ed25519_keys() {
    assert_eq!(
        support::loaded(&["rsa.example"], Alg::Rsa).algorithm,
        KeyAlgorithm::Rsa
    );
    assert_eq!(
        support::loaded(&["ed.example"], Alg::Ed25519).algorithm,
        KeyAlgorithm::Ed25519
    );
}

#[test]
fn loads_a_chain_and_an_expired_certificate() {
    let dir = TempDir::new("chain");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = support::params(&[]);
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);

    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf_params = support::params(&["old.example"]);
    leaf_params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    leaf_params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let files = CertificateFiles {
        cert: dir.write("chain.pem", leaf.pem() + &ca_cert.pem()),
        key: dir.write("leaf.key", leaf_key.serialize_pem()),
        ocsp: None,
    };
    let cert = load(&files).unwrap();
    assert_eq!(cert.key.cert.len(), 2);
    assert!(cert.expired_at(SystemTime::now()));
}

#[test]
fn key_and_certificate_may_share_one_file() {
    let dir = TempDir::new("combined");
    let generated = support::generate(&["both.example"], Alg::Ecdsa);
    let both = dir.write("both.pem", generated.key_pem + &generated.cert_pem);
    let cert = load(&CertificateFiles {
        cert: both.clone(),
        key: both,
        ocsp: None,
    })
    .unwrap();
    assert_eq!(cert.names, ["both.example"]);
}

#[test]
fn missing_files_are_named() {
    let dir = TempDir::new("missing");
    let generated = support::generate(&["a.example"], Alg::Ecdsa);
    let mut files = support::write(&dir, "a", &generated);

    let missing_key = dir.path().join("nope.key");
    files.key = missing_key.clone();
    let err = load(&files).unwrap_err();
    assert!(matches!(&err, CertError::Missing { path } if *path == missing_key));
    assert!(
        err.to_string().contains("nope.key: file not found"),
        "{err}"
    );

    files.cert = dir.path().join("nope.crt");
    let err = load(&files).unwrap_err();
    assert!(
        err.to_string().contains("nope.crt: file not found"),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_named() {
    let dir = TempDir::new("unreadable");
    let files = CertificateFiles {
        cert: dir.path().to_path_buf(),
        key: dir.path().to_path_buf(),
        ocsp: None,
    };
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn garbage_pem_is_refused() {
    let dir = TempDir::new("garbage");
    let key = support::generate(&["a.example"], Alg::Ecdsa).key_pem;
    let files = CertificateFiles {
        cert: dir.write("garbage.crt", "this is not a certificate\n"),
        key: dir.write("a.key", &key),
        ocsp: None,
    };
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate { .. }), "{err}");
    assert!(err.to_string().contains("garbage.crt"), "{err}");

    let files = CertificateFiles {
        cert: dir.write(
            "broken.crt",
            "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
        ),
        ..files
    };
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::Pem { .. }), "{err}");
    assert!(err.to_string().contains("broken.crt: invalid PEM"), "{err}");

    let files = CertificateFiles {
        cert: dir.write(
            "notx509.crt",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        ),
        ..files
    };
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::InvalidCertificate { .. }), "{err}");
}

#[test]
fn key_of_another_certificate_is_a_mismatch() {
    let dir = TempDir::new("mismatch");
    let a = support::write(&dir, "a", &support::generate(&["a.example"], Alg::Ecdsa));
    let b = support::write(&dir, "b", &support::generate(&["b.example"], Alg::Ecdsa));
    let files = CertificateFiles {
        key: b.key.clone(),
        ..a
    };
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("b.key") && message.contains("a.crt"),
        "{message}"
    );

    // Another algorithm altogether is a mismatch too.
    let rsa = support::write(&dir, "rsa", &support::generate(&["r.example"], Alg::Rsa));
    let files = CertificateFiles {
        key: rsa.key,
        ..support::write(&dir, "a", &support::generate(&["a.example"], Alg::Ecdsa))
    };
    assert!(matches!(load(&files), Err(CertError::KeyMismatch { .. })));
}

#[test]
fn missing_or_unsupported_key_is_refused() {
    let dir = TempDir::new("nokey");
    let generated = support::generate(&["a.example"], Alg::Ecdsa);
    let mut files = support::write(&dir, "a", &generated);

    files.key = dir.write("cert-only.key", &generated.cert_pem);
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::NoPrivateKey { .. }), "{err}");
    assert!(
        err.to_string().contains("cert-only.key: no private key"),
        "{err}"
    );

    files.key = dir.write(
        "encrypted.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8=\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    assert!(matches!(load(&files), Err(CertError::NoPrivateKey { .. })));

    files.key = dir.write(
        "bogus.key",
        "-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----\n",
    );
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::UnsupportedKey { .. }), "{err}");
    assert!(err.to_string().contains("bogus.key"), "{err}");
}

#[test]
fn certificate_without_dns_names_is_refused() {
    let dir = TempDir::new("nodns");
    let mut params = support::params(&[]);
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([192, 0, 2, 1].into()));
    let files = support::write(&dir, "ip", &support::generate_from(params, Alg::Ecdsa));
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::NoDnsNames { .. }), "{err}");
    assert!(err.to_string().contains("ip.crt"), "{err}");
}

/// A structurally valid, successful OCSPResponse (its content is not checked
/// by portier nor by the recording client).
const FAKE_OCSP: &[u8] = &[
    0x30, 0x0c, // OCSPResponse
    0x0a, 0x01, 0x00, // successful
    0xa0, 0x07, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x06, 0x01, // [0] ResponseBytes (truncated OID)
];

#[test]
fn ocsp_file_is_checked() {
    let dir = TempDir::new("ocsp");
    let mut files = support::write(&dir, "a", &support::generate(&["a.example"], Alg::Ecdsa));

    files.ocsp = Some(dir.write("good.der", FAKE_OCSP));
    assert_eq!(load(&files).unwrap().key.ocsp.as_deref(), Some(FAKE_OCSP));

    for (name, bytes, expected) in [
        ("pem.der", b"-----BEGIN OCSP-----".as_slice(), "not a DER"),
        (
            "unauthorized.der",
            &[0x30, 0x03, 0x0a, 0x01, 0x06],
            "unauthorized (6)",
        ),
        ("empty.der", &[], "not a DER"),
        ("short.der", &[0x30, 0x10, 0x0a], "truncated"),
        (
            "trailing.der",
            &[0x30, 0x03, 0x0a, 0x01, 0x00, 0x00],
            "unexpected bytes",
        ),
        ("nobytes.der", &[0x30, 0x03, 0x0a, 0x01, 0x00], "truncated"),
    ] {
        files.ocsp = Some(dir.write(name, bytes));
        let err = load(&files).unwrap_err();
        assert!(
            matches!(err, CertError::InvalidOcsp { .. }),
            "{name}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(name) && message.contains(expected),
            "{message}"
        );
    }

    files.ocsp = Some(dir.path().join("absent.der"));
    assert!(matches!(load(&files), Err(CertError::Missing { .. })));
}

#[test]
fn ocsp_staple_reaches_a_client_that_asks() {
    let dir = TempDir::new("staple");
    let mut files = support::write(&dir, "a", &support::generate(&["a.example"], Alg::Ecdsa));
    files.ocsp = Some(dir.write("a.der", FAKE_OCSP));
    let resolver =
        SniResolver::new(vec![load(&files).unwrap()], DefaultCertificate::Reject).unwrap();
    let config = server_config(Arc::new(resolver), &ServerOptions::default()).unwrap();

    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let recorder = support::Recorder::new();
        let client_config = Arc::new(support::client_config_with(
            recorder.clone(),
            rustls::crypto::aws_lc_rs::default_provider(),
            versions,
        ));
        let mut client = support::client(&client_config, "a.example");
        let mut server = support::server(&config);
        support::handshake(&mut client, &mut server).unwrap();
        assert_eq!(recorder.seen().ocsp, FAKE_OCSP, "{versions:?}");
    }
}

#[test]
fn self_signed_is_ecdsa_for_the_names() {
    let cert = self_signed(&["localhost", "Other.Example"]).unwrap();
    assert_eq!(cert.algorithm, KeyAlgorithm::Ecdsa);
    assert_eq!(cert.names, ["localhost", "other.example"]);
    assert!(!cert.expired_at(SystemTime::now()));
    assert!(matches!(
        self_signed(&[]),
        Err(CertError::NoDnsNames { .. })
    ));
}

#[test]
fn der_lengths_are_bounded() {
    assert!(der_element(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_err());
    assert!(der_element(&[0x30, 0x80]).is_err());
    assert!(der_element(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    let long = [&[0x04, 0x81, 0x80][..], &[7; 0x80]].concat();
    let (tag, body, rest) = der_element(&long).unwrap();
    assert_eq!((tag, body.len(), rest.len()), (0x04, 0x80, 0));
}
