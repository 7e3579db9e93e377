//! Header field names portier acts on and the grammars of their values
//! (RFC 9110 §5 and the sections cited at each function). Pure functions over
//! byte slices: no allocation, no panics on any input.

use crate::http1::framing::MAX_CONTENT_LENGTH;

/// A field name portier recognises (RFC 9110 §5.1: names are
/// case-insensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Trailer,
    Upgrade,
    Expect,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    XRealIp,
    Forwarded,
    Other,
}

/// Classifies a field name, case-insensitively. Dispatches on the length
/// first so that the common unrelated names cost one comparison at most.
pub fn classify(name: &[u8]) -> Field {
    use Field::*;
    let candidates: &[(&[u8], Field)] = match name.len() {
        2 => &[(b"te", Te)],
        4 => &[(b"host", Host)],
        6 => &[(b"expect", Expect)],
        7 => &[(b"upgrade", Upgrade), (b"trailer", Trailer)],
        9 => &[(b"forwarded", Forwarded), (b"x-real-ip", XRealIp)],
        10 => &[(b"connection", Connection), (b"keep-alive", KeepAlive)],
        14 => &[(b"content-length", ContentLength)],
        15 => &[(b"x-forwarded-for", XForwardedFor)],
        16 => &[
            (b"x-forwarded-host", XForwardedHost),
            (b"proxy-connection", ProxyConnection),
        ],
        17 => &[
            (b"transfer-encoding", TransferEncoding),
            (b"x-forwarded-proto", XForwardedProto),
        ],
        _ => &[],
    };
    candidates
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map_or(Other, |&(_, f)| f)
}

/// tchar (RFC 9110 §5.6.2).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// token = 1*tchar (RFC 9110 §5.6.2).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Removes OWS (SP / HTAB, RFC 9110 §5.6.3) from both ends.
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed;
/// empty elements are skipped as the RFC requires of recipients.
pub fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Content-Length = 1*DIGIT (RFC 9110 §8.6), at most [`MAX_CONTENT_LENGTH`].
/// A comma list of identical values is accepted as that value (RFC 9110
/// §8.6 allows it); differing values, empty elements, signs, inner spaces
/// and hexadecimal are rejected.
pub fn content_length(v: &[u8]) -> Result<u64, &'static str> {
    let mut value = None;
    for element in v.split(|&b| b == b',') {
        let n = decimal(trim_ows(element))?;
        match value {
            Some(prev) if prev != n => return Err("differing Content-Length values"),
            _ => value = Some(n),
        }
    }
    value.ok_or("empty Content-Length")
}

fn decimal(digits: &[u8]) -> Result<u64, &'static str> {
    if digits.is_empty() {
        return Err("empty Content-Length");
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err("invalid Content-Length");
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or("Content-Length too large")?;
    }
    if n > MAX_CONTENT_LENGTH {
        return Err("Content-Length too large");
    }
    Ok(n)
}

/// Transfer codings seen over all Transfer-Encoding fields of a message
/// (RFC 9112 §6.1), in order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Codings {
    pub count: u32,
    pub chunked: u32,
    pub other: bool,
    pub last_is_chunked: bool,
}

/// What the codings mean for framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodingsVerdict {
    /// Exactly one coding, `chunked`.
    Chunked,
    /// Other codings precede a single final `chunked` (valid HTTP, but
    /// portier does not implement them).
    OtherThenChunked,
    /// The message is invalid; the reason says why.
    Invalid(&'static str),
}

