//! Configuration: one TOML file, read into raw serde structs (`raw`) and then
//! converted into the typed, checked [`Config`] (`validate`) that the rest of
//! portier uses. Every error names the file and, where the file is to blame,
//! the line and column of the offending key or value.
//!
//! Durations are written as an integer and a unit (`"500ms"`, `"60s"`, `"2m"`,
//! `"1h"`); sizes as an integer with an optional binary suffix (`"16k"`,
//! `"32M"`, `"1G"`) or a plain integer number of bytes.
//!
//! Relative file paths (TLS certificates, keys, OCSP responses) are resolved
//! against the directory of the configuration file; files are not opened
//! here.

mod raw;
mod route;
mod tls;
mod validate;
mod values;

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use tls::{CertificateConfig, DefaultCertificateConfig, ListenerTls, TlsPolicyConfig};
pub use values::{parse_duration, parse_host_pattern, parse_server, parse_size, MAX_DURATION};

/// The embedded default configuration (`portier demo`).
pub const DEMO: &str = include_str!("../examples/demo.toml");

/// The origin name used for [`DEMO`].
pub const DEMO_ORIGIN: &str = "<embedded demo>";

/// A complete, validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file path as given, or `"<embedded demo>"`.
    pub origin: String,
    /// `[runtime]`.
    pub runtime: RuntimeConfig,
    /// `[limits]`.
    pub limits: Limits,
    /// `[[listener]]`, at least one.
    pub listeners: Vec<ListenerConfig>,
    /// `[[upstream]]`, at least one, in file order.
    pub upstreams: Vec<UpstreamConfig>,
    /// `[[route]]`, at least one, in file order.
    pub routes: Vec<RouteConfig>,
    /// `[echo_origin]`, if present.
    pub echo_origin: Option<EchoOriginConfig>,
}

/// `[runtime]`: threads and shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Worker thread count.
    pub workers: Workers,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            workers: Workers::Auto,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Number of worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// One worker per available core.
    Auto,
    /// Exactly this many workers (1..=1024).
    Count(usize),
}

/// `[limits]`: client-side limits and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of request line plus headers (1 KiB..=1 MiB).
    pub max_request_head: usize,
    /// Number of request header fields (1..=1000).
    pub max_headers: usize,
    /// Time allowed to receive the complete request head.
    pub client_header_timeout: Duration,
    /// Longest pause between two reads of a request body.
    pub client_body_timeout: Duration,
    /// Idle time between requests on a client connection; zero disables
    /// client keep-alive.
    pub keepalive_timeout: Duration,
    /// Longest pause while writing to a client that does not read.
    pub send_timeout: Duration,
    /// Default request body limit; routes may override it.
    pub max_request_body: u64,
    /// Open client connections per worker.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_head: 16 * 1024,
            max_headers: 100,
            client_header_timeout: Duration::from_secs(60),
            client_body_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(75),
            send_timeout: Duration::from_secs(60),
            max_request_body: 32 * 1024 * 1024,
            max_connections: 8192,
        }
    }
}

/// `[[listener]]`: one listening socket (opened by every worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// An IP literal and port; port 0 means an ephemeral port.
    pub address: SocketAddr,
    /// `listen(2)` backlog (1..=65535).
    pub backlog: u32,
    /// TLS settings; `None` for a plaintext listener.
    pub tls: Option<ListenerTls>,
}

/// `[[upstream]]`: a named group of servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Unique name that routes refer to.
    pub name: String,
    /// Resolved servers, in the order written; a DNS name expands to every
    /// address it resolved to.
    pub servers: Vec<ServerAddr>,
    /// Establishing a connection to a server.
    pub connect_timeout: Duration,
    /// Longest pause while reading a response.
    pub read_timeout: Duration,
    /// Longest pause while writing a request.
    pub send_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub keepalive_idle: Duration,
    /// Idle pooled connections per server; zero disables pooling.
    pub max_idle_per_server: usize,
}

/// The address of one upstream server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// `"127.0.0.1:80"`, `"[::1]:80"`, or a resolved DNS name.
    Tcp(SocketAddr),
    /// `"unix:/run/app.sock"` (absolute path).
    Unix(PathBuf),
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp(addr) => write!(f, "{addr}"),
            ServerAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `[[route]]`: which requests go to which upstream, or are answered by
