//! Why a TLS handshake failed: the reason counted per worker and the error
//! logged (at debug: a client that cannot speak TLS is not news).

use std::io;

/// Why a TLS handshake failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Not finished within `tls_handshake_timeout`.
    Timeout,
    /// The client closed or reset the connection.
    Closed,
    /// The client asked for a name the listener does not serve
    /// (`default_certificate = "reject"`).
    UnknownName,
    /// The client broke the protocol or offered nothing acceptable
    /// (version, cipher suite, ALPN, a malformed record).
    Protocol,
}

impl HandshakeFailure {
    pub const ALL: [HandshakeFailure; 4] = [
        HandshakeFailure::Timeout,
        HandshakeFailure::Closed,
        HandshakeFailure::UnknownName,
        HandshakeFailure::Protocol,
    ];

    /// The label used in logs (and, later, metrics).
    pub fn label(self) -> &'static str {
        match self {
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::Closed => "closed",
            HandshakeFailure::UnknownName => "unknown_name",
            HandshakeFailure::Protocol => "protocol",
        }
    }
}

/// A failed handshake: its reason and what happened.
#[derive(Debug)]
pub struct HandshakeError {
    pub why: HandshakeFailure,
    pub error: io::Error,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.error, self.why.label())
    }
}

impl HandshakeError {
    /// Classifies an error met during the handshake. rustls errors travel
    /// inside `io::Error` (kind InvalidData).
    pub fn new(error: io::Error) -> Self {
        use io::ErrorKind::*;
        let why = match error.kind() {
            TimedOut => HandshakeFailure::Timeout,
            UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => {
                HandshakeFailure::Closed
            }
            _ => HandshakeFailure::Protocol,
        };
        Self { why, error }
    }

    pub fn unknown_name(error: io::Error) -> Self {
        Self {
            why: HandshakeFailure::UnknownName,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let why = |k: io::ErrorKind| HandshakeError::new(k.into()).why;
        assert_eq!(why(io::ErrorKind::TimedOut), HandshakeFailure::Timeout);
        assert_eq!(why(io::ErrorKind::UnexpectedEof), HandshakeFailure::Closed);
        assert_eq!(
            why(io::ErrorKind::ConnectionReset),
            HandshakeFailure::Closed
        );
        let bad = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::General("x".into()),
        );
        assert_eq!(HandshakeError::new(bad).why, HandshakeFailure::Protocol);
    }
}
