//! How `cdc run` prints events and step outputs: JSON lines or one readable line each,
//! written by [`writer::StdoutWriter`] so that a slow stdout never blocks the runtime.

mod escape;
mod writer;

use cdc::ChangeEvent;
use clap::ValueEnum;
use serde_json::{Value, json};

pub use escape::terminal_safe;
pub use writer::StdoutWriter;

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One readable line per record (the default on a terminal).
    Text,
    /// One JSON object per line (the default otherwise).
    Json,
}

impl Format {
    /// The explicit choice, or text on a terminal and JSON otherwise.
    pub fn resolve(choice: Option<Format>) -> Format {
        use std::io::IsTerminal;
        choice.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Json
        })
    }
}

/// Prints records to stdout, each group of lines in one write so that triggers running at
/// the same time do not interleave inside a group. Text lines are [`terminal_safe`].
#[derive(Debug)]
pub struct Printer {
    format: Format,
    out: StdoutWriter,
}

impl Printer {
    /// A printer in `format`, with its writer thread started.
    pub fn new(format: Format) -> std::io::Result<Self> {
        Ok(Self {
            format,
            out: StdoutWriter::start()?,
        })
    }

    /// The record of a matching event.
    pub fn event(&self, trigger: &str, event: &ChangeEvent, go_json: &Value) -> String {
        match self.format {
            Format::Json => {
                json!({"kind": "event", "trigger": trigger, "event": go_json}).to_string()
            }
            Format::Text => {
                let row = event
                    .after
                    .as_ref()
                    .or(event.before.as_ref())
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                let what = match (&event.control, event.qualified_table()) {
                    (Some(kind), _) => format!("{} {kind}", event.action()),
                    // No table (DROP DATABASE, USE): say so, with the schema it names.
                    (None, t) if t.is_empty() => match &event.schema {
                        Some(s) => format!("{} (no table; schema {s})", event.action()),
                        None => format!("{} (no table)", event.action()),
                    },
                    (None, t) => format!("{} {t}", event.action()),
                };
                let line = format!("[{trigger}] {} {what}{row}", event.source_id);
                terminal_safe(&line).into_owned()
            }
        }
    }

    /// The record of a step's output.
    pub fn step(&self, trigger: &str, name: &str, step_type: &str, output: &Value) -> String {
        match self.format {
            Format::Json => json!({"kind": "step", "trigger": trigger, "step": name,
                                   "type": step_type, "output": output})
            .to_string(),
            Format::Text => terminal_safe(&format!(
                "[{trigger}]   step {name} ({step_type}): {output}"
            ))
            .into_owned(),
        }
    }

    /// The record of a failed step.
    pub fn step_error(&self, trigger: &str, name: &str, step_type: &str, error: &str) -> String {
        match self.format {
            Format::Json => json!({"kind": "step_error", "trigger": trigger, "step": name,
                                   "type": step_type, "error": error})
            .to_string(),
            Format::Text => terminal_safe(&format!(
                "[{trigger}]   step {name} ({step_type}) FAILED: {error}"
            ))
            .into_owned(),
        }
    }

    /// Queues the lines to be written together (waits while the writer is behind).
    pub async fn emit(&self, lines: Vec<String>) {
        self.out.write(lines).await;
    }

    /// Resolves once every record emitted before is written.
    pub async fn flush(&self) {
        self.out.flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc::Operation;

    #[test]
    fn an_event_about_no_table_says_so_instead_of_db_dot() {
        let p = Printer::new(Format::Text).unwrap();
        let mut e = ChangeEvent::new("s", Operation::SchemaChange, "");
        e.schema = Some("inventory".into());
        let line = p.event("t", &e, &e.to_go_json());
        assert!(line.ends_with("(no table; schema inventory)"), "{line}");
        assert!(!line.contains("inventory."), "{line}");
    }
}
