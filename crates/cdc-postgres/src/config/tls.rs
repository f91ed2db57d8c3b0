//! TLS settings: libpq's `sslmode` and friends, from the connection string or from
//! `options.tls` (which wins field by field).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; no certificate check.
    #[default]
    Prefer,
    /// TLS, no certificate check.
    Require,
    /// TLS, the server's chain checked against the CA; any host name.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`;
    /// `allow` is taken as `prefer`).
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// `options.tls`: overrides of the connection string's TLS parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// `sslmode`.
    #[serde(default)]
    pub mode: Option<SslMode>,
    /// Extra CA certificates (PEM file) to verify the server with (`sslrootcert`).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM file), for certificate authentication (`sslcert`).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM file) (`sslkey`).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The name to verify the server certificate against (and send as SNI), when it differs
    /// from the host (an IP address, a tunnel).
    #[serde(default)]
    pub server_name: Option<String>,
}

/// The TLS settings a connection uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The mode.
    pub mode: SslMode,
    /// CA file; `None`: the Mozilla roots (webpki-roots).
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Name checked and sent as SNI instead of the host.
    pub server_name: Option<String>,
}

impl TlsSettings {
    /// Combines the connection string's parameters with `options.tls` (options win).
    /// A certificate without its key (or the reverse) is an error naming both fields.
    pub fn resolve(
        dsn: &super::dsn::ConnParams,
        options: &TlsOptions,
    ) -> Result<Self, crate::PostgresError> {
        let mode = options.mode.or(dsn.sslmode).unwrap_or_default();
        let ca_file = options.ca_file.clone().or_else(|| dsn.sslrootcert.clone());
        let cert = options.cert_file.clone().or_else(|| dsn.sslcert.clone());
        let key = options.key_file.clone().or_else(|| dsn.sslkey.clone());
        let client_cert = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(crate::PostgresError::config(
                    "options.tls.cert_file",
                    "a client certificate needs its key and a key its certificate (options.tls.cert_file and options.tls.key_file, or sslcert and sslkey)",
                ));
            }
        };
        if mode == SslMode::Disable && (ca_file.is_some() || client_cert.is_some()) {
            return Err(crate::PostgresError::config(
                "options.tls.mode",
                "TLS files are given but the mode is disable; set mode: require, verify-ca or verify-full",
            ));
        }
        for (field, path) in [("options.tls.ca_file", ca_file.as_ref())]
            .into_iter()
            .chain(client_cert.iter().flat_map(|(c, k)| {
                [
                    ("options.tls.cert_file", Some(c)),
                    ("options.tls.key_file", Some(k)),
                ]
            }))
        {
            if let Some(p) = path
                && !p.is_file()
            {
                return Err(crate::PostgresError::config(
                    field,
                    format!("{} is not a readable file", p.display()),
                ));
            }
        }
        Ok(Self {
            mode,
            ca_file,
            client_cert,
            server_name: options.server_name.clone(),
        })
    }
}
