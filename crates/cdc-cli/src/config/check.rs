//! Turning the YAML node tree into a checked [`ConfigFile`], collecting every problem.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cdc::SourceConfig;
use cdc::core::secret::scrub_serde_message;
use cdc::steps::StepRegistry;
use cdc::trigger::{TriggerConfig, TriggerError};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::interpolate::interpolate;
use super::node::{Node, SpannedNode, line_of};
use super::suggest::hint;
use super::{
    ConfigFile, Diagnostic, MAX_METRICS_INTERVAL_SECS, MAX_SHUTDOWN_TIMEOUT_SECS, Settings,
    StepSpec, TriggerSpec,
};
use crate::native;

const TOP_KEYS: &[&str] = &["sources", "triggers", "settings"];
const SOURCE_KEYS: &[&str] = &[
    "provider",
    "source_id",
    "source_type",
    "connection",
    "tables",
    "options",
];
const MEMORY_OPTION_KEYS: &[&str] = &["capacity", "events_file", "max_line_bytes", "start_paused"];
const TRIGGER_KEYS: &[&str] = &["name", "source_id", "tables", "actions", "steps"];
const STEP_KEYS: &[&str] = &["type", "name", "config"];
const SETTINGS_KEYS: &[&str] = &[
    "log_format",
    "metrics_interval_secs",
    "status_file",
    "shutdown_timeout_secs",
];

type Entries = [(Spanned<String>, SpannedNode)];

struct Checker<'a> {
    file: String,
    dir: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
    diags: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line: (line > 0).then_some(line),
            message: message.into(),
        });
    }

    /// Reports keys of `entries` not in `known`, with a suggestion.
    fn unknown_keys(&mut self, path: &str, entries: &Entries, known: &[&str]) {
        for (key, _) in entries {
            if !known.contains(&key.value.as_str()) {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}: ")
                };
                self.error(
                    line_of(key),
                    format!(
                        "{at}unknown key `{}`{}; valid keys: {}",
                        key.value,
                        hint(&key.value, known.iter().copied()),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// The node as JSON, with `${VAR}`s replaced. Problems are reported; the value is still
    /// returned (with the reference left in) so checking goes on.
    fn json_of(&mut self, path: &str, node: &SpannedNode) -> Value {
        match &node.value {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => match interpolate(s, self.env) {
                Ok(v) => Value::String(v),
                Err(e) => {
                    self.error(line_of(node), format!("{path}: {e}"));
                    Value::String(s.clone())
                }
            },
            Node::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| self.json_of(&format!("{path}[{i}]"), n))
                    .collect(),
            ),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let p = join(path, &k.value);
                        (k.value.clone(), self.json_of(&p, v))
                    })
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    fn map<'n>(&mut self, path: &str, node: &'n SpannedNode) -> Option<&'n Entries> {
        match &node.value {
            Node::Map(entries) => Some(entries),
            other => {
                self.error(
                    line_of(node),
                    format!("{path}: must be a map, got {}", kind(other)),
                );
                None
            }
        }
    }

    fn seq<'n>(&mut self, path: &str, node: &'n SpannedNode) -> Option<&'n [SpannedNode]> {
        match &node.value {
            Node::Seq(items) => Some(items),
            Node::Null => Some(&[]),
            other => {
                self.error(
                    line_of(node),
                    format!("{path}: must be a list, got {}", kind(other)),
                );
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(n: &Node) -> &'static str {
    match n {
        Node::Null => "nothing",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Seq(_) => "a list",
        Node::Map(_) => "a map",
    }
}

fn get<'n>(entries: &'n Entries, key: &str) -> Option<&'n SpannedNode> {
    entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
}

/// The line of the key a field path starts with (`tables[2]` → `tables`), else `fallback`.
fn field_line(entries: &Entries, field: &str, fallback: usize) -> usize {
    let first = field
        .split(['.', '['])
        .next()
        .unwrap_or(field)
        .trim_start_matches("options (source")
        .trim();
    entries
        .iter()
        .find(|(k, _)| k.value == first)
        .map(|(k, _)| line_of(k))
        .unwrap_or(fallback)
}

