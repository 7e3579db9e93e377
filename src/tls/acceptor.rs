//! A TLS listener's settings, built once from the configuration at start:
//! certificates loaded (through [`certs::load`]), the SNI resolver, and one
//! rustls `ServerConfig` shared by every worker so that session resumption
//! works whichever worker a returning client lands on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;

use super::certs::{self, CertificateFiles};
use super::policy::{server_config, ServerOptions, TlsPolicy, DEFAULT_SESSION_CACHE_SIZE};
use super::sni::{DefaultCertificate, SniResolver};
use crate::config::{Config, DefaultCertificateConfig, ListenerTls, TlsPolicyConfig};

/// Loads every certificate of every TLS listener (what `portier check`
/// runs): an unreadable or mismatched file is an error; an expired
/// certificate is a warning, or an error when `strict`.
pub fn check_certificates(config: &Config, strict: bool) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let now = SystemTime::now();
    for l in &config.listeners {
        let Some(tls) = &l.tls else { continue };
        for c in &tls.certificates {
            let files = CertificateFiles {
                cert: c.cert.clone(),
                key: c.key.clone(),
                ocsp: c.ocsp.clone(),
            };
            let cert = certs::load(&files).map_err(|e| format!("listener {}: {e}", l.address))?;
            if cert.expired_at(now) {
                let msg = format!(
                    "listener {}: certificate {} has expired",
                    l.address,
                    c.cert.display()
                );
                if strict {
                    return Err(msg);
                }
                warnings.push(msg);
            }
        }
    }
    Ok(warnings)
}

/// What a TLS listener needs to accept a connection.
pub struct TlsAcceptor {
    pub config: Arc<ServerConfig>,
    pub resolver: Arc<SniResolver>,
    pub handshake_timeout: Duration,
}

impl TlsAcceptor {
    /// Loads the listener's certificates and builds its rustls config. An
    /// expired certificate is loaded with a warning.
    pub fn new(tls: &ListenerTls) -> Result<Self, String> {
        let mut loaded = Vec::with_capacity(tls.certificates.len());
        for c in &tls.certificates {
            let files = CertificateFiles {
                cert: c.cert.clone(),
                key: c.key.clone(),
                ocsp: c.ocsp.clone(),
            };
            let cert = certs::load(&files).map_err(|e| e.to_string())?;
            if cert.expired_at(SystemTime::now()) {
                tracing::warn!(cert = %c.cert.display(), "certificate has expired");
            }
            loaded.push(cert);
        }
        let default = match tls.default_certificate {
            DefaultCertificateConfig::SelfSigned => DefaultCertificate::SelfSigned,
            DefaultCertificateConfig::Reject => DefaultCertificate::Reject,
            DefaultCertificateConfig::Named(i) => DefaultCertificate::Named(i),
        };
        let resolver = Arc::new(SniResolver::new(loaded, default).map_err(|e| e.to_string())?);
        let opts = ServerOptions {
            policy: match tls.policy {
                TlsPolicyConfig::Intermediate => TlsPolicy::Intermediate,
                TlsPolicyConfig::Modern => TlsPolicy::Modern,
            },
            session_tickets: tls.session_tickets,
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
        };
        let config = server_config(resolver.clone(), &opts).map_err(|e| e.to_string())?;
        Ok(Self {
            config,
            resolver,
            handshake_timeout: tls.handshake_timeout,
        })
    }
}
