//! The hostile suite: configs and event files a hostile or careless user writes, fed to the
//! built `cdc` binary. Every case ends with exit 2 and a message naming the field (and the
//! line, where the input has one), or, for a bad line of an events file, with the line
//! skipped, reported with its number and counted in the final summary (exit 0). Never a
//! panic, never a hang (each run is killed after [`HANG`]), never unbounded memory (each
//! run's peak resident memory stays under [`MAX_RSS_BYTES`], less than its largest input).

mod cases;
mod events;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Far above what any case needs: only a hang gets there.
pub const HANG: Duration = Duration::from_secs(60);
/// Peak resident memory of any `cdc` run of the suite: less than the biggest input (a
/// 64 MiB line), so a run that kept that line whole would fail. (Measured: the 64 MiB line
/// peaks at 24 MiB, the alias bomb, the largest, at 42 MiB.)
pub const MAX_RSS_BYTES: u64 = 60 << 20;

/// What a case must produce.
pub enum Expect {
    /// Exit 2; stderr names the field (each needle) and `file:LINE:` when `line` is given.
    Rejected {
        /// The line reported as `file:LINE:`, when the problem has one.
        line: Option<usize>,
        /// Text that must appear on stderr (the field, the reason).
        needles: &'static [&'static str],
    },
    /// Exit 0; stderr reports `line N` for each of `lines` and `count` skipped lines in the
    /// final summary.
    Skipped {
        /// Lines that must be reported by number.
        lines: &'static [usize],
        /// Lines the final summary counts as skipped.
        count: usize,
        /// Text that must appear on stderr.
        needles: &'static [&'static str],
    },
}

/// How one run of the binary ended.
pub struct Ran {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// The highest `VmHWM` (peak resident memory) seen while it ran, in bytes.
    pub peak_rss: u64,
}

/// Runs `cdc <args>` in `dir`, with `stdin` fed from a thread, killed after [`HANG`].
pub fn run_cdc(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            // The run may stop reading (and close stdin) first: that is fine.
            let _ = std::io::Write::write_all(&mut pipe, &bytes);
        })
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let mut peak_rss = 0;
    let status = loop {
        // The child's own high-water mark (reset at exec, unlike getrusage's, which counts
        // the test process's pages shared at fork).
        peak_rss = peak_rss.max(vm_hwm(child.id()).unwrap_or(0));
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("cdc {args:?} hung for {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Ran {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_rss,
    }
}

/// `VmHWM` of a live process, in bytes.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Checks one case's run against its expectation; the error says what is wrong.
pub fn check(name: &str, file: &str, ran: &Ran, expect: &Expect) -> Result<(), String> {
    let err = &ran.stderr;
    let fail = |why: String| Err(format!("{name}: {why}\n--- stderr:\n{}", cut(err)));
    if err.contains("panicked") || ran.status.code() == Some(101) || ran.status.code().is_none() {
        return fail(format!("crashed ({:?})", ran.status));
    }
    match expect {
        Expect::Rejected { line, needles } => {
            if ran.status.code() != Some(2) {
                return fail(format!("exit {:?}, not 2", ran.status.code()));
            }
            if let Some(l) = line
                && !err.contains(&format!("{file}:{l}:"))
            {
                return fail(format!("no `{file}:{l}:`"));
            }
            if let Some(n) = needles.iter().find(|n| !err.contains(*n)) {
                return fail(format!("no {n:?}"));
            }
        }
        Expect::Skipped {
            lines,
            count,
            needles,
        } => {
            if !ran.status.success() {
                return fail(format!("exit {:?}, not 0", ran.status.code()));
            }
            if let Some(l) = lines.iter().find(|l| !err.contains(&format!("line {l}"))) {
                return fail(format!("line {l} not reported"));
            }
            let count = format!("{count} bad line(s) skipped");
            if !err.contains(&count) {
                return fail(format!("no {count:?} in the summary"));
            }
            if let Some(n) = needles.iter().find(|n| !err.contains(*n)) {
                return fail(format!("no {n:?}"));
            }
        }
    }
    Ok(())
}

fn cut(s: &str) -> String {
    s.chars().take(2000).collect()
}

/// Writes `bytes` as `name` in `dir`.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Fails with every failed case at once (a list is easier to act on than the first).
pub fn report(group: &str, ran: usize, failures: Vec<String>) {
    eprintln!("hostile {group}: {ran} case(s)");
    assert!(
        failures.is_empty(),
        "{} of {ran} {group} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
