//! Raw file structs --> typed [`Config`]: defaults, units, ranges, name
//! resolution and cross-checks. The first problem found is returned, with
//! the position of the value (or table) that causes it. Sections are checked
//! in file-format order: runtime, limits, listeners (TLS in `tls`),
//! upstreams, routes (in `route`), echo origin.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::{Range, RangeInclusive};
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::values::{parse_duration, parse_server, parse_size};

use super::raw::{
    DurationValue, Int, RawConfig, RawEchoOrigin, RawLimits, RawListener, RawRuntime, RawUpstream,
    SizeValue, TextOrInt,
};
use super::{
    Config, ConfigError, EchoOriginConfig, Limits, ListenerConfig, RuntimeConfig, UpstreamConfig,
    Workers,
};

/// Where errors are reported (file name, text for positions) and the table
/// being checked (for the key names in messages).
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    text: &'a str,
    origin: &'a str,
    table: &'static str,
}

impl<'a> Ctx<'a> {
    fn table(self, table: &'static str) -> Ctx<'a> {
        Ctx { table, ..self }
    }

    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.origin, self.text, span, message)
    }

    pub(super) fn line_of(&self, span: Range<usize>) -> usize {
        self.err(span, "").line.unwrap_or(1)
    }

    /// A duration; zero allowed.
    fn duration(
        &self,
        value: &Option<Spanned<DurationValue>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        let parsed = match &value.get_ref().0 {
            TextOrInt::Text(text) => parse_duration(text),
            TextOrInt::Int(n) => parse_duration(&n.to_string()),
        };
        let key = format!("{}.{key}", self.table);
        parsed.map_err(|why| self.err(value.span(), format!("{key}: {why}")))
    }

    /// A duration that must not be zero (a timeout).
    pub(super) fn timeout(
        &self,
        value: &Option<Spanned<DurationValue>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let duration = self.duration(value, key, default)?;
        match value {
            Some(value) if duration.is_zero() => Err(self.err(
                value.span(),
                format!("{}.{key} must be greater than zero", self.table),
            )),
            _ => Ok(duration),
        }
    }

    pub(super) fn size(
        &self,
        value: &Option<Spanned<SizeValue>>,
        key: &str,
        range: RangeInclusive<u64>,
    ) -> Result<Option<u64>, ConfigError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let key = format!("{}.{key}", self.table);
        let size = match &value.get_ref().0 {
            TextOrInt::Text(text) => parse_size(text),
            TextOrInt::Int(n) => u64::try_from(*n)
                .map_err(|_| format!("invalid size {n}: negative sizes are not allowed")),
        }
        .map_err(|why| self.err(value.span(), format!("{key}: {why}")))?;
        if !range.contains(&size) {
            let (min, max) = (range.start(), range.end());
            let why = format!("{key} must be between {min} and {max} bytes, got {size}");
            return Err(self.err(value.span(), why));
        }
        Ok(Some(size))
    }

    /// An integer in `range`, converted to the target type (which the range
    /// must fit).
    pub(super) fn int<T: TryFrom<i64>>(
        &self,
        value: &Option<Spanned<Int>>,
        key: &str,
        default: T,
        range: RangeInclusive<i64>,
    ) -> Result<T, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        let n = value.get_ref().0;
        let (min, max) = (range.start(), range.end());
        let why = format!(
            "{}.{key} must be between {min} and {max}, got {n}",
            self.table
        );
        match T::try_from(n) {
            Ok(v) if range.contains(&n) => Ok(v),
            _ => Err(self.err(value.span(), why)),
        }
    }

    fn socket_addr(&self, value: &Spanned<String>) -> Result<SocketAddr, ConfigError> {
        let text = value.get_ref();
        text.parse().map_err(|_| {
            let expected =
                "expected an IP address and port, such as \"127.0.0.1:8080\" or \"[::1]:8080\"";
            let why = format!(
                "{}.address: invalid address \"{text}\"; {expected}",
                self.table
            );
            self.err(value.span(), why)
        })
    }

    pub(super) fn missing(&self, example: &str) -> ConfigError {
        let why = format!(
            "no [[{0}]] defined; add at least one, such as: [[{0}]] {example}",
            self.table
        );
        ConfigError::whole(self.origin, why)
    }
}

