//! Checking `settings.http:`, the HTTP endpoint of `cdc run` (metrics, health, live status).
//!
//! It listens on loopback unless `allow_remote: true` says otherwise: an endpoint that shows
//! a run's sources and metrics is not opened to the network by a typo.

use std::net::SocketAddr;

use cdc::core::secret::Secret;
use serde_json::Value;

use super::check::{Checker, join};
use super::node::{SpannedNode, line_of};

const HTTP_KEYS: &[&str] = &["listen", "allow_remote", "token"];

/// The longest bearer token accepted.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// `settings.http`: where `cdc run` serves `/metrics`, `/health/*` and `/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpSettings {
    /// The address to listen on (`127.0.0.1:9464`; port 0 picks a free one). `None`: no
    /// endpoint, unless `--listen` asks for one.
    pub listen: Option<SocketAddr>,
    /// Whether a non-loopback `listen` address is allowed.
    pub allow_remote: bool,
    /// The bearer token every request must carry, when set (a secret: masked everywhere).
    pub token: Option<Secret>,
}

impl HttpSettings {
    /// Checks an address from `--listen` (or the file) against `allow_remote`; the error names
    /// the field to change.
    pub fn check_listen(addr: SocketAddr, allow_remote: bool, what: &str) -> Result<(), String> {
        if addr.ip().is_loopback() || allow_remote {
            Ok(())
        } else {
            Err(format!(
                "{what}: {addr} is not a loopback address; the endpoint shows the run's sources \
                 and metrics, so listening beyond this machine needs settings.http.allow_remote: true"
            ))
        }
    }
}

/// Checks a token's text; the message never quotes the value.
pub fn check_token(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("must not be empty (leave the key out for no token)".into());
    }
    if raw.len() > MAX_TOKEN_BYTES {
        return Err(format!("must be at most {MAX_TOKEN_BYTES} bytes"));
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (it travels in an HTTP header)".into());
    }
    Ok(())
}

pub(super) fn check_http(c: &mut Checker<'_>, node: &SpannedNode) -> HttpSettings {
    let mut s = HttpSettings::default();
    let Some(entries) = c.map("settings.http", node) else {
        return s;
    };
    c.unknown_keys("settings.http", entries, HTTP_KEYS);
    let mut listen_line = line_of(node);
    for (key, value) in entries {
        let path = join("settings.http", &key.value);
        let v = c.json_of(&path, value);
        let line = line_of(key);
        match key.value.as_str() {
            "listen" => match v.as_str().map(str::parse::<SocketAddr>) {
                Some(Ok(addr)) => {
                    s.listen = Some(addr);
                    listen_line = line;
                }
                _ => c.error(
                    line,
                    format!("{path}: must be an IP address and port (127.0.0.1:9464, [::1]:9464), got {}", super::check::as_written(&value.value)),
                ),
            },
            "allow_remote" => match v {
                Value::Bool(b) => s.allow_remote = b,
                _ => c.error(line, format!("{path}: must be true or false, got {}", super::check::as_written(&value.value))),
            },
            "token" => match v.as_str() {
                Some(raw) => match check_token(raw) {
                    Ok(()) => s.token = Some(Secret::new(raw)),
                    Err(e) => c.error(line, format!("{path}: {e}")),
                },
                None => c.error(line, format!("{path}: must be a string")),
            },
            _ => {}
        }
    }
    if let Some(addr) = s.listen
        && let Err(e) = HttpSettings::check_listen(addr, s.allow_remote, "settings.http.listen")
    {
        c.error(listen_line, e);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_masked_in_debug_and_checked_without_being_quoted() {
        let s = HttpSettings {
            listen: Some("127.0.0.1:9464".parse().unwrap()),
            allow_remote: false,
            token: Some(Secret::new("very-secret-token")),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        let e = check_token("very secret").unwrap_err();
        assert!(!e.contains("very"), "{e}");
        assert!(check_token(&"x".repeat(MAX_TOKEN_BYTES + 1)).is_err());
        assert!(check_token("ok-token_1.2~3").is_ok());
        let remote: SocketAddr = "10.0.0.1:9464".parse().unwrap();
        assert!(HttpSettings::check_listen(remote, false, "x").is_err());
        assert!(HttpSettings::check_listen(remote, true, "x").is_ok());
        assert!(HttpSettings::check_listen("[::1]:1".parse().unwrap(), false, "x").is_ok());
    }
}
