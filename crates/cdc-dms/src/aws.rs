//! Building AWS clients for a source: the `aws-config` default chain (or a given
//! [`SdkConfig`]) with the source's region, endpoint URL, retry settings and timeouts on top.
//!
//! Every client gets a per-attempt timeout (`options.request_timeout_ms`) and a connect
//! timeout: without them, an endpoint that accepts the connection and never answers (a stuck
//! proxy, a half-open connection) would hold a call, and the shard loop or `status` waiting on
//! it, forever. Retries stay bounded by `max_attempts`, so a whole call is bounded too.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_databasemigration::error::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::config::AwsSettings;

/// Longest connect timeout. A connection that is not up by then is not coming (an address
/// that drops packets, a dead host), and giving up early leaves the rest of the attempt's
/// budget to the retry on a fresh connection. 3.1 s is the SDK's own default (behavior version
/// 2026-01-12): long enough for the first SYN and its retransmits at 1 s and 3 s (Linux'
/// initial RTO, doubled) plus a TLS handshake on a slow link, so it refuses no connection the
/// SDK alone would accept.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);

/// Loads the `aws-config` default chain (environment, profile, SSO, IMDS, ...), with the
/// settings' region, endpoint URL, retries and timeouts applied.
pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        loader = loader.retry_config(retry_config(attempts));
    }
    loader
        .timeout_config(timeout_config(None, settings))
        .load()
        .await
}

/// `base` with the settings' region, endpoint URL, retries and timeouts put on top: the one
/// place the overrides are applied, for every service client below (so a caller's own
/// [`SdkConfig`] gets the timeouts too).
fn with_overrides(base: &SdkConfig, settings: &AwsSettings) -> SdkConfig {
    let mut builder = base.to_builder();
    if let Some(region) = &settings.region {
        builder.set_region(Some(Region::new(region.clone())));
    }
    if let Some(url) = &settings.endpoint_url {
        builder.set_endpoint_url(Some(url.clone()));
    }
    if let Some(attempts) = settings.max_attempts {
        builder.set_retry_config(Some(retry_config(attempts)));
    }
    builder.set_timeout_config(Some(timeout_config(base.timeout_config(), settings)));
    builder.build()
}

/// A DMS client from `base` with the settings' overrides.
pub fn dms_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_databasemigration::Client {
    aws_sdk_databasemigration::Client::new(&with_overrides(base, settings))
}

/// A Kinesis client from `base` with the settings' overrides.
#[cfg(feature = "kinesis")]
pub fn kinesis_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&with_overrides(base, settings))
}

/// A CloudWatch client from `base` with the settings' overrides.
#[cfg(feature = "cloudwatch")]
pub fn cloudwatch_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&with_overrides(base, settings))
}

/// Standard retries with `attempts` attempts in all; 1 means no retry.
fn retry_config(attempts: u32) -> RetryConfig {
    if attempts <= 1 {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard().with_max_attempts(attempts)
    }
}

/// The timeouts of a source's clients: `base`'s (a caller's read or whole-operation timeout
/// is kept), with the per-attempt timeout set to the request timeout and the connect timeout
/// to the smaller of that and [`MAX_CONNECT_TIMEOUT`]; a connect timeout longer than the
/// attempt could never fire.
fn timeout_config(base: Option<&TimeoutConfig>, settings: &AwsSettings) -> TimeoutConfig {
    base.map(TimeoutConfig::to_builder)
        .unwrap_or_default()
        .operation_attempt_timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(MAX_CONNECT_TIMEOUT))
        .build()
}

/// A failed AWS call for a person: the SDK error with its context, and for a timeout how
/// long the call waited and the option that sets it. `timeouts` is the client's
/// (`client.config().timeout_config()`). Holds no credentials: the SDK's errors carry no
/// signing material, and no request is printed.
pub fn describe_error<E, R>(err: &SdkError<E, R>, timeouts: Option<&TimeoutConfig>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let context = DisplayErrorContext(err);
    let ms = |d: Duration| d.as_millis();
    match err {
        SdkError::TimeoutError(_) => match timeouts.and_then(|t| t.operation_attempt_timeout()) {
            Some(d) => format!(
                "the call timed out after {} ms (options.request_timeout_ms, per attempt): \
                 {context}",
                ms(d)
            ),
            None => format!("the call timed out: {context}"),
        },
        SdkError::DispatchFailure(f) if f.is_timeout() => {
            match timeouts.and_then(|t| t.connect_timeout()) {
                Some(d) => format!(
                    "the connection timed out (connect timeout {} ms: the smaller of \
                     options.request_timeout_ms and {} ms): {context}",
                    ms(d),
                    ms(MAX_CONNECT_TIMEOUT)
                ),
                None => format!("the connection timed out: {context}"),
            }
        }
        _ => context.to_string(),
    }
}