/// Converts the raw file into a checked [`Config`].
/// Relative file paths are joined to `base_dir`.
pub(super) fn config(
    raw: RawConfig,
    text: &str,
    origin: &str,
    base_dir: &Path,
) -> Result<Config, ConfigError> {
    let ctx = Ctx {
        text,
        origin,
        table: "",
    };
    let runtime = runtime(ctx.table("runtime"), raw.runtime.as_ref())?;
    let limits = limits(ctx.table("limits"), raw.limits.as_ref())?;
    let listeners = listeners(ctx.table("listener"), &raw.listener, base_dir)?;
    let upstreams = upstreams(ctx.table("upstream"), &raw.upstream)?;
    let routes = super::route::routes(ctx.table("route"), &raw.route, &upstreams)?;
    let echo_origin = match &raw.echo_origin {
        None => None,
        Some(echo) => Some(echo_origin(ctx.table("echo_origin"), echo, &listeners)?),
    };
    Ok(Config {
        origin: origin.to_owned(),
        runtime,
        limits,
        listeners,
        upstreams,
        routes,
        echo_origin,
    })
}

fn runtime(ctx: Ctx<'_>, raw: Option<&RawRuntime>) -> Result<RuntimeConfig, ConfigError> {
    let d = RuntimeConfig::default();
    let Some(raw) = raw else {
        return Ok(d);
    };
    let workers = match &raw.workers {
        None => d.workers,
        Some(value) => match &value.get_ref().0 {
            TextOrInt::Text(text) if text == "auto" => Workers::Auto,
            TextOrInt::Int(n @ 1..=1024) => Workers::Count(usize::try_from(*n).unwrap_or(1)),
            other => {
                let got = match other {
                    TextOrInt::Text(text) => format!("\"{text}\""),
                    TextOrInt::Int(n) => n.to_string(),
                };
                let why = "runtime.workers must be \"auto\" or an integer from 1 to 1024";
                return Err(ctx.err(value.span(), format!("{why}, got {got}")));
            }
        },
    };
    Ok(RuntimeConfig {
        workers,
        shutdown_timeout: ctx.duration(
            &raw.shutdown_timeout,
            "shutdown_timeout",
            d.shutdown_timeout,
        )?,
    })
}

fn limits(ctx: Ctx<'_>, raw: Option<&RawLimits>) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let Some(raw) = raw else {
        return Ok(d);
    };
    let head = ctx.size(
        &raw.max_request_head,
        "max_request_head",
        1024..=1024 * 1024,
    )?;
    let body = ctx.size(&raw.max_request_body, "max_request_body", 0..=u64::MAX)?;
    Ok(Limits {
        max_request_head: head.map_or(d.max_request_head, |n| usize::try_from(n).unwrap_or(0)),
        max_headers: ctx.int(&raw.max_headers, "max_headers", d.max_headers, 1..=1000)?,
        client_header_timeout: ctx.timeout(
            &raw.client_header_timeout,
            "client_header_timeout",
            d.client_header_timeout,
        )?,
        client_body_timeout: ctx.timeout(
            &raw.client_body_timeout,
            "client_body_timeout",
            d.client_body_timeout,
        )?,
        keepalive_timeout: ctx.duration(
            &raw.keepalive_timeout,
            "keepalive_timeout",
            d.keepalive_timeout,
        )?,
        send_timeout: ctx.timeout(&raw.send_timeout, "send_timeout", d.send_timeout)?,
        max_request_body: body.unwrap_or(d.max_request_body),
        max_connections: ctx.int(
            &raw.max_connections,
            "max_connections",
            d.max_connections,
            1..=1_048_576,
        )?,
    })
}

