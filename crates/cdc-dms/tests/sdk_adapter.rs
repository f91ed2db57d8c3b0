//! `SdkDmsApi` over the real SDK client, with responses from `aws-smithy-mocks`: requests as
//! built, responses converted, faults (through the real error deserializer) mapped to our
//! kinds, and throttling retried by the SDK.

use std::time::Duration;

use aws_sdk_databasemigration::Client;
use aws_sdk_databasemigration::config::retry::RetryConfig;
use aws_sdk_databasemigration::operation::create_replication_task::CreateReplicationTaskOutput;
use aws_sdk_databasemigration::operation::describe_replication_tasks::DescribeReplicationTasksOutput;
use aws_sdk_databasemigration::operation::describe_table_statistics::DescribeTableStatisticsOutput;
use aws_sdk_databasemigration::operation::reload_tables::ReloadTablesOutput;
use aws_sdk_databasemigration::operation::start_replication_task::StartReplicationTaskOutput;
use aws_sdk_databasemigration::operation::stop_replication_task::{
    StopReplicationTaskError, StopReplicationTaskOutput,
};
use aws_sdk_databasemigration::types::error::InvalidResourceStateFault;
use aws_sdk_databasemigration::types::{
    MigrationTypeValue, ReloadOptionValue, ReplicationTask, ReplicationTaskStats,
    StartReplicationTaskTypeValue, TableStatistics,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::ErrorMetadata;
use cdc_dms::SdkDmsApi;
use cdc_dms::api::{
    ApiErrorKind, CreateTaskRequest, DmsApi, MigrationType, StartType, TableToReload, TaskFilter,
};
use time::macros::datetime;

const ARN: &str = "arn:aws:dms:us-east-1:123456789012:task:X7RANDOMID";

fn fault(code: &str) -> Option<String> {
    Some(format!(
        r#"{{"__type":"{code}","message":"{code} from the test"}}"#
    ))
}

/// A client over the rules, with standard retries (3 attempts) and near-zero backoff.
fn api(mode: RuleMode, rules: &[&Rule]) -> SdkDmsApi {
    let client = mock_client!(aws_sdk_databasemigration, mode, rules, |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
    ));
    SdkDmsApi::new(client)
}

fn sdk_task(status: &str) -> ReplicationTask {
    ReplicationTask::builder()
        .replication_task_arn(ARN)
        .replication_task_identifier("orders")
        .status(status)
        .source_endpoint_arn("arn:src")
        .target_endpoint_arn("arn:tgt")
        .replication_instance_arn("arn:inst")
        .migration_type(MigrationTypeValue::FullLoadAndCdc)
        .stop_reason("Stop Reason NORMAL")
        .replication_task_creation_date(DateTime::from_secs(1_795_492_687))
        .replication_task_stats(
            ReplicationTaskStats::builder()
                .full_load_progress_percent(40)
                .tables_loaded(1)
                .tables_loading(2)
                .start_date(DateTime::from_secs(1_795_492_700))
                .build(),
        )
        .build()
}

