//! Source configuration: [`SourceConfig`] (Go's `SourceConfig`) and its validation.

mod table;
mod validate;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

pub use table::TableRef;
pub use validate::{ConfigError, MAX_SOURCE_ID_LEN};

use crate::error::CdcError;
use crate::secret::{SecretString, mask_json, redact_text, scrub_serde_message};

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
///
/// `Debug` and `Serialize` show the connection redacted and the options through
/// [`mask_json`]: every value of a secret-looking key masked, URL
/// userinfo masked in every string. Options are provider-specific and untyped here, so the
/// documented key list decides.
#[derive(Clone, Default, PartialEq, Deserialize)]
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

/// The shown form of a config: what `Debug` and `Serialize` print.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    provider: &'a str,
    source_id: &'a str,
    source_type: &'a str,
    connection: &'a SecretString,
    tables: &'a [String],
    options: Value,
}

impl SourceConfig {
    fn shown(&self) -> Shown<'_> {
        Shown {
            provider: &self.provider,
            source_id: &self.source_id,
            source_type: &self.source_type,
            connection: &self.connection,
            tables: &self.tables,
            options: mask_json(&Value::Object(self.options.clone())),
        }
    }
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shown();
        f.debug_struct("SourceConfig")
            .field("provider", &s.provider)
            .field("source_id", &s.source_id)
            .field("source_type", &s.source_type)
            .field("connection", s.connection)
            .field("tables", &s.tables)
            .field("options", &s.options)
            .finish()
    }
}

impl Serialize for SourceConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(serializer)
    }
}

impl SourceConfig {
    /// Parses a config from YAML (strict booleans, unknown keys rejected). Does not validate.
    ///
    /// Like every parse below, the error never quotes a value given: it may be a secret in
    /// the wrong field (`tables: postgres://u:pw@h`).
    pub fn from_yaml(input: &str) -> Result<Self, CdcError> {
        crate::yaml::from_str(input).map_err(|e| invalid_source(&e.to_string()))
    }

    /// Parses a config from JSON (unknown keys rejected). Does not validate.
    pub fn from_json(input: &str) -> Result<Self, CdcError> {
        serde_json::from_str(input).map_err(|e| invalid_source(&e.to_string()))
    }

    /// Builds a config from a JSON value, as steps receive it. Does not validate.
    pub fn from_value(value: Value) -> Result<Self, CdcError> {
        serde_json::from_value(value).map_err(|e| invalid_source(&e.to_string()))
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
    /// Errors name the source and the offending option (`options.retry.max_attempts (source
    /// "a")`), and never quote the value given (it may be a secret in the wrong place).
    pub fn typed_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, CdcError> {
        serde_path_to_error::deserialize(Value::Object(self.options.clone())).map_err(|e| {
            let path = e.path().to_string();
            let field = if path.is_empty() || path == "." {
                "options".to_owned()
            } else {
                format!("options.{path}")
            };
            CdcError::InvalidConfig {
                field: format!("{field} (source {:?})", self.source_id),
                message: scrub_serde_message(&e.into_inner().to_string()),
            }
        })
    }
}

/// The error of a config that does not parse, its quoted values scrubbed and any connection
/// string left in it masked.
fn invalid_source(message: &str) -> CdcError {
    CdcError::InvalidConfig {
        field: "source".into(),
        message: redact_text(&scrub_serde_message(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_serialize_mask_the_connection_and_secret_options() {
        let cfg = SourceConfig::from_json(
            r#"{"provider": "x", "source_id": "a", "connection": "postgres://u:MARK/?#@h/db",
                "options": {"auth": {"password": "MARK"}, "url": "http://u:MARK@h",
                            "connector_config": {"aws.secret.access.key": "MARK"}, "n": 3}}"#,
        )
        .unwrap();
        let debug = format!("{cfg:?}");
        let json = serde_json::to_string(&cfg).unwrap();
        for shown in [&debug, &json] {
            assert!(!shown.contains("MARK"), "{shown}");
            assert!(shown.contains("postgres://u:***@h/db"), "{shown}");
        }
        assert_eq!(
            cfg.options["auth"]["password"], "MARK",
            "the value itself is kept"
        );
    }

    #[test]
    fn typed_option_errors_name_the_path_and_never_quote_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Opts {
            retry: Retry,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Retry {
            max_attempts: u32,
        }
        let cfg = SourceConfig::from_json(
            r#"{"source_id": "a", "options": {"retry": {"max_attempts": "MARK"}}}"#,
        )
        .unwrap();
        let err = cfg.typed_options::<Opts>().unwrap_err().to_string();
        assert!(
            err.contains("options.retry.max_attempts (source \"a\")"),
            "{err}"
        );
        assert!(!err.contains("MARK"), "{err}");
    }
}
