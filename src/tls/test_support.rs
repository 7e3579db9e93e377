//! Helpers for the TLS unit tests: certificates made with rcgen in a
//! temporary directory, a recording certificate verifier for the rustls
//! client, and handshakes pumped through in-memory buffers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
    SignatureScheme, SupportedProtocolVersion,
};

use super::certs::{self, CertificateFiles, LoadedCertificate};

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "portier-tls-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Ecdsa,
    Rsa,
    Ed25519,
}

/// A generated certificate and key, as PEM.
pub(crate) struct Generated {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) der: CertificateDer<'static>,
}

/// RSA key generation is slow in a debug build: make one key per test run.
fn key_pair(alg: Alg) -> rcgen::KeyPair {
    static RSA: OnceLock<String> = OnceLock::new();
    match alg {
        Alg::Ecdsa => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        Alg::Ed25519 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        Alg::Rsa => {
            let pem = RSA.get_or_init(|| {
                rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
                    .unwrap()
                    .serialize_pem()
            });
            rcgen::KeyPair::from_pem(pem).unwrap()
        }
    }
}

pub(crate) fn params(names: &[&str]) -> rcgen::CertificateParams {
    rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap()
}

pub(crate) fn generate_from(params: rcgen::CertificateParams, alg: Alg) -> Generated {
    let key = key_pair(alg);
    let cert = params.self_signed(&key).unwrap();
    Generated {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

pub(crate) fn generate(names: &[&str], alg: Alg) -> Generated {
    generate_from(params(names), alg)
}

/// Writes `<stem>.crt` and `<stem>.key` into `dir`.
pub(crate) fn write(dir: &TempDir, stem: &str, generated: &Generated) -> CertificateFiles {
    CertificateFiles {
        cert: dir.write(&format!("{stem}.crt"), &generated.cert_pem),
        key: dir.write(&format!("{stem}.key"), &generated.key_pem),
        ocsp: None,
    }
}

/// Generates, writes and loads a certificate.
pub(crate) fn loaded(names: &[&str], alg: Alg) -> LoadedCertificate {
    let dir = TempDir::new("loaded");
    certs::load(&write(&dir, "c", &generate(names, alg))).unwrap()
}

/// What the client saw of the server's certificate.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) cert: Option<CertificateDer<'static>>,
    pub(crate) ocsp: Vec<u8>,
}

/// Accepts any server certificate, records it and the OCSP staple, and
/// offers only `schemes` to the server.
#[derive(Debug)]
pub(crate) struct Recorder {
    provider: CryptoProvider,
    schemes: Vec<SignatureScheme>,
    seen: Mutex<Seen>,
}

impl Recorder {
    pub(crate) fn new() -> Arc<Self> {
        let provider = aws_lc_rs::default_provider();
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        Self::with_schemes(schemes)
    }

    pub(crate) fn with_schemes(schemes: Vec<SignatureScheme>) -> Arc<Self> {
        Arc::new(Self {
            provider: aws_lc_rs::default_provider(),
            schemes,
            seen: Mutex::new(Seen::default()),
        })
    }

    pub(crate) fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen.lock().unwrap();
        seen.cert = Some(end_entity.clone().into_owned());
        seen.ocsp = ocsp_response.to_vec();
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

/// A client config trusting anything (through `verifier`), offering
/// `h2, http/1.1` like a browser.
pub(crate) fn client_config_with(
    verifier: Arc<Recorder>,
    provider: CryptoProvider,
    versions: &[&'static SupportedProtocolVersion],
) -> ClientConfig {
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

pub(crate) fn client_config(verifier: Arc<Recorder>) -> ClientConfig {
    client_config_with(
        verifier,
        aws_lc_rs::default_provider(),
        rustls::DEFAULT_VERSIONS,
    )
}

pub(crate) fn client(config: &Arc<ClientConfig>, sni: &str) -> ClientConnection {
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    ClientConnection::new(Arc::clone(config), name).unwrap()
}

pub(crate) fn server(config: &Arc<ServerConfig>) -> ServerConnection {
    ServerConnection::new(Arc::clone(config)).unwrap()
}

/// How a handshake failed, from each side.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) server: Option<rustls::Error>,
    pub(crate) client: Option<rustls::Error>,
}

/// Pumps records until both sides are done (including post-handshake
/// messages such as session tickets).
pub(crate) fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), Box<Failure>> {
    handshake_with(client, server, |_| None)
}

/// Like [`handshake`]; when the server fails, `on_server_error` may supply
/// the bytes to send the client instead of rustls's pending output.
pub(crate) fn handshake_with(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    on_server_error: impl Fn(&ServerConnection) -> Option<Vec<u8>>,
) -> Result<(), Box<Failure>> {
    for _ in 0..20 {
        let to_server = drain(&mut *client);
        if !to_server.is_empty() {
            feed(&mut *server, &to_server);
            if let Err(server_error) = server.process_new_packets() {
                let bytes = on_server_error(server).unwrap_or_else(|| drain(&mut *server));
                feed(&mut *client, &bytes);
                let client_error = client.process_new_packets().err();
                return Err(Box::new(Failure {
                    server: Some(server_error),
                    client: client_error,
                }));
            }
        }
        let to_client = drain(&mut *server);
        if !to_client.is_empty() {
            feed(&mut *client, &to_client);
            if let Err(client_error) = client.process_new_packets() {
                return Err(Box::new(Failure {
                    server: None,
                    client: Some(client_error),
                }));
            }
        }
        if to_server.is_empty()
            && to_client.is_empty()
            && !client.is_handshaking()
            && !server.is_handshaking()
        {
            return Ok(());
        }
    }
    panic!("handshake did not finish in 20 rounds");
}

fn drain<D>(conn: &mut rustls::ConnectionCommon<D>) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    out
}

fn feed<D>(conn: &mut rustls::ConnectionCommon<D>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes).unwrap();
    }
}
