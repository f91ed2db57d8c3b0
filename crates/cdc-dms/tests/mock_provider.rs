//! The provider's logic against `MockDmsApi` (mockall): every path of connect, status,
//! pause/resume, snapshot, schema history and disconnect.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cdc_core::{CdcError, CdcProvider, SourceConfig, SourceState};
use cdc_dms::api::{
    ApiError, ApiErrorKind, CreateTaskRequest, MigrationType, ReplicationTask, StartType,
    TableStatistics, TableToReload, TaskFilter, TaskStats,
};
use cdc_dms::{DmsProvider, MockDmsApi};
use serde_json::{Value, json};
use time::macros::datetime;

const SRC: &str = "arn:aws:dms:us-east-1:123456789012:endpoint:SRC";
const TGT: &str = "arn:aws:dms:us-east-1:123456789012:endpoint:TGT";
const INST: &str = "arn:aws:dms:us-east-1:123456789012:rep:INST";
/// Real DMS task ARNs carry a random id, not the identifier: the provider must use this one.
const ARN: &str = "arn:aws:dms:us-east-1:123456789012:task:X7RANDOMID";

fn config(source_id: &str, tables: &[&str], extra: Value) -> SourceConfig {
    let mut options = json!({
        "source_endpoint_arn": SRC,
        "target_endpoint_arn": TGT,
        "replication_instance_arn": INST,
        "poll_interval_ms": 10,
        "ready_timeout_secs": 30,
        "stop_timeout_secs": 30,
    });
    if let Value::Object(extra) = extra {
        options.as_object_mut().unwrap().extend(extra);
    }
    SourceConfig::from_value(json!({
        "provider": "dms", "source_id": source_id, "tables": tables, "options": options
    }))
    .unwrap()
}

fn task(status: &str) -> ReplicationTask {
    ReplicationTask {
        arn: ARN.into(),
        identifier: "orders".into(),
        status: status.into(),
        source_endpoint_arn: Some(SRC.into()),
        target_endpoint_arn: Some(TGT.into()),
        replication_instance_arn: Some(INST.into()),
        migration_type: Some("cdc".into()),
        ..ReplicationTask::default()
    }
}

/// `DescribeReplicationTasks` (by ARN) answers with these, in order; the last one repeats.
/// `None` stands for `ResourceNotFoundFault`.
fn describe_script(
    mock: &mut MockDmsApi,
    script: Vec<Option<ReplicationTask>>,
) -> Arc<Mutex<usize>> {
    let calls = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&calls);
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    mock.expect_describe_replication_tasks()
        .withf(|f| *f == TaskFilter::Arn(ARN.into()))
        .returning(move |_| {
            *seen.lock().unwrap() += 1;
            let mut s = script.lock().unwrap();
            let next = if s.len() > 1 {
                s.pop_front().unwrap()
            } else {
                s[0].clone()
            };
            match next {
                Some(t) => Ok(vec![t]),
                None => Err(ApiError::not_found("Replication task could not be found.")),
            }
        });
    calls
}

fn statuses(list: &[&str]) -> Vec<Option<ReplicationTask>> {
    list.iter().map(|s| Some(task(s))).collect()
}

fn expect_create_ok(mock: &mut MockDmsApi) -> Arc<Mutex<Option<CreateTaskRequest>>> {
    let seen = Arc::new(Mutex::new(None));
    let keep = Arc::clone(&seen);
    mock.expect_create_replication_task()
        .times(1)
        .returning(move |req| {
            *keep.lock().unwrap() = Some(req);
            Ok(task("creating"))
        });
    seen
}

fn expect_start(mock: &mut MockDmsApi, start: StartType, then: &'static str) {
    mock.expect_start_replication_task()
        .withf(move |arn, t| arn == ARN && *t == start)
        .times(1)
        .returning(move |_, _| Ok(task(then)));
}

/// A provider with `orders` connected (create → creating, ready → start-replication), and the
/// describe answers after connect.
async fn connected(mut mock: MockDmsApi, after: Vec<Option<ReplicationTask>>) -> DmsProvider {
    expect_create_ok(&mut mock);
    let mut script = statuses(&["creating", "ready"]);
    script.extend(after);
    describe_script(&mut mock, script);
    expect_start(&mut mock, StartType::StartReplication, "starting");
    let p = DmsProvider::with_api(Arc::new(mock));
    p.connect(&config(
        "orders",
        &["public.orders", "customers"],
        json!({}),
    ))
    .await
    .unwrap();
    p
}

