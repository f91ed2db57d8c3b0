//! The one error type of cdc-testkit.

use std::path::PathBuf;
use std::process::ExitStatus;

/// Result alias for cdc-testkit.
pub type Result<T, E = TestkitError> = std::result::Result<T, E>;

/// Everything that can go wrong while setting up or tearing down a test service.
///
/// Messages say what to install or change, so a failing suite explains itself in CI logs.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// No `initdb`/`postgres` pair was found anywhere we looked.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found; searched: {searched}. \
         Install them: on Debian/Ubuntu `apt-get install postgresql` (server binaries land in \
         /usr/lib/postgresql/<version>/bin), or set CDC_PG_BINDIR to the directory that holds \
         initdb and postgres"
    )]
    BinariesNotFound {
        /// Every place that was searched, in order.
        searched: String,
    },

    /// `CDC_PG_BINDIR` was set but does not point at the server binaries.
    #[error(
        "CDC_PG_BINDIR={dir} does not contain an executable `{missing}`; point it at the \
         directory holding initdb and postgres (e.g. /usr/lib/postgresql/15/bin) or unset it"
    )]
    BadBinDir {
        /// The value of CDC_PG_BINDIR.
        dir: PathBuf,
        /// The binary that is missing.
        missing: &'static str,
    },

    /// Running as root, but there is no `postgres` system user to drop privileges to.
    #[error(
        "running as root, and initdb/postgres refuse to run as root, but there is no `postgres` \
         system user to run them as: install the Debian package `postgresql` (it creates the \
         user) or create one with `useradd --system --no-create-home postgres`"
    )]
    NoPostgresUser,

    /// A builder argument cannot be used.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which argument, e.g. `setting name "a b"`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An I/O operation (spawning, creating directories, signalling) failed.
    #[error("{action}: {source}")]
    Io {
        /// What we were doing.
        action: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// `initdb` exited with a failure.
    #[error("initdb failed ({status}) for {data_dir}:\n{output}")]
    Initdb {
        /// Its exit status.
        status: ExitStatus,
        /// The data directory it was initializing.
        data_dir: PathBuf,
        /// Its combined stdout and stderr.
        output: String,
    },

    /// `postgres` exited or never accepted connections.
    #[error(
        "PostgreSQL server did not start: {reason}\n--- {log_path} (last lines) ---\n{log_tail}"
    )]
    StartFailed {
        /// Why we gave up.
        reason: String,
        /// The server log file.
        log_path: PathBuf,
        /// The last lines of the server log.
        log_tail: String,
    },

    /// A query against the test cluster failed.
    #[error("PostgreSQL test cluster query failed ({context}): {message}")]
    Postgres {
        /// What the query was for.
        context: String,
        /// The server's error (severity, SQLSTATE, message, detail) or the client error.
        message: String,
        /// The client error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A logical decoding output plugin is not installed in the server.
    #[error(
        "PostgreSQL {major} ({bindir}): logical decoding output plugin `{plugin}` is not \
         installed; install the Debian package `{package}` (apt-get install {package})"
    )]
    PluginMissing {
        /// The plugin name, e.g. `wal2json`.
        plugin: String,
        /// The Debian package that provides it, e.g. `postgresql-15-wal2json`.
        package: String,
        /// The server's major version.
        major: u32,
        /// The server's binary directory.
        bindir: PathBuf,
    },

    /// The server refuses the output plugin because `output_plugin_libraries` omits it.
    #[error(
        "output plugin `{plugin}` is installed but not allowed by the server setting \
         output_plugin_libraries; start the cluster with \
         PgClusterBuilder::output_plugin(\"{plugin}\")"
    )]
    PluginNotAllowed {
        /// The plugin name.
        plugin: String,
    },

    /// An extension is not available to `CREATE EXTENSION`.
    #[error(
        "PostgreSQL {major} ({bindir}): extension `{extension}` is not available; install the \
         Debian package `{package}` (apt-get install {package})"
    )]
    ExtensionMissing {
        /// The extension name.
        extension: String,
        /// The Debian package that most likely provides it.
        package: String,
        /// The server's major version.
        major: u32,
        /// The server's binary directory.
        bindir: PathBuf,
    },
}

impl TestkitError {
    /// Wraps an I/O error with a description of what was being done.
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }

    /// Wraps a tokio-postgres error with what the query was for.
    pub(crate) fn pg(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        // tokio-postgres' Display says only "db error"; the server's words are in the DbError.
        let message = match source.as_db_error() {
            Some(db) => {
                let mut message =
                    format!("{} {}: {}", db.severity(), db.code().code(), db.message());
                if let Some(detail) = db.detail() {
                    message.push_str(&format!(" ({detail})"));
                }
                message
            }
            None => {
                let mut message = source.to_string();
                let mut cause = std::error::Error::source(&source);
                while let Some(err) = cause {
                    message.push_str(&format!(": {err}"));
                    cause = err.source();
                }
                message
            }
        };
        Self::Postgres {
            context: context.into(),
            message,
            source,
        }
    }
}
