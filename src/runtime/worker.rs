//! One worker: its accept loops, its per-worker state (upstream pools,
//! buffers, server selection) and its part in a graceful shutdown.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::net::deadline;

use super::stats::WorkerStats;
use crate::config::Config;
use crate::net::{spawn, BufferPool, GatherPool, Listener};
use crate::proxy::balance::Balancer;
use crate::proxy::pool::UpstreamPool;
use crate::proxy::route::RouteTable;
use crate::proxy::session;
use crate::tls::acceptor::TlsAcceptor;

/// Size of the buffers that carry bodies and response heads.
pub const IO_BUFFER: usize = 64 * 1024;
/// Buffers of each kind a worker keeps for reuse.
const KEPT_BUFFERS: usize = 64;

/// Per-worker state, shared by the worker's tasks through `Rc`.
pub struct Worker {
    pub id: usize,
    pub config: Arc<Config>,
    pub routes: Arc<RouteTable>,
    /// Per listener (config order): its TLS settings, if it terminates TLS.
    pub tls: Vec<Option<Arc<TlsAcceptor>>>,
    pub pool: RefCell<UpstreamPool>,
    pub balancer: Balancer,
    /// Buffers for request heads (`max_request_head` bytes).
    pub head_bufs: BufferPool,
    /// Buffers for bodies and response heads.
    pub io_bufs: BufferPool,
    /// Gathered-write descriptions, lent to connections per request.
    pub gathers: GatherPool,
    /// Open client connections.
    pub conns: Cell<usize>,
    /// Set once shutdown has begun.
    pub stopping: Cell<bool>,
    /// Woken when the last connection closes during shutdown.
    drained: Notify,
    /// Counters, read by [`crate::runtime::Server::stats`].
    pub stats: Arc<WorkerStats>,
}

impl Worker {
    pub fn new(
        id: usize,
        config: Arc<Config>,
        routes: Arc<RouteTable>,
        tls: Vec<Option<Arc<TlsAcceptor>>>,
        stats: Arc<WorkerStats>,
    ) -> Rc<Self> {
        Rc::new(Self {
            id,
            tls,
            pool: RefCell::new(UpstreamPool::new(&config)),
            balancer: Balancer::new(&config),
            head_bufs: BufferPool::new(config.limits.max_request_head, KEPT_BUFFERS),
            io_bufs: BufferPool::new(IO_BUFFER, KEPT_BUFFERS),
            gathers: GatherPool::new(KEPT_BUFFERS),
            config,
            routes,
            conns: Cell::new(0),
            stopping: Cell::new(false),
            drained: Notify::new(),
            stats,
        })
    }

    /// Called by a connection's task as it ends.
    pub(crate) fn connection_closed(&self) {
        let n = self.conns.get().saturating_sub(1);
        self.conns.set(n);
        if n == 0 && self.stopping.get() {
            self.drained.notify_waiters();
        }
    }
}

/// Runs a worker until shutdown completes.
pub async fn run(
    w: Rc<Worker>,
    sockets: Vec<std::net::TcpListener>,
    mut stop: watch::Receiver<bool>,
) {
    let listeners: Vec<Rc<Listener>> = sockets
        .into_iter()
        .map(|s| Rc::new(Listener::from_std(s)))
        .collect();
    let accepting: Vec<_> = listeners
        .iter()
        .enumerate()
        .map(|(index, l)| spawn(accept_loop(w.clone(), l.clone(), index)))
        .collect();
    spawn(housekeeping(w.clone()));

    let _ = stop.wait_for(|stopping| *stopping).await;
    w.stopping.set(true);
    deadline::close_idle();
    for l in &listeners {
        l.stop();
    }
    drop(listeners);
    let drained = async {
        // Accept loops end once their pending accept fails on the shut
        // listener (or hands over a connection, which is then closed): a
        // completed accept must never be left to the runtime's teardown,
        // which would leak its socket.
        for a in accepting {
            let _ = a.await;
        }
        loop {
            let notified = w.drained.notified();
            if w.conns.get() == 0 {
                break;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(w.config.runtime.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            worker = w.id,
            open = w.conns.get(),
            "shutdown_timeout reached; closing remaining connections"
        );
    }
    w.pool.borrow_mut().clear();
    let stats = w.stats.snapshot();
    if stats.handshake_failures_total() > 0 {
        tracing::info!(
            worker = w.id,
            "TLS handshakes failed: {}",
            stats.handshake_summary()
        );
    }
}

/// Accepts until shutdown. The accept is never raced against the stop
/// signal (dropping a completed accept would leak its socket): shutdown
/// shuts the listener, which ends the pending accept with an error.
async fn accept_loop(w: Rc<Worker>, listener: Rc<Listener>, index: usize) {
    loop {
        let accepted = listener.accept().await;
        if w.stopping.get() {
            // A connection accepted as shutdown began is closed on drop.
            return;
        }
        match accepted {
            Ok((conn, peer)) => {
                if w.conns.get() >= w.config.limits.max_connections {
                    tracing::warn!(worker = w.id, %peer, "max_connections reached; connection refused");
                    continue;
                }
                w.conns.set(w.conns.get() + 1);
                spawn(session::serve(w.clone(), conn, peer, index));
            }
            Err(e) => {
                tracing::warn!(worker = w.id, listener = index, "accept failed: {e}");
                // Out of descriptors or memory: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// How often deadlines are checked: a quarter of the shortest configured
/// timeout, between 10 ms and 250 ms.
fn deadline_tick(config: &Config) -> Duration {
    let l = &config.limits;
    let mut shortest = [
        l.client_header_timeout,
        l.client_body_timeout,
        l.send_timeout,
    ]
    .into_iter()
    .chain(
        config
            .upstreams
            .iter()
            .flat_map(|u| [u.read_timeout, u.send_timeout]),
    )
    .min()
    .unwrap_or(Duration::from_secs(1));
    if !l.keepalive_timeout.is_zero() {
        shortest = shortest.min(l.keepalive_timeout);
    }
    (shortest / 4).clamp(Duration::from_millis(10), Duration::from_millis(250))
}

/// Expires overdue connections (every tick); every second, closes pooled
/// upstream connections past `keepalive_idle` and frees unused buffers;
/// until the worker ends.
async fn housekeeping(w: Rc<Worker>) {
    let tick_every = deadline_tick(&w.config);
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pool_sweep = deadline::now_ms();
    loop {
        tick.tick().await;
        deadline::sweep();
        let now = deadline::now_ms();
        if now.saturating_sub(last_pool_sweep) >= 1000 {
            w.pool.borrow_mut().sweep(now);
            // Buffers kept after a burst go back to the allocator once
            // they sit unused for a second.
            w.head_bufs.trim();
            w.io_bufs.trim();
            w.gathers.trim();
            crate::tls::stream::trim_buffers();
            last_pool_sweep = now;
        }
    }
}
