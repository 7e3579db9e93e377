//! TLS clients for the integration tests: a rustls client that accepts any
//! server certificate and records what it was shown ([`AcceptAny`]),
//! connecting and HTTP helpers over it ([`Tls`]), certificates made with
//! rcgen ([`TestCert`]), and hand-built ClientHello records ([`RawHello`])
//! for what rustls's client cannot send (TLS 1.1, CBC suites).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned,
    SupportedProtocolVersion,
};
use x509_parser::extensions::GeneralName;
use x509_parser::public_key::PublicKey;

use super::{TempDir, TIMEOUT};

/// What the client's verifier was shown in the last full handshake.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The end-entity certificate (`None`: the verifier was not called).
    pub cert: Option<Vec<u8>>,
    /// The stapled OCSP response (empty: nothing stapled).
    pub ocsp: Vec<u8>,
}

/// Accepts any certificate and records it and the OCSP staple; advertises
/// only `schemes` in the ClientHello's signature_algorithms.
#[derive(Debug)]
pub struct AcceptAny {
    provider: Arc<CryptoProvider>,
    schemes: Vec<SignatureScheme>,
    seen: Mutex<Seen>,
}

impl AcceptAny {
    /// Every signature scheme aws-lc-rs verifies.
    pub fn new() -> Arc<Self> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        Self::with_schemes(&schemes)
    }

    pub fn with_schemes(schemes: &[SignatureScheme]) -> Arc<Self> {
        Arc::new(AcceptAny {
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            schemes: schemes.to_vec(),
            seen: Mutex::new(Seen::default()),
        })
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        ocsp_response: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Seen {
            cert: Some(end_entity.as_ref().to_vec()),
            ocsp: ocsp_response.to_vec(),
        };
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// A client config (ALPN http/1.1) offering `versions`, trusting anything.
pub fn client_config(versions: &[&'static SupportedProtocolVersion]) -> Arc<ClientConfig> {
    client_config_with(AcceptAny::new(), versions)
}

/// Like [`client_config`], with `verifier` (to see what the server showed,
/// or to advertise fewer signature schemes).
pub fn client_config_with(
    verifier: Arc<AcceptAny>,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Connects and completes the handshake with SNI `sni`.
pub fn connect(addr: SocketAddr, sni: &str, config: Arc<ClientConfig>) -> std::io::Result<Tls> {
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    connect_as(addr, name, config)
}

/// Connects and completes the handshake for `name`; an IP address makes
/// rustls send no SNI at all.
pub fn connect_as(
    addr: SocketAddr,
    name: ServerName<'static>,
    config: Arc<ClientConfig>,
) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    let conn = ClientConnection::new(config, name).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// Reads one response with a Content-Length body: (head, body).
pub fn read_response(tls: &mut Tls) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut chunk).expect("response bytes");
        assert!(
            n > 0,
            "EOF before the response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = tls.read(&mut chunk).expect("body bytes");
        assert!(n > 0, "EOF inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    (head, body)
}

/// Sends `GET path` for `host` on `tls` and reads the response.
pub fn get(tls: &mut Tls, host: &str, path: &str) -> (String, Vec<u8>) {
    write!(tls, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    read_response(tls)
}

/// A fresh TLS connection with every protocol version offered.
pub fn connect_any(addr: SocketAddr, sni: &str) -> Tls {
    connect(addr, sni, client_config(rustls::ALL_VERSIONS)).unwrap()
}

/// The end-entity certificate the handshake presented, DER.
pub fn peer_leaf(tls: &Tls) -> Vec<u8> {
    let certs = tls.conn.peer_certificates().expect("a certificate");
    certs[0].as_ref().to_vec()
}

/// The presented certificate's bytes as text (its names are readable in it).
pub fn presented_names(tls: &Tls) -> String {
    String::from_utf8_lossy(&peer_leaf(tls)).into_owned()
}

/// The key type of a certificate's subject public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256.
    Ecdsa,
    /// RSA 2048.
    Rsa,
}

/// A certificate and key written to a directory, and how a listener names
/// them in TOML.
#[derive(Debug, Clone)]
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ocsp: Option<PathBuf>,
    /// The certificate's `name` (for `default_certificate`).
    pub name: Option<String>,
    /// The end-entity certificate, DER.
    pub der: Vec<u8>,
}

impl TestCert {
    /// A self-signed certificate for `names`, written to `dir` as
    /// `<tag>.pem` and `<tag>.key`.
    pub fn generate(dir: &TempDir, tag: &str, names: &[&str], key_type: KeyType) -> TestCert {
        let key = match key_type {
            KeyType::Ecdsa => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::Rsa => rcgen::KeyPair::from_pem(rsa_key_pem()),
        }
        .unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_path = dir.join(&format!("{tag}.pem"));
        let key_path = dir.join(&format!("{tag}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        TestCert {
            cert: cert_path,
            key: key_path,
            ocsp: None,
            name: None,
            der: cert.der().to_vec(),
        }
    }

    /// Staples the DER OCSP response in `path`.
    pub fn with_ocsp(mut self, path: PathBuf) -> TestCert {
        self.ocsp = Some(path);
        self
    }

    pub fn named(mut self, name: &str) -> TestCert {
        self.name = Some(name.to_owned());
        self
    }

    fn keys(&self) -> Vec<String> {
        let mut keys = vec![
            format!("cert = \"{}\"", self.cert.display()),
            format!("key = \"{}\"", self.key.display()),
        ];
        if let Some(ocsp) = &self.ocsp {
            keys.push(format!("ocsp = \"{}\"", ocsp.display()));
        }
        if let Some(name) = &self.name {
            keys.push(format!("name = \"{name}\""));
        }
        keys
    }

    /// Asserts that `leaf` (DER) is this certificate; the message says
    /// which one it was instead.
    pub fn assert_is(&self, leaf: &[u8], what: &str) {
        assert!(
            leaf == self.der,
            "{what}: expected {} ({:?}, {:?}), got a certificate for {:?} ({:?})",
            self.cert.display(),
            dns_names(&self.der),
            key_type(&self.der),
            dns_names(leaf),
            key_type(leaf)
        );
    }

    /// The inline table for `tls = ...`.
    pub fn inline(&self) -> String {
        format!("{{ {} }}", self.keys().join(", "))
    }

    /// A `[[listener.certificate]]` table.
    pub fn table(&self) -> String {
        format!("[[listener.certificate]]\n{}\n", self.keys().join("\n"))
    }
}

/// RSA key generation is slow in a debug build: one key per test binary.
fn rsa_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .unwrap()
            .serialize_pem()
    })
}

