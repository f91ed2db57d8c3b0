//! Per-event references in step configs: `${event.<path>}` and `${steps.<name>.<path>}`.
//!
//! A step config is read once, when the file is loaded, into a [`Template`]: JSON with
//! references in its strings. Environment values and `$${` escapes are literal text by then
//! (see `crate::config`), so expansion is one pass over the template as the file writes it.
//! Each step of a trigger runs with the event's Go-style JSON as `event` and the outputs of
//! the earlier steps of the trigger, by name, as `steps`:
//!
//! - a string that is exactly one reference becomes the referenced JSON value (a number
//!   stays a number); a reference inside a longer string is replaced by the value's text (a
//!   string as it is, anything else as JSON: `null`, `7`, `{"id":7}`);
//! - what a reference brings is never read for references again: row data holding
//!   `${env.DB_PASSWORD}` or `${event.before}` stays those characters;
//! - a path is parts after `event` or `steps`: `.name` (any characters but `.`, `[`, `]`,
//!   `"` and control characters: spaces and unicode are fine), `["name"]` (a JSON string,
//!   for a column named `a.b`), and `.3` or `[3]` for an item of a list. At most
//!   [`path::MAX_PARTS`] parts. A column name holding `}` cannot be referenced.
//! - a reference to what this event (or step output) does not have, an index past the end
//!   included, is an error of the step for this event naming the field and the reference
//!   (never an empty string); so is a step config whose references bring in more than
//!   [`MAX_RENDERED_BYTES`] for one event. The event's later steps are skipped; the run goes
//!   on with the next event.

mod path;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Map, Value};

pub use path::Path;

/// The most bytes the references of one step config may bring in for one event: a
/// template that repeats a large column cannot make one event take unbounded memory.
pub const MAX_RENDERED_BYTES: usize = 16 << 20;

/// A piece of a string template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A reference, replaced by the referenced value's text.
    Ref(Path),
}

/// A step config as written, with its references parsed. Its `Debug` masks secrets.
#[derive(Clone, PartialEq)]
pub enum Template {
    /// A value without references.
    Value(Value),
    /// A string that is exactly one reference: the referenced value, with its type.
    Whole(Path),
    /// A string of text and references.
    Text(Vec<Segment>),
    /// A list with references in it.
    Array(Vec<Template>),
    /// A map with references in it.
    Object(Vec<(String, Template)>),
}

impl Template {
    /// A string template from its segments.
    pub fn string(mut segments: Vec<Segment>) -> Self {
        match segments.len() {
            0 => Self::Value(Value::String(String::new())),
            1 => match segments.remove(0) {
                Segment::Text(t) => Self::Value(Value::String(t)),
                Segment::Ref(p) => Self::Whole(p),
            },
            _ => Self::Text(segments),
        }
    }

    /// A list template; a plain value when no item has a reference.
    pub fn array(items: Vec<Template>) -> Self {
        if items.iter().all(|t| matches!(t, Self::Value(_))) {
            return Self::Value(Value::Array(
                items.into_iter().map(Self::into_value).collect(),
            ));
        }
        Self::Array(items)
    }

    /// A map template; a plain value when no entry has a reference.
    pub fn object(entries: Vec<(String, Template)>) -> Self {
        if entries.iter().all(|(_, t)| matches!(t, Self::Value(_))) {
            let map = entries
                .into_iter()
                .map(|(k, t)| (k, t.into_value()))
                .collect();
            return Self::Value(Value::Object(map));
        }
        Self::Object(entries)
    }

    fn into_value(self) -> Value {
        match self {
            Self::Value(v) => v,
            other => other.as_written(),
        }
    }

    /// What is known before any event: the config without the values references make (a
    /// list with one is left out whole, as its items' places depend on it). `None` when the
    /// whole value is only known per event.
    pub fn literal(&self) -> Option<Value> {
        match self {
            Self::Value(v) => Some(v.clone()),
            Self::Whole(_) | Self::Text(_) => None,
            Self::Array(items) => items
                .iter()
                .map(Self::literal)
                .collect::<Option<_>>()
                .map(Value::Array),
            Self::Object(entries) => Some(Value::Object(
                entries
                    .iter()
                    .filter_map(|(k, t)| Some((k.clone(), t.literal()?)))
                    .collect(),
            )),
        }
    }

