//! Loading certificates, private keys and OCSP staples for TLS listeners.
//!
//! [`load`] is the one way a certificate enters portier: at start, in
//! `portier check`, and again on reload (SIGHUP). Every error names the file
//! it is about, so an operator can fix the configuration without guessing.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, SignatureAlgorithm};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::extensions::GeneralName;

#[cfg(test)]
mod tests;

/// Where one certificate comes from: the files named in the listener config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    /// PEM file: the end-entity certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM file: the private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
    /// DER file: an OCSP response to staple, as fetched from the CA.
    pub ocsp: Option<PathBuf>,
}

/// The kind of private key behind a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa,
    Ecdsa,
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::Rsa => "RSA",
            KeyAlgorithm::Ecdsa => "ECDSA",
            KeyAlgorithm::Ed25519 => "Ed25519",
        })
    }
}

/// A certificate chain with its key, ready to be served.
#[derive(Clone)]
pub struct LoadedCertificate {
    /// Chain, signing key and OCSP staple (when an OCSP file was given).
    pub key: Arc<CertifiedKey>,
    /// DNS names from the subjectAltName extension, lowercased, without
    /// duplicates; wildcards are kept as written (`*.example.org`).
    pub names: Vec<String>,
    /// The end-entity certificate's notAfter.
    pub not_after: SystemTime,
    pub algorithm: KeyAlgorithm,
}

impl LoadedCertificate {
    /// Whether the certificate is no longer valid at `now` (notAfter is the
    /// last valid second, RFC 5280 4.1.2.5).
    pub fn expired_at(&self, now: SystemTime) -> bool {
        now > self.not_after
    }
}

impl fmt::Debug for LoadedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedCertificate")
            .field("names", &self.names)
            .field("algorithm", &self.algorithm)
            .field("not_after", &self.not_after)
            .field("chain_len", &self.key.cert.len())
            .field("ocsp", &self.key.ocsp.is_some())
            .finish()
    }
}

/// Why a certificate could not be loaded. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{}: file not found", path.display())]
    Missing { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{}: invalid PEM: {reason}", path.display())]
    Pem { path: PathBuf, reason: String },
    #[error("{}: no certificate found (expected a PEM block \"-----BEGIN CERTIFICATE-----\")", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: invalid certificate: {reason}", path.display())]
    InvalidCertificate { path: PathBuf, reason: String },
    #[error(
        "{}: no private key found (expected an unencrypted PEM block \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")",
        path.display()
    )]
    NoPrivateKey { path: PathBuf },
    #[error("{}: unsupported private key: {reason}", path.display())]
    UnsupportedKey { path: PathBuf, reason: String },
    #[error("{}: the private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{}: invalid OCSP response: {reason}", path.display())]
    InvalidOcsp { path: PathBuf, reason: String },
    #[error("{}: the certificate has no DNS name in its subjectAltName extension", path.display())]
    NoDnsNames { path: PathBuf },
    #[error("cannot generate the self-signed certificate: {0}")]
    SelfSigned(String),
    #[error("default certificate {index} does not exist: {count} certificate(s) configured")]
    NoSuchDefault { index: usize, count: usize },
}

/// Loads a certificate chain, its private key and optional OCSP staple.
///
/// Checks that the key matches the end-entity certificate and that the
/// certificate names at least one DNS name. Expiry is not an error here:
/// callers look at [`LoadedCertificate::expired_at`] (warn at load, refuse
/// in `check --strict`).
pub fn load(files: &CertificateFiles) -> Result<LoadedCertificate, CertError> {
    let cert_pem = read_file(&files.cert)?;
    let chain = parse_chain(&files.cert, &cert_pem)?;
    let key_pem = read_file(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => CertError::NoPrivateKey {
            path: files.key.clone(),
        },
        other => CertError::Pem {
            path: files.key.clone(),
            reason: other.to_string(),
        },
    })?;
    drop(key_pem);
    let ocsp = match &files.ocsp {
        Some(path) => Some(read_ocsp(path)?),
        None => None,
    };
    assemble(chain, key, ocsp, &files.cert, &files.key)
}

/// Label used in errors about the generated certificate, which has no file.
const GENERATED: &str = "(generated self-signed certificate)";

/// Generates a self-signed ECDSA P-256 certificate for `names`, as served
/// to clients with unknown or missing SNI when `default_certificate =
/// "self-signed"`. It is made in memory and never written to disk.
pub fn self_signed(names: &[&str]) -> Result<LoadedCertificate, CertError> {
    let failed = |e: rcgen::Error| CertError::SelfSigned(e.to_string());
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(owned).map_err(failed)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().copied().unwrap_or("portier"),
    );
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let cert = params.self_signed(&key_pair).map_err(failed)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let path = Path::new(GENERATED);
    assemble(vec![cert.der().clone()], key, None, path, path)
}

