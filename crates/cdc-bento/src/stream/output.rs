//! Bento outputs for normalized events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `output:`, one component.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// JSON lines on stdout (what the managed mode reads).
    Stdout(StdoutOutput),
    /// POST each event to an HTTP endpoint.
    HttpClient(HttpClientOutput),
    /// Publish each event to a NATS subject.
    Nats(NatsOutput),
}

/// `stdout`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutOutput {
    /// `lines`: one message per line.
    pub codec: String,
}

/// `http_client`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientOutput {
    /// Target URL.
    pub url: String,
    /// HTTP verb.
    pub verb: String,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `nats`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsOutput {
    /// Server URLs.
    pub urls: Vec<String>,
    /// Subject to publish to.
    pub subject: String,
}

cdc_core::impl_masked_debug!(Output, StdoutOutput, HttpClientOutput, NatsOutput);
