//! `cdc status FILE`: the sources of a config file with state, lag and last event, from the
//! status file its `cdc run` writes.

use std::path::Path;

use serde_json::json;

use crate::config::ConfigFile;
use crate::error::CliError;
use crate::output::Format;
use crate::run::status_file::{self, StatusFile};

/// Prints a table (or JSON) of the sources of `cfg`.
pub fn run(cfg: &ConfigFile, output: Option<Format>, flag: Option<&Path>) -> Result<(), CliError> {
    let path = status_file::path_for(&cfg.path, flag.or(cfg.settings.status_file.as_deref()));
    let file = StatusFile::read(&path).map_err(CliError::Runtime)?;
    let rows: Vec<serde_json::Value> = cfg
        .sources
        .iter()
        .map(|s| {
            let report = file
                .as_ref()
                .and_then(|f| f.sources.iter().find(|r| r.status.source_id == s.source_id));
            match report {
                Some(r) => {
                    let mut v = serde_json::to_value(&r.status).unwrap_or_default();
                    v["events"] = json!(r.events);
                    v
                }
                None => json!({"source_id": s.source_id, "provider": s.provider,
                               "state": "not_running", "last_event": null}),
            }
        })
        .collect();
    let run = file
        .as_ref()
        .map(|f| json!({"pid": f.pid, "running": f.is_live(), "updated_at": f.updated_at}));
    match Format::resolve(output) {
        Format::Json => {
            let v = json!({"config": cfg.path.display().to_string(),
                           "status_file": path.display().to_string(),
                           "run": run, "sources": rows});
            println!("{v}");
        }
        Format::Text => {
            match &file {
                Some(f) => println!(
                    "run of {} (pid {}): {}, updated {}",
                    cfg.path.display(),
                    f.pid,
                    if f.is_live() { "running" } else { "ended" },
                    f.updated_at
                ),
                None => println!(
                    "no run of {} has written {} yet",
                    cfg.path.display(),
                    path.display()
                ),
            }
            println!(
                "{:<24} {:<9} {:<12} {:>10} {:<32} ERROR",
                "SOURCE", "PROVIDER", "STATE", "LAG", "LAST EVENT"
            );
            for r in &rows {
                let lag = match (r["lag_bytes"].as_i64(), r["lag_seconds"].as_i64()) {
                    (Some(b), Some(s)) => format!("{b}B/{s}s"),
                    (Some(b), None) => format!("{b}B"),
                    (None, Some(s)) => format!("{s}s"),
                    (None, None) => "-".into(),
                };
                println!(
                    "{:<24} {:<9} {:<12} {:>10} {:<32} {}",
                    r["source_id"].as_str().unwrap_or_default(),
                    r["provider"].as_str().unwrap_or_default(),
                    r["state"].as_str().unwrap_or_default(),
                    lag,
                    r["last_event"].as_str().unwrap_or("-"),
                    r["error"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}
