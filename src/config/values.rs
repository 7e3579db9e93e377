//! How single values are written: durations, sizes, route host patterns
//! and upstream server addresses. Each parser returns a message that quotes
//! the input and says what was expected; `validate` adds the key and the
//! position. Other modules may reuse these (re-exported from `config`).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{HostPattern, ServerAddr};

/// The longest duration accepted anywhere in the configuration (365 days);
/// longer values are almost certainly mistakes and would overflow `Instant`
/// arithmetic elsewhere.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

const UNITS_HINT: &str = "expected an integer and a unit (ms, s, m or h), such as \"60s\"";
const SIZE_HINT: &str =
    "expected an integer with an optional suffix k, M or G (powers of 1024), such as \"16k\"";

/// Parses `"500ms"`, `"60s"`, `"2m"`, `"1h"`: an unsigned integer directly
/// followed by a unit. No fractions, signs, spaces or missing units.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail = |why: &str| format!("invalid duration \"{text}\": {why}");
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if text.starts_with('-') {
        return Err(fail("negative durations are not allowed"));
    }
    if digits.is_empty() {
        return Err(fail(UNITS_HINT));
    }
    if unit.starts_with('.') {
        return Err(fail(
            "fractions are not supported; use a smaller unit, such as \"1500ms\"",
        ));
    }
    if unit.is_empty() {
        return Err(fail(&format!(
            "missing unit; write \"{digits}s\" for seconds (units: ms, s, m, h)"
        )));
    }
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(fail(&format!("unknown unit \"{unit}\"; {UNITS_HINT}"))),
    };
    let too_large = || {
        fail(&format!(
            "too large (the maximum is {}h)",
            MAX_DURATION.as_secs() / 3600
        ))
    };
    let millis = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis_per_unit))
        .ok_or_else(too_large)?;
    let duration = Duration::from_millis(millis);
    if duration > MAX_DURATION {
        return Err(too_large());
    }
    Ok(duration)
}

/// Parses `"16k"`, `"32M"`, `"1G"` (k/K = 1024, m/M = 1024², g/G = 1024³)
/// or a plain integer number of bytes (`"4096"`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let fail = |why: &str| format!("invalid size \"{text}\": {why}");
    let (digits, multiplier) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    if text.starts_with('-') {
        return Err(fail("negative sizes are not allowed"));
    }
    if digits.contains('.') && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(fail(
            "fractions are not supported; use a smaller unit, such as \"1536k\"",
        ));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(SIZE_HINT));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| fail("too large"))
}

/// Parses a route host pattern: `"example.org"` or `"*.example.org"`,
/// lowercased. No ports, no empty labels, `*` only as a leading `*.` label.
pub fn parse_host_pattern(text: &str) -> Result<HostPattern, String> {
    let fail = |why: &str| format!("invalid host \"{text}\": {why}");
    let lower = text.to_ascii_lowercase();
    let (name, wildcard) = match lower.strip_prefix("*.") {
        Some(rest) => (rest, true),
        None => (lower.as_str(), false),
    };
    if lower.is_empty() {
        return Err(fail("empty host name; omit `host` to match any host"));
    }
    if name.contains(':') {
        return Err(fail(
            "host patterns must not contain a port or an IPv6 address",
        ));
    }
    if name.contains('*') {
        return Err(fail(
            "'*' is only allowed as a whole first label, as in \"*.example.org\"",
        ));
    }
    if name.len() > 253 {
        return Err(fail("longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(fail(
                "empty label (two dots in a row, or a leading or trailing dot)",
            ));
        }
        if label.len() > 63 {
            return Err(fail("a label is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(fail(&format!(
                "invalid character {c:?}; expected letters, digits, '-', '_' and '.'"
            )));
        }
    }
    Ok(if wildcard {
        HostPattern::Wildcard(format!(".{name}"))
    } else {
        HostPattern::Exact(name.to_owned())
    })
}

