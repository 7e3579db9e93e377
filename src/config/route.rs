//! `[[route]]` tables --> [`RouteConfig`]: host and path matching, what the
//! route does (proxy to an upstream, redirect, or respond itself), and the
//! response settings (ACME webroot, HSTS, header edits). Part of `validate`,
//! with the same rule: the first problem found, at the offending value.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{HeaderValues, HostList, HstsValue, RawResponseHeaders, RawRoute};
use super::validate::Ctx;
use super::values::parse_host_pattern;
use super::{
    ConfigError, HostPattern, HstsConfig, Redirect, ResponseHeaders, RouteConfig, UpstreamConfig,
};

/// Header fields that portier itself manages (message framing and the
/// connection); a route may neither set nor remove them.
const MANAGED_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub(super) fn routes(
    ctx: Ctx<'_>,
    raw: &[Spanned<RawRoute>],
    upstreams: &[UpstreamConfig],
) -> Result<Vec<RouteConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(ctx.missing("upstream = \"backend\""));
    }
    let mut routes = Vec::with_capacity(raw.len());
    // A redirect = "https" route matches plaintext requests only, so it may
    // share its host and path with one route that serves HTTPS.
    type Identity = (BTreeSet<HostPattern>, Option<String>, bool);
    let mut first_line: HashMap<Identity, usize> = HashMap::new();
    for raw_route in raw {
        let route = route(ctx, raw_route, upstreams)?;
        let identity = (
            route.hosts.iter().cloned().collect(),
            route.path.clone(),
            route.redirect.is_some(),
        );
        if let Some(line) = first_line.insert(identity, ctx.line_of(raw_route.span())) {
            let why = format!("this route has the same host and path as the route on line {line}, so it would never match");
            return Err(ctx.err(raw_route.span(), why));
        }
        routes.push(route);
    }
    Ok(routes)
}

fn route(
    ctx: Ctx<'_>,
    spanned: &Spanned<RawRoute>,
    upstreams: &[UpstreamConfig],
) -> Result<RouteConfig, ConfigError> {
    let raw = spanned.get_ref();
    let mut hosts: Vec<HostPattern> = Vec::new();
    if let Some(list) = &raw.host {
        let items: Vec<(&str, Range<usize>)> = match list.get_ref() {
            HostList::One(text) => vec![(text.as_str(), list.span())],
            HostList::Many(items) => items
                .iter()
                .map(|h| (h.get_ref().as_str(), h.span()))
                .collect(),
        };
        if items.is_empty() {
            let why = "route.host is an empty list; omit `host` to match any host";
            return Err(ctx.err(list.span(), why));
        }
        for (text, span) in items {
            let pattern = parse_host_pattern(text)
                .map_err(|why| ctx.err(span.clone(), format!("route.host: {why}")))?;
            if hosts.contains(&pattern) {
                return Err(ctx.err(span, format!("route.host: \"{text}\" is listed twice")));
            }
            hosts.push(pattern);
        }
    }
    let path = match &raw.path {
        None => None,
        Some(path) => Some(route_path(ctx, path)?),
    };
    let (upstream, redirect, respond) = action(ctx, spanned, upstreams)?;
    let acme_webroot = match &raw.acme_webroot {
        None => None,
        Some(dir) if Path::new(dir.get_ref()).is_absolute() => Some(PathBuf::from(dir.get_ref())),
        Some(dir) => {
            let why = format!(
                "route.acme_webroot must be an absolute path, such as \"/var/www/acme\", got \"{}\"",
                dir.get_ref()
            );
            return Err(ctx.err(dir.span(), why));
        }
    };
    let hsts = match &raw.hsts {
        None => None,
        Some(value) => Some(hsts(ctx, value)?),
    };
    let response_headers = match &raw.response_headers {
        None => ResponseHeaders::default(),
        Some(headers) => response_headers(ctx, headers)?,
    };
    Ok(RouteConfig {
        hosts,
        path,
        upstream,
        redirect,
        respond,
        acme_webroot,
        hsts,
        response_headers,
        max_request_body: ctx.size(&raw.max_request_body, "max_request_body", 0..=u64::MAX)?,
    })
}

fn route_path(ctx: Ctx<'_>, path: &Spanned<String>) -> Result<String, ConfigError> {
    let text = path.get_ref();
    if !text.starts_with('/') {
        let why = format!("route.path must start with '/', got \"{text}\"");
        return Err(ctx.err(path.span(), why));
    }
    let unwanted = |c: &char| c.is_whitespace() || c.is_control() || *c == '?' || *c == '#';
    if let Some(c) = text.chars().find(unwanted) {
        let why = format!(
            "route.path \"{text}\" contains {c:?}; expected a plain path prefix such as \"/api/\""
        );
        return Err(ctx.err(path.span(), why));
    }
    Ok(text.clone())
}

/// What a route does: `upstream`, `redirect` and `respond`, one of them set.
type Action = (Option<usize>, Option<Redirect>, Option<u16>);

