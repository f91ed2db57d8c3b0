//! [`KafkaConnectClient`]: typed calls to the Kafka Connect REST API with retries.
//!
//! The client is built here (HTTP client, TLS, authentication); its REST calls, one method
//! per endpoint, are in `endpoints`, and the request loop they share (retries, error bodies)
//! in `transport`.

mod endpoints;
mod transport;

use tracing::warn;

use super::options::{Auth, ClientOptions};
use super::retry::RetryPolicy;
use crate::error::{DebeziumError, Result};

/// A client of one Kafka Connect cluster.
///
/// Every call retries transient failures per its [`RetryPolicy`]; errors carry the connector
/// name, the HTTP status and the worker's `{error_code, message}`. The base URL never appears
/// in errors, logs or `Debug` (it may hold credentials).
#[derive(Clone)]
pub struct KafkaConnectClient {
    http: reqwest::Client,
    base: url::Url,
    auth: Option<Auth>,
    retry: RetryPolicy,
}

impl KafkaConnectClient {
    /// Builds a client. Fails on unreadable CA or identity files, naming the option.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let config_err = |field: &str, message: String| DebeziumError::Config {
            source_id: String::new(),
            field: field.to_owned(),
            message,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout);
        let tls = &options.tls;
        let mut ca_pems: Vec<Vec<u8>> = Vec::new();
        if let Some(path) = &tls.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                config_err(
                    "options.tls.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            ca_pems.push(pem);
        }
        if let Some(pem) = &tls.ca_pem {
            ca_pems.push(pem.as_bytes().to_vec());
        }
        for pem in ca_pems {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                config_err(
                    "options.tls.ca_file",
                    format!("not a PEM certificate bundle: {e}"),
                )
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        if let Some(path) = &tls.client_identity_file {
            let pem = std::fs::read(path).map_err(|e| {
                config_err(
                    "options.tls.client_identity_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                config_err(
                    "options.tls.client_identity_file",
                    format!("needs a PEM certificate and its PKCS#8 key: {e}"),
                )
            })?;
            builder = builder.identity(identity);
        }
        if tls.insecure_skip_verify {
            warn!("kafka connect client: TLS certificate verification is disabled");
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| config_err("options.tls", e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: options.base_url,
            auth: options.auth,
            retry: options.retry,
        })
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

impl std::fmt::Debug for KafkaConnectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConnectClient")
            .field("base", &cdc_core::secret::redact(self.base.as_str()))
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
