//! Pause and resume: pause holds event delivery first (pausing is for backpressure, the
//! stream's backlog waits too), then stops the task; resume starts it with
//! `resume-processing` and releases delivery.

use std::sync::atomic::Ordering;

use super::task_control::{current, stop_and_wait, wait_stopped};
use super::{DmsProvider, Source};
use crate::api::StartType;
use crate::error::DmsError;

impl DmsProvider {
    pub(super) async fn pause_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        let was_paused = source.paused.load(Ordering::SeqCst);
        // Hold delivery first: pausing is for backpressure, the stream's backlog waits too.
        source.delivery.hold(true);
        let stopped = stop_for_pause(&source).await;
        match stopped {
            Ok(()) => source.paused.store(true, Ordering::SeqCst),
            Err(_) if !was_paused => source.delivery.hold(false),
            Err(_) => {}
        }
        stopped
    }

    pub(super) async fn resume_source(&self, source_id: &str) -> Result<(), DmsError> {
        let source = self.source(source_id)?;
        let task = current(&source).await?;
        match task.status.as_str() {
            "stopped" | "failed" => {
                source
                    .api
                    .start_replication_task(&source.task_arn, StartType::ResumeProcessing)
                    .await
                    .map_err(|e| DmsError::api(source_id, "StartReplicationTask", e))?;
            }
            "running" | "starting" => {}
            other => {
                return Err(DmsError::InvalidState {
                    source_id: source_id.to_owned(),
                    message: format!("cannot resume a task in status {other:?}"),
                });
            }
        }
        source.paused.store(false, Ordering::SeqCst);
        source.delivery.hold(false);
        Ok(())
    }
}

/// Pause's DMS part: stop the task unless it is stopped already.
async fn stop_for_pause(source: &Source) -> Result<(), DmsError> {
    let task = current(source).await?;
    match task.status.as_str() {
        "running" | "starting" => stop_and_wait(source, &task).await,
        "stopping" => wait_stopped(source).await.map(drop),
        "stopped" => Ok(()),
        other => Err(DmsError::InvalidState {
            source_id: source.settings.source_id.clone(),
            message: format!("cannot pause a task in status {other:?}"),
        }),
    }
}
