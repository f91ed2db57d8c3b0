//! Validation of [`SourceConfig`]: every problem, each naming its field.

use std::fmt;

use serde::Serialize;

use super::{SourceConfig, TableRef};

/// Longest accepted `source_id`.
pub const MAX_SOURCE_ID_LEN: usize = 128;

/// One problem in a config, naming the field it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    /// The field: `source_id`, `provider`, `tables[2]`, `options.capacity`, ...
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub(super) fn validate(cfg: &SourceConfig) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut push = |field: String, message: String| errors.push(ConfigError { field, message });

    if let Err(message) = validate_source_id(&cfg.source_id) {
        push("source_id".into(), message);
    }
    if cfg.provider.trim().is_empty() {
        push("provider".into(), "is required".into());
    }
    for (i, table) in cfg.tables.iter().enumerate() {
        if let Err(message) = TableRef::parse(table) {
            push(format!("tables[{i}]"), message);
        }
    }
    errors
}

/// Checks a source id: 1–128 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn validate_source_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is required".into());
    }
    if id.len() > MAX_SOURCE_ID_LEN {
        return Err(format!(
            "is {} characters long; at most {MAX_SOURCE_ID_LEN} are allowed",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{id:?} contains {c:?}; only letters, digits, '_', '.' and '-' are allowed"
        ));
    }
    Ok(())
}
