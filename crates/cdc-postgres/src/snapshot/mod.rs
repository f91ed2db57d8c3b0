//! The initial snapshot, consistent with the stream.
//!
//! The slot is created with `SNAPSHOT 'export'` on a replication session that then stays
//! idle: its exported snapshot shows exactly the rows committed before the slot's consistent
//! point. `snapshot_workers` connections read the tables in `REPEATABLE READ READ ONLY`
//! transactions with `SET TRANSACTION SNAPSHOT`, through `COPY ... TO STDOUT`; rows become
//! `SnapshotRead` events handed over in batches. Then the same session starts streaming at
//! the consistent point: a change committed after it comes through the stream, never twice.
//!
//! Work is divided into parts ([`parts`]): a table, or, for a table of more than twice
//! `snapshot_part_pages` pages (PostgreSQL 14+), ranges of its pages (`ctid`), so several
//! workers read one large table at once in the same snapshot. Within a part rows arrive in
//! the order COPY returns them (physical order); parts and tables of different workers
//! interleave, so the rows of one table are not in any key order. Every worker locks every
//! table `ACCESS SHARE` as it starts, until its transaction ends: DDL on a captured table
//! waits while the snapshot runs (as with pg_dump; row changes do not). A table rewritten
//! in the moment between the slot's creation and those locks, or a failed worker, makes the
//! snapshot start over.

pub mod binary;
pub mod copy;
pub mod marker;
pub mod parts;
mod worker;
pub mod writer;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use cdc_core::SharedEvent;
use pgwire_replication::Lsn;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_postgres::Client;

use crate::config::PostgresSource;
use crate::decode::relation::Column;
use crate::decode::{Relation, TypeRegistry};
use crate::error::{PostgresError, Result};
use crate::provider::deliver::{Stopped, deliver};
use crate::provider::state::{Phase, Shared, TableProgress};
use crate::sql::catalog::{self, TableInfo};

use worker::Worker;

/// What the snapshot reads.
#[derive(Clone, Debug)]
pub struct SnapshotPlan {
    /// The exported snapshot's name.
    pub snapshot_name: String,
    /// The slot's consistent point: streaming starts there.
    pub consistent_point: Lsn,
    /// The tables.
    pub tables: Vec<TableInfo>,
    /// The server's version (`server_version_num`): page ranges need 14+.
    pub version_num: i32,
}

/// How the snapshot ended.
#[derive(Debug)]
pub enum SnapshotEnd {
    /// Every table was read and delivered.
    Done,
    /// `disconnect` asked for it.
    Stopped,
    /// A worker failed: the snapshot must start over (its exported snapshot may be gone).
    Failed(PostgresError),
}

enum Item {
    Batch {
        table: String,
        events: Vec<SharedEvent>,
    },
    /// One of the table's `of` parts is read.
    PartDone {
        table: String,
        of: usize,
    },
    Failed(PostgresError),
}

