//! `#[serde(serialize_with = "...")]` helpers: the serialized form of a config type with its
//! secret-bearing fields masked, so that `Serialize` shows no more than `Debug`.
//!
//! ```
//! #[derive(serde::Serialize)]
//! struct Output {
//!     #[serde(serialize_with = "cdc_core::secret::masked::url")]
//!     url: String,
//! }
//! let o = Output { url: "http://u:pw@sink".into() };
//! assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"url":"http://u:***@sink"}"#);
//! ```

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{MASK, is_secret_key, mask_json, redact};

/// A connection string or URL, [`redact`]ed.
pub fn url<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact(value))
}

/// An optional URL, [`redact`]ed.
pub fn option_url<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    value.as_deref().map(redact).serialize(s)
}

/// URLs, each [`redact`]ed.
pub fn urls<S: Serializer>(value: &[String], s: S) -> Result<S::Ok, S::Error> {
    value
        .iter()
        .map(|u| redact(u))
        .collect::<Vec<_>>()
        .serialize(s)
}

/// Optional URLs, each [`redact`]ed.
pub fn option_urls<S: Serializer>(value: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
    value
        .as_ref()
        .map(|v| v.iter().map(|u| redact(u)).collect::<Vec<_>>())
        .serialize(s)
}

/// A string map (headers, properties): the value of every secret key masked, every other
/// value [`redact`]ed.
pub fn string_map<S: Serializer>(
    value: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    string_map_with(value, &[], s)
}

/// [`string_map`], the keys of `secrets` masked too (a system's own secret properties whose
/// names the generic rule misses, librdkafka's `ssl.key.pem`, say).
pub fn string_map_with<S: Serializer>(
    value: &BTreeMap<String, String>,
    secrets: &[&str],
    s: S,
) -> Result<S::Ok, S::Error> {
    value
        .iter()
        .map(|(k, v)| {
            let secret = is_secret_key(k) || secrets.contains(&k.as_str());
            let shown = if secret && !v.is_empty() {
                MASK.to_owned()
            } else {
                redact(v)
            };
            (k.as_str(), shown)
        })
        .collect::<BTreeMap<_, _>>()
        .serialize(s)
}

/// A string map whose every value is a secret (an environment for a process): keys only.
pub fn values_masked<S: Serializer>(
    value: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    value
        .keys()
        .map(|k| (k.as_str(), MASK))
        .collect::<BTreeMap<_, _>>()
        .serialize(s)
}

/// An untyped JSON map, through [`mask_json`].
pub fn json_map<S: Serializer>(value: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    mask_json(&Value::Object(value.clone())).serialize(s)
}

/// An optional untyped JSON value, through [`mask_json`].
pub fn option_json<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    value.as_ref().map(mask_json).serialize(s)
}
