//! A server that stops answering on the connection `status` (and the publication check)
//! query on: `status` still answers, within the source's `connect_timeout`, naming the
//! bound, and once the server answers again it reads the slot again on a new connection.
//! The stuck server is a real one whose backend is stopped (SIGSTOP): the TCP connection
//! stays up and the query is accepted, but no reply ever comes.

mod common;

use std::time::Duration;

use cdc_core::CdcProvider;
use cdc_postgres::PostgresProvider;
use common::{cluster, source, sql};
use serde_json::json;

/// Longer than the bound: code without it fails here instead of hanging the suite.
const GUARD: Duration = Duration::from_secs(20);

fn signal(pids: &[i32], sig: &str) {
    for pid in pids {
        // The shell's builtin: no procps needed.
        let ok = std::process::Command::new("sh")
            .args(["-c", &format!("kill {sig} {pid}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_answers_while_the_server_does_not() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(&db, "create table t (id int primary key)").await;
    let mut cfg = source(&pg, "stuck", &["public.t"], json!({"snapshot": "never"}));
    cfg.connection = format!("{}?connect_timeout=2&application_name=cdc-stuck", pg.url()).into();
    let p = PostgresProvider::new();
    p.connect(&cfg).await.unwrap();
    // The first status opens the connection it queries on.
    let st = p.status("stuck").await.unwrap();
    assert!(!st.details.contains_key("status_query_error"), "{st:?}");
    let pids: Vec<i32> = db
        .query(
            "select pid from pg_stat_activity where application_name = 'cdc-stuck' \
             and backend_type = 'client backend'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!pids.is_empty(), "the status connection is open");
    signal(&pids, "-STOP");
    let answered = tokio::time::timeout(GUARD, p.status("stuck")).await;
    signal(&pids, "-CONT");
    let st = answered
        .expect("status answered while the server did not")
        .unwrap();
    let error = st.details["status_query_error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("connect_timeout"), "{st:?}");
    // The server answers again: a new connection, the slot read again.
    let st = tokio::time::timeout(GUARD, p.status("stuck"))
        .await
        .unwrap()
        .unwrap();
    assert!(!st.details.contains_key("status_query_error"), "{st:?}");
    assert!(st.lag_bytes.is_some(), "{st:?}");
    p.disconnect("stuck").await.unwrap();
}
