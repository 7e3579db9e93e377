//! Streaming validator for the chunked transfer coding (RFC 9112 §7.1) that
//! re-frames the payload it finds.
//!
//! ```text
//! chunked-body    = *chunk last-chunk trailer-section CRLF
//! chunk           = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size      = 1*HEXDIG
//! last-chunk      = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext       = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val   = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! The decoder is a byte-at-a-time state machine for framing bytes and moves
//! payload as ranges. Extensions and trailer fields are validated, bounded
//! and dropped; the output is a fresh chunked encoding of the payload alone,
//! so the peer never sees the sender's framing. The terminating `0\r\n\r\n`
//! is produced only once the whole body, trailers included, was valid.
//!
//! On an error, output produced earlier in the same call may already be in
//! `out`; the caller must then abort the outgoing message (close the
//! connection), never complete it.

use std::ops::Range;

use crate::http1::fields::is_tchar;
use crate::net::gather::Gather;

/// Total bytes of chunk extensions accepted in one body.
pub const MAX_EXTENSIONS: usize = 4 * 1024;
/// Total bytes of the trailer section accepted in one body.
pub const MAX_TRAILERS: usize = 16 * 1024;
/// A u64 has 16 hex digits; longer sizes (even with leading zeros) are
/// refused.
const MAX_SIZE_DIGITS: u32 = 16;

/// Where the decoder is in the grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// chunk-size digits.
    Size,
    /// BWS that must be followed by ";" (after the size or a value).
    BwsBeforeSemicolon,
    /// BWS after ";", before chunk-ext-name.
    ExtNameStart,
    ExtName,
    /// BWS after a name: "=" or ";" must follow.
    ExtNameBws,
    /// BWS after "=", before chunk-ext-val.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    /// After "\" inside a quoted-string.
    ExtQuotedPair,
    /// After the closing quote.
    ExtQuotedEnd,
    /// CR of the chunk-size line seen.
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// CR of the final empty line seen.
    EndLf,
    Done,
}

/// What one call found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes consumed from `buf[start..]`.
    pub consumed: usize,
    /// Payload bytes found in this call.
    pub data: u64,
    /// The body is complete; bytes after `consumed` belong to the next
    /// message.
    pub done: bool,
}

/// Why a chunked body was refused (the sender's fault: 400 for a request,
/// 502 for a response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkedError {
    InvalidSize,
    SizeOverflow,
    MissingCrlf,
    InvalidExtension,
    ExtensionTooLong,
    TrailersTooLarge,
    InvalidTrailer,
}

impl ChunkedError {
    /// Short text for logs.
    pub fn reason(self) -> &'static str {
        match self {
            ChunkedError::InvalidSize => "invalid chunk size",
            ChunkedError::SizeOverflow => "chunk size overflow",
            ChunkedError::MissingCrlf => "chunk line not ended by CRLF",
            ChunkedError::InvalidExtension => "invalid chunk extension",
            ChunkedError::ExtensionTooLong => "chunk extensions too long",
            ChunkedError::TrailersTooLarge => "trailer section too large",
            ChunkedError::InvalidTrailer => "invalid trailer field",
        }
    }
}

impl std::fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for ChunkedError {}

/// State of one chunked body being read.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the chunk being read (during Size) or payload bytes still
    /// expected (during Data).
    size: u64,
    digits: u32,
    extension_bytes: usize,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Receives what the decoder finds.
trait Sink {
    fn data(&mut self, buf: &[u8], range: Range<usize>);
    fn end(&mut self);
}

/// Re-frames payload runs as chunks of a gathered write.
struct Reframe<'a>(&'a mut Gather);

impl Sink for Reframe<'_> {
    fn data(&mut self, _buf: &[u8], range: Range<usize>) {
        let mut line = [0u8; 18];
        self.0.push_extra(size_line(range.len() as u64, &mut line));
        self.0.push_base(range);
        self.0.push_extra(b"\r\n");
    }

    fn end(&mut self) {
        self.0.push_extra(b"0\r\n\r\n");
    }
}

