//! [`Row`]: a row image or key, parsed into a [`Value`] only when somebody reads it.
//!
//! Most of an event's bytes are its rows, and many consumers never read them: a trigger
//! filters on the operation and the table, a step counts events. A provider that receives a
//! row as JSON text (Debezium) keeps the text, checked once, and the row is parsed on first
//! read; a provider that builds rows itself hands over a [`Value`].

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A row image or key: a JSON value (normally an object of column → value).
///
/// Reads go through [`Deref`] to [`Value`], so `row["id"]`, `row.get("id")` and
/// `row.as_object()` work as on a `Value`. Two rows are equal when their values are.
#[derive(Clone)]
pub struct Row(Repr);

#[derive(Clone)]
enum Repr {
    /// Built by the provider.
    Value(Value),
    /// Received as JSON text, checked to parse; parsed on first read.
    Json {
        /// A `String` rather than a `Box<str>`: shrinking a buffer to its length costs a
        /// copy per row.
        text: String,
        value: OnceLock<Value>,
    },
}

impl Row {
    /// A row kept as JSON text, parsed on first read.
    ///
    /// The text is checked now: it is accepted exactly when `serde_json::from_str::<Value>`
    /// would accept it (syntax, numbers in range, nesting depth), so a later read cannot fail.
    /// Checking does not allocate; it costs a scan of the text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<Checked>(text)?;
        Ok(Self(Repr::Json {
            text: text.to_owned(),
            value: OnceLock::new(),
        }))
    }

    /// A row from JSON text serde_json already read as a [`RawValue`] (a part of a larger
    /// document a provider parsed), kept as text and parsed on first read.
    ///
    /// Accepted exactly when [`Row::from_json`] accepts the same text, at a fraction of the
    /// cost: reading it as a `RawValue` checked its syntax, so only what that does not check
    /// is checked now (nesting depth, unpaired `\u` surrogates).
    ///
    /// [`RawValue`]: serde_json::value::RawValue
    pub fn from_raw_json(raw: &serde_json::value::RawValue) -> Result<Self, serde_json::Error> {
        Self::from_span(raw.into())
    }

    /// [`Row::from_raw_json`] for a value a [`Scanner`](super::json_span::Scanner) (or
    /// serde_json) checked: accepted exactly when [`Row::from_json`] accepts its text.
    pub fn from_span(span: super::json_span::JsonSpan<'_>) -> Result<Self, serde_json::Error> {
        let text = span.get();
        // What the scanner settled needs no second look (most rows: no escapes).
        if !span.parses_as_value() {
            super::raw_check::check(text).map_err(<serde_json::Error as de::Error>::custom)?;
        }
        Ok(Self(Repr::Json {
            text: text.to_owned(),
            value: OnceLock::new(),
        }))
    }

    /// A row from JSON text its provider wrote itself and knows to be valid (every string
    /// escaped, every number a JSON literal, nesting within serde_json's limit), kept without
    /// the check [`Row::from_json`] makes: for providers that build rows from typed values.
    ///
    /// Text that is not valid JSON is a bug of the provider: reads of such a row see `null`
    /// (debug builds check the text and panic).
    pub fn from_trusted_json(text: String) -> Self {
        debug_assert!(
            serde_json::from_str::<Checked>(&text).is_ok(),
            "Row::from_trusted_json given invalid JSON: {text}"
        );
        Self(Repr::Json {
            text,
            value: OnceLock::new(),
        })
    }

    /// The row as a JSON value, parsed now if it was kept as text.
    pub fn value(&self) -> &Value {
        match &self.0 {
            Repr::Value(v) => v,
            Repr::Json { text, value } => value.get_or_init(|| parse_checked(text)),
        }
    }

    /// The row as an owned JSON value.
    pub fn into_value(self) -> Value {
        match self.0 {
            Repr::Value(v) => v,
            Repr::Json { text, value } => {
                value.into_inner().unwrap_or_else(|| parse_checked(&text))
            }
        }
    }

    /// The JSON text the row arrived as, when the provider kept it (byte for byte, including
    /// its whitespace); `None` for a row built as a value.
    pub fn json_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Value(_) => None,
            Repr::Json { text, .. } => Some(text),
        }
    }

    /// The row as JSON text: the text it arrived as, or else the value serialized compactly.
    pub fn to_json_string(&self) -> String {
        match &self.0 {
            Repr::Value(v) => v.to_string(),
            Repr::Json { text, .. } => text.clone(),
        }
    }
}

