//! [`PostgresError`]: the one error type of this crate, and its conversion to
//! [`cdc_core::CdcError`] at the provider boundary.
//!
//! No variant ever holds a connection string or a password: errors name the target by its
//! redacted form (`postgres://user:***@host/db`) and fields by name.

use cdc_core::CdcError;

use crate::config::ConnParams;
use crate::config::dsn::{DEFAULT_CONNECT_TIMEOUT, MAX_CONNECT_TIMEOUT_SECS};
use crate::decode::DecodeError;

/// The provider name used in errors and statuses.
pub const PROVIDER: &str = "postgres";

/// `Result` with [`PostgresError`].
pub type Result<T, E = PostgresError> = std::result::Result<T, E>;

/// Everything that can go wrong in cdc-postgres.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// A config value is wrong; `field` names it (`connection`, `options.slot`, `tables[1]`).
    #[error("invalid config: {field}: {message}")]
    Config {
        /// The field.
        field: String,
        /// What is wrong, and what would be right.
        message: String,
    },

    /// The database is not set up for logical replication of the configured tables; the
    /// message says what is missing and how to fix it.
    #[error("pre-flight check failed: {message}")]
    Preflight {
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The server answered with an error, or the connection failed.
    #[error("{context}: {message}")]
    Database {
        /// What was being done (`connecting to postgres://app:***@db/shop`, `reading the slot`).
        context: String,
        /// The server's message (with SQLSTATE when there is one).
        message: String,
        /// The SQLSTATE code, when the server sent one.
        sqlstate: Option<String>,
        /// Whether trying again may succeed (connection loss, server starting up).
        retryable: bool,
    },

    /// Another session holds the replication slot.
    #[error(
        "replication slot {slot:?} is active for PID {pid} (another consumer, or a walsender that has not noticed its client died); waited {waited_secs} s. Stop the other consumer, or end it with SELECT pg_terminate_backend({pid})"
    )]
    SlotActive {
        /// The slot.
        slot: String,
        /// The PID of the session holding it (0 when the server did not say).
        pid: i64,
        /// How long we retried.
        waited_secs: u64,
    },

    /// The slot was invalidated (its WAL was removed): changes after its position are gone.
    #[error(
        "replication slot {slot:?} is invalidated (wal_status = lost): the WAL it needed was removed, so changes were lost. Drop the slot (SELECT pg_drop_replication_slot('{slot}')) and start again with snapshot: initial; consider max_slot_wal_keep_size and monitoring of retained WAL"
    )]
    SlotInvalidated {
        /// The slot.
        slot: String,
    },

    /// The slot disappeared while the source ran (dropped by someone else).
    #[error(
        "replication slot {slot:?} no longer exists (dropped outside cdc-rs); changes since its last position may be lost. Restart the source to create it again with a new snapshot"
    )]
    SlotMissing {
        /// The slot.
        slot: String,
    },

    /// A pgoutput message could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// The operation is not supported (yet).
    #[error("{operation} is not supported: {reason}")]
    Unsupported {
        /// The operation.
        operation: String,
        /// Why not, and what to do instead.
        reason: String,
    },
}

impl PostgresError {
    /// A config error.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A pre-flight error.
    pub fn preflight(message: impl Into<String>) -> Self {
        Self::Preflight {
            message: message.into(),
        }
    }

    /// A server or connection error of tokio-postgres, while doing `context`.
    pub fn sql(context: impl Into<String>, err: &tokio_postgres::Error) -> Self {
        let sqlstate = err.code().map(|c| c.code().to_owned());
        let message = match err.as_db_error() {
            Some(db) => {
                let mut m = format!("{} (SQLSTATE {})", db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    m.push_str(&format!("; detail: {detail}"));
                }
                if let Some(hint) = db.hint() {
                    m.push_str(&format!("; hint: {hint}"));
                }
                m
            }
            None => {
                // "error connecting to server: Connection refused (os error 111)"
                let mut m = err.to_string();
                let mut src = std::error::Error::source(err);
                while let Some(s) = src {
                    let text = s.to_string();
                    if !m.contains(&text) {
                        m.push_str(": ");
                        m.push_str(&text);
                    }
                    src = s.source();
                }
                m
            }
        };
        let retryable = match &sqlstate {
            None => err.is_closed() || err.as_db_error().is_none(),
            Some(code) => is_retryable_sqlstate(code),
        };
        Self::Database {
            context: context.into(),
            message,
            sqlstate,
            retryable,
        }
    }

    /// A connect to `conn` that did not finish within its `connect_timeout`; `steps` says
    /// what the limit covered. Retryable, as a lost connection is: a stuck pooler or a
    /// restarting load balancer may answer the next time. Names the address and the
    /// parameter; `conn` masks the password.
    pub fn connect_timed_out(context: impl Into<String>, conn: &ConnParams, steps: &str) -> Self {
        Self::Database {
            context: context.into(),
            message: format!(
                "{} did not complete the connection within {} s ({steps}); connect_timeout in the connection string sets this limit (1 to {MAX_CONNECT_TIMEOUT_SECS} seconds; default {} s)",
                conn.address(),
                conn.connect_timeout.as_secs(),
                DEFAULT_CONNECT_TIMEOUT.as_secs(),
            ),
            sqlstate: None,
            retryable: true,
        }
    }

    /// The SQLSTATE of a server error.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::Database { sqlstate, .. } => sqlstate.as_deref(),
            _ => None,
        }
    }

    /// Whether trying the same thing again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Database {
                retryable: true,
                ..
            }
        )
    }

    /// The error at the provider boundary, naming the source.
    pub fn into_cdc(self, source_id: &str) -> CdcError {
        match self {
            Self::Config { field, message } => CdcError::InvalidConfig {
                field: format!("{field} (source {source_id:?})"),
                message,
            },
            Self::Unsupported { operation, reason } => CdcError::Unsupported {
                source_id: source_id.to_owned(),
                provider: PROVIDER.to_owned(),
                operation,
                reason,
            },
            other => {
                let retryable = other.is_retryable();
                CdcError::Provider {
                    source_id: source_id.to_owned(),
                    provider: PROVIDER.to_owned(),
                    message: other.to_string(),
                    retryable,
                    source: Some(Box::new(other)),
                }
            }
        }
    }
}

/// SQLSTATE classes worth retrying: connection exceptions (08), insufficient resources (53:
/// too many connections, out of memory), operator intervention (57: admin shutdown, crash
/// shutdown, cannot connect now), and the slot being in use (55006) for a bounded time.
pub(crate) fn is_retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57")
        || code == "53300"
        || code == "53200"
        || code == "55006"
        || code == "40001"
}

/// The SQLSTATE inside a pgwire-replication server error text (`... (SQLSTATE 55006)`).
pub(crate) fn sqlstate_in(text: &str) -> Option<&str> {
    let start = text.rfind("(SQLSTATE ")? + "(SQLSTATE ".len();
    let code = text.get(start..start + 5)?;
    code.chars()
        .all(|c| c.is_ascii_alphanumeric())
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlstate_in_replication_errors() {
        assert_eq!(
            sqlstate_in("replication slot \"s\" is active for PID 42 (SQLSTATE 55006)"),
            Some("55006")
        );
        assert_eq!(sqlstate_in("no code here"), None);
        assert_eq!(sqlstate_in("(SQLSTATE 12"), None);
    }

    #[test]
    fn config_errors_name_the_field_and_source() {
        let e = PostgresError::config("options.slot", "too long").into_cdc("shop");
        let text = e.to_string();
        assert!(
            text.contains("options.slot") && text.contains("shop"),
            "{text}"
        );
    }
}