fn read_file(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => CertError::Missing {
            path: path.to_path_buf(),
        },
        _ => CertError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn parse_chain(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Pem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// Puts a parsed chain and key together and checks that they belong together.
fn assemble(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ocsp: Option<Vec<u8>>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<LoadedCertificate, CertError> {
    let invalid_cert = |reason: String| CertError::InvalidCertificate {
        path: cert_path.to_path_buf(),
        reason,
    };
    let unsupported_key = |reason: String| CertError::UnsupportedKey {
        path: key_path.to_path_buf(),
        reason,
    };
    let leaf = chain
        .first()
        .ok_or_else(|| invalid_cert("empty certificate chain".to_owned()))?;
    let (names, not_after) = inspect_leaf(leaf).map_err(invalid_cert)?;
    if names.is_empty() {
        return Err(CertError::NoDnsNames {
            path: cert_path.to_path_buf(),
        });
    }

    let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|e| unsupported_key(e.to_string()))?;
    let algorithm = match signing_key.algorithm() {
        SignatureAlgorithm::RSA => KeyAlgorithm::Rsa,
        SignatureAlgorithm::ECDSA => KeyAlgorithm::Ecdsa,
        SignatureAlgorithm::ED25519 => KeyAlgorithm::Ed25519,
        other => return Err(unsupported_key(format!("{other:?} keys are not supported"))),
    };

    let mut certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // Unknown: the key cannot tell its public half; aws-lc-rs keys can.
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            return Err(CertError::KeyMismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            })
        }
        Err(other) => return Err(invalid_cert(other.to_string())),
    }
    certified.ocsp = ocsp;

    Ok(LoadedCertificate {
        key: Arc::new(certified),
        names,
        not_after,
        algorithm,
    })
}

/// Reads the DNS subjectAltNames and notAfter of the end-entity certificate.
fn inspect_leaf(der: &CertificateDer<'_>) -> Result<(Vec<String>, SystemTime), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;

    let seconds = cert.validity().not_after.timestamp();
    let not_after = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
    .ok_or_else(|| format!("notAfter out of range ({seconds} s since 1970)"))?;

    let mut names: Vec<String> = Vec::new();
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("subjectAltName: {e}"))?;
    if let Some(san) = san {
        for general_name in &san.value.general_names {
            if let GeneralName::DNSName(name) = general_name {
                let name = name.to_ascii_lowercase();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    Ok((names, not_after))
}

fn read_ocsp(path: &Path) -> Result<Vec<u8>, CertError> {
    let der = read_file(path)?;
    check_ocsp_response(&der).map_err(|reason| CertError::InvalidOcsp {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(der)
}

/// Checks the outer structure of a DER OCSPResponse (RFC 6960 4.2.1) and
/// that the responder answered `successful`:
///
/// ```text
/// OCSPResponse ::= SEQUENCE {
///    responseStatus   OCSPResponseStatus,          -- ENUMERATED
///    responseBytes    [0] EXPLICIT ResponseBytes OPTIONAL }
/// ```
///
/// The signed content is for the client to verify; stapling a response the
/// responder marked as an error, or a PEM/base64 file, is a configuration
/// mistake worth refusing early.
fn check_ocsp_response(der: &[u8]) -> Result<(), String> {
    if der.first() != Some(&0x30) {
        return Err("not a DER-encoded OCSPResponse (expected a SEQUENCE; PEM or base64 files are not accepted)".to_owned());
    }
    let (_, body, rest) = der_element(der)?;
    if !rest.is_empty() {
        return Err(format!(
            "{} unexpected bytes after the response",
            rest.len()
        ));
    }
    let (tag, status, response_bytes) = der_element(body)?;
    let (0x0a, &[status]) = (tag, status) else {
        return Err("missing responseStatus".to_owned());
    };
    if status != 0 {
        let name = match status {
            1 => "malformedRequest",
            2 => "internalError",
            3 => "tryLater",
            5 => "sigRequired",
            6 => "unauthorized",
            _ => "unknown",
        };
        return Err(format!(
            "responder status is {name} ({status}), not successful"
        ));
    }
    let (tag, _, _) = der_element(response_bytes)?;
    if tag != 0xa0 {
        return Err("successful response without responseBytes".to_owned());
    }
    Ok(())
}

/// Splits one DER element off `input`: (tag, contents, rest).
fn der_element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let truncated = || "truncated DER".to_owned();
    let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
    let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err("invalid DER length".to_owned());
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return Err(truncated());
    }
    let (contents, rest) = rest.split_at(len);
    Ok((tag, contents, rest))
}