/// portier itself. Exactly one of `upstream`, `redirect` and `respond` is
/// set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// Host patterns; empty means any host.
    pub hosts: Vec<HostPattern>,
    /// Path prefix (starts with '/'); `None` means any path.
    pub path: Option<String>,
    /// Index into [`Config::upstreams`]; `None` when the route redirects or
    /// responds itself.
    pub upstream: Option<usize>,
    /// `redirect = "https"`.
    pub redirect: Option<Redirect>,
    /// `respond = 404`: answer with this status (100..=599) and no body.
    pub respond: Option<u16>,
    /// `acme_webroot = "/var/www/acme"` (absolute): ACME HTTP-01 challenges
    /// are served from this directory.
    pub acme_webroot: Option<PathBuf>,
    /// `hsts`; `None` means the default on TLS listeners.
    pub hsts: Option<HstsConfig>,
    /// `response_headers`; empty when absent.
    pub response_headers: ResponseHeaders,
    /// Overrides [`Limits::max_request_body`] for this route.
    pub max_request_body: Option<u64>,
}

/// `redirect` on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// `"https"`: send the client to the same host and target over https.
    Https,
}

/// `hsts` on a route: the Strict-Transport-Security header on TLS
/// listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HstsConfig {
    /// `hsts = false`: no header is added.
    Off,
    /// `hsts = "max-age=63072000; includeSubDomains"`: the header value,
    /// as written (starts with `max-age=` and digits).
    Value(String),
}

/// `response_headers = { set = { ... }, remove = [...] }` on a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// Fields set on every response, replacing any of the same name:
    /// names as written (tokens), values without CR, LF or NUL; in file
    /// order, no name twice (ignoring case).
    pub set: Vec<(String, String)>,
    /// Field names removed from every response, lowercased, none twice and
    /// none also in `set`.
    pub remove: Vec<String>,
}

/// A host name a route answers for, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPattern {
    /// `"example.org"`.
    Exact(String),
    /// Written `"*.example.org"`, stored as the suffix `".example.org"`
    /// (matches any name with at least one more label).
    Wildcard(String),
}

impl HostPattern {
    /// Whether `host` (already lowercased, without port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::Wildcard(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Wildcard(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// `[echo_origin]`: the built-in demo origin server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoOriginConfig {
    /// Never equal to a listener address.
    pub address: SocketAddr,
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file path as given, or `"<embedded demo>"`.
    pub origin: String,
    /// 1-based line, when the error has a position in the file.
    pub line: Option<usize>,
    /// 1-based column in characters, when the error has a position.
    pub col: Option<usize>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    /// An error about the file as a whole (no position).
    pub fn whole(origin: &str, message: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.to_owned(),
            line: None,
            col: None,
            message: message.into(),
        }
    }

    /// An error at the start of the byte range `span` of `text`.
    pub(crate) fn at(
        origin: &str,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, col) = line_col(text, span.start);
        ConfigError {
            origin: origin.to_owned(),
            line: Some(line),
            col: Some(col),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (Some(line), Some(col)) => {
                write!(f, "{}:{}:{}: {}", self.origin, line, col, self.message)
            }
            _ => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and column (counted in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Reads and validates the configuration file at `path`; relative paths in
/// it are resolved against the file's directory.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::whole(&origin, format!("cannot read: {e}")))?;
    load_str_in(&text, &origin, path.parent().unwrap_or(Path::new(".")))
}

/// Parses and validates configuration `text`; `origin` names it in errors.
/// Relative paths are resolved against the current directory (`"."`).
pub fn load_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    load_str_in(text, origin, Path::new("."))
}

/// Parses and validates configuration `text`; `origin` names it in errors
/// and relative paths in it are resolved against `base_dir` (joined, not
/// checked for existence).
pub fn load_str_in(text: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
        // Multi-line parser messages are joined so an error stays one line.
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        match e.span() {
            Some(span) => ConfigError::at(origin, text, span, message),
            None => ConfigError::whole(origin, message),
        }
    })?;
    validate::config(raw, text, origin, base_dir)
}

/// The embedded demo configuration, validated.
pub fn demo() -> Result<Config, ConfigError> {
    load_str(DEMO, DEMO_ORIGIN)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_route;
#[cfg(test)]
mod tests_tls;
