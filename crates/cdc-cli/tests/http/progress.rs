//! Snapshot progress on a terminal: stderr on a pseudo-terminal gets an indicatif bar per
//! source (the plain-line form, for a pipe, is checked in tests/cli.rs).

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn a_terminal_gets_a_progress_bar_while_snapshot_rows_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("snap.yaml");
    std::fs::write(
        &cfg,
        "sources:\n  - { provider: memory, source_id: s, options: { events_file: \"-\" } }\n\
         settings:\n  metrics_interval_secs: 0\n  status_file: s.json\n",
    )
    .unwrap();
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut child = cdc()
        .args(["run", cfg.to_str().unwrap(), "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let rows: String = (1..=50)
        .map(|i| {
            format!("{{\"op\": \"r\", \"table\": \"public.items\", \"after\": {{\"id\": {i}}}}}\n")
        })
        .collect();
    std::io::Write::write_all(&mut stdin, rows.as_bytes()).unwrap();
    // Read the terminal until the bar shows all 50 rows (it redraws every second).
    let mut master = std::fs::File::from(pty.master);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut seen = String::new();
    while !(seen.contains("cdc: s: snapshot [") && seen.contains("1 table(s), 50 rows,")) {
        assert!(
            started.elapsed() < HANG,
            "no progress bar on the terminal: {seen:?}"
        );
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(seen.contains("rows/s: public.items 50 rows"), "{seen:?}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
}
