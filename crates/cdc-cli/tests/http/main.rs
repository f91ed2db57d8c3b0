//! The HTTP endpoint of a real `cdc run` (`--listen 127.0.0.1:0`): `/metrics` scraped and
//! its values checked against the input, health flipping with a source, the bearer token,
//! `cdc status` from the live endpoint (and its fallback to the status file), `--watch`,
//! SIGHUP re-reading the config.
//!
//! Deadlines only catch a hang; no speed is asserted.

mod common;
mod config;
#[cfg(feature = "kafka")]
#[path = "../debezium_fixture/mod.rs"]
mod debezium_fixture;
mod kafka;
mod memory;
mod postgres;
mod progress;
mod sighup;
mod status;
