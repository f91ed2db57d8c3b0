//! The `deny` suite: `cargo deny` over the workspace with the top-level `deny.toml`.
//!
//! Licenses, bans (duplicate versions, wildcards) and sources are checked offline and must
//! pass. Advisories need the RustSec database, fetched from GitHub: when it cannot be
//! fetched (no network, as on the project's own machines) that one check is skipped, said
//! loudly, and the suite's summary says so; when it can, it must pass like the others. A
//! missing `cargo-deny` is a failure (`.ci/run` installs it), never a skip.

use std::time::Duration;

use crate::cmd::run_streaming;
use crate::workspace::Workspace;

/// How the suite ended: passed or not, and a note for the summary line.
pub(crate) fn run(ws: &Workspace, suite: &str, limit: Option<Duration>) -> (bool, Option<String>) {
    let cargo = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        run_streaming(ws, suite, &args, &[], limit)
    };
    match cargo(&["deny", "--version"]) {
        Ok(ran) if ran.status.success() => {}
        _ => {
            return (
                false,
                Some("cargo-deny is not installed: cargo install cargo-deny --locked".into()),
            );
        }
    }
    match cargo(&["deny", "check", "licenses", "bans", "sources"]) {
        Ok(ran) if ran.status.success() => {}
        Ok(_) => return (false, Some("licenses, bans or sources failed".into())),
        Err(e) => return (false, Some(e.to_string())),
    }
    match cargo(&["deny", "fetch", "db"]) {
        Ok(ran) if ran.status.success() => {}
        _ => {
            println!(
                "==> [{suite}] SKIPPED the advisories check: the RustSec advisory database \
                 (github.com/RustSec/advisory-db) cannot be fetched from here; licenses, bans \
                 and sources were checked"
            );
            return (
                true,
                Some(
                    "licenses, bans, sources ok; advisories SKIPPED (database unreachable)".into(),
                ),
            );
        }
    }
    match cargo(&["deny", "check", "advisories"]) {
        Ok(ran) if ran.status.success() => {
            (true, Some("licenses, bans, sources, advisories ok".into()))
        }
        Ok(_) => (false, Some("advisories failed".into())),
        Err(e) => (false, Some(e.to_string())),
    }
}
