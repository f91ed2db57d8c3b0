//! Ordinary SQL connections (catalogs, set-up, COPY, lag queries) with the session pinned so
//! that values print unambiguously.

use tokio_postgres::{Client, NoTls};

use crate::config::{PostgresSource, SslMode};
use crate::error::{PostgresError, Result};

/// Settings pinned on every session (SQL and replication): ISO dates, the `postgres`
/// interval style, shortest-exact floats, UTC, hex bytea, and standard-conforming string
/// literals (the SQL we generate quotes values from the user's tables, see
/// [`crate::sql::quote::literal`]; a role's `standard_conforming_strings = off` must not
/// change what it means). `lc_monetary` is left to the server: `money` is an integer count
/// of the locale's minor unit, so another locale would print a different amount, not just
/// another format (snapshot and stream run as the same role, so they print it alike).
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("datestyle", "ISO"),
    ("intervalstyle", "postgres"),
    ("extra_float_digits", "3"),
    ("timezone", "UTC"),
    ("bytea_output", "hex"),
    ("standard_conforming_strings", "on"),
];

/// The `search_path` of every session (SQL and replication): the catalog only. A role's or
/// database's `search_path` may list a schema before `pg_catalog` (or a schema whose
/// functions match our arguments better than the built-ins do), and its tables, functions
/// and operators would then replace the catalog's in our SQL; with `pg_catalog` alone the
/// SQL means what it says. It also makes `regclass` & co. print the same (qualified) names
/// in the snapshot and the stream. Names of user objects in our SQL are always qualified;
/// configured tables without a schema are looked up along the role's own path
/// ([`user_schemas`]). Kept apart from [`SESSION_SETTINGS`]: `SET search_path = '...'` of a
/// quoted list would name one schema.
pub const SEARCH_PATH: &str = "pg_catalog,pg_temp";

/// The startup `options` parameter that applies [`SESSION_SETTINGS`] and [`SEARCH_PATH`].
pub fn session_options() -> String {
    let mut options: Vec<String> = SESSION_SETTINGS
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect();
    options.push(format!("-c search_path={SEARCH_PATH}"));
    options.join(" ")
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
    let mut cfg = role_config(src);
    cfg.options(session_options());
    cfg
}

/// [`config`] without the pinned settings: the session the role gets by itself.
fn role_config(src: &PostgresSource) -> tokio_postgres::Config {
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
    // No `cfg.connect_timeout`: tokio-postgres applies it to each TCP connect only, while its
    // name lookup, TLS handshake and startup/authentication exchange wait as long as the
    // server lets them. [`connect_with`] bounds the whole connect instead; an equal timer on
    // the TCP step alone would only race that one with an error not naming the parameter.
    cfg
}

/// Connects; the connection runs on a task of the current runtime until the client is
/// dropped. The whole connect is bounded by the source's `connect_timeout` (a retryable error
/// naming the address and the parameter). Errors name the target with the password masked.
pub async fn connect(src: &PostgresSource) -> Result<Client> {
    connect_with(src, config(src)).await
}

/// The schemas a name without a schema is looked up in by the role's own sessions (its
/// `search_path`, as `current_schemas(false)` expands it), read on a session of its own
/// that keeps the role's settings: ours pin [`SEARCH_PATH`].
pub async fn user_schemas(src: &PostgresSource) -> Result<Vec<String>> {
    let client = connect_with(src, role_config(src)).await?;
    // Only a qualified function call: nothing here can be shadowed by the path it reads.
    let row = client
        .query_one("select pg_catalog.current_schemas(false)", &[])
        .await
        .map_err(|e| PostgresError::sql("reading the role's search_path", &e))?;
    row.try_get(0)
        .map_err(|e| PostgresError::sql("reading the role's search_path", &e))
}

async fn connect_with(src: &PostgresSource, cfg: tokio_postgres::Config) -> Result<Client> {
    let context = || format!("connecting to {}", src.conn.display());
    let tls = super::tls::client_config(&src.tls)?;
    let connecting = async {
        match tls {
            None => {
                let (client, conn) = cfg.connect(NoTls).await?;
                spawn_connection(conn);
                Ok::<_, tokio_postgres::Error>(client)
            }
            Some(tls) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                let (client, conn) = cfg.connect(tls).await?;
                spawn_connection(conn);
                Ok(client)
            }
        }
    };
    // The DSN's connect_timeout (or the default) over all of it: a server that accepts the
    // TCP connection and then says nothing must not hold a connect, a status or a snapshot
    // worker forever. Dropping the future on time-out closes the socket.
    match tokio::time::timeout(src.conn.connect_timeout, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(PostgresError::sql(context(), &e)),
        Err(_) => Err(PostgresError::connect_timed_out(
            context(),
            &src.conn,
            "name lookup, TCP connect, TLS, startup and authentication",
        )),
    }
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
