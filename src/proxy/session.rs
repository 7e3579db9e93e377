//! One client connection: read a request head, route it, forward it with its
//! body, relay the response, and loop while both sides keep the connection
//! alive. Pipelined requests are answered in order (one at a time).

mod local;
mod relay;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;

use super::acme;
use super::body::{self, chunked_failed, ChunkedCopy, Flow, Leg};
use super::downstream::Downstream;
use super::route::{host_name, Action, RouteMatch};
use super::timed;
use super::upstream::{self, Leased};
use crate::error::{ProxyError, Side};
use crate::http1::chunked::ChunkedDecoder;
use crate::http1::framing::{RequestBody, ResponseBody};
use crate::http1::head::{
    parse_request, HeadLimits, Method, Parsed, RequestHead, ResponseHead, Version,
};
use crate::http1::response;
use crate::http1::rewrite::{self, ClientInfo, ConnectionLine, OutBody};
use crate::net::{now_ms, Conn, Expiry, Gather, Part, Stream};
use crate::runtime::worker::Worker;
use crate::tls::stream::TlsConn;

/// A failed exchange and whether response bytes already reached the client.
struct Failure {
    err: ProxyError,
    responded: bool,
}

impl From<ProxyError> for Failure {
    fn from(err: ProxyError) -> Self {
        Failure {
            err,
            responded: false,
        }
    }
}

struct Session {
    w: Rc<Worker>,
    client: Downstream,
    peer: SocketAddr,
    /// Bytes from the client not yet handled; empty and unallocated while
    /// the connection is idle.
    buf: Vec<u8>,
    /// Reused for every head and chunk re-framing on this connection.
    gather: Gather,
    served: u64,
    /// Index of the listener (config order) that accepted the connection.
    listener: usize,
}

/// Serves one accepted client connection until it closes, starting with
/// the TLS handshake on a TLS listener. The returned future is the
/// connection's whole task: what it keeps while idle is the `Session` and
/// the wait for the next request, each stored once (an `async fn` taking
/// these arguments would keep them a second time).
pub fn serve(
    w: Rc<Worker>,
    conn: Conn,
    peer: SocketAddr,
    listener: usize,
) -> impl Future<Output = ()> {
    Session {
        w,
        client: Downstream::Plain(conn),
        peer,
        buf: Vec::new(),
        gather: Gather::new(),
        served: 0,
        listener,
    }
    .run()
}

impl Session {
    /// Not an `async fn`: one taking `self` by value would store the
    /// session twice in its future (the argument, then the local it is
    /// moved into). The block captures it once.
    #[allow(clippy::manual_async_fn)]
    fn run(mut self) -> impl Future<Output = ()> {
        async move {
            if self.start_tls().await {
                loop {
                    if self.buf.is_empty() && !self.wait_idle().await {
                        break;
                    }
                    // Boxed: a request's state (several KiB of nested
                    // futures) lives on the heap only while the request
                    // runs, so an idle connection's task holds little more
                    // than `wait_idle`.
                    if !Box::pin(self.handle_one()).await {
                        break;
                    }
                    self.served += 1;
                }
                let buf = std::mem::take(&mut self.buf);
                self.w.head_bufs.give(buf);
                self.w.gathers.give(std::mem::take(&mut self.gather));
            }
            self.w.connection_closed();
        }
    }

    /// Runs the TLS handshake when the listener terminates TLS. `false`: it
    /// failed (counted by reason and logged at debug) and the connection
    /// is done.
    async fn start_tls(&mut self) -> bool {
        let Some(acceptor) = self.w.tls.get(self.listener).and_then(Option::clone) else {
            return true;
        };
        let Downstream::Plain(conn) = &self.client else {
            return true;
        };
        // Boxed: the handshake's state is several KiB, and the task of every
        // connection, plaintext or idle, would otherwise reserve it.
        match Box::pin(TlsConn::accept(conn.clone(), &acceptor)).await {
            Ok(tls) => {
                self.client = Downstream::Tls(Box::new(tls));
                true
            }
            Err(e) => {
                self.w.stats.handshake_failed(e.why);
                tracing::debug!(peer = %self.peer, "TLS handshake failed: {e}");
                false
            }
        }
    }

    /// Reads, proxies and answers one request. `true`: the connection stays
    /// open for the next one.
    async fn handle_one(&mut self) -> bool {
        if self.gather.parts.capacity() == 0 {
            self.gather = self.w.gathers.take();
        }
        let head = match self.read_head().await {
            Ok(Some(head)) => head,
            Ok(None) => return false,
            Err(err) => {
                Box::pin(self.fail(Failure {
                    err,
                    responded: false,
                }))
                .await;
                return false;
            }
        };
        match self.exchange(head).await {
            Ok(keep_alive) => keep_alive,
            Err(f) => {
                Box::pin(self.fail(f)).await;
                false
            }
        }
    }

