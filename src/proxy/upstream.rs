//! The upstream side of one exchange: getting a connection (pooled or new,
//! round robin over live servers) and reading the response head.

use std::pin::pin;

use super::timed;
use crate::config::ServerAddr;
use crate::error::{ProxyError, Side};
use crate::http1::head::{parse_response, HeadLimits, Method, Parsed, ResponseHead};
use crate::net::{now_ms, Conn, Gather, Stream};
use crate::runtime::worker::Worker;

/// A connection to one server of an upstream, for one exchange.
pub struct Leased {
    pub conn: Conn,
    pub upstream: usize,
    pub server: usize,
    /// Taken from the idle pool (it may have been closed by the server).
    pub reused: bool,
}

/// Largest response head portier accepts from an upstream.
pub const MAX_RESPONSE_HEAD: usize = 32 * 1024;

/// A connection to the next live server: an idle pooled one when
/// `allow_pooled`, else a new one. Servers that refuse are marked down and
/// the next is tried. 503 when every server is down, 504 when the last
/// attempt timed out, 502 otherwise.
pub async fn acquire(
    w: &Worker,
    upstream: usize,
    allow_pooled: bool,
) -> Result<Leased, ProxyError> {
    let Some(cfg) = w.config.upstreams.get(upstream) else {
        return Err(ProxyError {
            side: Side::Internal,
            status: Some(500),
            reason: "route names a missing upstream",
            io: None,
        });
    };
    let now = now_ms();
    let mut last: Option<ProxyError> = None;
    for server in w.balancer.candidates(upstream, now) {
        if allow_pooled {
            if let Some(conn) = w.pool.borrow_mut().checkout(upstream, server, now) {
                return Ok(Leased {
                    conn,
                    upstream,
                    server,
                    reused: true,
                });
            }
        }
        let Some(addr) = cfg.servers.get(server) else {
            continue;
        };
        let connected = match addr {
            ServerAddr::Tcp(a) => Box::pin(Conn::connect_tcp(*a, cfg.connect_timeout)).await,
            ServerAddr::Unix(p) => {
                match Box::pin(tokio::time::timeout(
                    cfg.connect_timeout,
                    Conn::connect_unix(p),
                ))
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                }
            }
        };
        match connected {
            Ok(conn) => {
                w.balancer.mark_ok(upstream, server);
                return Ok(Leased {
                    conn,
                    upstream,
                    server,
                    reused: false,
                });
            }
            Err(e) => {
                tracing::warn!(upstream = %cfg.name, server = %addr, "connect failed: {e}");
                w.balancer.mark_failed(upstream, server, now_ms());
                last = Some(if e.kind() == std::io::ErrorKind::TimedOut {
                    ProxyError::upstream(504, "upstream connect timeout")
                } else {
                    ProxyError::upstream(502, "upstream connect failed").with_io(e)
                });
            }
        }
    }
    Err(last.unwrap_or_else(|| ProxyError::upstream(503, "no server available")))
}

/// Why no response head was read.
pub struct HeadFailure {
    pub err: ProxyError,
    /// The upstream sent nothing at all (a dead pooled connection: safe to
    /// retry a replayable request on a new one).
    pub silent: bool,
}

/// Reads the final response head into `buf`. Informational 1xx responses
/// are consumed: 100 (portier answers Expect itself) is dropped, 102/103
/// are passed to HTTP/1.1 clients, 101 is refused (portier never asks for
/// an upgrade).
pub async fn read_response_head(
    w: &Worker,
    leased: &Leased,
    client: &impl Stream,
    client_http11: bool,
    method: Method,
    mut buf: Vec<u8>,
) -> Result<(ResponseHead, Vec<u8>), HeadFailure> {
    let read_timeout = w.config.upstreams[leased.upstream].read_timeout;
    let limits = HeadLimits {
        max_head: MAX_RESPONSE_HEAD.min(buf.capacity()),
        max_headers: w.config.limits.max_headers,
    };
    let mut received = false;
    loop {
        if !buf.is_empty() {
            match parse_response(&buf, &limits, method) {
                Ok(Parsed::Complete(head)) if (100..200).contains(&head.status) => {
                    if head.status == 101 {
                        return Err(HeadFailure {
                            err: ProxyError::upstream(502, "upstream switched protocols unasked"),
                            silent: false,
                        });
                    }
                    if head.status != 100 && client_http11 {
                        let mut g = Gather::new();
                        g.push_base(0..head.head_len);
                        let (res, b, _) = client.write_gather(buf, g).await;
                        buf = b;
                        if let Err(e) = res {
                            return Err(HeadFailure {
                                err: ProxyError::client(None, "client write failed").with_io(e),
                                silent: false,
                            });
                        }
                    }
                    buf.drain(..head.head_len);
                    continue;
                }
                Ok(Parsed::Complete(head)) => return Ok((head, buf)),
                Ok(Parsed::Partial) => {}
                Err(_) => {
                    return Err(HeadFailure {
                        err: ProxyError::upstream(502, "invalid response head from upstream"),
                        silent: false,
                    })
                }
            }
        }
        let Some((res, b)) = timed(&leased.conn, read_timeout, pin!(leased.conn.read(buf))).await
        else {
            return Err(HeadFailure {
                err: ProxyError::upstream(504, "upstream read timeout"),
                silent: false,
            });
        };
        buf = b;
        match res {
            Ok(0) => {
                return Err(HeadFailure {
                    err: ProxyError::upstream(502, "upstream closed before the response head"),
                    silent: !received,
                })
            }
            Ok(_) => received = true,
            Err(e) => {
                return Err(HeadFailure {
                    err: ProxyError::upstream(502, "upstream connection failed").with_io(e),
                    silent: !received,
                })
            }
        }
    }
}
