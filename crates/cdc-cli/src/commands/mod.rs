//! One module per subcommand; [`dispatch`] runs the one asked for.

mod render;
mod run;
mod status;
mod steps;
mod validate;

use std::path::Path;

use crate::cli::{Cli, Command, LogFormat};
use crate::config::ConfigFile;
use crate::error::CliError;

/// Runs the command of `cli`.
pub fn dispatch(cli: Cli) -> Result<(), CliError> {
    let flag = cli.log_format;
    match cli.command {
        Command::Validate { file } => {
            init_logging(flag, None);
            validate::run(&file)
        }
        Command::Render {
            file,
            source,
            show_secrets,
        } => {
            let cfg = load(&file, flag)?;
            render::run(&cfg, source.as_deref(), show_secrets)
        }
        Command::Run {
            file,
            output,
            metrics_interval,
            status_file,
            listen,
        } => {
            let cfg = load(&file, flag)?;
            run::run(
                cfg,
                run::Flags {
                    output,
                    metrics_interval,
                    status_file,
                    listen,
                },
            )
        }
        Command::Status {
            file,
            output,
            status_file,
            watch,
        } => {
            let cfg = load(&file, flag)?;
            status::run(&cfg, output, status_file.as_deref(), watch)
        }
        Command::Steps { schema } => {
            init_logging(flag, None);
            steps::run(schema)
        }
    }
}

/// Loads the config, then starts logging in the format the flag (or the file) asks for.
fn load(file: &Path, flag: Option<LogFormat>) -> Result<ConfigFile, CliError> {
    match ConfigFile::load(file) {
        Ok(cfg) => {
            init_logging(flag, cfg.settings.log_format.as_deref());
            Ok(cfg)
        }
        Err(diags) => {
            init_logging(flag, None);
            Err(CliError::Config(diags))
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`), as text or JSON.
fn init_logging(flag: Option<LogFormat>, from_file: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let json = match flag {
        Some(f) => f == LogFormat::Json,
        None => from_file == Some("json"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (never happens in one process) would fail; ignoring it is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
