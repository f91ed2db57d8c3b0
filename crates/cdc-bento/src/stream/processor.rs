//! Bento processors used by the generated streams.

use serde::{Deserialize, Serialize};

/// One entry of `pipeline.processors`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Processor {
    /// Runs a SQL query per message; the message becomes the array of result rows.
    SqlRaw(SqlRawProcessor),
    /// Splits one message into several (`json_array`: one per element).
    Unarchive(UnarchiveProcessor),
    /// A Bloblang mapping.
    Mapping(String),
    /// Runs its processors on the messages an earlier processor failed on (and clears the
    /// failure); the others pass untouched.
    Catch(Vec<Processor>),
}

/// `sql_raw` (the processor, which runs on every message; the input of the same name runs
/// once and shuts down).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRawProcessor {
    /// `postgres`, `mysql`, ...
    pub driver: String,
    /// Connection string.
    pub dsn: String,
    /// The query.
    pub query: String,
    /// Bloblang producing the query's `$n` arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_mapping: Option<String>,
}

/// `unarchive`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveProcessor {
    /// Archive format (`json_array`).
    pub format: String,
}

cdc_core::impl_masked_debug!(Processor, SqlRawProcessor, UnarchiveProcessor);
