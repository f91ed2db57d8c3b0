//! Snapshots on demand: a full re-snapshot through the offsets API (with a fallback for old
//! clusters), or an incremental snapshot of chosen tables through a signal.

use std::time::{Duration, Instant};

use cdc_core::{SnapshotReport, TableRef};
use tracing::info;

use crate::config::DebeziumSource;
use crate::connect::{ConnectorState, KafkaConnectClient, RestartOptions};
use crate::error::{DebeziumError, Result};

/// Method name of a full re-snapshot through `DELETE /connectors/{n}/offsets`.
pub const METHOD_OFFSETS_RESET: &str = "offsets_reset";
/// Method name of the old-cluster fallback.
pub const METHOD_SNAPSHOT_MODE: &str = "snapshot_mode_restart";
/// Method name of an incremental snapshot signal.
pub const METHOD_SIGNAL: &str = "incremental_signal";

/// Whether an error means "this endpoint does not exist here" (older Kafka Connect).
fn endpoint_missing(e: &DebeziumError) -> bool {
    matches!(e.status(), Some(404 | 405))
}

/// Stop → reset offsets → resume (Kafka 3.6+): the connector snapshots again per
/// `snapshot.mode=initial`. On an older cluster, falls back to a one-off `snapshot.mode`
/// change plus restart, and says so in the report.
pub async fn full_resnapshot(
    client: &KafkaConnectClient,
    source: &DebeziumSource,
    source_id: &str,
) -> Result<SnapshotReport> {
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
    Ok(SnapshotReport::new(source_id, &[], METHOD_OFFSETS_RESET).with_detail(format!(
        "connector {name:?} stopped, offsets reset ({}), resumed: it snapshots again per snapshot.mode",
        reset.message
    )))
}

/// Old clusters: set `snapshot.mode=always`, restart, wait for the tasks to run, and set the
/// original mode back so later restarts do not snapshot again.
async fn fallback(
    client: &KafkaConnectClient,
    source: &DebeziumSource,
    source_id: &str,
    missing: &str,
) -> Result<SnapshotReport> {
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
    let mut detail = format!(
        "this Kafka Connect has no {missing} (needs Kafka 3.6+): fell back to snapshot.mode=always plus a restart"
    );
    if running {
        client.put_config(name, &original).await?;
        detail.push_str(&format!(
            "; tasks running, snapshot.mode set back to {:?}",
            original
                .get("snapshot.mode")
                .map(String::as_str)
                .unwrap_or("initial")
        ));
    } else {
        detail.push_str(
            "; the tasks did not reach RUNNING in time, so snapshot.mode is still `always`: call connect again once the snapshot has started",
        );
    }
    info!(source_id, connector = name, "debezium: {detail}");
    Ok(SnapshotReport::new(source_id, &[], METHOD_SNAPSHOT_MODE).with_detail(detail))
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
