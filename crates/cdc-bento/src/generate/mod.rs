//! From a source config to a complete Bento stream config: the build step of the provider.
//!
//! [`generate`] dispatches on `source_type` and the flavor:
//!
//! | source_type | flavor `bento` | flavor `redpanda_connect` |
//! |---|---|---|
//! | `postgres` | `generate` clock → `sql_raw` reading a wal2json slot (`pg_logical_slot_peek_changes` when the provider runs Bento, `..._get_changes` otherwise) → split → map | `postgres_cdc` |
//! | `mysql` | error: Bento has no binlog input | `mysql_cdc` |
//! | `dynamodb` | `aws_kinesis` on the table's Kinesis data stream | same |
//! | `kafka` | `kafka_franz` on Debezium topics | same |

mod dynamodb;
mod kafka;
pub(crate) mod mapping;
mod postgres;
mod redpanda;

use cdc_core::{SecretString, SourceConfig};

use crate::error::BentoError;
use crate::options::{BentoOptions, Flavor, OutputOptions, validate_go_duration};
use crate::sql::{ChangesQuery, PgTable, SlotName, SlotRead};
use crate::stream::{
    HttpClientOutput, HttpSection, LoggerSection, NatsOutput, Output, StdoutOutput, StreamConfig,
};

pub use mapping::NormalizedEvent;

/// The source-level inputs of generation (the parts of `SourceConfig` it reads).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// The source id.
    pub source_id: String,
    /// `postgres`, `mysql`, `dynamodb`, `kafka`.
    pub source_type: String,
    /// The DSN (PostgreSQL, MySQL) or the brokers (Kafka).
    pub connection: SecretString,
    /// Configured tables, `name` or `schema.name`.
    pub tables: Vec<String>,
    /// How the PostgreSQL stream reads its slot: [`SlotRead::Consume`] (the default, for a
    /// stream somebody else runs) or [`SlotRead::Peek`] (the provider runs Bento and
    /// advances the slot once the handlers succeeded).
    pub slot_read: SlotRead,
}

impl SourceSpec {
    /// The spec of a `SourceConfig`.
    pub fn from_config(config: &SourceConfig) -> Self {
        Self {
            source_id: config.source_id.clone(),
            source_type: config.source_type.clone(),
            connection: config.connection.clone(),
            tables: config.tables.clone(),
            slot_read: SlotRead::Consume,
        }
    }

    pub(crate) fn invalid(&self, field: &str, message: impl Into<String>) -> BentoError {
        BentoError::invalid(&self.source_id, field, message)
    }

    /// The tables, parsed and validated for PostgreSQL; errors name `tables[i]`.
    pub(crate) fn pg_tables(&self) -> Result<Vec<PgTable>, BentoError> {
        self.tables
            .iter()
            .enumerate()
            .map(|(i, t)| PgTable::parse(t).map_err(|m| self.invalid(&format!("tables[{i}]"), m)))
            .collect()
    }

    pub(crate) fn require_connection(&self, what: &str) -> Result<&str, BentoError> {
        let dsn = self.connection.expose();
        if dsn.trim().is_empty() {
            return Err(self.invalid("connection", format!("{what} is required")));
        }
        if dsn.chars().any(char::is_control) {
            return Err(self.invalid("connection", "contains a control character"));
        }
        Ok(dsn)
    }
}

/// What generation produced: the stream config and, for the PostgreSQL polling stream, the
/// slot and its SQL.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedStream {
    /// The Bento stream config.
    pub config: StreamConfig,
    /// The wal2json slot setup, for `source_type: postgres` on Bento.
    pub postgres: Option<PostgresSlot>,
}

/// The wal2json slot of a PostgreSQL polling stream.
#[derive(Clone, Debug, PartialEq)]
pub struct PostgresSlot {
    /// The slot.
    pub slot: SlotName,
    /// Creates the slot unless it exists (see [`crate::sql::create_slot_sql`]).
    pub create_slot_sql: String,
    /// The read that the `sql_raw` processor runs.
    pub changes: ChangesQuery,
}

