//! `lag_seconds` from what was delivered: the same events give the same lag however a
//! transport batches them.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use cdc_core::{CdcProvider, SharedEvent, handler_fn};
use cdc_debezium::RawRecord;

/// A change committed an hour ago, then a heartbeat of now, in one batch: the heartbeat came
/// after the change, so Debezium was caught up to now and the lag is about 0, as when each
/// comes in a batch of its own.
#[tokio::test]
async fn a_heartbeat_after_a_change_in_one_batch_moves_the_lag() {
    let (_server, p) = common::connected_pg1().await;
    let _sub = p
        .subscribe("orders-db", handler_fn(|_e: SharedEvent| async { Ok(()) }))
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let hour_ago = now - 3_600_000;
    let change = format!(
        r#"{{"before":null,"after":{{"id":7}},"source":{{"connector":"postgresql","name":"pg1","ts_ms":{hour_ago},"snapshot":"false","db":"app","schema":"public","table":"customers","lsn":1}},"op":"c","ts_ms":{hour_ago}}}"#
    );
    let heartbeat = format!(r#"{{"ts_ms":{now}}}"#);
    let out = p
        .deliver_batch(&[
            RawRecord::new("pg1.public.customers", None, Some(change.as_bytes())),
            RawRecord::new("__debezium-heartbeat.pg1", None, Some(heartbeat.as_bytes())),
        ])
        .await
        .unwrap();
    assert_eq!((out.committable, out.delivered), (2, 2), "{out:?}");
    let lag = p.status("orders-db").await.unwrap().lag_seconds;
    assert!(lag.is_some_and(|l| l < 60), "{lag:?}");
}
