//! Pre-flight checks and set-up: server, role, tables, replica identity, publication, slot;
//! then the way the source starts (a snapshot on a new slot, or streaming from the slot's
//! confirmed position).
//!
//! [`prepare`] runs the steps in order, one file each: the tables and the publication, the
//! DDL capture, and the slot (which decides how the source starts); the clean-stop side
//! (saving the position, dropping everything) is in its own file.

mod ddl_capture;
mod publication;
mod slot;
mod teardown;

use std::collections::HashMap;

use pgwire_replication::{Lsn, ReplicationClient};
use tracing::warn;

use crate::config::PostgresSource;
use crate::error::{PostgresError, Result};
use crate::snapshot::SnapshotPlan;
use crate::sql::catalog::{self, TableInfo};
use crate::sql::connect::connect;
use ddl_capture::ddl_capture;
use publication::tables_and_publication;
use slot::slot;

pub use teardown::{drop_all, save_position};

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

impl Prepared {
    /// `schema.table` → the OID its key was read for (see
    /// [`crate::decode::StreamDecoder::set_key_relations`]).
    pub fn key_relations(&self) -> HashMap<String, u32> {
        self.tables.iter().map(|t| (t.qualified(), t.oid)).collect()
    }
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
    ddl_capture(src, &client, &tables, &mut notes).await?;
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
