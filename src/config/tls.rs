//! TLS on `[[listener]]`: the typed settings the TLS module consumes, and
//! their validation. A certificate is written either inline,
//! `tls = { cert = ..., key = ... }`, or as one `[[listener.certificate]]`
//! table per certificate. Files are not opened here: relative paths are
//! joined to the configuration file's directory, and the TLS module reports
//! missing or unreadable files itself, with their names.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawCertificate, RawListener};
use super::validate::Ctx;
use super::ConfigError;

/// The TLS settings of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// In file order; at least one unless `default_certificate` is
    /// [`DefaultCertificateConfig::SelfSigned`].
    pub certificates: Vec<CertificateConfig>,
    /// What a client gets whose server name (SNI) matches no certificate,
    /// or that sends none.
    pub default_certificate: DefaultCertificateConfig,
    /// `tls_policy`: protocol versions and cipher suites.
    pub policy: TlsPolicyConfig,
    /// `session_tickets` (default false).
    pub session_tickets: bool,
    /// `tls_handshake_timeout` (default 10s, never zero).
    pub handshake_timeout: Duration,
}

/// One certificate: resolved paths, not checked for existence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateConfig {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// DER OCSP response to staple.
    pub ocsp: Option<PathBuf>,
}

/// `default_certificate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DefaultCertificateConfig {
    /// `"self-signed"` (the default): a self-signed certificate generated at
    /// startup.
    #[default]
    SelfSigned,
    /// `"reject"`: the handshake fails.
    Reject,
    /// A certificate's `name`: the index into [`ListenerTls::certificates`].
    Named(usize),
}

/// `tls_policy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsPolicyConfig {
    /// `"intermediate"` (the default): TLS 1.2 and 1.3, forward-secret AEAD
    /// suites.
    #[default]
    Intermediate,
    /// `"modern"`: TLS 1.3 only.
    Modern,
}

/// The TLS settings of `raw`, or `None` for a plaintext listener. A listener
/// is a TLS listener when it has `tls`, at least one
/// `[[listener.certificate]]`, or `default_certificate = "self-signed"`.
pub(super) fn listener_tls(
    ctx: Ctx<'_>,
    raw: &RawListener,
    base_dir: &Path,
) -> Result<Option<ListenerTls>, ConfigError> {
    if let (Some(tls), Some(_)) = (&raw.tls, raw.certificate.first()) {
        let why = "listener.tls cannot be combined with [[listener.certificate]]; list every certificate as a [[listener.certificate]] table";
        return Err(ctx.err(tls.span(), why));
    }
    let entries: Vec<(&Spanned<RawCertificate>, &str)> = match &raw.tls {
        Some(tls) => vec![(tls, "listener.tls")],
        None => raw
            .certificate
            .iter()
            .map(|c| (c, "listener.certificate"))
            .collect(),
    };
    let default = raw.default_certificate.as_ref();
    let self_signed = default.is_some_and(|d| d.get_ref() == "self-signed");
    if entries.is_empty() && !self_signed {
        let keys = [
            ("default_certificate", default.map(Spanned::span)),
            ("tls_policy", raw.tls_policy.as_ref().map(Spanned::span)),
            (
                "session_tickets",
                raw.session_tickets.as_ref().map(Spanned::span),
            ),
            (
                "tls_handshake_timeout",
                raw.tls_handshake_timeout.as_ref().map(Spanned::span),
            ),
        ];
        let first = keys
            .into_iter()
            .filter_map(|(key, span)| Some((key, span?)))
            .min_by_key(|(_, span)| span.start);
        return match first {
            None => Ok(None),
            Some((key, span)) => {
                let why = format!("listener.{key} only applies to TLS listeners; add tls = {{ cert = ..., key = ... }}");
                Err(ctx.err(span, why))
            }
        };
    }

    let mut certificates = Vec::with_capacity(entries.len());
    // (name, index, line) of each named certificate.
    let mut names: Vec<(&str, usize, usize)> = Vec::new();
    for (entry, table) in entries {
        let raw_cert = entry.get_ref();
        if let Some(name) = &raw_cert.name {
            let text = name.get_ref().as_str();
            let why = if text.is_empty()
                || text.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                Some(format!("{table}.name: invalid certificate name \"{text}\"; expected a non-empty name without spaces"))
            } else if text == "self-signed" || text == "reject" {
                Some(format!("{table}.name: \"{text}\" is reserved for default_certificate; choose another name"))
            } else if let Some((_, _, line)) = names.iter().find(|(n, _, _)| *n == text) {
                Some(format!(
                    "duplicate certificate name \"{text}\" (first defined on line {line})"
                ))
            } else {
                names.push((text, certificates.len(), ctx.line_of(name.span())));
                None
            };
            if let Some(why) = why {
                return Err(ctx.err(name.span(), why));
            }
        }
        let ocsp = match &raw_cert.ocsp {
            None => None,
            Some(ocsp) => Some(file(ctx, ocsp, table, "ocsp", base_dir)?),
        };
        certificates.push(CertificateConfig {
            cert: file(ctx, &raw_cert.cert, table, "cert", base_dir)?,
            key: file(ctx, &raw_cert.key, table, "key", base_dir)?,
            ocsp,
        });
    }

    let default_certificate = match default {
        None => DefaultCertificateConfig::SelfSigned,
        Some(value) => match value.get_ref().as_str() {
            "self-signed" => DefaultCertificateConfig::SelfSigned,
            "reject" => DefaultCertificateConfig::Reject,
            wanted => match names.iter().find(|(n, _, _)| *n == wanted) {
                Some((_, index, _)) => DefaultCertificateConfig::Named(*index),
                None => {
                    let defined = if names.is_empty() {
                        "no certificate has a name = \"...\" key".to_owned()
                    } else {
                        let list: Vec<&str> = names.iter().map(|(n, _, _)| *n).collect();
                        format!("defined names: {}", list.join(", "))
                    };
                    let why = format!("listener.default_certificate: unknown certificate name \"{wanted}\"; expected \"self-signed\", \"reject\" or a certificate's name ({defined})");
                    return Err(ctx.err(value.span(), why));
                }
            },
        },
    };

    let policy = match &raw.tls_policy {
        None => TlsPolicyConfig::default(),
        Some(value) => match value.get_ref().as_str() {
            "intermediate" => TlsPolicyConfig::Intermediate,
            "modern" => TlsPolicyConfig::Modern,
            other => {
                let why = format!(
                    "listener.tls_policy must be \"intermediate\" or \"modern\", got \"{other}\""
                );
                return Err(ctx.err(value.span(), why));
            }
        },
    };

    Ok(Some(ListenerTls {
        certificates,
        default_certificate,
        policy,
        session_tickets: raw.session_tickets.as_ref().is_some_and(|v| *v.get_ref()),
        handshake_timeout: ctx.timeout(
            &raw.tls_handshake_timeout,
            "tls_handshake_timeout",
            Duration::from_secs(10),
        )?,
    }))
}

/// A file path from `table.key`: not empty; a relative path is joined to
/// `base_dir`.
fn file(
    ctx: Ctx<'_>,
    value: &Spanned<String>,
    table: &str,
    key: &str,
    base_dir: &Path,
) -> Result<PathBuf, ConfigError> {
    let text = value.get_ref();
    if text.is_empty() {
        let what = match key {
            "cert" => "a PEM certificate chain",
            "key" => "a PEM private key",
            _ => "a DER OCSP response",
        };
        let why = format!("{table}.{key} is empty; expected the path of {what}");
        return Err(ctx.err(value.span(), why));
    }
    Ok(base_dir.join(text))
}
