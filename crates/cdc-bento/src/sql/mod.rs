//! PostgreSQL SQL for the wal2json polling stream: validated names, escaped literals, and the
//! statements (slot creation, the read of changes).
//!
//! Every name that reaches SQL text is validated first (a clear error naming the field) and
//! then escaped, so that even a name a validator let through cannot change the statement.

mod literal;
mod names;
mod statements;

pub use literal::{quote_ident, quote_literal};
pub use names::{PgTable, SlotName};
pub use statements::{ChangesQuery, SlotRead, create_slot_sql, drop_slot_sql, wal2json_add_tables};
