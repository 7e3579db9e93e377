//! The rustls `ServerConfig` of a TLS listener: protocol versions, cipher
//! suites, key exchange groups, ALPN and session resumption.
//!
//! Both policies use the aws-lc-rs provider restricted to ECDHE key exchange
//! and AEAD ciphers, in Mozilla's "intermediate" order, with the server's
//! order deciding (no CBC, no RSA key exchange, no SHA-1, no TLS < 1.2;
//! rustls implements none of those anyway, the lists below make it explicit).

use std::sync::{Arc, OnceLock};

use rustls::crypto::aws_lc_rs::{self, cipher_suite, kx_group};
use rustls::crypto::CryptoProvider;
use rustls::server::{
    NoServerSessionStorage, ProducesTickets, ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::{ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

use super::sni::SniResolver;

#[cfg(test)]
mod tests;

/// `tls_policy` of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// TLS 1.2 and 1.3 (Mozilla "intermediate", ANSSI-compatible).
    #[default]
    Intermediate,
    /// TLS 1.3 only (Mozilla "modern").
    Modern,
}

/// Sessions remembered per cache, as nginx's `ssl_session_cache` of ~5 MB.
pub const DEFAULT_SESSION_CACHE_SIZE: usize = 20_000;

/// ALPN protocols offered: HTTP/1.1 only until portier speaks h2.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// TLS settings of a listener beyond its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    pub policy: TlsPolicy,
    /// Stateless resumption tickets (TLS 1.2 RFC 5077 tickets and TLS 1.3
    /// tickets encrypted with rotating keys). Off: sessions are resumed
    /// from the server-side cache only.
    pub session_tickets: bool,
    /// Sessions kept in the server-side cache; 0 turns the cache off.
    pub session_cache_size: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            policy: TlsPolicy::Intermediate,
            session_tickets: false,
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
        }
    }
}

/// Server-side state for session resumption: the session cache and the
/// ticket key. Resumption works only where this state is shared, so give
/// every worker's `ServerConfig` the same one (with `SO_REUSEPORT` a
/// returning client usually lands on another worker). The cache takes a
/// mutex per handshake (not per request); the ticketer a read lock.
#[derive(Clone)]
pub struct SessionResumption {
    storage: Arc<dyn StoresServerSessions>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
}

impl SessionResumption {
    /// Makes the cache (`session_cache_size` entries, allocated up front)
    /// and, when `session_tickets` is on, a ticketer whose AES-256/HMAC key
    /// rotates every 6 hours (tickets live 12 hours).
    pub fn new(opts: &ServerOptions) -> Result<Self, rustls::Error> {
        let storage: Arc<dyn StoresServerSessions> = if opts.session_cache_size == 0 {
            Arc::new(NoServerSessionStorage {})
        } else {
            ServerSessionMemoryCache::new(opts.session_cache_size)
        };
        let ticketer = if opts.session_tickets {
            Some(aws_lc_rs::Ticketer::new()?)
        } else {
            None
        };
        Ok(Self { storage, ticketer })
    }
}

impl std::fmt::Debug for SessionResumption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionResumption")
            .field("tickets", &self.ticketer.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a listener's `ServerConfig` with its own session cache and ticket
/// key (see [`SessionResumption`] to share them between workers instead).
pub fn server_config(
    resolver: Arc<SniResolver>,
    opts: &ServerOptions,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    server_config_with(resolver, opts, &SessionResumption::new(opts)?)
}

/// Builds a listener's `ServerConfig` around existing resumption state.
/// Cheap: a few small allocations; the provider is built once per process.
pub fn server_config_with(
    resolver: Arc<SniResolver>,
    opts: &ServerOptions,
    resumption: &SessionResumption,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider(opts.policy))
        .with_protocol_versions(protocol_versions(opts.policy))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.ignore_client_order = true;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    config.session_storage = Arc::clone(&resumption.storage);
    if let Some(ticketer) = &resumption.ticketer {
        config.ticketer = Arc::clone(ticketer);
    }
    // No 0-RTT: early data can be replayed, and a proxy cannot tell which
    // requests are safe to replay against its upstreams.
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// The protocol versions a policy allows.
pub fn protocol_versions(policy: TlsPolicy) -> &'static [&'static SupportedProtocolVersion] {
    static INTERMEDIATE: &[&SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static MODERN: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match policy {
        TlsPolicy::Intermediate => INTERMEDIATE,
        TlsPolicy::Modern => MODERN,
    }
}

/// The aws-lc-rs provider restricted to a policy's suites and groups,
/// built once per process.
pub fn provider(policy: TlsPolicy) -> Arc<CryptoProvider> {
    static INTERMEDIATE: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    static MODERN: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    let cell = match policy {
        TlsPolicy::Intermediate => &INTERMEDIATE,
        TlsPolicy::Modern => &MODERN,
    };
    Arc::clone(cell.get_or_init(|| {
        Arc::new(CryptoProvider {
            cipher_suites: cipher_suites(policy),
            kx_groups: vec![
                kx_group::X25519MLKEM768,
                kx_group::X25519,
                kx_group::SECP256R1,
                kx_group::SECP384R1,
            ],
            ..aws_lc_rs::default_provider()
        })
    }))
}

/// Cipher suites in server preference order (Mozilla intermediate).
fn cipher_suites(policy: TlsPolicy) -> Vec<SupportedCipherSuite> {
    let mut suites = vec![
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    if policy == TlsPolicy::Intermediate {
        suites.extend([
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]);
    }
    suites
}
