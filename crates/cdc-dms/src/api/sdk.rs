//! [`SdkDmsApi`]: [`DmsApi`] over the real `aws-sdk-databasemigration` client.

use async_trait::async_trait;
use aws_sdk_databasemigration::Client;
use aws_sdk_databasemigration::config::http::HttpResponse;
use aws_sdk_databasemigration::config::timeout::TimeoutConfig;
use aws_sdk_databasemigration::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_databasemigration::types as sdk;
use aws_smithy_types::DateTime;
use time::OffsetDateTime;

use super::{
    ApiError, ApiErrorKind, CreateTaskRequest, DmsApi, ReplicationTask, StartType, TableStatistics,
    TableToReload, TaskFilter, TaskStats,
};

/// [`DmsApi`] over an `aws_sdk_databasemigration::Client`.
///
/// Build the client with [`crate::aws::dms_client`] (region, endpoint URL and retries from the
/// source's options over the `aws-config` default chain), or hand in any client (tests use one
/// made by `aws-smithy-mocks`). Retries are the SDK's: throttling and transient errors are
/// retried by the client's retry config before an error reaches the provider.
#[derive(Clone, Debug)]
pub struct SdkDmsApi {
    client: Client,
}

impl SdkDmsApi {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Maps an SDK error of this client, whose timeouts the message names.
    fn fail<E>(&self) -> impl Fn(SdkError<E, HttpResponse>) -> ApiError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        |e| map_sdk_error(e, self.client.config().timeout_config())
    }
}

#[async_trait]
impl DmsApi for SdkDmsApi {
    async fn create_replication_task(
        &self,
        request: CreateTaskRequest,
    ) -> Result<ReplicationTask, ApiError> {
        let cdc_start_time = request
            .cdc_start_time
            .map(|t| {
                DateTime::from_nanos(t.unix_timestamp_nanos()).map_err(|e| {
                    ApiError::new(
                        ApiErrorKind::Other,
                        format!("cdc_start_time {t} is out of range: {e}"),
                    )
                })
            })
            .transpose()?;
        let out = self
            .client
            .create_replication_task()
            .replication_task_identifier(request.identifier)
            .source_endpoint_arn(request.source_endpoint_arn)
            .target_endpoint_arn(request.target_endpoint_arn)
            .replication_instance_arn(request.replication_instance_arn)
            .migration_type(sdk::MigrationTypeValue::from(
                request.migration_type.as_str(),
            ))
            .table_mappings(request.table_mappings)
            .set_replication_task_settings(request.task_settings)
            .set_cdc_start_position(request.cdc_start_position)
            .set_cdc_start_time(cdc_start_time)
            .send()
            .await
            .map_err(self.fail())?;
        task_from_output("CreateReplicationTask", out.replication_task())
    }

    async fn start_replication_task(
        &self,
        task_arn: &str,
        start_type: StartType,
    ) -> Result<ReplicationTask, ApiError> {
        let out = self
            .client
            .start_replication_task()
            .replication_task_arn(task_arn)
            .start_replication_task_type(sdk::StartReplicationTaskTypeValue::from(
                start_type.as_str(),
            ))
            .send()
            .await
            .map_err(self.fail())?;
        task_from_output("StartReplicationTask", out.replication_task())
    }

    async fn stop_replication_task(&self, task_arn: &str) -> Result<ReplicationTask, ApiError> {
        let out = self
            .client
            .stop_replication_task()
            .replication_task_arn(task_arn)
            .send()
            .await
            .map_err(self.fail())?;
        task_from_output("StopReplicationTask", out.replication_task())
    }