/// What the route does: exactly one of `upstream`, `redirect`, `respond`.
fn action(
    ctx: Ctx<'_>,
    spanned: &Spanned<RawRoute>,
    upstreams: &[UpstreamConfig],
) -> Result<Action, ConfigError> {
    let raw = spanned.get_ref();
    let exclusive = "a route either proxies to an upstream, redirects, or responds itself";
    match (&raw.upstream, &raw.redirect, &raw.respond) {
        (None, None, None) => {
            let example = upstreams.first().map_or("backend", |u| u.name.as_str());
            let why = format!(
                "this route has no upstream, redirect or respond; add one, such as upstream = \"{example}\""
            );
            return Err(ctx.err(spanned.span(), why));
        }
        (Some(_), Some(redirect), _) => {
            let why = format!("route.redirect cannot be combined with upstream; {exclusive}");
            return Err(ctx.err(redirect.span(), why));
        }
        (Some(_), None, Some(respond)) => {
            let why = format!("route.respond cannot be combined with upstream; {exclusive}");
            return Err(ctx.err(respond.span(), why));
        }
        (None, Some(_), Some(respond)) => {
            let why = format!("route.respond cannot be combined with redirect; {exclusive}");
            return Err(ctx.err(respond.span(), why));
        }
        _ => {}
    }
    let upstream = match &raw.upstream {
        None => None,
        Some(wanted) => {
            let name = wanted.get_ref();
            let Some(index) = upstreams.iter().position(|u| &u.name == name) else {
                let defined: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                let why = format!(
                    "unknown upstream \"{name}\"; defined upstreams: {}",
                    defined.join(", ")
                );
                return Err(ctx.err(wanted.span(), why));
            };
            Some(index)
        }
    };
    let redirect = match &raw.redirect {
        None => None,
        Some(value) if value.get_ref() == "https" => Some(Redirect::Https),
        Some(value) => {
            let why = format!(
                "route.redirect must be \"https\", got \"{}\"",
                value.get_ref()
            );
            return Err(ctx.err(value.span(), why));
        }
    };
    let respond = match &raw.respond {
        None => None,
        Some(_) => Some(ctx.int(&raw.respond, "respond", 0u16, 100..=599)?),
    };
    Ok((upstream, redirect, respond))
}

fn hsts(ctx: Ctx<'_>, value: &Spanned<HstsValue>) -> Result<HstsConfig, ConfigError> {
    let example = "\"max-age=63072000; includeSubDomains\"";
    let text = match value.get_ref() {
        HstsValue::Bool(false) => return Ok(HstsConfig::Off),
        HstsValue::Bool(true) => {
            let why = format!("route.hsts = true is not accepted; omit hsts for the default on TLS listeners, write false to send none, or a value such as {example}");
            return Err(ctx.err(value.span(), why));
        }
        HstsValue::Text(text) => text,
    };
    // "max-age=" and digits, then nothing or more directives after a ';'.
    let well_formed = text.strip_prefix("max-age=").is_some_and(|rest| {
        let after = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        after.len() < rest.len() && (after.is_empty() || after.trim_start().starts_with(';'))
    });
    if !well_formed || text.contains(['\r', '\n', '\0']) {
        let why = format!(
            "route.hsts: invalid value \"{}\"; expected false or \"max-age=\" and a number of seconds, such as {example}",
            text.escape_debug()
        );
        return Err(ctx.err(value.span(), why));
    }
    Ok(HstsConfig::Value(text.clone()))
}

fn response_headers(
    ctx: Ctx<'_>,
    raw: &RawResponseHeaders,
) -> Result<ResponseHeaders, ConfigError> {
    let HeaderValues(fields) = &raw.set;
    let mut set: Vec<(String, String)> = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        let lower = header_name(ctx, name, "set")?;
        if lower == "strict-transport-security" {
            let why = "route.response_headers.set: Strict-Transport-Security is set with route.hsts, such as hsts = \"max-age=63072000\"";
            return Err(ctx.err(name.span(), why));
        }
        if set.iter().any(|(n, _)| n.eq_ignore_ascii_case(&lower)) {
            let why = format!(
                "route.response_headers.set: \"{}\" is listed twice",
                name.get_ref()
            );
            return Err(ctx.err(name.span(), why));
        }
        if value.get_ref().contains(['\r', '\n', '\0']) {
            let why = format!(
                "route.response_headers.set: the value of \"{}\" contains a line break or NUL",
                name.get_ref()
            );
            return Err(ctx.err(value.span(), why));
        }
        set.push((name.get_ref().clone(), value.get_ref().clone()));
    }
    let mut remove: Vec<String> = Vec::with_capacity(raw.remove.len());
    for name in &raw.remove {
        let lower = header_name(ctx, name, "remove")?;
        let text = name.get_ref();
        let why = if remove.contains(&lower) {
            format!("route.response_headers.remove: \"{text}\" is listed twice")
        } else if set.iter().any(|(n, _)| n.eq_ignore_ascii_case(&lower)) {
            format!(
                "route.response_headers.remove: \"{text}\" is also in set; set already replaces it"
            )
        } else {
            remove.push(lower);
            continue;
        };
        return Err(ctx.err(name.span(), why));
    }
    Ok(ResponseHeaders { set, remove })
}

/// Checks a header name in `response_headers.<list>`; returns it lowercased.
fn header_name(ctx: Ctx<'_>, name: &Spanned<String>, list: &str) -> Result<String, ConfigError> {
    let text = name.get_ref();
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let why = if text.is_empty() || !text.chars().all(tchar) {
        format!(
            "route.response_headers.{list}: invalid header name \"{}\"; expected letters, digits and !#$%&'*+-.^_`|~",
            text.escape_debug()
        )
    } else if MANAGED_HEADERS.contains(&text.to_ascii_lowercase().as_str()) {
        format!("route.response_headers.{list}: {text} is managed by portier (framing and connection handling) and cannot be set or removed")
    } else {
        return Ok(text.to_ascii_lowercase());
    };
    Err(ctx.err(name.span(), why))
}