    /// Waits, holding no buffer, until the client sends the next request,
    /// closes, stays idle past the keep-alive (or first-request header)
    /// timeout, or shutdown begins. `true`: bytes are waiting. This future
    /// is all an idle connection's task holds, so it is kept small.
    async fn wait_idle(&mut self) -> bool {
        let w = &self.w;
        if self.buf.capacity() > 0 {
            w.head_bufs.give(std::mem::take(&mut self.buf));
        }
        w.gathers.give(std::mem::take(&mut self.gather));
        let limits = &w.config.limits;
        let idle = if self.served == 0 {
            limits.client_header_timeout
        } else {
            limits.keepalive_timeout
        };
        // No timer, no stop listener: the worker's deadline sweep closes the
        // connection when the timeout passes or shutdown begins.
        self.client.socket().arm(idle, Expiry::Close);
        self.client.socket().set_idle();
        if self.served >= 2 {
            // A client back for its third request is busy: wait on epoll
            // (cheaper per request) until it idles. One or two requests
            // then silence, the common idle case, never registers.
            self.client.socket().warm();
        }
        if w.stopping.get() {
            self.client.socket().disarm();
            self.client.socket().shutdown();
            return false;
        }
        let ready = self.client.readable().await;
        let expired = self.client.socket().disarm();
        if ready.is_ok() && !expired && !w.stopping.get() {
            return true;
        }
        self.client.socket().shutdown();
        false
    }

    /// Reads and parses the next request head. `Ok(None)`: the client
    /// closed before sending anything.
    async fn read_head(&mut self) -> Result<Option<RequestHead>, ProxyError> {
        let w = self.w.clone();
        let limits = &w.config.limits;
        let head_limits = HeadLimits {
            max_head: limits.max_request_head,
            max_headers: limits.max_headers,
        };
        if self.buf.capacity() == 0 {
            self.buf = w.head_bufs.take();
        }
        let deadline = now_ms().saturating_add(limits.client_header_timeout.as_millis() as u64);
        loop {
            if !self.buf.is_empty() {
                match parse_request(&self.buf, &head_limits) {
                    Ok(Parsed::Complete(head)) => return Ok(Some(head)),
                    Ok(Parsed::Partial) => {}
                    Err(e) => {
                        tracing::debug!(peer = %self.peer, "bad request: {}", e.reason());
                        return Err(ProxyError::client(Some(e.status()), e.reason()));
                    }
                }
            }
            if self.buf.capacity() == 0 {
                self.buf = w.head_bufs.take();
            }
            let had = !self.buf.is_empty();
            let buf = std::mem::take(&mut self.buf);
            // On expiry only the receiving side is shut: the read in flight
            // ends and a 408 can still be written.
            self.client.socket().arm_at(deadline, Expiry::StopReading);
            let (res, buf) = self.client.read_ready(buf).await;
            self.buf = buf;
            if self.client.socket().disarm() {
                return match had {
                    true => Err(ProxyError::client(Some(408), "client header timeout")),
                    false => Ok(None),
                };
            }
            match res {
                Ok(0) if !had => return Ok(None),
                Ok(0) => return Err(ProxyError::client(None, "client closed mid-head")),
                Ok(_) => {}
                Err(e) if !had => {
                    tracing::debug!(peer = %self.peer, "client read failed: {e}");
                    return Ok(None);
                }
                Err(e) => return Err(ProxyError::client(None, "client read failed").with_io(e)),
            }
        }
    }

