//! ACME HTTP-01 challenges (`acme_webroot` on a route): GET or HEAD
//! `/.well-known/acme-challenge/TOKEN` is answered with the file TOKEN from
//! the webroot. Tokens are `[A-Za-z0-9_-]+` (RFC 8555 §8.3: base64url), so
//! no path separator or dot can reach the file system; the file must be a
//! regular file opened without following a symlink, and small.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The path prefix of HTTP-01 challenges.
pub const PREFIX: &[u8] = b"/.well-known/acme-challenge/";
/// Largest challenge file served (key authorizations are ~90 bytes).
const MAX_FILE: u64 = 4096;

/// The token of a challenge target, if `target` is one and the token is
/// well formed (the query, if any, is ignored).
pub fn token(target: &[u8]) -> Option<&str> {
    let rest = target.strip_prefix(PREFIX)?;
    let rest = rest.split(|&b| b == b'?').next().unwrap_or_default();
    let ok = !rest.is_empty()
        && rest.len() <= 256
        && rest
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if ok {
        std::str::from_utf8(rest).ok()
    } else {
        None
    }
}

/// The contents of `dir/token`, or `None` when it is missing, not a
/// regular file, a symlink, or too large.
pub fn read(dir: &Path, token: &str) -> Option<Vec<u8>> {
    let mut file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(dir.join(token))
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let mut body = Vec::with_capacity(meta.len() as usize);
    file.by_ref().take(MAX_FILE).read_to_end(&mut body).ok()?;
    Some(body)
}

/// The complete answer: 200 with the file, or 404.
pub fn answer(body: Option<Vec<u8>>, head_only: bool, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    match body {
        Some(body) => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n{connection}\r\n",
                body.len()
            )
            .into_bytes();
            if !head_only {
                out.extend_from_slice(&body);
            }
            out
        }
        None => {
            format!("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n{connection}\r\n").into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64url_only() {
        assert_eq!(
            token(b"/.well-known/acme-challenge/abc-DEF_09"),
            Some("abc-DEF_09")
        );
        assert_eq!(token(b"/.well-known/acme-challenge/abc?x=1"), Some("abc"));
        for bad in [
            &b"/.well-known/acme-challenge/"[..],
            b"/.well-known/acme-challenge/../etc/passwd",
            b"/.well-known/acme-challenge/a/b",
            b"/.well-known/acme-challenge/a.b",
            b"/.well-known/acme-challenge/%2e%2e",
            b"/.well-known/acme-challengeX",
            b"/other",
        ] {
            assert_eq!(token(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
