//! Moving message bodies from one connection to the other with bounded
//! memory: one pooled buffer, read then written, never the whole body.
//! Content-Length bodies are copied as they are; chunked bodies are
//! validated and re-framed on the way (nothing unvalidated is forwarded).
//! This is the one place where plaintext bodies will switch to splice(2).

use std::io;
use std::ops::Range;
use std::pin::pin;
use std::time::Duration;

use super::{timed, timed_read};
use crate::error::{ProxyError, Side};
use crate::http1::chunked::ChunkedDecoder;
use crate::net::{Gather, Part, Stream};

/// The reason of a failed write to the upstream mid-body (it closed or
/// reset): the session then looks for an early response.
pub const UPSTREAM_WRITE_FAILED: &str = "upstream write failed";

/// One end of a body transfer.
pub struct Leg<'a, S: Stream> {
    pub conn: &'a S,
    pub side: Side,
    pub timeout: Duration,
}

/// Where a body comes from and where it goes.
pub struct Flow<'a, A: Stream, B: Stream> {
    pub from: Leg<'a, A>,
    pub to: Leg<'a, B>,
}

fn read_failed(side: Side, timed_out: bool, e: Option<io::Error>) -> ProxyError {
    let err = match (side, timed_out) {
        (Side::Client, true) => ProxyError::client(Some(408), "client body timeout"),
        (Side::Client, false) => ProxyError::client(None, "client closed during the body"),
        (_, true) => ProxyError::upstream(504, "upstream read timeout"),
        (_, false) => ProxyError::upstream(502, "upstream closed during the body"),
    };
    match e {
        Some(e) => err.with_io(e),
        None => err,
    }
}

fn write_failed(side: Side, timed_out: bool, e: Option<io::Error>) -> ProxyError {
    let err = match (side, timed_out) {
        (Side::Client, true) => ProxyError::client(None, "client send timeout"),
        (Side::Client, false) => ProxyError::client(None, "client write failed"),
        (_, true) => ProxyError::upstream(504, "upstream send timeout"),
        (_, false) => ProxyError::upstream(502, UPSTREAM_WRITE_FAILED),
    };
    match e {
        Some(e) => err.with_io(e),
        None => err,
    }
}

/// An invalid chunked body: the client's is a 400, an upstream's a 502.
pub fn chunked_failed(side: Side) -> ProxyError {
    match side {
        Side::Client => ProxyError::client(Some(400), "invalid chunked request body"),
        _ => ProxyError::upstream(502, "invalid chunked response body"),
    }
}

impl<A: Stream, B: Stream> Flow<'_, A, B> {
    /// Reads at most `max` bytes into `buf` (cleared first). End of stream
    /// is an error: every caller knows more bytes are due.
    pub async fn read(&self, mut buf: Vec<u8>, max: usize) -> Result<Vec<u8>, ProxyError> {
        buf.clear();
        let Some((res, buf)) = timed_read(
            self.from.conn.socket(),
            self.from.timeout,
            pin!(self.from.conn.read_max(buf, max)),
        )
        .await
        else {
            return Err(read_failed(self.from.side, true, None));
        };
        match res {
            Ok(0) => Err(read_failed(self.from.side, false, None)),
            Ok(_) => Ok(buf),
            Err(e) => Err(read_failed(self.from.side, false, Some(e))),
        }
    }

    pub async fn write_all(&self, buf: Vec<u8>) -> Result<Vec<u8>, ProxyError> {
        match timed(
            self.to.conn.socket(),
            self.to.timeout,
            pin!(self.to.conn.write_all(buf)),
        )
        .await
        {
            None => Err(write_failed(self.to.side, true, None)),
            Some((Ok(()), buf)) => Ok(buf),
            Some((Err(e), _)) => Err(write_failed(self.to.side, false, Some(e))),
        }
    }

    pub async fn write_gather(
        &self,
        base: Vec<u8>,
        gather: Gather,
    ) -> Result<(Vec<u8>, Gather), ProxyError> {
        match timed(
            self.to.conn.socket(),
            self.to.timeout,
            pin!(self.to.conn.write_gather(base, gather)),
        )
        .await
        {
            None => Err(write_failed(self.to.side, true, None)),
            Some((Ok(()), base, gather)) => Ok((base, gather)),
            Some((Err(e), _, _)) => Err(write_failed(self.to.side, false, Some(e))),
        }
    }
}

/// Copies exactly `remaining` bytes.
pub async fn copy_length<A: Stream, B: Stream>(
    flow: &Flow<'_, A, B>,
    mut buf: Vec<u8>,
    mut remaining: u64,
) -> Result<Vec<u8>, ProxyError> {
    while remaining > 0 {
        let max = usize::try_from(remaining).unwrap_or(usize::MAX);
        buf = flow.read(buf, max).await?;
        remaining -= buf.len() as u64;
        buf = flow.write_all(buf).await?;
    }
    Ok(buf)
}

/// Copies until the sender closes (responses delimited by close).
pub async fn copy_until_close<A: Stream, B: Stream>(
    flow: &Flow<'_, A, B>,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, ProxyError> {
    loop {
        buf.clear();
        let Some((res, b)) = timed_read(
            flow.from.conn.socket(),
            flow.from.timeout,
            pin!(flow.from.conn.read_ready(buf)),
        )
        .await
        else {
            return Err(read_failed(flow.from.side, true, None));
        };
        buf = match res {
            Ok(0) => return Ok(b),
            Ok(_) => b,
            Err(e) => return Err(read_failed(flow.from.side, false, Some(e))),
        };
        buf = flow.write_all(buf).await?;
    }
}

/// What a chunked copy is allowed and asked to do.
pub struct ChunkedCopy {
    /// Payload bytes already forwarded before this copy started.
    pub sent: u64,
    /// The most payload bytes allowed (a 413 beyond it).
    pub limit: u64,
    /// Forward the payload without chunk framing (to an HTTP/1.0 client).
    pub unframed: bool,
}

/// Keeps only the payload of a re-framed gather (for HTTP/1.0 clients).
pub fn strip_framing(gather: &mut Gather) {
    gather.parts.retain(|p| matches!(p, Part::Base { .. }));
}

/// Validates, re-frames and forwards a chunked body until its end. Returns
/// the buffer and the range in it of bytes read past the body's end (the
/// next pipelined message).
pub async fn copy_chunked<A: Stream, B: Stream>(
    flow: &Flow<'_, A, B>,
    mut buf: Vec<u8>,
    decoder: &mut ChunkedDecoder,
    gather: &mut Gather,
    mut copy: ChunkedCopy,
) -> Result<(Vec<u8>, Range<usize>), ProxyError> {
    loop {
        buf = flow.read(buf, usize::MAX).await?;
        gather.clear();
        let progress = decoder
            .reframe(&buf, 0, gather)
            .map_err(|_| chunked_failed(flow.from.side))?;
        copy.sent = copy.sent.saturating_add(progress.data);
        if copy.sent > copy.limit {
            return Err(ProxyError::client(
                Some(413),
                "request body larger than max_request_body",
            ));
        }
        if copy.unframed {
            strip_framing(gather);
        }
        let g = std::mem::take(gather);
        let (b, g) = flow.write_gather(buf, g).await?;
        (buf, *gather) = (b, g);
        if progress.done {
            let end = buf.len();
            return Ok((buf, progress.consumed.min(end)..end));
        }
    }
}