    async fn describe_replication_tasks(
        &self,
        filter: TaskFilter,
    ) -> Result<Vec<ReplicationTask>, ApiError> {
        let (name, value) = match filter {
            TaskFilter::Arn(arn) => ("replication-task-arn", arn),
            TaskFilter::Identifier(id) => ("replication-task-id", id),
        };
        let filter = sdk::Filter::builder()
            .name(name)
            .values(value)
            .build()
            .map_err(build_error)?;
        let mut pages = self
            .client
            .describe_replication_tasks()
            .filters(filter)
            .without_settings(true)
            .into_paginator()
            .send();
        let mut tasks = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.fail())?;
            for task in page.replication_tasks() {
                tasks.push(convert_task(task)?);
            }
        }
        Ok(tasks)
    }

    async fn delete_replication_task(&self, task_arn: &str) -> Result<ReplicationTask, ApiError> {
        let out = self
            .client
            .delete_replication_task()
            .replication_task_arn(task_arn)
            .send()
            .await
            .map_err(self.fail())?;
        task_from_output("DeleteReplicationTask", out.replication_task())
    }

    async fn describe_table_statistics(
        &self,
        task_arn: &str,
    ) -> Result<Vec<TableStatistics>, ApiError> {
        let mut pages = self
            .client
            .describe_table_statistics()
            .replication_task_arn(task_arn)
            .into_paginator()
            .send();
        let mut stats = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.fail())?;
            stats.extend(page.table_statistics().iter().map(convert_table_stats));
        }
        Ok(stats)
    }

    async fn reload_tables(
        &self,
        task_arn: &str,
        tables: Vec<TableToReload>,
    ) -> Result<(), ApiError> {
        let tables = tables
            .into_iter()
            .map(|t| {
                sdk::TableToReload::builder()
                    .schema_name(t.schema_name)
                    .table_name(t.table_name)
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .reload_tables()
            .replication_task_arn(task_arn)
            .set_tables_to_reload(Some(tables))
            .reload_option(sdk::ReloadOptionValue::DataReload)
            .send()
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

/// Classifies an SDK error: modelled faults by their code, throttling, transport failures and
/// 5xx answers as retryable, the rest as `Other`. A timeout (per attempt, or connecting) is a
/// transport failure; its message says after how long, from the client's `timeouts`.
pub(crate) fn map_sdk_error<E>(
    err: SdkError<E, HttpResponse>,
    timeouts: Option<&TimeoutConfig>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = crate::aws::describe_error(&err, timeouts);
    let (kind, code) = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (ApiErrorKind::Transport, None),
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().map(str::to_owned);
            let kind = match code.as_deref() {
                Some(code) => ApiError::kind_of_code(code),
                None if ctx.raw().status().is_server_error() => ApiErrorKind::Service,
                None => ApiErrorKind::Other,
            };
            // A 5xx with an unknown code is still the service failing, not our request.
            let kind = if kind == ApiErrorKind::Other && ctx.raw().status().is_server_error() {
                ApiErrorKind::Service
            } else {
                kind
            };
            (kind, code)
        }
        SdkError::ResponseError(ctx) if ctx.raw().status().is_server_error() => {
            (ApiErrorKind::Service, None)
        }
        _ => (ApiErrorKind::Other, None),
    };
    let mut api = ApiError::new(kind, message).with_source(Box::new(err));
    if let Some(code) = code {
        api = api.with_code(code);
    }
    api
}

fn build_error(e: aws_sdk_databasemigration::error::BuildError) -> ApiError {
    ApiError::new(
        ApiErrorKind::Other,
        format!("could not build the request: {e}"),
    )
    .with_source(Box::new(e))
}

fn task_from_output(
    operation: &str,
    task: Option<&sdk::ReplicationTask>,
) -> Result<ReplicationTask, ApiError> {
    match task {
        Some(task) => convert_task(task),
        None => Err(ApiError::new(
            ApiErrorKind::Other,
            format!("{operation} answered without a ReplicationTask"),
        )),
    }
}

fn convert_task(task: &sdk::ReplicationTask) -> Result<ReplicationTask, ApiError> {
    let arn = task.replication_task_arn().ok_or_else(|| {
        ApiError::new(
            ApiErrorKind::Other,
            "DMS answered with a replication task without ReplicationTaskArn",
        )
    })?;
    Ok(ReplicationTask {
        arn: arn.to_owned(),
        identifier: task
            .replication_task_identifier()
            .unwrap_or_default()
            .to_owned(),
        status: task.status().unwrap_or_default().to_owned(),
        source_endpoint_arn: task.source_endpoint_arn().map(str::to_owned),
        target_endpoint_arn: task.target_endpoint_arn().map(str::to_owned),
        replication_instance_arn: task.replication_instance_arn().map(str::to_owned),
        migration_type: task.migration_type().map(|m| m.as_str().to_owned()),
        stop_reason: task.stop_reason().map(str::to_owned),
        last_failure_message: task.last_failure_message().map(str::to_owned),
        recovery_checkpoint: task.recovery_checkpoint().map(str::to_owned),
        creation_date: task.replication_task_creation_date().and_then(to_time),
        start_date: task.replication_task_start_date().and_then(to_time),
        stats: task.replication_task_stats().map(|s| TaskStats {
            full_load_progress_percent: s.full_load_progress_percent(),
            elapsed_time_millis: s.elapsed_time_millis(),
            tables_loaded: s.tables_loaded(),
            tables_loading: s.tables_loading(),
            tables_queued: s.tables_queued(),
            tables_errored: s.tables_errored(),
            fresh_start_date: s.fresh_start_date().and_then(to_time),
            start_date: s.start_date().and_then(to_time),
            stop_date: s.stop_date().and_then(to_time),
            full_load_start_date: s.full_load_start_date().and_then(to_time),
            full_load_finish_date: s.full_load_finish_date().and_then(to_time),
        }),
    })
}

fn convert_table_stats(s: &sdk::TableStatistics) -> TableStatistics {
    TableStatistics {
        schema_name: s.schema_name().unwrap_or_default().to_owned(),
        table_name: s.table_name().unwrap_or_default().to_owned(),
        inserts: s.inserts(),
        deletes: s.deletes(),
        updates: s.updates(),
        ddls: s.ddls(),
        applied_inserts: s.applied_inserts(),
        applied_deletes: s.applied_deletes(),
        applied_updates: s.applied_updates(),
        applied_ddls: s.applied_ddls(),
        full_load_rows: s.full_load_rows(),
        full_load_error_rows: s.full_load_error_rows(),
        full_load_start_time: s.full_load_start_time().and_then(to_time),
        full_load_end_time: s.full_load_end_time().and_then(to_time),
        full_load_reloaded: s.full_load_reloaded(),
        last_update_time: s.last_update_time().and_then(to_time),
        table_state: s.table_state().map(str::to_owned),
        validation_state: s.validation_state().map(str::to_owned),
    }
}

/// An SDK timestamp as `OffsetDateTime` (UTC); `None` when out of `time`'s range.
pub(crate) fn to_time(t: &DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()
}
