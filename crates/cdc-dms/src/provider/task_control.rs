//! Stopping a task and waiting for it: shared by pause, snapshot (reload-target) and
//! disconnect.

use super::Source;
use super::wait::{Until, describe, wait_for_status, wait_until_gone};
use crate::api::{ApiErrorKind, ReplicationTask};
use crate::error::DmsError;

/// The task now; gone is an error here.
pub(super) async fn current(source: &Source) -> Result<ReplicationTask, DmsError> {
    let sid = source.settings.source_id.as_str();
    describe(source.api.as_ref(), sid, &source.task_arn)
        .await?
        .ok_or_else(|| DmsError::TaskNotFound {
            source_id: sid.to_owned(),
            task: source.task_arn.clone(),
        })
}

/// Stops a running (or starting) task and waits until it is stopped.
pub(super) async fn stop_and_wait(source: &Source, task: &ReplicationTask) -> Result<(), DmsError> {
    let sid = source.settings.source_id.as_str();
    if task.status == "starting" {
        // DMS refuses to stop a task that is still starting: let it get going first.
        let waits = source.settings.waits;
        let task = wait_for_status(
            source.api.as_ref(),
            sid,
            &source.task_arn,
            Until {
                wanted: &["running", "stopped", "failed"],
                failed: &[],
                label: "running",
                timeout: waits.ready_timeout,
                poll: waits.poll_interval,
            },
        )
        .await?;
        if task.status != "running" {
            return Ok(());
        }
    }
    match source.api.stop_replication_task(&source.task_arn).await {
        Ok(_) => {}
        // Stopped meanwhile (it finished a full load, or someone else stopped it).
        Err(e) if e.kind == ApiErrorKind::InvalidState => {
            tracing::debug!(source_id = sid, %e, "stop refused; waiting for stopped anyway");
        }
        Err(e) => return Err(DmsError::api(sid, "StopReplicationTask", e)),
    }
    wait_stopped(source).await.map(drop)
}

pub(super) async fn wait_stopped(source: &Source) -> Result<ReplicationTask, DmsError> {
    let waits = source.settings.waits;
    wait_for_status(
        source.api.as_ref(),
        &source.settings.source_id,
        &source.task_arn,
        Until {
            wanted: &["stopped", "failed"],
            failed: &[],
            label: "stopped",
            timeout: waits.stop_timeout,
            poll: waits.poll_interval,
        },
    )
    .await
}

/// Disconnect's DMS part: stop if running, delete, wait until gone. Gone already is fine.
pub(super) async fn stop_and_delete(source: &Source) -> Result<(), DmsError> {
    let sid = source.settings.source_id.as_str();
    let api = source.api.as_ref();
    let Some(task) = describe(api, sid, &source.task_arn).await? else {
        return Ok(());
    };
    let stopped = match task.status.as_str() {
        "running" | "starting" => stop_and_wait(source, &task).await,
        "stopping" => wait_stopped(source).await.map(drop),
        _ => Ok(()),
    };
    match stopped {
        Err(DmsError::TaskNotFound { .. }) => return Ok(()),
        other => other?,
    }
    match api.delete_replication_task(&source.task_arn).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(DmsError::api(sid, "DeleteReplicationTask", e)),
    }
    let waits = source.settings.waits;
    wait_until_gone(
        api,
        sid,
        &source.task_arn,
        waits.stop_timeout,
        waits.poll_interval,
    )
    .await
}
