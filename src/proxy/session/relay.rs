//! Relaying the upstream's response to the client: the head (rewritten,
//! with the route's header edits) and the body, re-framed as needed.

use super::*;

impl Session {
    /// Sends the response head and body to the client. Returns whether the
    /// upstream connection ended the exchange cleanly (reusable).
    pub(super) async fn relay_response(
        &mut self,
        leased: &Leased,
        rbuf: Vec<u8>,
        resp: &ResponseHead,
        close: bool,
        client_http11: bool,
        route_index: usize,
    ) -> Result<bool, Failure> {
        let w = self.w.clone();
        let avail = rbuf.len() - resp.head_len;
        let mut reusable = !resp.close;
        let mut remaining = 0u64;
        let mut decoder = None;
        let unframed = !client_http11;
        self.gather.clear();
        let out = match resp.body {
            // HEAD and 304 keep the upstream's Content-Length line as is.
            ResponseBody::None => OutBody::None,
            ResponseBody::Length(n) => OutBody::Length(n),
            ResponseBody::Chunked if unframed => OutBody::None,
            ResponseBody::Chunked => OutBody::Chunked,
            ResponseBody::UntilClose => OutBody::None,
        };
        let connection = match (close, client_http11) {
            (true, _) => ConnectionLine::Close,
            (false, true) => ConnectionLine::Omit,
            (false, false) => ConnectionLine::KeepAlive,
        };
        let tls = matches!(self.client, Downstream::Tls(_));
        let edits = w.routes.edits(route_index, tls);
        rewrite::client_response_edited(&rbuf, resp, out, connection, edits, &mut self.gather);
        match resp.body {
            ResponseBody::None => reusable &= avail == 0,
            ResponseBody::Length(n) => {
                let k = usize::try_from(n).unwrap_or(usize::MAX).min(avail);
                self.gather.push_base(resp.head_len..resp.head_len + k);
                reusable &= avail <= k;
                remaining = n - k as u64;
            }
            ResponseBody::Chunked => {
                let mut d = ChunkedDecoder::new();
                let progress = if unframed {
                    // HTTP/1.0 client: payload only (the rare path may allocate).
                    let mut payload = Gather::new();
                    let progress = d.reframe(&rbuf, resp.head_len, &mut payload);
                    for part in payload.parts {
                        if let Part::Base { start, end } = part {
                            self.gather.push_base(start as usize..end as usize);
                        }
                    }
                    progress
                } else {
                    d.reframe(&rbuf, resp.head_len, &mut self.gather)
                }
                .map_err(|_| chunked_failed(Side::Upstream))?;
                reusable &= !progress.done || progress.consumed == avail;
                if !progress.done {
                    decoder = Some(d);
                }
            }
            ResponseBody::UntilClose => {
                self.gather.push_base(resp.head_len..rbuf.len());
                reusable = false;
            }
        }
        let send_timeout = w.config.limits.send_timeout;
        let gather = std::mem::take(&mut self.gather);
        let Some((res, rbuf, gather)) = timed(
            self.client.socket(),
            send_timeout,
            pin!(self.client.write_gather(rbuf, gather)),
        )
        .await
        else {
            return Err(Failure {
                err: ProxyError::client(None, "client send timeout"),
                responded: true,
            });
        };
        self.gather = gather;
        if let Err(e) = res {
            return Err(Failure {
                err: ProxyError::client(None, "client write failed").with_io(e),
                responded: true,
            });
        }
        let flow = Flow {
            from: Leg {
                conn: &leased.conn,
                side: Side::Upstream,
                timeout: w.config.upstreams[leased.upstream].read_timeout,
            },
            to: Leg {
                conn: &self.client,
                side: Side::Client,
                timeout: send_timeout,
            },
        };
        let responded = |err| Failure {
            err,
            responded: true,
        };
        let rbuf = match (resp.body, decoder) {
            (ResponseBody::Length(_), _) if remaining > 0 => {
                Box::pin(body::copy_length(&flow, rbuf, remaining))
                    .await
                    .map_err(responded)?
            }
            (ResponseBody::Chunked, Some(mut d)) => {
                let copy = ChunkedCopy {
                    sent: 0,
                    limit: u64::MAX,
                    unframed,
                };
                let (rbuf, rest) = Box::pin(body::copy_chunked(
                    &flow,
                    rbuf,
                    &mut d,
                    &mut self.gather,
                    copy,
                ))
                .await
                .map_err(responded)?;
                reusable &= rest.is_empty();
                rbuf
            }
            (ResponseBody::UntilClose, _) => {
                let rbuf = Box::pin(body::copy_until_close(&flow, rbuf))
                    .await
                    .map_err(responded)?;
                self.client.socket().shutdown_write();
                rbuf
            }
            _ => rbuf,
        };
        w.io_bufs.give(rbuf);
        Ok(reusable)
    }
}
