//! The thread-per-core runtime: one pinned OS thread per worker, each with
//! its own io_uring, its own `SO_REUSEPORT` listener sockets, upstream pools
//! and buffers. Nothing on the request path is shared between workers except
//! the read-only config and route table.

pub mod listener;
pub mod signals;
pub mod stats;
pub mod worker;

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::config::{Config, Workers};
use crate::net::{RuntimeError, WorkerRuntime};
use crate::proxy::route::RouteTable;
use crate::tls::acceptor::TlsAcceptor;
use stats::{Stats, WorkerStats};

/// Submission queue entries per worker ring.
const RING_ENTRIES: u32 = 1024;

/// Why portier could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("listener {address}: {message}")]
    Bind {
        address: SocketAddr,
        message: String,
    },
    #[error("echo origin {address}: {source}")]
    Echo {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    #[error("listener {address}: {message}")]
    Tls {
        address: SocketAddr,
        message: String,
    },
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
}

impl StartError {
    /// Process exit code: 3 when io_uring is unavailable, 2 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Runtime(_) => 3,
            _ => 2,
        }
    }
}

/// A running portier: its workers and the addresses it listens on.
pub struct Server {
    addrs: Vec<SocketAddr>,
    echo: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    stats: Vec<Arc<WorkerStats>>,
}

/// The CPUs to run workers on: the process's affinity mask (so `taskset`
/// and cgroup cpusets are honoured).
fn worker_cores(workers: &Workers) -> (usize, Vec<core_affinity::CoreId>) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let n = match workers {
        Workers::Count(n) => *n,
        Workers::Auto if !cores.is_empty() => cores.len(),
        Workers::Auto => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    (n.max(1), cores)
}

impl Server {
    /// Binds every socket, starts the workers and returns once all of them
    /// run (or the first error, with every started worker stopped).
    pub fn start(config: Arc<Config>) -> Result<Server, StartError> {
        if let Err(e) = crate::net::disable_transparent_huge_pages() {
            tracing::debug!("transparent huge pages stay on: {e}");
        }
        let (n, cores) = worker_cores(&config.runtime.workers);
        let (mut per_worker, addrs) = listener::bind_all(&config, n)?;
        let echo = match &config.echo_origin {
            Some(e) => Some(listener::start_echo(e.address)?),
            None => None,
        };
        let routes = Arc::new(RouteTable::new(&config));
        let mut tls = Vec::with_capacity(config.listeners.len());
        for l in &config.listeners {
            tls.push(match &l.tls {
                None => None,
                Some(t) => Some(Arc::new(TlsAcceptor::new(t).map_err(|message| {
                    StartError::Tls {
                        address: l.address,
                        message,
                    }
                })?)),
            });
        }
        let (stop, stop_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), RuntimeError>>();
        let mut threads = Vec::with_capacity(n);
        let stats: Vec<Arc<WorkerStats>> = (0..n).map(|_| Arc::default()).collect();
        for id in (0..n).rev() {
            let sockets = per_worker.pop().unwrap_or_default();
            let core = (!cores.is_empty()).then(|| cores[id % cores.len()]);
            let (config, routes, stop_rx, ready) = (
                config.clone(),
                routes.clone(),
                stop_rx.clone(),
                ready_tx.clone(),
            );
            let tls = tls.clone();
            let worker_stats = stats[id].clone();
            let spawned = std::thread::Builder::new()
                .name(format!("portier-w{id}"))
                .spawn(move || {
                    if let Some(core) = core {
                        if !core_affinity::set_for_current(core) {
                            tracing::warn!(worker = id, "could not pin worker to cpu {}", core.id);
                        }
                    }
                    let rt = match WorkerRuntime::new(RING_ENTRIES) {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready.send(Ok(()));
                    drop(ready);
                    let w = worker::Worker::new(id, config, routes, tls, worker_stats);
                    rt.block_on(worker::run(w, sockets, stop_rx));
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    let server = Server {
                        addrs,
                        echo,
                        stop,
                        threads,
                        stats,
                    };
                    server.shutdown();
                    return Err(StartError::Thread(e));
                }
            }
        }
        drop(ready_tx);
        let mut failure = None;
        for _ in 0..n {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => break,
            }
        }
        let server = Server {
            addrs,
            echo,
            stop,
            threads,
            stats,
        };
        match failure {
            Some(e) => {
                server.shutdown();
                Err(StartError::Runtime(e))
            }
            None => Ok(server),
        }
    }

    /// The bound address of each listener, in config order (port 0 resolved).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The built-in echo origin's address, when configured.
    pub fn echo_addr(&self) -> Option<SocketAddr> {
        self.echo
    }

    /// Every worker's counters, summed.
    pub fn stats(&self) -> Stats {
        Stats::sum(self.stats.iter().map(|s| &**s))
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Stops accepting and starts draining: in-flight requests finish (up to
    /// `shutdown_timeout`), idle connections close.
    pub fn begin_shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until every worker has exited.
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// `begin_shutdown` then `wait`.
    pub fn shutdown(self) {
        self.begin_shutdown();
        self.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
