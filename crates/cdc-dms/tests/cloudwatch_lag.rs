//! Lag from CloudWatch (`CDCLatencySource`) over the real aws-sdk-cloudwatch client with
//! responses from aws-smithy-mocks (moto does not speak the SDK's CloudWatch protocol).

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Datapoint, Dimension, Metric, Statistic};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use cdc_dms::lag::{CloudWatchLag, task_resource_id};

const ARN: &str = "arn:aws:dms:us-east-1:123456789012:task:X7RANDOMID";

fn dimensions() -> Vec<Dimension> {
    vec![
        Dimension::builder()
            .name("ReplicationInstanceIdentifier")
            .value("prod-instance")
            .build(),
        Dimension::builder()
            .name("ReplicationTaskIdentifier")
            .value("X7RANDOMID")
            .build(),
    ]
}

#[tokio::test]
async fn newest_datapoint_of_the_metric_found_by_task_resource_id() {
    assert_eq!(task_resource_id(ARN), "X7RANDOMID");
    let list = mock!(Client::list_metrics)
        .match_requests(|r| {
            r.namespace() == Some("AWS/DMS")
                && r.metric_name() == Some("CDCLatencySource")
                && r.dimensions().len() == 1
                && r.dimensions()[0].name() == Some("ReplicationTaskIdentifier")
                && r.dimensions()[0].value() == Some("X7RANDOMID")
        })
        .then_output(|| {
            ListMetricsOutput::builder()
                .metrics(
                    Metric::builder()
                        .namespace("AWS/DMS")
                        .metric_name("CDCLatencySource")
                        .set_dimensions(Some(dimensions()))
                        .build(),
                )
                .build()
        });
    let get = mock!(Client::get_metric_statistics)
        .match_requests(|r| {
            r.namespace() == Some("AWS/DMS")
                && r.metric_name() == Some("CDCLatencySource")
                && r.dimensions() == dimensions().as_slice()
                && r.statistics() == [Statistic::Maximum]
                && r.period() == Some(60)
        })
        .then_output(|| {
            GetMetricStatisticsOutput::builder()
                .datapoints(
                    Datapoint::builder()
                        .timestamp(DateTime::from_secs(1_772_366_400))
                        .maximum(3.0)
                        .build(),
                )
                .datapoints(
                    Datapoint::builder()
                        .timestamp(DateTime::from_secs(1_772_366_460))
                        .maximum(41.6)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&list, &get]);
    let lag = CloudWatchLag::new(client, ARN);
    assert_eq!(
        lag.seconds().await.unwrap(),
        Some(42),
        "the newest datapoint, rounded"
    );
    assert_eq!(lag.seconds().await.unwrap(), Some(42));
    assert_eq!(
        list.num_calls(),
        1,
        "the metric's dimensions are looked up once"
    );
    assert_eq!(get.num_calls(), 2);
}

#[tokio::test]
async fn no_metric_or_no_datapoint_is_unknown_lag() {
    let list = mock!(Client::list_metrics).then_output(|| ListMetricsOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&list]);
    assert_eq!(
        CloudWatchLag::new(client, ARN).seconds().await.unwrap(),
        None
    );

    let list = mock!(Client::list_metrics).then_output(|| {
        ListMetricsOutput::builder()
            .metrics(Metric::builder().set_dimensions(Some(dimensions())).build())
            .build()
    });
    let get = mock!(Client::get_metric_statistics)
        .then_output(|| GetMetricStatisticsOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&list, &get]);
    assert_eq!(
        CloudWatchLag::new(client, ARN).seconds().await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_failed_call_is_named() {
    let list = mock!(Client::list_metrics)
        .sequence()
        .http_status(403, None)
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&list]);
    let err = CloudWatchLag::new(client, ARN).seconds().await.unwrap_err();
    assert!(err.starts_with("ListMetrics"), "{err}");
}
