//! Bento inputs used by the generated streams.

use serde::{Deserialize, Serialize};

/// `input:`, one component.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Emits a message on an interval: the clock of the PostgreSQL polling stream.
    Generate(GenerateInput),
    /// Kinesis data streams (DynamoDB tables streaming to Kinesis, DMS Kinesis targets).
    AwsKinesis(AwsKinesisInput),
    /// Kafka topics through franz-go (Debezium topics).
    KafkaFranz(KafkaFranzInput),
    /// Redpanda Connect's PostgreSQL logical replication input.
    PostgresCdc(PostgresCdcInput),
    /// Redpanda Connect's MySQL binlog input.
    MysqlCdc(MysqlCdcInput),
}

/// `generate`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateInput {
    /// Bloblang producing each message.
    pub mapping: String,
    /// Time between messages (Go duration, `1s`).
    pub interval: String,
    /// How many messages; 0 means forever.
    pub count: u64,
}

/// `aws_kinesis`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsKinesisInput {
    /// Stream names or ARNs.
    pub streams: Vec<String>,
    /// The DynamoDB table holding the shard checkpoints.
    pub dynamodb: KinesisCheckpointTable,
    /// Unacknowledged messages per shard before the input waits.
    pub checkpoint_limit: u32,
    /// How often checkpoints are committed (Go duration).
    pub commit_period: String,
    /// Start from the oldest record (`true`) or the latest (`false`) when no checkpoint exists.
    pub start_from_oldest: bool,
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Custom endpoint (an emulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// `aws_kinesis.dynamodb`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisCheckpointTable {
    /// Table name.
    pub table: String,
    /// Create the table when missing.
    pub create: bool,
}

/// `kafka_franz`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaFranzInput {
    /// Bootstrap brokers (`host:port`).
    pub seed_brokers: Vec<String>,
    /// Topics to consume.
    pub topics: Vec<String>,
    /// Consumer group (offsets are committed for it).
    pub consumer_group: String,
    /// Start from the oldest offset when the group has none.
    pub start_from_oldest: bool,
}

/// `postgres_cdc` (Redpanda Connect only).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresCdcInput {
    /// Connection string.
    pub dsn: String,
    /// The schema of the tables.
    pub schema: String,
    /// Table names (without schema).
    pub tables: Vec<String>,
    /// Replication slot name.
    pub slot_name: String,
    /// Stream existing rows first.
    pub stream_snapshot: bool,
    /// Emit `begin`/`commit` messages.
    pub include_transaction_markers: bool,
    /// Unacknowledged messages before the input waits.
    pub checkpoint_limit: u32,
    /// Drop the slot when the stream stops.
    pub temporary_slot: bool,
}

/// `mysql_cdc` (Redpanda Connect only).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlCdcInput {
    /// `mysql` or `mariadb`.
    pub flavor: String,
    /// Go MySQL DSN (`user:pass@tcp(host:3306)/db`).
    pub dsn: String,
    /// Tables to capture.
    pub tables: Vec<String>,
    /// Label of the cache resource holding the binlog position.
    pub checkpoint_cache: String,
    /// Key of the position in that cache.
    pub checkpoint_key: String,
    /// Stream existing rows first.
    pub stream_snapshot: bool,
    /// Unacknowledged messages before the input waits.
    pub checkpoint_limit: u32,
}

cdc_core::impl_masked_debug!(
    Input,
    GenerateInput,
    AwsKinesisInput,
    KinesisCheckpointTable,
    KafkaFranzInput,
    PostgresCdcInput,
    MysqlCdcInput
);
