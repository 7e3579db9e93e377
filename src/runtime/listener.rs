//! Binding every listener socket before any worker accepts: one
//! `SO_REUSEPORT` socket per listener per worker. Port 0 (tests) is resolved
//! by the first socket and reused by the others.

use std::io;
use std::net::SocketAddr;

use super::StartError;
use crate::config::Config;
use crate::net::bind_listener;

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => format!("address already in use ({e})"),
        io::ErrorKind::PermissionDenied => {
            format!("permission denied ({e}); ports below 1024 need CAP_NET_BIND_SERVICE")
        }
        io::ErrorKind::AddrNotAvailable => {
            format!("address not available on this machine ({e})")
        }
        _ => e.to_string(),
    }
}

/// Returns, per worker, one socket per listener (config order), and the
/// bound address of each listener.
#[allow(clippy::type_complexity)]
pub fn bind_all(
    config: &Config,
    workers: usize,
) -> Result<(Vec<Vec<std::net::TcpListener>>, Vec<SocketAddr>), StartError> {
    let mut per_worker: Vec<Vec<std::net::TcpListener>> =
        (0..workers).map(|_| Vec::new()).collect();
    let mut addrs = Vec::with_capacity(config.listeners.len());
    for l in &config.listeners {
        let mut addr = l.address;
        for sockets in per_worker.iter_mut() {
            let socket = bind_listener(addr, l.backlog).map_err(|e| StartError::Bind {
                address: l.address,
                message: describe(&e),
            })?;
            if addr.port() == 0 {
                addr = socket.local_addr().map_err(|e| StartError::Bind {
                    address: l.address,
                    message: describe(&e),
                })?;
            }
            sockets.push(socket);
        }
        addrs.push(addr);
    }
    Ok((per_worker, addrs))
}

/// Starts the built-in echo origin (the demo's backend) on its own thread.
pub fn start_echo(address: SocketAddr) -> Result<SocketAddr, StartError> {
    let fail = |source| StartError::Echo { address, source };
    let listener = std::net::TcpListener::bind(address).map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    crate::echo_origin::spawn(listener).map_err(fail)?;
    Ok(bound)
}
