//! Running cargo with its output streaming through (for CI logs) while we count tests, under
//! a time limit so one hung test cannot eat CI's whole budget.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::counts::TestCounts;
use crate::workspace::Workspace;

/// What a cargo run produced.
pub(crate) struct Ran {
    /// Cargo's exit status (after a kill on time-out: the signal).
    pub status: ExitStatus,
    /// Sum of all `test result:` lines on stdout (zero if there were none).
    pub counts: TestCounts,
    /// How many `test result:` lines there were.
    pub result_lines: usize,
    /// Whether the run was killed for exceeding its time limit.
    pub timed_out: bool,
}

/// Runs `cargo <args>` in the workspace root with `env` added. stderr is inherited; stdout is
/// read line by line, echoed immediately and scanned for `test result:` lines. After `limit`
/// cargo and everything it started are killed.
pub(crate) fn run_streaming(
    ws: &Workspace,
    suite: &str,
    args: &[String],
    env: &[(String, String)],
    limit: Option<Duration>,
) -> Result<Ran> {
    println!("==> [{suite}] cargo {}", args.join(" "));
    for (key, value) in env {
        println!("==> [{suite}]   with {key}={value}");
    }
    std::io::stdout().flush()?;
    let mut child = Command::new(&ws.cargo)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(&ws.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not run {:?}: {e}", ws.cargo))?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let reader = std::thread::spawn(move || -> std::io::Result<(TestCounts, usize)> {
        let mut counts = TestCounts::default();
        let mut result_lines = 0;
        let mut out = std::io::stdout().lock();
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            writeln!(out, "{line}")?;
            out.flush()?;
            if let Some(found) = TestCounts::parse_line(&line) {
                counts += found;
                result_lines += 1;
            }
        }
        Ok((counts, result_lines))
    });

    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if limit.is_some_and(|limit| started.elapsed() >= limit) {
            eprintln!(
                "==> [{suite}] time limit of {}s reached: killing cargo and its children",
                limit.unwrap_or_default().as_secs()
            );
            timed_out = true;
            kill_tree(child.id());
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (counts, result_lines) = reader
        .join()
        .map_err(|_| "the output reader thread panicked")??;
    Ok(Ran {
        status,
        counts,
        result_lines,
        timed_out,
    })
}

/// SIGKILLs `root` and all its descendants (found through /proc), children first.
/// Cargo is not put in a process group of its own so that Ctrl-C on a terminal still reaches
/// it; hence the tree walk.
fn kill_tree(root: u32) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let mut victims = descendants(root);
    victims.reverse();
    victims.push(root);
    for pid in victims {
        if let Ok(raw) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
        }
    }
}

/// Descendants of `root`, parents before children (empty without /proc).
fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    found.remove(0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_a_tree_of_processes() {
        // sh -> sleep: both must go.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 300 & wait"])
            .spawn()
            .unwrap();
        let mut below = Vec::new();
        for _ in 0..100 {
            below = descendants(child.id());
            if !below.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(below.len(), 1, "sh has one child: {below:?}");
        kill_tree(child.id());
        child.wait().unwrap();
        let sleeper = below[0];
        let alive = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
            })
        };
        for _ in 0..100 {
            if !alive(sleeper) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(sleeper), "grandchild {sleeper} survived");
    }
}
