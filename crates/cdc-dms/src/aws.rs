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

/// A DMS client from `base` with the settings' overrides.
pub fn dms_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_databasemigration::Client {
    let mut builder = aws_sdk_databasemigration::config::Builder::from(base);
    if let Some(region) = &settings.region {
        builder = builder.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        builder = builder.retry_config(retry_config(attempts));
    }
    aws_sdk_databasemigration::Client::from_conf(builder.build())
}

/// A Kinesis client from `base` with the settings' overrides.
#[cfg(feature = "kinesis")]
pub fn kinesis_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_kinesis::Client {
    let mut builder = aws_sdk_kinesis::config::Builder::from(base);
    if let Some(region) = &settings.region {
        builder = builder.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        builder = builder.retry_config(retry_config(attempts));
    }
    aws_sdk_kinesis::Client::from_conf(builder.build())
}

/// Standard retries with `attempts` attempts in all; 1 means no retry.
fn retry_config(attempts: u32) -> RetryConfig {
    if attempts <= 1 {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard().with_max_attempts(attempts)
    }
}

/// A CloudWatch client from `base` with the settings' overrides.
#[cfg(feature = "cloudwatch")]
pub fn cloudwatch_client(base: &SdkConfig, settings: &AwsSettings) -> aws_sdk_cloudwatch::Client {
    let mut builder = aws_sdk_cloudwatch::config::Builder::from(base);
    if let Some(region) = &settings.region {
        builder = builder.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        builder = builder.retry_config(retry_config(attempts));
    }
    aws_sdk_cloudwatch::Client::from_conf(builder.build())
}
