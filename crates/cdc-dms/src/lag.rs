//! Replication lag from CloudWatch (feature `cloudwatch`, option `cloudwatch_lag: true`).
//!
//! DMS publishes `CDCLatencySource` (seconds between a commit in the source database and DMS
//! reading it) in namespace `AWS/DMS`, once a minute, with the dimensions
//! `ReplicationInstanceIdentifier` and `ReplicationTaskIdentifier`. The task dimension holds the
//! task's resource id, the last part of its ARN, not the identifier we gave it. A metric is
//! addressed by its full set of dimensions, and the instance's name is not in the task, so the
//! metric is first found with `ListMetrics` filtered on the task dimension; its dimensions are
//! cached, then `GetMetricStatistics` gives the newest datapoint of the last ten minutes.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Statistic};

/// The CloudWatch namespace of DMS.
pub const NAMESPACE: &str = "AWS/DMS";
/// The metric read.
pub const METRIC: &str = "CDCLatencySource";
/// How far back a datapoint may be.
const WINDOW: Duration = Duration::from_secs(600);

/// Reads `CDCLatencySource` of one task.
#[derive(Debug)]
pub struct CloudWatchLag {
    client: Client,
    task_resource_id: String,
    dimensions: Mutex<Option<Vec<Dimension>>>,
}

impl CloudWatchLag {
    /// For the task with this ARN.
    pub fn new(client: Client, task_arn: &str) -> Self {
        Self {
            client,
            task_resource_id: task_resource_id(task_arn).to_owned(),
            dimensions: Mutex::new(None),
        }
    }

    /// The newest lag in seconds, `None` when CloudWatch has no datapoint (yet). The error
    /// names the CloudWatch call that failed.
    pub async fn seconds(&self) -> Result<Option<i64>, String> {
        let cached = self
            .dimensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let dimensions = match cached {
            Some(d) => d,
            None => match self.find_dimensions().await? {
                Some(d) => {
                    *self.dimensions.lock().unwrap_or_else(|p| p.into_inner()) = Some(d.clone());
                    d
                }
                None => return Ok(None),
            },
        };
        let end = SystemTime::now();
        let out = self
            .client
            .get_metric_statistics()
            .namespace(NAMESPACE)
            .metric_name(METRIC)
            .set_dimensions(Some(dimensions))
            .start_time(DateTime::from(end - WINDOW))
            .end_time(DateTime::from(end))
            .period(60)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .map_err(|e| format!("GetMetricStatistics: {}", self.describe(&e)))?;
        let newest = out
            .datapoints()
            .iter()
            .filter(|d| d.maximum().is_some())
            .max_by_key(|d| d.timestamp().map(|t| t.as_nanos()).unwrap_or(i128::MIN));
        Ok(newest.and_then(|d| d.maximum()).map(|v| v.round() as i64))
    }

    /// An SDK error of this client, naming its timeouts.
    fn describe<E, R>(&self, e: &aws_sdk_cloudwatch::error::SdkError<E, R>) -> String
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        crate::aws::describe_error(e, self.client.config().timeout_config())
    }

    async fn find_dimensions(&self) -> Result<Option<Vec<Dimension>>, String> {
        let out = self
            .client
            .list_metrics()
            .namespace(NAMESPACE)
            .metric_name(METRIC)
            .dimensions(
                DimensionFilter::builder()
                    .name("ReplicationTaskIdentifier")
                    .value(&self.task_resource_id)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| format!("ListMetrics: {}", self.describe(&e)))?;
        Ok(out.metrics().first().map(|m| m.dimensions().to_vec()))
    }
}

/// The resource id of a task: the part of its ARN after the last `:`.
pub fn task_resource_id(task_arn: &str) -> &str {
    task_arn.rsplit(':').next().unwrap_or(task_arn)
}
