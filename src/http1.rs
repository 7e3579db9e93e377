//! HTTP/1.1 (RFC 9112) as a strict reverse proxy speaks it: head parsing
//! over the read buffer without copies, body framing decisions, a streaming
//! chunked validator that re-frames what it forwards, the rewriting of heads
//! in both directions, and the responses portier writes itself.
//!
//! Request smuggling is the main attack on a proxy, so every ambiguity in
//! framing (RFC 9112 §6, §7, §11.2) is refused rather than interpreted.

pub mod chunked;
pub mod fields;
pub mod framing;
pub mod head;
pub mod response;
pub mod rewrite;
