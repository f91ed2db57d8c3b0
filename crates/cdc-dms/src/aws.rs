//! Building AWS clients for a source: the `aws-config` default chain (or a given
//! [`SdkConfig`]) with the source's region, endpoint URL and retry settings on top.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::config::AwsSettings;

/// Loads the `aws-config` default chain (environment, profile, SSO, IMDS, ...), with the
/// settings' region, endpoint URL and retries applied.
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
    loader.load().await
}

/// `base` with the settings' region, endpoint URL and retries put on top: the one place the
/// overrides are applied, for every service client below.
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
