//! `status`: the task's figures plus the slot as the server sees it.
//!
//! - `lag_bytes` = current WAL position − the slot's `confirmed_flush_lsn`;
//! - `lag_seconds` = now − the commit time of the last delivered transaction (or the server
//!   time of the last keepalive when nothing was pending), 0 when the slot has confirmed
//!   everything;
//! - details: slot, publication, confirmed flush and restart LSNs, retained WAL bytes,
//!   `wal_status`, `safe_wal_size`, the spill counters of `pg_stat_replication_slots`,
//!   snapshot progress, the task's own counters, and the publication check's findings
//!   (`publication_check`: tables added back, tables not captured).

use cdc_core::{CdcStatus, SourceState};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Running;
use crate::error::PROVIDER;
use crate::sql::catalog;

pub(super) async fn status(running: &Running) -> CdcStatus {
    let f = running.shared.figures();
    let paused = running.shared.is_paused();
    let mut st = CdcStatus::new(&running.shared.source_id, PROVIDER, f.state(paused));
    st.last_event = f.last_event;
    st.error = f.error_text();
    let d = &mut st.details;
    d.insert("slot".into(), json!(running.src.slot));
    d.insert("publication".into(), json!(running.src.publication));
    d.insert("events_delivered".into(), json!(f.events));
    d.insert("handler_failures".into(), json!(f.handler_failures));
    d.insert("reconnects".into(), json!(f.reconnects));
    d.insert("replayed_skipped".into(), json!(f.replayed_skipped));
    if let Some(lsn) = f.acknowledged {
        d.insert("acknowledged_lsn".into(), json!(lsn.to_string()));
    }
    if let Some(lsn) = f.resumed_from {
        d.insert("resumed_from_lsn".into(), json!(lsn.to_string()));
    }
    if let Some(snap) = f.snapshot_details() {
        d.insert("snapshot".into(), snap);
    }
    if let Some(backfill) = running.shared.backfill.details() {
        d.insert("backfill".into(), backfill);
    }
    let lag = slot_lag(running).await;
    match lag {
        Ok(lag) => {
            st.lag_bytes = lag.lag_bytes;
            if let Some(b) = lag.retained_bytes {
                d.insert("retained_wal_bytes".into(), json!(b));
            }
            if let Some(s) = &lag.slot {
                d.insert(
                    "confirmed_flush_lsn".into(),
                    json!(s.confirmed_flush_lsn.map(|l| l.to_string())),
                );
                d.insert(
                    "restart_lsn".into(),
                    json!(s.restart_lsn.map(|l| l.to_string())),
                );
                d.insert("wal_status".into(), json!(s.wal_status));
                d.insert("safe_wal_size".into(), json!(s.safe_wal_size));
                d.insert("slot_active".into(), json!(s.active));
                d.insert("slot_active_pid".into(), json!(s.active_pid));
                if s.wal_status.as_deref() == Some("lost") {
                    st.state = SourceState::Error;
                    st.error = Some(format!(
                        "replication slot {:?} is invalidated (wal_status = lost): changes were lost",
                        running.src.slot
                    ));
                } else if s.wal_status.as_deref() == Some("unreserved") {
                    d.insert(
                        "warning".into(),
                        json!("the slot's WAL is about to be removed (wal_status = unreserved): the consumer is too far behind"),
                    );
                }
            } else if !matches!(st.state, SourceState::Stopped) {
                d.insert("slot_exists".into(), json!(false));
            }
            if !lag.stats.is_empty() {
                let stats: serde_json::Map<String, Value> = lag
                    .stats
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect();
                d.insert("slot_stats".into(), Value::Object(stats));
            }
        }
        Err(e) => {
            d.insert("status_query_error".into(), json!(e.to_string()));
        }
    }
    st.lag_seconds = lag_seconds(&f, st.lag_bytes);
    publication_check(running, &mut st);
    st
}

/// The publication check's findings; a captured table whose changes are lost now (not in
/// the operator's publication) is the source's error when it has no other.
fn publication_check(running: &Running, st: &mut CdcStatus) {
    if running.src.tables.is_empty() {
        return;
    }
    let publication = &running.src.publication;
    st.details.insert(
        "publication_check".into(),
        running.watch.details(
            publication,
            running.src.options.publication_check_interval_ms,
        ),
    );
    if let Some(e) = running.watch.error(publication)
        && st.error.is_none()
    {
        st.error = Some(e);
        if matches!(st.state, SourceState::Running | SourceState::Snapshot) {
            st.state = SourceState::Error;
        }
    }
}

fn lag_seconds(f: &super::state::Figures, lag_bytes: Option<i64>) -> Option<i64> {
    if lag_bytes == Some(0) {
        return Some(0);
    }
    let last = match (f.last_commit_time, f.last_idle_keepalive) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }?;
    Some((OffsetDateTime::now_utc() - last).whole_seconds().max(0))
}

async fn slot_lag(running: &Running) -> crate::Result<catalog::SlotLag> {
    // Bounded like a connect: `status` answers even when the server does not.
    let bound = running.src.conn.connect_timeout;
    let query = async {
        let client = running.sql.client().await?;
        catalog::slot_lag(&client, &running.src.slot, running.version_num).await
    };
    let result = match tokio::time::timeout(bound, query).await {
        Ok(r) => r,
        Err(_) => Err(crate::PostgresError::preflight(format!(
            "the server did not answer the status query within {bound:?} (connect_timeout)"
        ))),
    };
    if result.is_err() {
        running.sql.reset().await;
    }
    result
}
