//! What a source reports: its status (the task's status mapped, delivery state, Kinesis
//! checkpoints, CloudWatch lag) and its schema history (DDL counts from table statistics;
//! DMS does not expose DDL text).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cdc_core::{CdcStatus, SchemaVersion, SourceState, TableRef};
use serde_json::json;

use super::wait::describe;
use super::{DmsProvider, Slot};
use crate::error::{DmsError, PROVIDER};
use crate::status::task_status;

impl DmsProvider {
    pub(super) async fn status_of(&self, source_id: &str) -> Result<CdcStatus, DmsError> {
        let source = match self.lock().get(source_id) {
            None => return Ok(CdcStatus::not_found(source_id, PROVIDER)),
            Some(Slot::Connecting) => {
                let mut st = CdcStatus::new(source_id, PROVIDER, SourceState::Creating);
                st.details.insert("connecting".into(), json!(true));
                return Ok(st);
            }
            Some(Slot::Connected(s)) => Arc::clone(s),
        };
        let mut status = match describe(source.api.as_ref(), source_id, &source.task_arn).await? {
            Some(task) => task_status(source_id, &task, source.paused.load(Ordering::SeqCst)),
            None => {
                let mut st = CdcStatus::not_found(source_id, PROVIDER);
                st.details
                    .insert("task_arn".into(), json!(source.task_arn.clone()));
                st
            }
        };
        let delivery = source.delivery.snapshot();
        status.last_event = delivery.last_event;
        if let Some(err) = delivery.error_text() {
            status.error = Some(match status.error.take() {
                Some(task_err) => format!("{task_err}; delivery: {err}"),
                None => format!("delivery: {err}"),
            });
        }
        if source.settings.kinesis.is_some() {
            let d = &mut status.details;
            d.insert("kinesis_checkpoints".into(), json!(delivery.checkpoints));
            d.insert(
                "kinesis_millis_behind_latest".into(),
                json!(delivery.millis_behind),
            );
            if let Some(e) = &delivery.last_error {
                d.insert("last_delivery_error".into(), json!(e));
            }
            if !delivery.down.is_empty() {
                d.insert("kinesis_shards_down".into(), json!(delivery.down));
            }
        }
        #[cfg(feature = "cloudwatch")]
        if let Some(lag) = &source.lag {
            let d = &mut status.details;
            d.insert(
                "lag_source".into(),
                json!(format!(
                    "CloudWatch {}/{}",
                    crate::lag::NAMESPACE,
                    crate::lag::METRIC
                )),
            );
            match lag.seconds().await {
                Ok(Some(seconds)) => status.lag_seconds = Some(seconds),
                Ok(None) => {
                    d.insert(
                        "lag_error".into(),
                        json!("no CloudWatch datapoint in the last 10 minutes"),
                    );
                }
                // Lag is extra information: a CloudWatch failure must not hide the task's status.
                Err(e) => {
                    d.insert("lag_error".into(), json!(e));
                }
            }
        }
        status
            .details
            .insert("subscribers".into(), json!(source.subscribers.len()));
        Ok(status)
    }

    pub(super) async fn schema_history_of(
        &self,
        source_id: &str,
        table: &str,
    ) -> Result<Vec<SchemaVersion>, DmsError> {
        let source = self.source(source_id)?;
        let filter = if table.is_empty() {
            None
        } else {
            Some(TableRef::parse(table).map_err(|m| DmsError::config(source_id, "table", m))?)
        };
        let stats = source
            .api
            .describe_table_statistics(&source.task_arn)
            .await
            .map_err(|e| DmsError::api(source_id, "DescribeTableStatistics", e))?;
        let mut versions: Vec<SchemaVersion> = stats
            .into_iter()
            .filter(|s| s.ddls > 0)
            .filter(|s| {
                filter
                    .as_ref()
                    .is_none_or(|f| f.matches(Some(&s.schema_name), &s.table_name))
            })
            .filter_map(|s| {
                let Some(applied_at) = s.last_update_time else {
                    tracing::warn!(source_id, schema = %s.schema_name, table = %s.table_name,
                        "table statistics without LastUpdateTime; DDL count not reported");
                    return None;
                };
                Some(SchemaVersion {
                    table: format!("{}.{}", s.schema_name, s.table_name),
                    version: s.ddls,
                    ddl: format!(
                        "{} DDL statement(s) replicated by AWS DMS (table statistics; DMS does not expose the DDL text)",
                        s.ddls
                    ),
                    applied_at,
                    position: None,
                })
            })
            .collect();
        versions.sort_by(|a, b| a.table.cmp(&b.table));
        Ok(versions)
    }
}