#[tokio::test]
async fn connect_creates_waits_until_ready_then_starts_with_the_returned_arn() {
    let mut mock = MockDmsApi::new();
    let request = expect_create_ok(&mut mock);
    let describes = describe_script(
        &mut mock,
        statuses(&["creating", "creating", "ready", "running"]),
    );
    expect_start(&mut mock, StartType::StartReplication, "starting");
    let p = DmsProvider::with_api(Arc::new(mock));
    p.connect(&config(
        "orders",
        &["public.orders", "customers"],
        json!({"migration_type": "full-load-and-cdc", "task_settings": {"Logging": {"EnableLogging": true}}}),
    ))
    .await
    .unwrap();

    assert_eq!(
        *describes.lock().unwrap(),
        3,
        "polled until ready, then started"
    );
    assert_eq!(p.task_arn("orders").unwrap(), ARN);
    assert!(!p.adopted("orders").unwrap());
    let req = request.lock().unwrap().clone().unwrap();
    assert_eq!(req.identifier, "orders");
    assert_eq!(req.source_endpoint_arn, SRC);
    assert_eq!(req.target_endpoint_arn, TGT);
    assert_eq!(req.replication_instance_arn, INST);
    assert_eq!(req.migration_type, MigrationType::FullLoadAndCdc);
    let settings: Value = serde_json::from_str(req.task_settings.as_deref().unwrap()).unwrap();
    assert_eq!(settings["Logging"]["EnableLogging"], true);
    let mappings: Value = serde_json::from_str(&req.table_mappings).unwrap();
    let locators: Vec<&Value> = mappings["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["object-locator"])
        .collect();
    assert_eq!(
        locators,
        [
            &json!({"schema-name": "public", "table-name": "orders"}),
            &json!({"schema-name": "%", "table-name": "customers"})
        ]
    );
    let st = p.status("orders").await.unwrap();
    assert_eq!(st.state, SourceState::Running);
    assert_eq!(st.details["task_arn"], ARN);
}

#[tokio::test]
async fn create_failure_is_an_error_and_leaves_nothing_connected() {
    let mut mock = MockDmsApi::new();
    mock.expect_create_replication_task()
        .times(1)
        .returning(|_| {
            Err(ApiError::new(ApiErrorKind::AccessDenied, "not allowed")
                .with_code("AccessDeniedFault"))
        });
    let p = DmsProvider::with_api(Arc::new(mock));
    let err = p
        .connect(&config("orders", &[], json!({})))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("CreateReplicationTask") && text.contains("AccessDeniedFault"),
        "{text}"
    );
    assert_eq!(err.source_id(), Some("orders"));
    assert!(!err.is_retryable());
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test]
async fn start_failure_is_an_error() {
    let mut mock = MockDmsApi::new();
    expect_create_ok(&mut mock);
    describe_script(&mut mock, statuses(&["ready"]));
    mock.expect_start_replication_task()
        .times(1)
        .returning(|_, _| Err(ApiError::invalid_state("Replication task is not ready")));
    let p = DmsProvider::with_api(Arc::new(mock));
    let err = p
        .connect(&config("orders", &[], json!({})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("StartReplicationTask"), "{err}");
    assert!(
        p.task_arn("orders").is_err(),
        "not connected after a failed start"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_for_ready_times_out_naming_the_last_status() {
    let mut mock = MockDmsApi::new();
    expect_create_ok(&mut mock);
    describe_script(&mut mock, statuses(&["creating"]));
    // No start expectation: starting a task that is not ready would panic the mock.
    let p = DmsProvider::with_api(Arc::new(mock));
    let err = p
        .connect(&config(
            "orders",
            &[],
            json!({"ready_timeout_secs": 2, "poll_interval_ms": 500}),
        ))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("did not become ready") && text.contains("creating"),
        "{text}"
    );
    assert!(err.is_retryable(), "a timeout may pass on a later try");
}

#[tokio::test]
async fn a_task_that_fails_while_created_reports_why() {
    let mut mock = MockDmsApi::new();
    expect_create_ok(&mut mock);
    let mut failed = task("failed");
    failed.last_failure_message = Some("Endpoint TGT is not reachable".into());
    describe_script(&mut mock, vec![Some(task("creating")), Some(failed)]);
    let p = DmsProvider::with_api(Arc::new(mock));
    let err = p
        .connect(&config("orders", &[], json!({})))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Endpoint TGT is not reachable"),
        "{err}"
    );
}

#[tokio::test]
async fn duplicate_connect_is_refused_without_calling_dms() {
    let p = connected(MockDmsApi::new(), vec![]).await;
    let err = p
        .connect(&config("orders", &[], json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, CdcError::AlreadyExists { .. }), "{err:?}");
}

fn expect_create_taken(mock: &mut MockDmsApi, existing: ReplicationTask) {
    mock.expect_create_replication_task()
        .times(1)
        .returning(|_| {
            Err(ApiError::already_exists(
                "The resource you are attempting to create already exists.",
            ))
        });
    mock.expect_describe_replication_tasks()
        .withf(|f| *f == TaskFilter::Identifier("orders".into()))
        .times(1)
        .returning(move |_| Ok(vec![existing.clone()]));
}

#[tokio::test]
async fn an_existing_running_task_with_the_same_endpoints_is_adopted() {
    let mut mock = MockDmsApi::new();
    expect_create_taken(&mut mock, task("running"));
    describe_script(&mut mock, statuses(&["running"]));
    // Already running: no start call (the mock would panic on one).
    let p = DmsProvider::with_api(Arc::new(mock));
    p.connect(&config("orders", &[], json!({}))).await.unwrap();
    assert!(p.adopted("orders").unwrap());
    assert_eq!(p.task_arn("orders").unwrap(), ARN);
}

#[tokio::test]
async fn an_adopted_stopped_task_is_resumed() {
    let mut mock = MockDmsApi::new();
    expect_create_taken(&mut mock, task("stopped"));
    describe_script(&mut mock, statuses(&["stopped"]));
    expect_start(&mut mock, StartType::ResumeProcessing, "starting");
    let p = DmsProvider::with_api(Arc::new(mock));
    p.connect(&config("orders", &[], json!({}))).await.unwrap();
    assert!(p.adopted("orders").unwrap());
}

#[tokio::test]
async fn an_existing_task_with_other_endpoints_is_a_clear_error() {
    let mut mock = MockDmsApi::new();
    let mut other = task("running");
    other.target_endpoint_arn = Some("arn:aws:dms:us-east-1:123456789012:endpoint:OTHER".into());
    expect_create_taken(&mut mock, other);
    let p = DmsProvider::with_api(Arc::new(mock));
    let err = p
        .connect(&config("orders", &[], json!({})))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("already exists")
            && text.contains("target_endpoint_arn")
            && text.contains("OTHER"),
        "{text}"
    );
    assert!(p.task_arn("orders").is_err());
}

