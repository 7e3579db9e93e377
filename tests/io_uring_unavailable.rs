//! When io_uring cannot be used (a seccomp profile or
//! `kernel.io_uring_disabled` refuses `io_uring_setup`), portier says so,
//! says how to fix it, and exits with code 3 instead of hanging or panicking.
//! The refusal is made real with a seccomp filter (tests/tools/deny_io_uring.py).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run_denied(errno: &str) -> Option<(i32, String)> {
    let dir = std::env::temp_dir().join(format!("portier-nouring-{}-{errno}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("p.toml");
    std::fs::write(
        &cfg,
        "[runtime]\nworkers = 2\n[[listener]]\naddress = \"127.0.0.1:0\"\n\
         [[upstream]]\nname = \"u\"\nservers = [\"127.0.0.1:9\"]\n[[route]]\nupstream = \"u\"\n",
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/deny_io_uring.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(errno)
        .arg(env!("CARGO_BIN_EXE_portier"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("portier did not exit within 20 s without io_uring");
        }
        std::thread::park_timeout(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    match status.code() {
        Some(77) => None, // architecture without the filter: skipped
        code => Some((code.unwrap_or(-1), stderr)),
    }
}

#[test]
fn eperm_names_the_sysctl_and_seccomp_and_exits_3() {
    let Some((code, stderr)) = run_denied("EPERM") else {
        return;
    };
    assert_eq!(code, 3, "stderr: {stderr}");
    assert!(stderr.contains("io_uring is not permitted"), "{stderr}");
    assert!(stderr.contains("kernel.io_uring_disabled"), "{stderr}");
    assert!(stderr.contains("seccomp"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn enosys_says_the_kernel_lacks_io_uring_and_exits_3() {
    let Some((code, stderr)) = run_denied("ENOSYS") else {
        return;
    };
    assert_eq!(code, 3, "stderr: {stderr}");
    assert!(stderr.contains("no io_uring"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