impl Codings {
    /// Adds the codings of one Transfer-Encoding field value.
    pub fn add(&mut self, v: &[u8]) -> Result<(), &'static str> {
        for element in list_elements(v) {
            // transfer-coding = token *( OWS ";" OWS transfer-parameter )
            let (name, params) = match element.iter().position(|&b| b == b';') {
                Some(i) => (trim_ows(element.get(..i).unwrap_or_default()), true),
                None => (element, false),
            };
            if !is_token(name) {
                return Err("invalid transfer coding");
            }
            self.count = self.count.saturating_add(1);
            if name.eq_ignore_ascii_case(b"chunked") {
                if params {
                    // chunked defines no parameters (RFC 9112 §7).
                    return Err("chunked transfer coding with parameters");
                }
                self.chunked = self.chunked.saturating_add(1);
                self.last_is_chunked = true;
            } else {
                self.other = true;
                self.last_is_chunked = false;
            }
        }
        Ok(())
    }

    pub fn verdict(&self) -> CodingsVerdict {
        if self.count == 0 {
            CodingsVerdict::Invalid("empty Transfer-Encoding")
        } else if self.chunked > 1 {
            // RFC 9112 §7: a sender MUST NOT apply chunked more than once.
            CodingsVerdict::Invalid("chunked applied more than once")
        } else if !self.last_is_chunked {
            // RFC 9112 §6.3 rule 4: in a request this is a 400.
            CodingsVerdict::Invalid("final transfer coding is not chunked")
        } else if self.other {
            CodingsVerdict::OtherThenChunked
        } else {
            CodingsVerdict::Chunked
        }
    }
}

/// The options of all Connection fields of a message (RFC 9110 §7.6.1,
/// RFC 9112 §9.3): connection-option = token.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
    /// Some option names another field, which is then hop-by-hop.
    pub names_fields: bool,
    /// Options seen so far, over all Connection fields.
    pub count: u32,
}

/// Connection options accepted in one message. Real clients send one to
/// three; the bound keeps the check of named fields (fields x options)
/// cheap whatever a client sends.
pub const MAX_CONNECTION_OPTIONS: u32 = 32;

impl ConnectionOptions {
    /// Adds the options of one Connection field value.
    pub fn add(&mut self, v: &[u8]) -> Result<(), &'static str> {
        for option in list_elements(v) {
            if !is_token(option) {
                return Err("invalid Connection option");
            }
            self.count = self.count.saturating_add(1);
            if self.count > MAX_CONNECTION_OPTIONS {
                return Err("too many Connection options");
            }
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if option.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            } else {
                self.names_fields = true;
            }
        }
        Ok(())
    }
}

/// Host = uri-host [ ":" port ] (RFC 9110 §7.2), restricted to what a DNS
/// name or an IP literal can be: `name[:port]` with name made of ASCII
/// letters, digits, '-', '.', '_', or `[IPv6]` with an optional port. Empty,
/// userinfo, spaces, commas, slashes, zone ids and IPvFuture are rejected.
pub fn valid_host(v: &[u8]) -> bool {
    let (host_ok, port) = if let Some(rest) = v.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = rest.get(..close).unwrap_or_default();
        let after = rest.get(close + 1..).unwrap_or_default();
        let ipv6 = std::str::from_utf8(literal)
            .ok()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
            .is_some();
        match after {
            [] => (ipv6, None),
            [b':', port @ ..] => (ipv6, Some(port)),
            _ => return false,
        }
    } else {
        let (name, port) = match v.iter().position(|&b| b == b':') {
            Some(i) => (v.get(..i).unwrap_or_default(), v.get(i + 1..)),
            None => (v, None),
        };
        let name_ok = (1..=253).contains(&name.len())
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        (name_ok, port)
    };
    host_ok && port.is_none_or(valid_port)
}

