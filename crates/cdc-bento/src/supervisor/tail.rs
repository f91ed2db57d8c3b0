//! A bounded buffer of the last lines a process wrote to stderr.

use std::collections::VecDeque;

/// The last `capacity` lines; older lines fall off.
#[derive(Clone, Debug, Default)]
pub struct LineTail {
    lines: VecDeque<String>,
    capacity: usize,
}

impl LineTail {
    /// An empty tail keeping `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a line (cut to 1 000 characters, so one runaway line cannot fill memory), with
    /// any connection string it quotes redacted: Bento's errors name the DSN they failed on,
    /// and the tail reaches the status.
    pub fn push(&mut self, line: &str) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        let cut: String = line.chars().take(1000).collect();
        self.lines.push_back(cdc_core::secret::redact_text(&cut));
    }

    /// The lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }

    /// The lines joined by newlines.
    pub fn joined(&self) -> String {
        self.lines().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines() {
        let mut t = LineTail::new(2);
        for l in ["a", "b", "c"] {
            t.push(l);
        }
        assert_eq!(t.lines(), vec!["b", "c"]);
        assert_eq!(t.joined(), "b\nc");
        t.push("level=error msg=\"dial postgres://u:MARK@db/x: refused\"");
        assert!(!t.joined().contains("MARK"), "{}", t.joined());
    }
}
