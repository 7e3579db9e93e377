//! The proxy path: one client connection's session, routing, upstream
//! connection pools and server selection.

pub mod balance;
pub mod body;
pub mod pool;
pub mod route;
pub mod session;
pub mod upstream;

use std::future::Future;
use std::time::Duration;

use crate::net::Conn;

/// Runs one read on `conn` with a time limit. When the limit passes, only
/// the receiving direction is shut: the read in flight completes, and the
/// connection can still carry an answer (408 to a slow client).
pub(crate) async fn timed_read<T>(
    conn: &Conn,
    limit: Duration,
    op: impl Future<Output = T>,
) -> Option<T> {
    match tokio::time::timeout(limit, op).await {
        Ok(v) => Some(v),
        Err(_) => {
            conn.shutdown_read();
            None
        }
    }
}

/// Runs one operation on `conn` with a time limit. When the limit passes the
/// socket is shut down first, so the operation still in flight completes
/// instead of holding its buffer until the peer speaks (DESIGN.md).
pub(crate) async fn timed<T>(
    conn: &Conn,
    limit: Duration,
    op: impl Future<Output = T>,
) -> Option<T> {
    match tokio::time::timeout(limit, op).await {
        Ok(v) => Some(v),
        Err(_) => {
            conn.shutdown();
            None
        }
    }
}
