//! DynamoDB: the table's item-level changes streamed to a Kinesis data stream ("Kinesis Data
//! Streams for DynamoDB"), read with Bento's `aws_kinesis` input, checkpointed in a DynamoDB
//! table.
//!
//! The stream ARN is required and checked: a real account id (12 digits, not `*`), a region,
//! and a Kinesis stream. A DynamoDB Streams ARN (`arn:aws:dynamodb:...:table/t/stream/...`)
//! is rejected with an explanation: `aws_kinesis` reads Kinesis data streams only.

use crate::error::BentoError;
use crate::options::{BentoOptions, StartPosition};
use crate::stream::{
    AwsKinesisInput, Input, KinesisCheckpointTable, Pipeline, Processor, StreamConfig,
};

use super::mapping::dynamodb_mapping;
use super::{GeneratedStream, SourceSpec, check_plain, common_sections};

const ARN_FIELD: &str = "options.stream_arn";

pub(super) fn generate(
    spec: &SourceSpec,
    options: &BentoOptions,
) -> Result<GeneratedStream, BentoError> {
    let arn = options.stream_arn.as_deref().ok_or_else(|| {
        spec.invalid(
            ARN_FIELD,
            "required for source_type dynamodb: the ARN of the Kinesis data stream the table \
             streams to (arn:aws:kinesis:<region>:<account>:stream/<name>)",
        )
    })?;
    let arn_region = check_kinesis_arn(spec, arn)?;
    let region = match &options.region {
        Some(r) => {
            check_region(spec, "options.region", r)?;
            r.clone()
        }
        None => arn_region,
    };
    let checkpoint_table = options
        .checkpoint_table
        .clone()
        .unwrap_or_else(|| "cdc_bento_checkpoints".into());
    if checkpoint_table.len() < 3
        || checkpoint_table.len() > 255
        || !checkpoint_table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(spec.invalid(
            "options.checkpoint_table",
            format!(
                "{checkpoint_table:?} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)"
            ),
        ));
    }
    if let Some(e) = &options.endpoint {
        check_plain(spec, "options.endpoint", e)?;
    }
    let (http, logger, output) = common_sections(spec, options)?;
    let config = StreamConfig {
        http,
        input: Input::AwsKinesis(AwsKinesisInput {
            streams: vec![arn.to_owned()],
            dynamodb: KinesisCheckpointTable {
                table: checkpoint_table,
                create: true,
            },
            checkpoint_limit: 1024,
            commit_period: "5s".into(),
            start_from_oldest: options.start_position == StartPosition::Oldest,
            region: Some(region),
            endpoint: options.endpoint.clone(),
        }),
        pipeline: Pipeline {
            processors: vec![Processor::Mapping(dynamodb_mapping(&spec.source_id))],
        },
        output,
        logger,
        cache_resources: Vec::new(),
    };
    Ok(GeneratedStream {
        config,
        postgres: None,
    })
}

/// Checks `arn:<partition>:kinesis:<region>:<12-digit account>:stream/<name>`; returns the region.
fn check_kinesis_arn(spec: &SourceSpec, arn: &str) -> Result<String, BentoError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_kw, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(spec.invalid(
            ARN_FIELD,
            format!("{arn:?} is not an ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"),
        ));
    };
    if *arn_kw != "arn" || !partition.starts_with("aws") {
        return Err(spec.invalid(ARN_FIELD, format!("{arn:?} does not start with arn:aws")));
    }
    if *service == "dynamodb" {
        return Err(spec.invalid(
            ARN_FIELD,
            format!(
                "{arn:?} is a DynamoDB Streams ARN; Bento's aws_kinesis input reads Kinesis data \
                 streams. Enable \"Kinesis Data Streams for DynamoDB\" on the table and give that \
                 stream's ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"
            ),
        ));
    }
    if *service != "kinesis" {
        return Err(spec.invalid(
            ARN_FIELD,
            format!("{arn:?} is not a Kinesis ARN (service {service:?})"),
        ));
    }
    check_region(spec, ARN_FIELD, region)?;
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(spec.invalid(
            ARN_FIELD,
            format!("{arn:?}: the account id {account:?} must be 12 digits (no wildcard)"),
        ));
    }
    let name = resource.strip_prefix("stream/").unwrap_or("");
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(spec.invalid(
            ARN_FIELD,
            format!("{arn:?}: the resource must be stream/<name> with a valid stream name"),
        ));
    }
    Ok((*region).to_owned())
}

fn check_region(spec: &SourceSpec, field: &str, region: &str) -> Result<(), BentoError> {
    let ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && region.contains('-');
    if ok {
        Ok(())
    } else {
        Err(spec.invalid(
            field,
            format!("{region:?} is not an AWS region (such as eu-west-1)"),
        ))
    }
}
