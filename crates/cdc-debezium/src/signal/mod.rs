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
    postgres::insert_signal(source_id, dsn, &table, signal.create_table, &id, &data).await?;
    Ok(id)
}

#[cfg(feature = "postgres")]
mod postgres {
    use cdc_core::{SecretString, TableRef};
    use tracing::info;

    use crate::error::{DebeziumError, Result};

    fn quote_ident(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    pub(super) async fn insert_signal(
        source_id: &str,
        dsn: &SecretString,
        table: &TableRef,
        create: bool,
        id: &str,
        data: &str,
    ) -> Result<()> {
        let err = |what: &str, e: tokio_postgres::Error| DebeziumError::Signal {
            source_id: source_id.to_owned(),
            // tokio-postgres errors do not contain the connection string.
            message: format!("{what}: {e}"),
        };
        let (client, conn) = tokio_postgres::connect(dsn.expose(), tokio_postgres::NoTls)
            .await
            .map_err(|e| err(&format!("cannot connect to {dsn}"), e))?;
        let conn_task = tokio::spawn(conn);
        let qualified = format!(
            "{}.{}",
            quote_ident(table.schema.as_deref().unwrap_or("public")),
            quote_ident(&table.name)
        );
        let result = async {
            if create {
                client
                    .batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {qualified} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
                    ))
                    .await
                    .map_err(|e| err("cannot create the signaling table", e))?;
            }
            client
                .execute(
                    &format!("INSERT INTO {qualified} (id, type, data) VALUES ($1, 'execute-snapshot', $2)"),
                    &[&id, &data],
                )
                .await
                .map_err(|e| err("cannot insert the signal", e))?;
            info!(source_id, signal_id = id, data, "debezium: execute-snapshot signal written");
            Ok(())
        }
        .await;
        drop(client);
        let _ = conn_task.await;
        result
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    use cdc_core::{SecretString, TableRef};

    use crate::error::{DebeziumError, Result};

    pub(super) async fn insert_signal(
        source_id: &str,
        _dsn: &SecretString,
        _table: &TableRef,
        _create: bool,
        _id: &str,
        _data: &str,
    ) -> Result<()> {
        Err(DebeziumError::Unsupported {
            source_id: source_id.to_owned(),
            operation: "snapshot of chosen tables (signal)".into(),
            reason: "cdc-debezium was built without its `postgres` feature".into(),
        })
    }
}
