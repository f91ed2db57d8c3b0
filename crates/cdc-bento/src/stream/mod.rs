//! Typed Bento stream configs: `input`, `pipeline.processors`, `output` (and the few top-level
//! sections we set), serialized to YAML through `cdc_core::yaml`.
//!
//! Each Bento component is written the way Bento reads it: a map with one key, the component
//! type, holding its fields (`input: { generate: { ... } }`). Serde's externally tagged enums
//! produce exactly that, so a config is built from types, never by formatting strings.

mod input;
mod output;
mod processor;

use serde::{Deserialize, Serialize};

pub use input::{
    AwsKinesisInput, GenerateInput, Input, KafkaFranzInput, KinesisCheckpointTable, MysqlCdcInput,
    PostgresCdcInput,
};
pub use output::{HttpClientOutput, NatsOutput, Output, StdoutOutput};
pub use processor::{Processor, SqlRawProcessor, UnarchiveProcessor};

use crate::error::BentoError;

/// A complete Bento stream config.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Bento's HTTP server (`/ready`, `/metrics`): disabled unless an address is configured,
    /// so that several supervised streams never fight over the default port 4195.
    pub http: HttpSection,
    /// Where messages come from.
    pub input: Input,
    /// What happens to each message.
    pub pipeline: Pipeline,
    /// Where normalized events go.
    pub output: Output,
    /// Bento's logger. Logs go to stderr, so that stdout carries only events.
    pub logger: LoggerSection,
    /// Cache resources (the Redpanda Connect `mysql_cdc` checkpoint cache).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_resources: Vec<CacheResource>,
}

impl StreamConfig {
    /// Renders the config as YAML. Secrets are masked unless `reveal` is
    /// [`Reveal::Secrets`]; only the file handed to the Bento process needs them.
    pub fn to_yaml(&self, reveal: Reveal) -> Result<String, BentoError> {
        let rendered = match reveal {
            Reveal::Secrets => cdc_core::yaml::to_string(self),
            Reveal::Masked => cdc_core::yaml::to_string(&self.masked()?),
        };
        let mut text = rendered.map_err(|e| BentoError::Render {
            message: e.to_string(),
        })?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }

    /// Parses a config back from YAML (used to check that what we render is what we meant).
    pub fn from_yaml(text: &str) -> Result<Self, BentoError> {
        cdc_core::yaml::from_str(text).map_err(|e| BentoError::Render {
            message: format!("generated YAML does not parse back: {e}"),
        })
    }

    /// A copy with every secret masked by [`cdc_core::secret::mask_json`]: DSN and URL
    /// userinfo (`sql_raw`, `postgres_cdc`, `mysql_cdc`, `http_client`, `nats`, endpoints),
    /// secret-looking keys (an `Authorization` header). Decided by the keys and the URL syntax
    /// of every string, so a component added later is masked too. (Through JSON and back, so
    /// the copy keeps the typed field order and number forms when rendered.)
    pub fn masked(&self) -> Result<Self, BentoError> {
        let render = |e: serde_json::Error| BentoError::Render {
            message: format!("masking the config: {e}"),
        };
        let value = serde_json::to_value(self).map_err(render)?;
        serde_json::from_value(cdc_core::secret::mask_json(&value)).map_err(render)
    }
}

/// Whether rendering shows secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveal {
    /// Secrets replaced by `***` (logs, status, `config_yaml`, `cdc render`).
    Masked,
    /// The raw DSNs (the config file the Bento process reads).
    Secrets,
}

/// `pipeline:`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The processors, applied in order.
    pub processors: Vec<Processor>,
}

/// `http:`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Whether the server runs.
    pub enabled: bool,
    /// The listen address, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `logger:`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggerSection {
    /// `INFO`, `WARN`, ...
    pub level: String,
    /// `logfmt` or `json`.
    pub format: String,
}

/// One entry of `cache_resources:`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheResource {
    /// The name other components refer to.
    pub label: String,
    /// A cache kept in files of a directory.
    pub file: FileCache,
}

/// The `file` cache.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCache {
    /// The directory holding the cache files.
    pub directory: String,
}

cdc_core::impl_masked_debug!(
    StreamConfig,
    Pipeline,
    HttpSection,
    LoggerSection,
    CacheResource,
    FileCache
);