/// Reads every table of `plan` and delivers its rows.
pub async fn run(src: &Arc<PostgresSource>, shared: &Shared, plan: &SnapshotPlan) -> SnapshotEnd {
    shared.update(|f| {
        f.phase = Phase::Snapshot;
        // A failure of an earlier attempt stays in `snapshot_state`.
        f.error = None;
        f.snapshot_state = Some(match f.snapshot_state.take() {
            Some(earlier) if earlier != "running" => format!("running (after: {earlier})"),
            _ => "running".into(),
        });
        f.snapshot = plan
            .tables
            .iter()
            .map(|t| {
                (
                    t.qualified(),
                    TableProgress {
                        rows: 0,
                        estimated: t.estimated_rows,
                        done: false,
                        parts: 1,
                    },
                )
            })
            .collect();
    });
    let workers = src.options.snapshot_workers as usize;
    let parts = match plan_parts(src, plan, workers).await {
        Ok(p) => p,
        Err(e) => return SnapshotEnd::Failed(e),
    };
    shared.update(|f| {
        for part in &parts {
            if let Some(p) = f.snapshot.get_mut(&part.table.qualified()) {
                p.parts = part.of;
            }
        }
    });
    let workers = workers.min(parts.len());
    let queue = Arc::new(Mutex::new(parts.into_iter().collect::<VecDeque<_>>()));
    let mut parts_done: HashMap<String, usize> = HashMap::new();
    let (tx, mut rx) = mpsc::channel::<Item>(workers.max(1) * 2);
    let ordinal = Arc::new(AtomicU64::new(0));
    let tables = Arc::new(plan.tables.clone());
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let job = Worker {
            src: Arc::clone(src),
            snapshot: plan.snapshot_name.clone(),
            consistent_point: plan.consistent_point,
            queue: Arc::clone(&queue),
            tables: Arc::clone(&tables),
            tx: tx.clone(),
            ordinal: Arc::clone(&ordinal),
        };
        set.spawn(job.run());
    }
    drop(tx);
    loop {
        let item = tokio::select! {
            biased;
            () = shared.stop.cancelled() => return SnapshotEnd::Stopped,
            item = rx.recv() => item,
        };
        match item {
            None => break,
            Some(Item::Batch { table, events }) => {
                if let Err(Stopped) = deliver(shared, &events).await {
                    return SnapshotEnd::Stopped;
                }
                shared.update(|f| {
                    if let Some(p) = f.snapshot.get_mut(&table) {
                        p.rows += events.len() as u64;
                    }
                });
            }
            Some(Item::PartDone { table, of }) => {
                let done = parts_done.entry(table.clone()).or_default();
                *done += 1;
                if *done == of {
                    shared.update(|f| {
                        if let Some(p) = f.snapshot.get_mut(&table) {
                            p.done = true;
                        }
                    });
                }
            }
            Some(Item::Failed(e)) => return SnapshotEnd::Failed(e),
        }
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined {
            return SnapshotEnd::Failed(PostgresError::preflight(format!(
                "a snapshot worker ended abnormally: {e}"
            )));
        }
    }
    shared.update(|f| f.snapshot_state = Some("done".into()));
    SnapshotEnd::Done
}

/// The parts of the plan, planned on a connection of its own.
async fn plan_parts(
    src: &PostgresSource,
    plan: &SnapshotPlan,
    workers: usize,
) -> Result<Vec<parts::Part>> {
    let client = crate::sql::connect::connect(src).await?;
    parts::plan(
        &client,
        &plan.tables,
        workers,
        src.options.snapshot_part_pages,
        plan.version_num,
    )
    .await
}

/// Checks (with the table locked) that it was not rewritten after the snapshot was taken:
/// ALTER TABLE ... TYPE,
/// TRUNCATE, VACUUM FULL and CLUSTER are not MVCC-safe, and an older snapshot reads a
/// rewritten table as empty. A rewrite makes the snapshot start over instead.
pub async fn guard_against_rewrite(client: &Client, table: &TableInfo) -> Result<()> {
    let context = || format!("checking {} for the snapshot", table.qualified());
    if table.kind == 'p' {
        return Ok(());
    }
    // `pg_class` through the snapshot vs the current catalog (which `pg_relation_filenode`
    // reads).
    let row = client
        .query_one(
            "select c.relfilenode, pg_relation_filenode(c.oid) from pg_class c where c.oid = $1",
            &[&table.oid],
        )
        .await
        .map_err(|e| PostgresError::sql(context(), &e))?;
    let (seen, current): (u32, Option<u32>) = (row.get(0), row.get(1));
    if current != Some(seen) {
        return Err(PostgresError::preflight(format!(
            "table {} was rewritten (ALTER TABLE ... TYPE, TRUNCATE, VACUUM FULL or CLUSTER) after the snapshot was taken, so the snapshot cannot see its rows; the snapshot starts over",
            table.qualified()
        )));
    }
    Ok(())
}

/// The table as the stream will describe it: published columns, their types, its key.
pub(crate) async fn relation(client: &Client, table: &TableInfo) -> Result<Relation> {
    let columns = catalog::columns(client, table.oid).await?;
    let mut types = TypeRegistry::default();
    let custom: Vec<u32> = columns
        .iter()
        .map(|c| c.type_oid)
        .filter(|oid| *oid >= 10000)
        .collect();
    let names: HashMap<u32, (String, String)> = catalog::type_names(client, &custom)
        .await?
        .into_iter()
        .map(|(oid, ns, name)| (oid, (ns, name)))
        .collect();
    for (oid, (ns, name)) in &names {
        types.learn(*oid, ns, name);
    }
    let cols = columns
        .iter()
        .map(|c| {
            let info = types.get(c.type_oid);
            Column {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                type_name: info.name,
                kind: info.kind,
                identity: table.key_columns().contains(&c.name),
            }
        })
        .collect();
    Ok(Relation::new(
        table.oid,
        &table.schema,
        &table.name,
        table.replica_identity as u8,
        cols,
        Some(table.key_columns()),
    ))
}
