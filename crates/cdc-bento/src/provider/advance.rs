//! Advancing the wal2json slot of a managed PostgreSQL stream once every handler succeeded:
//! the stream only peeks (`SlotRead::Peek`), so the slot — and the WAL it holds — moves only
//! here, to the commit position the supervisor acknowledges.
//!
//! One task per source with its own connection. The slot can be held for a moment by
//! Bento's poll (`replication slot ... is active for PID ...`): the advance is tried again
//! shortly after. A position the slot is already past is done. Any other failure (the
//! server gone, a dropped slot) is kept for the status and retried with a capped backoff;
//! nothing is lost meanwhile, the slot just holds more. When the supervisor ends (its
//! sender dropped), the last acknowledged position is still applied before the task ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::SecretString;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;

use super::slot::pg_message as message;
use crate::generate::mapping::format_lsn;
use crate::sql::SlotName;

/// Wait before trying again while Bento's poll holds the slot.
const BUSY_RETRY: Duration = Duration::from_millis(20);
/// First wait after another failure.
const FAIL_INITIAL: Duration = Duration::from_millis(200);
/// Longest wait after failures.
const FAIL_MAX: Duration = Duration::from_secs(10);
/// How long `connect` waits for the probe of the advance connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the last position is tried once the supervisor has ended.
const FINAL_DEADLINE: Duration = Duration::from_secs(5);

/// What the advancer reports for the status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct AdvanceReport {
    /// Where the slot was last advanced to.
    pub advanced: Option<u64>,
    /// The last failure, until an advance succeeds.
    pub error: Option<String>,
}

/// The running advancer of one source.
pub(super) struct Advancer {
    task: Mutex<Option<JoinHandle<()>>>,
    report: Arc<Mutex<AdvanceReport>>,
}

impl Advancer {
    /// Starts advancing `slot` to every position `acks` receives.
    pub(super) fn start(
        source_id: String,
        dsn: SecretString,
        slot: SlotName,
        acks: watch::Receiver<u64>,
    ) -> Self {
        let report = Arc::new(Mutex::new(AdvanceReport::default()));
        let task = tokio::spawn(run(source_id, dsn, slot, acks, Arc::clone(&report)));
        Self {
            task: Mutex::new(Some(task)),
            report,
        }
    }

    /// The current report.
    pub(super) fn report(&self) -> AdvanceReport {
        self.report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits for the task (which ends once the supervisor is gone and the last position is
    /// applied or its deadline passed).
    pub(super) async fn finish(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task
            && tokio::time::timeout(FINAL_DEADLINE + Duration::from_secs(1), task)
                .await
                .is_err()
        {
            tracing::warn!("bento slot advance did not end in time");
        }
    }
}

impl Drop for Advancer {
    fn drop(&mut self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
    }
}

async fn run(
    source_id: String,
    dsn: SecretString,
    slot: SlotName,
    mut acks: watch::Receiver<u64>,
    report: Arc<Mutex<AdvanceReport>>,
) {
    let set =
        |f: &dyn Fn(&mut AdvanceReport)| f(&mut report.lock().unwrap_or_else(|p| p.into_inner()));
    let mut client: Option<tokio_postgres::Client> = None;
    let mut advanced: u64 = 0;
    let mut ended = false;
    let mut deadline = None;
    loop {
        if !ended && acks.changed().await.is_err() {
            ended = true;
            deadline = Some(tokio::time::Instant::now() + FINAL_DEADLINE);
        }
        let target = *acks.borrow_and_update();
        if target <= advanced {
            if ended {
                return;
            }
            continue;
        }
        let mut wait = FAIL_INITIAL;
        // Until this target (or a newer one) is applied.
        loop {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                tracing::warn!(source_id, lsn = %format_lsn(target), "bento: the last acknowledged position was not applied to the slot before stopping; its changes come again");
                return;
            }
            let target = (*acks.borrow()).max(target);
            match advance(&mut client, &dsn, &slot, target).await {
                Ok(()) => {
                    advanced = target;
                    set(&|r| {
                        r.advanced = Some(target);
                        r.error = None;
                    });
                    break;
                }
                Err(Failure::Busy) => tokio::time::sleep(BUSY_RETRY).await,
                Err(Failure::Other(message)) => {
                    tracing::warn!(source_id, %message, ?wait, "bento: cannot advance the slot; trying again");
                    set(&|r| r.error = Some(message.clone()));
                    client = None;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(FAIL_MAX);
                }
            }
        }
    }
}

/// Whether the provider can open its advance connection with this DSN (bounded wait).
pub(super) async fn probe(dsn: &SecretString) -> Result<(), String> {
    let connect = cdc_pg_tls::connect(dsn.expose());
    match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(Ok((client, task))) => {
            drop(client);
            let _ = task.await;
            Ok(())
        }
        Ok(Err(e)) => Err(message(&e)),
        Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    }
}

enum Failure {
    /// The slot is in use by Bento's poll for a moment.
    Busy,
    /// Anything else, as a message (never the DSN).
    Other(String),
}

async fn advance(
    client: &mut Option<tokio_postgres::Client>,
    dsn: &SecretString,
    slot: &SlotName,
    target: u64,
) -> Result<(), Failure> {
    if client
        .as_ref()
        .is_none_or(tokio_postgres::Client::is_closed)
    {
        // Over TLS as the DSN's sslmode says (a server may take nothing else).
        let (c, _conn) = cdc_pg_tls::connect(dsn.expose())
            .await
            .map_err(|e| Failure::Other(format!("cannot connect: {}", message(&e))))?;
        *client = Some(c);
    }
    let Some(c) = client.as_ref() else {
        return Err(Failure::Other("no connection".into()));
    };
    let lsn = format_lsn(target);
    match c
        .execute(
            "SELECT pg_replication_slot_advance($1::text::name, $2::text::pg_lsn)",
            &[&slot.as_str(), &lsn],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match e.as_db_error() {
            Some(db) if *db.code() == SqlState::OBJECT_IN_USE => Err(Failure::Busy),
            // `cannot advance replication slot to X, minimum is Y`: already past it.
            Some(db)
                if *db.code() == SqlState::INVALID_PARAMETER_VALUE
                    && db.message().contains("minimum is") =>
            {
                Ok(())
            }
            _ => Err(Failure::Other(format!(
                "cannot advance slot {} to {lsn}: {}",
                slot.as_str(),
                message(&e)
            ))),
        },
    }
}
