//! `cdc`: validate, render, run and inspect CDC pipelines from YAML config files.
//!
//! Exit codes: 0 ok, 2 usage or config error, 1 runtime failure.

mod cli;
mod commands;
mod config;
mod error;
mod native;
mod output;
mod run;
mod serve;

use std::process::ExitCode;

/// mimalloc: the event path allocates a few small strings per row, and glibc's malloc costs
/// about a third of a snapshot's CPU (measured in crates/cdc-postgres/benches/pg_bench.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS // --help, --version
            };
        }
    };
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}
