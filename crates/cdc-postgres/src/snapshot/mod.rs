//! The initial snapshot, consistent with the stream.
//!
//! The slot is created with `SNAPSHOT 'export'` on a replication session that then stays
//! idle: its exported snapshot shows exactly the rows committed before the slot's consistent
//! point. `snapshot_workers` connections read the tables in `REPEATABLE READ READ ONLY`
//! transactions with `SET TRANSACTION SNAPSHOT`, through `COPY ... TO STDOUT`; rows become
//! `SnapshotRead` events handed over in batches. Then the same session starts streaming at
//! the consistent point: a change committed after it comes through the stream, never twice.
//!
//! Tables are read one per worker at a time; the rows of one table arrive in the order COPY
//! returns them, and the tables of different workers interleave. Every worker locks every
//! table `ACCESS SHARE` as it starts, until its transaction ends: DDL on a captured table
//! waits while the snapshot runs (as with pg_dump; row changes do not). A table rewritten
//! in the moment between the slot's creation and those locks, or a failed worker, makes the
//! snapshot start over.

pub mod copy;
pub mod marker;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cdc_core::SharedEvent;
use futures::StreamExt;
use pgwire_replication::Lsn;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_postgres::Client;

use crate::config::PostgresSource;
use crate::decode::relation::Column;
use crate::decode::{PgPosition, Relation, TypeRegistry, snapshot_event};
use crate::error::{PostgresError, Result};
use crate::provider::deliver::{Stopped, deliver};
use crate::provider::state::{Phase, Shared, TableProgress};
use crate::sql::catalog::{self, TableInfo};
use crate::sql::connect::connect;
use crate::sql::quote::{ident, literal, qualified};

use copy::{LineSplitter, RowParser};

/// What the snapshot reads.
#[derive(Clone, Debug)]
pub struct SnapshotPlan {
    /// The exported snapshot's name.
    pub snapshot_name: String,
    /// The slot's consistent point: streaming starts there.
    pub consistent_point: Lsn,
    /// The tables.
    pub tables: Vec<TableInfo>,
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
    TableDone {
        table: String,
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
                    },
                )
            })
            .collect();
    });
    let workers = (src.options.snapshot_workers as usize).min(plan.tables.len());
    let queue = Arc::new(Mutex::new(
        plan.tables.iter().cloned().collect::<VecDeque<_>>(),
    ));
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
            Some(Item::TableDone { table }) => shared.update(|f| {
                if let Some(p) = f.snapshot.get_mut(&table) {
                    p.done = true;
                }
            }),
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

struct Worker {
    src: Arc<PostgresSource>,
    snapshot: String,
    consistent_point: Lsn,
    queue: Arc<Mutex<VecDeque<TableInfo>>>,
    tables: Arc<Vec<TableInfo>>,
    tx: mpsc::Sender<Item>,
    ordinal: Arc<AtomicU64>,
}

impl Worker {
    async fn run(self) {
        if let Err(e) = self.read_tables().await {
            let _ = self.tx.send(Item::Failed(e)).await;
        }
    }

    async fn read_tables(&self) -> Result<()> {
        let client = connect(&self.src).await?;
        let sql = |ctx: &'static str| move |e: tokio_postgres::Error| PostgresError::sql(ctx, &e);
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(sql("starting the snapshot transaction"))?;
        client
            .batch_execute(&format!(
                "SET TRANSACTION SNAPSHOT {}",
                literal(&self.snapshot)
            ))
            .await
            .map_err(sql("importing the slot's snapshot"))?;
        // Every table of the plan, locked at once: DDL that would rewrite a table still
        // queued (and make the snapshot start over) waits until the snapshot is done.
        let names: Vec<String> = self
            .tables
            .iter()
            .map(|t| qualified(&t.schema, &t.name))
            .collect();
        if !names.is_empty() {
            client
                .batch_execute(&format!(
                    "LOCK TABLE {} IN ACCESS SHARE MODE",
                    names.join(", ")
                ))
                .await
                .map_err(sql("locking the tables for the snapshot"))?;
        }
        loop {
            let next = self
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let Some(table) = next else { break };
            if self.tx.is_closed() {
                return Ok(());
            }
            self.copy_table(&client, &table).await?;
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(sql("ending the snapshot transaction"))?;
        Ok(())
    }

    async fn copy_table(&self, client: &Client, table: &TableInfo) -> Result<()> {
        let qualified_name = qualified(&table.schema, &table.name);
        guard_against_rewrite(client, table).await?;
        let rel = relation(client, table).await?;
        let cols: Vec<String> = rel.columns.iter().map(|c| ident(&c.name)).collect();
        let sql = if table.kind == 'p' {
            format!(
                "COPY (SELECT {} FROM {qualified_name}) TO STDOUT",
                cols.join(", ")
            )
        } else {
            format!("COPY {qualified_name} ({}) TO STDOUT", cols.join(", "))
        };
        let stream = client
            .copy_out(&sql)
            .await
            .map_err(|e| PostgresError::sql(format!("reading {}", table.qualified()), &e))?;
        let mut stream = std::pin::pin!(stream);
        let batch_size = self.src.options.batch_size as usize;
        let qualified_text = table.qualified();
        let mut splitter = LineSplitter::default();
        let mut parser = RowParser::default();
        let mut buf = String::with_capacity(256);
        let mut batch: Vec<SharedEvent> = Vec::with_capacity(batch_size);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| PostgresError::sql(format!("reading {}", table.qualified()), &e))?;
            splitter
                .feed(&chunk, |line| {
                    let pos = PgPosition {
                        commit_lsn: self.consistent_point,
                        ordinal: self.ordinal.fetch_add(1, Ordering::Relaxed),
                    };
                    let event = parser.parse(line, |values| {
                        snapshot_event(&self.src.source_id, &rel, values, pos, &mut buf)
                    })??;
                    batch.push(Arc::new(event));
                    Ok::<(), String>(())
                })
                .map_err(|m| {
                    PostgresError::preflight(format!("snapshot of {}: {m}", table.qualified()))
                })?;
            if batch.len() >= batch_size {
                let events = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                self.send(Item::Batch {
                    table: qualified_text.clone(),
                    events,
                })
                .await?;
            }
        }
        if splitter.has_partial() {
            return Err(PostgresError::preflight(format!(
                "snapshot of {}: COPY ended in the middle of a row",
                table.qualified()
            )));
        }
        if !batch.is_empty() {
            self.send(Item::Batch {
                table: qualified_text.clone(),
                events: batch,
            })
            .await?;
        }
        self.send(Item::TableDone {
            table: qualified_text,
        })
        .await
    }

    async fn send(&self, item: Item) -> Result<()> {
        // A closed channel means the snapshot was stopped: end quietly.
        let _ = self.tx.send(item).await;
        Ok(())
    }
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
