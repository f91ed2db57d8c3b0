//! SIGHUP: the config file is read again and what would change is printed; nothing is
//! applied (a source's connection or a trigger's steps cannot change under a running
//! pipeline without breaking what was promised about delivery: restart the run to apply).

use std::collections::BTreeSet;

use cdc::SourceConfig;

use crate::config::{ConfigFile, Settings, TriggerSpec};

/// Re-reads the file of `running` and prints, on stderr, what a restart would change.
pub fn on_hangup(running: &ConfigFile) {
    let path = running.path.display();
    match ConfigFile::load(&running.path) {
        Err(diags) => {
            eprintln!(
                "cdc: SIGHUP: {path} has {} problem(s); a restart would fail (nothing applied):",
                diags.len()
            );
            for d in diags {
                eprintln!("cdc: SIGHUP:   {d}");
            }
        }
        Ok(new) => {
            let changes = changes(running, &new);
            if changes.is_empty() {
                eprintln!("cdc: SIGHUP: re-read {path}: no change");
            } else {
                eprintln!(
                    "cdc: SIGHUP: re-read {path}: {} change(s), applied only by a restart \
                     (nothing applied now):",
                    changes.len()
                );
                for c in changes {
                    eprintln!("cdc: SIGHUP:   {c}");
                }
            }
        }
    }
}

/// What differs between the running config and the file now, one line each. Values that
/// may hold credentials (connections, options) are named, never shown.
pub fn changes(old: &ConfigFile, new: &ConfigFile) -> Vec<String> {
    let mut out = Vec::new();
    for s in &new.sources {
        match old.source(&s.source_id) {
            None => out.push(format!("source {}: added", s.source_id)),
            Some(o) => out.extend(source_changes(o, s)),
        }
    }
    for s in &old.sources {
        if new.source(&s.source_id).is_none() {
            out.push(format!("source {}: removed", s.source_id));
        }
    }
    let find = |list: &'_ [TriggerSpec], name: &str| list.iter().position(|t| t.name == name);
    for t in &new.triggers {
        match find(&old.triggers, &t.name) {
            None => out.push(format!("trigger {}: added", t.name)),
            Some(i) if old.triggers[i] != *t => out.push(format!(
                "trigger {}: changed (source, tables, actions or steps)",
                t.name
            )),
            Some(_) => {}
        }
    }
    for t in &old.triggers {
        if find(&new.triggers, &t.name).is_none() {
            out.push(format!("trigger {}: removed", t.name));
        }
    }
    out.extend(settings_changes(&old.settings, &new.settings));
    out
}

fn source_changes(old: &SourceConfig, new: &SourceConfig) -> Vec<String> {
    let id = &new.source_id;
    let mut out = Vec::new();
    if old.provider != new.provider {
        out.push(format!(
            "source {id}: provider {} -> {}",
            old.provider, new.provider
        ));
    }
    if old.source_type != new.source_type {
        out.push(format!(
            "source {id}: source_type {:?} -> {:?}",
            old.source_type, new.source_type
        ));
    }
    if old.connection != new.connection {
        out.push(format!("source {id}: connection changed"));
    }
    if old.tables != new.tables {
        out.push(format!(
            "source {id}: tables {:?} -> {:?}",
            old.tables, new.tables
        ));
    }
    let keys: BTreeSet<&String> = old.options.keys().chain(new.options.keys()).collect();
    let changed: Vec<&str> = keys
        .into_iter()
        .filter(|k| old.options.get(*k) != new.options.get(*k))
        .map(String::as_str)
        .collect();
    if !changed.is_empty() {
        out.push(format!(
            "source {id}: options changed: {}",
            changed.join(", ")
        ));
    }
    out
}

fn settings_changes(old: &Settings, new: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!("settings.{name}: {a} -> {b}"));
        }
    };
    note(
        "log_format",
        format!("{:?}", old.log_format),
        format!("{:?}", new.log_format),
    );
    note(
        "metrics_interval_secs",
        old.metrics_interval_secs.to_string(),
        new.metrics_interval_secs.to_string(),
    );
    note(
        "status_file",
        format!("{:?}", old.status_file),
        format!("{:?}", new.status_file),
    );
    note(
        "shutdown_timeout_secs",
        old.shutdown_timeout_secs.to_string(),
        new.shutdown_timeout_secs.to_string(),
    );
    note(
        "http.listen",
        format!("{:?}", old.http.listen),
        format!("{:?}", new.http.listen),
    );
    note(
        "http.allow_remote",
        old.http.allow_remote.to_string(),
        new.http.allow_remote.to_string(),
    );
    if old.http.token != new.http.token {
        out.push("settings.http.token: changed".into());
    }
    out
}
