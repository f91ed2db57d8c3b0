//! The backfill (`snapshot(tables)` on a running source) against hostile input and awkward
//! tables: forged watermark and DDL messages written by any role, resume keys of every
//! kind of type on a database with `standard_conforming_strings = off`, keys as the stream
//! and the chunks carry them, tables whose changes cannot be matched to a row, DDL and
//! renames between chunks, and saved positions that do not fit the table.
//!
//! One file per kind of case: forged messages, resume and stream keys of odd types, and
//! awkward tables (unmatchable changes, DDL between chunks, saved positions that do not
//! fit); the helpers they share are in `support.rs`.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod awkward_tables;
mod forged_messages;
mod odd_keys;