#[tokio::test]
async fn every_dms_status_maps_to_a_state() {
    let cases = [
        ("creating", SourceState::Creating),
        ("ready", SourceState::Ready),
        ("starting", SourceState::Starting),
        ("running", SourceState::Running),
        ("stopping", SourceState::Stopping),
        ("stopped", SourceState::Stopped),
        ("failed", SourceState::Error),
        ("deleting", SourceState::Deleting),
        ("modifying", SourceState::Modifying),
        ("moving", SourceState::Modifying),
        ("failed-move", SourceState::Error),
        ("testing", SourceState::Modifying),
        ("something-new", SourceState::Unknown),
    ];
    let after: Vec<&str> = cases.iter().map(|(s, _)| *s).collect();
    let p = connected(MockDmsApi::new(), statuses(&after)).await;
    for (dms, state) in cases {
        let st = p.status("orders").await.unwrap();
        assert_eq!(st.state, state, "DMS status {dms}");
        assert_eq!(st.details["dms_status"], dms);
        assert_eq!(st.provider, "dms");
        assert_eq!(st.lag_seconds, None, "lag is unknown, never a made-up zero");
    }
}

#[tokio::test]
async fn status_carries_failure_message_stop_reason_and_stats() {
    let mut failed = task("stopped");
    failed.stop_reason = Some("Stop Reason FATAL_ERROR".into());
    failed.last_failure_message = Some("Last Error ORA-00942: table or view does not exist".into());
    failed.recovery_checkpoint = Some("checkpoint:V1#27#0000".into());
    let mut loading = task("running");
    loading.stats = Some(TaskStats {
        full_load_progress_percent: 40,
        tables_loaded: 1,
        tables_loading: 1,
        tables_queued: 2,
        start_date: Some(datetime!(2026-03-01 12:00 UTC)),
        ..TaskStats::default()
    });
    let p = connected(MockDmsApi::new(), vec![Some(failed), Some(loading)]).await;

    let st = p.status("orders").await.unwrap();
    assert_eq!(st.state, SourceState::Error);
    let error = st.error.unwrap();
    assert!(
        error.contains("ORA-00942") && error.contains("FATAL_ERROR"),
        "{error}"
    );
    assert_eq!(st.details["recovery_checkpoint"], "checkpoint:V1#27#0000");

    let st = p.status("orders").await.unwrap();
    assert_eq!(st.state, SourceState::Snapshot, "tables are being loaded");
    assert_eq!(st.details["task_stats"]["full_load_progress_percent"], 40);
    assert_eq!(st.details["task_stats"]["tables_queued"], 2);
    assert_eq!(
        st.details["task_stats"]["start_date"],
        "2026-03-01T12:00:00Z"
    );
    assert_eq!(st.error, None);
}

