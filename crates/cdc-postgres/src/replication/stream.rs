//! The streaming loop of one session: read, decode once, hand over in batches, acknowledge.
//!
//! Acknowledgement (the flush position of standby status updates) only ever moves to
//! - the end LSN of the last transaction whose events every handler took, or
//! - a keepalive's `wal_end` when no transaction is open and everything read was delivered
//!   (so a slot whose tables are idle while others are busy does not retain WAL).
//!
//! Never mid-transaction, never past an event a handler failed on. A large transaction is
//! handed over in batches of `batch_size` as it arrives and acknowledged at its commit.
//! After a reconnect the server resumes from the slot's `confirmed_flush_lsn`, which on
//! PostgreSQL before 17 is not saved by a shutdown checkpoint and can be older than what was
//! confirmed before. Transactions committed before the position this process already
//! acknowledged (every handler took them) are therefore skipped, not delivered again; only
//! a new process replays from the server's position.
//!
//! While handlers are slow (or failing, or the source is paused) the loop stops reading:
//! pgwire-replication's bounded buffer fills, it stops reading the socket, and it keeps
//! sending status updates so `wal_sender_timeout` does not end the session.

use std::sync::Arc;

use cdc_core::{ChangeEvent, Position, SharedEvent};
use futures::FutureExt;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationEvent};
use time::OffsetDateTime;

use crate::backfill::WATERMARK_PREFIX;
use crate::config::PostgresSource;
use crate::decode::{PgPosition, SchemaNote, StreamDecoder, Txn, pg_time};
use crate::error::PostgresError;
use crate::provider::deliver::{Stopped, deliver};
use crate::provider::state::Shared;
use crate::replication::message::{ddl_message, message_event};
use crate::replication::session::wire_error;
use crate::sql::ddl_capture::DDL_PREFIX;

/// How long a stop waits for the commit of a transaction whose events were all delivered.
const STOP_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Prefix of the logical messages cdc-rs writes itself; never delivered.
pub const INTERNAL_PREFIX: &str = "cdc-rs";

/// How a session's stream ended.
#[derive(Debug)]
pub enum StreamEnd {
    /// `disconnect` asked for it.
    Stopped,
    /// The session failed; the task decides whether to reconnect.
    Lost(PostgresError),
}

/// One session's loop state.
struct Stream<'a> {
    src: &'a PostgresSource,
    shared: &'a Shared,
    decoder: &'a mut StreamDecoder,
    client: ReplicationClient,
    txn: Option<Txn>,
    pending: Vec<SharedEvent>,
    /// End LSN of the last complete transaction in `pending` (or read since the last flush).
    pending_ack: Option<Lsn>,
    pending_commit_time: Option<OffsetDateTime>,
    scratch: Vec<ChangeEvent>,
    notes: Vec<SchemaNote>,
    /// Transactions committed before this were delivered by an earlier session.
    delivered_before: Lsn,
    /// The open transaction is one of those.
    replayed: bool,
}

/// Streams until stopped or the session fails. The client is shut down on return.
pub async fn run(
    src: &PostgresSource,
    shared: &Shared,
    decoder: &mut StreamDecoder,
    client: ReplicationClient,
) -> StreamEnd {
    let mut s = Stream {
        src,
        shared,
        decoder,
        client,
        txn: None,
        pending: Vec::with_capacity(src.options.batch_size as usize),
        pending_ack: None,
        pending_commit_time: None,
        scratch: Vec::new(),
        notes: Vec::new(),
        delivered_before: shared.figures().acknowledged.unwrap_or(Lsn::ZERO),
        replayed: false,
    };
    let end = s.run().await;
    // Not awaited: a stop sends CopyDone and the worker ends by itself; a broken session
    // has nothing left to say.
    s.client.stop();
    end
}

