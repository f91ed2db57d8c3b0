//! Kafka Connect and Debezium logical types: decimals to exact decimal strings, temporal
//! integers to ISO-8601, wherever they are in a column: at its top, in a struct's fields,
//! an array's items, a map's keys and values.

mod decimal;
mod temporal;

use cdc_core::event::json_type_name;
use serde_json::Value;

use super::read::clip;
use decimal::scale_in_range;
pub use decimal::{
    MAX_DECIMAL_BYTES, SCALES, decimal_from_base64, decimal_from_number,
    decimal_from_twos_complement,
};
pub use temporal::{format_date, format_time_of_day, format_timestamp};

/// How one column's value is converted, from the schema's `name` (and `parameters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logical {
    /// `org.apache.kafka.connect.data.Decimal`: base64 big-endian two's-complement unscaled
    /// integer; the scale is in the schema.
    Decimal {
        /// `parameters.scale`.
        scale: i32,
    },
    /// `io.debezium.data.VariableScaleDecimal`: `{"scale": n, "value": "<base64>"}`.
    VariableScaleDecimal,
    /// Days since the epoch (`io.debezium.time.Date`, `org.apache.kafka.connect.data.Date`).
    Date,
    /// Time of day in the given unit per second (1e3 ms, 1e6 µs, 1e9 ns).
    TimeOfDay {
        /// Units per second.
        per_second: i64,
    },
    /// Timestamp without zone since the epoch, in the given unit per second.
    Timestamp {
        /// Units per second.
        per_second: i64,
    },
    /// An array whose items have a logical type.
    Array(Box<Logical>),
    /// A struct (a nested record, an array's item) whose fields have logical types:
    /// `(field, conversion)` for each of them.
    Struct(Vec<(String, Logical)>),
    /// A map whose keys or values have a logical type. The JSON converter writes a map
    /// with string keys as an object, any other as an array of `[key, value]` pairs.
    Map {
        /// The keys' conversion (only the pairs form can have one: a logical type is never
        /// a string in JSON's object keys).
        keys: Option<Box<Logical>>,
        /// The values' conversion.
        values: Option<Box<Logical>>,
    },
}

impl Logical {
    /// The conversion for a schema `name` (with its `parameters`), if it has one. `Err`
    /// says what is wrong with a parameter the conversion needs (a `Decimal`'s `scale`:
    /// missing, not an integer, or outside [`SCALES`]).
    pub fn from_schema(
        name: &str,
        parameters: Option<&std::collections::HashMap<String, Value>>,
    ) -> Result<Option<Self>, String> {
        Ok(Some(match name {
            "org.apache.kafka.connect.data.Decimal" => Self::Decimal {
                scale: decimal_scale(parameters.and_then(|p| p.get("scale")))?,
            },
            "io.debezium.data.VariableScaleDecimal" => Self::VariableScaleDecimal,
            "io.debezium.time.Date" | "org.apache.kafka.connect.data.Date" => Self::Date,
            "io.debezium.time.Time" | "org.apache.kafka.connect.data.Time" => {
                Self::TimeOfDay { per_second: 1_000 }
            }
            "io.debezium.time.MicroTime" => Self::TimeOfDay {
                per_second: 1_000_000,
            },
            "io.debezium.time.NanoTime" => Self::TimeOfDay {
                per_second: 1_000_000_000,
            },
            "io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp" => {
                Self::Timestamp { per_second: 1_000 }
            }
            "io.debezium.time.MicroTimestamp" => Self::Timestamp {
                per_second: 1_000_000,
            },
            "io.debezium.time.NanoTimestamp" => Self::Timestamp {
                per_second: 1_000_000_000,
            },
            _ => return Ok(None),
        }))
    }

    /// Converts a value in place; `null` stays `null`. Errors say what was expected.
    pub fn apply(&self, v: &mut Value) -> Result<(), String> {
        if v.is_null() {
            return Ok(());
        }
        let new = match self {
            Self::Decimal { scale } => match v {
                Value::String(s) => Value::String(decimal_from_base64(s, *scale)?),
                // The JSON converter's `decimal.format=NUMERIC`: a JSON number, exact as
                // written (serde_json keeps the literal: `arbitrary_precision`).
                Value::Number(n) => Value::String(decimal_from_number(&n.to_string())?),
                _ => {
                    return Err(format!(
                        "a Decimal must be a base64 string or a number, got {} {}",
                        json_type_name(v),
                        clip(&v.to_string())
                    ));
                }
            },
            Self::VariableScaleDecimal => {
                let scale = v
                    .get("scale")
                    .and_then(Value::as_i64)
                    .ok_or("a VariableScaleDecimal needs an integer `scale`")?;
                let value = v
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or("a VariableScaleDecimal needs a base64 `value`")?;
                Value::String(decimal_from_base64(value, scale_in_range(scale)?)?)
            }
            Self::Date => {
                let days = int(v, "Date (days since epoch)")?;
                Value::String(format_date(days)?)
            }
            Self::TimeOfDay { per_second } => {
                let n = int(v, "time of day")?;
                Value::String(format_time_of_day(n, *per_second)?)
            }
            Self::Timestamp { per_second } => {
                let n = int(v, "timestamp")?;
                Value::String(format_timestamp(n, *per_second)?)
            }
            Self::Array(inner) => {
                let what = json_type_name(v);
                let items = v
                    .as_array_mut()
                    .ok_or_else(|| format!("expected an array, got {what}"))?;
                for (i, item) in items.iter_mut().enumerate() {
                    inner.apply(item).map_err(|m| format!("item {i}: {m}"))?;
                }
                return Ok(());
            }
            Self::Struct(fields) => {
                let what = json_type_name(v);
                let obj = v
                    .as_object_mut()
                    .ok_or_else(|| format!("a struct must be an object, got {what}"))?;
                for (name, conv) in fields {
                    if let Some(field) = obj.get_mut(name) {
                        conv.apply(field)
                            .map_err(|m| format!("field `{}`: {m}", clip(name)))?;
                    }
                }
                return Ok(());
            }
            Self::Map { keys, values } => return apply_map(v, keys.as_deref(), values.as_deref()),
        };
        *v = new;
        Ok(())
    }
}

