//! Spawning a process in its own process group, and ending the whole group.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// How long a process gets to exit after SIGTERM before the group is killed.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

/// Starts `bin -c config` as the leader of a new process group, stdout and stderr piped.
///
/// The group lets us end Bento and anything it started with one signal; `kill_on_drop` is a
/// last resort for the leader if the supervising task is dropped without cleanup.
pub fn spawn_in_group(
    bin: &Path,
    config: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(bin);
    cmd.arg("-c")
        .arg(config)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    cmd.spawn()
}

/// Sends `signal` to the process group led by `pid`. A group that is already gone is fine.
pub fn signal_group(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pid, %e, "could not signal process group"),
    }
}

/// Ends the group of `child`: SIGTERM, up to [`TERM_GRACE`] for the leader to exit, then
/// SIGKILL to the group; the leader is always waited for (no zombie), and the group gets a
/// final SIGKILL for any member that outlived its leader.
pub async fn terminate_group(child: &mut Child) -> Option<ExitStatus> {
    let Some(pid) = child.id() else {
        // Already reaped.
        return child.try_wait().ok().flatten();
    };
    signal_group(pid, Signal::SIGTERM);
    let status = match tokio::time::timeout(TERM_GRACE, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            signal_group(pid, Signal::SIGKILL);
            child.wait().await.ok()
        }
    };
    signal_group(pid, Signal::SIGKILL);
    status
}
