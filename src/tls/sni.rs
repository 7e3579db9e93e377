//! Choosing the server certificate for a handshake from the client's SNI.
//!
//! An exact subjectAltName beats a wildcard; `*.example.org` covers exactly
//! one more label (`a.example.org`, not `example.org`, not
//! `a.b.example.org`); names compare case-insensitively. Several
//! certificates may carry the same name (typically one ECDSA and one RSA):
//! the first whose key can sign with a scheme the client offers wins, ECDSA
//! tried before Ed25519 before RSA, configuration order otherwise.
//!
//! A handshake whose SNI matches no certificate, or that has no SNI, gets
//! the [`DefaultCertificate`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

use super::certs::{self, CertError, KeyAlgorithm, LoadedCertificate};

#[cfg(test)]
mod tests;

/// What a handshake with an unknown or missing SNI gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultCertificate {
    /// A self-signed certificate generated once at start (nginx's catch-all
    /// `default_server` habit); requests then meet the catch-all route.
    SelfSigned,
    /// The certificate at this index of the list given to [`SniResolver::new`].
    Named(usize),
    /// Abort the handshake. See [`SniResolver::rejects`] and
    /// [`UNRECOGNIZED_NAME_ALERT`] for the alert the client should see.
    Reject,
}

/// Name the generated default certificate is issued for.
pub const SELF_SIGNED_NAME: &str = "localhost";

/// A complete TLS record holding a fatal `unrecognized_name` alert (RFC 6066
/// section 3; alert 112), unencrypted, as sent before any handshake keys
/// exist: content type 21 (alert), legacy version 3,3, length 2, level 2
/// (fatal), description 112.
///
/// rustls itself answers a handshake whose certificate resolver returned
/// nothing with `access_denied` (49) and offers no way to choose the alert.
/// A TLS stream that wants `unrecognized_name` writes these bytes instead of
/// rustls's pending output when the handshake failed and
/// [`SniResolver::rejects`] holds for the connection's `server_name()`.
pub const UNRECOGNIZED_NAME_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70];

/// Picks the certificate for each handshake; shared read-only by all workers.
pub struct SniResolver {
    certs: Vec<LoadedCertificate>,
    /// Lowercased name -> indexes into `certs`, in order of preference.
    exact: HashMap<String, Vec<usize>>,
    /// Parent of a wildcard (`example.org` for `*.example.org`) -> indexes.
    wildcard: HashMap<String, Vec<usize>>,
    fallback: Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// Index into `certs` (the self-signed certificate is appended last).
    Certificate(usize),
    Reject,
}

impl SniResolver {
    /// Indexes the certificates by name. Fails when `default` names an index
    /// outside `certs`, or when the self-signed certificate cannot be made.
    pub fn new(
        certs: Vec<LoadedCertificate>,
        default: DefaultCertificate,
    ) -> Result<Self, CertError> {
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wildcard: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, cert) in certs.iter().enumerate() {
            for name in &cert.names {
                let name = name.to_ascii_lowercase();
                let (map, key) = match name.strip_prefix("*.") {
                    Some(parent) if parent.contains('.') && !parent.contains('*') => {
                        (&mut wildcard, parent.to_owned())
                    }
                    _ if name.contains('*') => {
                        tracing::warn!(
                            name = %name,
                            certificate = index,
                            "certificate name ignored for SNI: only a leading \"*.\" label over at least two labels is supported"
                        );
                        continue;
                    }
                    _ => (&mut exact, name),
                };
                let entry = map.entry(key).or_default();
                if !entry.contains(&index) {
                    entry.push(index);
                }
            }
        }
        for entry in exact.values_mut().chain(wildcard.values_mut()) {
            // Stable: configuration order is kept among keys of one kind.
            entry.sort_by_key(|&index| certs.get(index).map(|c| preference(c.algorithm)));
        }

        let count = certs.len();
        let mut certs = certs;
        let fallback = match default {
            DefaultCertificate::Reject => Fallback::Reject,
            DefaultCertificate::Named(index) if index < count => Fallback::Certificate(index),
            DefaultCertificate::Named(index) => {
                return Err(CertError::NoSuchDefault { index, count })
            }
            DefaultCertificate::SelfSigned => {
                certs.push(certs::self_signed(&[SELF_SIGNED_NAME])?);
                Fallback::Certificate(count)
            }
        };
        Ok(Self {
            certs,
            exact,
            wildcard,
            fallback,
        })
    }

    /// Indexes (into the list given to [`new`](Self::new)) of the
    /// certificates whose names cover `server_name`, most preferred first;
    /// `None` when no certificate does.
    pub fn lookup(&self, server_name: &str) -> Option<&[usize]> {
        let name = server_name.strip_suffix('.').unwrap_or(server_name);
        let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(found) = self.exact.get(name.as_ref()) {
            return Some(found);
        }
        let (label, parent) = name.split_once('.')?;
        if label.is_empty() {
            return None;
        }
        self.wildcard.get(parent).map(Vec::as_slice)
    }

    /// Whether a handshake with this SNI is refused: the default is
    /// [`DefaultCertificate::Reject`] and no certificate covers the name
    /// (or there is no SNI).
    pub fn rejects(&self, server_name: Option<&str>) -> bool {
        self.fallback == Fallback::Reject && server_name.and_then(|n| self.lookup(n)).is_none()
    }

    /// The configured certificates, followed by the generated self-signed one
    /// when the default is [`DefaultCertificate::SelfSigned`].
    pub fn certificates(&self) -> &[LoadedCertificate] {
        &self.certs
    }

    /// The certificate for a client offering `schemes`: the first candidate
    /// whose key can sign with one of them, else the first candidate (the
    /// handshake then fails with rustls's own error).
    fn choose(
        &self,
        candidates: &[usize],
        schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let mut first = None;
        for cert in candidates.iter().filter_map(|&i| self.certs.get(i)) {
            if cert.key.key.choose_scheme(schemes).is_some() {
                return Some(Arc::clone(&cert.key));
            }
            first.get_or_insert(cert);
        }
        first.map(|cert| Arc::clone(&cert.key))
    }
}

/// Order among certificates for the same name: smaller first.
fn preference(algorithm: KeyAlgorithm) -> u8 {
    match algorithm {
        KeyAlgorithm::Ecdsa => 0,
        KeyAlgorithm::Ed25519 => 1,
        KeyAlgorithm::Rsa => 2,
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let server_name = client_hello.server_name();
        let candidates = match server_name.and_then(|name| self.lookup(name)) {
            Some(found) => found,
            None => match &self.fallback {
                Fallback::Certificate(index) => std::slice::from_ref(index),
                Fallback::Reject => {
                    tracing::debug!(
                        sni = server_name.unwrap_or("(none)"),
                        "TLS handshake refused: no certificate for this name"
                    );
                    return None;
                }
            },
        };
        self.choose(candidates, client_hello.signature_schemes())
    }
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniResolver")
            .field("certificates", &self.certs)
            .field("default", &self.fallback)
            .finish()
    }
}
