//! A snapshot worker: one connection in the exported snapshot, reading parts (tables or page
//! ranges of a table) through `COPY ... TO STDOUT` and handing their rows over as
//! `SnapshotRead` events in batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cdc_core::SharedEvent;
use futures::StreamExt;
use pgwire_replication::Lsn;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::copy::{LineSplitter, RowParser};
use super::parts::Part;
use super::{Item, guard_against_rewrite, relation};
use crate::config::PostgresSource;
use crate::decode::{PgPosition, snapshot_event};
use crate::error::{PostgresError, Result};
use crate::sql::catalog::TableInfo;
use crate::sql::connect::connect;
use crate::sql::quote::{ident, literal, qualified};

pub(super) struct Worker {
    pub src: Arc<PostgresSource>,
    pub snapshot: String,
    pub consistent_point: Lsn,
    pub queue: Arc<Mutex<VecDeque<Part>>>,
    pub tables: Arc<Vec<TableInfo>>,
    pub tx: mpsc::Sender<Item>,
    pub ordinal: Arc<AtomicU64>,
}

impl Worker {
    pub async fn run(self) {
        if let Err(e) = self.read_parts().await {
            let _ = self.tx.send(Item::Failed(e)).await;
        }
    }

    async fn read_parts(&self) -> Result<()> {
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
            let Some(part) = next else { break };
            if self.tx.is_closed() {
                return Ok(());
            }
            self.copy_part(&client, &part).await?;
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(sql("ending the snapshot transaction"))?;
        Ok(())
    }

    async fn copy_part(&self, client: &Client, part: &Part) -> Result<()> {
        let table = &*part.table;
        let qualified_name = qualified(&table.schema, &table.name);
        guard_against_rewrite(client, table).await?;
        let rel = relation(client, table).await?;
        let cols: Vec<String> = rel.columns.iter().map(|c| ident(&c.name)).collect();
        let sql = if table.kind == 'p' || part.pages.is_some() {
            let only = if table.kind == 'p' { "" } else { "ONLY " };
            format!(
                "COPY (SELECT {} FROM {only}{qualified_name}{}) TO STDOUT",
                cols.join(", "),
                part.filter()
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
                .await;
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
            .await;
        }
        self.send(Item::PartDone {
            table: qualified_text,
            of: part.of,
        })
        .await;
        Ok(())
    }

    async fn send(&self, item: Item) {
        // A closed channel means the snapshot was stopped: end quietly.
        let _ = self.tx.send(item).await;
    }
}
