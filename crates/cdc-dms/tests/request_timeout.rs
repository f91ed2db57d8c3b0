//! `options.request_timeout_ms`: the real SDK clients built by `cdc_dms::aws`, pointed at a
//! local endpoint that accepts connections and never answers, fail each call within a bound
//! instead of waiting forever, as a transport error naming the option.
//!
//! Every call runs under `tokio::time::timeout(BOUND)`, so clients without timeouts fail
//! these tests instead of hanging them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ConnectorError, SdkError};
use aws_sdk_kinesis::operation::list_shards::ListShardsError;
use cdc_core::{CdcError, CdcProvider, SourceConfig};
use cdc_dms::api::{ApiError, ApiErrorKind, DmsApi, StartType, TaskFilter};
use cdc_dms::aws::{MAX_CONNECT_TIMEOUT, describe_error};
use cdc_dms::config::AwsSettings;
use cdc_dms::{DmsProvider, SdkDmsApi};
use serde_json::json;
use tokio::net::TcpListener;

const ACCESS_KEY: &str = "AKIDTIMEOUTTEST0000";
const SECRET_KEY: &str = "s3cr3t-timeout-test-key";
const TIMEOUT: Duration = Duration::from_millis(300);
/// Far above 300 ms (plus one retry backoff), far below "forever".
const BOUND: Duration = Duration::from_secs(5);

/// An endpoint that accepts every connection and never writes a byte. The sockets are held
/// open: a closed one would fail the call at once, which is not what a stuck proxy does.
/// Returns its URL and how many connections it accepted.
async fn silent_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

/// A caller's config: static test credentials, a region, no timeouts of its own.
fn base() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "static",
        )))
        .build()
}

fn settings(url: &str, attempts: u32) -> AwsSettings {
    AwsSettings {
        endpoint_url: Some(url.to_owned()),
        max_attempts: Some(attempts),
        request_timeout: TIMEOUT,
        ..AwsSettings::default()
    }
}

/// Runs `call`, which must fail within [`BOUND`]; returns its error and how long it took.
async fn fails_in_time<T, E>(
    what: &str,
    call: impl Future<Output = Result<T, E>>,
) -> (E, Duration) {
    let started = Instant::now();
    match tokio::time::timeout(BOUND, call).await {
        Err(_) => panic!("{what} still had no answer after {BOUND:?}: the call has no timeout"),
        Ok(Ok(_)) => panic!("{what} succeeded against an endpoint that never answers"),
        Ok(Err(e)) => (e, started.elapsed()),
    }
}

fn assert_names_the_timeout(message: &str) {
    assert!(
        message.contains("timed out after 300 ms")
            && message.contains("options.request_timeout_ms"),
        "{message}"
    );
    assert!(
        !message.contains(SECRET_KEY) && !message.contains(ACCESS_KEY),
        "{message}"
    );
}

#[tokio::test]
async fn dms_calls_time_out_as_transport_errors() {
    let (url, _) = silent_endpoint().await;
    let api = SdkDmsApi::new(cdc_dms::aws::dms_client(&base(), &settings(&url, 1)));
    let arn = "arn:aws:dms:us-east-1:123456789012:task:T";
    let check = |what: &str, e: ApiError, took: Duration| {
        assert_eq!(e.kind, ApiErrorKind::Transport, "{what}: {e}");
        assert!(e.is_retryable(), "{what}: {e}");
        assert!(
            took >= TIMEOUT,
            "{what} failed after {took:?}, before the timeout: {e}"
        );
        assert_names_the_timeout(&e.to_string());
    };
    let (e, took) = fails_in_time(
        "describe",
        api.describe_replication_tasks(TaskFilter::Arn(arn.into())),
    )
    .await;
    check("describe", e, took);
    let (e, took) = fails_in_time(
        "start",
        api.start_replication_task(arn, StartType::ResumeProcessing),
    )
    .await;
    check("start", e, took);
    let (e, took) = fails_in_time("stop", api.stop_replication_task(arn)).await;
    check("stop", e, took);
}

