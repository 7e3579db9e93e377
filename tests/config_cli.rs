//! Configuration errors name file:line:col, through the library and through
//! `portier check`; the command line's exit codes.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use portier::config::{load_str, ConfigError};
use support::*;

const LIMIT: Duration = Duration::from_secs(15);

/// A valid configuration whose upstream section ends at line 10 with
/// `extra_upstream` (so that line 10 is the first line of it), and whose
/// route section starts at line 12.
fn config_with(extra_upstream: &str, route: &str) -> String {
    format!(
        "[runtime]\n\
         workers = 1\n\
         \n\
         [[listener]]\n\
         address = \"127.0.0.1:0\"\n\
         \n\
         [[upstream]]\n\
         name = \"backend\"\n\
         servers = [\"127.0.0.1:9\"]\n\
         {extra_upstream}\n\
         \n\
         [[route]]\n\
         {route}\n"
    )
}

fn refused(text: &str) -> ConfigError {
    match load_str(text, "test.toml") {
        Ok(_) => panic!("configuration accepted:\n{text}"),
        Err(e) => e,
    }
}

fn assert_at(e: &ConfigError, line: usize, col: usize, mentions: &str) {
    assert_eq!((e.line, e.col), (Some(line), Some(col)), "{e}");
    assert_eq!(e.origin, "test.toml");
    let shown = e.to_string();
    let prefix = format!("test.toml:{line}:{col}: ");
    assert!(
        shown.starts_with(&prefix),
        "{shown:?} does not start with {prefix:?}"
    );
    assert_eq!(shown, format!("{prefix}{}", e.message));
    assert!(
        e.message.contains(mentions),
        "message {:?} should mention {mentions:?}",
        e.message
    );
    assert!(
        !e.message.contains('\n'),
        "one-line message: {:?}",
        e.message
    );
}

#[test]
fn valid_config_loads_with_values() {
    let text = config_with(
        "read_timeout = \"300ms\"",
        "upstream = \"backend\"\nmax_request_body = \"1k\"",
    );
    let config = load_str(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(config.listeners[0].address, "127.0.0.1:0".parse().unwrap());
    assert_eq!(config.upstreams[0].name, "backend");
    assert_eq!(config.upstreams[0].read_timeout, Duration::from_millis(300));
    assert_eq!(config.routes[0].max_request_body, Some(1024));
}

#[test]
fn bad_duration_is_located() {
    let e = refused(&config_with(
        "read_timeout = \"5 parsecs\"",
        "upstream = \"backend\"",
    ));
    assert_at(&e, 10, 16, "read_timeout");
}

#[test]
fn bad_duration_after_indentation_is_located() {
    let e = refused(&config_with(
        "  connect_timeout   =   \"soon\"  # comment",
        "upstream = \"backend\"",
    ));
    assert_at(&e, 10, 25, "connect_timeout");
}

#[test]
fn bad_size_is_located() {
    let e = refused(&config_with(
        "read_timeout = \"1s\"",
        "upstream = \"backend\"\nmax_request_body = \"32Q\"",
    ));
    assert_at(&e, 14, 20, "max_request_body");
}

#[test]
fn unknown_key_is_located() {
    let text =
        "[runtime]\nworkers = 1\n\n[limits]\nmax_request_head = \"16k\"\nmax_header_size = 5\n\n\
                [[listener]]\naddress = \"127.0.0.1:0\"\n";
    let e = refused(text);
    assert_at(&e, 6, 1, "max_header_size");
}

#[test]
fn route_to_unknown_upstream_is_located() {
    let e = refused(&config_with(
        "read_timeout = \"1s\"",
        "host = [\"example.org\"]\nupstream = \"nope\"",
    ));
    assert_at(&e, 14, 12, "nope");
}

#[test]
fn embedded_demo_is_valid() {
    let demo = portier::config::demo().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(demo.listeners[0].address, "127.0.0.1:8080".parse().unwrap());
    let echo = demo
        .echo_origin
        .as_ref()
        .expect("the demo has an echo origin");
    assert_eq!(echo.address, "127.0.0.1:8081".parse().unwrap());
    assert!(load_str(portier::config::DEMO, "demo.toml").is_ok());
}

#[test]
fn check_accepts_a_valid_file() {
    let dir = TempDir::new("check-ok");
    let path = dir.join("good.toml");
    std::fs::write(&path, config_with("", "upstream = \"backend\"")).unwrap();
    let mut cmd = portier_bin();
    cmd.arg("check").arg("--config").arg(&path);
    let out = run_bounded(cmd, LIMIT);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_refuses_a_bad_file_with_its_position() {
    let dir = TempDir::new("check-bad");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        config_with("read_timeout = \"5 parsecs\"", "upstream = \"backend\""),
    )
    .unwrap();
    let mut cmd = portier_bin();
    cmd.arg("check").arg("--config").arg(&path);
    let out = run_bounded(cmd, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("portier: invalid configuration: "),
        "{stderr}"
    );
    assert!(stderr.contains("bad.toml:10:16: "), "{stderr}");
}

#[test]
fn check_reports_a_missing_file() {
    let dir = TempDir::new("check-missing");
    let mut cmd = portier_bin();
    cmd.arg("check")
        .arg("--config")
        .arg(dir.join("absent.toml"));
    let out = run_bounded(cmd, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("absent.toml"), "{stderr}");
}

#[test]
fn run_refuses_a_bad_file_before_starting() {
    let dir = TempDir::new("run-bad");
    let path = dir.join("bad.toml");
    std::fs::write(&path, config_with("", "upstream = \"nope\"")).unwrap();
    let mut cmd = portier_bin();
    cmd.arg("--config").arg(&path);
    let out = run_bounded(cmd, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("bad.toml:13:12: "), "{stderr}");
}

#[test]
fn version_is_printed() {
    let mut cmd = portier_bin();
    cmd.arg("--version");
    let out = run_bounded(cmd, LIMIT);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
}

#[test]
fn address_in_use_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = TempDir::new("in-use");
    let path = dir.join("in-use.toml");
    let text = config_with("", "upstream = \"backend\"").replace("127.0.0.1:0", &addr.to_string());
    std::fs::write(&path, text).unwrap();
    let mut cmd = portier_bin();
    cmd.arg("--config").arg(&path);
    let out = run_bounded(cmd, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&addr.to_string()),
        "the message names the address: {stderr}"
    );
    drop(taken);
}
