//! How to reach a Kafka Connect worker: base URL, authentication, TLS, timeout, retries.

use std::path::PathBuf;
use std::time::Duration;

use cdc_core::Secret;
use serde::{Deserialize, Serialize};

use super::retry::RetryPolicy;

/// Default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Authentication of REST requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password (never shown).
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token (never shown).
        token: Secret,
    },
}

/// TLS settings beyond the built-in web PKI roots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsOptions {
    /// PEM file with extra CA certificates to trust (a private CA of the Connect cluster).
    pub ca_file: Option<PathBuf>,
    /// The same, inline PEM.
    pub ca_pem: Option<String>,
    /// PEM file holding a client certificate and its PKCS#8 key, for mutual TLS.
    pub client_identity_file: Option<PathBuf>,
    /// Accept any server certificate. For tests only: it disables server authentication.
    pub insecure_skip_verify: bool,
}

/// Everything [`super::KafkaConnectClient`] needs. `Debug` masks the base URL's userinfo.
#[derive(Clone)]
pub struct ClientOptions {
    /// Base URL of the REST API (`http://connect:8083`).
    pub base_url: url::Url,
    /// Authentication, if any.
    pub auth: Option<Auth>,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Timeout of one request (default 30 s).
    pub timeout: Duration,
    /// Retry of transient failures.
    pub retry: RetryPolicy,
}

impl ClientOptions {
    /// Options with defaults for a base URL.
    pub fn new(base_url: url::Url) -> Self {
        Self {
            base_url,
            auth: None,
            tls: TlsOptions::default(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field(
                "base_url",
                &cdc_core::secret::redact(self.base_url.as_str()),
            )
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}
