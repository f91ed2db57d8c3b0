//! What the publication check found, kept for `status` (`details.publication_check`): the
//! tables it added back (with the warning that changes may be missing) and the problems
//! that stand now.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// How many re-adds `status` keeps (the oldest go first): enough to see what happened,
/// bounded for a table that a job drops and creates all day.
const KEPT: usize = 20;

/// A captured table's current problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No table of that name exists: nothing to capture until one is created again.
    Dropped,
    /// The publication does not publish it, and cdc-rs may not or could not change that:
    /// its changes are lost until the operator runs `fix`. `why` says which.
    NotPublished {
        /// Why cdc-rs did not add it.
        why: String,
        /// The statement that adds it.
        fix: String,
    },
}

impl Problem {
    /// Whether changes are being lost now (a status error), rather than there being
    /// nothing to capture.
    pub fn is_error(&self) -> bool {
        matches!(self, Self::NotPublished { .. })
    }

    /// The text status shows, naming `table`.
    pub fn text(&self, table: &str, publication: &str) -> String {
        match self {
            Self::Dropped => format!(
                "table {table} does not exist (dropped): nothing of it is captured until a table of that name is created again"
            ),
            Self::NotPublished { why, fix } => format!(
                "table {table} is not in publication {publication:?} ({why}): its changes are not captured; run {fix};"
            ),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    checks: u64,
    readded: Vec<String>,
    problems: BTreeMap<String, Problem>,
    error: Option<String>,
}

/// The check's findings, shared by its task and `status`.
#[derive(Debug, Default)]
pub struct Report {
    inner: Mutex<Inner>,
}

impl Report {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A check ran: `error` is why it could not (cleared by the next that could).
    pub fn checked(&self, error: Option<String>) {
        let mut inner = self.lock();
        inner.checks += 1;
        inner.error = error;
    }

    /// `table` was added back; `text` is the warning status keeps.
    pub fn readded(&self, table: &str, text: String) {
        let mut inner = self.lock();
        inner.problems.remove(table);
        inner.readded.push(text);
        if inner.readded.len() > KEPT {
            inner.readded.remove(0);
        }
    }

    /// Records `table`'s problem (`None`: it has none); `true` when it is a new one, to
    /// log once rather than at every check.
    pub fn set_problem(&self, table: &str, problem: Option<Problem>) -> bool {
        let mut inner = self.lock();
        match problem {
            None => {
                inner.problems.remove(table);
                false
            }
            Some(p) => inner.problems.insert(table.to_owned(), p.clone()).as_ref() != Some(&p),
        }
    }

    /// Forgets every problem (a `FOR ALL TABLES` publication publishes everything).
    pub fn clear_problems(&self) {
        self.lock().problems.clear();
    }

    /// The first problem that loses changes, as status's error.
    pub fn error(&self, publication: &str) -> Option<String> {
        let inner = self.lock();
        let (table, p) = inner.problems.iter().find(|(_, p)| p.is_error())?;
        Some(p.text(table, publication))
    }

    /// `details.publication_check`.
    pub fn details(&self, publication: &str, interval_ms: u64) -> Value {
        let inner = self.lock();
        let problems: Vec<String> = inner
            .problems
            .iter()
            .map(|(t, p)| p.text(t, publication))
            .collect();
        json!({
            "interval_ms": interval_ms,
            "checks": inner.checks,
            "readded": inner.readded,
            "problems": problems,
            "error": inner.error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_new_once_and_readds_are_bounded() {
        let r = Report::default();
        let p = Problem::NotPublished {
            why: "options.publication".into(),
            fix: "ALTER PUBLICATION \"p\" ADD TABLE \"public\".\"t\"".into(),
        };
        assert!(r.set_problem("public.t", Some(p.clone())));
        assert!(!r.set_problem("public.t", Some(p)));
        let e = r.error("p").unwrap();
        assert!(
            e.contains("public.t") && e.contains("ALTER PUBLICATION"),
            "{e}"
        );
        assert!(r.set_problem("public.t", Some(Problem::Dropped)));
        assert_eq!(r.error("p"), None);
        for i in 0..30 {
            r.readded("public.t", format!("re-add {i}"));
        }
        let d = r.details("p", 1000);
        assert_eq!(d["readded"].as_array().unwrap().len(), KEPT);
        assert_eq!(d["readded"][KEPT - 1], "re-add 29");
        assert_eq!(d["problems"].as_array().unwrap().len(), 0);
    }
}
