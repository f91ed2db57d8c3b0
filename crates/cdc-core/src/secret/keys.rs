//! Which keys hold secrets, and masking untyped JSON by them.
//!
//! The documented list (case-insensitive): a key is secret when it contains one of
//! `password`, `passwd`, `secret`, `token`, `credential`, `authorization`, `cookie`, `jaas`,
//! `apikey`, `privatekey`; or has a part (split at `.`, `_`, `-`, camelCase) that is `pwd` or
//! `pass`; or its last part is `key`. So `database.password`, `aws.secret.access.key`,
//! `PGPASSWORD`, `Authorization`, `X-Api-Key`, `sasl.jaas.config` are secret, and
//! `key.converter`, `message.key.columns`, `accessKeyId` are not.

use serde_json::Value;

use super::{MASK, redact, redact_text};

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "authorization",
    "cookie",
    "jaas",
    "apikey",
    "privatekey",
];

const SECRET_PARTS: &[&str] = &["pwd", "pass"];

/// Whether a key (a config property, a header, an environment variable, a query parameter)
/// holds a secret, by the documented list in this module's docs.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    let parts = parts(key);
    parts.iter().any(|p| SECRET_PARTS.contains(&p.as_str()))
        || parts.last().is_some_and(|p| p == "key")
}

/// The lower-case parts of a key: split at non-alphanumerics and before an upper-case letter
/// that follows a lower-case one (`secretAccessKey` → `secret`, `access`, `key`).
fn parts(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a value is a whole Kafka Connect config-provider reference
/// (`${file:/secrets.properties:pw}`): it names where a secret is, it is not one.
pub fn is_config_provider_ref(value: &str) -> bool {
    value.starts_with("${") && value.ends_with('}') && value[2..].contains(':')
}

/// A copy of `value` with every secret masked: see [`mask_json_in_place`].
pub fn mask_json(value: &Value) -> Value {
    let mut copy = value.clone();
    mask_json_in_place(&mut copy);
    copy
}

/// Masks, at any depth: the value of every key [`is_secret_key`] names (whatever its type;
/// nulls, empty strings and config-provider references stay, they hide nothing), and in
/// every other string its URL userinfo and secret `key=value` parameters ([`redact`], or
/// [`redact_text`] word by word for a string with spaces, such as a script).
pub fn mask_json_in_place(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if is_secret_key(key) {
                    mask_whole(child);
                } else {
                    mask_json_in_place(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json_in_place),
        Value::String(s) => {
            let masked = if s.contains(char::is_whitespace) {
                redact_text(s)
            } else {
                redact(s)
            };
            if masked != *s {
                *s = masked;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn mask_whole(value: &mut Value) {
    match value {
        Value::Null => {}
        Value::String(s) if s.is_empty() || is_config_provider_ref(s) => {}
        _ => *value = Value::String(MASK.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_keys_are_secret_and_look_alikes_are_not() {
        for key in [
            "password",
            "database.password",
            "ssl.key.password",
            "aws.secret.access.key",
            "secretAccessKey",
            "PGPASSWORD",
            "MYSQL_PWD",
            "DB_PASS",
            "Authorization",
            "Proxy-Authorization",
            "X-Api-Key",
            "api_key",
            "access_token",
            "sasl.jaas.config",
            "credentials",
            "private.key",
        ] {
            assert!(is_secret_key(key), "{key} should be secret");
        }
        for key in [
            "key.converter",
            "message.key.columns",
            "accessKeyId",
            "host",
            "user",
            "topic.prefix",
            "passthrough",
            "keyspace",
        ] {
            assert!(!is_secret_key(key), "{key} should not be secret");
        }
    }

    #[test]
    fn masks_secret_keys_at_any_depth_and_userinfo_in_every_string() {
        let v = json!({
            "database.url": "jdbc:postgresql://h/db?user=u&password=MARK",
            "x.password": "MARK",
            "nested": {"token": 42, "list": ["nats://u:MARK@n:4222"], "ok": "plain"},
            "headers": {"Authorization": "Bearer MARK"},
            "ref.password": "${file:/s.properties:pw}",
            "empty.secret": "",
        });
        let masked = mask_json(&v);
        assert!(!masked.to_string().contains("MARK"), "{masked}");
        assert_eq!(masked["nested"]["token"], "***");
        assert_eq!(masked["nested"]["ok"], "plain");
        assert_eq!(masked["ref.password"], "${file:/s.properties:pw}");
        assert_eq!(masked["empty.secret"], "");
        assert_eq!(masked["nested"]["list"][0], "nats://u:***@n:4222");
    }
}
