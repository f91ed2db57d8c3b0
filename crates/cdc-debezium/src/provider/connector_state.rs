//! What the provider tells about a connector beyond its status body: whether a "not found"
//! status means it is missing or just new, and what deleting it leaves behind.

use cdc_core::CdcStatus;

use crate::config::{DatabaseKind, DebeziumSource};
use crate::connect::KafkaConnectClient;
use tracing::info;

use crate::error::{PROVIDER, Result};

/// After the connector is deleted: drops its replication slot when
/// `options.drop_slot_on_stop` asks for it (an error names the slot and who holds it; the
/// source is kept, so `disconnect` can be tried again), and logs what stays behind.
pub(super) async fn after_delete(source_id: &str, source: &DebeziumSource) -> Result<()> {
    let slot = source.connector.config.get("slot.name");
    let (true, Some(slot), Some(dsn)) = (
        source.options.drop_slot_on_stop,
        slot,
        source.options.database.as_ref(),
    ) else {
        info!(
            source_id,
            leaves = %what_delete_leaves(source),
            "debezium: what the deleted connector leaves (options.drop_slot_on_stop drops the slot)"
        );
        return Ok(());
    };
    let dropped = crate::slot::drop_slot(source_id, dsn, slot, crate::slot::DROP_WAIT).await?;
    info!(
        source_id,
        slot,
        found = ?dropped,
        leaves = %format!(
            "publication {:?} stays on the database; the worker keeps the connector's offsets",
            source.connector.config.get("publication.name").map(String::as_str).unwrap_or("?")
        ),
        "debezium: replication slot dropped (options.drop_slot_on_stop)"
    );
    Ok(())
}

/// What a deleted connector leaves behind, for the log: the database keeps the replication
/// slot (holding WAL until dropped) and the publication; the worker keeps the offsets (a
/// connector created again under the same name resumes from them, without a new snapshot).
fn what_delete_leaves(source: &DebeziumSource) -> String {
    let cfg = &source.connector.config;
    let get = |k: &str| cfg.get(k).map(String::as_str).unwrap_or("?");
    match source.kind {
        DatabaseKind::Postgres => format!(
            "replication slot {:?} (holds WAL until dropped: SELECT pg_drop_replication_slot('{}')) and publication {:?} stay on the database; the worker keeps the connector's offsets",
            get("slot.name"),
            get("slot.name"),
            get("publication.name")
        ),
        _ => "the worker keeps the connector's offsets (and the schema history topic stays)".into(),
    }
}

/// The status of a connector whose status path says "not found". Right after a create the
/// status topic has not caught up yet (about 0.3 s on a live worker), so the connector
/// itself is asked: it exists → `starting`; Connect names it as missing → `not_found`.
pub(super) async fn not_found_status(
    source_id: &str,
    client: &KafkaConnectClient,
    name: &str,
) -> CdcStatus {
    match client.get(name).await {
        Ok(_) => {
            let mut st = CdcStatus::new(source_id, PROVIDER, cdc_core::SourceState::Starting);
            st.details.insert("connector".into(), name.into());
            st.details.insert(
                "note".into(),
                "the connector exists but has no status yet (the status topic lags behind a create)"
                    .into(),
            );
            st
        }
        Err(err) if err.is_not_found() => {
            let mut st = CdcStatus::not_found(source_id, PROVIDER);
            st.error = Some(format!(
                "connector {name:?} does not exist at Kafka Connect"
            ));
            st
        }
        Err(err) => {
            let mut st = CdcStatus::new(source_id, PROVIDER, cdc_core::SourceState::Unknown);
            st.error = Some(format!(
                "cannot tell whether connector {name:?} exists: {err}"
            ));
            st
        }
    }
}
