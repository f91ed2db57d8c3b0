//! `cdc run` with a native PostgreSQL source against a real server: the snapshot and the
//! stream printed like any other source's events; SIGTERM ends the run cleanly; a run killed
//! mid-snapshot (SIGKILL, no clean-up at all) makes the next run take the snapshot again and
//! say so.

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