/// Appends payload to a vector.
struct Decode<'a>(&'a mut Vec<u8>);

impl Sink for Decode<'_> {
    fn data(&mut self, buf: &[u8], range: Range<usize>) {
        self.0.extend_from_slice(buf.get(range).unwrap_or_default());
    }

    fn end(&mut self) {}
}

/// `"{n:x}\r\n"` written into `out` without allocating.
fn size_line(mut n: u64, out: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out[16] = b'\r';
    out[17] = b'\n';
    let mut i = 16;
    // At most 16 digits for a u64, so `i` stays within 0..16.
    loop {
        i -= 1;
        out[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    &out[i..]
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self {
            state: State::Size,
            size: 0,
            digits: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
        }
    }

    /// The terminating empty line was consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Validates `buf[start..]` and appends to `out` the re-framed chunked
    /// encoding of the payload found: for each run of payload `buf[a..b]`
    /// the size line, the range `a..b` of `buf`, and CRLF. Once the last
    /// chunk and the trailer section are consumed, appends `0\r\n\r\n` and
    /// reports `done`; later bytes are left unconsumed.
    pub fn reframe(
        &mut self,
        buf: &[u8],
        start: usize,
        out: &mut Gather,
    ) -> Result<Progress, ChunkedError> {
        self.run(buf, start, &mut Reframe(out))
    }

    /// Same validation; the payload is appended to `out`.
    pub fn decode_into(&mut self, buf: &[u8], out: &mut Vec<u8>) -> Result<Progress, ChunkedError> {
        self.run(buf, 0, &mut Decode(out))
    }

    fn run<S: Sink>(
        &mut self,
        buf: &[u8],
        start: usize,
        sink: &mut S,
    ) -> Result<Progress, ChunkedError> {
        let mut pos = start;
        let mut data = 0u64;
        while pos < buf.len() {
            match self.state {
                State::Done => break,
                State::Data => {
                    let available = (buf.len() - pos) as u64;
                    let n = self.size.min(available);
                    // n <= available, which came from a usize.
                    let end = pos + n as usize;
                    sink.data(buf, pos..end);
                    data += n;
                    self.size -= n;
                    pos = end;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                }
                _ => {
                    let Some(&b) = buf.get(pos) else { break };
                    self.step(b)?;
                    pos += 1;
                    if self.state == State::Done {
                        sink.end();
                        break;
                    }
                }
            }
        }
        Ok(Progress {
            consumed: pos.saturating_sub(start),
            data,
            done: self.state == State::Done,
        })
    }

    /// Consumes one framing byte.
    fn step(&mut self, b: u8) -> Result<(), ChunkedError> {
        use State::*;
        match self.state {
            Size | SizeLf | Data | DataCr | DataLf | Done => {}
            BwsBeforeSemicolon | ExtNameStart | ExtName | ExtNameBws | ExtValueStart | ExtToken
            | ExtQuoted | ExtQuotedPair | ExtQuotedEnd => {
                self.extension_bytes += 1;
                if self.extension_bytes > MAX_EXTENSIONS {
                    return Err(ChunkedError::ExtensionTooLong);
                }
            }
            TrailerLineStart | TrailerName | TrailerValue | TrailerLf | EndLf => {
                self.trailer_bytes += 1;
                if self.trailer_bytes > MAX_TRAILERS {
                    return Err(ChunkedError::TrailersTooLarge);
                }
            }
        }
        let is_ws = b == b' ' || b == b'\t';
        self.state = match (self.state, b) {
            (Size, _) if b.is_ascii_hexdigit() => {
                self.digits += 1;
                if self.digits > MAX_SIZE_DIGITS {
                    return Err(ChunkedError::SizeOverflow);
                }
                // Cannot overflow with at most 16 digits; checked anyway.
                let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(ChunkedError::SizeOverflow)?;
                Size
            }
            (Size, _) if self.digits == 0 => return Err(ChunkedError::InvalidSize),
            (Size, b'\r') => SizeLf,
            (Size, b';') => ExtNameStart,
            (Size, _) if is_ws => BwsBeforeSemicolon,
            (Size, b'\n') => return Err(ChunkedError::MissingCrlf),
            (Size, _) => return Err(ChunkedError::InvalidSize),

            // chunk-ext (RFC 9112 §7.1.1): BWS only around ";" and "=".
            (BwsBeforeSemicolon, _) if is_ws => BwsBeforeSemicolon,
            (BwsBeforeSemicolon, b';') => ExtNameStart,
            (ExtNameStart, _) if is_ws => ExtNameStart,
            (ExtNameStart, _) if is_tchar(b) => ExtName,
            (ExtName, _) if is_tchar(b) => ExtName,
            (ExtName, b'=') | (ExtNameBws, b'=') => ExtValueStart,
            (ExtName, b';') | (ExtNameBws, b';') => ExtNameStart,
            (ExtName, b'\r') => SizeLf,
            (ExtName, _) | (ExtNameBws, _) if is_ws => ExtNameBws,
            (ExtValueStart, _) if is_ws => ExtValueStart,
            (ExtValueStart, b'"') => ExtQuoted,
            (ExtValueStart, _) if is_tchar(b) => ExtToken,
            (ExtToken, _) if is_tchar(b) => ExtToken,
            (ExtToken, b';') | (ExtQuotedEnd, b';') => ExtNameStart,
            (ExtToken, b'\r') | (ExtQuotedEnd, b'\r') => SizeLf,
            (ExtToken, _) | (ExtQuotedEnd, _) if is_ws => BwsBeforeSemicolon,
            // quoted-string (RFC 9110 §5.6.4).
            (ExtQuoted, b'"') => ExtQuotedEnd,
            (ExtQuoted, b'\\') => ExtQuotedPair,
            (ExtQuoted, _) if is_qdtext(b) => ExtQuoted,
            (ExtQuotedPair, _) if is_ws || is_vchar_or_obs(b) => ExtQuoted,
            (
                BwsBeforeSemicolon | ExtNameStart | ExtName | ExtNameBws | ExtValueStart | ExtToken
                | ExtQuoted | ExtQuotedPair | ExtQuotedEnd,
                b'\n',
            ) => return Err(ChunkedError::MissingCrlf),
            (
                BwsBeforeSemicolon | ExtNameStart | ExtName | ExtNameBws | ExtValueStart | ExtToken
                | ExtQuoted | ExtQuotedPair | ExtQuotedEnd,
                _,
            ) => return Err(ChunkedError::InvalidExtension),

            (SizeLf, b'\n') if self.size == 0 => TrailerLineStart,
            (SizeLf, b'\n') => Data,
            // chunk-data is followed by CRLF.
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => {
                self.size = 0;
                self.digits = 0;
                Size
            }
            (SizeLf | DataCr | DataLf, _) => return Err(ChunkedError::MissingCrlf),

            // trailer-section = *( field-line CRLF ) (RFC 9112 §7.1.2):
            // field-line = field-name ":" OWS field-value OWS; no obs-fold.
            (TrailerLineStart, b'\r') => EndLf,
            (TrailerLineStart, _) | (TrailerName, _) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if is_ws || is_vchar_or_obs(b) => TrailerValue,
            (TrailerLf, b'\n') => TrailerLineStart,
            (EndLf, b'\n') => Done,
            (TrailerLineStart | TrailerName | TrailerValue, b'\n') => {
                return Err(ChunkedError::MissingCrlf)
            }
            (TrailerLf | EndLf, _) => return Err(ChunkedError::MissingCrlf),
            (TrailerLineStart | TrailerName | TrailerValue, _) => {
                return Err(ChunkedError::InvalidTrailer)
            }

            // `run` never steps in these states.
            (Data | Done, _) => self.state,
        };
        Ok(())
    }
}

/// VCHAR / obs-text (RFC 5234, RFC 9110 §5.5).
fn is_vchar_or_obs(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4).
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_vchar_or_obs(b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests;
