//! Bringing a source up and down: `connect` creates the replication task (or adopts the
//! existing one with the same identifier and endpoints), waits until it is `ready`, starts it
//! and starts event delivery; `disconnect` stops delivery, then stops, deletes and waits for
//! the task to be gone.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cdc_core::{SourceConfig, Subscribers};

use super::task_control::stop_and_delete;
use super::wait::{Until, wait_for_status};
use super::{DmsProvider, Slot, Source};
use crate::api::{ApiErrorKind, DmsApi, ReplicationTask, StartType, TaskFilter};
use crate::config::DmsSource;
use crate::delivery::DeliveryState;
use crate::error::DmsError;

impl DmsProvider {
    pub(super) async fn connect_source(&self, config: &SourceConfig) -> Result<(), DmsError> {
        let settings = DmsSource::from_config(config)?;
        let source_id = settings.source_id.clone();
        {
            let mut sources = self.lock();
            if sources.contains_key(&source_id) {
                return Err(DmsError::AlreadyConnected { source_id });
            }
            sources.insert(source_id.clone(), Slot::Connecting);
        }
        // Frees the slot if connect fails or its future is dropped half-way.
        let reservation = Reservation {
            provider: self,
            source_id: Some(source_id),
        };
        let source = self.bring_up(settings).await?;
        reservation.commit(source);
        Ok(())
    }

    /// Creates (or adopts) the task, brings it to running, starts event delivery.
    async fn bring_up(&self, settings: DmsSource) -> Result<Arc<Source>, DmsError> {
        let api = self.dms_api(&settings).await;
        let sid = settings.source_id.as_str();
        let waits = settings.waits;

        let (task, adopted) = match api.create_replication_task(settings.create.clone()).await {
            Ok(task) => (task, false),
            Err(e) if e.kind == ApiErrorKind::AlreadyExists => {
                (adopt(api.as_ref(), &settings).await?, true)
            }
            Err(e) => return Err(DmsError::api(sid, "CreateReplicationTask", e)),
        };
        let arn = task.arn.clone();
        tracing::info!(source_id = sid, task_arn = %arn, adopted, "DMS replication task");

        // DMS refuses to start a task before it is `ready` (the Go provider did not wait).
        let settled: &[&str] = if adopted {
            &["ready", "running", "starting", "stopped", "failed"]
        } else {
            &["ready"]
        };
        let task = wait_for_status(
            api.as_ref(),
            sid,
            &arn,
            Until {
                wanted: settled,
                failed: if adopted { &[] } else { &["failed"] },
                label: "ready",
                timeout: waits.ready_timeout,
                poll: waits.poll_interval,
            },
        )
        .await?;
        let start = match task.status.as_str() {
            "ready" => Some(StartType::StartReplication),
            "stopped" | "failed" => Some(StartType::ResumeProcessing),
            _ => None,
        };
        if let Some(start) = start {
            api.start_replication_task(&arn, start)
                .await
                .map_err(|e| DmsError::api(sid, "StartReplicationTask", e))?;
        }

        let delivery = Arc::new(DeliveryState::with_checkpoints(
            settings
                .kinesis
                .as_ref()
                .map(|k| k.checkpoints.clone())
                .unwrap_or_default(),
        ));
        let subscribers = Subscribers::new(sid);

        #[cfg(feature = "kinesis")]
        let consumer = match &settings.kinesis {
            Some(k) => Some(crate::kinesis::KinesisConsumer::spawn(
                crate::aws::kinesis_client(&self.sdk_base(&settings).await, &settings.aws),
                k.clone(),
                // The before image's field is whatever the task's settings name it.
                crate::record::DmsRecordDecoder::new(sid)
                    .task_settings(settings.create.task_settings.as_deref().unwrap_or("")),
                subscribers.clone(),
                Arc::clone(&delivery),
            )),
            None => None,
        };

        #[cfg(feature = "cloudwatch")]
        let lag = if settings.cloudwatch_lag {
            Some(crate::lag::CloudWatchLag::new(
                crate::aws::cloudwatch_client(&self.sdk_base(&settings).await, &settings.aws),
                &arn,
            ))
        } else {
            None
        };

        Ok(Arc::new(Source {
            #[cfg(feature = "cloudwatch")]
            lag,
            api,
            task_arn: arn,
            adopted,
            paused: AtomicBool::new(false),
            subscribers,
            delivery,
            #[cfg(feature = "kinesis")]
            consumer: tokio::sync::Mutex::new(consumer),
            settings,
        }))
    }

    pub(super) async fn disconnect_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        #[cfg(feature = "kinesis")]
        if let Some(consumer) = source.consumer.lock().await.take() {
            consumer.stop().await;
        }
        stop_and_delete(&source).await?;
        source.subscribers.clear();
        self.lock().remove(source_id);
        Ok(())
    }
}

/// A `Connecting` slot that is removed again unless committed.
struct Reservation<'a> {
    provider: &'a DmsProvider,
    source_id: Option<String>,
}

impl Reservation<'_> {
    fn commit(mut self, source: Arc<Source>) {
        if let Some(id) = self.source_id.take() {
            self.provider.lock().insert(id, Slot::Connected(source));
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.source_id.take() {
            self.provider.lock().remove(&id);
        }
    }
}

/// The existing task with the source's identifier, if it is the same task (same endpoints,
/// instance and migration type).
async fn adopt(api: &dyn DmsApi, settings: &DmsSource) -> Result<ReplicationTask, DmsError> {
    let sid = settings.source_id.as_str();
    let want = &settings.create;
    let tasks = api
        .describe_replication_tasks(TaskFilter::Identifier(want.identifier.clone()))
        .await
        .map_err(|e| DmsError::api(sid, "DescribeReplicationTasks", e))?;
    let Some(task) = tasks
        .into_iter()
        .find(|t| t.identifier.eq_ignore_ascii_case(&want.identifier))
    else {
        return Err(DmsError::InvalidState {
            source_id: sid.to_owned(),
            message: format!(
                "DMS says task {:?} exists but does not describe it (deleted meanwhile?); try again",
                want.identifier
            ),
        });
    };
    let mut mismatch = Vec::new();
    let mut check = |name: &str, have: Option<&str>, want: &str| {
        if have != Some(want) {
            mismatch.push(format!(
                "{name} is {:?}, the source wants {want:?}",
                have.unwrap_or("(none)")
            ));
        }
    };
    check(
        "source_endpoint_arn",
        task.source_endpoint_arn.as_deref(),
        &want.source_endpoint_arn,
    );
    check(
        "target_endpoint_arn",
        task.target_endpoint_arn.as_deref(),
        &want.target_endpoint_arn,
    );
    check(
        "replication_instance_arn",
        task.replication_instance_arn.as_deref(),
        &want.replication_instance_arn,
    );
    if let Some(m) = task.migration_type.as_deref() {
        check("migration_type", Some(m), want.migration_type.as_str());
    }
    if !mismatch.is_empty() {
        return Err(DmsError::Conflict {
            source_id: sid.to_owned(),
            identifier: want.identifier.clone(),
            mismatch: mismatch.join("; "),
        });
    }
    Ok(task)
}
