//! Waiting for a task to reach a status, by polling `DescribeReplicationTasks`.
//!
//! The SDK has waiters, but they poll every 15 s for 15 minutes and only answer yes or no;
//! polling here honours the source's timeouts and reports the last status and DMS's failure
//! message.

use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::api::{DmsApi, ReplicationTask, TaskFilter};
use crate::error::DmsError;

/// The task, or `None` when DMS does not know it (an empty answer or `ResourceNotFoundFault`).
pub(crate) async fn describe(
    api: &dyn DmsApi,
    source_id: &str,
    task_arn: &str,
) -> Result<Option<ReplicationTask>, DmsError> {
    match api
        .describe_replication_tasks(TaskFilter::Arn(task_arn.to_owned()))
        .await
    {
        Ok(tasks) => Ok(tasks.into_iter().find(|t| t.arn == task_arn)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(DmsError::api(source_id, "DescribeReplicationTasks", e)),
    }
}

/// What to wait for.
pub(crate) struct Until<'a> {
    /// Statuses that end the wait.
    pub wanted: &'a [&'a str],
    /// Statuses that end it with [`DmsError::TaskFailed`].
    pub failed: &'a [&'a str],
    /// For messages: what we wait for (`ready`, `stopped`).
    pub label: &'a str,
    /// Give up after this long.
    pub timeout: Duration,
    /// Look this often.
    pub poll: Duration,
}

/// Polls until the task's status is one of `until.wanted`. A task that disappears is
/// [`DmsError::TaskNotFound`]; retryable describe errors are retried until the timeout.
pub(crate) async fn wait_for_status(
    api: &dyn DmsApi,
    source_id: &str,
    task_arn: &str,
    until: Until<'_>,
) -> Result<ReplicationTask, DmsError> {
    let start = Instant::now();
    let mut last_status: String;
    loop {
        match describe(api, source_id, task_arn).await {
            Ok(Some(task)) => {
                if until.wanted.contains(&task.status.as_str()) {
                    return Ok(task);
                }
                if until.failed.contains(&task.status.as_str()) {
                    let message = task
                        .last_failure_message
                        .clone()
                        .or_else(|| task.stop_reason.clone())
                        .unwrap_or_else(|| "DMS gave no failure message".into());
                    return Err(DmsError::TaskFailed {
                        source_id: source_id.to_owned(),
                        task_arn: task_arn.to_owned(),
                        status: task.status,
                        message,
                    });
                }
                last_status = task.status;
            }
            Ok(None) => {
                return Err(DmsError::TaskNotFound {
                    source_id: source_id.to_owned(),
                    task: task_arn.to_owned(),
                });
            }
            Err(DmsError::Api { error, .. }) if error.is_retryable() => {
                tracing::warn!(source_id, task_arn, %error, "describe failed while waiting; retrying");
                last_status = format!("(describe failed: {error})");
            }
            Err(e) => return Err(e),
        }
        if start.elapsed() + until.poll > until.timeout {
            return Err(DmsError::Timeout {
                source_id: source_id.to_owned(),
                task_arn: task_arn.to_owned(),
                wanted: until.label.to_owned(),
                last_status,
                waited: start.elapsed(),
            });
        }
        sleep(until.poll).await;
    }
}

/// Polls until DMS no longer knows the task (after a delete).
pub(crate) async fn wait_until_gone(
    api: &dyn DmsApi,
    source_id: &str,
    task_arn: &str,
    timeout: Duration,
    poll: Duration,
) -> Result<(), DmsError> {
    let start = Instant::now();
    loop {
        let last_status = match describe(api, source_id, task_arn).await? {
            None => return Ok(()),
            Some(task) => task.status,
        };
        if start.elapsed() + poll > timeout {
            return Err(DmsError::Timeout {
                source_id: source_id.to_owned(),
                task_arn: task_arn.to_owned(),
                wanted: "deleted".into(),
                last_status,
                waited: start.elapsed(),
            });
        }
        sleep(poll).await;
    }
}
