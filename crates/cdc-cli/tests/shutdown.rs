//! `cdc run` always ends: with stdout a pipe nobody reads, with a source paused by its own
//! step, with stdin open and idle, on one signal (bounded by `shutdown_timeout_secs`) or two
//! (at once); the final status file is written on every path.
//!
//! The deadlines below only catch a hang (they are far above the bounds under test); no
//! speed is asserted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// Far above every bound under test: only a hang gets here.
const HANG: Duration = Duration::from_secs(60);

fn cdc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cdc"));
    c.env_remove("RUST_LOG");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn events(n: usize) -> String {
    (1..=n)
        .map(|i| format!("{{\"op\": \"INSERT\", \"table\": \"public.t\", \"after\": {{\"id\": {i}, \"pad\": \"{}\"}}}}\n", "x".repeat(100)))
        .collect()
}

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Waits for the child to exit; fails the test (after killing it) if it hangs.
fn wait(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("cdc run hung for {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut s).unwrap();
    s
}

/// Waits until the run has written its first status (it is then fully started).
fn wait_started(status: &Path) {
    let started = Instant::now();
    while !status.exists() {
        assert!(started.elapsed() < HANG, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn final_status(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A memory source reading `events_file`, one trigger with `steps`.
fn config(dir: &Path, events_file: &str, steps: &str, settings: &str) -> PathBuf {
    write(
        dir,
        "run.yaml",
        &format!(
            "sources:\n  - provider: memory\n    source_id: s\n    options: {{ events_file: \"{events_file}\", capacity: 4 }}\ntriggers:\n  - name: all\n    source_id: s\n{steps}settings: {{ metrics_interval_secs: 0, {settings} }}\n"
        ),
    )
}

fn spawn(cfg: &Path, status: &Path, stdin: Stdio) -> Child {
    cdc()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--status-file",
        ])
        .arg(status)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sigterm_with_stdout_unread_ends_within_the_shutdown_timeout_with_the_final_status() {
    let dir = tempfile::tempdir().unwrap();
    // Far more output than a pipe holds, and nobody reads it.
    write(dir.path(), "ev.jsonl", &events(50_000));
    let cfg = config(dir.path(), "ev.jsonl", "", "shutdown_timeout_secs: 1");
    let status = dir.path().join("status.json");
    let mut child = spawn(&cfg, &status, Stdio::null());
    let _unread_stdout = child.stdout.take();
    wait_started(&status);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, Signal::SIGTERM);
    let code = wait(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(code.code(), Some(1), "{err}");
    assert!(err.contains("stopping (SIGTERM)"), "{err}");
    assert!(
        err.contains("stopping took longer than 1s (settings.shutdown_timeout_secs)"),
        "{err}"
    );
    let st = final_status(&status);
    assert_eq!(st["running"], false, "{st}");
}

#[test]
fn a_second_signal_exits_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ev.jsonl", &events(50_000));
    let cfg = config(dir.path(), "ev.jsonl", "", "shutdown_timeout_secs: 3600");
    let status = dir.path().join("status.json");
    let mut child = spawn(&cfg, &status, Stdio::null());
    let _unread_stdout = child.stdout.take();
    wait_started(&status);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, Signal::SIGINT);
    let code = wait(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(code.code(), Some(1), "{err}");
    assert!(err.contains("second signal while stopping"), "{err}");
    assert_eq!(final_status(&status)["running"], false);
}

#[test]
fn idle_stdin_does_not_hold_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "-", "", "shutdown_timeout_secs: 30");
    let status = dir.path().join("status.json");
    let mut child = spawn(&cfg, &status, Stdio::piped());
    let _open_stdin = child.stdin.take(); // open, never written
    wait_started(&status);
    signal(&child, Signal::SIGTERM);
    let code = wait(&mut child);
    let err = stderr_of(&mut child);
    assert!(code.success(), "{err}");
    assert!(err.contains("0 event(s) read, 0 delivered"), "{err}");
}

const THROTTLE_OWN_SOURCE: &str = "    steps:\n      - { type: step.cdc_backpressure, name: bp, config: { source_id: s, action: throttle } }\n";

#[test]
fn a_source_throttled_by_its_own_step_ends_on_sigterm_with_the_final_status() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "-",
        THROTTLE_OWN_SOURCE,
        "shutdown_timeout_secs: 30",
    );
    let status = dir.path().join("status.json");
    let mut child = spawn(&cfg, &status, Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(events(20).as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_started(&status);
    // Wait for the first event's step: the source is then paused by it.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    signal(&child, Signal::SIGTERM);
    let code = wait(&mut child);
    let err = stderr_of(&mut child);
    // The signal normally wins; under load the run may first see that nothing can resume
    // the source and end by itself (exit 1, saying so). Either way it ends, with its status.
    assert!(
        code.success() || (code.code() == Some(1) && err.contains("nothing can resume it")),
        "{code:?}: {err}"
    );
    let st = final_status(&status);
    assert_eq!(st["running"], false, "{st}");
    // Every event read was delivered by the drain, although the source was paused.
    let read_line = err.lines().find(|l| l.contains("event(s) read")).unwrap();
    let n: Vec<&str> = read_line.split_whitespace().collect();
    assert_eq!(n[3], n[6].trim_end_matches(','), "{read_line}");
    drop(stdin);
}

#[test]
fn a_finite_run_paused_by_its_own_step_ends_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ev.jsonl", &events(50));
    let cfg = config(
        dir.path(),
        "ev.jsonl",
        THROTTLE_OWN_SOURCE,
        "shutdown_timeout_secs: 30",
    );
    let status = dir.path().join("status.json");
    let mut child = spawn(&cfg, &status, Stdio::null());
    let _stdout = child.stdout.take();
    let code = wait(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(code.code(), Some(1), "{err}");
    assert!(
        err.contains("every source is paused by a step and nothing can resume it"),
        "{err}"
    );
    assert!(err.contains("the input was not read to its end"), "{err}");
    assert_eq!(final_status(&status)["running"], false);
}
