//! Plain data crossing the [`DmsApi`](super::DmsApi) boundary.
//!
//! These mirror the DMS API shapes the provider needs, without the SDK's builders and
//! `Option`-everywhere, so a test double builds them in one line and the provider's logic does
//! not depend on the SDK.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `MigrationType` of a replication task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationType {
    /// Ongoing replication only (`cdc`), the default.
    #[default]
    Cdc,
    /// A one-off copy of the tables (`full-load`).
    FullLoad,
    /// A copy of the tables, then ongoing replication (`full-load-and-cdc`).
    FullLoadAndCdc,
}

impl MigrationType {
    /// The wire name: `cdc`, `full-load` or `full-load-and-cdc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cdc => "cdc",
            Self::FullLoad => "full-load",
            Self::FullLoadAndCdc => "full-load-and-cdc",
        }
    }
}

/// `StartReplicationTaskType`: how a task is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartType {
    /// The first run of a task (`start-replication`).
    StartReplication,
    /// Go on from where a stopped task left off (`resume-processing`).
    ResumeProcessing,
    /// Restart, loading every table again (`reload-target`).
    ReloadTarget,
}

impl StartType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartReplication => "start-replication",
            Self::ResumeProcessing => "resume-processing",
            Self::ReloadTarget => "reload-target",
        }
    }
}

/// What `CreateReplicationTask` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTaskRequest {
    /// `ReplicationTaskIdentifier` (already valid by DMS's rules).
    pub identifier: String,
    /// ARN of the source endpoint.
    pub source_endpoint_arn: String,
    /// ARN of the target endpoint.
    pub target_endpoint_arn: String,
    /// ARN of the replication instance.
    pub replication_instance_arn: String,
    /// The migration type.
    pub migration_type: MigrationType,
    /// The table mappings JSON.
    pub table_mappings: String,
    /// The task settings JSON, when given.
    pub task_settings: Option<String>,
    /// `CdcStartPosition` (a checkpoint, LSN or `recovery_checkpoint`), when given.
    pub cdc_start_position: Option<String>,
    /// `CdcStartTime`, when given.
    pub cdc_start_time: Option<OffsetDateTime>,
}

/// How to find replication tasks in `DescribeReplicationTasks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskFilter {
    /// By ARN (`replication-task-arn`).
    Arn(String),
    /// By identifier (`replication-task-id`).
    Identifier(String),
}

/// A replication task as `DescribeReplicationTasks` (and the other task calls) return it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicationTask {
    /// `ReplicationTaskArn`.
    pub arn: String,
    /// `ReplicationTaskIdentifier`.
    pub identifier: String,
    /// `Status`, as DMS spells it (`creating`, `ready`, `running`, ...).
    pub status: String,
    /// `SourceEndpointArn`.
    pub source_endpoint_arn: Option<String>,
    /// `TargetEndpointArn`.
    pub target_endpoint_arn: Option<String>,
    /// `ReplicationInstanceArn`.
    pub replication_instance_arn: Option<String>,
    /// `MigrationType` (wire name).
    pub migration_type: Option<String>,
    /// `StopReason` (`Stop Reason FULL_LOAD_ONLY_FINISHED`, `Stop Reason FATAL_ERROR`, ...).
    pub stop_reason: Option<String>,
    /// `LastFailureMessage`.
    pub last_failure_message: Option<String>,
    /// `RecoveryCheckpoint`, usable as a later `cdc_start_position`.
    pub recovery_checkpoint: Option<String>,
    /// `ReplicationTaskCreationDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub creation_date: Option<OffsetDateTime>,
    /// `ReplicationTaskStartDate`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub start_date: Option<OffsetDateTime>,
    /// `ReplicationTaskStats`.
    pub stats: Option<TaskStats>,
}

/// `ReplicationTaskStats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskStats {
    /// Percent of the full load done.
    pub full_load_progress_percent: i32,
    /// Time the task has run, in milliseconds.
    pub elapsed_time_millis: i64,
    /// Tables loaded.
    pub tables_loaded: i32,
    /// Tables being loaded.
    pub tables_loading: i32,
    /// Tables waiting to be loaded.
    pub tables_queued: i32,
    /// Tables that failed to load.
    pub tables_errored: i32,
    /// When the task was last started from scratch.
    #[serde(with = "time::serde::rfc3339::option")]
    pub fresh_start_date: Option<OffsetDateTime>,
    /// When the task last started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub start_date: Option<OffsetDateTime>,
    /// When the task last stopped.
    #[serde(with = "time::serde::rfc3339::option")]
    pub stop_date: Option<OffsetDateTime>,
    /// When the full load started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub full_load_start_date: Option<OffsetDateTime>,
    /// When the full load finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub full_load_finish_date: Option<OffsetDateTime>,
}

/// `TableStatistics` of one table of a task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TableStatistics {
    /// The schema.
    pub schema_name: String,
    /// The table.
    pub table_name: String,
    /// Inserts replicated.
    pub inserts: i64,
    /// Deletes replicated.
    pub deletes: i64,
    /// Updates replicated.
    pub updates: i64,
    /// DDL statements replicated.
    pub ddls: i64,
    /// Inserts applied on the target.
    pub applied_inserts: Option<i64>,
    /// Deletes applied on the target.
    pub applied_deletes: Option<i64>,
    /// Updates applied on the target.
    pub applied_updates: Option<i64>,
    /// DDL statements applied on the target.
    pub applied_ddls: Option<i64>,
    /// Rows loaded by the full load.
    pub full_load_rows: i64,
    /// Rows that failed in the full load.
    pub full_load_error_rows: i64,
    /// When the full load of the table started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub full_load_start_time: Option<OffsetDateTime>,
    /// When the full load of the table ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub full_load_end_time: Option<OffsetDateTime>,
    /// Whether the table was reloaded.
    pub full_load_reloaded: Option<bool>,
    /// When the statistics last changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_update_time: Option<OffsetDateTime>,
    /// `TableState` (`Table completed`, `Table error`, ...).
    pub table_state: Option<String>,
    /// `ValidationState`.
    pub validation_state: Option<String>,
}

/// A table for `ReloadTables`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TableToReload {
    /// The schema.
    pub schema_name: String,
    /// The table.
    pub table_name: String,
}
