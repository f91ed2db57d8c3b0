//! Running the server binaries as the `postgres` user when the tests run as root.
//!
//! `initdb` and `postgres` refuse to run as root. We drop privileges with std's safe
//! `CommandExt::uid`/`gid` (the child calls setgroups/setgid/setuid between fork and exec)
//! rather than `runuser`/`su`: the spawned process IS the server, so its PID is the
//! postmaster's PID and we can signal and reap it directly; no PAM session, no extra shell,
//! nothing to quote, and the crate keeps `unsafe_code = "forbid"` (a `pre_exec` hook would
//! need `unsafe`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::{User, geteuid};

use crate::error::{Result, TestkitError};

/// The unprivileged user to run the server as (only when we are root).
#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    uid: u32,
    gid: u32,
    name: String,
}

impl RunAs {
    /// `Some(postgres user)` when running as root, `None` otherwise.
    pub(crate) fn detect() -> Result<Option<Self>> {
        if !geteuid().is_root() {
            return Ok(None);
        }
        let user = User::from_name("postgres")
            .map_err(|e| TestkitError::io("looking up the `postgres` user", e.into()))?
            .ok_or(TestkitError::NoPostgresUser)?;
        Ok(Some(Self {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            name: user.name,
        }))
    }

    /// Makes the directory owned by this user (the server needs to write into it).
    pub(crate) fn chown(&self, path: &Path) -> Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| TestkitError::io(format!("chown {} to {}", path.display(), self.name), e))
    }

    /// Makes `command` run as this user, with a matching environment.
    pub(crate) fn apply(&self, command: &mut Command, home: &Path) {
        command
            .uid(self.uid)
            .gid(self.gid)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("HOME", home);
    }
}

/// Where to create the cluster's temp dir. The user in `run_as` must be able to reach it, so a
/// TMPDIR below a private directory (e.g. /root/tmp, mode 0700) is replaced by /tmp.
pub(crate) fn temp_base(run_as: Option<&RunAs>) -> PathBuf {
    let base = std::env::temp_dir();
    if run_as.is_none() || base.ancestors().all(world_traversable) {
        base
    } else {
        PathBuf::from("/tmp")
    }
}

fn world_traversable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
}

/// Removes variables that would redirect the server or its tools away from our cluster.
pub(crate) fn scrub_env(command: &mut Command) {
    for var in [
        "PGDATA",
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGOPTIONS",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGPASSFILE",
        "PGSYSCONFDIR",
        "PGTZ",
    ] {
        command.env_remove(var);
    }
}