/// [`Logical::Map`]: an object's values, or each `[key, value]` pair of the array form.
fn apply_map(
    v: &mut Value,
    keys: Option<&Logical>,
    values: Option<&Logical>,
) -> Result<(), String> {
    match v {
        Value::Object(obj) => {
            if keys.is_some() {
                return Err(
                    "a map whose keys have a logical type must be an array of [key, value] \
                     pairs, got an object"
                        .into(),
                );
            }
            if let Some(conv) = values {
                for (k, val) in obj.iter_mut() {
                    conv.apply(val)
                        .map_err(|m| format!("value of key {:?}: {m}", clip(k)))?;
                }
            }
            Ok(())
        }
        Value::Array(pairs) => {
            for (i, pair) in pairs.iter_mut().enumerate() {
                let what = json_type_name(pair);
                let [k, val] = pair
                    .as_array_mut()
                    .map(Vec::as_mut_slice)
                    .unwrap_or_default()
                else {
                    return Err(format!(
                        "entry {i} of a map must be a [key, value] pair, got {what}"
                    ));
                };
                if let Some(conv) = keys {
                    conv.apply(k)
                        .map_err(|m| format!("key of entry {i}: {m}"))?;
                }
                if let Some(conv) = values {
                    conv.apply(val)
                        .map_err(|m| format!("value of entry {i}: {m}"))?;
                }
            }
            Ok(())
        }
        other => Err(format!(
            "a map must be an object or an array of [key, value] pairs, got {}",
            json_type_name(other)
        )),
    }
}

/// A `Decimal` schema's `scale` parameter: Connect writes it as a string (`"2"`); an integer
/// is taken too. Without it the value cannot be read, so its absence is an error, not 0.
fn decimal_scale(param: Option<&Value>) -> Result<i32, String> {
    let scale = match param {
        None => return Err("a Decimal schema needs its `scale` parameter".into()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("a Decimal schema's `scale` must be an integer, got {s:?}"))?,
        Some(v) => v.as_i64().ok_or_else(|| {
            format!(
                "a Decimal schema's `scale` must be an integer, got {}",
                json_type_name(v)
            )
        })?,
    };
    scale_in_range(scale)
}

/// A temporal value's integer: a 64-bit one, as Connect's `int32` / `int64` are. The error
/// shows what came instead (`1.5`, `18446744073709551616`, a string).
fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64().ok_or_else(|| {
        format!(
            "a {what} must be a 64-bit integer, got {} {}",
            json_type_name(v),
            clip(&v.to_string())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decimal_of_the_wrong_type_is_named_by_its_type_and_a_clip() {
        let mut huge = Value::Array((0..100_000).map(Value::from).collect());
        let e = Logical::Decimal { scale: 2 }.apply(&mut huge).unwrap_err();
        assert!(e.contains("got an array [0,1,2"), "{e}");
        assert!(e.len() < 200, "{} bytes", e.len());
    }

    #[test]
    fn scales_and_sizes_have_a_range() {
        assert!(decimal_from_twos_complement(&[1], 16_383).is_ok());
        assert!(decimal_from_twos_complement(&[1], -16_383).is_ok());
        assert!(decimal_from_twos_complement(&[1], 16_384).is_err());
        assert!(decimal_from_twos_complement(&[1], i32::MIN).is_err());
        assert!(decimal_from_twos_complement(&vec![1; MAX_DECIMAL_BYTES + 1], 0).is_err());
        let mut v = json!({"scale": 2_000_000_000i64, "value": "AQ=="});
        assert!(Logical::VariableScaleDecimal.apply(&mut v).is_err());
    }

    #[test]
    fn temporal_types() {
        assert_eq!(format_date(19732).unwrap(), "2024-01-10");
        assert_eq!(format_date(-1).unwrap(), "1969-12-31");
        assert_eq!(
            format_timestamp(1_704_456_000_000_000, 1_000_000).unwrap(),
            "2024-01-05T12:00:00.000000"
        );
        assert_eq!(
            format_timestamp(-1, 1_000).unwrap(),
            "1969-12-31T23:59:59.999"
        );
        assert_eq!(
            format_time_of_day(45_296_789, 1_000).unwrap(),
            "12:34:56.789"
        );
        let mut v = json!({"scale": 3, "value": "Jws="});
        Logical::VariableScaleDecimal.apply(&mut v).unwrap();
        assert_eq!(v, json!("9.995"));
        let mut v = json!(["JxA=", null]);
        Logical::Array(Box::new(Logical::Decimal { scale: 2 }))
            .apply(&mut v)
            .unwrap();
        assert_eq!(v, json!(["100.00", null]));
        assert!(Logical::Date.apply(&mut json!("x")).is_err());
    }
}
