//! Checking `settings:`: every value in its documented range.

use serde_json::Value;

use super::check::{Checker, as_written, join};
use super::node::{SpannedNode, line_of};
use super::{MAX_METRICS_INTERVAL_SECS, MAX_SHUTDOWN_TIMEOUT_SECS, Settings};

pub(super) const SETTINGS_KEYS: &[&str] = &[
    "log_format",
    "metrics_interval_secs",
    "status_file",
    "shutdown_timeout_secs",
    "http",
];

pub(super) fn check_settings(c: &mut Checker<'_>, node: &SpannedNode) -> Settings {
    let mut s = Settings::default();
    let Some(entries) = c.map("settings", node) else {
        return s;
    };
    c.unknown_keys("settings", entries, SETTINGS_KEYS);
    for (key, value) in entries {
        let v = c.json_of(&join("settings", &key.value), value);
        let line = line_of(key);
        match key.value.as_str() {
            "log_format" => match v.as_str() {
                Some(f @ ("text" | "json")) => s.log_format = Some(f.to_owned()),
                _ => c.error(line, format!("settings.log_format: must be text or json, got {}", as_written(&value.value))),
            },
            "metrics_interval_secs" => match whole_in(&v, 0, MAX_METRICS_INTERVAL_SECS) {
                Some(n) => s.metrics_interval_secs = n,
                None => c.error(
                    line,
                    format!("settings.metrics_interval_secs: must be a whole number of seconds in 0..={MAX_METRICS_INTERVAL_SECS} (0: off), got {}", as_written(&value.value)),
                ),
            },
            "shutdown_timeout_secs" => match whole_in(&v, 1, MAX_SHUTDOWN_TIMEOUT_SECS) {
                Some(n) => s.shutdown_timeout_secs = n,
                None => c.error(
                    line,
                    format!("settings.shutdown_timeout_secs: must be a whole number of seconds in 1..={MAX_SHUTDOWN_TIMEOUT_SECS}, got {}", as_written(&value.value)),
                ),
            },
            "http" => s.http = super::http::check_http(c, value),
            "status_file" => match v.as_str() {
                Some(p) if !p.is_empty() => s.status_file = Some(c.dir.join(p)),
                _ => c.error(line, format!("settings.status_file: must be a path, got {}", as_written(&value.value))),
            },
            _ => {}
        }
    }
    s
}

/// A JSON number that is a whole value in `min..=max` (`10` and `10.0` alike).
fn whole_in(v: &Value, min: u64, max: u64) -> Option<u64> {
    cdc::core::number::whole_u64(v).filter(|n| (min..=max).contains(n))
}
