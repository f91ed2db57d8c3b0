//! The "snapshot in progress" marker: a physical replication slot that reserves no WAL,
//! created before the logical slot and dropped once the initial snapshot is delivered.
//!
//! Slots are the one durable, server-side state a replication role may create without any
//! other privilege, so the marker needs no table of ours in the user's database. A logical
//! slot found with its marker still present belongs to a snapshot that was interrupted (a
//! crash, a kill): it is dropped and the snapshot starts over. While the snapshot runs the
//! marker takes one more entry of `max_replication_slots`; it holds no WAL.

use tokio_postgres::Client;

use crate::error::{PostgresError, Result};

/// The marker's name for `slot`: readable, unique per slot, at most 63 characters.
pub fn name(slot: &str) -> String {
    // FNV-1a: a stable hash without a dependency.
    let mut h: u32 = 0x811c_9dc5;
    for b in slot.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let head: String = slot.chars().take(40).collect();
    format!("{head}_snap_{h:08x}")
}

/// Whether the marker of `slot` exists.
pub async fn exists(client: &Client, slot: &str) -> Result<bool> {
    let row = client
        .query_opt(
            "select 1 from pg_replication_slots where slot_name = $1",
            &[&name(slot)],
        )
        .await
        .map_err(|e| PostgresError::sql("looking for the snapshot marker slot", &e))?;
    Ok(row.is_some())
}

/// Creates the marker (no WAL reserved).
pub async fn create(client: &Client, slot: &str) -> Result<()> {
    client
        .execute(
            "select pg_create_physical_replication_slot($1, false, false)",
            &[&name(slot)],
        )
        .await
        .map_err(|e| {
            let mut err = PostgresError::sql("creating the snapshot marker slot", &e);
            if err.sqlstate() == Some("53400")
                && let PostgresError::Database { message, .. } = &mut err
            {
                message.push_str(
                    "; the initial snapshot needs two free replication slots (the slot and a marker that holds no WAL, dropped when the snapshot is done): raise max_replication_slots or drop an unused slot",
                );
            }
            err
        })?;
    Ok(())
}

/// Drops the marker if it exists.
pub async fn drop(client: &Client, slot: &str) -> Result<()> {
    client
        .execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1",
            &[&name(slot)],
        )
        .await
        .map_err(|e| PostgresError::sql("dropping the snapshot marker slot", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_valid_and_distinct() {
        let long = "a".repeat(63);
        for s in ["cdc_shop", long.as_str()] {
            let n = name(s);
            assert!(n.len() <= 63, "{n}");
            crate::config::options::check_slot_name(&n).unwrap();
        }
        assert_ne!(name(&format!("{long}x")), name(&format!("{long}y")));
    }
}
