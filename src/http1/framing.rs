//! Message body framing: how long the body after a head is (RFC 9112 §6.3).
//!
//! head.rs has already rejected every ambiguous combination (Transfer-Encoding
//! together with Content-Length, differing Content-Length values, a request
//! whose final transfer coding is not chunked), so the functions here only
//! apply the RFC's precedence rules to facts that are known to be consistent.

use crate::http1::head::Method;

/// Largest Content-Length portier accepts: 2^63, so that every length also
/// fits the signed 64-bit offsets of the kernel and of most backends.
pub const MAX_CONTENT_LENGTH: u64 = 1 << 63;

/// Body of a request (RFC 9112 §6.3 rules 4, 6 and 7 for requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// No Content-Length and no Transfer-Encoding: the body is empty (rule 7).
    None,
    /// Exactly this many bytes follow the head (rule 6).
    Length(u64),
    /// A chunked body follows the head (rule 4).
    Chunked,
}

impl RequestBody {
    /// Whether any body bytes may follow the head.
    pub fn is_present(self) -> bool {
        !matches!(self, RequestBody::None | RequestBody::Length(0))
    }
}

/// Body of a response (RFC 9112 §6.3 rules 1 to 8 for responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseBody {
    /// The response has no body whatever its header fields say (rule 1).
    None,
    /// Exactly this many bytes follow the head (rule 6).
    Length(u64),
    /// A chunked body follows the head (rule 4).
    Chunked,
    /// The body ends when the server closes the connection (rules 4 and 8).
    UntilClose,
}

impl ResponseBody {
    /// Whether the upstream connection ends with this body (it cannot be
    /// reused afterwards).
    pub fn is_close_delimited(self) -> bool {
        matches!(self, ResponseBody::UntilClose)
    }
}

/// Body of a request whose framing fields were validated: `te_chunked` is
/// true when Transfer-Encoding is present (it then ends in exactly one
/// `chunked`); head.rs guarantees it never comes with a Content-Length.
pub fn request_body(te_chunked: bool, content_length: Option<u64>) -> RequestBody {
    if te_chunked {
        // RFC 9112 §6.3 rule 4: final coding chunked => chunked framing.
        return RequestBody::Chunked;
    }
    match content_length {
        // RFC 9112 §6.3 rule 6.
        Some(n) => RequestBody::Length(n),
        // RFC 9112 §6.3 rule 7: a request without either has no body.
        None => RequestBody::None,
    }
}

/// Whether a response to `request_method` with `status` never has a body,
/// whatever its framing fields say (RFC 9112 §6.3 rule 1, RFC 9110 §6.4.1).
pub fn response_is_bodiless(request_method: Method, status: u16) -> bool {
    request_method == Method::Head || (100..200).contains(&status) || status == 204 || status == 304
}

/// Body of a response. `te_chunked` is `None` without Transfer-Encoding,
/// `Some(true)` when its final coding is chunked, `Some(false)` otherwise.
pub fn response_body(
    request_method: Method,
    status: u16,
    te_chunked: Option<bool>,
    content_length: Option<u64>,
) -> ResponseBody {
    // RFC 9112 §6.3 rule 1: HEAD responses, 1xx, 204 and 304 end with the
    // head. (Rule 2, a 2xx answer to CONNECT, cannot happen: head.rs
    // answers CONNECT with 501 before anything is forwarded.)
    if response_is_bodiless(request_method, status) {
        return ResponseBody::None;
    }
    match te_chunked {
        // RFC 9112 §6.3 rule 3: Transfer-Encoding overrides Content-Length
        // (head.rs rejects the combination anyway).
        // RFC 9112 §6.3 rule 4: final coding chunked => chunked framing;
        // any other final coding => read until the server closes.
        Some(true) => ResponseBody::Chunked,
        Some(false) => ResponseBody::UntilClose,
        None => match content_length {
            // RFC 9112 §6.3 rule 6.
            Some(n) => ResponseBody::Length(n),
            // RFC 9112 §6.3 rule 8: no declared length => until close.
            None => ResponseBody::UntilClose,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_rules() {
        assert_eq!(request_body(true, None), RequestBody::Chunked);
        assert_eq!(request_body(false, Some(5)), RequestBody::Length(5));
        assert_eq!(request_body(false, Some(0)), RequestBody::Length(0));
        assert_eq!(request_body(false, None), RequestBody::None);
        assert!(!RequestBody::Length(0).is_present());
        assert!(!RequestBody::None.is_present());
        assert!(RequestBody::Chunked.is_present());
    }

    #[test]
    fn bodiless_responses() {
        for status in [100, 101, 103, 199, 204, 304] {
            let b = response_body(Method::Get, status, Some(true), Some(10));
            assert_eq!(b, ResponseBody::None, "{status}");
        }
        assert_eq!(
            response_body(Method::Head, 200, None, Some(10)),
            ResponseBody::None
        );
        assert_eq!(
            response_body(Method::Head, 200, Some(true), None),
            ResponseBody::None
        );
    }

    #[test]
    fn response_rules() {
        assert_eq!(
            response_body(Method::Get, 200, Some(true), None),
            ResponseBody::Chunked
        );
        assert_eq!(
            response_body(Method::Get, 200, Some(false), None),
            ResponseBody::UntilClose
        );
        assert_eq!(
            response_body(Method::Get, 200, None, Some(0)),
            ResponseBody::Length(0)
        );
        assert_eq!(
            response_body(Method::Post, 201, None, Some(7)),
            ResponseBody::Length(7)
        );
        assert_eq!(
            response_body(Method::Get, 200, None, None),
            ResponseBody::UntilClose
        );
        assert_eq!(
            response_body(Method::Get, 205, None, None),
            ResponseBody::UntilClose
        );
        assert!(ResponseBody::UntilClose.is_close_delimited());
        assert!(!ResponseBody::Chunked.is_close_delimited());
    }
}
