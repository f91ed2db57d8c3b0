//! Turning the YAML node tree into a checked [`ConfigFile`], collecting every problem.

use std::path::{Path, PathBuf};

use cdc::SourceConfig;
use cdc::core::secret::scrub_serde_message;
use cdc::steps::StepRegistry;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::interpolate::interpolate;
use super::node::{Node, SpannedNode, line_of};
use super::suggest::hint;
use super::{ConfigFile, Diagnostic, Settings, TriggerSpec};
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

pub(super) type Entries = [(Spanned<String>, SpannedNode)];

/// Collects the problems of one file while it is checked.
pub(super) struct Checker<'a> {
    file: String,
    /// The config file's folder: relative paths in it are relative to it.
    pub(super) dir: PathBuf,
    /// The environment `${VAR}`s are read from.
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    diags: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(super) fn error(&mut self, line: usize, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line: (line > 0).then_some(line),
            message: message.into(),
        });
    }

    /// How many problems are reported so far.
    pub(super) fn problems(&self) -> usize {
        self.diags.len()
    }

    /// Reports keys of `entries` not in `known`, with a suggestion.
    pub(super) fn unknown_keys(&mut self, path: &str, entries: &Entries, known: &[&str]) {
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
    pub(super) fn json_of(&mut self, path: &str, node: &SpannedNode) -> Value {
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

    pub(super) fn map<'n>(&mut self, path: &str, node: &'n SpannedNode) -> Option<&'n Entries> {
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

    pub(super) fn seq<'n>(
        &mut self,
        path: &str,
        node: &'n SpannedNode,
    ) -> Option<&'n [SpannedNode]> {
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

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A scalar as the file writes it, for an error message: `${VAR}` references stay
/// references (the value they bring may be a secret put in the wrong place), a list or map
/// is named by its kind, and a long text is cut.
pub(super) fn as_written(n: &Node) -> String {
    match n {
        Node::Null => "nothing".into(),
        Node::Bool(b) => b.to_string(),
        Node::Number(x) => x.to_string(),
        Node::String(s) => {
            let cut: String = s.chars().take(60).collect();
            let more = if cut.len() < s.len() { "..." } else { "" };
            format!("{cut:?}{more}")
        }
        Node::Seq(_) | Node::Map(_) => kind(n).into(),
    }
}

pub(super) fn kind(n: &Node) -> &'static str {
    match n {
        Node::Null => "nothing",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Seq(_) => "a list",
        Node::Map(_) => "a map",
    }
}

pub(super) fn get<'n>(entries: &'n Entries, key: &str) -> Option<&'n SpannedNode> {
    entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
}

/// The source key a provider's error message is about: the first of them it names
/// (`invalid config: tables[0] (source "a"): ...` is about `tables`); `options` otherwise,
/// where provider-specific settings live.
fn field_named_in(message: &str) -> &'static str {
    SOURCE_KEYS
        .iter()
        .filter_map(|k| {
            message
                .match_indices(k)
                .find(|(i, _)| {
                    let after = message[i + k.len()..].chars().next();
                    matches!(after, Some('[' | '.' | ' ' | ':') | None)
                })
                .map(|(i, _)| (i, *k))
        })
        .min()
        .map_or("options", |(_, k)| k)
}

/// The line of the key a field path starts with (`tables[2]` → `tables`), else `fallback`.
pub(super) fn field_line(entries: &Entries, field: &str, fallback: usize) -> usize {
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
    if matches!(root.value, Node::Null) {
        c.error(
            0,
            "the file is empty (nothing but comments); expected `sources:` and `triggers:`",
        );
        return Err(c.diags);
    }
    let Some(top) = c.map("config file", &root) else {
        return Err(c.diags);
    };
    c.unknown_keys("", top, TOP_KEYS);

    let settings = match get(top, "settings") {
        Some(n) => super::settings::check_settings(&mut c, n),
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
            if let Some(t) = super::triggers::check_trigger(&mut c, i, item, &ids, &steps) {
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
        // As the file writes it: a `${VAR}` stays a reference (what it brought may be a
        // secret put in the wrong place).
        let written = get(entries, "provider")
            .map_or_else(|| format!("{:?}", cfg.provider), |n| as_written(&n.value));
        c.error(
            field_line(entries, "provider", line),
            format!(
                "{name}.provider: unknown provider {written}{}; valid providers: {}",
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
            field_line(entries, field_named_in(&message), line),
            format!("{name}: {message}"),
        );
        return None;
    }
    Some(cfg)
}
