//! [`PostgresOptions`]: the typed `options` of a `provider: postgres` source.

use serde::{Deserialize, Serialize};

use super::tls::TlsOptions;
use crate::error::{PostgresError, Result};

/// When to take an initial snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Read the tables before streaming, when the slot is created (default).
    #[default]
    Initial,
    /// Stream from the slot's position only.
    Never,
}

/// The typed `options` of a PostgreSQL source. Unknown keys are rejected; every number has
/// a range, checked by [`PostgresOptions::validate`].
///
/// ```yaml
/// options:
///   slot: cdc_shop              # default: cdc_<source_id>
///   publication: cdc_shop       # default: cdc_<source_id>; created when missing
///   snapshot: initial           # initial | never
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresOptions {
    /// The replication slot (1–63 of `a-z0-9_`). Default: `cdc_` + the source id, lowercased,
    /// other characters as `_`.
    pub slot: Option<String>,
    /// Create the slot `TEMPORARY` (dropped when the session ends; nothing survives a restart).
    pub temporary_slot: bool,
    /// The publication. Default `cdc_` + the source id. Created `FOR TABLE` the configured
    /// tables when missing; an existing one must cover them.
    pub publication: Option<String>,
    /// Initial snapshot when the slot is created: `initial` (default) or `never`.
    pub snapshot: SnapshotMode,
    /// Connections reading the snapshot in parallel (1–16, default 2).
    pub snapshot_workers: u32,
    /// A table of more than twice this many pages (8 kB) is read by several workers at once,
    /// in page ranges of at least this size (PostgreSQL 14+). 0: never split a table
    /// (0–100 000 000, default 2048, 16 MB).
    pub snapshot_part_pages: u64,
    /// Most events handed to the handlers in one batch (1–100 000, default 1024).
    pub batch_size: u32,
    /// Rows per chunk of a backfill (`snapshot` of a running source), read in key order
    /// between two watermarks (1–1 000 000, default 1024).
    pub chunk_size: u32,
    /// Messages the replication reader buffers ahead of the handlers (16–1 000 000, default
    /// 4096). With slow handlers the reader stops there and memory stays flat.
    pub read_buffer: u32,
    /// How often the position is reported to the server, in ms (100–60 000, default 1000).
    /// Keep it below half of the server's `wal_sender_timeout`.
    pub status_interval_ms: u64,
    /// How long to retry when another session holds the slot (SQLSTATE 55006), in seconds
    /// (0–3600, default 30): a walsender whose client died holds it until it notices.
    pub slot_busy_timeout_secs: u64,
    /// First delay before retrying a failed handler or a lost connection, in ms
    /// (10–60 000, default 200); it doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    /// Longest delay between retries, in ms (100–600 000, default 30 000).
    pub retry_max_ms: u64,
    /// Drop the slot (and a publication cdc-rs created) on disconnect. Default: keep them,
    /// so a restart resumes where it stopped.
    pub drop_slot_on_stop: bool,
    /// Connect, but deliver nothing until `resume` (the CLI uses it so that every handler
    /// subscribes before the first event).
    pub start_paused: bool,
    /// Allow tables whose UPDATE/DELETE cannot be identified (replica identity NOTHING, or
    /// DEFAULT without a primary key). Off by default: such a table in a publication makes
    /// the application's own UPDATE and DELETE fail.
    pub allow_tables_without_identity: bool,
    /// Capture DDL with an event trigger (needs a superuser to install): `SchemaChange`
    /// events and schema-history versions with the real DDL text. Set back to `false`, the
    /// next connect removes the trigger.
    pub capture_ddl: bool,
    /// How often the configured tables are checked against the publication, in ms
    /// (100–3 600 000, default 10 000). PostgreSQL takes a dropped table out of the
    /// publication and does not put a new table of the same name in: the check finds it,
    /// adds it back to a publication cdc-rs owns (or reports the `ALTER PUBLICATION` to run
    /// on yours) and says so in status. With `capture_ddl` the event trigger adds it at once.
    pub publication_check_interval_ms: u64,
    /// Deliver logical decoding messages (`pg_logical_emit_message`) with these prefixes
    /// only; absent: every prefix; `[]`: none.
    pub message_prefixes: Option<Vec<String>>,
    /// TLS settings (override the connection string's `sslmode`, `sslrootcert`, ...).
    pub tls: TlsOptions,
    /// `application_name` of our sessions (default `cdc-rs`).
    pub application_name: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            slot: None,
            temporary_slot: false,
            publication: None,
            snapshot: SnapshotMode::Initial,
            snapshot_workers: 2,
            snapshot_part_pages: 2048,
            batch_size: 1024,
            chunk_size: 1024,
            read_buffer: 4096,
            status_interval_ms: 1000,
            slot_busy_timeout_secs: 30,
            retry_initial_ms: 200,
            retry_max_ms: 30_000,
            drop_slot_on_stop: false,
            start_paused: false,
            allow_tables_without_identity: false,
            capture_ddl: false,
            publication_check_interval_ms: 10_000,
            message_prefixes: None,
            tls: TlsOptions::default(),
            application_name: None,
        }
    }
}

/// The documented range of each numeric option.
const RANGES: &[(&str, u64, u64)] = &[
    ("snapshot_workers", 1, 16),
    ("snapshot_part_pages", 0, 100_000_000),
    ("batch_size", 1, 100_000),
    ("chunk_size", 1, 1_000_000),
    ("read_buffer", 16, 1_000_000),
    ("status_interval_ms", 100, 60_000),
    ("slot_busy_timeout_secs", 0, 3600),
    ("retry_initial_ms", 10, 60_000),
    ("retry_max_ms", 100, 600_000),
    ("publication_check_interval_ms", 100, 3_600_000),
];

