//! [`EventFilter`]: which events a trigger passes on, decided on typed metadata only.

use std::collections::{HashMap, HashSet};
use std::fmt;

use cdc_core::{ChangeEvent, Operation, TableRef};

/// Up to this many tables a filter compares an event's table with each; past it, it looks
/// the name up in an index, so that a filter of 100 000 tables costs one lookup per event.
const SCAN_TABLES: usize = 8;
/// How many tables [`EventFilter`]'s `Display` (its log line) names before `,... (N more)`.
const SHOWN_TABLES: usize = 20;

/// The action names a trigger accepts (case-insensitive), with Debezium's one-letter codes.
pub const VALID_ACTIONS: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "TRUNCATE", "SNAPSHOT", "c", "u", "d", "t", "r",
];

/// A set of operations, as a bit mask: membership is one AND, with no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionSet(u8);

impl ActionSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    fn bit(op: Operation) -> u8 {
        match op {
            Operation::Insert => 1,
            Operation::Update => 1 << 1,
            Operation::Delete => 1 << 2,
            Operation::Truncate => 1 << 3,
            Operation::SnapshotRead => 1 << 4,
            // Schema changes, messages and control events are not trigger actions: no bit, so
            // an action filter never passes them (an empty filter passes everything).
            _ => 0,
        }
    }

    /// Parses one action name: `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `SNAPSHOT` in any case,
    /// or Debezium's `c`, `u`, `d`, `t`, `r`. Anything else is `None`.
    pub fn parse_action(name: &str) -> Option<Operation> {
        let op = match name.trim().to_ascii_uppercase().as_str() {
            "INSERT" | "C" => Operation::Insert,
            "UPDATE" | "U" => Operation::Update,
            "DELETE" | "D" => Operation::Delete,
            "TRUNCATE" | "T" => Operation::Truncate,
            "SNAPSHOT" | "R" => Operation::SnapshotRead,
            _ => return None,
        };
        Some(op)
    }

    /// Adds an operation.
    pub fn insert(&mut self, op: Operation) {
        self.0 |= Self::bit(op);
    }

    /// Whether `op` is in the set.
    pub fn contains(self, op: Operation) -> bool {
        self.0 & Self::bit(op) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Tables and actions an event must match. An empty list matches everything.
///
/// A table without a schema (`users`) matches that table in any schema; `public.users` only
/// in `public`. Names compare exactly (case-sensitive), as the source reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    tables: Vec<TableRef>,
    /// By table name, when there are more than [`SCAN_TABLES`] tables.
    index: Option<HashMap<String, Schemas>>,
    actions: ActionSet,
}

/// The schemas a table name is wanted in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Schemas {
    /// The name was given without a schema: any schema.
    any: bool,
    /// The schemas it was given with.
    names: HashSet<String>,
}

impl EventFilter {
    /// A filter over parsed tables and actions.
    pub fn new(tables: Vec<TableRef>, actions: ActionSet) -> Self {
        let index = (tables.len() > SCAN_TABLES).then(|| {
            let mut index: HashMap<String, Schemas> = HashMap::with_capacity(tables.len());
            for t in &tables {
                let entry = index.entry(t.name.clone()).or_default();
                match &t.schema {
                    None => entry.any = true,
                    Some(s) => {
                        entry.names.insert(s.clone());
                    }
                }
            }
            index
        });
        Self {
            tables,
            index,
            actions,
        }
    }

    /// The filter that passes every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// The tables (empty: all).
    pub fn tables(&self) -> &[TableRef] {
        &self.tables
    }

    /// The actions (empty: all).
    pub fn actions(&self) -> ActionSet {
        self.actions
    }

    /// Whether `event` passes: its operation is one of the actions, and its table one of the
    /// tables (each check skipped when its list is empty).
    #[inline]
    pub fn matches(&self, event: &ChangeEvent) -> bool {
        (self.actions.is_empty() || self.actions.contains(event.operation))
            && (self.tables.is_empty() || self.table_matches(event.schema.as_deref(), &event.table))
    }

