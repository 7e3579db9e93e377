//! The proxy path: one client connection's session, routing, upstream
//! connection pools and server selection.

pub mod acme;
pub mod balance;
pub mod body;
pub mod downstream;
pub mod pool;
pub mod route;
pub mod session;
pub mod upstream;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::net::{Conn, Expiry};

// The operation comes pinned by the caller (`std::pin::pin!` in the
// call): the caller's future then holds it once. Taken by value, it would
// be stored again by `timed` and again by `with_deadline` (an `async fn`
// keeps its arguments and the futures it awaits side by side), which made
// a request's future about 1.2 KiB larger, allocated and copied per request.

/// Runs one read on `conn` with a time limit (`None`: it passed). Only the
/// receiving direction is shut on expiry: the read in flight ends and the
/// connection can still carry an answer (408 to a slow client).
pub(crate) async fn timed_read<F: Future>(
    conn: &Conn,
    limit: Duration,
    op: Pin<&mut F>,
) -> Option<F::Output> {
    with_deadline(conn, limit, Expiry::StopReading, op).await
}

/// Runs one operation on `conn` with a time limit (`None`: it passed). On
/// expiry the socket is shut down, so the operation in flight completes
/// instead of holding its buffer until the peer speaks (DESIGN.md).
pub(crate) async fn timed<F: Future>(
    conn: &Conn,
    limit: Duration,
    op: Pin<&mut F>,
) -> Option<F::Output> {
    with_deadline(conn, limit, Expiry::Close, op).await
}

/// No timer is created: the worker's deadline sweep does the shutting.
async fn with_deadline<F: Future>(
    conn: &Conn,
    limit: Duration,
    how: Expiry,
    op: Pin<&mut F>,
) -> Option<F::Output> {
    conn.arm(limit, how);
    let v = op.await;
    (!conn.disarm()).then_some(v)
}
