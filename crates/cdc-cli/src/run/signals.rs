//! SIGINT and SIGTERM, listened to for the whole run.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::CliError;

/// Both signals, registered once at the start of the run: a signal arriving before a later
/// registration would meet the default action and kill the process without its shutdown.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Registers the handlers.
    pub fn install() -> Result<Self, CliError> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| CliError::Runtime(format!("cannot listen for {name}: {e}")))
        };
        Ok(Self {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    /// The next signal: `interrupt` or `SIGTERM`.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupt",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