#[tokio::test]
async fn an_empty_describe_and_not_found_fault_both_mean_not_found() {
    let p = connected(MockDmsApi::new(), vec![None]).await;
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
    assert_eq!(
        p.status("never-connected").await.unwrap().state,
        SourceState::NotFound
    );

    let mut mock = MockDmsApi::new();
    expect_create_ok(&mut mock);
    let calls = Arc::new(Mutex::new(0));
    let c = Arc::clone(&calls);
    mock.expect_describe_replication_tasks()
        .returning(move |_| {
            *c.lock().unwrap() += 1;
            // ready while connecting, then an empty answer
            if *c.lock().unwrap() == 1 {
                Ok(vec![task("ready")])
            } else {
                Ok(vec![])
            }
        });
    expect_start(&mut mock, StartType::StartReplication, "starting");
    let p = DmsProvider::with_api(Arc::new(mock));
    p.connect(&config("orders", &[], json!({}))).await.unwrap();
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test]
async fn pause_stops_and_resume_processes_on() {
    let mut mock = MockDmsApi::new();
    mock.expect_stop_replication_task()
        .withf(|arn| arn == ARN)
        .times(1)
        .returning(|_| Ok(task("stopping")));
    expect_start(&mut mock, StartType::ResumeProcessing, "starting");
    let p = connected(
        mock,
        statuses(&[
            "running", "stopping", "stopped", "stopped", "stopped", "running",
        ]),
    )
    .await;
    let pausable = p.pausable().expect("dms can pause");
    pausable.pause("orders").await.unwrap();
    assert_eq!(p.status("orders").await.unwrap().state, SourceState::Paused);
    pausable.resume("orders").await.unwrap();
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::Running
    );
}

#[tokio::test]
async fn snapshot_without_tables_restarts_with_reload_target() {
    let mut mock = MockDmsApi::new();
    mock.expect_stop_replication_task()
        .times(1)
        .returning(|_| Ok(task("stopping")));
    expect_start(&mut mock, StartType::ReloadTarget, "starting");
    let p = connected(mock, statuses(&["running", "stopping", "stopped"])).await;
    let report = p.snapshot("orders", &[]).await.unwrap();
    assert_eq!(report.method, "reload_target");
    assert!(report.tables.is_empty());
}

#[tokio::test]
async fn snapshot_with_tables_reloads_exactly_those() {
    let mut mock = MockDmsApi::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&seen);
    mock.expect_reload_tables()
        .withf(|arn, _| arn == ARN)
        .times(1)
        .returning(move |_, tables| {
            *keep.lock().unwrap() = tables;
            Ok(())
        });
    // source tables: public.orders and customers (any schema)
    let p = connected(mock, statuses(&["running"])).await;
    let report = p
        .snapshot("orders", &["orders".into(), "sales.customers".into()])
        .await
        .unwrap();
    assert_eq!(report.method, "reload_tables");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            TableToReload {
                schema_name: "public".into(),
                table_name: "orders".into()
            },
            TableToReload {
                schema_name: "sales".into(),
                table_name: "customers".into()
            },
        ]
    );

    // Not captured by the source, and a bare name with no schema to take: errors, no call.
    let err = p
        .snapshot("orders", &["public.invoices".into()])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("tables[0]") && err.to_string().contains("invoices"),
        "{err}"
    );
    let err = p
        .snapshot("orders", &["customers".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
}

#[tokio::test]
async fn schema_history_reports_ddl_counts_from_table_statistics() {
    let mut mock = MockDmsApi::new();
    mock.expect_describe_table_statistics()
        .withf(|arn| arn == ARN)
        .returning(|_| {
            Ok(vec![
                TableStatistics {
                    schema_name: "public".into(),
                    table_name: "orders".into(),
                    ddls: 2,
                    inserts: 10,
                    last_update_time: Some(datetime!(2026-03-02 08:00 UTC)),
                    ..TableStatistics::default()
                },
                TableStatistics {
                    schema_name: "public".into(),
                    table_name: "customers".into(),
                    ddls: 0,
                    last_update_time: Some(datetime!(2026-03-02 09:00 UTC)),
                    ..TableStatistics::default()
                },
                TableStatistics {
                    schema_name: "audit".into(),
                    table_name: "orders".into(),
                    ddls: 1,
                    last_update_time: Some(datetime!(2026-03-01 07:00 UTC)),
                    ..TableStatistics::default()
                },
            ])
        });
    let p = connected(mock, vec![]).await;
    let all = p.schema_history("orders", "").await.unwrap();
    assert_eq!(all.len(), 2, "tables without DDL are not listed");
    assert_eq!(all[0].table, "audit.orders");
    assert_eq!(all[1].table, "public.orders");
    assert_eq!(all[1].version, 2);
    assert_eq!(all[1].applied_at, datetime!(2026-03-02 08:00 UTC));
    assert!(all[1].ddl.contains("2 DDL"));
    let one = p.schema_history("orders", "public.orders").await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].version, 2);
    assert_eq!(p.schema_history("orders", "orders").await.unwrap().len(), 2);
    assert!(p.schema_history("orders", "a.b.c").await.is_err());
}

