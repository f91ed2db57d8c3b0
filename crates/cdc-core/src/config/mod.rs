//! Source configuration: [`SourceConfig`] (Go's `SourceConfig`) and its validation.

mod table;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use table::TableRef;
pub use validate::{ConfigError, MAX_SOURCE_ID_LEN};

use crate::error::CdcError;
use crate::secret::SecretString;

/// Configuration of one CDC source, with the Go package's field names.
///
/// ```
/// let cfg = cdc_core::SourceConfig::from_yaml(r#"
/// provider: memory
/// source_id: orders-db
/// source_type: postgres
/// connection: postgres://app:secret@db:5432/shop
/// tables: [public.orders, users]
/// options: { capacity: 512 }
/// "#).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.connection.to_string(), "postgres://app:***@db:5432/shop");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Provider name: `memory`, `debezium`, `dms`, `bento`, ...
    #[serde(default)]
    pub provider: String,
    /// Unique id of the source: 1–128 of `[A-Za-z0-9_.-]`.
    #[serde(default)]
    pub source_id: String,
    /// Database kind behind the source (`postgres`, `mysql`, ...), as the provider needs it.
    #[serde(default)]
    pub source_type: String,
    /// Connection string (a DSN or an API URL): a secret, shown redacted everywhere.
    #[serde(default)]
    pub connection: SecretString,
    /// Tables to capture, each `name` or `schema.name`. Empty means all.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Provider-specific options; each provider reads them into its own typed config.
    #[serde(default)]
    pub options: Map<String, Value>,
}

impl SourceConfig {
    /// Parses a config from YAML (strict booleans, unknown keys rejected). Does not validate.
    pub fn from_yaml(input: &str) -> Result<Self, CdcError> {
        crate::yaml::from_str(input).map_err(|e| CdcError::InvalidConfig {
            field: "source".into(),
            message: e.to_string(),
        })
    }

    /// Parses a config from JSON (unknown keys rejected). Does not validate.
    pub fn from_json(input: &str) -> Result<Self, CdcError> {
        serde_json::from_str(input).map_err(|e| CdcError::InvalidConfig {
            field: "source".into(),
            message: e.to_string(),
        })
    }

    /// Builds a config from a JSON value, as steps receive it. Does not validate.
    pub fn from_value(value: Value) -> Result<Self, CdcError> {
        serde_json::from_value(value).map_err(|e| CdcError::InvalidConfig {
            field: "source".into(),
            message: e.to_string(),
        })
    }

    /// Checks the config; the first problem found is returned, naming its field.
    /// [`SourceConfig::validation_errors`] lists them all.
    pub fn validate(&self) -> Result<(), CdcError> {
        match self.validation_errors().into_iter().next() {
            None => Ok(()),
            Some(e) => Err(CdcError::InvalidConfig {
                field: e.field,
                message: e.message,
            }),
        }
    }

    /// Every problem of the config, each naming its field (`source_id`, `tables[2]`, ...).
    pub fn validation_errors(&self) -> Vec<ConfigError> {
        validate::validate(self)
    }

    /// The configured tables, parsed. Fails on the first invalid name, naming it.
    pub fn table_refs(&self) -> Result<Vec<TableRef>, CdcError> {
        self.tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                TableRef::parse(t).map_err(|message| CdcError::InvalidConfig {
                    field: format!("tables[{i}]"),
                    message,
                })
            })
            .collect()
    }

    /// Reads the `options` map into a provider's typed options struct.
    /// Errors name the source and the offending option.
    pub fn typed_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, CdcError> {
        serde_json::from_value(Value::Object(self.options.clone())).map_err(|e| {
            CdcError::InvalidConfig {
                field: format!("options (source {:?})", self.source_id),
                message: e.to_string(),
            }
        })
    }
}
