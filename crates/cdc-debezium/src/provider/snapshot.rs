//! Snapshots on demand: a full re-snapshot through the offsets API (with a fallback for old
//! clusters), or an incremental snapshot of chosen tables through a signal.

use std::time::{Duration, Instant};

use cdc_core::{SharedEvent, SnapshotReport, TableRef};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::info;

use crate::config::DebeziumSource;
use crate::connect::{ConnectorConfig, ConnectorState, KafkaConnectClient, RestartOptions};
use crate::error::{DebeziumError, Result};

/// Method name of a full re-snapshot through `DELETE /connectors/{n}/offsets`.
pub const METHOD_OFFSETS_RESET: &str = "offsets_reset";
/// Method name of the old-cluster fallback.
pub const METHOD_SNAPSHOT_MODE: &str = "snapshot_mode_restart";
/// Method name of an incremental snapshot signal.
pub const METHOD_SIGNAL: &str = "incremental_signal";

/// Whether an error means "this endpoint does not exist here" (older Kafka Connect). A 404
/// that names the connector, or one a starting worker gave (retried, then exhausted), is not.
fn endpoint_missing(e: &DebeziumError) -> bool {
    e.is_endpoint_missing()
}

/// A full re-snapshot: the report, and for the old-cluster fallback the config to put back
/// once the snapshot is done (see [`ModeRestore`]).
pub type ResnapshotOutcome = (SnapshotReport, Option<ModeRestore>);

/// Stop → reset offsets → resume (Kafka 3.6+): the connector snapshots again per
/// `snapshot.mode=initial`. On an older cluster, falls back to a one-off `snapshot.mode`
/// change plus restart, and says so in the report.
pub async fn full_resnapshot(
    client: &KafkaConnectClient,
    source: &DebeziumSource,
    source_id: &str,
) -> Result<ResnapshotOutcome> {
    let name = &source.connector.name;
    match client.stop(name).await {
        Ok(()) => {}
        Err(e) if endpoint_missing(&e) => {
            // 404 is also "no such connector": tell the two apart.
            client.get(name).await?;
            return fallback(client, source, source_id, "PUT /connectors/{n}/stop").await;
        }
        Err(e) => return Err(e),
    }
    let started = Instant::now();
    let policy = client.retry_policy().clone();
    let mut attempt = 0u32;
    let reset = loop {
        attempt += 1;
        match client.reset_offsets(name).await {
            Ok(m) => break m,
            Err(e) if endpoint_missing(&e) => {
                // Kafka 3.5 has stop but not the offsets reset: undo the stop first.
                client.resume(name).await?;
                return fallback(client, source, source_id, "DELETE /connectors/{n}/offsets").await;
            }
            // Right after a stop the status can still show a task running: wait for it.
            Err(e)
                if e.status() == Some(400)
                    && e.to_string().contains("STOPPED state")
                    && attempt < policy.max_attempts
                    && started.elapsed() < policy.max_elapsed() =>
            {
                tokio::time::sleep(policy.backoff(attempt)).await;
                let _ = client.status(name).await;
            }
            Err(e) => return Err(e),
        }
    };
    client.resume(name).await?;
    info!(
        source_id,
        connector = name,
        "debezium: offsets reset, connector resumed to re-snapshot"
    );
    let report = SnapshotReport::new(source_id, &[], METHOD_OFFSETS_RESET).with_detail(format!(
        "connector {name:?} stopped, offsets reset ({}), resumed: it snapshots again per snapshot.mode",
        reset.message
    ));
    Ok((report, None))
}

