//! How `cdc run` prints events and step outputs: JSON lines or one readable line each.

use std::io::Write;
use std::sync::Mutex;

use cdc::ChangeEvent;
use clap::ValueEnum;
use serde_json::{Value, json};

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
/// the same time do not interleave inside a group.
#[derive(Debug)]
pub struct Printer {
    format: Format,
    lock: Mutex<()>,
}

impl Printer {
    /// A printer in `format`.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            lock: Mutex::new(()),
        }
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
                let what = match &event.control {
                    Some(kind) => format!("{} {kind}", event.action()),
                    None => format!("{} {}", event.action(), event.qualified_table()),
                };
                format!("[{trigger}] {} {what}{row}", event.source_id)
            }
        }
    }

    /// The record of a step's output.
    pub fn step(&self, trigger: &str, name: &str, step_type: &str, output: &Value) -> String {
        match self.format {
            Format::Json => json!({"kind": "step", "trigger": trigger, "step": name,
                                   "type": step_type, "output": output})
            .to_string(),
            Format::Text => format!("[{trigger}]   step {name} ({step_type}): {output}"),
        }
    }

    /// The record of a failed step.
    pub fn step_error(&self, trigger: &str, name: &str, step_type: &str, error: &str) -> String {
        match self.format {
            Format::Json => json!({"kind": "step_error", "trigger": trigger, "step": name,
                                   "type": step_type, "error": error})
            .to_string(),
            Format::Text => format!("[{trigger}]   step {name} ({step_type}) FAILED: {error}"),
        }
    }

    /// Writes the lines together and flushes.
    pub fn emit(&self, lines: &[String]) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::io::stdout().lock();
        for line in lines {
            // stdout closed (a pipe reader gone): nothing useful to do but go on.
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}