    /// Whether the value of top-level `field` of a map template has a reference in it.
    pub fn has_references(&self, field: &str) -> bool {
        match self {
            Self::Object(entries) => entries
                .iter()
                .any(|(k, t)| k == field && !matches!(t, Self::Value(_))),
            _ => false,
        }
    }

    /// For display: references as `${...}`, a literal `${` in text as `$${`.
    pub fn as_written(&self) -> Value {
        match self {
            Self::Value(v) => v.clone(),
            Self::Whole(p) => Value::String(p.written()),
            Self::Text(segs) => Value::String(
                segs.iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.replace("${", "$${"),
                        Segment::Ref(p) => p.written(),
                    })
                    .collect(),
            ),
            Self::Array(items) => Value::Array(items.iter().map(Self::as_written).collect()),
            Self::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, t)| (k.clone(), t.as_written()))
                    .collect(),
            ),
        }
    }

    /// The config for one event: every reference replaced from `event` (the event's
    /// Go-style JSON) and `steps` (earlier outputs by step name). Literal text is copied as
    /// it is; referenced text is put in as it is, never read again.
    pub fn resolve(&self, event: &Value, steps: &Map<String, Value>) -> Result<Value, RenderError> {
        let mut budget = MAX_RENDERED_BYTES;
        self.render(event, steps, &mut budget)
    }

    fn render(
        &self,
        event: &Value,
        steps: &Map<String, Value>,
        budget: &mut usize,
    ) -> Result<Value, RenderError> {
        let fail = |message: String| RenderError {
            field: String::new(),
            message,
        };
        Ok(match self {
            Self::Value(v) => v.clone(),
            Self::Whole(p) => {
                let v = p.lookup(event, steps).map_err(fail)?;
                spend(budget, json_len(v, *budget), p).map_err(fail)?;
                v.clone()
            }
            Self::Text(segs) => {
                let mut out = String::new();
                for s in segs {
                    match s {
                        Segment::Text(t) => out.push_str(t),
                        Segment::Ref(p) => match p.lookup(event, steps).map_err(fail)? {
                            Value::String(t) => {
                                spend(budget, t.len(), p).map_err(fail)?;
                                out.push_str(t);
                            }
                            other => {
                                spend(budget, json_len(other, *budget), p).map_err(fail)?;
                                out.push_str(&other.to_string());
                            }
                        },
                    }
                }
                Value::String(out)
            }
            Self::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, t) in items.iter().enumerate() {
                    let v = t
                        .render(event, steps, budget)
                        .map_err(|e| e.inside(&format!("[{i}]")))?;
                    out.push(v);
                }
                Value::Array(out)
            }
            Self::Object(entries) => {
                let mut out = Map::new();
                for (k, t) in entries {
                    let v = t
                        .render(event, steps, budget)
                        .map_err(|e| e.inside(&format!(".{k}")))?;
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
        })
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = cdc::core::secret::mask_json(&self.as_written());
        write!(f, "Template({shown})")
    }
}

/// Takes `n` bytes from the budget of one render.
fn spend(budget: &mut usize, n: usize, p: &Path) -> Result<(), String> {
    *budget = budget.checked_sub(n).ok_or_else(|| {
        format!(
            "references bring more than {} MiB into this step's config for this event (at {})",
            MAX_RENDERED_BYTES >> 20,
            p.written()
        )
    })?;
    Ok(())
}

/// The length of `v` as JSON text, counted up to just past `limit`.
fn json_len(v: &Value, limit: usize) -> usize {
    struct Count(usize, usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            if self.0 > self.1 {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0, limit);
    // An error only stops the count early: past the limit, the exact length is not needed.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

/// A step config that cannot be rendered for an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("config{field}: {message}")]
pub struct RenderError {
    /// Where in the config (`.source_id`, `.tables[1]`; empty: the whole config).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl RenderError {
    fn inside(mut self, at: &str) -> Self {
        self.field.insert_str(0, at);
        self
    }
}
