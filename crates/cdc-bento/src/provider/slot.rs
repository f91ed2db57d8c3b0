//! Creating the wal2json slot on connect (`create_slot: true`).

use cdc_core::SecretString;

use crate::error::BentoError;
use crate::generate::PostgresSlot;

/// Runs the generated slot-creation SQL.
#[cfg(feature = "postgres")]
pub(super) async fn create(
    source_id: &str,
    dsn: &SecretString,
    slot: &PostgresSlot,
) -> Result<(), BentoError> {
    let fail = |what: &str, e: tokio_postgres::Error| BentoError::Postgres {
        source_id: source_id.into(),
        message: format!("{what} for slot {}: {}", slot.slot, pg_message(&e)),
    };
    // Over TLS as the DSN's sslmode says (a server may take nothing else).
    let (client, conn_task) = cdc_pg_tls::connect(dsn.expose())
        .await
        .map_err(|e| fail("cannot connect", e))?;
    let result = client
        .simple_query(&slot.create_slot_sql)
        .await
        .map_err(|e| fail("cannot create the replication slot", e));
    drop(client);
    let _ = conn_task.await;
    result.map(|_| ())
}

/// The server's reason (detail, hint), or the driver's error with its causes; never the DSN
/// (masked again, should a cause quote one).
#[cfg(feature = "postgres")]
pub(super) fn pg_message(e: &tokio_postgres::Error) -> String {
    cdc_core::secret::redact_text(&cdc_pg_tls::error_text(e))
}

/// Without the `postgres` feature there is no client to run the SQL with.
#[cfg(not(feature = "postgres"))]
pub(super) async fn create(
    source_id: &str,
    _dsn: &SecretString,
    _slot: &PostgresSlot,
) -> Result<(), BentoError> {
    Err(BentoError::invalid(
        source_id,
        "options.create_slot",
        "creating the slot needs the `postgres` feature of cdc-bento; enable it, or create the \
         slot yourself with the SQL of BentoProvider::generated(..).postgres.create_slot_sql",
    ))
}
