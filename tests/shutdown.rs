//! Graceful shutdown: stop accepting, let in-flight exchanges finish, close
//! idle connections; in-process and through SIGTERM to the binary.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use portier::runtime::Server;
use support::*;

const GET_SLOW: &[u8] = b"GET /slow HTTP/1.1\r\nHost: example.org\r\n\r\n";
const GET_FAST: &[u8] = b"GET /fast HTTP/1.1\r\nHost: example.org\r\n\r\n";

/// A backend that holds each `/slow` request until the test releases it
/// (telling the test when one arrived) and answers others at once.
fn holding_backend() -> (Backend, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (arrived_tx, arrived_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (arrived_tx, release_rx) = (Mutex::new(arrived_tx), Mutex::new(release_rx));
    let backend = Backend::start(move |conn| {
        while let Some(req) = conn.read_request() {
            if req.target() == "/slow" {
                let _ = arrived_tx.lock().unwrap().send(());
                let _ = release_rx.lock().unwrap().recv_timeout(TIMEOUT);
                conn.write_all(&ok(b"finished after shutdown began"));
            } else {
                conn.write_all(&ok(b"fast"));
            }
        }
    });
    (backend, arrived_rx, release_tx)
}

/// Waits (bounded) for `server.wait()` to return.
fn wait_bounded(server: Server) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        server.wait();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(15))
        .expect("Server::wait returned after shutdown");
}

/// A new connection is refused, or closed without a response byte.
fn assert_not_served(addr: SocketAddr) {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, TIMEOUT) else {
        return;
    };
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    let _ = s.write_all(GET_FAST);
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "a connection made after shutdown began was served: {}",
            show(&buf[..n])
        ),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("a connection made after shutdown began was neither refused nor closed")
        }
        Err(_) => {}
    }
}

#[test]
fn in_flight_request_completes_while_new_connections_are_refused() {
    let (backend, arrived, release) = holding_backend();
    let mut proxy = ProxyConfig::new(backend.server()).start();
    let addr = proxy.addr;

    let mut idle = proxy.connect();
    let first = idle.roundtrip(GET_FAST);
    assert_eq!(first.body, b"fast");
    assert!(!first.closes());

    let mut in_flight = proxy.connect();
    in_flight.send(GET_SLOW);
    arrived
        .recv_timeout(TIMEOUT)
        .expect("the slow request reached the backend");

    let server = proxy.take_server();
    std::thread::scope(|s| {
        s.spawn(|| server.begin_shutdown()).join().unwrap();
    });
    // The idle keep-alive connection is closed; once it is, the worker has
    // stopped accepting.
    idle.assert_closed();
    assert_not_served(addr);

    release.send(()).unwrap();
    let resp = in_flight.read_response();
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"finished after shutdown began");
    assert!(
        resp.closes(),
        "the last response says Connection: close:\n{}",
        resp.head_text()
    );
    in_flight.assert_closed();
    wait_bounded(server);
}

#[test]
fn idle_connection_is_closed_and_wait_returns() {
    let backend = Backend::echo_target();
    let mut proxy = ProxyConfig::new(backend.server()).start();
    let mut idle = proxy.connect();
    assert_eq!(idle.roundtrip(GET_FAST).body, b"/fast");
    // A busy one too: from its third request it waits on epoll.
    let mut busy = proxy.connect();
    for _ in 0..4 {
        assert_eq!(busy.roundtrip(GET_FAST).body, b"/fast");
    }
    let server = proxy.take_server();
    server.begin_shutdown();
    idle.assert_closed();
    busy.assert_closed();
    wait_bounded(server);
}

#[test]
fn connection_made_as_shutdown_begins_is_closed() {
    // Connected (so accepted by the kernel, maybe not yet by portier) but
    // silent: once shutdown begins it must be closed or reset, never left
    // open, even after the server has stopped.
    let backend = Backend::echo_target();
    let mut proxy = ProxyConfig::new(backend.server()).start();
    let mut idle = proxy.connect();
    assert_eq!(idle.roundtrip(GET_FAST).body, b"/fast");
    let mut silent = proxy.connect();
    let server = proxy.take_server();
    server.begin_shutdown();
    idle.assert_closed();
    wait_bounded(server);
    silent.assert_closed();
}

#[test]
fn shutdown_timeout_bounds_the_drain() {
    // The backend never answers; portier gives up after shutdown_timeout.
    let backend = Backend::start(|conn| {
        if conn.read_request().is_some() {
            let _ = conn.read_head();
        }
    });
    let mut proxy = ProxyConfig::new(backend.server())
        .runtime("shutdown_timeout", "\"300ms\"")
        .start();
    let mut client = proxy.connect();
    client.send(GET_SLOW);
    backend.wait_bytes(0, b"GET /slow");
    let server = proxy.take_server();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = tx.send(());
    });
    rx.recv_timeout(TIMEOUT)
        .expect("shutdown returned after shutdown_timeout");
    let rest = client.read_to_eof();
    assert!(!contains(&rest, b" 200 "), "{}", show(&rest));
    backend.wait_closed(0);
}

#[test]
fn dropping_the_server_shuts_it_down() {
    let backend = Backend::echo_target();
    let proxy = ProxyConfig::new(backend.server()).start();
    let addr = proxy.addr;
    let mut idle = proxy.connect();
    assert_eq!(idle.roundtrip(GET_FAST).body, b"/fast");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(proxy);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(15))
        .expect("drop returned");
    idle.assert_closed();
    assert_not_served(addr);
}

#[test]
fn binary_drains_and_exits_0_on_sigterm() {
    let backend = Backend::echo_target();
    let dir = TempDir::new("sigterm");
    let path = dir.join("portier.toml");
    std::fs::write(&path, ProxyConfig::new(backend.server()).toml()).unwrap();
    let mut child = portier_bin()
        .arg("--config")
        .arg(&path)
        .env("PORTIER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn portier");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let (exit_tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });
    // Kills the process if the test fails before it exits.
    struct KillOnPanic(u32, bool);
    impl Drop for KillOnPanic {
        fn drop(&mut self) {
            if !self.1 {
                let _ = std::process::Command::new("kill")
                    .arg("-KILL")
                    .arg(self.0.to_string())
                    .status();
            }
        }
    }
    let mut guard = KillOnPanic(pid, false);

    let addr: SocketAddr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(15))
            .expect("portier prints its listening address");
        if let Some(rest) = line.trim().strip_prefix("listening on http://") {
            break rest.trim_end_matches('/').parse().expect("an address");
        }
    };
    let mut client = RawClient::connect(addr);
    let resp = client.roundtrip(GET_FAST);
    assert_eq!(resp.body, b"/fast");

    send_signal(pid, "TERM");
    let status = exited
        .recv_timeout(Duration::from_secs(15))
        .expect("portier exits within 15 s of SIGTERM")
        .expect("wait");
    guard.1 = true;
    assert_eq!(status.code(), Some(0), "{status:?}");
    client.assert_closed();
}