impl PostgresOptions {
    /// Reads `options` (errors name the option), then validates.
    pub fn from_map(map: &serde_json::Map<String, serde_json::Value>) -> Result<Self> {
        let options: Self = serde_json::from_value(serde_json::Value::Object(map.clone()))
            .map_err(|e| {
                let text = e.to_string();
                // serde names the unknown or mistyped key in its message.
                PostgresError::config("options", text)
            })?;
        options.validate()?;
        Ok(options)
    }

    /// Checks every number against its range and the names against PostgreSQL's rules.
    pub fn validate(&self) -> Result<()> {
        for (name, lo, hi) in RANGES {
            let value = self.number(name);
            if value < *lo || value > *hi {
                return Err(PostgresError::config(
                    format!("options.{name}"),
                    format!("{value} is out of range {lo}..={hi}"),
                ));
            }
        }
        if self.retry_max_ms < self.retry_initial_ms {
            return Err(PostgresError::config(
                "options.retry_max_ms",
                "must be at least options.retry_initial_ms",
            ));
        }
        if let Some(slot) = &self.slot {
            check_slot_name(slot).map_err(|m| PostgresError::config("options.slot", m))?;
        }
        if let Some(p) = &self.publication
            && (p.is_empty() || p.len() > 63 || p.contains('\0'))
        {
            return Err(PostgresError::config(
                "options.publication",
                "must be 1 to 63 bytes without NUL",
            ));
        }
        if let Some(name) = &self.application_name
            && (name.len() > 63 || !name.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        {
            return Err(PostgresError::config(
                "options.application_name",
                "must be at most 63 printable ASCII characters",
            ));
        }
        Ok(())
    }

    fn number(&self, name: &str) -> u64 {
        match name {
            "snapshot_workers" => u64::from(self.snapshot_workers),
            "snapshot_part_pages" => self.snapshot_part_pages,
            "batch_size" => u64::from(self.batch_size),
            "chunk_size" => u64::from(self.chunk_size),
            "read_buffer" => u64::from(self.read_buffer),
            "status_interval_ms" => self.status_interval_ms,
            "slot_busy_timeout_secs" => self.slot_busy_timeout_secs,
            "retry_initial_ms" => self.retry_initial_ms,
            "retry_max_ms" => self.retry_max_ms,
            "publication_check_interval_ms" => self.publication_check_interval_ms,
            _ => 0,
        }
    }

    /// Whether a logical message with this prefix is delivered.
    pub fn wants_message(&self, prefix: &str) -> bool {
        match &self.message_prefixes {
            None => true,
            Some(list) => list.iter().any(|p| p == prefix),
        }
    }
}

/// PostgreSQL's rule for slot names: 1–63 of lower-case letters, digits and `_`.
pub fn check_slot_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!(
            "slot name {name:?} must be 1 to 63 characters long"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "slot name {name:?} contains {c:?}; PostgreSQL allows lower-case letters, digits and '_'"
        ));
    }
    Ok(())
}

/// `cdc_` + the source id, lowercased, other characters as `_`, at most 63 characters.
pub fn default_name(source_id: &str) -> String {
    let mut name: String = std::iter::once("cdc_".to_owned())
        .chain(source_id.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase().to_string()
            } else {
                "_".to_owned()
            }
        }))
        .collect();
    name.truncate(63);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<PostgresOptions> {
        PostgresOptions::from_map(v.as_object().unwrap())
    }

    #[test]
    fn defaults_and_names() {
        let o = parse(json!({})).unwrap();
        assert_eq!(o.snapshot, SnapshotMode::Initial);
        assert_eq!(o.snapshot_workers, 2);
        assert_eq!(default_name("Shop-DB.1"), "cdc_shop_db_1");
        assert_eq!(default_name(&"x".repeat(200)).len(), 63);
        assert!(o.wants_message("anything"));
        let o = parse(json!({"message_prefixes": ["a"]})).unwrap();
        assert!(o.wants_message("a") && !o.wants_message("b"));
    }

    #[test]
    fn bad_options_name_the_option() {
        for (v, want) in [
            (json!({"snapshot_workers": 0}), "options.snapshot_workers"),
            (json!({"snapshot_workers": 17}), "options.snapshot_workers"),
            (json!({"batch_size": 18446744073709551615u64}), "options"),
            (
                json!({"status_interval_ms": 5}),
                "options.status_interval_ms",
            ),
            (json!({"slot": "Bad-Name"}), "options.slot"),
            (json!({"slot": ""}), "options.slot"),
            (json!({"snapshot": "sometimes"}), "options"),
            (json!({"slots": "x"}), "unknown field `slots`"),
            (
                json!({"retry_initial_ms": 1000, "retry_max_ms": 500}),
                "options.retry_max_ms",
            ),
            (json!({"tls": {"mode": "verify-everything"}}), "options"),
            (json!({"drop_slot_on_stop": "yes"}), "options"),
            (
                json!({"publication_check_interval_ms": 0}),
                "options.publication_check_interval_ms",
            ),
        ] {
            let e = parse(v.clone()).unwrap_err().to_string();
            assert!(e.contains(want), "{v}: {e}");
        }
    }
}
