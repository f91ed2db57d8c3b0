//! Debezium signals written to the connector's signaling table (the `source` channel):
//! `execute-snapshot` for incremental snapshots of chosen tables.

use cdc_core::TableRef;
use serde_json::json;

use crate::config::{DatabaseKind, SignalOptions, check_table_name, regex_escape};
use crate::error::{DebeziumError, Result};

/// The `data` of an incremental `execute-snapshot` signal for these tables
/// (`schema.table`; PostgreSQL tables without a schema get `public`). Debezium reads
/// `data-collections` as regular expressions: each name is escaped to match only itself.
pub fn execute_snapshot_data(tables: &[TableRef]) -> String {
    let collections: Vec<String> = tables
        .iter()
        .map(|t| {
            let schema = t.schema.as_deref().unwrap_or("public");
            format!("{}\\.{}", regex_escape(schema), regex_escape(&t.name))
        })
        .collect();
    json!({"data-collections": collections, "type": "incremental"}).to_string()
}

/// A fresh signal id (random, 32 hex digits; the column is `varchar(42)` in Debezium's docs).
pub fn new_signal_id() -> String {
    let n: u128 = rand::random();
    format!("{n:032x}")
}

/// Writes an `execute-snapshot` signal for `tables` and returns its id.
pub async fn send_execute_snapshot(
    source_id: &str,
    kind: DatabaseKind,
    signal: &SignalOptions,
    database: Option<&cdc_core::SecretString>,
    tables: &[TableRef],
) -> Result<String> {
    let unsupported = |reason: String| DebeziumError::Unsupported {
        source_id: source_id.to_owned(),
        operation: "snapshot of chosen tables (signal)".into(),
        reason,
    };
    // Tables may come from event data (a step's `tables: ${event...}`): names, never patterns.
    for (i, t) in tables.iter().enumerate() {
        check_table_name(t).map_err(|message| DebeziumError::Config {
            source_id: source_id.to_owned(),
            field: format!("tables[{i}]"),
            message,
        })?;
    }
    if kind != DatabaseKind::Postgres {
        return Err(unsupported(format!(
            "writing signals to a {} signaling table is not supported yet; only PostgreSQL is",
            kind.as_str()
        )));
    }
    let dsn = signal
        .database
        .as_ref()
        .or(database)
        .ok_or_else(|| DebeziumError::Config {
            source_id: source_id.to_owned(),
            field: "options.signal.database".into(),
            message: "a database DSN is needed to write signals (or set options.database)".into(),
        })?;
    let table = TableRef::parse(&signal.table).map_err(|m| DebeziumError::Config {
        source_id: source_id.to_owned(),
        field: "options.signal.table".into(),
        message: m,
    })?;
    let id = new_signal_id();
    let data = execute_snapshot_data(tables);
    postgres::insert_signal(source_id, dsn, &table, &id, &data).await?;
    Ok(id)
}

/// Makes sure the signaling table exists before the connector starts (`connect`): a
/// PostgreSQL connector with `publication.autocreate.mode=filtered` builds its publication
/// from the capture list at start, so a table created later never reaches it and its
/// signals are never seen. Creates it when `create_table` (the default), else checks it is
/// there. Other databases: nothing to do here (their signals are not written by cdc yet).
pub async fn prepare_table(
    source_id: &str,
    kind: DatabaseKind,
    signal: &SignalOptions,
    database: Option<&cdc_core::SecretString>,
) -> Result<()> {
    if kind != DatabaseKind::Postgres {
        return Ok(());
    }
    let dsn = signal
        .database
        .as_ref()
        .or(database)
        .ok_or_else(|| DebeziumError::Config {
            source_id: source_id.to_owned(),
            field: "options.signal.database".into(),
            message:
                "a database DSN is needed to prepare the signaling table (or set options.database)"
                    .into(),
        })?;
    let table = TableRef::parse(&signal.table).map_err(|m| DebeziumError::Config {
        source_id: source_id.to_owned(),
        field: "options.signal.table".into(),
        message: m,
    })?;
    postgres::prepare_table(source_id, dsn, &table, signal.create_table).await
}

