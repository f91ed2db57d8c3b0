//! Events as JSON text: one event per JSON value, and JSON Lines files of them.
//!
//! A line is either the typed [`ChangeEvent`] JSON (it has an `operation` key) or the Go-style
//! map (`op`/`action`, `table`/`source`). Blank lines and lines starting with `#` are skipped.

use std::io::BufRead;

use serde_json::Value;

use super::{ChangeEvent, EventParseError};

/// Parses one event from JSON text, in the typed or the Go-style shape.
/// A typed event without `source_id` gets `source_id`.
pub fn parse_event_json(source_id: &str, text: &str) -> Result<ChangeEvent, EventParseError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| EventParseError::new(format!("not valid JSON: {e}")))?;
    parse_event_value(source_id, value)
}

fn parse_event_value(source_id: &str, mut value: Value) -> Result<ChangeEvent, EventParseError> {
    if let Value::Object(m) = &mut value
        && m.contains_key("operation")
    {
        m.entry("source_id")
            .or_insert_with(|| Value::String(source_id.to_owned()));
        return serde_json::from_value(value)
            .map_err(|e| EventParseError::new(format!("typed event: {e}")));
    }
    ChangeEvent::from_go_json(source_id, &value)
}

/// Reads events from JSON Lines, one per line; errors carry the 1-based line number.
pub struct JsonLinesReader<R> {
    source_id: String,
    input: R,
    line_no: usize,
    buf: String,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// Reads `input`; events get `source_id` unless they name one.
    pub fn new(source_id: impl Into<String>, input: R) -> Self {
        Self {
            source_id: source_id.into(),
            input,
            line_no: 0,
            buf: String::new(),
        }
    }

    /// The number of the last line read.
    pub fn line(&self) -> usize {
        self.line_no
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<ChangeEvent, EventParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(
                        EventParseError::new(format!("read error: {e}")).at_line(self.line_no)
                    ));
                }
            }
            let text = self.buf.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(
                parse_event_json(&self.source_id, text).map_err(|e| e.at_line(self.line_no)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;

    #[test]
    fn reads_both_shapes_and_reports_bad_lines() {
        let input = r#"{"op": "INSERT", "table": "public.orders", "after": {"id": 1}}

# a comment
{"operation": "delete", "table": "orders", "schema": "public", "before": {"id": 1}}
{"op": "INSERT", "table": "public.orders", "after": {"id": 2
"#;
        let mut r = JsonLinesReader::new("src", input.as_bytes());
        let a = r.next().unwrap().unwrap();
        assert_eq!(a.operation, Operation::Insert);
        let b = r.next().unwrap().unwrap();
        assert_eq!(b.operation, Operation::Delete);
        assert_eq!(b.source_id, "src");
        let err = r.next().unwrap().unwrap_err();
        assert_eq!(err.line, Some(5));
        assert!(err.to_string().contains("line 5"), "{err}");
        assert!(r.next().is_none());
    }
}
