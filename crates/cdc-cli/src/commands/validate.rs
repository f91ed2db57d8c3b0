//! `cdc validate FILE`: every problem at once, exit 2 when there is any.

use std::path::Path;

use crate::config::ConfigFile;
use crate::error::CliError;

/// Checks `file` and prints a one-line summary when it is valid.
pub fn run(file: &Path) -> Result<(), CliError> {
    let cfg = ConfigFile::load(file).map_err(CliError::Config)?;
    println!(
        "{}: ok ({} source(s), {} trigger(s), {} step(s))",
        file.display(),
        cfg.sources.len(),
        cfg.triggers.len(),
        cfg.step_count()
    );
    Ok(())
}
