//! Checking `triggers:`: each trigger's filter, its steps, their configs and the
//! `${steps.<name>...}` references between them.

use std::collections::BTreeSet;

use cdc::steps::StepRegistry;
use cdc::trigger::{TriggerConfig, TriggerError};
use serde_json::{Map, Value};

use super::check::{Checker, field_line, get, join, kind};
use super::node::{Node, SpannedNode, line_of};
use super::suggest::hint;
use super::{StepSpec, TriggerSpec};

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