/// Builds the stream config of a source. (A snapshot regenerates it from a spec whose
/// `tables` are the snapshot's tables.)
pub fn generate(spec: &SourceSpec, options: &BentoOptions) -> Result<GeneratedStream, BentoError> {
    options
        .check_ranges()
        .map_err(|(field, message)| spec.invalid(&field, message))?;
    let kind = spec.source_type.trim().to_ascii_lowercase();
    match (kind.as_str(), options.flavor) {
        ("postgres" | "postgresql", Flavor::Bento) => postgres::generate(spec, options),
        ("postgres" | "postgresql", Flavor::RedpandaConnect) => {
            redpanda::generate_postgres(spec, options)
        }
        ("mysql" | "mariadb", Flavor::Bento) => Err(BentoError::UnsupportedSource {
            source_id: spec.source_id.clone(),
            source_type: spec.source_type.clone(),
            message: "Bento has no MySQL binlog input (and polling information_schema is not change \
                      data capture). Use the `debezium` or `dms` provider for MySQL, or set \
                      `options.flavor: redpanda_connect` to run Redpanda Connect's `mysql_cdc` input."
                .into(),
        }),
        ("mysql" | "mariadb", Flavor::RedpandaConnect) => redpanda::generate_mysql(spec, options),
        ("dynamodb", _) => dynamodb::generate(spec, options),
        ("kafka", _) => kafka::generate(spec, options),
        _ => Err(BentoError::UnsupportedSource {
            source_id: spec.source_id.clone(),
            source_type: spec.source_type.clone(),
            message: "valid source types for the bento provider: postgres, mysql \
                      (flavor redpanda_connect), dynamodb, kafka"
                .into(),
        }),
    }
}

/// The sections every stream shares: HTTP server, logger, output.
pub(crate) fn common_sections(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<(HttpSection, LoggerSection, Output), BentoError> {
    let http = match &options.http_address {
        None => HttpSection {
            enabled: false,
            address: None,
        },
        Some(addr) => {
            check_plain(spec, "options.http_address", addr)?;
            HttpSection {
                enabled: true,
                address: Some(addr.clone()),
            }
        }
    };
    let logger = LoggerSection {
        level: "INFO".into(),
        format: "logfmt".into(),
    };
    let output = match &options.output {
        OutputOptions::Stdout => Output::Stdout(StdoutOutput {
            codec: "lines".into(),
        }),
        OutputOptions::HttpClient { url, verb, headers } => {
            check_plain(spec, "options.output.url", url)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(spec.invalid(
                    "options.output.url",
                    format!(
                        "{:?} is not an http:// or https:// URL",
                        cdc_core::secret::redact(url)
                    ),
                ));
            }
            check_plain(spec, "options.output.verb", verb)?;
            for (k, v) in headers {
                check_plain(spec, "options.output.headers", k)?;
                check_plain(spec, "options.output.headers", v)?;
            }
            Output::HttpClient(HttpClientOutput {
                url: url.clone(),
                verb: verb.to_ascii_uppercase(),
                headers: headers.clone(),
            })
        }
        OutputOptions::Nats { urls, subject } => {
            if urls.is_empty() {
                return Err(
                    spec.invalid("options.output.urls", "at least one NATS URL is required")
                );
            }
            for u in urls {
                check_plain(spec, "options.output.urls", u)?;
            }
            check_plain(spec, "options.output.subject", subject)?;
            if subject.is_empty() || subject.contains(char::is_whitespace) {
                return Err(spec.invalid(
                    "options.output.subject",
                    format!("{subject:?} is not a NATS subject"),
                ));
            }
            Output::Nats(NatsOutput {
                urls: urls.clone(),
                subject: subject.clone(),
            })
        }
    };
    Ok((http, logger, output))
}

/// Rejects values that cannot safely be a Bento config string: control characters and `${`
/// (Bento expands `${VAR}` from the environment). The message gives the position, never the
/// value: the field may hold a credential (a URL's userinfo, a header).
pub(crate) fn check_plain(spec: &SourceSpec, field: &str, value: &str) -> Result<(), BentoError> {
    if let Some(pos) = value.chars().position(char::is_control) {
        return Err(spec.invalid(
            field,
            format!("contains a control character (character {})", pos + 1),
        ));
    }
    if let Some(pos) = value.find("${") {
        let pos = value[..pos].chars().count() + 1;
        return Err(spec.invalid(
            field,
            format!(
                "contains \"${{\" (character {pos}), which Bento would expand as an environment variable"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_interval(spec: &SourceSpec, options: &BentoOptions) -> Result<(), BentoError> {
    validate_go_duration(&options.poll_interval)
        .map_err(|m| spec.invalid("options.poll_interval", m))
}