pub(super) fn load_text(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConfigFile, Vec<Diagnostic>> {
    let mut c = Checker {
        file: path.display().to_string(),
        dir: path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        env,
        diags: Vec::new(),
    };
    if text.trim().is_empty() {
        c.error(0, "the file is empty; expected `sources:` and `triggers:`");
        return Err(c.diags);
    }
    let root: SpannedNode = match cdc::core::yaml::from_str(text) {
        Ok(n) => n,
        Err(e) => {
            c.error(
                e.line.unwrap_or(0),
                format!("YAML syntax error: {}", e.message),
            );
            return Err(c.diags);
        }
    };
    let Some(top) = c.map("config file", &root) else {
        return Err(c.diags);
    };
    c.unknown_keys("", top, TOP_KEYS);

    let settings = match get(top, "settings") {
        Some(n) => check_settings(&mut c, n),
        None => Settings::default(),
    };

    let mut sources = Vec::new();
    match get(top, "sources") {
        None => c.error(
            0,
            "`sources:` is missing: a config needs at least one source",
        ),
        Some(n) => {
            if let Some(items) = c.seq("sources", n) {
                if items.is_empty() {
                    c.error(
                        line_of(n),
                        "sources: is empty: a config needs at least one source",
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    if let Some(cfg) = check_source(&mut c, i, item) {
                        if sources
                            .iter()
                            .any(|s: &SourceConfig| s.source_id == cfg.source_id)
                        {
                            c.error(
                                line_of(item),
                                format!(
                                    "sources[{i}].source_id: {:?} is defined twice",
                                    cfg.source_id
                                ),
                            );
                        }
                        sources.push(cfg);
                    }
                }
            }
        }
    }

    // Every id written under `sources:`, valid or not, so that a trigger on a source with
    // its own problems is not reported a second time.
    let ids: Vec<String> = match get(top, "sources").map(|n| &n.value) {
        Some(Node::Seq(items)) => items
            .iter()
            .filter_map(|item| match &item.value {
                Node::Map(e) => match get(e, "source_id").map(|n| &n.value) {
                    Some(Node::String(id)) => Some(id.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut triggers = Vec::new();
    if let Some(n) = get(top, "triggers")
        && let Some(items) = c.seq("triggers", n)
    {
        let steps = StepRegistry::standard();
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = check_trigger(&mut c, i, item, &ids, &steps) {
                if triggers.iter().any(|x: &TriggerSpec| x.name == t.name) {
                    c.error(
                        line_of(item),
                        format!("triggers[{i}].name: {:?} is used twice", t.name),
                    );
                }
                triggers.push(t);
            }
        }
    }

    if c.diags.is_empty() {
        Ok(ConfigFile {
            path: path.to_path_buf(),
            sources,
            triggers,
            settings,
        })
    } else {
        Err(c.diags)
    }
}

fn check_settings(c: &mut Checker<'_>, node: &SpannedNode) -> Settings {
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
                _ => c.error(line, format!("settings.log_format: must be text or json, got {v}")),
            },
            "metrics_interval_secs" => match whole_in(&v, 0, MAX_METRICS_INTERVAL_SECS) {
                Some(n) => s.metrics_interval_secs = n,
                None => c.error(
                    line,
                    format!("settings.metrics_interval_secs: must be a whole number of seconds in 0..={MAX_METRICS_INTERVAL_SECS} (0: off), got {v}"),
                ),
            },
            "shutdown_timeout_secs" => match whole_in(&v, 1, MAX_SHUTDOWN_TIMEOUT_SECS) {
                Some(n) => s.shutdown_timeout_secs = n,
                None => c.error(
                    line,
                    format!("settings.shutdown_timeout_secs: must be a whole number of seconds in 1..={MAX_SHUTDOWN_TIMEOUT_SECS}, got {v}"),
                ),
            },
            "status_file" => match v.as_str() {
                Some(p) if !p.is_empty() => s.status_file = Some(c.dir.join(p)),
                _ => c.error(line, format!("settings.status_file: must be a path, got {v}")),
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

fn check_source(c: &mut Checker<'_>, i: usize, node: &SpannedNode) -> Option<SourceConfig> {
    let path = format!("sources[{i}]");
    let entries = c.map(&path, node)?;
    let line = line_of(node);
    c.unknown_keys(&path, entries, SOURCE_KEYS);
    let mut value = c.json_of(&path, node);
    if let Value::Object(m) = &mut value {
        m.retain(|k, _| SOURCE_KEYS.contains(&k.as_str()));
    }
    let mut cfg: SourceConfig = match serde_path_to_error::deserialize(value) {
        Ok(cfg) => cfg,
        Err(e) => {
            let field = e.path().to_string();
            let message = scrub_serde_message(&e.into_inner().to_string());
            c.error(
                field_line(entries, &field, line),
                format!("{path}.{field}: {message}"),
            );
            return None;
        }
    };
    let name = if cfg.source_id.is_empty() {
        path.clone()
    } else {
        format!("{path} ({:?})", cfg.source_id)
    };
    let errors = cfg.validation_errors();
    for e in &errors {
        c.error(
            field_line(entries, &e.field, line),
            format!("{name}.{}: {}", e.field, e.message),
        );
    }
    if !errors.is_empty() {
        return None;
    }
    let factory = cdc::provider_factory();
    if !factory.contains(&cfg.provider) {
        let names = factory.names();
        c.error(
            field_line(entries, "provider", line),
            format!(
                "{name}.provider: unknown provider {:?}{}; valid providers: {}",
                cfg.provider,
                hint(&cfg.provider, names.iter().map(String::as_str)),
                names.join(", ")
            ),
        );
        return None;
    }
    if cfg.provider == "memory" {
        if let Some(Node::Map(opts)) = get(entries, "options").map(|n| &n.value) {
            let before = c.diags.len();
            c.unknown_keys(&format!("{name}.options"), opts, MEMORY_OPTION_KEYS);
            if c.diags.len() > before {
                return None; // reported with a suggestion; the typed error would repeat it
            }
        }
        // A relative events_file is relative to the config file, so `cdc run` works from
        // any directory.
        if let Some(Value::String(p)) = cfg.options.get("events_file")
            && p != "-"
            && Path::new(p).is_relative()
        {
            let resolved = c.dir.join(p).display().to_string();
            cfg.options
                .insert("events_file".into(), Value::String(resolved));
        }
    }
    if let Err(message) = native::render(&cfg, false) {
        c.error(
            field_line(entries, "options", line),
            format!("{name}: {message}"),
        );
        return None;
    }
    Some(cfg)
}

fn check_trigger(
    c: &mut Checker<'_>,
    i: usize,
    node: &SpannedNode,
    source_ids: &[String],
    registry: &StepRegistry,
) -> Option<TriggerSpec> {
    let path = format!("triggers[{i}]");
    let entries = c.map(&path, node)?;
    let line = line_of(node);
    c.unknown_keys(&path, entries, TRIGGER_KEYS);
    let mut ok = true;

    let mut filter = Map::new();
    for key in ["source_id", "tables", "actions"] {
        if let Some(n) = get(entries, key) {
            let v = c.json_of(&join(&path, key), n);
            filter.insert(key.into(), v);
        }
    }
    let config = match TriggerConfig::from_value(&Value::Object(filter))
        .and_then(|t| t.validate().map(|_| t))
    {
        Ok(t) => Some(t),
        Err(TriggerError::InvalidConfig { field, message }) => {
            let hint_text = if field == "source_id" && message == "is required" {
                " (the id of a source under `sources:`)"
            } else {
                ""
            };
            c.error(
                field_line(entries, &field, line),
                format!("{path}.{field}: {message}{hint_text}"),
            );
            None
        }
        Err(other) => {
            c.error(line, format!("{path}: {other}"));
            None
        }
    };
    if let Some(t) = &config
        && !source_ids.contains(&t.source_id)
    {
        c.error(
            field_line(entries, "source_id", line),
            format!(
                "{path}.source_id: {:?} is not a source of this file{}; sources: {}",
                t.source_id,
                hint(&t.source_id, source_ids.iter().map(String::as_str)),
                source_ids.join(", ")
            ),
        );
        ok = false;
    }

    let name = match get(entries, "name").map(|n| (&n.value, line_of(n))) {
        None => format!("trigger-{}", i + 1),
        Some((Node::String(s), _)) if !s.trim().is_empty() => s.clone(),
        Some((_, l)) => {
            c.error(l, format!("{path}.name: must be a non-empty string"));
            ok = false;
            String::new()
        }
    };

    let mut steps = Vec::new();
    if let Some(n) = get(entries, "steps")
        && let Some(items) = c.seq(&join(&path, "steps"), n)
    {
        let mut names = BTreeSet::new();
        for (j, item) in items.iter().enumerate() {
            match check_step(c, &format!("{path}.steps[{j}]"), item, registry, &names) {
                Some(step) => {
                    names.insert(step.name.clone());
                    steps.push(step);
                }
                None => ok = false,
            }
        }
    }
    let config = config?;
    ok.then_some(TriggerSpec {
        name,
        config,
        steps,
    })
}

fn check_step(
    c: &mut Checker<'_>,
    path: &str,
    node: &SpannedNode,
    registry: &StepRegistry,
    earlier: &BTreeSet<String>,
) -> Option<StepSpec> {
    let entries = c.map(path, node)?;
    let line = line_of(node);
    c.unknown_keys(path, entries, STEP_KEYS);
    let text = |c: &mut Checker<'_>, key: &str| -> Option<String> {
        match get(entries, key) {
            Some(n) => match &n.value {
                Node::String(s) if !s.trim().is_empty() => Some(s.clone()),
                other => {
                    c.error(
                        line_of(n),
                        format!(
                            "{path}.{key}: must be a non-empty string, got {}",
                            kind(other)
                        ),
                    );
                    None
                }
            },
            None => {
                c.error(line, format!("{path}.{key}: is required"));
                None
            }
        }
    };
    let step_type = text(c, "type");
    let name = text(c, "name");
    let (step_type, name) = (step_type?, name?);
    if earlier.contains(&name) {
        c.error(
            line,
            format!("{path}.name: {name:?} is used twice in this trigger"),
        );
        return None;
    }
    let Some(step) = registry.get(&step_type) else {
        let known = registry.type_names();
        c.error(
            field_line(entries, "type", line),
            format!(
                "{path}.type: unknown step type {step_type:?}{}; known: {}",
                hint(&step_type, known.iter().copied()),
                known.join(", ")
            ),
        );
        return None;
    };
    let config = match get(entries, "config") {
        None => Value::Object(Map::new()),
        Some(n) => {
            let cpath = join(path, "config");
            let entries = c.map(&cpath, n)?;
            let schema = step.schema();
            let fields = schema.field_names();
            c.unknown_keys(&format!("{cpath} ({step_type})"), entries, &fields);
            c.json_of(&cpath, n)
        }
    };
    check_step_refs(c, path, line, &config, earlier);
    Some(StepSpec {
        step_type,
        name,
        config,
    })
}

/// `${steps.<name>...}` must name an earlier step of the trigger.
fn check_step_refs(
    c: &mut Checker<'_>,
    path: &str,
    line: usize,
    config: &Value,
    earlier: &BTreeSet<String>,
) {
    match config {
        Value::String(s) => {
            for r in crate::run::refs::references(s) {
                if let Some(rest) = r.strip_prefix("steps.") {
                    let step = rest.split('.').next().unwrap_or_default();
                    if !earlier.contains(step) {
                        c.error(
                            line,
                            format!(
                                "{path}.config: ${{{r}}} refers to step {step:?}, which is not an earlier step of this trigger{}",
                                hint(step, earlier.iter().map(String::as_str))
                            ),
                        );
                    }
                } else if !r.starts_with("event.") && r != "event" {
                    c.error(
                        line,
                        format!("{path}.config: ${{{r}}}: per-event references start with event. or steps."),
                    );
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| check_step_refs(c, path, line, v, earlier)),
        Value::Object(m) => m
            .values()
            .for_each(|v| check_step_refs(c, path, line, v, earlier)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            cfg.triggers[0].steps[1].config["source_id"],
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
        let yaml = "sources:\n  - { provider: memory, source_id: a, options: { events_file: ev.jsonl } }\n";
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
}
