//! `cargo xtask`: the project's developer tasks, in Rust (no shell scripts).
//!
//! ```text
//! cargo xtask test [--quick] [--suite NAME]... [--timeout SECS] [--list]
//! cargo xtask bench [ARGS]...          # cargo bench --workspace ARGS...
//! cargo xtask venv [--dir DIR] PKG...  # python venv with PKGs (what service suites use)
//! cargo xtask demo-postgres [--seconds N] # real CDC against a throwaway PostgreSQL
//! ```
//!
//! `test` runs the suites in order (see [`suites`]) and prints one summary line per suite, then
//! `xtask: N passed, M failed` alone on the last line (CI reads that form). It exits non-zero if
//! a suite failed or a test suite ran no test.

mod cmd;
mod counts;
mod demo;
mod deny;
mod features;
mod python;
mod services;
mod suites;
mod workspace;

use std::process::ExitCode;

use workspace::Workspace;

/// Errors of xtask: messages for a human, printed once by `main`.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result alias for xtask.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str = "\
usage:
  cargo xtask test [--quick] [--suite NAME]... [--timeout SECS] [--list]
      run the suites (fmt, clippy, test, features, deny, then service-backed suites)
      --quick        skip clippy and the feature matrix
      --suite NAME   run only this suite (repeatable)
      --timeout SECS kill a suite's cargo after SECS (default 1800, 0 = none)
      --list         print the suite names and exit
  cargo xtask bench [ARGS]...
      cargo bench --workspace ARGS...  (criterion; e.g. -- --save-baseline main)
  cargo xtask venv [--dir DIR] PACKAGE...
      create/refresh a python venv (default target/.venv) with the packages
  cargo xtask demo-postgres [--seconds N]
      start a throwaway PostgreSQL with logical replication, stream its changes through
      `cdc run examples/postgres.yaml` while writing some, then remove it (default 20 s)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let ws = Workspace::locate();
    let Some((task, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(ExitCode::FAILURE);
    };
    match task.as_str() {
        "test" => suites::run_test_command(&ws, rest),
        "bench" => bench(&ws, rest),
        "venv" => venv(&ws, rest),
        "demo-postgres" => demo::demo_postgres(&ws, rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown task `{other}`\n{USAGE}").into()),
    }
}

/// `cargo bench --workspace` with the extra args passed through unchanged.
fn bench(ws: &Workspace, args: &[String]) -> Result<ExitCode> {
    let mut cargo_args = vec!["bench".to_owned(), "--workspace".to_owned()];
    cargo_args.extend(args.iter().cloned());
    let status = cmd::run_streaming(ws, "bench", &cargo_args, &[], None)?.status;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cargo xtask venv [--dir DIR] PACKAGE...`: what a service suite's setup does, by hand.
fn venv(ws: &Workspace, args: &[String]) -> Result<ExitCode> {
    let mut dir = ws.default_venv_dir();
    let mut packages = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dir" => {
                dir = it.next().ok_or("--dir needs a directory")?.into();
            }
            _ => packages.push(arg.as_str()),
        }
    }
    if packages.is_empty() {
        return Err(format!("venv: name at least one package\n{USAGE}").into());
    }
    let python = python::ensure_python_venv(&dir, &packages)?;
    println!("venv: python is {}", python.display());
    Ok(ExitCode::SUCCESS)
}
