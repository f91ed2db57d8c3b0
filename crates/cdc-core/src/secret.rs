//! [`SecretString`]: a string that never shows its secret part.
//!
//! Connection strings carry passwords. Everything that prints one (`Debug`, `Display`,
//! serialization, errors built from it, status) goes through [`SecretString::redacted`], which
//! keeps what an operator needs to recognise the target (scheme, user, host, database) and masks
//! the password. The raw value is reachable only through [`SecretString::expose`], so a leak
//! needs an explicit call that stands out in review.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The mask put where a secret was.
pub const MASK: &str = "***";

/// Query-string and key=value keys whose value is a secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "sslpassword",
    "secret_access_key",
    "aws_secret_access_key",
    "session_token",
];

/// A string holding a secret, usually a DSN such as `postgres://user:pw@host/db`.
///
/// `Debug`, `Display` and `Serialize` all show the redacted form
/// (`postgres://user:***@host/db`); deserialization takes the raw value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a raw secret.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The raw value. Call only where the secret must reach its destination (a driver, an API).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value with every password masked: see [`redact`].
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl From<String> for SecretString {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

impl From<&str> for SecretString {
    fn from(raw: &str) -> Self {
        Self(raw.to_owned())
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

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Masks the secrets in a connection string of any of the usual shapes:
///
/// - URL userinfo: `postgres://user:pw@host/db` → `postgres://user:***@host/db`
///   (also without a scheme: `user:pw@host:5432`);
/// - URL query parameters: `...?password=pw&sslmode=require` → `...?password=***&sslmode=require`;
/// - libpq / ODBC key=value: `host=h password=pw` → `host=h password=***`,
///   `Server=h;Pwd=pw;` → `Server=h;Pwd=***;`.
///
/// A string with none of these is returned unchanged.
pub fn redact(raw: &str) -> String {
    let masked = redact_userinfo(raw);
    redact_key_values(&masked)
}

/// Masks the password of `scheme://user:password@host...` or `user:password@host...`.
fn redact_userinfo(raw: &str) -> String {
    let (prefix, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    // The authority ends at the first '/', '?' or '#'; the userinfo ends at its last '@'.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return raw.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return raw.to_owned();
    };
    // Without a scheme, `host:port/...` has no '@' and never reaches here; a bare
    // `a:b@c` is treated as userinfo, which errs on the side of masking.
    let user = &userinfo[..colon];
    format!("{prefix}{user}:{MASK}{}", &rest[at..])
}

/// Masks values of secret keys in `k=v` pairs separated by spaces, `;` or `&`.
fn redact_key_values(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        // Find the next '='; the key is the run of key characters before it.
        let Some(eq_rel) = raw[i..].find('=') else {
            out.push_str(&raw[i..]);
            break;
        };
        let eq = i + eq_rel;
        let key_start = raw[..eq]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map(|p| p + 1)
            .unwrap_or(0)
            .max(i);
        let key = &raw[key_start..eq];
        out.push_str(&raw[i..=eq]);
        let value_start = eq + 1;
        let is_secret = SECRET_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k));
        if !is_secret {
            i = value_start;
            continue;
        }
        // The value runs to the next separator; a quoted libpq value runs to its closing quote.
        let value_end = if bytes.get(value_start) == Some(&b'\'') {
            let mut j = value_start + 1;
            while j < bytes.len() {
                if bytes[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if bytes[j] == b'\'' {
                    j += 1;
                    break;
                }
                j += 1;
            }
            j.min(bytes.len())
        } else {
            raw[value_start..]
                .find([' ', ';', '&', '\t', '\n'])
                .map(|p| value_start + p)
                .unwrap_or(raw.len())
        };
        if value_end > value_start {
            out.push_str(MASK);
        }
        i = value_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_password() {
        assert_eq!(
            redact("postgres://user:s3cret@host/db"),
            "postgres://user:***@host/db"
        );
        assert_eq!(
            redact("postgres://user:p@ss:w@rd@host:5432/db?sslmode=require"),
            "postgres://user:***@host:5432/db?sslmode=require"
        );
        assert_eq!(redact("mysql://root@host/db"), "mysql://root@host/db");
        assert_eq!(redact("http://localhost:8083"), "http://localhost:8083");
        assert_eq!(redact("user:pw@host:5432"), "user:***@host:5432");
    }

    #[test]
    fn masks_query_and_key_values() {
        assert_eq!(
            redact("postgres://host/db?user=u&password=pw&sslmode=require"),
            "postgres://host/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact("host=h user=u password=pw dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact("host=h password='a b\\' c' dbname=d"),
            "host=h password=*** dbname=d"
        );
        assert_eq!(redact("Server=h;Pwd=pw;Db=d"), "Server=h;Pwd=***;Db=d");
        assert_eq!(redact("plain-value"), "plain-value");
    }

    #[test]
    fn debug_display_and_serialize_never_show_the_password() {
        let s = SecretString::new("postgres://user:hunter2@host/db");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
        assert_eq!(s.to_string(), "postgres://user:***@host/db");
        assert_eq!(s.expose(), "postgres://user:hunter2@host/db");
    }
}
