//! The client boundary: [`DmsApi`], the DMS calls the provider makes (Go's `DMSClient`).
//!
//! [`SdkDmsApi`] implements it over `aws-sdk-databasemigration`; tests of the provider's logic
//! use `MockDmsApi` (feature `mock`), a `mockall` double.

mod error;
mod sdk;
mod types;

use async_trait::async_trait;

pub use error::{ApiError, ApiErrorKind};
pub use sdk::SdkDmsApi;
pub use types::{
    CreateTaskRequest, MigrationType, ReplicationTask, StartType, TableStatistics, TableToReload,
    TaskFilter, TaskStats,
};

/// The AWS DMS calls cdc-dms needs.
///
/// Every call answers with our plain types or an [`ApiError`] whose [`ApiErrorKind`] tells the
/// DMS faults the provider reacts to (not found, already exists, invalid state) from the rest.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DmsApi: Send + Sync {
    /// `CreateReplicationTask`. Not idempotent: a taken identifier is
    /// [`ApiErrorKind::AlreadyExists`].
    async fn create_replication_task(
        &self,
        request: CreateTaskRequest,
    ) -> Result<ReplicationTask, ApiError>;

    /// `StartReplicationTask` with the given start type.
    async fn start_replication_task(
        &self,
        task_arn: &str,
        start_type: StartType,
    ) -> Result<ReplicationTask, ApiError>;

    /// `StopReplicationTask`.
    async fn stop_replication_task(&self, task_arn: &str) -> Result<ReplicationTask, ApiError>;

    /// `DescribeReplicationTasks` with one filter, every page. DMS answers
    /// `ResourceNotFoundFault` when nothing matches; an implementation may also return an
    /// empty list, and callers treat both as "not found".
    async fn describe_replication_tasks(
        &self,
        filter: TaskFilter,
    ) -> Result<Vec<ReplicationTask>, ApiError>;

    /// `DeleteReplicationTask`.
    async fn delete_replication_task(&self, task_arn: &str) -> Result<ReplicationTask, ApiError>;

    /// `DescribeTableStatistics` of a task, every page.
    async fn describe_table_statistics(
        &self,
        task_arn: &str,
    ) -> Result<Vec<TableStatistics>, ApiError>;

    /// `ReloadTables` with `ReloadOption=data-reload`: loads the given tables again without
    /// restarting the task.
    async fn reload_tables(
        &self,
        task_arn: &str,
        tables: Vec<TableToReload>,
    ) -> Result<(), ApiError>;
}
