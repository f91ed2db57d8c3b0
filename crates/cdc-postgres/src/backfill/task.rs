//! The backfill task of a source: takes queued requests, reads each table chunk by chunk
//! between its watermarks, and waits for the stream to emit (and the handlers to take) each
//! chunk before the next.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;
use tracing::{info, warn};

use super::mark::Kind;
use super::shape::Shape;
use super::window::{Pending, Unseen};
use super::{Request, WATERMARK_PREFIX, chunk};
use crate::config::PostgresSource;
use crate::error::{PostgresError, Result};
use crate::provider::state::Shared;
use crate::sql::connect::connect;
use crate::sql::quote::literal;

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

/// Times in a row a chunk is read again (see [`super::window::Closed::Reread`]) before its
/// table fails: rows whose key the stream does not carry keep changing in its windows.
const MAX_REREADS: u32 = 20;

/// Backfills the first table of `request` from its resume key; `Ok(false)` when stopped.
async fn one_table(src: &PostgresSource, shared: &Shared, request: &mut Request) -> Result<bool> {
    let bf = &shared.backfill;
    let name = request.tables[0].clone();
    let client = connect(src).await?;
    let mut shape = Shape::read(&client, &name).await?;
    if let Some(after) = &request.after
        && let Some(why) = misfit(&client, &shape, after).await?
    {
        // Kept by an earlier process for another key (or damaged): reading the table
        // whole again delivers rows twice at worst, never skips one.
        warn!(source_id = %src.source_id, table = %name, "postgres: the saved backfill position {after:?} does not fit the key {:?} ({why}); the table is read from its start", shape.key_cols);
        request.after = None;
    }
    bf.update(&name, |p| {
        p.estimated = shape.info.estimated_rows;
        p.done = false;
        p.error = None;
    });
    let limit = src.options.chunk_size;
    let mut rereads = 0;
    loop {
        let seq = bf.next_seq();
        bf.open_window(Pending::new(
            seq,
            &shape.info.schema,
            &shape.info.name,
            shape.key_cols.clone(),
        ));
        emit(&client, bf.mark(&src.slot, seq, Kind::Low)).await?;
        // The chunk, the figures of its snapshot and its high watermark, in one REPEATABLE
        // READ transaction holding the table's lock from before the snapshot (LOCK takes
        // none) until the high watermark commits. Not READ ONLY: the watermark is a WAL
        // write, which no server version is promised to allow in one.
        let sql_err =
            |ctx: &'static str| move |e: tokio_postgres::Error| PostgresError::sql(ctx, &e);
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ; {}",
                shape.lock_sql()
            ))
            .await
            .map_err(|e| gone(&name, &e))?;
        let unseen = unseen_by_snapshot(&client).await?;
        let now = Shape::read(&client, &name).await?;
        if !shape.same_key(&now) {
            // The key (or the table, dropped and created again) changed since the last
            // chunk: the resume key means nothing now.
            client
                .batch_execute("ROLLBACK")
                .await
                .map_err(sql_err("ending a backfill chunk's transaction"))?;
            warn!(source_id = %src.source_id, table = %name, "postgres: the table or its key changed during its backfill; it is read again from its start");
            shape = now;
            request.after = None;
            continue;
        }
        shape = now;
        let sql = chunk::query(
            &shape.info.schema,
            &shape.info.name,
            &shape.rel,
            &shape.key_types,
            request.after.as_deref(),
            limit,
        );
        let read = chunk::read(&client, &src.source_id, &shape.rel, &sql).await?;
        let rows = read.rows.events.len();
        bf.set_rows(seq, read.rows, unseen);
        emit(&client, bf.mark(&src.slot, seq, Kind::High)).await?;
        client
            .batch_execute("COMMIT")
            .await
            .map_err(sql_err("ending a backfill chunk's transaction"))?;
        let Some((high, reread)) = bf.wait_emitted(seq, shared.stop.cancelled()).await else {
            return Ok(false);
        };
        // Delivered when the server has the position past the high mark.
        if !wait_acknowledged(shared, high).await {
            return Ok(false);
        }
        if reread {
            rereads += 1;
            if rereads > MAX_REREADS {
                return Err(PostgresError::preflight(format!(
                    "{name}: {MAX_REREADS} chunks in a row were changed by UPDATEs whose key the stream does not carry (a key column stored out of line, TOAST, and unchanged): set REPLICA IDENTITY FULL on the table, or request the backfill when it is quieter"
                )));
            }
            continue;
        }
        rereads = 0;
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

/// Why a resume key (text) is not one of the key, if it is not: as many values, each one
/// of its type. Errors other than a value's are errors.
async fn misfit(client: &Client, shape: &Shape, after: &[String]) -> Result<Option<String>> {
    if after.len() != shape.key_types.len() {
        return Ok(Some(format!(
            "{} value(s) for {} key column(s)",
            after.len(),
            shape.key_types.len()
        )));
    }
    let casts: Vec<String> = after
        .iter()
        .zip(&shape.key_types)
        .map(|(v, t)| format!("{}::{t}", literal(v)))
        .collect();
    match client
        .batch_execute(&format!("SELECT {}", casts.join(", ")))
        .await
    {
        Ok(()) => Ok(None),
        // Class 22: data exception (a value that is not of the type).
        Err(e) if e.code().is_some_and(|c| c.code().starts_with("22")) => Ok(Some(e.to_string())),
        Err(e) => Err(PostgresError::sql(
            "checking the saved backfill position",
            &e,
        )),
    }
}

/// The error of a chunk's `LOCK TABLE`: a table dropped or renamed since the backfill
/// started is named as such.
fn gone(name: &str, e: &tokio_postgres::Error) -> PostgresError {
    let mut err = PostgresError::sql(format!("locking {name} for a backfill chunk"), e);
    if err.sqlstate() == Some("42P01")
        && let PostgresError::Database { message, .. } = &mut err
    {
        message.push_str(&format!(
            "; {name} was dropped or renamed during its backfill: request it again (by its new name)"
        ));
    }
    err
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
