//! Ordinary SQL connections (catalogs, set-up, COPY, lag queries) with the session pinned so
//! that values print unambiguously.

use tokio_postgres::{Client, NoTls};

use crate::config::{PostgresSource, SslMode};
use crate::error::{PostgresError, Result};

/// Settings pinned on every session (SQL and replication): ISO dates, the `postgres`
/// interval style, shortest-exact floats, UTC, hex bytea, and standard-conforming string
/// literals (the SQL we generate quotes values from the user's tables, see
/// [`crate::sql::quote::literal`]; a role's `standard_conforming_strings = off` must not
/// change what it means).
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("datestyle", "ISO"),
    ("intervalstyle", "postgres"),
    ("extra_float_digits", "3"),
    ("timezone", "UTC"),
    ("bytea_output", "hex"),
    ("standard_conforming_strings", "on"),
];

/// The startup `options` parameter that applies [`SESSION_SETTINGS`].
pub fn session_options() -> String {
    SESSION_SETTINGS
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `application_name` of our sessions.
pub fn application_name(src: &PostgresSource) -> String {
    src.options
        .application_name
        .clone()
        .or_else(|| src.conn.application_name.clone())
        .unwrap_or_else(|| "cdc-rs".to_owned())
}

/// The tokio-postgres config of a source.
pub fn config(src: &PostgresSource) -> tokio_postgres::Config {
    let c = &src.conn;
    let mut cfg = tokio_postgres::Config::new();
    if c.is_unix_socket() {
        cfg.host_path(&c.host);
    } else {
        cfg.host(&c.host);
    }
    cfg.port(c.port)
        .user(&c.user)
        .dbname(&c.dbname)
        .application_name(application_name(src))
        .options(session_options())
        .ssl_mode(match src.tls.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    if let Some(pw) = &c.password {
        cfg.password(pw.expose());
    }
    if let Some(t) = c.connect_timeout {
        cfg.connect_timeout(t);
    }
    cfg
}

/// Connects; the connection runs on a task of the current runtime until the client is
/// dropped. Errors name the target with the password masked.
pub async fn connect(src: &PostgresSource) -> Result<Client> {
    let cfg = config(src);
    let context = || format!("connecting to {}", src.conn.display());
    let tls = super::tls::client_config(&src.tls)?;
    let client = match tls {
        None => {
            let (client, conn) = cfg
                .connect(NoTls)
                .await
                .map_err(|e| PostgresError::sql(context(), &e))?;
            spawn_connection(conn);
            client
        }
        Some(tls) => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, conn) = cfg
                .connect(tls)
                .await
                .map_err(|e| PostgresError::sql(context(), &e))?;
            spawn_connection(conn);
            client
        }
    };
    Ok(client)
}

fn spawn_connection<F>(conn: F)
where
    F: std::future::Future<Output = std::result::Result<(), tokio_postgres::Error>>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "postgres: SQL connection ended");
        }
    });
}