#[tokio::test]
async fn kinesis_and_cloudwatch_calls_time_out() {
    let (url, _) = silent_endpoint().await;
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/dms";
    let kinesis = cdc_dms::aws::kinesis_client(&base(), &settings(&url, 1));
    let timeouts = kinesis.config().timeout_config().cloned();

    let (e, _) = fails_in_time(
        "ListShards",
        kinesis.list_shards().stream_arn(stream).send(),
    )
    .await;
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");
    assert_names_the_timeout(&describe_error(&e, timeouts.as_ref()));

    let (e, _) = fails_in_time(
        "GetRecords",
        kinesis
            .get_records()
            .stream_arn(stream)
            .shard_iterator("AAAA")
            .send(),
    )
    .await;
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");

    let cloudwatch = cdc_dms::aws::cloudwatch_client(&base(), &settings(&url, 1));
    let (e, _) = fails_in_time("ListMetrics", cloudwatch.list_metrics().send()).await;
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");
    assert_names_the_timeout(&describe_error(&e, cloudwatch.config().timeout_config()));
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_up_to_max_attempts() {
    let (url, accepted) = silent_endpoint().await;
    let kinesis = cdc_dms::aws::kinesis_client(&base(), &settings(&url, 2));
    let (e, _) = fails_in_time("ListShards", kinesis.list_shards().stream_name("s").send()).await;
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");
    // A timed-out connection is never reused: one connection per attempt.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connect_fails_in_time_through_the_provider() {
    let (url, _) = silent_endpoint().await;
    let config = SourceConfig::from_value(json!({
        "provider": "dms", "source_id": "orders", "tables": ["public.orders"],
        "options": {
            "source_endpoint_arn": "arn:aws:dms:us-east-1:123456789012:endpoint:SRC",
            "target_endpoint_arn": "arn:aws:dms:us-east-1:123456789012:endpoint:TGT",
            "replication_instance_arn": "arn:aws:dms:us-east-1:123456789012:rep:INST",
            "endpoint_url": url, "max_attempts": 1, "request_timeout_ms": 300,
        },
    }))
    .unwrap();
    let provider = DmsProvider::from_sdk_config(base());
    let (e, _) = fails_in_time("connect", provider.connect(&config)).await;
    match &e {
        CdcError::Provider { retryable, .. } => assert!(retryable, "{e}"),
        other => panic!("not a provider error: {other:?}"),
    }
    let message = e.to_string();
    assert!(message.contains("CreateReplicationTask"), "{message}");
    assert_names_the_timeout(&message);
}

#[tokio::test]
async fn both_paths_carry_the_timeouts() {
    let s = AwsSettings {
        region: Some("us-east-1".into()),
        ..settings("http://127.0.0.1:9", 1)
    };
    let loaded = cdc_dms::aws::load_sdk_config(&s).await;
    let t = loaded.timeout_config().expect("a timeout config");
    assert_eq!(t.operation_attempt_timeout(), Some(TIMEOUT));
    assert_eq!(
        t.connect_timeout(),
        Some(TIMEOUT),
        "capped by the request timeout"
    );

    // A caller's config without timeouts gets them; its read timeout is kept.
    let caller = base()
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .read_timeout(Duration::from_secs(7))
                .build(),
        )
        .build();
    let long = AwsSettings::default();
    assert_eq!(long.request_timeout, Duration::from_secs(30), "the default");
    let client = cdc_dms::aws::dms_client(&caller, &long);
    let t = client.config().timeout_config().expect("a timeout config");
    assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(30)));
    assert_eq!(t.connect_timeout(), Some(MAX_CONNECT_TIMEOUT));
    assert_eq!(t.read_timeout(), Some(Duration::from_secs(7)));

    let client = cdc_dms::aws::dms_client(
        &base()
            .to_builder()
            .timeout_config(TimeoutConfig::disabled())
            .build(),
        &long,
    );
    let t = client.config().timeout_config().expect("a timeout config");
    assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(30)));
}

#[test]
fn a_connect_timeout_names_the_option() {
    let err: SdkError<ListShardsError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
    let timeouts = TimeoutConfig::builder().connect_timeout(TIMEOUT).build();
    let message = describe_error(&err, Some(&timeouts));
    assert!(
        message.contains("connect timeout 300 ms")
            && message.contains("options.request_timeout_ms"),
        "{message}"
    );
    // A client whose timeouts are unknown still says what happened.
    assert!(describe_error(&err, None).contains("timed out"));
}
