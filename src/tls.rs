//! TLS termination building blocks, on rustls with the aws-lc-rs provider.
//!
//! - [`certs`]: loading a certificate chain, its private key and an optional
//!   OCSP staple from files (one function, also used on reload), and the
//!   generated self-signed default certificate.
//! - [`sni`]: choosing the certificate for a handshake from the client's SNI
//!   (exact and wildcard names, RSA and ECDSA side by side) and what to do
//!   with unknown names.
//! - [`policy`]: the rustls `ServerConfig` for a listener: versions, cipher
//!   suites, key exchange groups, ALPN, session resumption.
//! - [`acceptor`]: a listener's TLS settings built from the configuration.
//! - [`failure`]: why a handshake failed, as counted and logged.
//! - [`stream`]: the TLS connection the HTTP/1 session uses like a plain one.

pub mod acceptor;
pub mod certs;
pub mod failure;
pub mod policy;
pub mod sni;
pub mod stream;

#[cfg(test)]
mod test_support;
