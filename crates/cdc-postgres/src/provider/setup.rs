//! Pre-flight checks and set-up: server, role, tables, replica identity, publication, slot;
//! then the way the source starts (a snapshot on a new slot, or streaming from the slot's
//! confirmed position).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pgwire_replication::{Lsn, ReplicationClient};
use tokio_postgres::Client;
use tracing::{info, warn};

use crate::config::{PostgresSource, SnapshotMode};
use crate::error::{PostgresError, Result};
use crate::replication::session::{self, active_pid};
use crate::snapshot::{SnapshotPlan, marker};
use crate::sql::catalog::{self, TableInfo};
use crate::sql::connect::connect;
use crate::sql::statements;

/// The oldest server with everything used here (`wal_status`, generated columns,
/// `publish_via_partition_root`).
pub const MIN_SERVER_VERSION: i32 = 130000;

/// Why set-up runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `connect`: a missing slot is created.
    Initial,
    /// After a lost session: a missing (permanent) slot is an error, never silently
    /// re-created (changes since its position would be lost).
    Reconnect,
}

/// How the source starts streaming.
pub enum Start {
    /// A new slot: read the snapshot, then start streaming on the same (gated) session.
    Snapshot {
        /// The idle session that created the slot and holds its exported snapshot.
        gated: ReplicationClient,
        /// What to read.
        plan: SnapshotPlan,
    },
    /// Streaming from the slot's confirmed position.
    Stream {
        /// The started session.
        client: ReplicationClient,
        /// The slot's `confirmed_flush_lsn` it resumed from (the server's, not a local guess).
        from: Lsn,
    },
}

/// What set-up found and did.
pub struct Prepared {
    /// The server version (`server_version_num`).
    pub version_num: i32,
    /// The captured tables.
    pub tables: Vec<TableInfo>,
    /// `schema.table` → key columns, for the decoder.
    pub keys: HashMap<String, Vec<String>>,
    /// How to start.
    pub start: Start,
    /// Things the operator should know (a snapshot started over, ...).
    pub notes: Vec<String>,
}

/// Checks everything and sets the source up. Errors say what is wrong and how to fix it.
pub async fn prepare(src: &PostgresSource, mode: Mode) -> Result<Prepared> {
    let client = connect(src).await?;
    let server = catalog::server_info(&client).await?;
    if server.version_num < MIN_SERVER_VERSION {
        return Err(PostgresError::preflight(format!(
            "PostgreSQL {} is too old: cdc-postgres needs 13 or newer",
            server.version_num / 10000
        )));
    }
    if server.wal_level != "logical" {
        return Err(PostgresError::preflight(format!(
            "wal_level is {:?}, logical decoding needs \"logical\": run ALTER SYSTEM SET wal_level = logical; (as a superuser) and restart the server (a reload is not enough)",
            server.wal_level
        )));
    }
    let role = &server.role;
    if !role.superuser && !role.replication {
        return Err(PostgresError::preflight(format!(
            "role {:?} may not use logical replication: run ALTER ROLE {} REPLICATION; (as a superuser)",
            role.name,
            crate::sql::quote::ident(&role.name)
        )));
    }
    let mut notes = Vec::new();
    let tables = tables_and_publication(src, &client, &mut notes).await?;
    ddl_capture(src, &client, &mut notes).await?;
    check_identity(src, &tables)?;
    let keys = tables
        .iter()
        .map(|t| (t.qualified(), t.key_columns().to_vec()))
        .collect();
    let start = slot(src, &client, server.version_num, &tables, mode, &mut notes).await?;
    Ok(Prepared {
        version_num: server.version_num,
        tables,
        keys,
        start,
        notes,
    })
}

