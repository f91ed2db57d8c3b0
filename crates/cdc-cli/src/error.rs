//! [`CliError`]: what ends a command, and its exit code.

use std::process::ExitCode;

use crate::config::Diagnostic;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The config file has problems (exit 2); each is printed.
    #[error("{} problem(s) in the config file", .0.len())]
    Config(Vec<Diagnostic>),
    /// Bad arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Something failed while running (exit 1).
    #[error("{0}")]
    Runtime(String),
}

impl CliError {
    /// The exit code: 2 for usage and config errors, 1 for runtime failures.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Config(_) | Self::Usage(_) => ExitCode::from(2),
            Self::Runtime(_) => ExitCode::from(1),
        }
    }

    /// Prints the error on stderr.
    pub fn report(&self) {
        match self {
            Self::Config(diags) => {
                for d in diags {
                    eprintln!("error: {d}");
                }
                eprintln!("{} problem(s) found", diags.len());
            }
            other => eprintln!("error: {other}"),
        }
    }
}
