//! [`EventFilter`]: which events a trigger passes on, decided on typed metadata only.

use std::fmt;

use cdc_core::{ChangeEvent, Operation, TableRef};

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
    actions: ActionSet,
}

impl EventFilter {
    /// A filter over parsed tables and actions.
    pub fn new(tables: Vec<TableRef>, actions: ActionSet) -> Self {
        Self { tables, actions }
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
            && (self.tables.is_empty()
                || self
                    .tables
                    .iter()
                    .any(|t| t.matches(event.schema.as_deref(), &event.table)))
    }
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tables.is_empty() {
            f.write_str("tables=*")?;
        } else {
            f.write_str("tables=")?;
            for (i, t) in self.tables.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{t}")?;
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
