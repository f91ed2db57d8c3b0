//! `cdc run` with a Debezium source: the connector applied at a (wiremock) Kafka Connect,
//! its topics read from rdkafka's mock cluster holding real Debezium records, every event
//! printed like any other source's; SIGTERM commits, stops, and leaves the connector running
//! (`on_stop` defaults to `keep` with a transport).
#![cfg(feature = "kafka")]

mod debezium_fixture;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use debezium_fixture::{config, connect_worker, produce};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rdkafka::mocking::MockCluster;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_the_events_of_a_debezium_source_and_keeps_the_connector_on_sigterm() {
    let cluster = MockCluster::new(1).unwrap();
    let want: BTreeSet<(String, String, String)> = produce(&cluster)
        .into_iter()
        .map(|p| (p.table, p.op, p.key))
        .collect();
    let connect = connect_worker().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dbz.yaml");
    std::fs::write(&cfg, config(&connect.uri(), &cluster.bootstrap_servers())).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(["run", cfg.to_str().unwrap(), "--output", "json"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut line = String::new();
    while got.len() < want.len() {
        assert!(
            Instant::now() < deadline,
            "timed out with {} of {} events",
            got.len(),
            want.len()
        );
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            panic!("cdc run ended early: {stderr}");
        }
        let r: Value = serde_json::from_str(&line).unwrap();
        let e = &r["event"];
        let op = match e["op"].as_str().unwrap() {
            "SNAPSHOT" => "r",
            "INSERT" => "c",
            "UPDATE" => "u",
            "DELETE" => "d",
            "TRUNCATE" => "t",
            other => panic!("op {other}"),
        };
        let key = e["key"].to_string();
        got.insert((e["table"].as_str().unwrap().to_owned(), op.to_owned(), key));
    }
    // Every record's event, by table, operation and key.
    let keys_only = |s: &BTreeSet<(String, String, String)>| -> BTreeSet<(String, String)> {
        s.iter().map(|(t, o, _)| (t.clone(), o.clone())).collect()
    };
    assert_eq!(keys_only(&got), keys_only(&want));

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    let requests = connect.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.method.as_str() != "DELETE"),
        "the connector is kept on exit"
    );
}
