//! The task of one source: the snapshot (on a new slot), then the stream, reconnecting with a
//! capped backoff when the session is lost and resuming from the slot's confirmed position.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::setup::{self, Mode, Start};
use super::state::{Phase, Shared};
use crate::config::PostgresSource;
use crate::decode::StreamDecoder;
use crate::error::PostgresError;
use crate::replication::session::wire_error;
use crate::replication::stream::{self, StreamEnd};
use crate::snapshot::{self, SnapshotEnd, marker};
use crate::sql::connect::connect;

/// A session that streamed this long resets the reconnect backoff.
const HEALTHY_SESSION: Duration = Duration::from_secs(10);

/// Runs the source until stopped or failed for good.
pub async fn run(
    src: Arc<PostgresSource>,
    shared: Arc<Shared>,
    first: Start,
    mut decoder: StreamDecoder,
) {
    let mut next = Some(first);
    let mut backoff = shared.backoff();
    loop {
        let start = match next.take() {
            Some(s) => Ok(s),
            None => match setup::prepare(&src, Mode::Reconnect).await {
                Ok(p) => {
                    decoder.set_key_relations(p.key_relations());
                    decoder.set_primary_keys(p.keys);
                    for n in &p.notes {
                        info!(source_id = %src.source_id, "postgres: {n}");
                    }
                    if p.notes.iter().any(|n| n.contains("snapshot")) {
                        shared.update(|f| f.snapshot_state = Some(p.notes.join("; ")));
                    }
                    Ok(p.start)
                }
                Err(e) => Err(e),
            },
        };
        let streaming = match start {
            Ok(Start::Stream { client, from }) => Some((client, from)),
            Ok(Start::Snapshot { mut gated, plan }) => {
                match snapshot::run(&src, &shared, &plan).await {
                    SnapshotEnd::Done => {
                        match drop_marker(&src).await {
                            Ok(()) => match start_after_snapshot(&src, &mut gated).await {
                                Ok(()) => Some((gated, plan.consistent_point)),
                                Err(e) => {
                                    // The snapshot is complete and the slot still at its
                                    // consistent point: streaming resumes from there.
                                    gated.stop();
                                    fail(
                                        &shared,
                                        &e,
                                        "replication session lost after the snapshot; reconnecting",
                                    );
                                    None
                                }
                            },
                            Err(e) => {
                                // The marker is still there: set-up starts the snapshot over.
                                gated.stop();
                                shared.update(|f| {
                                f.snapshot_restarts += 1;
                                f.snapshot_last_failure = Some(e.to_string());
                                f.snapshot_state = Some(format!("done, but its marker could not be dropped, starting over: {e}"));
                            });
                                fail(&shared, &e, "the snapshot's marker could not be dropped");
                                None
                            }
                        }
                    }
                    SnapshotEnd::Stopped => {
                        gated.stop();
                        shared.update(|f| f.phase = Phase::Stopped);
                        return;
                    }
                    SnapshotEnd::Failed(e) => {
                        // The exported snapshot may be gone with the failed session: start
                        // over (the marker is still there, so set-up drops and re-creates
                        // the slot).
                        gated.stop();
                        drop(gated);
                        shared.update(|f| {
                            f.snapshot_restarts += 1;
                            f.snapshot_last_failure = Some(e.to_string());
                            f.snapshot_state = Some(format!("failed, starting over: {e}"));
                        });
                        fail(&shared, &e, "snapshot failed; it starts over");
                        None
                    }
                }
            }
            Err(e) => {
                if is_final(&e) {
                    give_up(&shared, e);
                    return;
                }
                fail(&shared, &e, "cannot resume streaming");
                None
            }
        };
        if let Some((client, from)) = streaming {
            shared.update(|f| {
                f.phase = Phase::Streaming;
                f.error = None;
                f.resumed_from = Some(from);
            });
            info!(source_id = %src.source_id, slot = %src.slot, %from, "postgres: streaming");
            let began = Instant::now();
            match stream::run(&src, &shared, &mut decoder, client).await {
                StreamEnd::Stopped => {
                    if let Some(lsn) = shared.figures().acknowledged
                        && let Err(e) = setup::save_position(&src, lsn).await
                    {
                        warn!(source_id = %src.source_id, error = %e, "postgres: could not save the slot's position at stop; a restart may deliver some events again");
                    }
                    shared.update(|f| f.phase = Phase::Stopped);
                    return;
                }
                StreamEnd::Lost(e) => {
                    if began.elapsed() >= HEALTHY_SESSION {
                        backoff.reset();
                    }
                    shared.update(|f| f.reconnects += 1);
                    if is_final(&e) {
                        give_up(&shared, e);
                        return;
                    }
                    fail(&shared, &e, "replication session lost; reconnecting");
                }
            }
        }
        let delay = backoff.next_delay();
        if !shared.sleep(delay).await {
            shared.update(|f| f.phase = Phase::Stopped);
            return;
        }
    }
}

/// After the snapshot: its marker goes (from now on a restart resumes the stream instead of
/// taking the snapshot again).
async fn drop_marker(src: &PostgresSource) -> Result<(), PostgresError> {
    if src.options.temporary_slot {
        return Ok(());
    }
    let client = connect(src).await?;
    marker::drop(&client, &src.slot).await
}

/// The gated session starts streaming at the slot's consistent point.
async fn start_after_snapshot(
    src: &PostgresSource,
    gated: &mut pgwire_replication::ReplicationClient,
) -> Result<(), PostgresError> {
    gated
        .start()
        .await
        .map_err(|e| wire_error(src, "starting replication after the snapshot", e))?;
    gated
        .wait_started()
        .await
        .map_err(|e| wire_error(src, "starting replication after the snapshot", e))
}

fn is_final(e: &PostgresError) -> bool {
    matches!(
        e,
        PostgresError::SlotInvalidated { .. }
            | PostgresError::SlotMissing { .. }
            | PostgresError::Config { .. }
    )
}

fn fail(shared: &Shared, e: &PostgresError, what: &str) {
    warn!(source_id = %shared.source_id, error = %e, "postgres: {what}");
    shared.update(|f| {
        f.phase = Phase::Reconnecting;
        f.error = Some(format!("{what}: {e}"));
    });
}

fn give_up(shared: &Shared, e: PostgresError) {
    warn!(source_id = %shared.source_id, error = %e, "postgres: source failed");
    shared.update(|f| {
        f.phase = Phase::Failed;
        f.error = Some(e.to_string());
    });
}
