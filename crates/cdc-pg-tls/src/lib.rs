//! TLS for the PostgreSQL SQL sessions cdc-rs providers open beside their engines (the
//! Debezium signal table and slot, Bento's slot creation and advance), with libpq's
//! `sslmode` semantics over rustls.
//!
//! A connection string's `sslmode` is honoured as libpq honours it: `disable` never
//! encrypts, `prefer` (the default) encrypts when the server offers it, `require` encrypts or
//! fails; neither checks the server's certificate, as libpq does not without `verify-ca` /
//! `verify-full`. Connecting without TLS support at all (`NoTls`) made `prefer` plain text and
//! `require` an error, so a server that accepts only TLS (`hostssl`, Amazon RDS's
//! `rds.force_ssl`, the default from PostgreSQL 15 there) could not be reached.
//!
//! Its own crate, apart from the providers, because several of them open such sessions and
//! the certificate handling must be the same in each.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::task::JoinHandle;
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The ring provider, named explicitly: rustls cannot pick a process default when more than
/// one provider is compiled in (other dependencies bring aws-lc-rs).
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls config that encrypts without authenticating the server (libpq's `prefer` and
/// `require`), with no client certificate.
pub fn encrypt_only() -> ClientConfig {
    let provider = crypto_provider();
    ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        // The ring provider supports the default versions; this cannot fail.
        .expect("rustls: ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        .with_no_client_auth()
}

/// Connects with `dsn` (a URL or `key=value` pairs, as tokio-postgres reads them), over TLS
/// as its `sslmode` says. The connection runs on a task of the current runtime until the
/// client is dropped; the task's handle is returned so that a caller may wait for it to close.
///
/// The error is tokio-postgres's, which never holds the connection string.
pub async fn connect(dsn: &str) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let tls = MakeRustlsConnect::new(encrypt_only());
    let (client, conn) = tokio_postgres::connect(dsn, tls).await?;
    // An error of the connection surfaces on the client's next call.
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok((client, task))
}

/// `prefer` / `require`: encryption without authentication of the server, as libpq does.
#[derive(Debug)]
pub struct NoVerification(pub Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What went wrong, in the server's words when it answered (its message, detail and hint:
/// tokio-postgres's own `Display` says only "db error" then), else the client's error and its
/// causes. Neither holds the connection string. Modes beyond `require` (`verify-ca`,
/// `verify-full`) are not read here: such a string is refused naming `sslmode`.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_owned();
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        // The cause too: a connection string tokio-postgres cannot read says only "invalid
        // connection string", its cause which option (names, never values).
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_encrypts_without_a_client_certificate() {
        let config = encrypt_only();
        assert!(!config.client_auth_cert_resolver.has_certs());
    }

    #[tokio::test]
    async fn errors_name_the_cause_and_never_the_connection_string() {
        // Nothing listens on port 1; a mode tokio-postgres does not know is refused before.
        for (dsn, want) in [
            (
                "postgres://u:hunter2@127.0.0.1:1/db?sslmode=require",
                "connect",
            ),
            (
                "postgres://u:hunter2@127.0.0.1:1/db?sslmode=verify-full",
                "sslmode",
            ),
        ] {
            let Err(e) = connect(dsn).await else {
                panic!("{dsn}: connected, but nothing listens there");
            };
            let text = error_text(&e);
            assert!(text.contains(want), "{dsn}: {text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
}
