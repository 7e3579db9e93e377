//! TLS placeholder
