//! The command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// Validate, render, run and inspect CDC pipelines described in a YAML file.
#[derive(Debug, Parser)]
#[command(name = "cdc", version, about)]
pub struct Cli {
    /// Log format on stderr (filter with RUST_LOG; default `warn`).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config file and report every problem (exit 2 when there is any).
    Validate {
        /// The config file.
        file: PathBuf,
    },
    /// Print the provider-native config of each source (secrets masked).
    Render {
        /// The config file.
        file: PathBuf,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Show passwords instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Start the sources, attach the triggers and run their steps for each event.
    Run {
        /// The config file.
        file: PathBuf,
        /// Output format (default: text on a terminal, json otherwise).
        #[arg(long, value_enum)]
        output: Option<Format>,
        /// Seconds between per-source summaries on stderr (0: none); overrides
        /// settings.metrics_interval_secs.
        #[arg(long)]
        metrics_interval: Option<u64>,
        /// Where to write the status `cdc status` reads; overrides settings.status_file.
        #[arg(long)]
        status_file: Option<PathBuf>,
        /// Serve /metrics, /health/live, /health/ready and /status on this address
        /// (`127.0.0.1:9464`; port 0 picks a free one); overrides settings.http.listen.
        /// Loopback only unless settings.http.allow_remote is true.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Show the sources of a running (or the last) `cdc run` of a config file.
    Status {
        /// The config file.
        file: PathBuf,
        /// Output format (default: text on a terminal, json otherwise).
        #[arg(long, value_enum)]
        output: Option<Format>,
        /// The status file `cdc run` writes; overrides settings.status_file.
        #[arg(long)]
        status_file: Option<PathBuf>,
        /// Show the status again every SECS seconds (1 to 3600) until interrupted, with
        /// events/s between two looks.
        #[arg(long, value_name = "SECS")]
        watch: Option<u64>,
    },
    /// List the step types, or print their JSON schemas.
    Steps {
        /// Print every step's config and output schema as JSON.
        #[arg(long)]
        schema: bool,
    },
}