    /// Proxies one request. `Ok(true)`: the connection stays open for the
    /// next request.
    async fn exchange(&mut self, head: RequestHead) -> Result<bool, Failure> {
        let w = self.w.clone();
        let host = head.host.clone().map(|r| &self.buf[r]);
        let route = w
            .routes
            .find(
                host,
                &self.buf[head.target.clone()],
                matches!(self.client, Downstream::Tls(_)),
            )
            .ok_or_else(|| ProxyError::client(Some(404), "no route"))?;
        if let Some(answer) = self.acme_answer(&head, route.index) {
            let close = head.close || head.body != RequestBody::None || w.stopping.get();
            let bytes = acme::answer(answer, head.method == Method::Head, close);
            return Box::pin(self.answer_locally(&head, bytes, close)).await;
        }
        let upstream_id = match route.action {
            Action::Proxy(u) => u,
            Action::RedirectHttps => {
                let close = head.close || head.body != RequestBody::None || w.stopping.get();
                let host = host_name(head.host.clone().map_or(&[][..], |r| &self.buf[r]));
                let bytes = response::redirect_https(host, &self.buf[head.target.clone()], close);
                return Box::pin(self.answer_locally(&head, bytes, close)).await;
            }
            Action::Respond(status) => {
                return self
                    .answer_locally(&head, response::status_only(status), true)
                    .await;
            }
        };
        let mut request = self.prepare_request(&head, &route)?;
        let client_http11 = head.version == Version::Http11;
        let replayable = request.body_done && head.method.is_idempotent();
        let upstream_cfg = &w.config.upstreams[upstream_id];

        // Connect, send the head (and the body bytes already read), read the
        // response head; once more on a new connection if a pooled one
        // turns out dead before answering and the request can be replayed.
        let mut attempt = 0;
        let mut cut_short: Option<Failure> = None;
        let (leased, rbuf, resp) = loop {
            let leased = upstream::acquire(&w, upstream_id, attempt == 0).await?;
            let gather = std::mem::take(&mut self.gather);
            let buf = std::mem::take(&mut self.buf);
            let sent = timed(
                &leased.conn,
                upstream_cfg.send_timeout,
                pin!(leased.conn.write_gather(buf, gather)),
            )
            .await;
            let Some((res, buf, gather)) = sent else {
                return Err(ProxyError::upstream(504, "upstream send timeout").into());
            };
            (self.buf, self.gather) = (buf, gather);
            if let Err(e) = res {
                if leased.reused && replayable && attempt == 0 {
                    attempt += 1;
                    continue;
                }
                return Err(ProxyError::upstream(502, "upstream write failed")
                    .with_io(e)
                    .into());
            }
            if !request.body_done {
                let sent = Box::pin(self.send_rest_of_body(&head, &route, &leased, &mut request));
                match sent.await {
                    Ok(()) => {}
                    // The upstream stopped taking the body: it may have
                    // answered already (a 413, a 401), which is worth more
                    // to the client than a 502.
                    Err(f) if is_upstream_write_failure(&f) => cut_short = Some(f),
                    Err(f) => return Err(f),
                }
            }
            let rbuf = w.io_bufs.take();
            match upstream::read_response_head(
                &w,
                &leased,
                &self.client,
                client_http11,
                head.method,
                rbuf,
            )
            .await
            {
                Ok((resp, rbuf)) => break (leased, rbuf, resp),
                Err(f) => match cut_short.take() {
                    // No early answer: the body's failure stands.
                    Some(failure) => return Err(failure),
                    None if f.silent && leased.reused && replayable && attempt == 0 => {
                        tracing::debug!(
                            "pooled upstream connection was dead; retrying on a new one"
                        );
                        attempt += 1;
                    }
                    None => return Err(f.err.into()),
                },
            }
        };

        // The request is fully sent: keep only the pipelined bytes after it.
        if let Some(next) = request.pipelined.take() {
            self.buf.clear();
            self.buf.extend_from_slice(&next);
        } else {
            let end = request.consumed.min(self.buf.len());
            self.buf.drain(..end);
        }

        if let Some(f) = &cut_short {
            tracing::debug!(peer = %self.peer, "{}; relaying the upstream's early response", f.err);
            request.pipelined = None;
        }
        let close = head.close
            || cut_short.is_some()
            || w.stopping.get()
            || w.config.limits.keepalive_timeout.is_zero()
            || matches!(resp.body, ResponseBody::UntilClose)
            || (matches!(resp.body, ResponseBody::Chunked) && !client_http11);
        let reusable = self
            .relay_response(&leased, rbuf, &resp, close, client_http11, route.index)
            .await?;
        if cut_short.is_some() {
            // The rest of the request body is still on its way: read and
            // drop it for a moment so the close does not reset the
            // response away.
            self.linger().await;
            self.client.socket().shutdown();
            return Ok(false);
        }
        if reusable && request.body_done {
            w.pool
                .borrow_mut()
                .checkin(leased.upstream, leased.server, leased.conn, now_ms());
        }
        Ok(!close)
    }

