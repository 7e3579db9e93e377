//! portier: an HTTP/1.1 reverse proxy on io_uring for the DMZ.
//!
//! Data flows left to right: `config` (file --> validated `Config`) -->
//! `runtime` (one pinned worker per core) --> `proxy::session` (one client
//! connection) using `http1` (heads, framing, rewriting) and `net` (the
//! io_uring layer, the only home of `unsafe`).
#![deny(unsafe_code)]

pub mod config;
pub mod echo_origin;
pub mod error;
pub mod http1;
#[allow(unsafe_code)]
pub mod net;
pub mod proxy;
pub mod runtime;
pub mod tls;