fn listeners(
    ctx: Ctx<'_>,
    raw: &[RawListener],
    base_dir: &Path,
) -> Result<Vec<ListenerConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(ctx.missing("address = \"127.0.0.1:8080\""));
    }
    let mut listeners = Vec::with_capacity(raw.len());
    let mut first_line: HashMap<SocketAddr, usize> = HashMap::new();
    for listener in raw {
        let address = ctx.socket_addr(&listener.address)?;
        let span = listener.address.span();
        // Port 0 asks the kernel for a fresh port each time: never a clash.
        if address.port() != 0 {
            if let Some(line) = first_line.insert(address, ctx.line_of(span.clone())) {
                let why =
                    format!("duplicate listener address {address} (first defined on line {line})");
                return Err(ctx.err(span, why));
            }
        }
        let backlog = ctx.int(&listener.backlog, "backlog", 1024, 1..=65535)?;
        let tls = super::tls::listener_tls(ctx, listener, base_dir)?;
        listeners.push(ListenerConfig {
            address,
            backlog,
            tls,
        });
    }
    Ok(listeners)
}

fn upstreams(ctx: Ctx<'_>, raw: &[RawUpstream]) -> Result<Vec<UpstreamConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(ctx.missing("name = \"backend\" servers = [\"127.0.0.1:9000\"]"));
    }
    let mut upstreams: Vec<UpstreamConfig> = Vec::with_capacity(raw.len());
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for raw_upstream in raw {
        let upstream = upstream(ctx, raw_upstream)?;
        let (name, span) = (raw_upstream.name.get_ref(), raw_upstream.name.span());
        if let Some(line) = first_line.insert(name, ctx.line_of(span.clone())) {
            let why = format!("duplicate upstream name \"{name}\" (first defined on line {line})");
            return Err(ctx.err(span, why));
        }
        upstreams.push(upstream);
    }
    Ok(upstreams)
}

fn upstream(ctx: Ctx<'_>, raw: &RawUpstream) -> Result<UpstreamConfig, ConfigError> {
    let name = raw.name.get_ref();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let why =
            format!("invalid upstream name \"{name}\"; expected a non-empty name without spaces");
        return Err(ctx.err(raw.name.span(), why));
    }
    if raw.servers.get_ref().is_empty() {
        let why = format!("upstream \"{name}\" has no servers; list at least one, such as servers = [\"127.0.0.1:9000\"]");
        return Err(ctx.err(raw.servers.span(), why));
    }
    let mut servers = Vec::new();
    for server in raw.servers.get_ref() {
        servers.extend(parse_server(server.get_ref()).map_err(|why| ctx.err(server.span(), why))?);
    }
    let secs = Duration::from_secs;
    Ok(UpstreamConfig {
        name: name.clone(),
        servers,
        connect_timeout: ctx.timeout(&raw.connect_timeout, "connect_timeout", secs(5))?,
        read_timeout: ctx.timeout(&raw.read_timeout, "read_timeout", secs(60))?,
        send_timeout: ctx.timeout(&raw.send_timeout, "send_timeout", secs(60))?,
        keepalive_idle: ctx.duration(&raw.keepalive_idle, "keepalive_idle", secs(60))?,
        max_idle_per_server: ctx.int(
            &raw.max_idle_per_server,
            "max_idle_per_server",
            32,
            0..=65535,
        )?,
    })
}

fn echo_origin(
    ctx: Ctx<'_>,
    raw: &RawEchoOrigin,
    listeners: &[ListenerConfig],
) -> Result<EchoOriginConfig, ConfigError> {
    let address = ctx.socket_addr(&raw.address)?;
    if address.port() != 0 && listeners.iter().any(|l| l.address == address) {
        let why = format!("echo_origin.address {address} is also a [[listener]] address; the echo origin needs its own address");
        return Err(ctx.err(raw.address.span(), why));
    }
    Ok(EchoOriginConfig { address })
}
