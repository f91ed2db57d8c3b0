//! The one place cdc-rs reads and writes YAML.
//!
//! `serde_yaml` is archived upstream; we use `serde-saphyr` behind this module so that a change
//! of library touches one file. Booleans are strict (YAML 1.2): only `true` / `false` are
//! booleans, so `no`, `off`, `y` stay strings (the "Norway problem").

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A YAML error, with the line and column where the parser saw it when it knows them.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// The parser's message (it includes the location when known).
    pub message: String,
    /// 1-based line of the error, when known.
    pub line: Option<usize>,
    /// 1-based column of the error, when known.
    pub column: Option<usize>,
}

/// Parses YAML into `T` with strict booleans.
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options(input, options).map_err(|e| {
        let (line, column) = match e.location() {
            Some(loc) => (Some(loc.line() as usize), Some(loc.column() as usize)),
            None => (None, None),
        };
        YamlError {
            message: e.to_string(),
            line,
            column,
        }
    })
}

/// Serializes `value` to YAML.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|e| YamlError {
        message: e.to_string(),
        line: None,
        column: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn strict_booleans_keep_no_and_off_as_strings() {
        let m: BTreeMap<String, String> = from_str("country: no\nswitch: off\n").unwrap();
        assert_eq!(m["country"], "no");
        assert_eq!(m["switch"], "off");
        let b: BTreeMap<String, bool> = from_str("a: true\nb: false\n").unwrap();
        assert!(b["a"] && !b["b"]);
        assert!(from_str::<BTreeMap<String, bool>>("a: yes\n").is_err());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = from_str::<BTreeMap<String, String>>("a: b\nc: [unclosed\n").unwrap_err();
        assert!(err.line.is_some(), "{err:?}");
    }
}