/// An ECDSA certificate for `names`, written to `dir`; returns the TOML
/// inline table for `tls = ...`.
pub fn certificate(dir: &TempDir, tag: &str, names: &[&str]) -> String {
    TestCert::generate(dir, tag, names, KeyType::Ecdsa).inline()
}

/// A TLS listener on 127.0.0.1 port 0 as raw TOML (for
/// [`ProxyConfig::tail`](super::ProxyConfig::tail); it is then the second
/// listener): `keys` are `key = value` lines, then one table per certificate.
pub fn tls_listener(keys: &[&str], certs: &[&TestCert]) -> String {
    let mut t = String::from("\n[[listener]]\naddress = \"127.0.0.1:0\"\n");
    for key in keys {
        t.push_str(key);
        t.push('\n');
    }
    for cert in certs {
        t.push_str(&cert.table());
    }
    t
}

/// The subject public key type of a DER certificate.
pub fn key_type(der: &[u8]) -> KeyType {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a DER certificate");
    match cert.public_key().parsed().expect("a public key") {
        PublicKey::RSA(_) => KeyType::Rsa,
        PublicKey::EC(_) => KeyType::Ecdsa,
        other => panic!("unexpected key type {other:?}"),
    }
}

/// The DNS subjectAltNames of a DER certificate.
pub fn dns_names(der: &[u8]) -> Vec<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a DER certificate");
    let san = cert.subject_alternative_name().expect("a valid SAN");
    san.map(|ext| {
        ext.value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(name) => Some(name.to_string()),
                _ => None,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// A hand-built ClientHello: legacy `version`, cipher `suites`, no session
/// id, null compression; extensions supported_groups (x25519),
/// ec_point_formats (uncompressed), signature_algorithms
/// (ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256) and, when `sni` is set,
/// server_name. No supported_versions extension: the version is `version`.
#[derive(Debug, Clone)]
pub struct RawHello {
    pub version: [u8; 2],
    pub suites: Vec<u16>,
    pub sni: Option<String>,
}

/// Appends `body` to `out` behind its length in `width` big-endian bytes.
fn put_with_len(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    assert!(
        body.len() < 1 << (8 * width),
        "too long for its length field"
    );
    out.extend_from_slice(&len[4 - width..]);
    out.extend_from_slice(body);
}

impl RawHello {
    pub fn new(version: [u8; 2], suites: &[u16]) -> RawHello {
        RawHello {
            version,
            suites: suites.to_vec(),
            sni: None,
        }
    }

    /// The complete TLS record (legacy record version 3,1).
    pub fn record(&self) -> Vec<u8> {
        let mut extensions: Vec<(u16, Vec<u8>)> = vec![
            (0x000a, vec![0x00, 0x02, 0x00, 0x1d]),
            (0x000b, vec![0x01, 0x00]),
            (0x000d, vec![0x00, 0x04, 0x04, 0x03, 0x08, 0x04]),
        ];
        if let Some(name) = &self.sni {
            let mut entry = vec![0x00];
            put_with_len(&mut entry, 2, name.as_bytes());
            let mut list = Vec::new();
            put_with_len(&mut list, 2, &entry);
            extensions.push((0x0000, list));
        }
        let mut ext_bytes = Vec::new();
        for (kind, data) in &extensions {
            ext_bytes.extend_from_slice(&kind.to_be_bytes());
            put_with_len(&mut ext_bytes, 2, data);
        }
        let suites: Vec<u8> = self.suites.iter().flat_map(|s| s.to_be_bytes()).collect();

        let mut hello = self.version.to_vec();
        hello.extend_from_slice(&[0x5a; 32]); // random
        put_with_len(&mut hello, 1, &[]); // session id
        put_with_len(&mut hello, 2, &suites);
        put_with_len(&mut hello, 1, &[0x00]); // compression: null
        put_with_len(&mut hello, 2, &ext_bytes);

        let mut handshake = vec![0x01]; // client_hello
        put_with_len(&mut handshake, 3, &hello);
        let mut record = vec![0x16, 0x03, 0x01];
        put_with_len(&mut record, 2, &handshake);
        record
    }
}

/// The TLS record of a fatal alert with `description`, unencrypted, as
/// rustls sends it before any keys exist (record version 3,3).
pub fn fatal_alert(description: u8) -> [u8; 7] {
    [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
}

/// TLS alert descriptions (RFC 8446 6.2).
pub const ALERT_HANDSHAKE_FAILURE: u8 = 40;
pub const ALERT_PROTOCOL_VERSION: u8 = 70;
pub const ALERT_UNRECOGNIZED_NAME: u8 = 112;
