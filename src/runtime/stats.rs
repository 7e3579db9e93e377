//! Counters a worker keeps about what it refused or lost: plain atomics in
//! one allocation per worker, written only by that worker (relaxed, no
//! contention) and summed when read. The metrics endpoint will expose them;
//! today they are readable through [`crate::runtime::Server::stats`] and
//! logged when the worker stops.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::tls::failure::HandshakeFailure;

const REASONS: usize = HandshakeFailure::ALL.len();

/// One worker's counters.
#[derive(Debug, Default)]
pub struct WorkerStats {
    handshake_failures: [AtomicU64; REASONS],
}

impl WorkerStats {
    pub fn handshake_failed(&self, why: HandshakeFailure) {
        self.handshake_failures[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, total: &mut Stats) {
        for (t, c) in total
            .handshake_failures
            .iter_mut()
            .zip(&self.handshake_failures)
        {
            *t += c.load(Ordering::Relaxed);
        }
    }

    /// This worker's counters alone.
    pub fn snapshot(&self) -> Stats {
        let mut s = Stats::default();
        self.add_to(&mut s);
        s
    }
}

/// Counters summed over workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    handshake_failures: [u64; REASONS],
}

impl Stats {
    pub fn sum<'a>(workers: impl IntoIterator<Item = &'a WorkerStats>) -> Stats {
        let mut s = Stats::default();
        for w in workers {
            w.add_to(&mut s);
        }
        s
    }

    /// Failed TLS handshakes for one reason.
    pub fn handshake_failures(&self, why: HandshakeFailure) -> u64 {
        self.handshake_failures[why as usize]
    }

    /// Failed TLS handshakes, every reason.
    pub fn handshake_failures_total(&self) -> u64 {
        self.handshake_failures.iter().sum()
    }

    /// `timeout=1 closed=0 ...`, for the log line at shutdown.
    pub fn handshake_summary(&self) -> String {
        HandshakeFailure::ALL
            .iter()
            .map(|w| format!("{}={}", w.label(), self.handshake_failures(*w)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_reason_across_workers() {
        let a = WorkerStats::default();
        let b = WorkerStats::default();
        a.handshake_failed(HandshakeFailure::Timeout);
        b.handshake_failed(HandshakeFailure::Timeout);
        b.handshake_failed(HandshakeFailure::Protocol);
        let s = Stats::sum([&a, &b]);
        assert_eq!(s.handshake_failures(HandshakeFailure::Timeout), 2);
        assert_eq!(s.handshake_failures(HandshakeFailure::Protocol), 1);
        assert_eq!(s.handshake_failures(HandshakeFailure::Closed), 0);
        assert_eq!(s.handshake_failures_total(), 3);
        assert_eq!(
            s.handshake_summary(),
            "timeout=2 closed=0 unknown_name=0 protocol=1"
        );
        assert_eq!(a.snapshot().handshake_failures_total(), 1);
    }
}
