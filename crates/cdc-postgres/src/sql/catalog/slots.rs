//! The replication slot: its state for set-up and resume, and its lag, retained WAL and
//! spill counters for status.

use pgwire_replication::Lsn;
use tokio_postgres::Client;

use super::q;
use crate::error::Result;

/// A replication slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// Output plugin (`None` for a physical slot).
    pub plugin: Option<String>,
    /// The database of a logical slot.
    pub database: Option<String>,
    /// Whether a session holds it.
    pub active: bool,
    /// That session's PID.
    pub active_pid: Option<i32>,
    /// `TEMPORARY`.
    pub temporary: bool,
    /// What the consumer confirmed.
    pub confirmed_flush_lsn: Option<Lsn>,
    /// The oldest WAL the slot keeps.
    pub restart_lsn: Option<Lsn>,
    /// `reserved`, `extended`, `unreserved`, `lost`.
    pub wal_status: Option<String>,
    /// Bytes of WAL that can still be written before the slot is at risk.
    pub safe_wal_size: Option<i64>,
}

/// The slot, if it exists.
pub async fn slot(client: &Client, name: &str) -> Result<Option<SlotInfo>> {
    let row = client
        .query_opt(
            "select plugin::text, database::text, active, active_pid, temporary, \
             confirmed_flush_lsn::text, restart_lsn::text, wal_status, safe_wal_size \
             from pg_replication_slots where slot_name = $1",
            &[&name],
        )
        .await
        .map_err(q("reading the replication slot"))?;
    Ok(row.map(|r| SlotInfo {
        plugin: r.get(0),
        database: r.get(1),
        active: r.get(2),
        active_pid: r.get(3),
        temporary: r.get(4),
        confirmed_flush_lsn: r
            .get::<_, Option<String>>(5)
            .and_then(|s| Lsn::parse(&s).ok()),
        restart_lsn: r
            .get::<_, Option<String>>(6)
            .and_then(|s| Lsn::parse(&s).ok()),
        wal_status: r.get(7),
        safe_wal_size: r.get(8),
    }))
}

/// What status shows of the slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotLag {
    /// Current WAL position − confirmed flush, bytes.
    pub lag_bytes: Option<i64>,
    /// Current WAL position − restart LSN: WAL the slot retains, bytes.
    pub retained_bytes: Option<i64>,
    /// The slot as a whole.
    pub slot: Option<SlotInfo>,
    /// `pg_stat_replication_slots` counters (PostgreSQL 14+), by name.
    pub stats: Vec<(&'static str, i64)>,
}

/// Lag, retention and spill counters of the slot.
pub async fn slot_lag(client: &Client, name: &str, version_num: i32) -> Result<SlotLag> {
    let current =
        "case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end";
    let row = client
        .query_opt(
            &format!(
                "select pg_wal_lsn_diff({current}, confirmed_flush_lsn)::int8, \
                 pg_wal_lsn_diff({current}, restart_lsn)::int8 \
                 from pg_replication_slots where slot_name = $1"
            ),
            &[&name],
        )
        .await
        .map_err(q("reading the slot's lag"))?;
    let mut lag = SlotLag {
        lag_bytes: row.as_ref().and_then(|r| r.get(0)),
        retained_bytes: row.as_ref().and_then(|r| r.get(1)),
        slot: slot(client, name).await?,
        stats: Vec::new(),
    };
    if version_num >= 140000
        && let Some(r) = client
            .query_opt(
                "select spill_txns, spill_count, spill_bytes, stream_txns, total_txns, total_bytes \
                 from pg_stat_replication_slots where slot_name = $1",
                &[&name],
            )
            .await
            .map_err(q("reading the slot's statistics"))?
    {
        for (i, key) in [
            "spill_txns",
            "spill_count",
            "spill_bytes",
            "stream_txns",
            "total_txns",
            "total_bytes",
        ]
        .into_iter()
        .enumerate()
        {
            lag.stats.push((key, r.get(i)));
        }
    }
    Ok(lag)
}
