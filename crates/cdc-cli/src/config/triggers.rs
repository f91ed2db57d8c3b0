//! Checking `triggers:`: each trigger's filter, its steps, their configs and the
//! `${steps.<name>...}` references between them.

use std::collections::BTreeSet;

use cdc::steps::{StepError, StepErrorKind, StepRegistry};
use cdc::trigger::{TriggerConfig, TriggerError};
use serde_json::{Map, Value};

use super::check::{Checker, Entries, as_written, field_line, get, join, kind};
use super::interpolate::{Piece, pieces};
use super::node::{Node, SpannedNode, line_of};
use super::suggest::hint;
use super::{StepSpec, TriggerSpec};
use crate::run::refs::{Path, Segment, Template};

const TRIGGER_KEYS: &[&str] = &["name", "source_id", "tables", "actions", "steps"];
const STEP_KEYS: &[&str] = &["type", "name", "config"];

pub(super) fn check_trigger(
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
    let filter = Value::Object(filter);
    let config = match TriggerConfig::from_value(&filter).and_then(|t| t.validate().map(|_| t)) {
        Ok(t) => Some(t),
        Err(TriggerError::InvalidConfig { field, message }) => {
            let hint_text = if field == "source_id" && message == "is required" {
                " (the id of a source under `sources:`)"
            } else {
                ""
            };
            let message = as_file_writes(entries, &filter, &field, message);
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
                "{path}.source_id: {} is not a source of this file{}; sources: {}",
                get(entries, "source_id")
                    .map_or_else(|| format!("{:?}", t.source_id), |n| as_written(&n.value)),
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

/// What the step can check of its config before any event (types, ranges, fixed sets,
/// table names), reported at the field's line: a config that fails here would fail for
/// every event. `literal` is the config without what references bring.
fn report_check(
    c: &mut Checker<'_>,
    cpath: &str,
    line: usize,
    entries: &Entries,
    literal: &Value,
    checked: Result<(), StepError>,
) {
    let Err(e) = checked else {
        return;
    };
    match e.kind {
        StepErrorKind::InvalidConfig { field, message } => {
            let message = as_file_writes(entries, literal, &field, message);
            c.error(
                field_line(entries, &field, line),
                format!("{cpath}.{field}: {message}"),
            );
        }
        _ => c.error(line, format!("{cpath}: {e}")),
    }
}

/// `message` (about `field` of `entries`: `source_id`, `tables[1]`, `action`) with the value
/// it quotes shown as the file writes it when a `${VAR}` brought it: what a variable holds
/// may be a secret put in the wrong place.
fn as_file_writes(entries: &Entries, filter: &Value, field: &str, message: String) -> String {
    let (key, index) = match field.split_once('[') {
        Some((k, i)) => (k, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (field, None),
    };
    let (Some(node), Some(got)) = (get(entries, key), filter.get(key)) else {
        return message;
    };
    let (node, got) = match (index, &node.value) {
        (None, _) => (node, got),
        (Some(i), Node::Seq(items)) => match (items.get(i), got.get(i)) {
            (Some(n), Some(g)) => (n, g),
            _ => return message,
        },
        _ => return message,
    };
    let (Node::String(raw), Some(got)) = (&node.value, got.as_str()) else {
        return message;
    };
    if raw == got || got.is_empty() {
        return message;
    }
    // Quoted whole, or quoted cut (a long value: the crates quote 60 characters of it).
    let cut: String = got.chars().take(60).collect();
    let shown = as_written(&node.value);
    [format!("{got:?}"), format!("{cut:?}")]
        .iter()
        .find(|q| message.contains(q.as_str()))
        .map_or(message.clone(), |q| message.replace(q.as_str(), &shown))
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
        None => Template::Value(Value::Object(Map::new())),
        Some(n) => {
            let cpath = join(path, "config");
            let entries = c.map(&cpath, n)?;
            let schema = step.schema();
            let fields = schema.field_names();
            let before = c.problems();
            c.unknown_keys(&format!("{cpath} ({step_type})"), entries, &fields);
            let config = template_of(c, &cpath, n, earlier);
            if c.problems() == before {
                let literal = config
                    .literal()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                let per_event = |field: &str| config.has_references(field);
                let checked = registry.check(&step_type, &name, &literal, &per_event);
                report_check(c, &cpath, line_of(n), entries, &literal, checked);
            }
            config
        }
    };
    Some(StepSpec {
        step_type,
        name,
        config,
    })
}

/// A step config node as a [`Template`], in one pass over each string as the file writes
/// it: `${VAR}`s are replaced by their values as literal text, and each per-event reference is
/// parsed and checked (`event...`, or `steps.<an earlier step of the trigger>...`). Problems
/// are reported at the node's line, quoting the file's text only, never what a variable brought.
fn template_of(
    c: &mut Checker<'_>,
    path: &str,
    node: &SpannedNode,
    earlier: &BTreeSet<String>,
) -> Template {
    let line = line_of(node);
    match &node.value {
        Node::Null => Template::Value(Value::Null),
        Node::Bool(b) => Template::Value(Value::Bool(*b)),
        Node::Number(n) => Template::Value(Value::Number(n.clone())),
        Node::String(s) => {
            let pieces = match pieces(s, c.env) {
                Ok(p) => p,
                Err(e) => {
                    c.error(line, format!("{path}: {e}"));
                    return Template::Value(Value::Null);
                }
            };
            let mut segments = Vec::with_capacity(pieces.len());
            for piece in pieces {
                match piece {
                    Piece::Text(t) => segments.push(Segment::Text(t)),
                    Piece::Ref(r) => match check_ref(&r.body, earlier) {
                        Ok(p) => segments.push(Segment::Ref(p)),
                        Err(why) => c.error(
                            line,
                            format!(
                                "{path}: the reference {} at character {} {why}",
                                shown(&r.body),
                                r.at
                            ),
                        ),
                    },
                }
            }
            Template::string(segments)
        }
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, n) in items.iter().enumerate() {
                out.push(template_of(c, &format!("{path}[{i}]"), n, earlier));
            }
            Template::array(out)
        }
        Node::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, n) in entries {
                out.push((
                    k.value.clone(),
                    template_of(c, &join(path, &k.value), n, earlier),
                ));
            }
            Template::object(out)
        }
    }
}

/// A per-event reference, parsed; `steps.<name>` must name an earlier step of the trigger.
fn check_ref(body: &str, earlier: &BTreeSet<String>) -> Result<Path, String> {
    let p = Path::parse(body)?;
    if let Some(step) = p.step()
        && !earlier.contains(step)
    {
        return Err(format!(
            "refers to step {step:?}, which is not an earlier step of this trigger{}",
            hint(step, earlier.iter().map(String::as_str))
        ));
    }
    Ok(p)
}

/// A reference as the file writes it, for a message: control characters escaped, a long one
/// cut.
fn shown(body: &str) -> String {
    let cut: String = body.chars().take(80).collect();
    let more = if cut.len() < body.len() { "..." } else { "" };
    let text = format!("${{{cut}{more}}}");
    if text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        text
    }
}