/// Old clusters: set `snapshot.mode=always` and restart. The original mode is not put back
/// here: that PUT restarts the tasks, and a task restarted under `initial` before it has
/// committed a snapshot offset finds the old, completed offsets and skips the snapshot that
/// was asked for. It is put back once the snapshot's last record has been delivered
/// ([`ModeRestore`]), or by the next `connect`.
async fn fallback(
    client: &KafkaConnectClient,
    source: &DebeziumSource,
    source_id: &str,
    missing: &str,
) -> Result<ResnapshotOutcome> {
    let name = &source.connector.name;
    let original = client.get_config(name).await?;
    let mut once = original.clone();
    once.insert("snapshot.mode".into(), "always".into());
    client.put_config(name, &once).await?;
    client
        .restart(
            name,
            RestartOptions {
                include_tasks: true,
                only_failed: false,
            },
        )
        .await?;
    let running = wait_running(client, name).await?;
    let mode = original
        .get("snapshot.mode")
        .cloned()
        .unwrap_or_else(|| "initial".into());
    let detail = format!(
        "this Kafka Connect has no {missing} (needs Kafka 3.6+): fell back to snapshot.mode=always plus a restart ({}); \
         snapshot.mode goes back to {mode:?} once the snapshot's last record has been delivered \
         (or at the next connect); until then a restart of the connector snapshots again (duplicates, nothing lost)",
        if running {
            "tasks running"
        } else {
            "tasks not running yet"
        }
    );
    info!(source_id, connector = name, "debezium: {detail}");
    let report = SnapshotReport::new(source_id, &[], METHOD_SNAPSHOT_MODE).with_detail(detail);
    let asked_at_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    Ok((report, Some(ModeRestore::new(original, asked_at_ms))))
}

/// How much earlier than our clock the Kafka Connect worker's clock may be and its records
/// still count as the forced snapshot's.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The connector config to put back after a snapshot forced with `snapshot.mode=always`,
/// and what delivery has shown of that snapshot so far.
#[derive(Debug)]
pub struct ModeRestore {
    config: ConnectorConfig,
    /// Records Debezium processed (`ts_ms`) before this are older than the snapshot.
    not_before_ms: i64,
    seen_snapshot: bool,
    done: bool,
}

impl ModeRestore {
    fn new(config: ConnectorConfig, asked_at_ms: i64) -> Self {
        Self {
            config,
            not_before_ms: asked_at_ms - CLOCK_SKEW_MS,
            seen_snapshot: false,
            done: false,
        }
    }

    /// Follows delivered events; `true` once the snapshot is over: its last record
    /// (`snapshot: last`) went through, or a streaming change came after snapshot records (a
    /// snapshot of empty tables has no last record).
    ///
    /// Only records Debezium processed after the snapshot was asked for count (`ts_ms`, with
    /// [`CLOCK_SKEW_MS`] of slack): older records still on the topic, streaming or from an
    /// earlier snapshot, say nothing about this one. A record without `ts_ms` does not count
    /// either; the next `connect` puts the config back in any case.
    pub fn observe(&mut self, events: &[SharedEvent]) -> bool {
        let fresh = |e: &SharedEvent| {
            e.metadata
                .get("ts_ms")
                .and_then(Value::as_i64)
                .is_some_and(|t| t >= self.not_before_ms)
        };
        for e in events
            .iter()
            .filter(|e| e.operation.is_row_change() && fresh(e))
        {
            match e.metadata.get("snapshot").and_then(Value::as_str) {
                Some("last") => self.done = true,
                None | Some("incremental") => self.done |= self.seen_snapshot,
                Some(_) => self.seen_snapshot = true,
            }
        }
        self.done
    }

    /// Whether [`ModeRestore::observe`] has seen the snapshot end.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The config to put back.
    pub fn config(&self) -> &ConnectorConfig {
        &self.config
    }
}

