//! A group's committed offset the brokers no longer have (records deleted by retention
//! before they were read, or a topic deleted and created again): librdkafka resets the
//! partition to `auto.offset.reset` and only logs it. The transport says so in status
//! (`details.kafka.offset_resets`, and the status error), since records may have been lost
//! or are read again; it goes on delivering from where the reset put it.
#![cfg(feature = "kafka")]

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::time::Duration;

use cdc_core::CdcProvider;
use kafka_common::{Coord, Kafka, connect_server, connected, fixtures, wait_for, with_events};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_offset_the_brokers_lack_is_reset_and_status_says_so() {
    let kafka = Kafka::start();
    let server = connect_server().await;
    let sent = kafka.produce(&fixtures());
    let want: BTreeSet<Coord> = with_events(&sent).into_iter().collect();
    // Beyond what the brokers hold.
    kafka.commit_all("cdc-fx", 1000).await;

    let (p, got, _sub) = connected(&server, &kafka, json!({})).await;
    // Reset to the earliest offset (the default auto_offset_reset): everything comes.
    wait_for(60, "every event after the reset", || {
        got.len() >= want.len()
    })
    .await;
    let delivered: BTreeSet<Coord> = got.all().into_iter().map(|g| g.at).collect();
    assert_eq!(delivered, want);

    let mut st = p.status("fx").await.unwrap();
    for _ in 0..50 {
        if st.details["kafka"]["offset_resets"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        st = p.status("fx").await.unwrap();
    }
    let resets = st.details["kafka"]["offset_resets"].clone();
    let first = resets[0].as_str().unwrap_or_default();
    assert!(
        first.contains("pgfx.public.") && first.contains("1000"),
        "{resets}"
    );
    let error = st.error.clone().unwrap_or_default();
    assert!(error.contains("offset reset"), "{error}");
    assert!(error.contains("lost"), "says what it may mean: {error}");
    p.disconnect("fx").await.unwrap();
}
