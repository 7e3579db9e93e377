//! Shared helpers for the integration tests: portier started in-process on
//! 127.0.0.1 port 0 ([`Proxy`], [`ProxyConfig`]), recording backends on std
//! threads ([`Backend`]), a raw HTTP client with its own small, strict
//! response parser ([`RawClient`]; the code under test never checks
//! itself), temporary directories and the portier binary.
//!
//! Every socket has read and write timeouts, and every wait has a deadline,
//! so a misbehaving proxy fails a test instead of hanging the suite.
#![allow(dead_code, unused_imports)]

mod backend;
mod bytes;
mod client;
mod process;
mod tls;

pub use backend::*;
pub use bytes::*;
pub use client::*;
pub use process::*;
pub use tls::*;

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use portier::runtime::Server;

/// Read/write timeout of every test socket, and the default deadline of
/// every wait.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A running portier and its first listener's address.
pub struct Proxy {
    pub server: Option<Server>,
    pub addr: SocketAddr,
}

impl Proxy {
    /// Loads `toml` and starts portier; panics with the config error.
    pub fn start(toml: &str) -> Proxy {
        let config = portier::config::load_str(toml, "test.toml")
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{toml}"));
        let server = Server::start(Arc::new(config)).expect("portier starts");
        let addr = server.listen_addrs()[0];
        assert_ne!(addr.port(), 0, "listen_addrs resolves port 0");
        Proxy {
            server: Some(server),
            addr,
        }
    }

    pub fn connect(&self) -> RawClient {
        RawClient::connect(self.addr)
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server still running")
    }

    /// Takes the server out (for `wait`, which consumes it).
    pub fn take_server(&mut self) -> Server {
        self.server.take().expect("server still running")
    }
}

/// A test configuration: one worker, one upstream named "backend" and a
/// catch-all route, with options added key by key (values are TOML
/// literals, e.g. `"\"300ms\""` or `"4"`).
pub struct ProxyConfig {
    runtime: Vec<(String, String)>,
    limits: Vec<(String, String)>,
    listener: Vec<(String, String)>,
    servers: Vec<String>,
    upstream: Vec<(String, String)>,
    route: Vec<(String, String)>,
    tail: String,
}

impl ProxyConfig {
    /// `server` is "127.0.0.1:PORT" or "unix:/path".
    pub fn new(server: impl ToString) -> Self {
        ProxyConfig {
            runtime: vec![
                ("workers".into(), "1".into()),
                ("shutdown_timeout".into(), "\"10s\"".into()),
            ],
            limits: Vec::new(),
            listener: Vec::new(),
            servers: vec![server.to_string()],
            upstream: vec![("connect_timeout".into(), "\"5s\"".into())],
            route: Vec::new(),
            tail: String::new(),
        }
    }

    fn set(list: &mut Vec<(String, String)>, key: &str, value: &str) {
        list.retain(|(k, _)| k != key);
        list.push((key.into(), value.into()));
    }

    pub fn runtime(mut self, key: &str, value: &str) -> Self {
        Self::set(&mut self.runtime, key, value);
        self
    }

    pub fn limit(mut self, key: &str, value: &str) -> Self {
        Self::set(&mut self.limits, key, value);
        self
    }

    /// A key of the (only) `[[listener]]`, e.g. `tls`.
    pub fn listener(mut self, key: &str, value: &str) -> Self {
        Self::set(&mut self.listener, key, value);
        self
    }

    pub fn upstream(mut self, key: &str, value: &str) -> Self {
        Self::set(&mut self.upstream, key, value);
        self
    }

    pub fn route(mut self, key: &str, value: &str) -> Self {
        Self::set(&mut self.route, key, value);
        self
    }

    /// Raw TOML appended at the end (more upstreams and routes).
    pub fn tail(mut self, text: &str) -> Self {
        self.tail.push_str(text);
        self
    }

    pub fn toml(&self) -> String {
        let mut t = String::from("[runtime]\n");
        for (k, v) in &self.runtime {
            let _ = writeln!(t, "{k} = {v}");
        }
        if !self.limits.is_empty() {
            t.push_str("\n[limits]\n");
            for (k, v) in &self.limits {
                let _ = writeln!(t, "{k} = {v}");
            }
        }
        t.push_str("\n[[listener]]\naddress = \"127.0.0.1:0\"\n");
        for (k, v) in &self.listener {
            let _ = writeln!(t, "{k} = {v}");
        }
        t.push_str("\n[[upstream]]\nname = \"backend\"\nservers = [");
        let servers: Vec<String> = self.servers.iter().map(|s| format!("\"{s}\"")).collect();
        t.push_str(&servers.join(", "));
        t.push_str("]\n");
        for (k, v) in &self.upstream {
            let _ = writeln!(t, "{k} = {v}");
        }
        t.push_str("\n[[route]]\nupstream = \"backend\"\n");
        for (k, v) in &self.route {
            let _ = writeln!(t, "{k} = {v}");
        }
        t.push('\n');
        t.push_str(&self.tail);
        t
    }

    pub fn start(&self) -> Proxy {
        Proxy::start(&self.toml())
    }
}

/// A 127.0.0.1 port with nothing listening (bound, then released).
pub fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}
