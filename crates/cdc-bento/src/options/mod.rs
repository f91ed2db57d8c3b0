//! [`BentoOptions`]: the typed `options` of a Bento source, read from `SourceConfig.options`.
//!
//! ```yaml
//! provider: bento
//! source_id: shop
//! source_type: postgres
//! connection: postgres://cdc:secret@db:5432/shop
//! tables: [public.orders]
//! options:
//!   poll_interval: 500ms
//!   slot_name: cdc_shop
//!   create_slot: true
//!   output: { type: http_client, url: "http://sink:8080/events" }
//! ```

mod duration;
mod ranges;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use duration::{go_duration_secs, validate_go_duration};
pub use ranges::{MAX_POLL_INTERVAL_SECS, OPTION_RANGES};

/// The typed options of a Bento source. Unknown keys are rejected.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BentoOptions {
    /// Which engine runs the config: Bento (default) or Redpanda Connect, which has real
    /// `postgres_cdc` / `mysql_cdc` inputs.
    #[serde(default)]
    pub flavor: Flavor,
    /// Delegated (only generate the config), managed (run the process), or auto (managed when
    /// a Bento binary is configured or on `PATH`).
    #[serde(default)]
    pub mode: Mode,
    /// The Bento binary for managed mode; default: `bento` on `PATH`.
    #[serde(default)]
    pub bento_bin: Option<PathBuf>,
    /// Go's option: the name of the engine module that runs the config in delegated mode.
    /// Kept and reported, not interpreted.
    #[serde(default)]
    pub bento_module: Option<String>,

    // --- postgres (flavor bento): wal2json slot polling ---
    /// How often the slot is read (Go duration: `500ms`, `1s`, `1m`). Default `1s`.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
    /// Replication slot name; default `cdc_<source_id>`.
    #[serde(default)]
    pub slot_name: Option<String>,
    /// Create the slot on connect (needs the `postgres` feature).
    #[serde(default)]
    pub create_slot: bool,
    /// At most this many changes per read of the slot. Default 10 000.
    #[serde(default = "default_max_changes")]
    pub max_changes_per_poll: u32,

    // --- dynamodb: Kinesis data stream of the table ---
    /// ARN of the Kinesis data stream the DynamoDB table streams to
    /// (`arn:aws:kinesis:<region>:<account>:stream/<name>`). Required for `dynamodb`.
    #[serde(default)]
    pub stream_arn: Option<String>,
    /// DynamoDB table holding the Kinesis checkpoints; default `cdc_bento_checkpoints`.
    #[serde(default)]
    pub checkpoint_table: Option<String>,
    /// AWS region; default: the stream ARN's region.
    #[serde(default)]
    pub region: Option<String>,
    /// Custom AWS endpoint (an emulator).
    #[serde(default, serialize_with = "cdc_core::secret::masked::option_url")]
    pub endpoint: Option<String>,

    // --- kafka: Debezium topics ---
    /// Bootstrap brokers; default: the `connection`, split on `,`.
    #[serde(default, serialize_with = "cdc_core::secret::masked::option_urls")]
    pub brokers: Option<Vec<String>>,
    /// Topics; default `<topic_prefix>.<schema>.<table>` per configured table.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// Debezium's `topic.prefix`; default the source id.
    #[serde(default)]
    pub topic_prefix: Option<String>,
    /// Consumer group; default `cdc-<source_id>`.
    #[serde(default)]
    pub consumer_group: Option<String>,

    /// Where a Kafka or Kinesis consumer starts without a checkpoint. Default `oldest`.
    #[serde(default)]
    pub start_position: StartPosition,

    // --- redpanda_connect flavor ---
    /// Stream existing rows before changes (`postgres_cdc`, `mysql_cdc`).
    #[serde(default)]
    pub stream_snapshot: bool,
    /// Directory of the `mysql_cdc` checkpoint cache; default `./cdc_checkpoints/<source_id>`.
    #[serde(default)]
    pub checkpoint_dir: Option<String>,

    // --- output ---
    /// Where Bento sends normalized events. Default `stdout` (JSON lines).
    #[serde(default)]
    pub output: OutputOptions,
    /// Address of Bento's HTTP server (`127.0.0.1:4195`); default: disabled.
    #[serde(default)]
    pub http_address: Option<String>,

    // --- managed mode ---
    /// Extra environment variables for the managed process (Bento expands `${VAR}` in its
    /// config from them, which keeps secrets out of the file). Every value is treated as a
    /// secret: `Debug` and `Serialize` show `***`.
    #[serde(default, serialize_with = "cdc_core::secret::masked::values_masked")]
    pub env: BTreeMap<String, String>,
    /// First restart delay after the process exits, in milliseconds. Default 500.
    #[serde(default = "default_backoff_initial_ms")]
    pub restart_backoff_initial_ms: u64,
    /// Restart delay cap, in milliseconds. Default 30 000.
    #[serde(default = "default_backoff_max_ms")]
    pub restart_backoff_max_ms: u64,
    /// How many stderr lines are kept for the status. Default 20.
    #[serde(default = "default_stderr_lines")]
    pub stderr_tail_lines: usize,
}

impl Default for BentoOptions {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("every option has a default")
    }
}

fn default_poll_interval() -> String {
    "1s".into()
}
fn default_max_changes() -> u32 {
    10_000
}
fn default_backoff_initial_ms() -> u64 {
    500
}
fn default_backoff_max_ms() -> u64 {
    30_000
}
fn default_stderr_lines() -> usize {
    20
}

/// The engine the config is written for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// warpstreamlabs Bento: no logical-replication or binlog input.
    #[default]
    Bento,
    /// Redpanda Connect: `postgres_cdc` and `mysql_cdc` inputs.
    RedpandaConnect,
}

/// How the provider runs a source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Managed when a binary is configured or found on `PATH`, delegated otherwise.
    #[default]
    Auto,
    /// Only generate and keep the config; something else runs it.
    Delegated,
    /// Run and supervise the Bento process.
    Managed,
}

/// Where a consumer starts without a checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPosition {
    /// The oldest retained record (Kinesis `TRIM_HORIZON`, Kafka earliest).
    #[default]
    Oldest,
    /// Only new records.
    Latest,
}

/// The output of the stream.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputOptions {
    /// JSON lines on stdout; in managed mode the provider reads them.
    #[default]
    Stdout,
    /// An HTTP request per event.
    HttpClient {
        /// Target URL (`Serialize` and `Debug` mask its userinfo).
        #[serde(serialize_with = "cdc_core::secret::masked::url")]
        url: String,
        /// HTTP verb; default `POST`.
        #[serde(default = "default_verb")]
        verb: String,
        /// Extra headers (`Serialize` and `Debug` mask `Authorization` and the like).
        #[serde(default, serialize_with = "cdc_core::secret::masked::string_map")]
        headers: BTreeMap<String, String>,
    },
    /// A NATS message per event.
    Nats {
        /// Server URLs (`Serialize` and `Debug` mask their userinfo).
        #[serde(serialize_with = "cdc_core::secret::masked::urls")]
        urls: Vec<String>,
        /// Subject.
        subject: String,
    },
}

fn default_verb() -> String {
    "POST".into()
}

impl OutputOptions {
    /// The Bento output type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::HttpClient { .. } => "http_client",
            Self::Nats { .. } => "nats",
        }
    }
}

cdc_core::impl_masked_debug!(BentoOptions, OutputOptions);