#[tokio::test]
async fn create_sends_every_field_and_converts_the_answer() {
    let rule = mock!(Client::create_replication_task)
        .match_requests(|r| {
            r.replication_task_identifier() == Some("orders")
                && r.source_endpoint_arn() == Some("arn:src")
                && r.target_endpoint_arn() == Some("arn:tgt")
                && r.replication_instance_arn() == Some("arn:inst")
                && r.migration_type() == Some(&MigrationTypeValue::FullLoadAndCdc)
                && r.table_mappings() == Some(r#"{"rules":[]}"#)
                && r.replication_task_settings() == Some(r#"{"Logging":{}}"#)
                && r.cdc_start_time() == Some(&DateTime::from_secs(1_772_366_400))
                && r.cdc_start_position().is_none()
        })
        .then_output(|| {
            CreateReplicationTaskOutput::builder()
                .replication_task(sdk_task("creating"))
                .build()
        });
    let api = api(RuleMode::Sequential, &[&rule]);
    let task = api
        .create_replication_task(CreateTaskRequest {
            identifier: "orders".into(),
            source_endpoint_arn: "arn:src".into(),
            target_endpoint_arn: "arn:tgt".into(),
            replication_instance_arn: "arn:inst".into(),
            migration_type: MigrationType::FullLoadAndCdc,
            table_mappings: r#"{"rules":[]}"#.into(),
            task_settings: Some(r#"{"Logging":{}}"#.into()),
            cdc_start_position: None,
            cdc_start_time: Some(datetime!(2026-03-01 12:00 UTC)),
        })
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(task.arn, ARN);
    assert_eq!(task.status, "creating");
    assert_eq!(task.migration_type.as_deref(), Some("full-load-and-cdc"));
    assert_eq!(task.stop_reason.as_deref(), Some("Stop Reason NORMAL"));
    assert_eq!(
        task.creation_date,
        Some(time::OffsetDateTime::from_unix_timestamp(1_795_492_687).unwrap())
    );
    let stats = task.stats.unwrap();
    assert_eq!(stats.full_load_progress_percent, 40);
    assert_eq!(stats.tables_loading, 2);
    assert_eq!(
        stats.start_date,
        Some(time::OffsetDateTime::from_unix_timestamp(1_795_492_700).unwrap())
    );
}

#[tokio::test]
async fn describe_filters_and_reads_every_page() {
    let page1 = mock!(Client::describe_replication_tasks)
        .match_requests(|r| {
            r.marker().is_none()
                && r.filters().len() == 1
                && r.filters()[0].name() == "replication-task-id"
                && r.filters()[0].values() == ["orders"]
        })
        .then_output(|| {
            DescribeReplicationTasksOutput::builder()
                .replication_tasks(sdk_task("running"))
                .marker("page-2")
                .build()
        });
    let page2 = mock!(Client::describe_replication_tasks)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_output(|| {
            DescribeReplicationTasksOutput::builder()
                .replication_tasks(sdk_task("stopped"))
                .build()
        });
    let api = api(RuleMode::MatchAny, &[&page1, &page2]);
    let tasks = api
        .describe_replication_tasks(TaskFilter::Identifier("orders".into()))
        .await
        .unwrap();
    let statuses: Vec<&str> = tasks.iter().map(|t| t.status.as_str()).collect();
    assert_eq!(statuses, ["running", "stopped"]);
    assert_eq!((page1.num_calls(), page2.num_calls()), (1, 1));

    let by_arn = mock!(Client::describe_replication_tasks)
        .match_requests(|r| {
            r.filters()[0].name() == "replication-task-arn" && r.filters()[0].values() == [ARN]
        })
        .then_output(|| DescribeReplicationTasksOutput::builder().build());
    let api2 = self::api(RuleMode::Sequential, &[&by_arn]);
    assert!(
        api2.describe_replication_tasks(TaskFilter::Arn(ARN.into()))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn start_sends_the_start_type() {
    let rule = mock!(Client::start_replication_task)
        .match_requests(|r| {
            r.replication_task_arn() == Some(ARN)
                && r.start_replication_task_type()
                    == Some(&StartReplicationTaskTypeValue::ResumeProcessing)
        })
        .then_output(|| {
            StartReplicationTaskOutput::builder()
                .replication_task(sdk_task("starting"))
                .build()
        });
    let api = api(RuleMode::Sequential, &[&rule]);
    let task = api
        .start_replication_task(ARN, StartType::ResumeProcessing)
        .await
        .unwrap();
    assert_eq!(task.status, "starting");
}

#[tokio::test]
async fn table_statistics_and_reload_tables() {
    let stats = mock!(Client::describe_table_statistics)
        .match_requests(|r| r.replication_task_arn() == Some(ARN))
        .then_output(|| {
            DescribeTableStatisticsOutput::builder()
                .table_statistics(
                    TableStatistics::builder()
                        .schema_name("public")
                        .table_name("orders")
                        .inserts(5)
                        .ddls(2)
                        .applied_ddls(2)
                        .full_load_rows(100)
                        .table_state("Table completed")
                        .last_update_time(DateTime::from_secs(1_772_366_400))
                        .build(),
                )
                .build()
        });
    let reload = mock!(Client::reload_tables)
        .match_requests(|r| {
            let t = r.tables_to_reload();
            r.replication_task_arn() == Some(ARN)
                && r.reload_option() == Some(&ReloadOptionValue::DataReload)
                && t.len() == 1
                && t[0].schema_name() == "public"
                && t[0].table_name() == "orders"
        })
        .then_output(|| {
            ReloadTablesOutput::builder()
                .replication_task_arn(ARN)
                .build()
        });
    let api = api(RuleMode::MatchAny, &[&stats, &reload]);
    let got = api.describe_table_statistics(ARN).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].schema_name, "public");
    assert_eq!(got[0].ddls, 2);
    assert_eq!(got[0].applied_ddls, Some(2));
    assert_eq!(got[0].full_load_rows, 100);
    assert_eq!(got[0].table_state.as_deref(), Some("Table completed"));
    assert_eq!(
        got[0].last_update_time,
        Some(datetime!(2026-03-01 12:00 UTC))
    );
    api.reload_tables(
        ARN,
        vec![TableToReload {
            schema_name: "public".into(),
            table_name: "orders".into(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(reload.num_calls(), 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let rule = mock!(Client::stop_replication_task)
        .sequence()
        .http_status(400, fault("ThrottlingException"))
        .times(2)
        .output(|| {
            StopReplicationTaskOutput::builder()
                .replication_task(sdk_task("stopping"))
                .build()
        })
        .build();
    let api = api(RuleMode::Sequential, &[&rule]);
    let task = api.stop_replication_task(ARN).await.unwrap();
    assert_eq!(task.status, "stopping");
    assert_eq!(rule.num_calls(), 3, "two throttled attempts, then success");
}

#[tokio::test]
async fn throttling_beyond_the_attempts_is_a_retryable_throttling_error() {
    let rule = mock!(Client::stop_replication_task)
        .sequence()
        .http_status(400, fault("ThrottlingException"))
        .repeatedly()
        .build();
    let api = api(RuleMode::Sequential, &[&rule]);
    let err = api.stop_replication_task(ARN).await.unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::Throttling);
    assert_eq!(err.code.as_deref(), Some("ThrottlingException"));
    assert!(err.is_retryable());
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_service_errors() {
    let rule = mock!(Client::delete_replication_task)
        .sequence()
        .http_status(500, Some("<html>Internal Server Error</html>".into()))
        .repeatedly()
        .build();
    let api = api(RuleMode::Sequential, &[&rule]);
    let err = api.delete_replication_task(ARN).await.unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::Service);
    assert!(err.is_retryable());
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn modelled_faults_map_to_our_kinds() {
    let cases = [
        ("ResourceNotFoundFault", ApiErrorKind::NotFound),
        ("ResourceAlreadyExistsFault", ApiErrorKind::AlreadyExists),
        ("InvalidResourceStateFault", ApiErrorKind::InvalidState),
        ("AccessDeniedFault", ApiErrorKind::AccessDenied),
        ("KMSKeyNotAccessibleFault", ApiErrorKind::AccessDenied),
        ("ResourceQuotaExceededFault", ApiErrorKind::Other),
    ];
    for (code, kind) in cases {
        let rule = mock!(Client::create_replication_task)
            .sequence()
            .http_status(400, fault(code))
            .build();
        let api = api(RuleMode::Sequential, &[&rule]);
        let err = api
            .create_replication_task(CreateTaskRequest {
                identifier: "orders".into(),
                source_endpoint_arn: "arn:src".into(),
                target_endpoint_arn: "arn:tgt".into(),
                replication_instance_arn: "arn:inst".into(),
                migration_type: MigrationType::Cdc,
                table_mappings: "{}".into(),
                task_settings: None,
                cdc_start_position: None,
                cdc_start_time: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{code}");
        assert_eq!(err.code.as_deref(), Some(code));
        assert!(!err.is_retryable(), "{code}");
        assert!(err.to_string().contains("from the test"), "{err}");
        assert_eq!(rule.num_calls(), 1, "{code} is not retried");
    }
}

#[tokio::test]
async fn a_typed_modelled_error_maps_by_its_code() {
    let rule = mock!(Client::stop_replication_task).then_error(|| {
        StopReplicationTaskError::InvalidResourceStateFault(
            InvalidResourceStateFault::builder()
                .message("Replication task is not running")
                .meta(
                    ErrorMetadata::builder()
                        .code("InvalidResourceStateFault")
                        .message("Replication task is not running")
                        .build(),
                )
                .build(),
        )
    });
    let api = api(RuleMode::Sequential, &[&rule]);
    let err = api.stop_replication_task(ARN).await.unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::InvalidState);
}
