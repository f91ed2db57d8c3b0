//! # cdc
//!
//! The facade of cdc-rs: re-exports `cdc-core` and, behind features, the providers, the
//! trigger and the workflow steps.

pub use cdc_core as core;
pub use cdc_core::*;
