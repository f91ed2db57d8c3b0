//! Loading whole files: what is read, and every problem reported with its line.

use std::path::Path;

use super::check::load_text;
use super::{ConfigFile, Diagnostic};

fn load(yaml: &str, env: &[(&str, &str)]) -> Result<ConfigFile, Vec<Diagnostic>> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    load_text(Path::new("/etc/cdc/pipes.yaml"), yaml, &lookup)
}

fn messages(r: Result<ConfigFile, Vec<Diagnostic>>) -> String {
    r.unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn reads_sources_triggers_steps_and_settings() {
    let cfg = load(
        r#"
sources:
  - provider: memory
    source_id: a
    connection: postgres://app:${PW}@db/shop
    options: { events_file: "-" }
triggers:
  - source_id: a
    actions: [c]
    steps:
      - { type: step.cdc_status, name: st, config: { source_id: "${event.source_id}" } }
      - { type: step.cdc_backpressure, name: bp, config: { source_id: "${steps.st.source_id}" } }
settings: { log_format: json, metrics_interval_secs: 0, status_file: run/status.json }
"#,
        &[("PW", "s3cret")],
    )
    .unwrap();
    assert_eq!(
        cfg.sources[0].connection.expose(),
        "postgres://app:s3cret@db/shop"
    );
    assert_eq!(cfg.sources[0].options["events_file"], "-");
    assert_eq!(cfg.triggers[0].name, "trigger-1");
    assert_eq!(
        cfg.triggers[0].steps[1].config.as_written()["source_id"],
        "${steps.st.source_id}"
    );
    assert_eq!(cfg.settings.log_format.as_deref(), Some("json"));
    assert_eq!(cfg.settings.metrics_interval_secs, 0);
    assert_eq!(
        cfg.settings.status_file.as_deref(),
        Some(Path::new("/etc/cdc/run/status.json"))
    );
    assert_eq!(cfg.step_count(), 2);
}

#[test]
fn relative_events_file_is_relative_to_the_config_file() {
    let dir = std::env::temp_dir().join(format!("cdc-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ev.jsonl"), "").unwrap();
    let yaml =
        "sources:\n  - { provider: memory, source_id: a, options: { events_file: ev.jsonl } }\n";
    let cfg = load_text(&dir.join("c.yaml"), yaml, &|_| None).unwrap();
    assert_eq!(
        cfg.sources[0].options["events_file"],
        dir.join("ev.jsonl").display().to_string()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicates_and_missing_pieces_are_reported_with_lines() {
    let m = messages(load(
        "sources:\n  - { provider: memory, source_id: a }\n  - { provider: memory, source_id: a }\ntriggers:\n  - source_id: a\n    steps:\n      - { type: step.cdc_status, name: x }\n      - { type: step.cdc_status, name: x }\n      - { name: y }\n",
        &[],
    ));
    assert!(
        m.contains("pipes.yaml:3: sources[1].source_id: \"a\" is defined twice"),
        "{m}"
    );
    assert!(
        m.contains("pipes.yaml:8: triggers[0].steps[1].name: \"x\" is used twice"),
        "{m}"
    );
    assert!(
        m.contains("pipes.yaml:9: triggers[0].steps[2].type: is required"),
        "{m}"
    );
    let m = messages(load("triggers: []\n", &[]));
    assert!(m.contains("`sources:` is missing"), "{m}");
    let m = messages(load("", &[]));
    assert!(m.contains("empty"), "{m}");
    let m = messages(load(
        "sources:\n  - { provider: memory, source_id: a }\nsettings: { log_format: xml }\n",
        &[],
    ));
    assert!(
        m.contains("pipes.yaml:3: settings.log_format: must be text or json"),
        "{m}"
    );
    // strict booleans: `yes` is not a boolean
    let m = messages(load(
        "sources:\n  - { provider: memory, source_id: a, options: { start_paused: yes } }\n",
        &[],
    ));
    assert!(m.contains("start_paused"), "{m}");
}
