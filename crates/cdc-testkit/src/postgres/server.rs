//! The steps of bringing up a server: initdb, spawn postgres, wait until it is ready.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use super::PgBinaries;
use super::run_as::{RunAs, scrub_env};
use crate::error::{Result, TestkitError};
use crate::process::ChildGuard;

/// Everything needed to run the binaries for one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub bins: PgBinaries,
    pub run_as: Option<RunAs>,
    /// The temp dir: holds `data/`, the unix socket and `postgres.log`.
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
}

impl Layout {
    fn command(&self, bin: &str) -> Command {
        let mut command = Command::new(self.bins.bin(bin));
        scrub_env(&mut command);
        // The unprivileged user may not be able to enter the caller's cwd.
        command.current_dir(&self.root);
        if let Some(run_as) = &self.run_as {
            run_as.apply(&mut command, &self.root);
        }
        command
    }
}

/// Runs `initdb` (trust auth, UTF-8, C locale, no fsync) into `layout.data_dir`. Blocking.
pub(crate) fn initdb(layout: &Layout, user: &str) -> Result<()> {
    let output = layout
        .command("initdb")
        .arg("--pgdata")
        .arg(&layout.data_dir)
        .arg(format!("--username={user}"))
        .args([
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            TestkitError::io(
                format!("running {}", layout.bins.bin("initdb").display()),
                e,
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(TestkitError::Initdb {
        status: output.status,
        data_dir: layout.data_dir.clone(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Spawns the postmaster on `port`, logging to `layout.log_path` (truncated first).
pub(crate) fn spawn_postgres(
    layout: &Layout,
    port: u16,
    settings: &[(String, String)],
) -> Result<ChildGuard> {
    let log = File::create(&layout.log_path)
        .map_err(|e| TestkitError::io(format!("creating {}", layout.log_path.display()), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| TestkitError::io("duplicating the log file handle", e))?;
    let mut command = layout.command("postgres");
    command
        .arg("-D")
        .arg(&layout.data_dir)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", layout.root.display()));
    for (name, value) in settings {
        command.arg("-c").arg(format!("{name}={value}"));
    }
    command.stdin(Stdio::null()).stdout(log).stderr(log_err);
    let child = command.spawn().map_err(|e| {
        TestkitError::io(
            format!("spawning {}", layout.bins.bin("postgres").display()),
            e,
        )
    })?;
    // Not a new process group: a Ctrl-C on the terminal still reaches the server if the test
    // process dies without running destructors. SIGQUIT is "immediate shutdown": it does not
    // wait for the test's client connections to close.
    Ok(ChildGuard::from_child("postgres", child)
        .with_stop_signal(crate::Signal::SIGQUIT)
        .with_grace(Duration::from_secs(10)))
}

/// How a start attempt ended.
pub(crate) enum Started {
    /// Our server accepts connections.
    Ready,
    /// Another process took the port between [`crate::free_port`] and our bind: retry.
    PortTaken,
}

/// Polls until our server accepts connections on `port`, it exits, or `timeout` passes.
pub(crate) async fn wait_ready(
    layout: &Layout,
    server: &mut ChildGuard,
    port: u16,
    user: &str,
    timeout: Duration,
) -> Result<Started> {
    let deadline = Instant::now() + timeout;
    let expected_data_dir = layout.data_dir.to_string_lossy().into_owned();
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(2));
    loop {
        let exited = server
            .try_wait()
            .map_err(|e| TestkitError::io("checking the postgres process", e))?;
        if let Some(status) = exited {
            let log = std::fs::read_to_string(&layout.log_path).unwrap_or_default();
            if log.contains("could not bind") || log.contains("Address already in use") {
                return Ok(Started::PortTaken);
            }
            return Err(start_failed(
                layout,
                format!("postgres exited with {status}"),
            ));
        }
        if let Ok((client, connection)) = config.connect(NoTls).await {
            let connection = tokio::spawn(connection);
            // Whoever answers on this port must be OUR server (same data directory): a
            // concurrently started server may have won the port, and ours is about to exit.
            let ours = client
                .query_one("SHOW data_directory", &[])
                .await
                .ok()
                .map(|row| row.get::<_, String>(0) == expected_data_dir);
            drop(client);
            let _ = connection.await;
            if ours == Some(true) {
                return Ok(Started::Ready);
            }
        }
        if Instant::now() >= deadline {
            return Err(start_failed(
                layout,
                format!("no connection on 127.0.0.1:{port} within {timeout:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A start failure with the server log's tail, naming the package when a preloaded library
/// is missing.
pub(crate) fn start_failed(layout: &Layout, reason: String) -> TestkitError {
    let log = std::fs::read_to_string(&layout.log_path).unwrap_or_default();
    let mut reason = reason;
    if let Some(library) = missing_library(&log) {
        let package = super::debian_package_for(&library, layout.bins.major());
        reason.push_str(&format!(
            "; library `{library}` is not installed: install the Debian package `{package}`"
        ));
    }
    TestkitError::StartFailed {
        reason,
        log_path: layout.log_path.clone(),
        log_tail: tail(&log, 30),
    }
}

/// `FATAL:  could not access file "wal2json": No such file or directory` -> `wal2json`.
fn missing_library(log: &str) -> Option<String> {
    let rest = log.split("could not access file \"").nth(1)?;
    let name = rest.split('"').next()?;
    let file = Path::new(name).file_stem()?.to_str()?;
    Some(file.to_owned())
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_missing_library() {
        let log = "2025 FATAL:  could not access file \"wal2json\": No such file or directory\n";
        assert_eq!(missing_library(log).as_deref(), Some("wal2json"));
        assert_eq!(missing_library("all fine"), None);
    }

    #[test]
    fn tails_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
