//! Is a process still there?

use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Whether a process with this PID exists and is not a zombie.
///
/// Zombies count as gone: a killed grandchild re-parented to a PID 1 that never reaps (common
/// in containers) would otherwise look alive forever. Reads `/proc/<pid>/stat` where there is
/// a `/proc`; falls back to `kill(pid, 0)` elsewhere.
pub fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let proc_root = std::path::Path::new("/proc/self");
    if proc_root.exists() {
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Format: `pid (comm) state ...`; comm may contain spaces and parentheses,
            // so the state is the first field after the LAST ')'.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        };
    }
    match kill(Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}
