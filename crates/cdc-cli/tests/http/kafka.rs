//! `/metrics` of a real `cdc run` with a Debezium source on its Kafka transport: the
//! connector at a (wiremock) Kafka Connect, its topic in rdkafka's mock cluster holding real
//! Debezium records. Every record is counted as received, the consumer's lag in records is
//! exported (and reaches 0 once everything is committed), and the source is ready.
#![cfg(feature = "kafka")]

use crate::common::*;
use crate::debezium_fixture::{config, connect_worker, produce};
use rdkafka::mocking::MockCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_debezium_source_count_every_record_and_export_the_consumer_lag() {
    let cluster = MockCluster::new(1).unwrap();
    let ops: Vec<String> = produce(&cluster).into_iter().map(|p| p.op).collect();
    assert!(ops.len() > 10, "the fixture holds records: {}", ops.len());
    let connect = connect_worker().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dbz.yaml");
    std::fs::write(&cfg, config(&connect.uri(), &cluster.bootstrap_servers())).unwrap();
    let run = Run::start(&cfg, &[]);
    let src = ("source", "fx");
    let lag = |m: &Samples| sample(m, "cdc_kafka_consumer_lag", &[src]);
    // Every record received and delivered to the trigger; then everything committed.
    let m = scrape_until(&run.base, None, |m| {
        sum(m, "cdc_events_received_total", &[src]) == ops.len() as f64
            && sum(m, "cdc_events_delivered_total", &[src, ("trigger", "all")]) == ops.len() as f64
            && lag(m) == Some(0.0)
    })
    .await;
    // Received by operation, as the records say.
    for (op, name) in [
        ("r", "snapshot"),
        ("c", "insert"),
        ("u", "update"),
        ("d", "delete"),
    ] {
        let want = ops.iter().filter(|o| o.as_str() == op).count() as f64;
        assert_eq!(
            sample(&m, "cdc_events_received_total", &[src, ("op", name)]).unwrap_or(0.0),
            want,
            "{name}"
        );
    }
    assert_eq!(
        sample(&m, "cdc_source_state", &[src, ("state", "running")]),
        Some(1.0)
    );
    let (code, body) = get(&run.base, "/health/ready", None).await;
    assert_eq!(code, 200, "{body}");
    let (status, stderr) = {
        run.signal(nix::sys::signal::Signal::SIGTERM);
        run.finish()
    };
    assert!(status.success(), "{status:?}: {stderr}");
}