async fn tables_and_publication(
    src: &PostgresSource,
    client: &Client,
    notes: &mut Vec<String>,
) -> Result<Vec<TableInfo>> {
    // Names without a schema mean what they mean to the role, not to our pinned sessions.
    let schemas = if src.tables.iter().any(|t| t.schema.is_none()) {
        crate::sql::connect::user_schemas(src).await?
    } else {
        Vec::new()
    };
    let configured = catalog::resolve_tables(client, &src.tables, &schemas).await?;
    let resolved: Vec<cdc_core::TableRef> = configured
        .iter()
        .map(|t| cdc_core::TableRef {
            schema: Some(t.schema.clone()),
            name: t.name.clone(),
        })
        .collect();
    let name = &src.publication;
    let create_failed = |e: tokio_postgres::Error| {
        let mut err = PostgresError::sql(format!("creating publication {name:?}"), &e);
        if err.sqlstate() == Some("42501")
            && let PostgresError::Database { message, .. } = &mut err
        {
            message.push_str(if src.tables.is_empty() {
                "; FOR ALL TABLES needs a superuser: list the tables, or create the publication as a superuser and name it in options.publication"
            } else {
                "; the role must own the tables (or create the publication as their owner and name it in options.publication)"
            });
        }
        err
    };
    match catalog::publication(client, name).await? {
        None => {
            let sql = statements::create_publication(name, &resolved);
            client.batch_execute(&sql).await.map_err(create_failed)?;
            info!(source_id = %src.source_id, publication = %name, "postgres: publication created");
            notes.push(format!("created publication {name:?}"));
        }
        Some(p) if !src.tables.is_empty() && !p.all_tables => {
            let missing: Vec<cdc_core::TableRef> = resolved
                .iter()
                .filter(|t| {
                    !p.tables
                        .contains(&format!("{}.{}", t.schema.as_deref().unwrap_or(""), t.name))
                })
                .cloned()
                .collect();
            if !missing.is_empty() {
                let sql = statements::add_tables(name, &missing);
                if !src.owns_publication() {
                    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    return Err(PostgresError::preflight(format!(
                        "publication {name:?} (options.publication) does not publish {}: run {sql};",
                        list.join(", ")
                    )));
                }
                client.batch_execute(&sql).await.map_err(create_failed)?;
                notes.push(format!(
                    "added {} table(s) to publication {name:?}",
                    missing.len()
                ));
            }
            if !p.publishes_everything {
                notes.push(format!(
                    "publication {name:?} does not publish every operation (insert, update, delete, truncate): the others are not captured"
                ));
            }
        }
        Some(_) => {}
    }
    if src.tables.is_empty() {
        return catalog::publication_tables(client, name).await;
    }
    Ok(configured)
}

/// Installs the DDL capture when asked for; removes it when it is there but no longer asked
/// for.
async fn ddl_capture(src: &PostgresSource, client: &Client, notes: &mut Vec<String>) -> Result<()> {
    let installed = crate::sql::ddl_capture::installed(client, &src.slot).await?;
    match (src.options.capture_ddl, installed) {
        (true, false) => {
            crate::sql::ddl_capture::install(client, &src.slot).await?;
            notes.push("installed the DDL capture (event trigger)".into());
        }
        (false, true) => match crate::sql::ddl_capture::remove(client, &src.slot).await {
            Ok(()) => notes.push("removed the DDL capture (capture_ddl: false)".into()),
            Err(e) => {
                warn!(source_id = %src.source_id, error = %e, "postgres: could not remove the DDL capture")
            }
        },
        _ => {}
    }
    Ok(())
}

fn check_identity(src: &PostgresSource, tables: &[TableInfo]) -> Result<()> {
    let problems: Vec<String> = tables
        .iter()
        .filter_map(|t| {
            t.identity_problem()
                .map(|p| format!("{} {p}", t.qualified()))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    if src.options.allow_tables_without_identity {
        warn!(source_id = %src.source_id, tables = ?problems, "postgres: tables whose UPDATE/DELETE cannot be identified are captured (allow_tables_without_identity)");
        return Ok(());
    }
    Err(PostgresError::preflight(format!(
        "UPDATE and DELETE of these tables cannot be identified: {}. Once such a table is in a publication, the application's own UPDATE and DELETE on it fail. Add a primary key, or run ALTER TABLE ... REPLICA IDENTITY FULL; or set options.allow_tables_without_identity: true to capture them anyway",
        problems.join("; ")
    )))
}

async fn slot(
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
async fn wait_inactive(src: &PostgresSource, client: &Client) -> Result<()> {
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

/// Saves the position every handler took into the slot after a clean stop: the walsender
/// confirmations are not written to disk before PostgreSQL 17 (only a checkpoint after a
/// change of the slot's horizons saves them), while `pg_replication_slot_advance` marks the
/// slot to be saved. Waits (up to 5 s) for the stopped session to let go of the slot.
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
