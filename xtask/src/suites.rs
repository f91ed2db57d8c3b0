//! The suites of `cargo xtask test`, in the order they run, and their summary lines.
//!
//! Built in: `fmt`, `clippy`, `test` (`cargo test --workspace`, doc tests included),
//! `features` (the facade's feature matrix), `deny` (`cargo deny`, see [`crate::deny`]).
//! Then every entry of [`SERVICE_SUITES`] (`services.rs`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::Result;
use crate::cmd::{Ran, run_streaming};
use crate::counts::TestCounts;
use crate::features;
use crate::services::{SERVICE_SUITES, ServiceSuite};
use crate::workspace::Workspace;

/// What a suite does.
enum Kind {
    /// `cargo fmt --all -- --check`
    Fmt,
    /// `cargo clippy --workspace --all-targets -- -D warnings`
    Clippy,
    /// `cargo test --workspace` (unit, integration and doc tests)
    Test,
    /// `cargo check -p cdc` for each feature combination
    Features,
    /// `cargo deny check` (licenses, bans, sources; advisories when reachable)
    Deny,
    /// An entry of [`SERVICE_SUITES`]
    Service(&'static ServiceSuite),
}

struct Suite {
    name: &'static str,
    kind: Kind,
    /// Skipped by `--quick`.
    slow: bool,
}

fn all_suites() -> Vec<Suite> {
    let mut suites = vec![
        Suite {
            name: "fmt",
            kind: Kind::Fmt,
            slow: false,
        },
        Suite {
            name: "clippy",
            kind: Kind::Clippy,
            slow: true,
        },
        Suite {
            name: "test",
            kind: Kind::Test,
            slow: false,
        },
        Suite {
            name: "features",
            kind: Kind::Features,
            slow: true,
        },
        Suite {
            name: "deny",
            kind: Kind::Deny,
            slow: false,
        },
    ];
    suites.extend(SERVICE_SUITES.iter().map(|service| Suite {
        name: service.name,
        kind: Kind::Service(service),
        slow: false,
    }));
    suites
}

/// How one suite ended.
struct Outcome {
    name: &'static str,
    ok: bool,
    /// Test counts, for suites that run tests.
    counts: Option<TestCounts>,
    /// Extra words for the summary (failure reason, builds checked).
    note: Option<String>,
    elapsed: Duration,
}

impl Outcome {
    /// `suite test: ok (312 passed, 0 failed, 2 ignored) in 41.2s`
    fn summary_line(&self) -> String {
        let verdict = if self.ok { "ok" } else { "FAILED" };
        let details: Vec<String> = self
            .counts
            .map(|c| c.to_string())
            .into_iter()
            .chain(self.note.clone())
            .collect();
        let details = if details.is_empty() {
            String::new()
        } else {
            format!(" ({})", details.join("; "))
        };
        format!(
            "suite {}: {verdict}{details} in {:.1}s",
            self.name,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Default time limit of one cargo run: a hung test must fail the suite, not eat CI's budget.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Options of `cargo xtask test`.
#[derive(Debug, PartialEq)]
struct Options {
    quick: bool,
    only: Vec<String>,
    list: bool,
    /// Time limit of each cargo run; `None` = unlimited.
    timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            quick: false,
            only: Vec::new(),
            list: false,
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--list" => options.list = true,
            "--suite" => options
                .only
                .push(it.next().ok_or("--suite needs a suite name")?.clone()),
            "--timeout" => {
                let secs: u64 = it
                    .next()
                    .ok_or("--timeout needs a number of seconds")?
                    .parse()
                    .map_err(|e| format!("--timeout: {e}"))?;
                options.timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            other => match other.strip_prefix("--suite=") {
                Some(name) => options.only.push(name.to_owned()),
                None => return Err(format!("unknown option `{other}` for `test`").into()),
            },
        }
    }
    Ok(options)
}

/// `cargo xtask test [--quick] [--suite NAME]... [--list]`.
pub(crate) fn run_test_command(ws: &Workspace, args: &[String]) -> Result<ExitCode> {
    let options = parse_options(args)?;
    let suites = all_suites();
    if options.list {
        for suite in &suites {
            println!("{}", suite.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for name in &options.only {
        if !suites.iter().any(|s| s.name == name) {
            let known: Vec<&str> = suites.iter().map(|s| s.name).collect();
            return Err(format!("no suite `{name}`; suites: {}", known.join(", ")).into());
        }
    }
    let selected: Vec<&Suite> = suites
        .iter()
        .filter(|s| {
            if options.only.is_empty() {
                !(options.quick && s.slow)
            } else {
                options.only.iter().any(|name| name == s.name)
            }
        })
        .collect();

    let outcomes: Vec<Outcome> = selected
        .iter()
        .map(|suite| run_suite(ws, suite, options.timeout))
        .collect();

    println!();
    let mut total = TestCounts::default();
    for outcome in &outcomes {
        println!("{}", outcome.summary_line());
        total += outcome.counts.unwrap_or_default();
    }
    let all_ok = outcomes.iter().all(|o| o.ok);
    println!("xtask: {} passed, {} failed", total.passed, total.failed);
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What every suite runs with.
struct Ctx<'a> {
    ws: &'a Workspace,
    name: &'static str,
    limit: Option<Duration>,
}

fn run_suite(ws: &Workspace, suite: &Suite, limit: Option<Duration>) -> Outcome {
    let started = Instant::now();
    let ctx = Ctx {
        ws,
        name: suite.name,
        limit,
    };
    let (ok, counts, note) = match suite.kind {
        Kind::Fmt => check(&ctx, &["fmt", "--all", "--", "--check"]),
        Kind::Clippy => check(
            &ctx,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Kind::Test => tests(&ctx, &["test", "--workspace", "--no-fail-fast"], &[]),
        Kind::Features => feature_matrix(&ctx),
        Kind::Deny => {
            let (ok, note) = crate::deny::run(ws, suite.name, limit);
            (ok, None, note)
        }
        Kind::Service(service) => {
            println!("==> [{}] setup", service.name);
            match (service.setup)(ws) {
                Ok(env) => tests(&ctx, service.cargo_args, &env),
                Err(err) => {
                    eprintln!("==> [{}] setup failed: {err}", service.name);
                    (false, None, Some(format!("setup failed: {err}")))
                }
            }
        }
    };
    Outcome {
        name: suite.name,
        ok,
        counts,
        note,
        elapsed: started.elapsed(),
    }
}

type Verdict = (bool, Option<TestCounts>, Option<String>);

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// Why a finished cargo run failed.
fn failure(ran: &Ran, limit: Option<Duration>) -> String {
    if ran.timed_out {
        format!(
            "timed out after {}s and was killed",
            limit.unwrap_or_default().as_secs()
        )
    } else {
        format!("cargo failed, {}", ran.status)
    }
}

/// A suite that passes when cargo exits 0 (fmt, clippy).
fn check(ctx: &Ctx<'_>, args: &[&str]) -> Verdict {
    match run_streaming(ctx.ws, ctx.name, &owned(args), &[], ctx.limit) {
        Ok(ran) if ran.status.success() => (true, None, None),
        Ok(ran) => (false, None, Some(failure(&ran, ctx.limit))),
        Err(err) => (false, None, Some(err.to_string())),
    }
}

/// A suite that runs tests: passes when cargo exits 0 AND at least one test ran.
fn tests(ctx: &Ctx<'_>, args: &[&str], env: &[(String, String)]) -> Verdict {
    match run_streaming(ctx.ws, ctx.name, &owned(args), env, ctx.limit) {
        Ok(ran) => {
            let counts = Some(ran.counts);
            if !ran.status.success() {
                (false, counts, Some(failure(&ran, ctx.limit)))
            } else if ran.counts.ran() == 0 {
                let why = if ran.result_lines == 0 {
                    "ran no tests: no `test result:` line"
                } else {
                    "ran no tests"
                };
                (false, counts, Some(why.to_owned()))
            } else {
                (true, counts, None)
            }
        }
        Err(err) => (false, None, Some(err.to_string())),
    }
}

/// `cargo check -p cdc` without default features, with each feature alone, with all.
fn feature_matrix(ctx: &Ctx<'_>) -> Verdict {
    let features = match features::facade_features(&ctx.ws.manifest()) {
        Ok(features) => features,
        Err(err) => return (false, None, Some(err.to_string())),
    };
    let builds = features::matrix(&features);
    let mut failed = Vec::new();
    for (label, args) in &builds {
        let suite = format!("{}: {label}", ctx.name);
        match run_streaming(ctx.ws, &suite, args, &[], ctx.limit) {
            Ok(ran) if ran.status.success() => {}
            Ok(ran) if ran.timed_out => failed.push(format!("{label} (timed out)")),
            Ok(_) => failed.push(label.clone()),
            Err(err) => failed.push(format!("{label} ({err})")),
        }
    }
    let checked: Vec<&str> = builds.iter().map(|(label, _)| label.as_str()).collect();
    if failed.is_empty() {
        (
            true,
            None,
            Some(format!("{} builds: {}", builds.len(), checked.join(", "))),
        )
    } else {
        (
            false,
            None,
            Some(format!(
                "{} of {} builds failed: {}",
                failed.len(),
                builds.len(),
                failed.join(", ")
            )),
        )
    }
}

#[cfg(test)]
mod tests;
