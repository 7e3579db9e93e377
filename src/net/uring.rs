//! Building one io_uring runtime per worker thread, and turning "io_uring is
//! not available here" into an error an operator can act on.

use std::future::Future;
use std::io;

/// Why a worker could not start its io_uring runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "io_uring is not permitted for this process (EPERM). It is disabled by the \
         sysctl kernel.io_uring_disabled (fix: `sysctl -w kernel.io_uring_disabled=0`, \
         or set it to 1 and add portier's user to the group in kernel.io_uring_group) \
         or blocked by a seccomp profile (containers: allow io_uring_setup, \
         io_uring_enter and io_uring_register; systemd: do not filter @io_uring)"
    )]
    NotPermitted,
    #[error(
        "this kernel has no io_uring (ENOSYS). portier needs Linux 5.11 or later \
         built with CONFIG_IO_URING=y"
    )]
    NotSupported,
    #[error(
        "io_uring could not allocate its rings (ENOMEM): raise the locked-memory \
         limit (ulimit -l, systemd LimitMEMLOCK=) or use a kernel >= 5.12"
    )]
    NoMemory,
    #[error("io_uring setup failed: {0}")]
    Other(io::Error),
}

impl RuntimeError {
    fn from_io(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => RuntimeError::NotPermitted,
            Some(libc::ENOSYS) => RuntimeError::NotSupported,
            Some(libc::ENOMEM) => RuntimeError::NoMemory,
            _ => RuntimeError::Other(e),
        }
    }
}

/// One worker's runtime: a tokio current-thread runtime driving one ring.
pub struct WorkerRuntime {
    rt: tokio_uring::Runtime,
}

impl WorkerRuntime {
    /// Builds the ring with COOP_TASKRUN and SINGLE_ISSUER (the worker is the
    /// only thread that submits), falling back to default flags on kernels
    /// that refuse them.
    pub fn new(entries: u32) -> Result<Self, RuntimeError> {
        let mut tuned = io_uring_06::IoUring::builder();
        tuned.setup_coop_taskrun().setup_single_issuer();
        let first = tokio_uring::Runtime::new(
            tokio_uring::builder()
                .entries(entries)
                .uring_builder(&tuned),
        );
        let rt = match first {
            Ok(rt) => rt,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                tokio_uring::Runtime::new(tokio_uring::builder().entries(entries))
                    .map_err(RuntimeError::from_io)?
            }
            Err(e) => return Err(RuntimeError::from_io(e)),
        };
        Ok(Self { rt })
    }

    /// Runs `future` to completion on this thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

/// Spawns a task on the current worker (not `Send`: tasks stay on their core).
pub fn spawn<F: Future + 'static>(task: F) -> tokio::task::JoinHandle<F::Output> {
    tokio_uring::spawn(task)
}
