//! Set-up step: the replication slot, checked, re-created after an interrupted snapshot, or
//! created; and from it the way the source starts ([`Start`]): a snapshot on a new slot, or
//! streaming from the slot's confirmed position once no other session holds it.

use std::time::{Duration, Instant};

use pgwire_replication::Lsn;
use tokio_postgres::Client;
use tracing::{info, warn};

use super::{Mode, Start};
use crate::config::{PostgresSource, SnapshotMode};
use crate::error::{PostgresError, Result};
use crate::replication::session::{self, active_pid};
use crate::snapshot::{SnapshotPlan, marker};
use crate::sql::catalog::{self, TableInfo};
use crate::sql::statements;

pub(super) async fn slot(
    src: &PostgresSource,
    client: &Client,
    version_num: i32,
    tables: &[TableInfo],
    mode: Mode,
    notes: &mut Vec<String>,
) -> Result<Start> {
    let existing = catalog::slot(client, &src.slot).await?;
    let snapshot = src.options.snapshot == SnapshotMode::Initial;
    if let Some(s) = &existing {
        if s.plugin.as_deref() != Some("pgoutput") {
            return Err(PostgresError::preflight(format!(
                "slot {:?} exists but is not a pgoutput logical slot (plugin {:?}): choose another options.slot",
                src.slot,
                s.plugin.as_deref().unwrap_or("none: a physical slot")
            )));
        }
        if s.database.as_deref() != Some(src.conn.dbname.as_str()) {
            return Err(PostgresError::preflight(format!(
                "slot {:?} belongs to database {:?}, not {:?}: choose another options.slot",
                src.slot,
                s.database.as_deref().unwrap_or(""),
                src.conn.dbname
            )));
        }
        if s.wal_status.as_deref() == Some("lost") {
            return Err(PostgresError::SlotInvalidated {
                slot: src.slot.clone(),
            });
        }
        if !src.options.temporary_slot && marker::exists(client, &src.slot).await? {
            let note = format!(
                "the initial snapshot of slot {:?} was interrupted (its marker slot {:?} is still there): the slot is dropped and created again, and the snapshot starts over",
                src.slot,
                marker::name(&src.slot)
            );
            warn!(source_id = %src.source_id, "postgres: {note}");
            notes.push(note);
            wait_inactive(src, client).await?;
            client
                .batch_execute(&statements::drop_slot(&src.slot))
                .await
                .map_err(|e| PostgresError::sql("dropping the interrupted snapshot's slot", &e))?;
            marker::drop(client, &src.slot).await?;
            return create(src, client, version_num, tables, snapshot).await;
        }
        wait_inactive(src, client).await?;
        return resume(src, client).await;
    }
    if mode == Mode::Reconnect && !src.options.temporary_slot {
        return Err(PostgresError::SlotMissing {
            slot: src.slot.clone(),
        });
    }
    if mode == Mode::Reconnect {
        notes.push(format!(
            "temporary slot {:?} ended with its session: created again{}",
            src.slot,
            if snapshot {
                ", with a new snapshot (rows may repeat)"
            } else {
                " (changes in between are not captured)"
            }
        ));
    }
    create(src, client, version_num, tables, snapshot).await
}

/// Creates the slot on a replication session; with a snapshot, that session stays idle and
/// holds the exported snapshot; without, it starts streaming at once.
async fn create(
    src: &PostgresSource,
    client: &Client,
    version_num: i32,
    tables: &[TableInfo],
    snapshot: bool,
) -> Result<Start> {
    let with_marker = snapshot && !src.options.temporary_slot;
    if with_marker {
        marker::create(client, &src.slot).await?;
    }
    let mut gated = session::connect_gated(src).await?;
    let sql = statements::create_slot(&src.slot, src.options.temporary_slot, snapshot, version_num);
    let rows = gated.simple_query(&sql).await.map_err(|e| {
        let mut err = session::wire_error(src, &format!("creating replication slot {:?}", src.slot), e);
        if err.sqlstate() == Some("53400")
            && let PostgresError::Database { message, .. } = &mut err
        {
            message.push_str(
                "; every replication slot is in use: raise max_replication_slots (and restart the server) or drop an unused slot",
            );
        }
        err
    });
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            if with_marker {
                let _ = marker::drop(client, &src.slot).await;
            }
            return Err(e);
        }
    };
    let text = |i: usize| -> Option<String> {
        rows.first()?
            .get(i)?
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let consistent_point = text(1).and_then(|t| Lsn::parse(&t).ok()).ok_or_else(|| {
        PostgresError::preflight("CREATE_REPLICATION_SLOT returned no consistent point")
    })?;
    info!(source_id = %src.source_id, slot = %src.slot, %consistent_point, "postgres: replication slot created");
    if snapshot {
        let snapshot_name = text(2).ok_or_else(|| {
            PostgresError::preflight("CREATE_REPLICATION_SLOT exported no snapshot")
        })?;
        return Ok(Start::Snapshot {
            gated,
            plan: SnapshotPlan {
                snapshot_name,
                consistent_point,
                tables: tables.to_vec(),
                version_num,
            },
        });
    }
    gated
        .start()
        .await
        .map_err(|e| session::wire_error(src, "starting replication", e))?;
    gated
        .wait_started()
        .await
        .map_err(|e| session::wire_error(src, "starting replication", e))?;
    Ok(Start::Stream {
        client: gated,
        from: consistent_point,
    })
}

/// Starts streaming from the slot's confirmed position; a slot still held by another
/// session (SQLSTATE 55006) is waited for, within `slot_busy_timeout_secs`.
async fn resume(src: &PostgresSource, client: &Client) -> Result<Start> {
    let started = Instant::now();
    let limit = Duration::from_secs(src.options.slot_busy_timeout_secs);
    loop {
        let from = catalog::slot(client, &src.slot)
            .await?
            .and_then(|s| s.confirmed_flush_lsn)
            .unwrap_or(Lsn::ZERO);
        match session::start_streaming(src, from).await {
            Ok(client) => return Ok(Start::Stream { client, from }),
            Err(PostgresError::Database {
                sqlstate: Some(code),
                message,
                ..
            }) if code == "55006" => {
                if started.elapsed() >= limit {
                    return Err(PostgresError::SlotActive {
                        slot: src.slot.clone(),
                        pid: active_pid(&message).unwrap_or(0),
                        waited_secs: started.elapsed().as_secs(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits until no session holds the slot, within `slot_busy_timeout_secs`: after a crash
/// the old walsender holds it until it notices its client is gone.
pub(super) async fn wait_inactive(src: &PostgresSource, client: &Client) -> Result<()> {
    let started = Instant::now();
    let limit = Duration::from_secs(src.options.slot_busy_timeout_secs);
    loop {
        let Some(s) = catalog::slot(client, &src.slot).await? else {
            return Ok(());
        };
        if !s.active {
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(PostgresError::SlotActive {
                slot: src.slot.clone(),
                pid: s.active_pid.map_or(0, i64::from),
                waited_secs: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
