//! The provider contract (cdc_testkit::conformance) for DMS, against `MockDmsApi` (mockall)
//! playing a DMS that keeps its tasks: created `ready`, started `running`, stopped, deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cdc_core::{CdcProvider, SourceConfig};
use cdc_dms::api::{ApiError, ReplicationTask, TableStatistics, TaskFilter};
use cdc_dms::{DmsProvider, MockDmsApi};
use serde_json::json;

struct Dms {
    provider: Arc<dyn CdcProvider>,
}

impl cdc_testkit::conformance::Harness for Dms {
    fn provider(&self) -> Arc<dyn CdcProvider> {
        Arc::clone(&self.provider)
    }

    fn config(&self, source_id: &str) -> SourceConfig {
        SourceConfig::from_value(json!({
            "provider": "dms", "source_id": source_id, "tables": ["public.orders"],
            "options": {
                "source_endpoint_arn": "arn:aws:dms:us-east-1:123456789012:endpoint:SRC",
                "target_endpoint_arn": "arn:aws:dms:us-east-1:123456789012:endpoint:TGT",
                "replication_instance_arn": "arn:aws:dms:us-east-1:123456789012:rep:INST",
                "poll_interval_ms": 10, "ready_timeout_secs": 30, "stop_timeout_secs": 30,
            }
        }))
        .unwrap()
    }
}

type Tasks = Arc<Mutex<HashMap<String, ReplicationTask>>>;

fn set_status(tasks: &Tasks, arn: &str, status: &str) -> Result<ReplicationTask, ApiError> {
    let mut tasks = tasks.lock().unwrap();
    let task = tasks
        .get_mut(arn)
        .ok_or_else(|| ApiError::not_found("Replication task could not be found."))?;
    task.status = status.into();
    Ok(task.clone())
}

async fn harness() -> Dms {
    let tasks: Tasks = Arc::default();
    let mut mock = MockDmsApi::new();
    let t = Arc::clone(&tasks);
    mock.expect_create_replication_task().returning(move |req| {
        let task = ReplicationTask {
            arn: format!("arn:aws:dms:us-east-1:123456789012:task:{}", req.identifier),
            identifier: req.identifier.clone(),
            status: "ready".into(),
            ..ReplicationTask::default()
        };
        t.lock().unwrap().insert(task.arn.clone(), task.clone());
        Ok(ReplicationTask {
            status: "creating".into(),
            ..task
        })
    });
    let t = Arc::clone(&tasks);
    mock.expect_describe_replication_tasks()
        .returning(move |filter| {
            let tasks = t.lock().unwrap();
            let found: Vec<ReplicationTask> = tasks
                .values()
                .filter(|task| match &filter {
                    TaskFilter::Arn(a) => &task.arn == a,
                    TaskFilter::Identifier(i) => &task.identifier == i,
                })
                .cloned()
                .collect();
            if found.is_empty() {
                Err(ApiError::not_found("Replication task could not be found."))
            } else {
                Ok(found)
            }
        });
    let t = Arc::clone(&tasks);
    mock.expect_start_replication_task()
        .returning(move |arn, _| set_status(&t, arn, "running"));
    let t = Arc::clone(&tasks);
    mock.expect_stop_replication_task()
        .returning(move |arn| set_status(&t, arn, "stopped"));
    let t = Arc::clone(&tasks);
    mock.expect_delete_replication_task().returning(move |arn| {
        let task = set_status(&t, arn, "deleting")?;
        t.lock().unwrap().remove(arn);
        Ok(task)
    });
    mock.expect_describe_table_statistics().returning(|_| {
        Ok(vec![TableStatistics {
            schema_name: "public".into(),
            table_name: "orders".into(),
            ddls: 1,
            ..TableStatistics::default()
        }])
    });
    Dms {
        provider: Arc::new(DmsProvider::with_api(Arc::new(mock))),
    }
}

cdc_testkit::provider_conformance!(harness);