/// Parses and resolves one upstream server: `"127.0.0.1:9000"`,
/// `"[::1]:9000"`, `"app.internal:80"` (every address it resolves to, in
/// resolver order) or `"unix:/run/app.sock"`.
pub fn parse_server(text: &str) -> Result<Vec<ServerAddr>, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        if !Path::new(path).is_absolute() {
            return Err(format!(
                "invalid server \"{text}\": the unix socket path must be absolute, such as \"unix:/run/app.sock\""
            ));
        }
        return Ok(vec![ServerAddr::Unix(PathBuf::from(path))]);
    }
    let port_zero = || format!("invalid server \"{text}\": port 0 is not allowed");
    if let Ok(addr) = text.parse::<SocketAddr>() {
        if addr.port() == 0 {
            return Err(port_zero());
        }
        return Ok(vec![ServerAddr::Tcp(addr)]);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let example = SocketAddr::new(ip, 80);
        let why = match ip {
            IpAddr::V4(_) => "missing port",
            IpAddr::V6(_) => "IPv6 addresses are written in brackets with a port",
        };
        return Err(format!(
            "invalid server \"{text}\": {why}; write \"{example}\""
        ));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "invalid server \"{text}\": missing port; expected host:port, such as \"{text}:80\""
        ));
    };
    if host.contains(':') || host.starts_with('[') {
        return Err(format!(
            "invalid server \"{text}\": expected an IPv6 address in brackets with a port, such as \"[::1]:80\""
        ));
    }
    let port: u16 = port.parse().map_err(|_| {
        format!("invalid server \"{text}\": invalid port \"{port}\" (expected 1-65535)")
    })?;
    if port == 0 {
        return Err(port_zero());
    }
    if !matches!(parse_host_pattern(host), Ok(HostPattern::Exact(_))) {
        return Err(format!(
            "invalid server \"{text}\": expected host:port with a valid host name, such as \"app.internal:80\""
        ));
    }
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?;
    let mut servers: Vec<ServerAddr> = Vec::new();
    for addr in addrs {
        let server = ServerAddr::Tcp(addr);
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    if servers.is_empty() {
        return Err(format!("cannot resolve {host}:{port}: no addresses found"));
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = |s: &str| parse_duration(s).unwrap();
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("0ms"), Duration::ZERO);
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("60s"), Duration::from_secs(60));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("007s"), Duration::from_secs(7));
        assert_eq!(ok("8760h"), MAX_DURATION);
        let bad = |s: &str, why: &str| {
            let e = parse_duration(s).unwrap_err();
            assert!(e.starts_with(&format!("invalid duration \"{s}\": ")), "{e}");
            assert!(e.contains(why), "{s}: {e}");
        };
        bad("10", "missing unit; write \"10s\"");
        bad("-1s", "negative");
        bad("1.5s", "fractions");
        bad("", "expected an integer and a unit");
        bad("s", "expected an integer and a unit");
        bad("+1s", "expected an integer and a unit");
        bad(" 1s", "expected an integer and a unit");
        bad("1 s", "unknown unit \" s\"");
        bad("1S", "unknown unit \"S\"");
        bad("1d", "unknown unit \"d\"");
        bad("1sec", "unknown unit");
        bad("1s ", "unknown unit");
        bad("8761h", "too large");
        bad("525601m", "too large");
        bad("18446744073709551615ms", "too large");
        bad("18446744073709551616s", "too large");
        bad("5124095576030432h", "too large"); // overflows u64 milliseconds
    }

    #[test]
    fn sizes() {
        let ok = |s: &str| parse_size(s).unwrap();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("4096"), 4096);
        assert_eq!(ok("16k"), 16 * 1024);
        assert_eq!(ok("16K"), 16 * 1024);
        assert_eq!(ok("32M"), 32 << 20);
        assert_eq!(ok("32m"), 32 << 20);
        assert_eq!(ok("1G"), 1 << 30);
        assert_eq!(ok("1g"), 1 << 30);
        assert_eq!(ok("18446744073709551615"), u64::MAX);
        assert_eq!(ok("17179869183G"), 17_179_869_183 << 30);
        let bad = |s: &str, why: &str| {
            let e = parse_size(s).unwrap_err();
            assert!(e.starts_with(&format!("invalid size \"{s}\": ")), "{e}");
            assert!(e.contains(why), "{s}: {e}");
        };
        bad("-1", "negative");
        bad("-1k", "negative");
        bad("1.5M", "fractions");
        bad("", "expected an integer");
        bad("k", "expected an integer");
        bad("16kb", "expected an integer");
        bad("16KiB", "expected an integer");
        bad("16 k", "expected an integer");
        bad("1T", "expected an integer");
        bad("18446744073709551616", "too large");
        bad("17179869184G", "too large");
        bad("99999999999999999999k", "too large");
    }

    #[test]
    fn host_patterns() {
        let exact = |s: &str| HostPattern::Exact(s.into());
        assert_eq!(parse_host_pattern("Example.ORG"), Ok(exact("example.org")));
        assert_eq!(parse_host_pattern("localhost"), Ok(exact("localhost")));
        assert_eq!(parse_host_pattern("10.0.0.1"), Ok(exact("10.0.0.1")));
        assert_eq!(
            parse_host_pattern("my_app-1.internal"),
            Ok(exact("my_app-1.internal"))
        );
        let wild = parse_host_pattern("*.Example.org").unwrap();
        assert_eq!(wild, HostPattern::Wildcard(".example.org".into()));
        assert_eq!(wild.to_string(), "*.example.org");
        assert!(wild.matches("a.example.org") && wild.matches("a.b.example.org"));
        assert!(!wild.matches("example.org") && !wild.matches(".example.org"));
        assert!(!wild.matches("aexample.org"));
        assert!(exact("example.org").matches("example.org"));
        assert!(!exact("example.org").matches("a.example.org"));
        let bad = |s: &str, why: &str| {
            let e = parse_host_pattern(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        };
        bad("", "empty host name");
        bad("example.org:80", "port");
        bad("[::1]", "port or an IPv6");
        bad("a..b", "empty label");
        bad(".example.org", "empty label");
        bad("example.org.", "empty label");
        bad("*.", "empty label");
        bad("*", "'*' is only allowed");
        bad("*example.org", "'*' is only allowed");
        bad("a.*.org", "'*' is only allowed");
        bad("*.*.org", "'*' is only allowed");
        bad("ex ample.org", "invalid character ' '");
        bad("a/b", "invalid character '/'");
        bad("exämple.org", "invalid character");
        bad(&"a".repeat(64), "63");
        bad(&["a"; 130].join("."), "253");
    }

    #[test]
    fn servers() {
        let tcp = |s: &str| ServerAddr::Tcp(s.parse().unwrap());
        assert_eq!(parse_server("127.0.0.1:80"), Ok(vec![tcp("127.0.0.1:80")]));
        assert_eq!(parse_server("[::1]:9000"), Ok(vec![tcp("[::1]:9000")]));
        let unix = parse_server("unix:/run/app.sock").unwrap();
        assert_eq!(unix, vec![ServerAddr::Unix("/run/app.sock".into())]);
        assert_eq!(unix[0].to_string(), "unix:/run/app.sock");
        assert_eq!(tcp("[::1]:80").to_string(), "[::1]:80");
        // localhost is in /etc/hosts: 127.0.0.1 and/or ::1, no duplicates.
        let local = parse_server("localhost:80").unwrap();
        assert!(!local.is_empty() && local.len() <= 2, "{local:?}");
        for s in &local {
            assert!(*s == tcp("127.0.0.1:80") || *s == tcp("[::1]:80"), "{s}");
        }
        assert_eq!(
            parse_server("LocalHost:80").map(|v| v.len()),
            Ok(local.len())
        );
        let bad = |s: &str, why: &str| {
            let e = parse_server(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        };
        bad("127.0.0.1", "missing port; write \"127.0.0.1:80\"");
        bad("::1", "brackets with a port; write \"[::1]:80\"");
        bad("localhost", "missing port");
        bad("127.0.0.1:0", "port 0");
        bad("localhost:0", "port 0");
        bad("localhost:65536", "invalid port \"65536\"");
        bad("localhost:", "invalid port \"\"");
        bad(":80", "valid host name");
        bad("*.example.org:80", "valid host name");
        bad("a b:80", "valid host name");
        bad("[::1:80", "brackets");
        bad("unix:run/app.sock", "must be absolute");
        bad("unix:", "must be absolute");
        bad(
            "no-such-host.invalid:80",
            "cannot resolve no-such-host.invalid:80: ",
        );
    }
}
