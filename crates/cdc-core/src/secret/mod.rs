//! Secrets that never show: [`SecretString`] (a connection string) and [`Secret`] (a
//! password, a token, a key), and the masking of untyped values.
//!
//! What is masked is decided by the *field*, never by how the value looks:
//!
//! - a [`Secret`] field (an auth password, a bearer token) shows as [`MASK`], whatever it holds;
//! - a [`SecretString`] field is a connection string (a DSN or a URL): it shows what an operator
//!   needs to recognise the target (scheme, host, database) with its credentials masked, see
//!   [`redact`];
//! - untyped pass-through maps (a source's `options`, Debezium `connector_config`, Bento
//!   headers) go through [`mask_json`]: the value of every key that [`is_secret_key`] names is
//!   masked, and every string has its URL userinfo and secret `key=value` parameters masked.
//!
//! The raw value is reachable only through `expose()`, so a leak needs an explicit call that
//! stands out in review.

mod keys;
pub mod masked;
mod redact;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use keys::{is_config_provider_ref, is_secret_key, mask_json, mask_json_in_place};
pub use redact::{redact, redact_text, scrub_serde_message};

/// The mask put where a secret was.
pub const MASK: &str = "***";

/// What both secret types have alike: wrapping, `expose`, `is_empty`, `From` a string and
/// raw deserialization.
macro_rules! secret_basics {
    ($ty:ident, $what:literal) => {
        impl $ty {
            #[doc = concat!("Wraps a raw ", $what, ".")]
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            /// The raw value. Call only where the secret must reach its destination (a
            /// driver, an API).
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl From<String> for $ty {
            fn from(raw: String) -> Self {
                Self(raw)
            }
        }

        impl From<&str> for $ty {
            fn from(raw: &str) -> Self {
                Self(raw.to_owned())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self)
            }
        }
    };
}

/// A connection string holding credentials: a DSN (`postgres://user:pw@host/db`, libpq
/// `host=h password=pw`, Go MySQL `user:pw@tcp(h:3306)/db`) or a URL with userinfo.
///
/// `Debug`, `Display` and `Serialize` all show [`redact`]'s form
/// (`postgres://user:***@host/db`); deserialization takes the raw value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

secret_basics!(SecretString, "connection string");

impl SecretString {
    /// The value with its credentials masked: see [`redact`].
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretString")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// A secret with no part worth showing: a password, a token, an API key.
///
/// `Debug` is `Secret("***")`, `Display` and `Serialize` are [`MASK`], whatever the value
/// holds (an empty secret shows as `""` so that a missing value is visible).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

secret_basics!(Secret, "secret");

impl Secret {
    fn shown(&self) -> &'static str {
        if self.0.is_empty() { "" } else { MASK }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&self.shown()).finish()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

/// Writes `name` and the JSON form of `value` with every secret masked ([`mask_json`]): the
/// `Debug` of config types whose serialized form is their whole content, so that no field
/// (typed or pass-through) can print a secret.
pub fn fmt_masked<T: Serialize + ?Sized>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    value: &T,
) -> fmt::Result {
    match serde_json::to_value(value) {
        Ok(v) => write!(f, "{name} {}", mask_json(&v)),
        Err(_) => write!(f, "{name} {{ .. }}"),
    }
}

/// Implements `Debug` through [`fmt_masked`] for types that are `Serialize`: their `Debug`
/// then shows exactly what their serialized form shows, with every secret masked.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Output { url: String, headers: std::collections::BTreeMap<String, String> }
/// cdc_core::impl_masked_debug!(Output);
/// let o = Output { url: "http://u:pw@sink".into(),
///                  headers: [("Authorization".into(), "Bearer t".into())].into() };
/// let shown = format!("{o:?}");
/// assert!(shown.starts_with("Output {"));
/// assert!(shown.contains(r#""url":"http://u:***@sink""#), "{shown}");
/// assert!(shown.contains(r#""Authorization":"***""#) && !shown.contains("Bearer"));
/// ```
#[macro_export]
macro_rules! impl_masked_debug {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::secret::fmt_masked(f, stringify!($ty), self)
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_shows_only_the_redacted_form() {
        let s = SecretString::new("postgres://user:hunter2@host/db");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
        assert_eq!(s.to_string(), "postgres://user:***@host/db");
        assert_eq!(s.expose(), "postgres://user:hunter2@host/db");
    }

    #[test]
    fn a_bare_secret_never_shows_whatever_it_looks_like() {
        for raw in ["hunter2", "ghp_abcdef", "db:5432", "a b c", "x=y"] {
            let s = Secret::new(raw);
            assert_eq!(s.to_string(), MASK);
            assert_eq!(format!("{s:?}"), "Secret(\"***\")");
            assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
            assert_eq!(s.expose(), raw);
        }
        assert_eq!(Secret::default().to_string(), "");
    }
}
