//! The configuration of a PostgreSQL source: [`PostgresSource`], resolved from a
//! [`cdc_core::SourceConfig`] (connection string, tables, typed options).

pub mod dsn;
pub mod options;
pub mod tls;

use cdc_core::{Name, SourceConfig, TableRef};

pub use dsn::ConnParams;
pub use options::{PostgresOptions, SnapshotMode};
pub use tls::{SslMode, TlsOptions, TlsSettings};

use crate::error::{PostgresError, Result};

/// A source's config, checked and resolved: what `connect` works from.
#[derive(Clone, Debug)]
pub struct PostgresSource {
    /// The source id.
    pub source_id: Name,
    /// Where to connect (password masked in `Debug`).
    pub conn: ConnParams,
    /// TLS settings of both connections.
    pub tls: TlsSettings,
    /// The options.
    pub options: PostgresOptions,
    /// The configured tables; empty: every table (`FOR ALL TABLES`).
    pub tables: Vec<TableRef>,
    /// The replication slot.
    pub slot: String,
    /// The publication.
    pub publication: String,
}

impl PostgresSource {
    /// Checks and resolves `config`; errors name the field.
    pub fn from_config(config: &SourceConfig) -> Result<Self> {
        let options = PostgresOptions::from_map(&config.options)?;
        let conn = ConnParams::parse(&config.connection)?;
        let tls = TlsSettings::resolve(&conn, &options.tls)?;
        let tables = config
            .table_refs()
            .map_err(|e| PostgresError::config("tables", e.to_string()))?;
        for (i, t) in tables.iter().enumerate() {
            let too_long = t.name.len() > 63 || t.schema.as_ref().is_some_and(|s| s.len() > 63);
            if too_long || t.name.contains('\0') {
                return Err(PostgresError::config(
                    format!("tables[{i}]"),
                    "PostgreSQL names are at most 63 bytes",
                ));
            }
        }
        let slot = options
            .slot
            .clone()
            .unwrap_or_else(|| options::default_name(&config.source_id));
        let publication = options
            .publication
            .clone()
            .unwrap_or_else(|| options::default_name(&config.source_id));
        Ok(Self {
            source_id: config.source_id.as_str().into(),
            conn,
            tls,
            options,
            tables,
            slot,
            publication,
        })
    }

    /// Whether the publication name is the one cdc-rs derives (so cdc-rs may create, extend
    /// and drop it), rather than one named in the options.
    pub fn owns_publication(&self) -> bool {
        self.options.publication.is_none()
    }
}