/// Parses text that [`Checked`] accepted; the same parser accepts the same text, so the
/// fallback is never taken (it exists so that reading a row can never panic).
fn parse_checked(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl Deref for Row {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Row {
    fn from(v: Value) -> Self {
        Self(Repr::Value(v))
    }
}

impl From<Row> for Value {
    fn from(r: Row) -> Self {
        r.into_value()
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (self.json_text(), other.json_text())
            && a == b
        {
            return true;
        }
        self.value() == other.value()
    }
}

impl PartialEq<Value> for Row {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<Row> for Value {
    fn eq(&self, other: &Row) -> bool {
        self == other.value()
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.value(), f)
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self::from)
    }
}

/// Accepts what [`Value`] accepts, keeping nothing: every value goes through
/// `deserialize_any` as in `Value`'s own `Deserialize` (so numbers are range-checked and
/// nesting is depth-limited alike), but strings are only borrowed and nothing is built.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_none<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        Checked::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        // Keys are JSON strings; serde_json checks them while reading them as ignored.
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_rows_read_like_values() {
        let r = Row::from_json(r#"{"id": 1, "name": "a\"b", "tags": ["x"]}"#).unwrap();
        assert_eq!(r["id"], 1);
        assert_eq!(r["name"], "a\"b");
        assert_eq!(r.get("tags"), Some(&json!(["x"])));
        assert_eq!(r, json!({"id": 1, "name": "a\"b", "tags": ["x"]}));
        assert_eq!(
            r,
            Row::from(json!({"tags": ["x"], "name": "a\"b", "id": 1}))
        );
        assert_eq!(
            r.json_text(),
            Some(r#"{"id": 1, "name": "a\"b", "tags": ["x"]}"#)
        );
        assert_eq!(r.clone().into_value()["tags"][0], "x");
        assert_eq!(format!("{r:?}"), format!("{:?}", r.value()));
    }

    #[test]
    fn text_is_accepted_exactly_when_value_accepts_it() {
        let deep_ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let too_deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let cases = [
            r#"{"a":1}"#,
            "[1, 2.5, -3, true, null, \"s\"]",
            "1e400",
            "-1e400",
            "99999999999999999999999",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "\"\\ud800\"",
            "\"\\udc00 trailing\"",
            "\"\\ud83d\\ude00\"",
            "{\"\\ud800x\": 1}",
            "\"\\ud800\\u0041\"",
            "\"bad \\x escape\"",
            "{\"k\": [1, 2",
            "nul",
            "{} {}",
            "",
            deep_ok.as_str(),
            too_deep.as_str(),
        ];
        for text in cases {
            let want = serde_json::from_str::<Value>(text);
            let got = Row::from_json(text);
            assert_eq!(got.is_ok(), want.is_ok(), "{text:?}: {want:?}");
            // The same text read as a RawValue first (as a provider reads a row inside its
            // envelope): from_raw_json accepts exactly what from_json does.
            if let Ok(raw) = serde_json::from_str::<&serde_json::value::RawValue>(text) {
                let from_raw = Row::from_raw_json(raw);
                assert_eq!(from_raw.is_ok(), want.is_ok(), "raw {text:?}: {want:?}");
                if let (Ok(row), Ok(value)) = (&from_raw, &want) {
                    assert_eq!(row.value(), value, "raw {text:?}");
                }
            }
            if let (Ok(row), Ok(value)) = (got, want) {
                assert_eq!(*row.value(), value, "{text:?}");
            }
        }
    }

    #[test]
    fn serde_round_trip_is_the_value() {
        let r = Row::from_json(r#"{ "id" : 7 }"#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"id":7}"#);
        assert_eq!(r.to_json_string(), r#"{ "id" : 7 }"#);
        let back: Row = serde_json::from_str(r#"{"id":7}"#).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.json_text(), None);
    }
}
