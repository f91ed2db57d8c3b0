//! Hostile input: watermark and DDL messages with our prefixes, forged by any role while a
//! backfill runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cdc_core::{CdcProvider, Operation, SourceState};
use cdc_postgres::PostgresProvider;
use serde_json::json;

use crate::common::{Recorder, cluster, id_of, source, sql};
use crate::support::{idle_and, progress, reads, wait_for};

/// Any role may write messages with our prefixes, transactional or not, while a backfill
/// runs: none of them panics, stops the source, reaches the handlers, forges a schema
/// change or costs a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_watermark_and_ddl_messages_change_nothing() {
    let pg = cluster().await;
    let db = pg.connect().await.unwrap();
    sql(
        &db,
        "create table t (id bigint primary key, v int not null);
         insert into t select g, 0 from generate_series(1, 3000) g;
         create role intruder login;
         grant usage on schema public to intruder;",
    )
    .await;
    let p = PostgresProvider::new();
    p.connect(&source(
        &pg,
        "forge",
        &["t"],
        json!({"snapshot": "never", "chunk_size": 100, "capture_ddl": true}),
    ))
    .await
    .unwrap();
    let rec = Recorder::new();
    let _sub = rec.subscribe(&p, "forge");
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let stop = stop.clone();
        let conn = format!("{} user=intruder", pg.connection_string());
        tokio::spawn(async move {
            let (c, conn) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let slot = "cdc_forge";
                let forged: Vec<(bool, &str, Vec<u8>)> = vec![
                    (true, "cdc-rs.wm", b"not json".to_vec()),
                    (false, "cdc-rs.wm", b"{\"slot\":".to_vec()),
                    (true, "cdc-rs.wm", vec![0xff, 0x00, 0xfe]),
                    (
                        n.is_multiple_of(2),
                        "cdc-rs.wm",
                        format!(r#"{{"slot":"{slot}","run":"0-0","seq":{n},"mark":"high"}}"#)
                            .into_bytes(),
                    ),
                    (
                        true,
                        "cdc-rs.wm",
                        format!(r#"{{"slot":"{slot}","run":"x","seq":18446744073709551615,"mark":"low"}}"#)
                            .into_bytes(),
                    ),
                    (true, "cdc-rs.ddl", b"[]".to_vec()),
                    (
                        false,
                        "cdc-rs.ddl",
                        format!(r#"{{"slot":"{slot}","tag":"DROP TABLE","object_type":"table","identity":"public.t","ddl":"drop table t"}}"#)
                            .into_bytes(),
                    ),
                    (
                        true,
                        "cdc-rs.ddl",
                        format!(r#"{{"slot":"{slot}","tag":"ALTER TABLE","object_type":"table","identity":"public.\"t","ddl":"x"}}"#)
                            .into_bytes(),
                    ),
                ];
                for (transactional, prefix, content) in forged {
                    c.execute(
                        "select pg_logical_emit_message($1, $2, $3::bytea)",
                        &[&transactional, &prefix, &content],
                    )
                    .await
                    .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.snapshot("forge", &["t".into()]).await.unwrap();
    wait_for(&p, "forge", "the backfill done", |st| {
        idle_and(st, "public.t", "done")
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    assert!(forger.await.unwrap() > 5, "the forger barely ran");
    let st = p.status("forge").await.unwrap();
    assert_eq!(st.state, SourceState::Running, "{st:?}");
    assert!(progress(&st, "public.t")["error"].is_null(), "{st:?}");
    let events = rec.snapshot();
    let mut ids: Vec<i64> = reads(&events, "t").filter_map(id_of).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, (1..=3000).collect::<Vec<_>>(), "every row read");
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.operation, Operation::Message | Operation::SchemaChange)),
        "a forged message reached the handlers"
    );
    p.disconnect("forge").await.unwrap();
}
