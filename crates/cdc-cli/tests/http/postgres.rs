//! A PostgreSQL source's run scraped: snapshot rows per table, stream events, lag and slot
//! figures; readiness flips to 503 while the server is down and back once it returns.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

fn config(dir: &std::path::Path, dsn: &str) -> std::path::PathBuf {
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
  metrics_interval_secs: 0
  status_file: status.json
"
        ),
    )
    .unwrap();
    path
}

async fn ready_until(base: &str, code: u16) -> Value {
    let started = Instant::now();
    loop {
        let (c, body) = get(base, "/health/ready", None).await;
        if c == code {
            return serde_json::from_str(&body).unwrap();
        }
        assert!(started.elapsed() < HANG, "readiness never {code}: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_run_is_scraped_and_its_readiness_follows_the_server() {
    let mut pg = cdc_testkit::PgCluster::start().await.unwrap();
    let db = pg.connect().await.unwrap();
    db.batch_execute(
        "create table orders (id int primary key, total numeric);
         insert into orders values (1, 9.99), (2, 5);
         analyze orders;",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &pg.url());
    let run = Run::start(&cfg, &[]);
    let base = run.base.clone();
    let src = ("source", "shop");
    let m = scrape_until(&base, None, |m| {
        sample(m, "cdc_events_received_total", &[src, ("op", "snapshot")]) == Some(2.0)
    })
    .await;
    assert_eq!(
        sample(
            &m,
            "cdc_snapshot_rows_total",
            &[src, ("table", "public.orders")]
        ),
        Some(2.0)
    );
    db.batch_execute("insert into orders values (3, 1); update orders set total = 2 where id = 1")
        .await
        .unwrap();
    let m = scrape_until(&base, None, |m| {
        sample(
            m,
            "cdc_events_delivered_total",
            &[src, ("trigger", "all"), ("op", "update")],
        ) == Some(1.0)
            && sample(m, "cdc_source_state", &[src, ("state", "running")]) == Some(1.0)
    })
    .await;
    assert_eq!(
        sample(&m, "cdc_events_received_total", &[src, ("op", "insert")]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &m,
            "cdc_events_delivered_total",
            &[src, ("trigger", "all"), ("op", "snapshot")]
        ),
        Some(2.0)
    );
    // The provider's figures: lag, the slot's retained WAL, the slot in use.
    let lag = sample(&m, "cdc_lag_bytes", &[src]).expect("cdc_lag_bytes present");
    assert!(lag >= 0.0);
    assert!(sample(&m, "cdc_lag_seconds", &[src]).is_some(), "{m:?}");
    assert!(sample(&m, "cdc_pg_retained_wal_bytes", &[src]).unwrap() >= 0.0);
    assert_eq!(sample(&m, "cdc_pg_slot_active", &[src]), Some(1.0));
    assert_eq!(sample(&m, "cdc_source_paused", &[src]), Some(0.0));
    let v = ready_until(&base, 200).await;
    assert_eq!(v["sources"], serde_json::json!(["shop"]));

    // The server goes away: not ready, naming the source; back when it returns.
    pg.stop_server(cdc_testkit::ShutdownMode::Fast).unwrap();
    let v = ready_until(&base, 503).await;
    assert_eq!(v["ready"], false);
    assert_eq!(v["not_ready"][0]["source_id"], "shop");
    assert_ne!(v["not_ready"][0]["state"], "running");
    let (code, _) = get(&base, "/health/live", None).await;
    assert_eq!(code, 200, "the process itself still works");
    pg.start_server().await.unwrap();
    ready_until(&base, 200).await;

    run.signal(Signal::SIGTERM);
    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
}
