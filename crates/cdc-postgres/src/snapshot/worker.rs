//! A snapshot worker: one connection in the exported snapshot, reading parts (tables or page
//! ranges of a table) through `COPY ... TO STDOUT` and handing their rows over as
//! `SnapshotRead` events in batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cdc_core::{Position, Row, SharedEvent};
use futures::StreamExt;
use pgwire_replication::Lsn;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::binary::RowSplitter;
use super::copy::{LineSplitter, RowParser};
use super::parts::Part;
use super::writer::{RowWriter, select_list};
use super::{Item, guard_against_rewrite, relation};
use crate::config::PostgresSource;
use crate::decode::row::{Columns, image};
use crate::decode::{Relation, Tokens, snapshot_event_of};
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
        guard_against_rewrite(client, table).await?;
        let rel = relation(client, table).await?;
        // Binary: cheaper for the server, which shares the machine's cores with us. Text
        // only for a table with a column type whose output function is not found.
        let reads = select_list(client, &rel).await?;
        let sql = copy_sql(part, &rel, reads.as_ref().map(|(_, list)| list.as_str()));
        let stream = client
            .copy_out(&sql)
            .await
            .map_err(|e| PostgresError::sql(format!("reading {}", table.qualified()), &e))?;
        let mut stream = std::pin::pin!(stream);
        let batch_size = self.src.options.batch_size as usize;
        let qualified_text = table.qualified();
        let mut decoder = match &reads {
            Some((reads, _)) => {
                Decoder::Binary(RowSplitter::default(), RowWriter::new(&rel, reads))
            }
            None => Decoder::Text(
                LineSplitter::default(),
                RowParser::default(),
                String::with_capacity(256),
            ),
        };
        let mut batch: Vec<SharedEvent> = Vec::with_capacity(batch_size);
        // Ordinals are taken a batch at a time: one shared counter update per batch, not per
        // row (the workers' cores would pass its cache line back and forth). A part's last
        // batch leaves a gap; tokens stay unique and ordered within a part.
        let (mut next, mut reserved) = (0u64, 0u64);
        let tokens = Tokens::new(self.consistent_point);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| PostgresError::sql(format!("reading {}", table.qualified()), &e))?;
            decoder
                .feed(&chunk, &rel, |after, key| {
                    if next == reserved {
                        let n = batch_size.max(1) as u64;
                        next = self.ordinal.fetch_add(n, Ordering::Relaxed);
                        reserved = next + n;
                    }
                    let pos = Position::new(tokens.token(next));
                    next += 1;
                    let event = snapshot_event_of(&self.src.source_id, &rel, after, key, pos);
                    batch.push(Arc::new(event));
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
        decoder.finish().map_err(|m| {
            PostgresError::preflight(format!("snapshot of {}: {m}", table.qualified()))
        })?;
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

/// The COPY of a part: binary with `binary_list` (from [`select_list`]), else text.
fn copy_sql(part: &Part, rel: &Relation, binary_list: Option<&str>) -> String {
    let table = &*part.table;
    let qualified_name = qualified(&table.schema, &table.name);
    let cols: Vec<String> = rel.columns.iter().map(|c| ident(&c.name)).collect();
    let cols = cols.join(", ");
    let (list, format) = match binary_list {
        Some(list) => (list, " (FORMAT binary)"),
        None => (cols.as_str(), ""),
    };
    if table.kind == 'p' || part.pages.is_some() || list != cols {
        let only = if table.kind == 'p' { "" } else { "ONLY " };
        format!(
            "COPY (SELECT {list} FROM {only}{qualified_name}{}) TO STDOUT{format}",
            part.filter()
        )
    } else {
        format!("COPY {qualified_name} ({cols}) TO STDOUT{format}")
    }
}

/// A part's COPY stream, in either format, as row images.
enum Decoder {
    Text(LineSplitter, RowParser, String),
    Binary(RowSplitter, RowWriter),
}

impl Decoder {
    /// Calls `f` with the image and key image of every complete row of `chunk`.
    fn feed(
        &mut self,
        chunk: &[u8],
        rel: &Relation,
        mut f: impl FnMut(Row, Option<Row>),
    ) -> std::result::Result<(), String> {
        match self {
            Self::Binary(splitter, writer) => splitter.feed(chunk, |row| {
                let (after, key) = writer.write(row)?;
                f(after, key);
                Ok(())
            }),
            Self::Text(splitter, parser, buf) => splitter.feed(chunk, |line| {
                let (after, key) = parser.parse(line, |values| {
                    let after = image(rel, values, None, Columns::All, buf)?.row;
                    let key = if rel.key.is_empty() {
                        None
                    } else {
                        Some(image(rel, values, None, Columns::Only(&rel.key), buf)?.row)
                    };
                    Ok::<_, String>((after, key))
                })??;
                f(after, key);
                Ok(())
            }),
        }
    }

    /// `Err` when the stream ended mid-row.
    fn finish(&self) -> std::result::Result<(), String> {
        match self {
            Self::Binary(splitter, _) => splitter.finish(),
            Self::Text(splitter, _, _) if splitter.has_partial() => {
                Err("COPY ended in the middle of a row".into())
            }
            Self::Text(..) => Ok(()),
        }
    }
}
