//! Timeouts without a timer per operation. Each connection carries one
//! deadline (a coarse monotonic time in milliseconds, set and cleared with
//! two stores around an operation); a per-worker sweep expires the overdue
//! ones by shutting their sockets, which completes whatever operation is in
//! flight. This replaces a tokio timer (wheel insert, removal, a clock read,
//! ~110 bytes held) for each of the five waits of a proxied request, and
//! lets an idle connection hold no timer at all.
//!
//! The registry is thread-local: a worker only ever sees its own
//! connections.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::task::Waker;
use std::time::Duration;

/// What the sweep does to a connection whose deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Shut both directions (the connection is done).
    Close,
    /// Shut only the receiving side: the read in flight ends, and the
    /// connection can still carry an answer (a 408).
    StopReading,
}

/// A connection's deadline state.
#[derive(Default)]
pub(crate) struct Timer {
    /// Milliseconds on the coarse clock; 0 = none.
    deadline: Cell<u64>,
    close: Cell<bool>,
    expired: Cell<bool>,
    /// Waiting between requests: closed as soon as shutdown begins.
    idle: Cell<bool>,
    /// A second, softer deadline for a wait on readiness: past it the sweep
    /// wakes the waiting task (`waker`) and sets `demoted` instead of
    /// shutting anything. 0 = none.
    demote_at: Cell<u64>,
    demoted: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

/// Something the sweep can shut down.
pub(crate) trait Expire {
    fn timer(&self) -> &Timer;
    fn expire(&self, how: Expiry);
}

thread_local! {
    static REGISTRY: RefCell<Vec<Weak<dyn Expire>>> = const { RefCell::new(Vec::new()) };
}

/// Milliseconds on CLOCK_MONOTONIC_COARSE (a few ms resolution, no TSC read).
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively
    // borrowed `ts`; CLOCK_MONOTONIC_COARSE exists on every Linux io_uring
    // runs on.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts);
    }
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000 + 1
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn register(conn: Weak<dyn Expire>) {
    REGISTRY.with(|r| r.borrow_mut().push(conn));
}

impl Timer {
    /// Arms the deadline `limit` from now.
    pub(crate) fn arm(&self, limit: Duration, how: Expiry) {
        self.arm_at(now_ms().saturating_add(millis(limit)), how);
    }

    /// Arms the deadline at `at` (a [`now_ms`] value).
    pub(crate) fn arm_at(&self, at: u64, how: Expiry) {
        self.deadline.set(at.max(1));
        self.close.set(how == Expiry::Close);
        self.expired.set(false);
    }

    /// Disarms; true when the deadline had passed (the operation that just
    /// ended was cut short by the sweep).
    pub(crate) fn disarm(&self) -> bool {
        self.deadline.set(0);
        self.idle.set(false);
        self.expired.replace(false)
    }

    pub(crate) fn set_idle(&self) {
        self.idle.set(true);
    }

    /// Arms the soft deadline `limit` from now (see [`Timer::demoted`]).
    pub(crate) fn arm_demote(&self, limit: Duration) {
        self.demote_at
            .set(now_ms().saturating_add(millis(limit)).max(1));
        self.demoted.set(false);
    }

    /// Whether the soft deadline passed; the waiting task was woken.
    pub(crate) fn demoted(&self) -> bool {
        self.demoted.get()
    }

    /// Remembers the task to wake when the soft deadline passes.
    pub(crate) fn park(&self, waker: &Waker) {
        match self.waker.take() {
            Some(w) if w.will_wake(waker) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(waker.clone())),
        }
    }

    /// Disarms the soft deadline. The parked waker is kept: the next wait
    /// of the same task then stores nothing new (`park` checks
    /// `will_wake`), and with no soft deadline armed the sweep never wakes
    /// it.
    pub(crate) fn disarm_demote(&self) {
        self.demote_at.set(0);
        self.demoted.set(false);
    }

    /// The waker to wake when the soft deadline has just passed.
    fn check_demote(&self, now: u64) -> Option<Waker> {
        let d = self.demote_at.get();
        if d == 0 || d > now {
            return None;
        }
        self.demote_at.set(0);
        self.demoted.set(true);
        self.waker.take()
    }

    fn check(&self, now: u64) -> Option<Expiry> {
        let d = self.deadline.get();
        if d == 0 || d > now || self.expired.get() {
            return None;
        }
        self.expired.set(true);
        Some(if self.close.get() {
            Expiry::Close
        } else {
            Expiry::StopReading
        })
    }
}

/// Expires every overdue connection of this worker and forgets closed ones.
/// Returns how many connections are registered.
pub fn sweep() -> usize {
    let now = now_ms();
    let mut due: Vec<(Rc<dyn Expire>, Expiry)> = Vec::new();
    let mut wake: Vec<Waker> = Vec::new();
    let live = REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|weak| match weak.upgrade() {
            None => false,
            Some(conn) => {
                if let Some(how) = conn.timer().check(now) {
                    due.push((conn.clone(), how));
                }
                if let Some(w) = conn.timer().check_demote(now) {
                    wake.push(w);
                }
                true
            }
        });
        r.len()
    });
    // Shut down outside the registry borrow: closing may drop connections.
    for (conn, how) in due {
        conn.expire(how);
    }
    wake.into_iter().for_each(Waker::wake);
    live
}

/// Closes every connection waiting between requests (shutdown began).
pub fn close_idle() {
    let mut idle: Vec<Rc<dyn Expire>> = Vec::new();
    REGISTRY.with(|r| {
        for weak in r.borrow().iter() {
            if let Some(conn) = weak.upgrade() {
                if conn.timer().idle.get() {
                    idle.push(conn);
                }
            }
        }
    });
    for conn in idle {
        conn.timer().expired.set(true);
        conn.expire(Expiry::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_expires_once_and_disarm_reports_it() {
        let t = Timer::default();
        assert_eq!(t.check(u64::MAX), None, "unarmed never expires");
        t.arm_at(100, Expiry::StopReading);
        assert_eq!(t.check(99), None);
        assert_eq!(t.check(100), Some(Expiry::StopReading));
        assert_eq!(t.check(200), None, "expires once");
        assert!(t.disarm());
        assert!(!t.disarm());
        t.arm(Duration::from_secs(60), Expiry::Close);
        assert_eq!(t.check(now_ms()), None);
        assert!(!t.disarm());
    }

    #[test]
    fn soft_deadline_wakes_the_parked_task_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let t = Timer::default();
        assert!(t.check_demote(u64::MAX).is_none(), "unarmed");
        t.arm_demote(Duration::from_secs(1));
        t.park(&waker);
        let at = t.demote_at.get();
        assert!(t.check_demote(at - 1).is_none());
        assert!(!t.demoted());
        t.check_demote(at).expect("the parked waker").wake();
        assert!(t.demoted());
        assert!(t.check_demote(at + 1).is_none(), "once");
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        t.disarm_demote();
        assert!(!t.demoted());
        // The next wait of the same task keeps the stored waker: no clone.
        t.arm_demote(Duration::from_secs(1));
        t.park(&waker);
        let refs = Arc::strong_count(&count);
        t.disarm_demote();
        t.arm_demote(Duration::from_secs(1));
        t.park(&waker);
        assert_eq!(Arc::strong_count(&count), refs);
        t.disarm_demote();
        // The hard deadline is independent of the soft one.
        assert_eq!(t.check(u64::MAX), None);
    }
}
