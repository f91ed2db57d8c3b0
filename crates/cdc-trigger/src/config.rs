//! [`TriggerConfig`]: the config of `trigger.cdc` (Go's `TriggerConfig`), parsed and checked.

use cdc_core::TableRef;
use cdc_core::event::json_type_name;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::TriggerError;
use crate::filter::{ActionSet, EventFilter, VALID_ACTIONS};

/// The fields a trigger config may have.
const FIELDS: &[&str] = &["source_id", "tables", "actions"];

/// Config of a trigger, with the Go field names.
///
/// ```yaml
/// source_id: orders-db          # required: a registered source
/// tables: [users, audit.log]    # optional; `users` = any schema, `audit.log` = that schema
/// actions: [INSERT, u]          # optional; INSERT UPDATE DELETE TRUNCATE SNAPSHOT or c u d t r
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// The source to listen to, by `source_id` (required).
    #[serde(default)]
    pub source_id: String,
    /// Tables to pass on, each `name` or `schema.name`. Empty (or absent, or null): all.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tables: Vec<String>,
    /// Actions to pass on. Empty (or absent, or null): all events, control events included.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub actions: Vec<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl TriggerConfig {
    /// A config for `source_id` with no filter.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
            ..Self::default()
        }
    }

    /// Sets the tables.
    pub fn with_tables<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tables: I) -> Self {
        self.tables = tables.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the actions.
    pub fn with_actions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, actions: I) -> Self {
        self.actions = actions.into_iter().map(Into::into).collect();
        self
    }

    /// Reads a config from a JSON value (a workflow's trigger config). Unknown keys and values
    /// of the wrong type are errors naming the field. Does not validate; see
    /// [`TriggerConfig::validate`].
    pub fn from_value(value: &Value) -> Result<Self, TriggerError> {
        match value {
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
                    return Err(TriggerError::InvalidConfig {
                        field: key.clone(),
                        message: format!(
                            "unknown field; trigger.cdc accepts {}",
                            FIELDS.join(", ")
                        ),
                    });
                }
            }
            Value::Null => return Ok(Self::default()),
            other => {
                return Err(TriggerError::InvalidConfig {
                    field: "config".into(),
                    message: format!("must be a map, got {}", json_type_name(other)),
                });
            }
        }
        // The message never quotes the value given (a secret typed into the wrong field).
        serde_path_to_error::deserialize(value).map_err(|e| TriggerError::InvalidConfig {
            field: e.path().to_string(),
            message: cdc_core::secret::scrub_serde_message(&e.into_inner().to_string()),
        })
    }

    /// Reads a config from JSON text.
    pub fn from_json(input: &str) -> Result<Self, TriggerError> {
        let value: Value =
            serde_json::from_str(input).map_err(|e| TriggerError::InvalidConfig {
                field: "config".into(),
                message: cdc_core::secret::scrub_serde_message(&e.to_string()),
            })?;
        Self::from_value(&value)
    }

    /// Reads a config from YAML (through `cdc_core::yaml`, strict booleans).
    pub fn from_yaml(input: &str) -> Result<Self, TriggerError> {
        let value: Value =
            cdc_core::yaml::from_str(input).map_err(|e| TriggerError::InvalidConfig {
                field: "config".into(),
                message: e.to_string(),
            })?;
        Self::from_value(&value)
    }

    /// Checks the config and compiles its filter. The first problem is returned, naming its
    /// field: `source_id`, `tables[i]` or `actions[i]`.
    pub fn validate(&self) -> Result<EventFilter, TriggerError> {
        let invalid =
            |field: String, message: String| TriggerError::InvalidConfig { field, message };
        if self.source_id.is_empty() {
            return Err(invalid("source_id".into(), "is required".into()));
        }
        if self.source_id.trim() != self.source_id {
            return Err(invalid(
                "source_id".into(),
                format!(
                    "{} has leading or trailing whitespace",
                    shown(&self.source_id)
                ),
            ));
        }
        let tables = self
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                TableRef::parse(t).map_err(|m| {
                    let m = m.replace(&format!("{t:?}"), &shown(t));
                    invalid(format!("tables[{i}]"), m)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut actions = ActionSet::EMPTY;
        for (i, a) in self.actions.iter().enumerate() {
            let op = ActionSet::parse_action(a).ok_or_else(|| {
                invalid(
                    format!("actions[{i}]"),
                    format!(
                        "unknown action {}; valid (case-insensitive): {}",
                        shown(a),
                        VALID_ACTIONS.join(", ")
                    ),
                )
            })?;
            actions.insert(op);
        }
        Ok(EventFilter::new(tables, actions))
    }
}

/// How many characters of a value a message quotes.
const SHOWN_CHARS: usize = 60;

/// `text` quoted for a message, cut after [`SHOWN_CHARS`] characters: a config value may be
/// megabytes long.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(e: TriggerError) -> String {
        match e {
            TriggerError::InvalidConfig { field, .. } => field,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn parses_yaml_and_json() {
        let c = TriggerConfig::from_yaml("source_id: db\ntables: [users]\nactions: [c]\n").unwrap();
        assert_eq!(
            c,
            TriggerConfig::new("db")
                .with_tables(["users"])
                .with_actions(["c"])
        );
        let c = TriggerConfig::from_json(r#"{"source_id":"db","tables":null}"#).unwrap();
        assert!(c.tables.is_empty());
        c.validate().unwrap();
    }

    #[test]
    fn bad_config_names_the_field() {
        let cases = [
            (json!({"source_id": "db", "tabels": ["x"]}), "tabels"),
            (json!({"source_id": 5}), "source_id"),
            (json!({"source_id": "db", "tables": "users"}), "tables"),
            (json!({"source_id": "db", "tables": ["ok", 7]}), "tables[1]"),
            (json!({"source_id": "db", "actions": [true]}), "actions[0]"),
            (json!(["source_id"]), "config"),
            (json!("db"), "config"),
        ];
        for (value, field) in cases {
            let err = TriggerConfig::from_value(&value).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
            assert_eq!(field_of(err), field, "{value}");
        }
        let cases = [
            (TriggerConfig::default(), "source_id"),
            (TriggerConfig::new(" db"), "source_id"),
            (
                TriggerConfig::new("db").with_tables(["ok", "a.b.c"]),
                "tables[1]",
            ),
            (TriggerConfig::new("db").with_tables([""]), "tables[0]"),
            (
                TriggerConfig::new("db").with_actions(["insert", "upsert"]),
                "actions[1]",
            ),
        ];
        for (cfg, field) in cases {
            let err = cfg.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
            assert_eq!(field_of(err), field, "{cfg:?}");
        }
        let err = TriggerConfig::from_yaml("source_id: [").unwrap_err();
        assert_eq!(field_of(err), "config");
    }
}