    /// Checks the request body against the route's limit and builds the
    /// upstream head plus the body bytes that arrived with it.
    fn prepare_request(
        &mut self,
        head: &RequestHead,
        route: &RouteMatch,
    ) -> Result<Request, Failure> {
        let avail = self.buf.len() - head.head_len;
        let host = head.host.clone().map_or(&[][..], |r| &self.buf[r]);
        let client = ClientInfo {
            ip: self.peer.ip(),
            proto: self.client.proto(),
            host,
        };
        let mut request = Request {
            body_done: true,
            consumed: head.head_len,
            remaining: 0,
            chunked: None,
            sent: 0,
            pipelined: None,
        };
        self.gather.clear();
        match head.body {
            RequestBody::None => {
                rewrite::upstream_request(
                    &self.buf,
                    head,
                    &client,
                    OutBody::None,
                    &mut self.gather,
                );
            }
            RequestBody::Length(n) => {
                if n > route.max_request_body {
                    return Err(ProxyError::client(
                        Some(413),
                        "request body larger than max_request_body",
                    )
                    .into());
                }
                rewrite::upstream_request(
                    &self.buf,
                    head,
                    &client,
                    OutBody::Length(n),
                    &mut self.gather,
                );
                let k = usize::try_from(n).unwrap_or(usize::MAX).min(avail);
                self.gather.push_base(head.head_len..head.head_len + k);
                request.consumed += k;
                request.remaining = n - k as u64;
                request.body_done = request.remaining == 0;
            }
            RequestBody::Chunked => {
                rewrite::upstream_request(
                    &self.buf,
                    head,
                    &client,
                    OutBody::Chunked,
                    &mut self.gather,
                );
                let mut decoder = ChunkedDecoder::new();
                let progress = decoder
                    .reframe(&self.buf, head.head_len, &mut self.gather)
                    .map_err(|_| chunked_failed(Side::Client))?;
                if progress.data > route.max_request_body {
                    return Err(ProxyError::client(
                        Some(413),
                        "request body larger than max_request_body",
                    )
                    .into());
                }
                request.consumed += progress.consumed;
                request.sent = progress.data;
                request.body_done = progress.done;
                request.chunked = Some(decoder);
            }
        }
        Ok(request)
    }

    /// Streams the part of the request body that had not arrived with the
    /// head (after `100 Continue` when the client asked for it).
    async fn send_rest_of_body(
        &mut self,
        head: &RequestHead,
        route: &RouteMatch,
        leased: &Leased,
        request: &mut Request,
    ) -> Result<(), Failure> {
        let w = self.w.clone();
        if head.expect_continue
            && head.version == Version::Http11
            && request.consumed == self.buf.len()
        {
            let sent = timed(
                self.client.socket(),
                w.config.limits.send_timeout,
                pin!(self.client.write_static(response::CONTINUE)),
            )
            .await;
            if !matches!(sent, Some(Ok(()))) {
                return Err(ProxyError::client(None, "client write failed").into());
            }
        }
        let flow = Flow {
            from: Leg {
                conn: &self.client,
                side: Side::Client,
                timeout: w.config.limits.client_body_timeout,
            },
            to: Leg {
                conn: &leased.conn,
                side: Side::Upstream,
                timeout: w.config.upstreams[leased.upstream].send_timeout,
            },
        };
        let io = w.io_bufs.take();
        let io = match request.chunked.as_mut() {
            None => body::copy_length(&flow, io, request.remaining).await?,
            Some(decoder) => {
                let copy = ChunkedCopy {
                    sent: request.sent,
                    limit: route.max_request_body,
                    unframed: false,
                };
                let (io, rest) =
                    body::copy_chunked(&flow, io, decoder, &mut self.gather, copy).await?;
                request.pipelined = Some(io[rest].to_vec());
                io
            }
        };
        w.io_bufs.give(io);
        request.body_done = true;
        Ok(())
    }
}

/// Whether sending the request body failed because the upstream stopped
/// reading (closed or reset), with nothing sent to the client yet.
fn is_upstream_write_failure(f: &Failure) -> bool {
    !f.responded && f.err.side == Side::Upstream && f.err.reason == body::UPSTREAM_WRITE_FAILED
}

/// The state of the request body while an exchange runs.
struct Request {
    /// Every body byte has been sent upstream.
    body_done: bool,
    /// Bytes of the client buffer that belong to this request.
    consumed: usize,
    /// Content-Length bytes still to come from the client.
    remaining: u64,
    /// The chunked decoder, when the body is chunked.
    chunked: Option<ChunkedDecoder>,
    /// Chunked payload bytes sent so far.
    sent: u64,
    /// Bytes read past the body while streaming it (the next request).
    pipelined: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    fn returned_size<A, B, C, D, R>(_: fn(A, B, C, D) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// The future `serve` returns is a connection's whole task, idle or
    /// not. tokio allocates a task as a 128-byte-aligned cell: 104 bytes of
    /// its own plus the future, so up to 280 bytes of future fit in 384
    /// bytes, and one byte more costs every connection 128 bytes (the
    /// session stored twice by an `async fn` made it 424, a 640-byte cell).
    #[test]
    fn a_connection_task_fits_a_384_byte_cell() {
        let size = returned_size(super::serve);
        assert!(
            size <= 280,
            "the connection task's future grew to {size} bytes"
        );
    }
}