    fn table_matches(&self, schema: Option<&str>, table: &str) -> bool {
        match &self.index {
            None => self.tables.iter().any(|t| t.matches(schema, table)),
            Some(index) => index
                .get(table)
                .is_some_and(|s| s.any || schema.is_some_and(|schema| s.names.contains(schema))),
        }
    }
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tables.is_empty() {
            f.write_str("tables=*")?;
        } else {
            f.write_str("tables=")?;
            for (i, t) in self.tables.iter().take(SHOWN_TABLES).enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{t}")?;
            }
            if self.tables.len() > SHOWN_TABLES {
                write!(f, ",... ({} more)", self.tables.len() - SHOWN_TABLES)?;
            }
        }
        f.write_str(" actions=")?;
        if self.actions.is_empty() {
            return f.write_str("*");
        }
        let names: Vec<&str> = [
            Operation::Insert,
            Operation::Update,
            Operation::Delete,
            Operation::Truncate,
            Operation::SnapshotRead,
        ]
        .into_iter()
        .filter(|op| self.actions.contains(*op))
        .map(Operation::action)
        .collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(op: Operation, table: &str) -> ChangeEvent {
        ChangeEvent::new("s", op, table)
    }

    #[test]
    fn empty_filter_passes_everything_including_control_events() {
        let f = EventFilter::all();
        assert!(f.matches(&ev(Operation::Insert, "public.users")));
        assert!(f.matches(&ChangeEvent::control("s", "snapshot_started")));
    }

    #[test]
    fn schema_less_table_matches_any_schema_and_qualified_only_its_own() {
        let f = EventFilter::new(vec![TableRef::parse("users").unwrap()], ActionSet::EMPTY);
        assert!(f.matches(&ev(Operation::Insert, "public.users")));
        assert!(f.matches(&ev(Operation::Insert, "audit.users")));
        assert!(f.matches(&ev(Operation::Insert, "users")));
        assert!(!f.matches(&ev(Operation::Insert, "public.orders")));
        let f = EventFilter::new(
            vec![TableRef::parse("public.users").unwrap()],
            ActionSet::EMPTY,
        );
        assert!(f.matches(&ev(Operation::Insert, "public.users")));
        assert!(!f.matches(&ev(Operation::Insert, "audit.users")));
        assert!(!f.matches(&ev(Operation::Insert, "users")));
        assert!(!f.matches(&ChangeEvent::control("s", "snapshot_started")));
    }

    #[test]
    fn actions_parse_case_insensitively_with_debezium_codes() {
        for (name, op) in [
            ("insert", Operation::Insert),
            ("INSERT", Operation::Insert),
            ("c", Operation::Insert),
            ("Update", Operation::Update),
            ("u", Operation::Update),
            ("DELETE", Operation::Delete),
            ("d", Operation::Delete),
            ("truncate", Operation::Truncate),
            ("T", Operation::Truncate),
            ("snapshot", Operation::SnapshotRead),
            ("r", Operation::SnapshotRead),
        ] {
            assert_eq!(ActionSet::parse_action(name), Some(op), "{name}");
        }
        for bad in ["upsert", "", "read", "schema_change", "control", "x"] {
            assert_eq!(ActionSet::parse_action(bad), None, "{bad}");
        }
    }

    #[test]
    fn action_set_filters_operations_and_never_passes_control_events() {
        let mut set = ActionSet::EMPTY;
        set.insert(Operation::Insert);
        set.insert(Operation::Delete);
        let f = EventFilter::new(Vec::new(), set);
        assert!(f.matches(&ev(Operation::Insert, "t")));
        assert!(f.matches(&ev(Operation::Delete, "t")));
        assert!(!f.matches(&ev(Operation::Update, "t")));
        assert!(!f.matches(&ev(Operation::SnapshotRead, "t")));
        assert!(!f.matches(&ChangeEvent::control("s", "snapshot_started")));
        assert_eq!(f.to_string(), "tables=* actions=INSERT,DELETE");
    }
}
