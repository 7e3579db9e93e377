//! Per-worker pools of idle keep-alive upstream connections, one stack per
//! server, reused last-in first-out (the most recently used connection is the
//! least likely to have been closed by the server).

use crate::config::Config;
use crate::net::Conn;

struct Idle {
    conn: Conn,
    /// [`crate::net::now_ms`] when it was returned.
    since: u64,
}

/// Server `s` of upstream `u` is `base[u] + s` in the flat server index.
pub struct UpstreamPool {
    base: Vec<usize>,
    idle: Vec<Vec<Idle>>,
    max_idle: Vec<usize>,
    /// Per server, in milliseconds.
    keepalive_idle: Vec<u64>,
}

impl UpstreamPool {
    pub fn new(config: &Config) -> Self {
        let mut base = Vec::with_capacity(config.upstreams.len());
        let (mut idle, mut max_idle, mut keepalive_idle) = (Vec::new(), Vec::new(), Vec::new());
        for u in &config.upstreams {
            base.push(idle.len());
            for _ in &u.servers {
                idle.push(Vec::new());
                max_idle.push(u.max_idle_per_server);
                keepalive_idle
                    .push(u64::try_from(u.keepalive_idle.as_millis()).unwrap_or(u64::MAX));
            }
        }
        Self {
            base,
            idle,
            max_idle,
            keepalive_idle,
        }
    }

    fn slot(&self, upstream: usize, server: usize) -> Option<usize> {
        let id = self.base.get(upstream)? + server;
        (id < self.idle.len()).then_some(id)
    }

    /// The most recently returned idle connection that has not outlived
    /// `keepalive_idle` (times are `now_ms` values); expired ones are closed on the way.
    pub fn checkout(&mut self, upstream: usize, server: usize, now: u64) -> Option<Conn> {
        let id = self.slot(upstream, server)?;
        let ttl = self.keepalive_idle[id];
        while let Some(idle) = self.idle[id].pop() {
            if now.saturating_sub(idle.since) < ttl {
                return Some(idle.conn);
            }
        }
        None
    }

    /// Keeps a connection whose last exchange ended cleanly; beyond
    /// `max_idle_per_server` the oldest idle connection is closed.
    pub fn checkin(&mut self, upstream: usize, server: usize, conn: Conn, now: u64) {
        let Some(id) = self.slot(upstream, server) else {
            return;
        };
        let max = self.max_idle[id];
        if max == 0 {
            return;
        }
        let stack = &mut self.idle[id];
        if stack.len() >= max {
            stack.remove(0);
        }
        stack.push(Idle { conn, since: now });
    }

    /// Closes idle connections older than their `keepalive_idle`.
    pub fn sweep(&mut self, now: u64) {
        for (id, stack) in self.idle.iter_mut().enumerate() {
            let ttl = self.keepalive_idle[id];
            stack.retain(|i| now.saturating_sub(i.since) < ttl);
        }
    }

    /// Closes every idle connection (shutdown).
    pub fn clear(&mut self) {
        self.idle.iter_mut().for_each(Vec::clear);
    }

    /// Idle connections held, over all servers.
    pub fn idle_count(&self) -> usize {
        self.idle.iter().map(Vec::len).sum()
    }
}
