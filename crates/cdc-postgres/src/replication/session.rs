//! The replication session (pgwire-replication): its config from the source, and its errors
//! as [`PostgresError`]s.

use std::time::Duration;

use pgwire_replication::{
    Lsn, PgWireError, ReplicationClient, ReplicationConfig, SslMode as WireSslMode, TlsConfig,
};
use tokio::time::{error::Elapsed, timeout};

use crate::config::{PostgresSource, SslMode};
use crate::error::{PostgresError, Result, sqlstate_in};
use crate::sql::connect::{application_name, session_options};
use crate::sql::quote::ident;

/// The pgwire-replication config of a source, starting at `start` (`0/0`: the slot's
/// confirmed position) with `start` also as the position reported until the first
/// acknowledgement.
pub fn config(src: &PostgresSource, start: Lsn) -> ReplicationConfig {
    let c = &src.conn;
    let password = c
        .password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .unwrap_or_default();
    let mut tls = TlsConfig {
        mode: match src.tls.mode {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Prefer => WireSslMode::Prefer,
            SslMode::Require => WireSslMode::Require,
            SslMode::VerifyCa => WireSslMode::VerifyCa,
            SslMode::VerifyFull => WireSslMode::VerifyFull,
        },
        ca_pem_path: src.tls.ca_file.clone(),
        sni_hostname: src.tls.server_name.clone(),
        ..TlsConfig::default()
    };
    if let Some((cert, key)) = &src.tls.client_cert {
        tls = tls.with_client_cert(cert.clone(), key.clone());
    }
    // The publication name is sent as an identifier list: quoting keeps its case and commas.
    let mut cfg = ReplicationConfig::new(
        c.host.clone(),
        c.user.clone(),
        password,
        c.dbname.clone(),
        src.slot.clone(),
        ident(&src.publication),
    )
    .with_port(c.port)
    .with_tls(tls)
    .with_start_lsn(start)
    .with_ack_lsn(start)
    .with_status_interval(Duration::from_millis(src.options.status_interval_ms))
    .with_wakeup_interval(Duration::from_millis(src.options.status_interval_ms))
    .with_buffer_size(src.options.read_buffer as usize)
    .with_options(session_options())
    .with_application_name(application_name(src));
    if c.is_unix_socket() {
        cfg.tls = TlsConfig::disabled();
    }
    cfg
}

/// A replication session after authentication, before `START_REPLICATION`: replication
/// commands (`CREATE_REPLICATION_SLOT`) run on it. Authentication is confirmed within the
/// source's `connect_timeout` (see [`settle`]).
pub async fn connect_gated(src: &PostgresSource) -> Result<ReplicationClient> {
    const CONTEXT: &str = "opening a replication session";
    let mut client = ReplicationClient::connect_gated(config(src, Lsn::ZERO))
        .await
        .map_err(|e| wire_error(src, CONTEXT, e))?;
    // The session reports nothing once it is authenticated: a first, cheap command
    // (IDENTIFY_SYSTEM answers at once) shows that it is, so that the wait for it is bounded
    // and the caller's CREATE_REPLICATION_SLOT, which may rightly wait long for running
    // transactions, is not.
    let outcome = timeout(src.conn.connect_timeout, client.identify_system()).await;
    settle(src, CONTEXT, &mut client, outcome)?;
    Ok(client)
}

/// A streaming session from the slot's confirmed position `start`, once the server has
/// accepted `START_REPLICATION`, within the source's `connect_timeout` (see [`settle`]).
pub async fn start_streaming(src: &PostgresSource, start: Lsn) -> Result<ReplicationClient> {
    const CONTEXT: &str = "starting replication";
    let mut client = ReplicationClient::connect(config(src, start))
        .await
        .map_err(|e| wire_error(src, CONTEXT, e))?;
    let outcome = timeout(src.conn.connect_timeout, client.wait_started()).await;
    settle(src, CONTEXT, &mut client, outcome)?;
    Ok(client)
}

/// The steps a replication connect's time-out covers.
const SESSION_STEPS: &str =
    "name lookup, TCP connect, TLS, startup, authentication and the first replication command";

/// The outcome of a new session's first step, waited for within the source's
/// `connect_timeout`.
///
/// pgwire-replication has no connect timeout of its own: `ReplicationClient::connect` only
/// spawns the worker, which then waits without limit for the TCP connect, the TLS handshake
/// and the startup/authentication exchange. On a time-out the worker is aborted: blocked on
/// a server that says nothing, it would never see the stop request that dropping sends.
fn settle<T>(
    src: &PostgresSource,
    context: &str,
    client: &mut ReplicationClient,
    outcome: std::result::Result<std::result::Result<T, PgWireError>, Elapsed>,
) -> Result<T> {
    match outcome {
        Ok(done) => done.map_err(|e| wire_error(src, context, e)),
        Err(_) => {
            client.abort();
            Err(PostgresError::connect_timed_out(
                format!("{context} ({})", src.conn.display()),
                &src.conn,
                SESSION_STEPS,
            ))
        }
    }
}

/// A pgwire-replication error as ours: server errors keep their SQLSTATE; the slot's own
/// failure modes become their own variants.
pub fn wire_error(src: &PostgresSource, context: &str, e: PgWireError) -> PostgresError {
    let text = e.to_string();
    let sqlstate = sqlstate_in(&text).map(str::to_owned);
    match sqlstate.as_deref() {
        Some("42704") if text.contains("replication slot") => {
            return PostgresError::SlotMissing {
                slot: src.slot.clone(),
            };
        }
        Some("55000")
            if text.contains("can no longer get changes") || text.contains("invalidated") =>
        {
            return PostgresError::SlotInvalidated {
                slot: src.slot.clone(),
            };
        }
        _ => {}
    }
    let retryable = match &e {
        PgWireError::Io(_) | PgWireError::Task(_) | PgWireError::Protocol(_) => true,
        PgWireError::Internal(m) => m.contains("already joined") || m.contains("ended"),
        PgWireError::Server(_) => sqlstate
            .as_deref()
            .is_some_and(crate::error::is_retryable_sqlstate),
        _ => false,
    };
    let mut message = text;
    if sqlstate.as_deref() == Some("53300") {
        message.push_str(
            "; every walsender is in use: raise max_wal_senders (and restart the server), or stop another replication client",
        );
    }
    if matches!(sqlstate.as_deref(), Some("22021" | "22P05")) {
        // pgwire-replication asks for UTF-8 (`client_encoding`), which the walsender converts
        // every value to; a value it cannot convert ends the session at the same change
        // every time, and its own message does not say why that happens.
        message.push_str(
            "; the server cannot send a change as UTF-8 (the replication session's client_encoding): the database's encoding is probably SQL_ASCII and a row holds bytes that are not UTF-8 (or a character has no UTF-8 form). Reconnecting meets the same change again: advance the slot past it (pg_replication_slot_advance, which loses it), or drop the slot and take a new snapshot once the data is valid",
        );
    }
    if matches!(e, PgWireError::Auth(_)) || sqlstate.as_deref() == Some("28P01") {
        message.push_str("; check the user and password of the connection");
    }
    PostgresError::Database {
        context: format!("{context} ({})", src.conn.display()),
        message,
        sqlstate,
        retryable,
    }
}

/// The PID in `replication slot "s" is active for PID 1234`.
pub fn active_pid(message: &str) -> Option<i64> {
    let rest = message.split("active for PID ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pid() {
        assert_eq!(
            active_pid("replication slot \"s\" is active for PID 4242 (SQLSTATE 55006)"),
            Some(4242)
        );
        assert_eq!(active_pid("nothing"), None);
    }
}