fn valid_port(p: &[u8]) -> bool {
    (1..=5).contains(&p.len())
        && p.iter().all(u8::is_ascii_digit)
        && p.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_case_insensitively() {
        let cases: &[(&[u8], Field)] = &[
            (b"Host", Field::Host),
            (b"HOST", Field::Host),
            (b"content-LENGTH", Field::ContentLength),
            (b"Transfer-Encoding", Field::TransferEncoding),
            (b"connection", Field::Connection),
            (b"Keep-Alive", Field::KeepAlive),
            (b"Proxy-Connection", Field::ProxyConnection),
            (b"TE", Field::Te),
            (b"Trailer", Field::Trailer),
            (b"Upgrade", Field::Upgrade),
            (b"Expect", Field::Expect),
            (b"X-Forwarded-For", Field::XForwardedFor),
            (b"X-Forwarded-Proto", Field::XForwardedProto),
            (b"x-forwarded-host", Field::XForwardedHost),
            (b"X-Real-IP", Field::XRealIp),
            (b"Forwarded", Field::Forwarded),
            (b"Accept", Field::Other),
            (b"Hosts", Field::Other),
            (b"Content-Type", Field::Other),
            (b"Transfer-Encodinx", Field::Other),
            (b"", Field::Other),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name), *want, "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn content_length_grammar() {
        assert_eq!(content_length(b"0"), Ok(0));
        assert_eq!(content_length(b"0042"), Ok(42));
        assert_eq!(content_length(b"5, 5,5"), Ok(5));
        assert_eq!(content_length(b"9223372036854775808"), Ok(1 << 63));
        for bad in [
            &b""[..],
            b"+5",
            b"-5",
            b"5 5",
            b"0x10",
            b"a",
            b"5,6",
            b"5,",
            b",5",
            b"9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert!(
                content_length(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn transfer_coding_verdicts() {
        let verdict = |vals: &[&[u8]]| {
            let mut c = Codings::default();
            for v in vals {
                c.add(v)?;
            }
            Ok::<_, &str>(c.verdict())
        };
        assert_eq!(verdict(&[b"chunked"]), Ok(CodingsVerdict::Chunked));
        assert_eq!(verdict(&[b" CHUNKED "]), Ok(CodingsVerdict::Chunked));
        assert_eq!(
            verdict(&[b"gzip, chunked"]),
            Ok(CodingsVerdict::OtherThenChunked)
        );
        assert_eq!(
            verdict(&[b"gzip", b"chunked"]),
            Ok(CodingsVerdict::OtherThenChunked)
        );
        assert!(matches!(
            verdict(&[b"chunked, gzip"]),
            Ok(CodingsVerdict::Invalid(_))
        ));
        assert!(matches!(
            verdict(&[b"chunked", b"chunked"]),
            Ok(CodingsVerdict::Invalid(_))
        ));
        assert!(matches!(verdict(&[b""]), Ok(CodingsVerdict::Invalid(_))));
        assert!(matches!(verdict(&[b" , "]), Ok(CodingsVerdict::Invalid(_))));
        assert!(verdict(&[b"chunked;a=b"]).is_err());
        assert!(verdict(&[b"chu nked"]).is_err());
    }

    #[test]
    fn host_grammar() {
        for good in [
            &b"example.com"[..],
            b"example.com:8080",
            b"a",
            b"10.0.0.1:80",
            b"[::1]",
            b"[2001:db8::1]:443",
            b"under_score.example",
        ] {
            assert!(valid_host(good), "{}", String::from_utf8_lossy(good));
        }
        for bad in [
            &b""[..],
            b":80",
            b"user@example.com",
            b"exa mple.com",
            b"a.com,b.com",
            b"a.com/x",
            b"a.com:",
            b"a.com:65536",
            b"a.com:123456",
            b"a.com:8a",
            b"a.com:80:80",
            b"[::1",
            b"[::1]x",
            b"[fe80::1%eth0]",
            b"[v1.x]",
            b"[]",
            b"::1",
        ] {
            assert!(!valid_host(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn connection_options() {
        let mut c = ConnectionOptions::default();
        c.add(b"Keep-Alive, x-private").unwrap();
        c.add(b"CLOSE").unwrap();
        assert!(c.close && c.keep_alive && !c.upgrade && c.names_fields);
        assert!(ConnectionOptions::default().add(b"close, a b").is_err());
        assert!(ConnectionOptions::default().add(b"\"close\"").is_err());
        let many = "a,".repeat(MAX_CONNECTION_OPTIONS as usize);
        let mut c = ConnectionOptions::default();
        c.add(many.as_bytes()).unwrap();
        assert_eq!(c.add(b"b"), Err("too many Connection options"));
    }

    #[test]
    fn list_and_tokens() {
        let v: Vec<&[u8]> = list_elements(b" a ,, b\t,").collect();
        assert_eq!(v, [&b"a"[..], b"b"]);
        assert!(is_token(b"keep-alive"));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b""));
    }
}
