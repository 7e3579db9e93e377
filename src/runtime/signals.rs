//! Process signals, handled on the main thread (never on a worker):
//! SIGTERM and SIGINT drain and stop; SIGHUP is acknowledged and logged
//! (configuration reload arrives with the reload issue) so that a stray
//! `systemctl reload` never kills the proxy. Handlers are installed before
//! any socket is bound, so no signal finds the default action.

use std::io;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub struct StopSignals {
    signals: Signals,
}

impl StopSignals {
    pub fn install() -> io::Result<Self> {
        Ok(Self {
            signals: Signals::new([SIGTERM, SIGINT, SIGHUP])?,
        })
    }

    /// Blocks until SIGTERM or SIGINT arrives; returns its name.
    pub fn wait(&mut self) -> &'static str {
        loop {
            for sig in self.signals.wait() {
                match sig {
                    SIGTERM => return "SIGTERM",
                    SIGINT => return "SIGINT",
                    SIGHUP => tracing::warn!(
                        "SIGHUP: configuration reload is not supported yet; the running configuration is unchanged"
                    ),
                    _ => {}
                }
            }
        }
    }
}
