//! The replication slot of a deleted PostgreSQL connector, dropped on request
//! (`options.drop_slot_on_stop`) so that it stops holding WAL on the database.
//!
//! Right after `DELETE /connectors/{n}` the connector's task may still be stopping, and its
//! walsender still holds the slot: `pg_drop_replication_slot` then fails with SQLSTATE 55006
//! (object in use) and is tried again, for at most [`DROP_WAIT`].

use std::time::Duration;

use cdc_core::SecretString;

use crate::error::Result;

/// How long a slot still held by the deleted connector's walsender is waited for.
pub const DROP_WAIT: Duration = Duration::from_secs(30);

/// What [`drop_slot`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// The slot existed and was dropped.
    Dropped,
    /// There was no slot by that name (never created, or dropped already).
    WasGone,
}

/// Drops the replication slot `slot` through `dsn`, waiting up to `wait` for it to be
/// released by an active walsender. An error names the slot (and the PID holding it).
pub async fn drop_slot(
    source_id: &str,
    dsn: &SecretString,
    slot: &str,
    wait: Duration,
) -> Result<Dropped> {
    postgres::drop_slot(source_id, dsn, slot, wait).await
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::time::Duration;

    use cdc_core::SecretString;
    use tokio::time::Instant;
    use tokio_postgres::error::SqlState;

    use super::Dropped;
    use crate::error::{DebeziumError, Result};

    pub(super) async fn drop_slot(
        source_id: &str,
        dsn: &SecretString,
        slot: &str,
        wait: Duration,
    ) -> Result<Dropped> {
        let fail = |message: String| DebeziumError::ReplicationSlot {
            source_id: source_id.to_owned(),
            slot: slot.to_owned(),
            message,
        };
        // tokio-postgres errors do not contain the connection string; the DSN displays
        // redacted.
        // Over TLS as the DSN's sslmode says (a server may take nothing else).
        let (client, conn_task) = cdc_pg_tls::connect(dsn.expose()).await.map_err(|e| {
            fail(format!(
                "cannot connect to {dsn} to drop it: {}",
                cdc_pg_tls::error_text(&e)
            ))
        })?;
        let result = drop_when_released(&client, slot, wait, &fail).await;
        drop(client);
        let _ = conn_task.await;
        result
    }

    async fn drop_when_released(
        client: &tokio_postgres::Client,
        slot: &str,
        wait: Duration,
        fail: &impl Fn(String) -> DebeziumError,
    ) -> Result<Dropped> {
        let deadline = Instant::now() + wait;
        let mut backoff = Duration::from_millis(50);
        loop {
            let e = match client
                .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                .await
            {
                Ok(_) => return Ok(Dropped::Dropped),
                Err(e) => e,
            };
            match e.code() {
                Some(c) if *c == SqlState::UNDEFINED_OBJECT => return Ok(Dropped::WasGone),
                Some(c) if *c == SqlState::OBJECT_IN_USE => {
                    if Instant::now() >= deadline {
                        let pid = active_pid(client, slot).await;
                        return Err(fail(format!(
                            "still active after {wait:?} (held by PID {pid}: the deleted connector's task may still be stopping); drop it later with SELECT pg_drop_replication_slot('{slot}')"
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                _ => {
                    let why = cdc_pg_tls::error_text(&e);
                    return Err(fail(format!("cannot drop it: {why}")));
                }
            }
        }
    }

    /// The PID of the process holding the slot, for the error (`?` if it cannot be read).
    async fn active_pid(client: &tokio_postgres::Client, slot: &str) -> String {
        let row = client
            .query_opt(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await;
        match row {
            Ok(Some(r)) => r
                .get::<_, Option<i32>>(0)
                .map_or_else(|| "none".into(), |p| p.to_string()),
            _ => "?".into(),
        }
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    use std::time::Duration;

    use cdc_core::SecretString;

    use super::Dropped;
    use crate::error::{DebeziumError, Result};

    pub(super) async fn drop_slot(
        source_id: &str,
        _dsn: &SecretString,
        _slot: &str,
        _wait: Duration,
    ) -> Result<Dropped> {
        Err(DebeziumError::Unsupported {
            source_id: source_id.to_owned(),
            operation: "options.drop_slot_on_stop".into(),
            reason: "cdc-debezium was built without its `postgres` feature".into(),
        })
    }
}
