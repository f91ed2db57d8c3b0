//! SIGINT, SIGTERM and SIGHUP, listened to for the whole run.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::CliError;

/// The signals, registered once at the start of the run: a signal arriving before a later
/// registration would meet the default action and kill the process without its shutdown
/// (for SIGHUP: a closed terminal or `systemctl reload` must not end the run).
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// Stop (`interrupt` or `SIGTERM`).
    Stop(&'static str),
    /// SIGHUP: re-read the config file and say what would change.
    Reload,
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
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// The next signal.
    pub async fn next(&mut self) -> Asked {
        tokio::select! {
            _ = self.interrupt.recv() => Asked::Stop("interrupt"),
            _ = self.terminate.recv() => Asked::Stop("SIGTERM"),
            _ = self.hangup.recv() => Asked::Reload,
        }
    }

    /// The next stop signal (`interrupt` or `SIGTERM`); a SIGHUP meanwhile is said to be
    /// ignored (the run is stopping: there is nothing to re-read for).
    pub async fn next_stop(&mut self) -> &'static str {
        loop {
            match self.next().await {
                Asked::Stop(name) => return name,
                Asked::Reload => eprintln!("cdc: SIGHUP ignored: the run is stopping"),
            }
        }
    }
}
