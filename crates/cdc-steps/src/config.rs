//! Reading a step's JSON config into its typed struct, and the threshold fields shared by
//! `step.cdc_backpressure` and `step.cdc_monitor`.

use cdc_core::backpressure::{
    DEFAULT_THRESHOLD_LAG_BYTES, DEFAULT_THRESHOLD_LAG_SECONDS, DEFAULT_WARNING_MULTIPLIER,
};
use cdc_core::event::json_type_name;
use cdc_core::{BackpressureMonitor, TableRef};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::StepErrorKind;
use crate::schema::{FieldType, StepSchema};

/// A config error naming `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> StepErrorKind {
    StepErrorKind::InvalidConfig {
        field: field.into(),
        message: message.into(),
    }
}

/// Reads `config` into `T`: null counts as `{}`; anything but a map, a key the schema does not
/// list, and a value of the wrong type are errors naming the field.
pub(crate) fn parse<T: DeserializeOwned>(
    schema: &StepSchema,
    config: &Value,
) -> Result<T, StepErrorKind> {
    let empty = Value::Object(Map::new());
    let config = match config {
        Value::Null => &empty,
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| !schema.config.contains_key(k.as_str())) {
                return Err(invalid(
                    key.clone(),
                    format!(
                        "is not a config field of this step; valid fields: {}",
                        schema.field_names().join(", ")
                    ),
                ));
            }
            config
        }
        other => {
            return Err(invalid(
                "config",
                format!("must be a map of fields, got {}", json_type_name(other)),
            ));
        }
    };
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "config".to_owned()
        } else {
            path
        };
        // Serde quotes the offending string, which may be a secret typed (or brought by a
        // template) into the wrong field: the field path says enough.
        let message = cdc_core::secret::scrub_serde_message(&e.into_inner().to_string());
        invalid(field, format!("is invalid: {message}"))
    })
}

/// `text` quoted for a message, cut after [`SHOWN_CHARS`] characters: a value from row data
/// may be megabytes long.
pub(crate) fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// How many characters of a value a message quotes.
pub(crate) const SHOWN_CHARS: usize = 60;

/// Checks that `source_id` is given, unless it is only known per event.
pub(crate) fn check_source_id(
    source_id: &str,
    per_event: &dyn Fn(&str) -> bool,
) -> Result<(), StepErrorKind> {
    if !per_event("source_id") {
        require_source_id(source_id)?;
    }
    Ok(())
}

/// Checks that `source_id` is given.
pub(crate) fn require_source_id(source_id: &str) -> Result<&str, StepErrorKind> {
    if source_id.trim().is_empty() {
        return Err(invalid("source_id", "is required"));
    }
    Ok(source_id)
}

/// Checks each table name (`name` or `schema.name`), naming `field[i]` on error.
pub(crate) fn check_tables(field: &str, tables: &[String]) -> Result<(), StepErrorKind> {
    for (i, t) in tables.iter().enumerate() {
        TableRef::parse(t)
            .map_err(|m| invalid(format!("{field}[{i}]"), format!("is invalid: {m}")))?;
    }
    Ok(())
}

/// `thresholds: {lag_bytes, lag_seconds}`, as the Go steps read them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ThresholdMap {
    pub lag_bytes: Option<i64>,
    pub lag_seconds: Option<i64>,
}

// By hand rather than derived: a derived struct also accepts a list (`thresholds: [1, 2]`),
// which would silently mean lag_bytes 1, lag_seconds 2. Only a map is accepted here.
impl<'de> Deserialize<'de> for ThresholdMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapOnly;
        impl<'de> serde::de::Visitor<'de> for MapOnly {
            type Value = ThresholdMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map with lag_bytes and/or lag_seconds")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                const FIELDS: &[&str] = &["lag_bytes", "lag_seconds"];
                let mut out = ThresholdMap::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "lag_bytes" => &mut out.lag_bytes,
                        "lag_seconds" => &mut out.lag_seconds,
                        other => return Err(serde::de::Error::unknown_field(other, FIELDS)),
                    };
                    if slot.is_some() {
                        return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = map
                        .next_value::<Option<cdc_core::number::WholeI64>>()?
                        .map(|w| w.0);
                }
                Ok(out)
            }
        }
        d.deserialize_map(MapOnly)
    }
}

