//! The one place cdc-rs reads and writes YAML.
//!
//! `serde_yaml` is archived upstream; we use `serde-saphyr` behind this module so that a change
//! of library touches one file. Booleans are strict (YAML 1.2): only `true` / `false` are
//! booleans, so `no`, `off`, `y` stay strings (the "Norway problem").

use std::borrow::Cow;

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

/// Most bytes of scalar text in one document (config files are small; an attacker's file is
/// refused before it costs memory).
pub const MAX_SCALAR_BYTES: usize = 8 << 20;
/// Most nodes in one document, aliases replayed included (an alias bomb stops here).
pub const MAX_NODES: usize = 100_000;
/// Deepest nesting of one document.
pub const MAX_DEPTH: usize = 64;

/// Parses YAML into `T` with strict booleans, within the limits above.
///
/// Refused, each with its line and column: a second document (`---`), a key repeated in a
/// map, a merge key (`<<`, whose silent overriding would hide a repeated key), and any tag
/// but YAML's own (`!include` or `!secret` would otherwise be dropped without a word and
/// their text read as the value).
///
/// Errors carry the parser's message and position but never the text of the line: a
/// config line may hold a password (the snippet serde-saphyr can print is turned off).
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, YamlError> {
    // Both structs are non-exhaustive: start from the defaults, tighten what matters.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_nodes = MAX_NODES;
    budget.max_depth = MAX_DEPTH;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_NODES;
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: Some(budget),
        alias_limits: alias_limits,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
        reject_unsupported_tags: true,
    };
    serde_saphyr::from_str_with_options(input, options).map_err(|e| {
        let (line, column) = match e.location() {
            Some(loc) => (Some(loc.line() as usize), Some(loc.column() as usize)),
            None => (None, None),
        };
        YamlError {
            message: e.render_with_formatter(&ConfigMessages),
            line,
            column,
        }
    })
}

/// serde-saphyr's messages, with those written for a Rust developer ("set
/// DuplicateKeyPolicy in Options", "use from_str_multiple") said for the person who wrote
/// the file instead.
struct ConfigMessages;

impl serde_saphyr::MessageFormatter for ConfigMessages {
    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        use serde_saphyr::Error;
        use serde_saphyr::budget::BudgetBreach;
        match err.without_snippet() {
            Error::MultipleDocuments { .. } => Cow::Borrowed(
                "a second YAML document (after `---`) starts here; the file must hold one",
            ),
            Error::DuplicateMappingKey { key: Some(k), .. } => Cow::Owned(format!(
                "duplicate key `{k}`: each key may appear once in a map"
            )),
            Error::DuplicateMappingKey { key: None, .. } => {
                Cow::Borrowed("duplicate key: each key may appear once in a map")
            }
            Error::MergeKeyNotAllowed { .. } => Cow::Borrowed(
                "merge keys (`<<`) are not supported: write the keys out (an alias `*name` \
                 still repeats a whole value)",
            ),
            Error::UnsupportedTag { tag, .. } => Cow::Owned(format!(
                "tag `{tag}` is not supported: only YAML's own tags (`!!str`, `!!int`, ...) are; \
                 there is no `!include`"
            )),
            Error::Budget { breach, .. } => match breach {
                BudgetBreach::Nodes { .. } => Cow::Owned(format!(
                    "the document has more than {MAX_NODES} values (aliases counted expanded)"
                )),
                BudgetBreach::ScalarBytes { .. } => Cow::Owned(format!(
                    "the document's text values are longer than {} MiB in all",
                    MAX_SCALAR_BYTES >> 20
                )),
                BudgetBreach::Depth { .. } => Cow::Owned(format!(
                    "the document nests lists and maps deeper than {MAX_DEPTH} levels"
                )),
                _ => serde_saphyr::DefaultMessageFormatter.format_message(err),
            },
            _ => serde_saphyr::DefaultMessageFormatter.format_message(err),
        }
    }
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
    fn syntax_errors_never_quote_the_line() {
        let err = from_str::<BTreeMap<String, String>>("a: \"pw-MARK\n").unwrap_err();
        assert!(!err.message.contains("MARK"), "{err:?}");
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!(
                "l{i}: &l{i} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        assert!(from_str::<serde_json::Value>(&bomb).is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = from_str::<BTreeMap<String, String>>("a: b\nc: [unclosed\n").unwrap_err();
        assert!(err.line.is_some(), "{err:?}");
    }
}
