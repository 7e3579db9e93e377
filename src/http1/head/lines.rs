//! From httparse's output to checked offsets: the line structure of a head
//! (CRLF everywhere, RFC 9112 §2.2), header slots, error mapping, and the
//! field rules shared by requests and responses.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::{HeadError, HeaderLine};
use crate::http1::fields::{self, Field};

/// Header counts up to this use a stack array of httparse slots.
pub(super) const STACK_HEADERS: usize = 128;

pub(super) const BARE_LF: HeadError = HeadError::Malformed("line not ended by CRLF");

/// Several Content-Length fields are accepted only with identical values
/// (RFC 9110 §8.6, RFC 9112 §6.3 rule 5).
pub(super) fn merge_length(previous: Option<u64>, value: &[u8]) -> Result<u64, HeadError> {
    let n = fields::content_length(value).map_err(HeadError::Malformed)?;
    match previous {
        Some(p) if p != n => Err(HeadError::Malformed("differing Content-Length values")),
        _ => Ok(n),
    }
}

/// RFC 9110 §7.6.1: every field named by a Connection option is
/// hop-by-hop. Host is never dropped: it is end-to-end and required.
pub(super) fn mark_connection_options(buf: &[u8], lines: &mut [HeaderLine]) {
    for i in 0..lines.len() {
        let Some(line) = lines.get(i) else { continue };
        let name = bytes(buf, &line.name);
        if line.hop || fields::classify(name) == Field::Host {
            continue;
        }
        let named = lines
            .iter()
            .filter(|c| fields::classify(bytes(buf, &c.name)) == Field::Connection)
            .any(|c| {
                fields::list_elements(bytes(buf, &c.value)).any(|o| o.eq_ignore_ascii_case(name))
            });
        if let (true, Some(line)) = (named, lines.get_mut(i)) {
            line.hop = true;
        }
    }
}

/// Converts httparse's fields into lines of `buf` starting at `pos`, and
/// checks that each line, and the empty line ending the head, ends in CRLF
/// (httparse also takes a bare LF).
pub(super) fn header_lines(
    buf: &[u8],
    mut pos: usize,
    head_len: usize,
    parsed: &[httparse::Header<'_>],
    out: &mut Vec<HeaderLine>,
) -> Result<(), HeadError> {
    out.clear();
    // One allocation of the right size, not a doubling per few fields.
    out.reserve(parsed.len());
    for h in parsed {
        let name = span(buf, h.name.as_bytes())?;
        let value = span(buf, h.value)?;
        if name.start != pos {
            return Err(HeadError::Malformed(
                "unexpected bytes between header lines",
            ));
        }
        let lf = buf
            .get(value.end..head_len)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map(|i| value.end + i)
            .ok_or(HeadError::Malformed("header line without end"))?;
        if lf == value.end || buf.get(lf - 1) != Some(&b'\r') {
            return Err(BARE_LF);
        }
        pos = lf + 1;
        out.push(HeaderLine {
            line: name.start..pos,
            name,
            value,
            hop: false,
        });
    }
    if pos.checked_add(2) != Some(head_len) || buf.get(pos..head_len) != Some(&b"\r\n"[..]) {
        return Err(BARE_LF);
    }
    Ok(())
}

/// Length of the CRLF empty lines before the start line (RFC 9112 §2.2);
/// a bare LF there is refused.
pub(super) fn leading_empty_lines(buf: &[u8]) -> Result<usize, HeadError> {
    let mut p = 0;
    loop {
        match buf.get(p..) {
            Some([b'\r', b'\n', ..]) => p += 2,
            Some([b'\n', ..]) => return Err(BARE_LF),
            _ => return Ok(p),
        }
    }
}

pub(super) fn header_slots<'a, 'b>(
    stack: &'a mut [MaybeUninit<httparse::Header<'b>>; STACK_HEADERS],
    heap: &'a mut Vec<MaybeUninit<httparse::Header<'b>>>,
    n: usize,
) -> &'a mut [MaybeUninit<httparse::Header<'b>>] {
    if let Some(slots) = stack.get_mut(..n) {
        return slots;
    }
    heap.resize(n, MaybeUninit::uninit());
    heap.as_mut_slice()
}

/// Maps an httparse error; for header-name errors a second look at the
/// bytes names the rule that was broken (only on this error path).
pub(super) fn syntax_error(e: httparse::Error, window: &[u8]) -> HeadError {
    HeadError::Malformed(match e {
        httparse::Error::TooManyHeaders => return HeadError::TooManyHeaders,
        httparse::Error::HeaderName => diagnose_header_name(window),
        httparse::Error::HeaderValue => "invalid byte in header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid method or request target",
        httparse::Error::Version => "invalid HTTP version",
    })
}

fn diagnose_header_name(window: &[u8]) -> &'static str {
    for line in window.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // RFC 9112 §5.2: obs-fold is refused.
            return "obs-fold (folded header line)";
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return "header line without colon";
        };
        let name = line.get(..colon).unwrap_or_default();
        if matches!(name.last(), Some(b' ' | b'\t')) {
            // RFC 9112 §5.1: no whitespace between field name and colon.
            return "whitespace before colon";
        }
        if !fields::is_token(name) {
            return "invalid header name";
        }
    }
    "invalid header name"
}

/// The offsets of `part`, a slice httparse took from `buf`.
pub(super) fn span(buf: &[u8], part: &[u8]) -> Result<Range<usize>, HeadError> {
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if end <= buf.len() => Ok(start..end),
        _ => Err(HeadError::Malformed(
            "parser returned a slice outside the buffer",
        )),
    }
}

/// `buf[r]`, or empty when out of range (never for ranges made here).
pub(crate) fn bytes<'b>(buf: &'b [u8], r: &Range<usize>) -> &'b [u8] {
    buf.get(r.clone()).unwrap_or_default()
}

pub(super) fn find_header<'b>(
    buf: &'b [u8],
    lines: &[HeaderLine],
    name: &[u8],
) -> Option<&'b [u8]> {
    lines
        .iter()
        .find(|h| bytes(buf, &h.name).eq_ignore_ascii_case(name))
        .map(|h| bytes(buf, &h.value))
}
