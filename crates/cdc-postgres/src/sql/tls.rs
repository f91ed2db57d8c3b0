//! TLS for the SQL connections (tokio-postgres over rustls), with libpq's `sslmode`
//! semantics: `require` encrypts without checking the certificate, `verify-ca` checks the
//! chain, `verify-full` the chain and the host name. The replication connection gets the same
//! settings through pgwire-replication's own TLS.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use cdc_pg_tls::NoVerification;

use crate::config::{SslMode, TlsSettings};
use crate::error::{PostgresError, Result};

fn tls_err(field: &str, message: impl Into<String>) -> PostgresError {
    PostgresError::config(field, message)
}

/// The ring provider (see [`cdc_pg_tls::crypto_provider`]).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    cdc_pg_tls::crypto_provider()
}

/// The rustls client config for `settings` (`None` for `disable`).
pub fn client_config(settings: &TlsSettings) -> Result<Option<ClientConfig>> {
    if settings.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = provider();
    let roots = Arc::new(root_store(settings)?);
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("options.tls", format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            Arc::new(NoVerification(Arc::clone(&provider)))
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::clone(&roots),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| tls_err("options.tls.ca_file", format!("TLS verifier: {e}")))?;
            Arc::new(Verify {
                inner,
                check_name: settings.mode == SslMode::VerifyFull,
                server_name: match &settings.server_name {
                    Some(n) => Some(ServerName::try_from(n.clone()).map_err(|_| {
                        tls_err(
                            "options.tls.server_name",
                            format!("{n:?} is not a valid DNS name or IP address"),
                        )
                    })?),
                    None => None,
                },
            })
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &settings.client_cert {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    tls_err(
                        "options.tls.cert_file",
                        format!("cannot read {}: {e}", cert.display()),
                    )
                })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                tls_err(
                    "options.tls.key_file",
                    format!("cannot read {}: {e}", key.display()),
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                tls_err(
                    "options.tls.cert_file",
                    format!("client certificate and key do not fit: {e}"),
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Some(config))
}

fn root_store(settings: &TlsSettings) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    tls_err(
                        "options.tls.ca_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(tls_err(
                    "options.tls.ca_file",
                    format!("{} holds no CA certificate", path.display()),
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

/// `verify-ca` (chain only) and `verify-full` (chain and name, against `server_name` when
/// set).
#[derive(Debug)]
struct Verify {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    check_name: bool,
    server_name: Option<ServerName<'static>>,
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let name = self.server_name.as_ref().unwrap_or(server_name);
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
