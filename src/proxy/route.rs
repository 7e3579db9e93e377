//! The route table: host (exact or `*.suffix`) and path prefix --> upstream.
//! The most specific match wins: an exact host beats a wildcard (a longer
//! wildcard beats a shorter one), which beats "any host"; among routes for
//! the same host, the longest path prefix wins.

use crate::config::{Config, HostPattern, RouteConfig};

/// A matched route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    pub index: usize,
    pub upstream: usize,
    pub max_request_body: u64,
}

struct Entry {
    hosts: Vec<HostPattern>,
    path: Vec<u8>,
    matched: RouteMatch,
}

/// Built once per config; read-only and shared by all workers.
pub struct RouteTable {
    entries: Vec<Entry>,
}

/// Host rank: 2 exact, 1 wildcard, 0 any host.
fn host_score(hosts: &[HostPattern], host: &[u8]) -> Option<(u8, usize)> {
    if hosts.is_empty() {
        return Some((0, 0));
    }
    let mut best: Option<(u8, usize)> = None;
    for pattern in hosts {
        let score = match pattern {
            HostPattern::Exact(name) if name.as_bytes().eq_ignore_ascii_case(host) => {
                Some((2, name.len()))
            }
            HostPattern::Wildcard(suffix)
                if host.len() > suffix.len()
                    && host[host.len() - suffix.len()..]
                        .eq_ignore_ascii_case(suffix.as_bytes()) =>
            {
                Some((1, suffix.len()))
            }
            _ => None,
        };
        if score > best {
            best = score;
        }
    }
    best
}

/// The host part of a Host header value: the port and a trailing dot dropped.
pub fn host_name(value: &[u8]) -> &[u8] {
    let name = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(end) => &value[..=end],
            None => value,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => &value[..colon],
            None => value,
        }
    };
    name.strip_suffix(b".").unwrap_or(name)
}

impl RouteTable {
    pub fn new(config: &Config) -> Self {
        let entries = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, r): (usize, &RouteConfig)| Entry {
                hosts: r.hosts.clone(),
                path: r.path.clone().unwrap_or_default().into_bytes(),
                matched: RouteMatch {
                    index,
                    upstream: r.upstream,
                    max_request_body: r.max_request_body.unwrap_or(config.limits.max_request_body),
                },
            })
            .collect();
        Self { entries }
    }

    /// Finds the route for a Host header value (`None` for HTTP/1.0 without
    /// Host: only host-less routes match) and a request target.
    pub fn find(&self, host: Option<&[u8]>, target: &[u8]) -> Option<RouteMatch> {
        let host = host.map(host_name);
        let mut best: Option<((u8, usize, usize), RouteMatch)> = None;
        for e in &self.entries {
            let hs = match host {
                Some(h) => host_score(&e.hosts, h),
                None if e.hosts.is_empty() => Some((0, 0)),
                None => None,
            };
            let Some((rank, len)) = hs else { continue };
            if !target.starts_with(&e.path) {
                continue;
            }
            let score = (rank, len, e.path.len());
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, e.matched));
            }
        }
        best.map(|(_, m)| m)
    }
}
