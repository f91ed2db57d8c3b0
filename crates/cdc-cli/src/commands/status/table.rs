//! The text form of a status document.

use serde_json::Value;

use crate::config::ConfigFile;

/// Prints where the status comes from, the run line and one line per source.
pub fn print(cfg: &ConfigFile, doc: &Value) {
    let config = cfg.path.display();
    match doc["from"].as_str() {
        Some("endpoint") => println!(
            "status from the running process ({})",
            doc["endpoint"].as_str().unwrap_or_default()
        ),
        _ => println!(
            "status from the status file {}",
            doc["status_file"].as_str().unwrap_or_default()
        ),
    }
    let run = &doc["run"];
    if run.is_object() {
        println!(
            "run of {config} (pid {}): {}, updated {}",
            run["pid"],
            if run["running"] == true {
                "running"
            } else {
                "ended"
            },
            run["updated_at"].as_str().unwrap_or_default()
        );
    } else {
        println!(
            "no run of {config} has written {} yet",
            doc["status_file"].as_str().unwrap_or_default()
        );
    }
    println!(
        "{:<24} {:<9} {:<12} {:>10} {:>9} {:>10} {:<32} ERROR",
        "SOURCE", "PROVIDER", "STATE", "EVENTS", "EVENTS/S", "LAG", "LAST EVENT"
    );
    for r in doc["sources"].as_array().into_iter().flatten() {
        let lag = match (r["lag_bytes"].as_i64(), r["lag_seconds"].as_i64()) {
            (Some(b), Some(s)) => format!("{b}B/{s}s"),
            (Some(b), None) => format!("{b}B"),
            (None, Some(s)) => format!("{s}s"),
            (None, None) => "-".into(),
        };
        let dash = |v: &Value| match v {
            Value::Null => "-".to_owned(),
            other => other.to_string(),
        };
        println!(
            "{:<24} {:<9} {:<12} {:>10} {:>9} {:>10} {:<32} {}",
            r["source_id"].as_str().unwrap_or_default(),
            r["provider"].as_str().unwrap_or_default(),
            r["state"].as_str().unwrap_or_default(),
            dash(&r["events"]),
            dash(&r["events_per_sec"]),
            lag,
            r["last_event"].as_str().unwrap_or("-"),
            r["error"].as_str().unwrap_or("")
        );
    }
}
