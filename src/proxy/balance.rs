//! Server selection within an upstream: round robin per worker, skipping
//! servers that failed to connect in the last `FAIL_TIMEOUT` (nginx's
//! `max_fails=1 fail_timeout=10s`). Active health checks come later.

use std::cell::Cell;
use std::time::Duration;

use crate::config::Config;

/// How long a server that refused a connection is skipped.
pub const FAIL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Balancer {
    next: Vec<Cell<usize>>,
    servers: Vec<usize>,
    /// `now_ms` until which each server is skipped (0: live).
    down_until: Vec<Vec<Cell<u64>>>,
}

impl Balancer {
    pub fn new(config: &Config) -> Self {
        Self {
            next: config.upstreams.iter().map(|_| Cell::new(0)).collect(),
            servers: config.upstreams.iter().map(|u| u.servers.len()).collect(),
            down_until: config
                .upstreams
                .iter()
                .map(|u| u.servers.iter().map(|_| Cell::new(0)).collect())
                .collect(),
        }
    }

    /// The servers to try for one request, in order: every live server once,
    /// starting at the round-robin position. Empty when all are down.
    pub fn candidates(&self, upstream: usize, now: u64) -> Candidates<'_> {
        let n = self.servers.get(upstream).copied().unwrap_or(0);
        let start = match self.next.get(upstream) {
            Some(next) if n > 0 => {
                let start = next.get() % n;
                next.set(start.wrapping_add(1));
                start
            }
            _ => 0,
        };
        Candidates {
            down: self.down_until.get(upstream).map_or(&[], Vec::as_slice),
            start,
            n,
            i: 0,
            now,
        }
    }

    /// Records a failed connect: the server is skipped for `FAIL_TIMEOUT`.
    pub fn mark_failed(&self, upstream: usize, server: usize, now: u64) {
        if let Some(cell) = self.down_until.get(upstream).and_then(|d| d.get(server)) {
            cell.set(now.saturating_add(FAIL_TIMEOUT.as_millis() as u64));
        }
    }

    /// Records a successful connect.
    pub fn mark_ok(&self, upstream: usize, server: usize) {
        if let Some(cell) = self.down_until.get(upstream).and_then(|d| d.get(server)) {
            cell.set(0);
        }
    }
}

/// Iterator over the servers to try (no allocation per request).
pub struct Candidates<'a> {
    down: &'a [Cell<u64>],
    start: usize,
    n: usize,
    i: usize,
    now: u64,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.i < self.n {
            let s = (self.start + self.i) % self.n;
            self.i += 1;
            let live = self.down.get(s).is_none_or(|c| self.now >= c.get());
            if live {
                return Some(s);
            }
        }
        None
    }
}
