//! Transparent huge pages off for the process. mimalloc asks for huge pages
//! on its arenas (`madvise(MADV_HUGEPAGE)`), so memory grows in 2 MiB steps:
//! a few thousand idle connections then read as 2-3 KiB each by RSS
//! instead of the ~1 KiB they use. The proxy's working set is small and
//! measured CPU per request does not change without them (A/B with
//! `MIMALLOC_ALLOW_THP=0`), so portier trades them for tight memory.

use std::io;

/// `prctl(PR_SET_THP_DISABLE)`: no huge page for any later page fault of
/// this process (what is already mapped huge stays so).
pub fn disable_transparent_huge_pages() -> io::Result<()> {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only (1, then
    // three zeros); no memory is passed to the kernel.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_reports_huge_pages_off() {
        super::disable_transparent_huge_pages().expect("prctl");
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let line = status
            .lines()
            .find(|l| l.starts_with("THP_enabled:"))
            .expect("a THP_enabled line (Linux >= 5.0)");
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
