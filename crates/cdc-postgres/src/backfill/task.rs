//! The backfill task of a source: takes queued requests, reads each table chunk by chunk
//! between its watermarks, and waits for the stream to emit (and the handlers to take) each
//! chunk before the next.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;
use tracing::{info, warn};

use super::window::{Pending, Unseen};
use super::{Request, WATERMARK_PREFIX, chunk};
use crate::config::PostgresSource;
use crate::error::{PostgresError, Result};
use crate::provider::state::Shared;
use crate::sql::catalog::{self, TableInfo};
use crate::sql::connect::connect;

/// Runs until the source stops.
pub async fn run(src: Arc<PostgresSource>, shared: Arc<Shared>) {
    let bf = &shared.backfill;
    loop {
        let Some(mut request) = bf.next_request() else {
            bf.set_state("idle");
            tokio::select! {
                () = shared.stop.cancelled() => return,
                () = bf.wake.notified() => continue,
            }
        };
        bf.set_state("running");
        let mut backoff = shared.backoff();
        while !request.tables.is_empty() {
            let table = request.tables[0].clone();
            match one_table(&src, &shared, &mut request).await {
                Ok(true) => {
                    // The table is done: nothing more to keep for a next chunk of it.
                    bf.abandon();
                    request.tables.remove(0);
                    request.after = None;
                    backoff.reset();
                }
                Ok(false) => return, // stopped
                Err(e) if e.is_retryable() => {
                    // Lost connection: the chunk starts again (its window is abandoned).
                    bf.abandon();
                    warn!(source_id = %src.source_id, %table, error = %e, "postgres: backfill interrupted; retrying");
                    if !shared.sleep(backoff.next_delay()).await {
                        return;
                    }
                }
                Err(e) => {
                    bf.abandon();
                    warn!(source_id = %src.source_id, %table, error = %e, "postgres: backfill of a table failed");
                    bf.update(&table, |p| p.error = Some(e.to_string()));
                    request.tables.remove(0);
                    request.after = None;
                }
            }
        }
        bf.finish_request();
        if let Ok(client) = connect(&src).await {
            persist(&src, &shared, &client, None).await;
        }
    }
}

/// Backfills the first table of `request` from its resume key; `Ok(false)` when stopped.
async fn one_table(src: &PostgresSource, shared: &Shared, request: &mut Request) -> Result<bool> {
    let bf = &shared.backfill;
    let name = request.tables[0].clone();
    let client = connect(src).await?;
    let table = resolve(&client, &name).await?;
    if table.key_columns().is_empty() {
        return Err(PostgresError::preflight(format!(
            "{name} has neither a primary key nor a replica identity index: it cannot be read in key order while streaming"
        )));
    }
    let rel = crate::snapshot::relation(&client, &table).await?;
    let key_cols: Vec<String> = rel
        .key
        .iter()
        .map(|&i| rel.columns[i].name.clone())
        .collect();
    let key_types = catalog::column_sql_types(&client, table.oid, &key_cols).await?;
    bf.update(&name, |p| {
        p.estimated = table.estimated_rows;
        p.done = false;
        p.error = None;
    });
    let limit = src.options.chunk_size;
    loop {
        let seq = bf.next_seq();
        bf.open_window(Pending::new(
            seq,
            &table.schema,
            &table.name,
            key_cols.clone(),
        ));
        emit(&client, bf.mark(&src.slot, seq, "low")).await?;
        let sql = chunk::query(
            &table.schema,
            &table.name,
            &rel,
            &key_types,
            request.after.as_deref(),
            limit,
        );
        // The chunk and the figures of its snapshot, in one REPEATABLE READ transaction.
        let sql_err =
            |ctx: &'static str| move |e: tokio_postgres::Error| PostgresError::sql(ctx, &e);
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(sql_err("starting a backfill chunk's transaction"))?;
        let unseen = unseen_by_snapshot(&client).await?;
        let read = chunk::read(&client, &src.source_id, &rel, &sql).await?;
        client
            .batch_execute("COMMIT")
            .await
            .map_err(sql_err("ending a backfill chunk's transaction"))?;
        let rows = read.rows.events.len();
        bf.set_rows(seq, read.rows, unseen);
        emit(&client, bf.mark(&src.slot, seq, "high")).await?;
        let Some(high) = bf.wait_emitted(seq, shared.stop.cancelled()).await else {
            return Ok(false);
        };
        // Delivered when the server has the position past the high mark.
        if !wait_acknowledged(shared, high).await {
            return Ok(false);
        }
        bf.update(&name, |p| {
            p.chunks += 1;
            p.rows += rows as u64;
        });
        match read.last_key {
            Some(last) if rows as u32 >= limit => {
                request.after = Some(last);
                persist(src, shared, &client, Some(request)).await;
            }
            _ => {
                bf.update(&name, |p| p.done = true);
                info!(source_id = %src.source_id, table = %name, "postgres: backfill of the table done");
                return Ok(true);
            }
        }
    }
}

/// What the transaction's snapshot (taken by this, its first statement) does not see: the
/// stream then knows which changes delivered before the low watermark the chunk lacks.
async fn unseen_by_snapshot(client: &Client) -> Result<Unseen> {
    let row = client
        .query_one(
            "select txid_snapshot_xmax(s)::int8, array(select txid_snapshot_xip(s))::int8[] \
             from txid_current_snapshot() s",
            &[],
        )
        .await
        .map_err(|e| PostgresError::sql("reading a backfill chunk's snapshot", &e))?;
    // 64-bit txids are the epoch and the 32-bit xid the stream carries.
    let xmax: i64 = row.get(0);
    let xip: Vec<i64> = row.get(1);
    Ok(Unseen {
        xmax: xmax as u32,
        xip: xip.into_iter().map(|x| x as u32).collect(),
    })
}

async fn resolve(client: &Client, name: &str) -> Result<TableInfo> {
    let t = cdc_core::TableRef::parse(name).map_err(|m| PostgresError::config("tables", m))?;
    Ok(catalog::resolve_tables(client, &[t]).await?.remove(0))
}

async fn emit(client: &Client, content: String) -> Result<()> {
    client
        .execute(
            "select pg_logical_emit_message(true, $1, $2)",
            &[&WATERMARK_PREFIX, &content],
        )
        .await
        .map_err(|e| PostgresError::sql("writing a backfill watermark", &e))?;
    Ok(())
}

/// Waits until the acknowledged position passes `lsn` (the handlers took the chunk).
async fn wait_acknowledged(shared: &Shared, lsn: pgwire_replication::Lsn) -> bool {
    loop {
        if shared.figures().acknowledged.is_some_and(|a| a > lsn) {
            return true;
        }
        if !shared.sleep(Duration::from_millis(20)).await {
            return false;
        }
    }
}

/// Keeps the backfill's position in the publication's comment (when cdc-rs owns it).
async fn persist(
    src: &PostgresSource,
    shared: &Shared,
    client: &Client,
    current: Option<&Request>,
) {
    if !src.owns_publication() {
        return;
    }
    let mut requests: Vec<Request> = current.into_iter().cloned().collect();
    requests.extend(shared.backfill.queued());
    if let Err(e) = super::save_persisted(client, &src.publication, &requests).await {
        warn!(source_id = %src.source_id, error = %e, "postgres: could not save the backfill position");
    }
}
