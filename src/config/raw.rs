//! The configuration file as written: serde structs that mirror the TOML
//! layout key for key. Unknown keys are refused everywhere, and every value
//! whose meaning is checked later keeps its span (`toml::Spanned`) so that
//! `validate` can point at it.
//!
//! Values that accept more than one TOML type (a duration written as a bare
//! integer, `workers = "auto"` or a number, `host` as a string or an array,
//! `hsts` as `false` or a string, `response_headers.set` in file order)
//! have small hand-written deserializers whose "expected ..." wording is what
//! the operator sees when the type is wrong.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub runtime: Option<RawRuntime>,
    pub limits: Option<RawLimits>,
    #[serde(default, deserialize_with = "listener_tables")]
    pub listener: Vec<RawListener>,
    #[serde(default, deserialize_with = "upstream_tables")]
    pub upstream: Vec<RawUpstream>,
    #[serde(default, deserialize_with = "route_tables")]
    pub route: Vec<Spanned<RawRoute>>,
    pub echo_origin: Option<RawEchoOrigin>,
}

/// `[runtime]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    pub workers: Option<Spanned<WorkersValue>>,
    pub shutdown_timeout: Option<Spanned<DurationValue>>,
}

/// `[limits]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_request_head: Option<Spanned<SizeValue>>,
    pub max_headers: Option<Spanned<Int>>,
    pub client_header_timeout: Option<Spanned<DurationValue>>,
    pub client_body_timeout: Option<Spanned<DurationValue>>,
    pub keepalive_timeout: Option<Spanned<DurationValue>>,
    pub send_timeout: Option<Spanned<DurationValue>>,
    pub max_request_body: Option<Spanned<SizeValue>>,
    pub max_connections: Option<Spanned<Int>>,
}

/// `[[listener]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub address: Spanned<String>,
    pub backlog: Option<Spanned<Int>>,
    /// `tls = { cert = ..., key = ... }`: one certificate, inline.
    pub tls: Option<Spanned<RawCertificate>>,
    /// `[[listener.certificate]]`, after its `[[listener]]`.
    #[serde(default, deserialize_with = "certificate_tables")]
    pub certificate: Vec<Spanned<RawCertificate>>,
    pub default_certificate: Option<Spanned<String>>,
    pub tls_policy: Option<Spanned<String>>,
    pub session_tickets: Option<Spanned<bool>>,
    pub tls_handshake_timeout: Option<Spanned<DurationValue>>,
}

/// `tls = { ... }` or `[[listener.certificate]]`: file paths as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { cert = \"fullchain.pem\", key = \"key.pem\" }"
)]
pub struct RawCertificate {
    pub cert: Spanned<String>,
    pub key: Spanned<String>,
    pub ocsp: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
}

/// `[[upstream]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub name: Spanned<String>,
    pub servers: Spanned<Vec<Spanned<String>>>,
    pub connect_timeout: Option<Spanned<DurationValue>>,
    pub read_timeout: Option<Spanned<DurationValue>>,
    pub send_timeout: Option<Spanned<DurationValue>>,
    pub keepalive_idle: Option<Spanned<DurationValue>>,
    pub max_idle_per_server: Option<Spanned<Int>>,
}

/// `[[route]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub host: Option<Spanned<HostList>>,
    pub path: Option<Spanned<String>>,
    pub upstream: Option<Spanned<String>>,
    pub redirect: Option<Spanned<String>>,
    pub respond: Option<Spanned<Int>>,
    pub acme_webroot: Option<Spanned<String>>,
    pub hsts: Option<Spanned<HstsValue>>,
    pub response_headers: Option<RawResponseHeaders>,
    pub max_request_body: Option<Spanned<SizeValue>>,
}

/// `response_headers = { set = { ... }, remove = [...] }`
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { set = { \"X-Frame-Options\" = \"DENY\" }, remove = [\"Server\"] }"
)]
pub struct RawResponseHeaders {
    #[serde(default)]
    pub set: HeaderValues,
    #[serde(default)]
    pub remove: Vec<Spanned<String>>,
}