#[cfg(feature = "postgres")]
mod postgres {
    use cdc_core::{SecretString, TableRef};
    use tracing::info;

    use crate::error::{DebeziumError, Result};

    fn quote_ident(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    fn qualified(table: &TableRef) -> String {
        format!(
            "{}.{}",
            quote_ident(table.schema.as_deref().unwrap_or("public")),
            quote_ident(&table.name)
        )
    }

    fn err(source_id: &str, what: &str, e: tokio_postgres::Error) -> DebeziumError {
        DebeziumError::Signal {
            source_id: source_id.to_owned(),
            // In the server's words (tokio-postgres's own text is "db error"); neither
            // holds the connection string.
            message: format!("{what}: {}", cdc_pg_tls::error_text(&e)),
        }
    }

    /// Runs `work` on a fresh connection, closed afterwards.
    async fn with_client<T>(
        source_id: &str,
        dsn: &SecretString,
        work: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T>,
    ) -> Result<T> {
        // Over TLS as the DSN's sslmode says (a server may take nothing else).
        let (client, conn_task) = cdc_pg_tls::connect(dsn.expose())
            .await
            .map_err(|e| err(source_id, &format!("cannot connect to {dsn}"), e))?;
        let result = work(&client).await;
        drop(client);
        let _ = conn_task.await;
        result
    }

    pub(super) async fn prepare_table(
        source_id: &str,
        dsn: &SecretString,
        table: &TableRef,
        create: bool,
    ) -> Result<()> {
        let q = qualified(table);
        with_client(source_id, dsn, async |client| {
            if create {
                client
                    .batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {q} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
                    ))
                    .await
                    .map_err(|e| err(source_id, "cannot create the signaling table", e))?;
                info!(source_id, table = q, "debezium: signaling table ready");
                return Ok(());
            }
            let row = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&q])
                .await
                .map_err(|e| err(source_id, "cannot check the signaling table", e))?;
            if row.get::<_, bool>(0) {
                Ok(())
            } else {
                Err(DebeziumError::Config {
                    source_id: source_id.to_owned(),
                    field: "options.signal.table".into(),
                    message: format!(
                        "{q} does not exist and options.signal.create_table is false: create it (id varchar(42) PRIMARY KEY, type varchar(32), data varchar(2048)) before the connector starts"
                    ),
                })
            }
        })
        .await
    }

    pub(super) async fn insert_signal(
        source_id: &str,
        dsn: &SecretString,
        table: &TableRef,
        id: &str,
        data: &str,
    ) -> Result<()> {
        let q = qualified(table);
        with_client(source_id, dsn, async |client| {
            // Not created here: a table created after the connector started is not in its
            // publication (see `prepare_table`, run at connect).
            client
                .execute(
                    &format!(
                        "INSERT INTO {q} (id, type, data) VALUES ($1, 'execute-snapshot', $2)"
                    ),
                    &[&id, &data],
                )
                .await
                .map_err(|e| {
                    err(
                        source_id,
                        "cannot insert the signal (the signaling table is prepared at connect)",
                        e,
                    )
                })?;
            info!(
                source_id,
                signal_id = id,
                data,
                "debezium: execute-snapshot signal written"
            );
            Ok(())
        })
        .await
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    use cdc_core::{SecretString, TableRef};

    use crate::error::{DebeziumError, Result};

    fn unsupported(source_id: &str) -> DebeziumError {
        DebeziumError::Unsupported {
            source_id: source_id.to_owned(),
            operation: "signaling table (options.signal)".into(),
            reason: "cdc-debezium was built without its `postgres` feature".into(),
        }
    }

    pub(super) async fn prepare_table(
        source_id: &str,
        _dsn: &SecretString,
        _table: &TableRef,
        _create: bool,
    ) -> Result<()> {
        Err(unsupported(source_id))
    }

    pub(super) async fn insert_signal(
        source_id: &str,
        _dsn: &SecretString,
        _table: &TableRef,
        _id: &str,
        _data: &str,
    ) -> Result<()> {
        Err(unsupported(source_id))
    }
}
