//! Typed bodies of the Kafka Connect REST API (shapes from a real Kafka Connect 4.3.0 worker).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A connector config: string keys to string values, as Kafka Connect stores them.
pub type ConnectorConfig = BTreeMap<String, String>;

/// `GET /`: the worker's version.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServerInfo {
    /// Kafka Connect version (`4.3.0`).
    pub version: String,
    /// Build commit.
    #[serde(default)]
    pub commit: Option<String>,
    /// The Kafka cluster id.
    #[serde(default)]
    pub kafka_cluster_id: Option<String>,
}

/// One task id in a [`ConnectorInfo`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct TaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

/// `PUT /connectors/{n}/config`, `GET /connectors/{n}`: a connector and its config.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConnectorInfo {
    /// Connector name.
    pub name: String,
    /// Its config (with `name` added by the worker).
    #[serde(default)]
    pub config: ConnectorConfig,
    /// Its tasks; empty for 1–2 s after creation in distributed mode.
    #[serde(default)]
    pub tasks: Vec<TaskId>,
    /// `source` or `sink`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// Result of the idempotent upsert `PUT /connectors/{n}/config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Whether the connector was created (201) rather than updated (200).
    pub created: bool,
    /// The connector as the worker now has it.
    pub info: ConnectorInfo,
}

/// A Kafka Connect connector or task state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConnectorState {
    /// Not yet assigned to a worker.
    Unassigned,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Failed; the task's `trace` says why.
    Failed,
    /// Being restarted.
    Restarting,
    /// Stopped (connectors only; Kafka 3.5+).
    Stopped,
    /// A state this client does not know (kept verbatim).
    Other(String),
}

impl ConnectorState {
    /// The wire name (`RUNNING`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unassigned => "UNASSIGNED",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Failed => "FAILED",
            Self::Restarting => "RESTARTING",
            Self::Stopped => "STOPPED",
            Self::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "UNASSIGNED" => Self::Unassigned,
            "RUNNING" => Self::Running,
            "PAUSED" => Self::Paused,
            "FAILED" => Self::Failed,
            "RESTARTING" => Self::Restarting,
            "STOPPED" => Self::Stopped,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ConnectorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConnectorState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConnectorState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// The connector part of a status.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConnectorStateInfo {
    /// State.
    pub state: ConnectorState,
    /// Worker running it.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Stack trace, present only when non-empty (after a failure).
    #[serde(default)]
    pub trace: Option<String>,
    /// Connector plugin version (Kafka Connect 4.x).
    #[serde(default)]
    pub version: Option<String>,
}

/// One task of a status.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct TaskStatus {
    /// Task number.
    pub id: u32,
    /// State.
    pub state: ConnectorState,
    /// Worker running it.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Stack trace, present only when non-empty.
    #[serde(default)]
    pub trace: Option<String>,
    /// Connector plugin version.
    #[serde(default)]
    pub version: Option<String>,
}

/// `GET /connectors/{n}/status` (also the 202 body of a restart with `includeTasks`/`onlyFailed`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConnectorStatus {
    /// Connector name.
    pub name: String,
    /// The connector instance.
    pub connector: ConnectorStateInfo,
    /// Its tasks (empty right after creation and after a stop).
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
    /// `source` or `sink`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// One entry of `GET /connectors?expand=status&expand=info`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConnectorListEntry {
    /// Status, with `expand=status`.
    #[serde(default)]
    pub status: Option<ConnectorStatus>,
    /// Info, with `expand=info`.
    #[serde(default)]
    pub info: Option<ConnectorInfo>,
}

/// One partition's offset: `{"partition": {...}, "offset": {...} | null}`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ConnectorOffset {
    /// Source partition (Debezium PostgreSQL: `{"server": "<topic.prefix>"}`).
    pub partition: Map<String, Value>,
    /// Offset; `null` after a reset (distributed mode), or in a PATCH to reset one partition.
    pub offset: Option<Map<String, Value>>,
}

/// `GET /connectors/{n}/offsets` and the body of `PATCH .../offsets`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize, Serialize)]
pub struct ConnectorOffsets {
    /// Offsets per partition.
    pub offsets: Vec<ConnectorOffset>,
}

impl ConnectorOffsets {
    /// Whether no partition has an offset (after a reset: empty list, or all `null`).
    pub fn is_reset(&self) -> bool {
        self.offsets.iter().all(|o| o.offset.is_none())
    }
}

/// Query of `POST /connectors/{n}/restart`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestartOptions {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Restart only instances that are FAILED.
    pub only_failed: bool,
}

/// The result of a restart: 204 (connector instance only) has no body, 202 has a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestartOutcome {
    /// 204: the connector instance was restarted.
    Restarted,
    /// 202: restarts were scheduled; instances being restarted show `RESTARTING`.
    Accepted(ConnectorStatus),
}

/// `{"message": "..."}` of an offsets alter or reset.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct MessageBody {
    /// The worker's message.
    pub message: String,
}

/// `PUT /connector-plugins/{class}/config/validate`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ValidationResult {
    /// Connector class.
    pub name: String,
    /// Number of invalid settings.
    pub error_count: u32,
    /// Config groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Every setting with its definition and value.
    #[serde(default)]
    pub configs: Vec<ConfigInfo>,
}

impl ValidationResult {
    /// `(setting, errors)` for each setting that has errors.
    pub fn errors(&self) -> Vec<(&str, &[String])> {
        self.configs
            .iter()
            .filter(|c| !c.value.errors.is_empty())
            .map(|c| (c.value.name.as_str(), c.value.errors.as_slice()))
            .collect()
    }
}

/// One setting of a [`ValidationResult`].
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ConfigInfo {
    /// The setting's definition (type, default, documentation, ...), kept as JSON.
    #[serde(default)]
    pub definition: Value,
    /// The value checked.
    pub value: ConfigValueInfo,
}

/// The value part of a [`ConfigInfo`].
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ConfigValueInfo {
    /// Setting name.
    pub name: String,
    /// Value given (or default).
    #[serde(default)]
    pub value: Option<String>,
    /// Recommended values.
    #[serde(default)]
    pub recommended_values: Vec<String>,
    /// Errors; empty when valid.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Whether the setting applies.
    #[serde(default)]
    pub visible: bool,
}

/// `{"error_code", "message"}`: every Kafka Connect error body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ErrorBody {
    /// Usually the HTTP status.
    pub error_code: i64,
    /// What went wrong.
    pub message: String,
}
