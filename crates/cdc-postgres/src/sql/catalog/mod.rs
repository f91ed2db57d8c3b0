//! Catalog queries: the server, the role, the tables (replica identity, primary key,
//! columns, size estimate), the publication and the slot.
//!
//! One file per topic: [`server_info`] (the server and the role), the tables
//! ([`resolve_tables`], [`TableInfo`]), their columns and types (for the snapshot and the
//! backfill's queries), the publication and the slot.

mod columns;
mod publications;
mod server;
mod slots;
mod tables;

use crate::error::PostgresError;

pub use columns::{ColumnInfo, column_sql_types, columns, output_functions, type_names};
pub use publications::{Membership, PublicationInfo, membership, publication};
pub use server::{RoleInfo, ServerInfo, server_info};
pub use slots::{SlotInfo, SlotLag, slot, slot_lag};
pub use tables::{TableInfo, publication_tables, published_leaves, resolve_tables};

fn q(context: &str) -> impl FnOnce(tokio_postgres::Error) -> PostgresError + '_ {
    move |e| PostgresError::sql(context, &e)
}
