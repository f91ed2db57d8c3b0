//! Process and port helpers shared by every service-backed suite (PostgreSQL, moto, …).

mod alive;
mod child_guard;
mod port;

pub use alive::process_alive;
pub use child_guard::ChildGuard;
pub use port::{free_port, wait_for_port};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Sends `signal` to a process (or, with `group`, to its whole process group).
/// A process that is already gone (ESRCH) is not an error: the goal is that it stops.
pub(crate) fn signal(pid: u32, group: bool, signal: Signal) -> std::io::Result<()> {
    let raw =
        i32::try_from(pid).map_err(|_| std::io::Error::other(format!("pid {pid} too large")))?;
    let pid = Pid::from_raw(raw);
    let sent = if group {
        killpg(pid, signal)
    } else {
        kill(pid, signal)
    };
    match sent {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(errno) => Err(std::io::Error::from(errno)),
    }
}
