//! TEST DOUBLE for the `bento` binary, used only by the managed-mode tests of cdc-bento.
//! It does not run Bento configs.
//!
//! Called like Bento (`fake-bento-test-double -c <config.yaml>`), it checks that the config
//! file exists and has an `output:` section, then acts on files in the directory named by
//! `FAKE_BENTO_DIR`:
//!
//! - appends its pid to `starts` when it starts;
//! - `initial` (a number, read and removed at start): how many events to print right away;
//! - `emit` (a number, polled): print that many more events, then the file is removed;
//! - `crash` (polled): write a fatal line to stderr and exit with status 3 (file removed);
//! - `spawn_child` (read at start): start `sleep 600` as a child and write its pid to
//!   `grandchild.pid`, to check that the whole process group is ended;
//! - `counter`: the number of the last event printed, so that events keep counting across
//!   restarts like a consumed slot.
//!
//! Events are normalized event JSON lines: `op` insert on `public.items`, `after.n` = number.
//!
//! With a file `sql` in that directory it runs the config's PostgreSQL query instead (see
//! `sql.rs`).

mod sql;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = match args.as_slice() {
        [_, flag, path] if flag == "-c" => PathBuf::from(path),
        _ => fail("usage: fake-bento-test-double -c <config.yaml>"),
    };
    let text = fs::read_to_string(&config)
        .unwrap_or_else(|e| fail(&format!("cannot read config {}: {e}", config.display())));
    if !text.lines().any(|l| l.starts_with("output:")) {
        fail("config has no output section");
    }
    let dir = PathBuf::from(
        std::env::var("FAKE_BENTO_DIR").unwrap_or_else(|_| fail("FAKE_BENTO_DIR is not set")),
    );
    append(&dir.join("starts"), &format!("{}\n", std::process::id()));
    eprintln!(
        "level=info msg=\"fake bento started\" pid={}",
        std::process::id()
    );

    if dir.join("sql").exists() {
        sql::run(&dir, &text);
    }

    if dir.join("spawn_child").exists() {
        let child = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot spawn child: {e}")));
        fs::write(dir.join("grandchild.pid"), child.id().to_string()).expect("write pid");
        // Deliberately not waited for: it must die with the process group.
        std::mem::forget(child);
    }

    // Consumed like `emit`, so that a restart does not print them again.
    let initial = take(&dir.join("initial"))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    emit(&dir, initial);
    loop {
        if take(&dir.join("crash")).is_some() {
            eprintln!("level=fatal msg=\"simulated crash of the test double\"");
            std::process::exit(3);
        }
        if let Some(text) = take(&dir.join("emit")) {
            emit(&dir, text.trim().parse().unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn emit(dir: &Path, count: u64) {
    let counter_path = dir.join("counter");
    let mut n = read_number(&counter_path);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for _ in 0..count {
        n += 1;
        writeln!(
            out,
            r#"{{"source_id":"","op":"insert","schema":"public","table":"items","key":null,"before":null,"after":{{"n":{n}}},"lsn":"0/{n:X}","xid":"{n}","commit_time":"2026-01-01 00:00:00+00"}}"#
        )
        .expect("stdout");
    }
    out.flush().expect("flush");
    fs::write(&counter_path, n.to_string()).expect("write counter");
}

fn read_number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Reads and removes a control file.
fn take(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    fs::remove_file(path).ok()?;
    Some(text)
}

fn append(path: &Path, text: &str) {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

fn fail(msg: &str) -> ! {
    eprintln!("level=fatal msg={msg:?}");
    std::process::exit(2)
}