/// The threshold fields of `step.cdc_backpressure` and `step.cdc_monitor`, in both spellings.
/// Each step's config struct has these four fields (not flattened, so that errors keep their
/// field path) and builds this from them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ThresholdFields {
    pub thresholds: Option<ThresholdMap>,
    pub threshold_lag_bytes: Option<i64>,
    pub threshold_lag_seconds: Option<i64>,
    pub warning_multiplier: Option<f64>,
}

impl ThresholdFields {
    /// Adds the threshold fields to a schema.
    pub fn describe(schema: StepSchema) -> StepSchema {
        schema
            .field(
                "thresholds",
                FieldType::Object,
                false,
                "Go-style thresholds: {lag_bytes, lag_seconds}. 0 turns a check off.",
            )
            .field(
                "threshold_lag_bytes",
                FieldType::Integer,
                false,
                "Critical at or above this lag in bytes (same as thresholds.lag_bytes); 0 turns the check off.",
            )
            .default_value("threshold_lag_bytes", json!(DEFAULT_THRESHOLD_LAG_BYTES))
            .field(
                "threshold_lag_seconds",
                FieldType::Integer,
                false,
                "Critical at or above this lag in seconds (same as thresholds.lag_seconds); 0 turns the check off.",
            )
            .default_value("threshold_lag_seconds", json!(DEFAULT_THRESHOLD_LAG_SECONDS))
            .field(
                "warning_multiplier",
                FieldType::Number,
                false,
                "Warning at or above this fraction of a threshold, in (0, 1].",
            )
            .default_value("warning_multiplier", json!(DEFAULT_WARNING_MULTIPLIER))
    }

    /// The monitor these fields describe (defaults: 1 GiB, 300 s, 0.8). A value given in both
    /// spellings must agree; negative thresholds and multipliers outside (0, 1] are errors.
    pub fn monitor(&self) -> Result<BackpressureMonitor, StepErrorKind> {
        let map = self.thresholds.clone().unwrap_or_default();
        let bytes = one_of(
            ("thresholds.lag_bytes", map.lag_bytes),
            ("threshold_lag_bytes", self.threshold_lag_bytes),
        )?
        .unwrap_or(DEFAULT_THRESHOLD_LAG_BYTES);
        let seconds = one_of(
            ("thresholds.lag_seconds", map.lag_seconds),
            ("threshold_lag_seconds", self.threshold_lag_seconds),
        )?
        .unwrap_or(DEFAULT_THRESHOLD_LAG_SECONDS);
        let multiplier = match self.warning_multiplier {
            None => DEFAULT_WARNING_MULTIPLIER,
            Some(m) if m.is_finite() && m > 0.0 && m <= 1.0 => m,
            Some(m) => {
                return Err(invalid(
                    "warning_multiplier",
                    format!("must be more than 0 and at most 1, got {m}"),
                ));
            }
        };
        Ok(BackpressureMonitor::new(bytes, seconds, multiplier))
    }
}

/// The value of a threshold given in one or both spellings.
fn one_of(
    (a_name, a): (&str, Option<i64>),
    (b_name, b): (&str, Option<i64>),
) -> Result<Option<i64>, StepErrorKind> {
    let value = match (a, b) {
        (Some(x), Some(y)) if x != y => {
            return Err(invalid(
                b_name,
                format!("is {y} but {a_name} is {x}; give one of them"),
            ));
        }
        (Some(x), _) => Some(x),
        (None, y) => y,
    };
    if let Some(v) = value
        && v < 0
    {
        let field = if a == Some(v) { a_name } else { b_name };
        return Err(invalid(field, format!("must be 0 (off) or more, got {v}")));
    }
    Ok(value)
}

/// The thresholds as output: `{lag_bytes, lag_seconds, warning_multiplier}`.
pub(crate) fn thresholds_json(m: &BackpressureMonitor) -> Value {
    json!({
        "lag_bytes": m.threshold_lag_bytes,
        "lag_seconds": m.threshold_lag_seconds,
        "warning_multiplier": m.effective_multiplier(),
    })
}
