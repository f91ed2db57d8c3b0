//! What each `metadata.operation` DMS writes becomes.
//!
//! DMS writes `load`, `insert`, `update` and `delete` on data records, and kebab-case
//! control operations (`create-table`, `drop-table`, `add-column`, ...). The "Message
//! format" section of AWS's Kinesis and Kafka target guides names them otherwise: data
//! operations `create`, `read`, `update`, `delete`, control operations `TruncateTable` and
//! `DropTable`. Both spellings are read, so that a DMS version writing what its guide says
//! neither stops the shard (an unknown data operation is an error) nor passes a truncate
//! or a dropped table as a bare control event a handler would not act on.

use cdc_core::Operation;

/// What a control record is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ControlKind {
    /// A change to a table's definition, by its kebab-case DMS name (`add-column`).
    Ddl(&'static str),
    /// The table was truncated.
    Truncate,
    /// Anything else: kept as a control event of that name.
    Other,
}

/// Control operations that change a table's definition (kebab-case, as DMS writes them).
const DDL_OPERATIONS: &[&str] = &[
    "create-table",
    "drop-table",
    "rename-table",
    "change-columns",
    "add-column",
    "drop-column",
    "rename-column",
    "column-type-change",
];

/// The event operation of a data record's `operation`, `None` for one DMS does not write.
pub(super) fn data_operation(op: &str) -> Option<Operation> {
    match op {
        "load" | "read" => Some(Operation::SnapshotRead),
        "insert" | "create" => Some(Operation::Insert),
        "update" => Some(Operation::Update),
        "delete" => Some(Operation::Delete),
        _ => None,
    }
}

/// What a control record of operation `op` is.
pub(super) fn control_kind(op: &str) -> ControlKind {
    match op {
        "truncate-table" | "TruncateTable" => ControlKind::Truncate,
        // Named as the other DDL operations are, so a handler matches one name.
        "DropTable" => ControlKind::Ddl("drop-table"),
        _ => match DDL_OPERATIONS.iter().find(|d| **d == op) {
            Some(d) => ControlKind::Ddl(d),
            None => ControlKind::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_each_operation() {
        assert_eq!(data_operation("load"), Some(Operation::SnapshotRead));
        assert_eq!(data_operation("read"), Some(Operation::SnapshotRead));
        assert_eq!(data_operation("create"), Some(Operation::Insert));
        assert_eq!(data_operation("Insert"), None, "case is not folded");
        assert_eq!(control_kind("TruncateTable"), ControlKind::Truncate);
        assert_eq!(control_kind("DropTable"), ControlKind::Ddl("drop-table"));
        assert_eq!(
            control_kind("column-type-change"),
            ControlKind::Ddl("column-type-change")
        );
        assert_eq!(control_kind("awsdms-heartbeat"), ControlKind::Other);
    }
}