/// `[echo_origin]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEchoOrigin {
    pub address: Spanned<String>,
}

/// A value written either as a string or as a TOML integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextOrInt {
    Text(String),
    Int(i64),
}

/// Declares a newtype over [`TextOrInt`] whose type errors say `$expecting`.
macro_rules! text_or_int {
    ($(#[$doc:meta])* $name:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub TextOrInt);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(TextOrIntVisitor($expecting)).map($name)
            }
        }
    };
}

text_or_int!(
    /// A duration: `"60s"`; a bare integer is kept so the error can say
    /// that the unit is missing.
    DurationValue,
    "a duration such as \"500ms\", \"60s\", \"2m\" or \"1h\""
);
text_or_int!(
    /// A size: `"16k"`, `"32M"`, `"1G"` or an integer number of bytes.
    SizeValue,
    "a size such as \"16k\", \"32M\", \"1G\" or a number of bytes"
);
text_or_int!(
    /// `workers`: `"auto"` or a thread count.
    WorkersValue,
    "\"auto\" or a number of worker threads"
);

struct TextOrIntVisitor(&'static str);

impl Visitor<'_> for TextOrIntVisitor {
    type Value = TextOrInt;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TextOrInt, E> {
        Ok(TextOrInt::Text(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TextOrInt, E> {
        Ok(TextOrInt::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TextOrInt, E> {
        i64::try_from(v)
            .map(TextOrInt::Int)
            .map_err(|_| E::custom("number too large"))
    }
}

/// A TOML integer (the message for other types says "an integer").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom("number too large"))
            }
        }
        d.deserialize_any(IntVisitor)
    }
}

/// `host = "example.org"` or `host = ["example.org", "*.example.org"]`.
/// A single string takes the span of the enclosing `Spanned`; array
/// elements carry their own.
#[derive(Debug, Clone)]
pub enum HostList {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for HostList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HostVisitor;
        impl<'de> Visitor<'de> for HostVisitor {
            type Value = HostList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a host name or an array of host names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HostList, E> {
                Ok(HostList::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HostList, A::Error> {
                let mut hosts = Vec::new();
                while let Some(host) = seq.next_element::<Spanned<String>>()? {
                    hosts.push(host);
                }
                Ok(HostList::Many(hosts))
            }
        }
        d.deserialize_any(HostVisitor)
    }
}

/// `hsts = false` or `hsts = "max-age=..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HstsValue {
    Bool(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for HstsValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HstsVisitor;
        impl Visitor<'_> for HstsVisitor {
            type Value = HstsValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("false or a header value such as \"max-age=63072000\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<HstsValue, E> {
                Ok(HstsValue::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HstsValue, E> {
                Ok(HstsValue::Text(v.to_owned()))
            }
        }
        d.deserialize_any(HstsVisitor)
    }
}

/// `set = { "Name" = "value", ... }`: names and values with their spans, in
/// the order written.
#[derive(Debug, Default)]
pub struct HeaderValues(pub Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;
        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = HeaderValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of header names and values, such as { \"X-Frame-Options\" = \"DENY\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderValues, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(HeaderValues(fields))
            }
        }
        d.deserialize_map(HeadersVisitor)
    }
}

/// Accepts only an array of tables (`[[name]]`), so that a `[name]` written
/// by mistake is explained rather than reported as "expected a sequence".
struct TablesVisitor<T> {
    name: &'static str,
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for TablesVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "one or more [[{0}]] tables (write [[{0}]], not [{0}])",
            self.name
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }
}

fn tables<'de, D, T>(d: D, name: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(TablesVisitor {
        name,
        item: PhantomData,
    })
}

fn listener_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawListener>, D::Error> {
    tables(d, "listener")
}

fn upstream_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawUpstream>, D::Error> {
    tables(d, "upstream")
}

fn certificate_tables<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<Spanned<RawCertificate>>, D::Error> {
    tables(d, "listener.certificate")
}

fn route_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Spanned<RawRoute>>, D::Error> {
    tables(d, "route")
}
