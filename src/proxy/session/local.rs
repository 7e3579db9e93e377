//! Answers portier gives itself: ACME challenges, redirects, static
//! statuses, and the error answer (with a lingering close) after a failure.

use super::*;

impl Session {
    /// For a GET/HEAD ACME challenge on a route with `acme_webroot`: the
    /// file (`Some(None)`: not there, a 404).
    pub(super) fn acme_answer(&self, head: &RequestHead, route: usize) -> Option<Option<Vec<u8>>> {
        let dir = self.w.routes.acme_webroot(route)?;
        if !matches!(head.method, Method::Get | Method::Head) {
            return None;
        }
        let target = &self.buf[head.target.clone()];
        if !target.starts_with(acme::PREFIX) {
            return None;
        }
        Some(acme::token(target).and_then(|t| acme::read(dir, t)))
    }

    /// Answers a request without an upstream (redirect, static status).
    /// With `close`, or a body portier will not read, the connection closes
    /// after a lingering read; otherwise the next request follows.
    pub(super) async fn answer_locally(
        &mut self,
        head: &RequestHead,
        bytes: Vec<u8>,
        close: bool,
    ) -> Result<bool, Failure> {
        let send_timeout = self.w.config.limits.send_timeout;
        let sent = timed(
            self.client.socket(),
            send_timeout,
            pin!(self.client.write_all(bytes)),
        )
        .await;
        if !matches!(sent, Some((Ok(()), _))) {
            return Err(Failure {
                err: ProxyError::client(None, "client write failed"),
                responded: true,
            });
        }
        if close {
            self.linger().await;
            self.client.socket().shutdown();
            return Ok(false);
        }
        let end = head.head_len.min(self.buf.len());
        self.buf.drain(..end);
        Ok(true)
    }

    /// Logs a failed exchange and tells the client when it still can.
    pub(super) async fn fail(&mut self, f: Failure) {
        let Failure { err, responded } = f;
        match err.side {
            Side::Client => tracing::debug!(peer = %self.peer, "{err}"),
            _ => tracing::warn!(peer = %self.peer, "{err}"),
        }
        let Some(status) = err.status.filter(|_| !responded) else {
            self.client.socket().shutdown();
            return;
        };
        let send_timeout = self.w.config.limits.send_timeout;
        let sent = timed(
            self.client.socket(),
            send_timeout,
            pin!(self.client.write_static(response::error(status))),
        )
        .await;
        if matches!(sent, Some(Ok(()))) {
            self.linger().await;
        }
        self.client.socket().shutdown();
    }

    /// Lingering close: after an error response, read and discard what the
    /// client still sends for a moment, so that closing with unread bytes
    /// does not reset the connection before the client reads the response.
    pub(super) async fn linger(&mut self) {
        self.client.socket().shutdown_write();
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() == 0 {
            buf = self.w.head_bufs.take();
        }
        let deadline = tokio::time::Instant::now() + LINGER_TIME;
        let mut discarded = 0usize;
        while discarded < LINGER_BYTES {
            buf.clear();
            match tokio::time::timeout_at(deadline, self.client.read(buf)).await {
                Ok((Ok(n), b)) if n > 0 => {
                    discarded += n;
                    buf = b;
                }
                Ok((_, b)) => {
                    buf = b;
                    break;
                }
                Err(_) => {
                    self.client.socket().shutdown();
                    return;
                }
            }
        }
        buf.clear();
        self.buf = buf;
    }
}

/// How long and how much a lingering close reads before giving up.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;
