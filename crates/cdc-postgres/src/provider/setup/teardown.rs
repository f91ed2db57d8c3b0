//! After the stream: saving the slot's position after a clean stop, and dropping the slot,
//! its marker, the DDL capture and the publication (`drop_slot_on_stop`). Apart from set-up
//! because it runs at the other end of a source's life, on a connection of its own.

use std::time::{Duration, Instant};

use pgwire_replication::Lsn;

use super::slot::wait_inactive;
use crate::config::PostgresSource;
use crate::error::{PostgresError, Result};
use crate::snapshot::marker;
use crate::sql::catalog;
use crate::sql::connect::connect;
use crate::sql::statements;

/// Saves the position every handler took into the slot after a clean stop: the walsender
/// confirmations are not written to disk before PostgreSQL 17 (only a checkpoint after a
/// change of the slot's horizons saves them), while `pg_replication_slot_advance` marks the
/// slot to be saved. Waits (up to 10 s) for the stopped session to let go of the slot.
pub async fn save_position(src: &PostgresSource, acknowledged: Lsn) -> Result<()> {
    if src.options.temporary_slot {
        return Ok(());
    }
    let client = connect(src).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let Some(s) = catalog::slot(&client, &src.slot).await? else {
            return Ok(());
        };
        if s.confirmed_flush_lsn.is_some_and(|c| c >= acknowledged) {
            return Ok(());
        }
        if !s.active {
            break;
        }
        if Instant::now() >= deadline {
            return Err(PostgresError::preflight(format!(
                "slot {:?} is still held by PID {:?} after the stream stopped; its position stays at {:?} (events after it may be delivered again)",
                src.slot,
                s.active_pid,
                s.confirmed_flush_lsn.map(|l| l.to_string())
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .execute(
            "select pg_replication_slot_advance($1, $2::text::pg_lsn)",
            &[&src.slot, &acknowledged.to_string()],
        )
        .await
        .map_err(|e| PostgresError::sql("saving the slot's position", &e))?;
    Ok(())
}

/// Drops the slot, its marker and (when cdc-rs created it) the publication: `disconnect`
/// with `drop_slot_on_stop`.
pub async fn drop_all(src: &PostgresSource) -> Result<()> {
    let client = connect(src).await?;
    wait_inactive(src, &client).await?;
    if catalog::slot(&client, &src.slot).await?.is_some() {
        client
            .batch_execute(&statements::drop_slot(&src.slot))
            .await
            .map_err(|e| PostgresError::sql(format!("dropping slot {:?}", src.slot), &e))?;
    }
    marker::drop(&client, &src.slot).await?;
    if crate::sql::ddl_capture::installed(&client, &src.slot).await? {
        crate::sql::ddl_capture::remove(&client, &src.slot).await?;
    }
    if src.owns_publication() {
        client
            .batch_execute(&statements::drop_publication(&src.publication))
            .await
            .map_err(|e| {
                PostgresError::sql(format!("dropping publication {:?}", src.publication), &e)
            })?;
    }
    Ok(())
}