impl Stream<'_> {
    async fn run(&mut self) -> StreamEnd {
        let batch = self.src.options.batch_size as usize;
        loop {
            if self.shared.is_paused() {
                // Deliver what was read (held until resumed), then stop reading.
                if let Err(Stopped) = self.flush().await {
                    return StreamEnd::Stopped;
                }
                if !self.shared.wait_unpaused().await {
                    self.finish_delivered_transaction().await;
                    return StreamEnd::Stopped;
                }
            }
            let has_work = !self.pending.is_empty() || self.pending_ack.is_some();
            let next = if has_work {
                match self.client.recv().now_or_never() {
                    Some(r) => r,
                    None => {
                        // Nothing more right now: hand over what we have.
                        if let Err(Stopped) = self.flush().await {
                            return StreamEnd::Stopped;
                        }
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    biased;
                    () = self.shared.stop.cancelled() => {
                        self.finish_delivered_transaction().await;
                        return StreamEnd::Stopped;
                    }
                    r = self.client.recv() => r,
                }
            };
            let event = match next {
                Ok(Some(e)) => e,
                Ok(None) => {
                    return StreamEnd::Lost(PostgresError::Database {
                        context: format!("streaming from slot {:?}", self.src.slot),
                        message: "the server ended the replication stream".into(),
                        sqlstate: None,
                        retryable: true,
                    });
                }
                Err(e) => return StreamEnd::Lost(wire_error(self.src, "streaming", e)),
            };
            match self.handle(event).await {
                Ok(()) => {}
                Err(End::Stopped) => return StreamEnd::Stopped,
                Err(End::Failed(e)) => return StreamEnd::Lost(e),
            }
            if self.pending.len() >= batch
                && let Err(Stopped) = self.flush().await
            {
                return StreamEnd::Stopped;
            }
        }
    }

    /// At a stop with a transaction open whose events were all handed over (a batch flushed
    /// before its commit was read): its commit is usually already on the wire, and reading
    /// it lets the handled transaction be acknowledged, so that a restart does not deliver
    /// it again. Waits at most [`STOP_DRAIN`]; reads no further than that commit, and gives
    /// up at once if the transaction has events not yet delivered (nothing is delivered
    /// after a stop).
    async fn finish_delivered_transaction(&mut self) {
        if self.txn.is_none() || self.replayed || !self.pending.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + STOP_DRAIN;
        while self.txn.is_some() {
            let event = match tokio::time::timeout_at(deadline, self.client.recv()).await {
                Ok(Ok(Some(e))) => e,
                _ => return,
            };
            let is_commit = matches!(event, ReplicationEvent::Commit { .. });
            if !matches!(
                event,
                ReplicationEvent::XLogData { .. } | ReplicationEvent::Commit { .. }
            ) || self.handle(event).await.is_err()
                || !self.pending.is_empty()
            {
                return;
            }
            if is_commit {
                // Nothing pending: this only acknowledges the commit.
                let _ = self.flush().await;
            }
        }
    }

    async fn handle(&mut self, event: ReplicationEvent) -> Result<(), End> {
        match event {
            ReplicationEvent::Begin {
                final_lsn,
                xid,
                commit_time_micros,
            } => {
                self.replayed = final_lsn < self.delivered_before;
                self.txn = Some(Txn::begin(xid, final_lsn.as_u64(), commit_time_micros));
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                self.decoder
                    .decode(
                        &data,
                        wal_start.as_u64(),
                        self.txn.as_mut(),
                        &mut self.scratch,
                        &mut self.notes,
                    )
                    .map_err(|e| End::Failed(e.into()))?;
                if self.shared.backfill.is_active() {
                    // A backfill chunk is between its watermarks: it drops rows these touch.
                    let commit_lsn = self.txn.as_ref().map_or(0, |t| t.commit_lsn);
                    self.shared.backfill.note(&self.scratch, commit_lsn);
                }
                if self.replayed {
                    // Delivered by an earlier session; decoded only to keep the relations.
                    let n = self.scratch.len() as u64;
                    self.scratch.clear();
                    self.notes.clear();
                    self.shared.update(|f| f.replayed_skipped += n);
                    return Ok(());
                }
                if !self.notes.is_empty() {
                    self.shared.record_schema(&self.notes);
                    self.notes.clear();
                }
                self.pending.extend(self.scratch.drain(..).map(Arc::new));
            }
            ReplicationEvent::Commit {
                end_lsn,
                commit_time_micros,
                ..
            } => {
                let txn = self.txn.take();
                self.pending_ack = Some(end_lsn);
                self.pending_commit_time = txn
                    .and_then(|t| t.commit_time)
                    .or_else(|| pg_time(commit_time_micros));
            }
            ReplicationEvent::Message {
                transactional,
                lsn,
                prefix,
                content,
            } => {
                if prefix == DDL_PREFIX {
                    self.on_ddl(transactional, &content, lsn);
                    return Ok(());
                }
                if prefix == WATERMARK_PREFIX {
                    let commit_lsn = self.txn.as_ref().map_or(0, |t| t.commit_lsn);
                    let rows = self.shared.backfill.on_watermark(
                        &self.src.slot,
                        transactional,
                        &content,
                        lsn,
                        commit_lsn,
                    );
                    // A high watermark read again in a transaction delivered already: so
                    // were its rows.
                    if let Some(rows) = rows.filter(|_| !self.replayed) {
                        self.emit_backfill_rows(rows, lsn);
                    }
                    return Ok(());
                }
                let replayed = if transactional {
                    self.replayed
                } else {
                    lsn < self.delivered_before
                };
                if !replayed
                    && !prefix.starts_with(INTERNAL_PREFIX)
                    && self.src.options.wants_message(&prefix)
                {
                    let e = message_event(
                        &self.shared.source_id,
                        self.txn.as_mut(),
                        transactional,
                        lsn,
                        &prefix,
                        &content,
                    );
                    self.pending.push(Arc::new(e));
                }
            }
            ReplicationEvent::KeepAlive {
                wal_end,
                server_time_micros,
                ..
            } => {
                if self.txn.is_none() {
                    // Everything before this keepalive is read; once it is delivered the
                    // server may forget the WAL up to `wal_end`.
                    self.flush().await.map_err(|Stopped| End::Stopped)?;
                    self.client.update_applied_lsn(wal_end);
                    self.shared.update(|f| {
                        f.acknowledged = f.acknowledged.max(Some(wal_end));
                        f.last_idle_keepalive = pg_time(server_time_micros);
                    });
                }
            }
            ReplicationEvent::StoppedAt { .. } => {}
        }
        Ok(())
    }

    /// Delivers what is pending, then acknowledges the last complete transaction in it.
    async fn flush(&mut self) -> Result<(), Stopped> {
        if !self.pending.is_empty() {
            let events = std::mem::take(&mut self.pending);
            deliver(self.shared, &events).await?;
            self.pending = events;
            self.pending.clear();
        }
        if let Some(ack) = self.pending_ack.take() {
            self.client.update_applied_lsn(ack);
            let commit_time = self.pending_commit_time.take();
            self.shared.update(|f| {
                f.acknowledged = f.acknowledged.max(Some(ack));
                if commit_time.is_some() {
                    f.last_commit_time = commit_time;
                }
            });
        }
        Ok(())
    }

    /// A captured DDL command (`capture_ddl`), in its transaction's order.
    fn on_ddl(&mut self, transactional: bool, content: &[u8], lsn: Lsn) {
        let in_txn = self.txn.is_some();
        let Some(msg) = ddl_message(&self.src.slot, transactional, in_txn, content, lsn) else {
            return;
        };
        if self.replayed {
            return;
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        self.decoder
            .ddl(&msg, txn, lsn.as_u64(), &mut self.scratch, &mut self.notes);
        self.shared.record_schema(&self.notes);
        self.notes.clear();
        self.pending.extend(self.scratch.drain(..).map(Arc::new));
    }

    /// A backfill chunk's rows, emitted at its high watermark: positioned in that
    /// watermark's transaction, after everything before it.
    fn emit_backfill_rows(&mut self, rows: Vec<ChangeEvent>, lsn: Lsn) {
        for mut e in rows {
            let pos = match self.txn.as_mut() {
                Some(txn) => {
                    let p = PgPosition {
                        commit_lsn: Lsn::from_u64(txn.commit_lsn),
                        ordinal: txn.next_ordinal,
                    };
                    txn.next_ordinal += 1;
                    p
                }
                None => PgPosition {
                    commit_lsn: lsn,
                    ordinal: 0,
                },
            };
            e.position = Some(Position::new(pos.token()));
            self.pending.push(Arc::new(e));
        }
    }
}

/// Why handling an event ended the loop.
enum End {
    Stopped,
    Failed(PostgresError),
}
