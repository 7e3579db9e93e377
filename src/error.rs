//! Errors on the proxy path, each recording which side caused it (so logs
//! and metrics blame the right party) and what the client should be told.

use std::fmt;
use std::io;

/// Who caused a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The downstream client: malformed request, timeout, reset.
    Client,
    /// The upstream server: unreachable, timed out, invalid response.
    Upstream,
    /// portier itself.
    Internal,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Upstream => "upstream",
            Side::Internal => "internal",
        })
    }
}

/// A failed exchange: who caused it, the status to answer when no response
/// byte has reached the client yet (`None`: close without answering), and a
/// short reason for the log.
#[derive(Debug)]
pub struct ProxyError {
    pub side: Side,
    pub status: Option<u16>,
    pub reason: &'static str,
    pub io: Option<io::Error>,
}

impl ProxyError {
    pub fn client(status: Option<u16>, reason: &'static str) -> Self {
        Self {
            side: Side::Client,
            status,
            reason,
            io: None,
        }
    }

    pub fn upstream(status: u16, reason: &'static str) -> Self {
        Self {
            side: Side::Upstream,
            status: Some(status),
            reason,
            io: None,
        }
    }

    pub fn with_io(mut self, e: io::Error) -> Self {
        self.io = Some(e);
        self
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.side, self.reason)?;
        if let Some(status) = self.status {
            write!(f, " (answered {status})")?;
        }
        if let Some(e) = &self.io {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProxyError {}