#[tokio::test]
async fn disconnect_stops_waits_deletes_and_waits_until_gone() {
    let mut mock = MockDmsApi::new();
    mock.expect_stop_replication_task()
        .times(1)
        .returning(|_| Ok(task("stopping")));
    mock.expect_delete_replication_task()
        .withf(|arn| arn == ARN)
        .times(1)
        .returning(|_| Ok(task("deleting")));
    let p = connected(
        mock,
        vec![
            Some(task("running")),
            Some(task("stopped")),
            Some(task("deleting")),
            None,
        ],
    )
    .await;
    p.disconnect("orders").await.unwrap();
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
    assert!(matches!(
        p.disconnect("orders").await.unwrap_err(),
        CdcError::NotFound { .. }
    ));
}

#[tokio::test]
async fn disconnect_of_a_task_already_gone_is_not_an_error() {
    // Gone before disconnect: no stop, no delete (the mock would panic on either).
    let p = connected(MockDmsApi::new(), vec![None]).await;
    p.disconnect("orders").await.unwrap();

    // Gone between describe and delete.
    let mut mock = MockDmsApi::new();
    mock.expect_delete_replication_task()
        .times(1)
        .returning(|_| Err(ApiError::not_found("Replication task could not be found.")));
    let p = connected(mock, statuses(&["stopped"])).await;
    p.disconnect("orders").await.unwrap();
}

#[tokio::test]
async fn operations_on_an_unknown_source_are_not_found() {
    let p = DmsProvider::with_api(Arc::new(MockDmsApi::new()));
    assert!(matches!(
        p.disconnect("x").await.unwrap_err(),
        CdcError::NotFound { .. }
    ));
    assert!(matches!(
        p.snapshot("x", &[]).await.unwrap_err(),
        CdcError::NotFound { .. }
    ));
    assert!(matches!(
        p.pausable().unwrap().pause("x").await.unwrap_err(),
        CdcError::NotFound { .. }
    ));
    let handler = cdc_core::handler_fn(|_| async { Ok(()) });
    assert!(p.subscribe("x", handler).is_err());
}

#[tokio::test]
async fn bad_config_fails_before_any_call() {
    // No expectations: any DMS call would panic.
    let p = DmsProvider::with_api(Arc::new(MockDmsApi::new()));
    let mut cfg = config("orders", &[], json!({}));
    cfg.options.remove("target_endpoint_arn");
    let err = p.connect(&cfg).await.unwrap_err();
    assert!(
        err.to_string().contains("options.target_endpoint_arn"),
        "{err}"
    );
    let err = p
        .connect(&config(
            "orders",
            &[],
            json!({"migration_type": "full-load-and-stuff"}),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("options.migration_type"), "{err}");
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
}

#[tokio::test(start_paused = true)]
async fn a_connect_dropped_half_way_leaves_no_source_behind() {
    let mut mock = MockDmsApi::new();
    expect_create_ok(&mut mock);
    describe_script(&mut mock, statuses(&["creating"]));
    let p = DmsProvider::with_api(Arc::new(mock));
    let cfg = config("orders", &[], json!({}));
    let connecting = tokio::time::timeout(std::time::Duration::from_secs(1), p.connect(&cfg));
    assert!(connecting.await.is_err(), "still waiting for ready");
    assert_eq!(
        p.status("orders").await.unwrap().state,
        SourceState::NotFound
    );
}
