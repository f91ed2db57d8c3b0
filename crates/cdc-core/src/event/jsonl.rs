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

/// Default longest line [`JsonLinesReader`] reads: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Reads events from JSON Lines, one per line; errors carry the 1-based line number.
///
/// Memory stays bounded: a line longer than the limit ([`DEFAULT_MAX_LINE_BYTES`], see
/// [`JsonLinesReader::with_max_line_bytes`]) is consumed without being kept and comes back as
/// an error, as does a line that is not UTF-8; reading goes on with the next line. A read
/// error ends the input ([`JsonLinesReader::read_failed`] tells it apart).
pub struct JsonLinesReader<R> {
    source_id: String,
    input: R,
    line_no: usize,
    max_line_bytes: usize,
    buf: Vec<u8>,
    read_failed: bool,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// Reads `input`; events get `source_id` unless they name one.
    pub fn new(source_id: impl Into<String>, input: R) -> Self {
        Self {
            source_id: source_id.into(),
            input,
            line_no: 0,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            buf: Vec::new(),
            read_failed: false,
        }
    }

    /// Longest line kept (at least 1 byte); a longer one is skipped with an error.
    pub fn with_max_line_bytes(mut self, max: usize) -> Self {
        self.max_line_bytes = max.max(1);
        self
    }

    /// The number of the last line read.
    pub fn line(&self) -> usize {
        self.line_no
    }

    /// Whether reading failed (the last error was an I/O error, and the input has ended).
    pub fn read_failed(&self) -> bool {
        self.read_failed
    }

    /// Reads one line into `buf` (without its newline). `Ok(None)` at the end of the input;
    /// `Ok(Some(false))` for a line over the limit (consumed, not kept).
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let mut fits = true;
        let mut read_any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(read_any.then_some(fits));
            }
            read_any = true;
            let (part, used, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            if fits && self.buf.len() + part.len() <= self.max_line_bytes {
                self.buf.extend_from_slice(part);
            } else {
                fits = false;
                self.buf.clear();
            }
            self.input.consume(used);
            if done {
                return Ok(Some(fits));
            }
        }
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<ChangeEvent, EventParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.read_failed {
                return None;
            }
            self.line_no += 1;
            let at = self.line_no;
            match self.read_line() {
                Ok(None) => return None,
                Ok(Some(true)) => {}
                Ok(Some(false)) => {
                    let max = self.max_line_bytes;
                    return Some(Err(EventParseError::new(format!(
                        "the line is longer than {max} bytes; skipped"
                    ))
                    .at_line(at)));
                }
                Err(e) => {
                    self.read_failed = true;
                    return Some(Err(
                        EventParseError::new(format!("read error: {e}")).at_line(at)
                    ));
                }
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t.trim(),
                Err(e) => {
                    let column = e.valid_up_to() + 1;
                    return Some(Err(EventParseError::new(format!(
                        "not UTF-8 (invalid byte at column {column}); skipped"
                    ))
                    .at_line(at)));
                }
            };
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(parse_event_json(&self.source_id, text).map_err(|e| e.at_line(at)));
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

    #[test]
    fn long_and_non_utf8_lines_are_skipped_with_their_number_and_reading_goes_on() {
        let ok = r#"{"op": "INSERT", "table": "t", "after": {"id": 1}}"#;
        let mut input = Vec::new();
        input.extend_from_slice(ok.as_bytes());
        input.extend_from_slice(b"\n{\"op\": \"\xff\"}\n");
        input.extend_from_slice(&vec![b'x'; 10_000]);
        input.extend_from_slice(b"\n");
        input.extend_from_slice(ok.as_bytes());
        // A small buffer, so the long line arrives in many chunks.
        let reader = std::io::BufReader::with_capacity(64, input.as_slice());
        let items: Vec<_> = JsonLinesReader::new("s", reader)
            .with_max_line_bytes(1000)
            .collect();
        assert_eq!(items.len(), 4);
        assert!(items[0].is_ok() && items[3].is_ok());
        let e1 = items[1].as_ref().unwrap_err();
        assert_eq!(e1.line, Some(2));
        assert!(e1.to_string().contains("not UTF-8"), "{e1}");
        let e2 = items[2].as_ref().unwrap_err();
        assert_eq!(e2.line, Some(3));
        assert!(e2.to_string().contains("longer than 1000 bytes"), "{e2}");
    }
}
