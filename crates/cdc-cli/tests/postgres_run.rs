//! `cdc run` with a native PostgreSQL source against a real server: the snapshot and the
//! stream printed like any other source's events; SIGTERM ends the run cleanly; a run killed
//! mid-snapshot (SIGKILL, no clean-up at all) makes the next run take the snapshot again and
//! say so; a run killed mid-stream loses no row, and the next repeats only rows past the
//! position the killed one confirmed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

fn write_config(dir: &Path, dsn: &str) -> std::path::PathBuf {
    let path = dir.join("pg.yaml");
    std::fs::write(
        &path,
        format!(
            "sources:
  - provider: postgres
    source_id: shop
    connection: {dsn}
    tables: [public.orders]
    options: {{ batch_size: 100, status_interval_ms: 200 }}
triggers:
  - name: all
    source_id: shop
settings:
  metrics_interval_secs: 1
"
        ),
    )
    .unwrap();
    path
}

fn spawn(cfg: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(["run", cfg.to_str().unwrap(), "--output", "json"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads JSON records until `done` says enough; the reader thread keeps the rest.
fn read_until(
    out: &mut BufReader<std::process::ChildStdout>,
    secs: u64,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut records = Vec::new();
    let mut line = String::new();
    while !done(&records) {
        assert!(
            Instant::now() < deadline,
            "timed out; {} record(s)",
            records.len()
        );
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("cdc run ended early after {} record(s)", records.len());
        }
        records.push(serde_json::from_str(&line).unwrap());
    }
    records
}

fn ids(records: &[Value], op: &str) -> BTreeSet<i64> {
    records
        .iter()
        .filter(|r| r["event"]["op"] == op)
        .filter_map(|r| r["event"]["after"]["id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_snapshot_and_stream_and_stops_on_sigterm() {
    let pg = cdc_testkit::PgCluster::start().await.unwrap();
    let db = pg.connect().await.unwrap();
    db.batch_execute(
        "create table orders (id int primary key, total numeric);
         insert into orders values (1, 9.99), (2, 123456789012345678901234567.50);",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &pg.url());
    let mut child = spawn(&cfg);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let snap = read_until(&mut out, 60, |r| ids(r, "SNAPSHOT").len() == 2);
    assert_eq!(
        snap[1]["event"]["after"]["total"], "123456789012345678901234567.50",
        "exact numeric"
    );
    db.batch_execute("insert into orders values (3, 1); update orders set total = 2 where id = 1")
        .await
        .unwrap();
    let stream = read_until(&mut out, 60, |r| {
        ids(r, "INSERT").contains(&3) && ids(r, "UPDATE").contains(&1)
    });
    assert_eq!(stream[0]["event"]["table"], "public.orders");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("stopping (SIGTERM)"), "{stderr}");
    // The slot stays (a restart resumes), inactive now.
    let active: bool = db
        .query_one(
            "select active from pg_replication_slots where slot_name = 'cdc_shop'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_snapshot_takes_it_again_next_time() {
    let pg = cdc_testkit::PgCluster::start().await.unwrap();
    let db = pg.connect().await.unwrap();
    db.batch_execute(
        "create table orders (id int primary key, pad text);
         insert into orders select g, repeat('x', 200) from generate_series(1, 30000) g;",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &pg.url());
    let mut first = spawn(&cfg);
    let mut out = BufReader::new(first.stdout.take().unwrap());
    // Read a little, then stop reading: the pipe fills and the snapshot stalls mid-way.
    read_until(&mut out, 60, |r| r.len() >= 50);
    std::thread::sleep(Duration::from_millis(500));
    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    drop(out);

    let mut second = spawn(&cfg);
    let mut out = BufReader::new(second.stdout.take().unwrap());
    let mut seen = BTreeSet::new();
    let records = read_until(&mut out, 120, |r| {
        if let Some(id) = r
            .last()
            .filter(|e| e["event"]["op"] == "SNAPSHOT")
            .and_then(|e| e["event"]["after"]["id"].as_i64())
        {
            seen.insert(id);
        }
        seen.len() == 30000
    });
    assert_eq!(ids(&records, "SNAPSHOT").len(), 30000);
    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).unwrap();
    // Drain what is left so the run can finish writing.
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
    });
    let status = second.wait().unwrap();
    rest.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("snapshot") && stderr.contains("interrupted"),
        "the second run did not say the snapshot starts over: {stderr}"
    );
}

/// The commit LSN of a printed event's position (`<16 hex digits>:<ordinal>`).
fn commit_lsn(record: &Value) -> u64 {
    let p = record["event"]["position"].as_str().unwrap();
    u64::from_str_radix(&p[..16], 16).unwrap()
}

/// `X/Y` as PostgreSQL prints an LSN.
fn parse_lsn(text: &str) -> u64 {
    let (hi, lo) = text.split_once('/').unwrap();
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

/// A run's stdout read on a thread of its own, line by line: the test waits with a
/// deadline instead of blocking in a read, and after a kill gets every complete line the
/// run wrote (a line cut by the kill is not a printed event).
struct Printed(std::sync::mpsc::Receiver<Value>);

impl Printed {
    fn of(child: &mut Child) -> Self {
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { return };
                if let Ok(v) = serde_json::from_str(&line)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        Self(rx)
    }

    /// Inserted ids (or snapshot reads), as `(id, record)`, until `done` or the deadline
    /// (then `None`); after the run ended, until its last line.
    fn until(&self, secs: u64, mut done: impl FnMut(&[Value]) -> bool) -> (Vec<Value>, bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut records = Vec::new();
        while !done(&records) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(v) => records.push(v),
                Err(_) => return (records, false),
            }
        }
        (records, true)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_stream_loses_nothing_and_repeats_only_past_the_confirmed_position() {
    const ROWS: i64 = 3000;
    let pg = cdc_testkit::PgCluster::start().await.unwrap();
    let db = pg.connect().await.unwrap();
    db.batch_execute("create table orders (id int primary key, total numeric)")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &pg.url());
    let mut first = spawn(&cfg);
    let out = Printed::of(&mut first);
    // Streaming: one change comes through before the writer starts (as a snapshot read
    // when the run had not taken its snapshot yet).
    db.batch_execute("insert into orders values (0, 0)")
        .await
        .unwrap();
    let (_, ok) = out.until(60, |r| {
        ids(r, "INSERT").contains(&0) || ids(r, "SNAPSHOT").contains(&0)
    });
    assert!(ok, "the first run did not print row 0");

    // One transaction per row, while the run is killed somewhere in the middle.
    let writer_db = pg.connect().await.unwrap();
    let writer = tokio::spawn(async move {
        for id in 1..=ROWS {
            writer_db
                .execute("insert into orders values ($1, 1)", &[&(id as i32)])
                .await
                .unwrap();
        }
    });
    let (mut run1, ok) =
        tokio::task::block_in_place(|| out.until(60, |r| ids(r, "INSERT").len() > 600));
    assert!(
        ok,
        "the first run printed {} inserts",
        ids(&run1, "INSERT").len()
    );
    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    // What was in the pipe at the kill was printed too.
    run1.extend(tokio::task::block_in_place(|| out.until(10, |_| false)).0);
    let confirmed: String = db
        .query_one(
            "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = 'cdc_shop'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let confirmed = parse_lsn(&confirmed);
    writer.await.unwrap();
    let before_kill = ids(&run1, "INSERT");
    assert!(
        before_kill.len() < ROWS as usize,
        "killed mid-stream (every row had arrived: the test proves nothing)"
    );

    let mut second = spawn(&cfg);
    let out = Printed::of(&mut second);
    let mut all = before_kill.clone();
    all.insert(0);
    let (run2, ok) = tokio::task::block_in_place(|| {
        out.until(120, |r| {
            if let Some(id) = r
                .last()
                .filter(|e| e["event"]["op"] == "INSERT")
                .and_then(|e| e["event"]["after"]["id"].as_i64())
            {
                all.insert(id);
            }
            all.len() == ROWS as usize + 1
        })
    });
    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).unwrap();
    second.wait().unwrap();

    // Nothing lost, by id.
    let missing: Vec<i64> = (0..=ROWS).filter(|i| !all.contains(i)).collect();
    assert!(
        ok && missing.is_empty(),
        "lost {} row(s), the first {:?}; confirmed at the kill {confirmed:X}; the first run printed {} inserts, the second {}",
        missing.len(),
        &missing[..missing.len().min(10)],
        before_kill.len(),
        ids(&run2, "INSERT").len()
    );
    // What the second run printed again comes after the position the first confirmed.
    for r in run2.iter().filter(|r| r["event"]["op"] == "INSERT") {
        let id = r["event"]["after"]["id"].as_i64().unwrap();
        if before_kill.contains(&id) {
            assert!(
                commit_lsn(r) > confirmed,
                "row {id} delivered again although its commit {:X} was confirmed ({confirmed:X})",
                commit_lsn(r)
            );
        }
    }
}