/// Polls the status until the connector and all of its (at least one) tasks run, within
/// the retry policy's elapsed-time budget.
async fn wait_running(client: &KafkaConnectClient, name: &str) -> Result<bool> {
    let budget = client.retry_policy().max_elapsed();
    let started = Instant::now();
    loop {
        let st = client.status(name).await?;
        if st.connector.state == ConnectorState::Running
            && !st.tasks.is_empty()
            && st.tasks.iter().all(|t| t.state == ConnectorState::Running)
        {
            return Ok(true);
        }
        if started.elapsed() >= budget {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An incremental snapshot of `tables` through the signaling table.
pub async fn incremental(
    source: &DebeziumSource,
    source_id: &str,
    tables: &[String],
) -> Result<SnapshotReport> {
    let Some(signal) = &source.options.signal else {
        return Err(DebeziumError::Unsupported {
            source_id: source_id.to_owned(),
            operation: "snapshot of chosen tables".into(),
            reason: "no signaling table is configured: set options.signal.table (e.g. public.debezium_signal); a snapshot with no tables re-snapshots everything".into(),
        });
    };
    check_signal_captured(source, source_id, signal)?;
    let refs = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            TableRef::parse(t).map_err(|m| DebeziumError::Config {
                source_id: source_id.to_owned(),
                field: format!("tables[{i}]"),
                message: m,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let id = crate::signal::send_execute_snapshot(
        source_id,
        source.kind,
        signal,
        source.options.database.as_ref(),
        &refs,
    )
    .await?;
    Ok(
        SnapshotReport::new(source_id, tables, METHOD_SIGNAL).with_detail(format!(
            "execute-snapshot signal {id} written to {}",
            signal.table
        )),
    )
}

/// A signal the connector cannot see would be reported as success and do nothing: the
/// signaling table must be in the connector's capture list (a `connector_config` override of
/// `table.include.list` may have left it out) and `signal.data.collection` must name it.
fn check_signal_captured(
    source: &DebeziumSource,
    source_id: &str,
    signal: &crate::config::SignalOptions,
) -> Result<()> {
    let cfg = &source.connector.config;
    let fail = |reason: String| DebeziumError::Unsupported {
        source_id: source_id.to_owned(),
        operation: "snapshot of chosen tables".into(),
        reason,
    };
    if !cfg.contains_key("signal.data.collection") {
        return Err(fail(
            "the connector config has no signal.data.collection (removed by options.connector_config?): Debezium would ignore the signal".into(),
        ));
    }
    let table = TableRef::parse(&signal.table).map_err(|m| DebeziumError::Config {
        source_id: source_id.to_owned(),
        field: "options.signal.table".into(),
        message: m,
    })?;
    let entry = crate::config::include_entry(&table);
    if let Some(list) = cfg.get("table.include.list")
        && !list.split(',').any(|e| e.trim() == entry)
    {
        return Err(fail(format!(
            "the signaling table {} is not in table.include.list ({list}): the connector never sees its rows; add {entry} to it",
            signal.table
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cdc_core::{ChangeEvent, Operation};
    use serde_json::json;

    use super::*;

    const ASKED_AT: i64 = 1_795_495_900_000;

    fn events_at(ts_ms: i64, snapshots: &[Option<&str>]) -> Vec<SharedEvent> {
        snapshots
            .iter()
            .map(|s| {
                let op = if s.is_some() {
                    Operation::SnapshotRead
                } else {
                    Operation::Insert
                };
                let mut e = ChangeEvent::new("s", op, "public.t");
                e.metadata.insert_static("ts_ms", json!(ts_ms));
                if let Some(s) = s {
                    e.metadata.insert_static("snapshot", json!(s));
                }
                Arc::new(e)
            })
            .collect()
    }

    fn events(snapshots: &[Option<&str>]) -> Vec<SharedEvent> {
        events_at(ASKED_AT + 1_000, snapshots)
    }

    fn restore() -> ModeRestore {
        ModeRestore::new(ConnectorConfig::new(), ASKED_AT)
    }

    #[test]
    fn records_from_before_the_request_say_nothing() {
        let mut r = restore();
        let old = ASKED_AT - CLOCK_SKEW_MS - 1;
        // An earlier snapshot, still on the topic, and streaming after it.
        assert!(!r.observe(&events_at(old, &[Some("first"), Some("last"), None])));
        assert!(!r.is_done());
        // A worker clock a little behind ours still counts.
        assert!(r.observe(&events_at(ASKED_AT - 1_000, &[Some("first"), Some("last")])));
        // No ts_ms: does not count.
        let mut r = restore();
        let mut e = ChangeEvent::new("s", Operation::SnapshotRead, "public.t");
        e.metadata.insert_static("snapshot", json!("last"));
        assert!(!r.observe(&[Arc::new(e)]));
    }

    #[test]
    fn the_snapshot_ends_at_its_last_record_or_at_streaming_after_it() {
        // Its last record.
        let mut r = restore();
        assert!(!r.observe(&events(&[None, Some("first"), Some("true")])));
        assert!(!r.observe(&events(&[Some("last_in_data_collection")])));
        assert!(r.observe(&events(&[Some("last")])));
        assert!(r.is_done());

        // A streaming change after snapshot records (the last one was not seen).
        let mut r = restore();
        assert!(!r.observe(&events(&[None, None])));
        assert!(!r.observe(&events(&[Some("first")])));
        assert!(r.observe(&events(&[Some("true"), None])));

        // Control events and streaming changes alone never end it.
        let mut r = restore();
        let heartbeat: Vec<SharedEvent> = vec![Arc::new(ChangeEvent::control("s", "heartbeat"))];
        assert!(!r.observe(&heartbeat));
        assert!(!r.observe(&events(&[None, Some("incremental"), None])));
    }
}
