//! A spawned process that is killed when its guard is dropped.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// Owns a spawned child process and stops it on drop — also when the test panics.
///
/// Stopping sends SIGTERM (see [`ChildGuard::with_stop_signal`]), waits up to the grace period (5 s by default) for the process to
/// exit, then sends SIGKILL. Created with [`ChildGuard::spawn`], the child leads its own
/// process group and the signals go to the whole group, so helpers it started (a shell's
/// children, a server's workers) die with it.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
    name: String,
    group: bool,
    grace: Duration,
    stop_signal: Signal,
}

impl ChildGuard {
    /// Spawns `command` as the leader of a new process group and guards it.
    ///
    /// `name` appears in error messages and in the warning printed if stopping fails.
    pub fn spawn(name: impl Into<String>, command: &mut Command) -> std::io::Result<Self> {
        let name = name.into();
        let child = command.process_group(0).spawn().map_err(|err| {
            std::io::Error::new(err.kind(), format!("could not spawn {name}: {err}"))
        })?;
        Ok(Self {
            child: Some(child),
            name,
            group: true,
            grace: Duration::from_secs(5),
            stop_signal: Signal::SIGTERM,
        })
    }

    /// Guards a child that was spawned elsewhere. Only its own PID is signalled, because it
    /// may share the caller's process group.
    pub fn from_child(name: impl Into<String>, child: Child) -> Self {
        Self {
            child: Some(child),
            name: name.into(),
            group: false,
            grace: Duration::from_secs(5),
            stop_signal: Signal::SIGTERM,
        }
    }

    /// Sets how long to wait after SIGTERM before SIGKILL.
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets the first signal sent when stopping (SIGTERM by default), e.g. SIGQUIT for a
    /// PostgreSQL postmaster ("immediate shutdown", which does not wait for clients).
    #[must_use]
    pub fn with_stop_signal(mut self, signal: Signal) -> Self {
        self.stop_signal = signal;
        self
    }

    /// The child's PID (also its process-group id when created with [`ChildGuard::spawn`]).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The guarded child, e.g. to take its piped stdout.
    ///
    /// # Panics
    /// Never in practice: the child is only taken out by [`ChildGuard::stop`], which consumes
    /// the guard.
    pub fn child_mut(&mut self) -> &mut Child {
        self.child
            .as_mut()
            .expect("ChildGuard holds its child until stop() consumes it")
    }

    /// Whether the child has exited, without blocking (reaps it if so).
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child_mut().try_wait()
    }

    /// Stops the child now (stop signal, grace period, SIGKILL) and returns its exit status.
    pub fn stop(self) -> std::io::Result<ExitStatus> {
        let signal = self.stop_signal;
        self.stop_with(signal)
    }

    /// Stops the child with `signal` first (instead of the configured stop signal), then
    /// as [`ChildGuard::stop`] does.
    pub fn stop_with(mut self, signal: Signal) -> std::io::Result<ExitStatus> {
        let child = self.child.take().expect("child present until stop");
        terminate(child, self.group, self.grace, signal)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.child.take()
            && let Err(err) = terminate(child, self.group, self.grace, self.stop_signal)
        {
            eprintln!("cdc-testkit: could not stop {} : {err}", self.name);
        }
    }
}

/// `stop_signal`, wait up to `grace`, SIGKILL, reap. With `group`, the whole process group is
/// signalled, and it gets a final SIGKILL even when the leader exited on SIGTERM so that
/// no straggler outlives the guard.
fn terminate(
    mut child: Child,
    group: bool,
    grace: Duration,
    stop_signal: Signal,
) -> std::io::Result<ExitStatus> {
    let pid = child.id();
    let mut exited = child.try_wait()?;
    if exited.is_none() {
        super::signal(pid, group, stop_signal)?;
        let deadline = Instant::now() + grace;
        while exited.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            exited = child.try_wait()?;
        }
    }
    if group {
        // Stragglers of the group; the group id cannot name an unrelated process.
        super::signal(pid, true, Signal::SIGKILL)?;
    }
    match exited {
        Some(status) => Ok(status),
        None => {
            // `Child::kill` never signals a PID that was already reaped (and maybe reused).
            child.kill()?;
            child.wait()
        }
    }
}
