//! A warm client connection over a real socket: it waits on its epoll
//! registration while busy and gives it up after idling past `HOT_IDLE`,
//! still seeing the bytes that come later.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::net::uring::WorkerRuntime;

fn listener() -> (Listener, SocketAddr) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!());
    let std = bind_listener(addr, 16).expect("bind 127.0.0.1:0");
    let local = std.local_addr().expect("local address");
    (Listener::from_std(std), local)
}

#[test]
fn warm_connection_reads_on_epoll_then_cools_down_when_idle() {
    let rt = WorkerRuntime::new(64).expect("io_uring");
    rt.block_on(async {
        let (l, addr) = listener();
        let mut client = TcpStream::connect(addr).expect("connect");
        client.set_write_timeout(Some(Duration::from_secs(5))).ok();
        let (conn, _) = l.accept().await.expect("accept");
        assert!(!conn.is_warm(), "a new connection waits on the ring");

        conn.warm();
        assert!(conn.is_warm());
        client.write_all(b"first").expect("write");
        conn.readable().await.expect("readable");
        let (n, buf) = conn.read_ready(Vec::with_capacity(64)).await;
        assert_eq!(n.expect("read"), 5);
        assert_eq!(buf, b"first");
        assert!(conn.is_warm(), "still busy: still registered");

        // The worker's sweep, as the housekeeping task runs it.
        let sweeper = crate::net::spawn(async {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                deadline::sweep();
            }
        });
        let writer = {
            let conn = conn.clone();
            let mut client = client.try_clone().expect("clone");
            crate::net::spawn(async move {
                let give_up = Instant::now() + Duration::from_secs(10);
                while conn.is_warm() && Instant::now() < give_up {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                client.write_all(b"later").expect("write");
            })
        };
        let started = Instant::now();
        conn.readable().await.expect("readable after cooling down");
        // Deadlines run on CLOCK_MONOTONIC_COARSE, which trails the
        // precise clock by up to one kernel tick (at most 10 ms).
        let tick = Duration::from_millis(10);
        assert!(
            started.elapsed() + tick >= HOT_IDLE,
            "woke before HOT_IDLE: {:?}",
            started.elapsed()
        );
        assert!(!conn.is_warm(), "idle past HOT_IDLE: registration given up");
        let (n, buf) = conn.read_ready(Vec::with_capacity(64)).await;
        assert_eq!(n.expect("read"), 5);
        assert_eq!(buf, b"later");
        writer.await.expect("writer");
        sweeper.abort();
    });
}
