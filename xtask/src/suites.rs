//! The suites of `cargo xtask test`, in the order they run, and their summary lines.
//!
//! Built in: `fmt`, `clippy`, `test` (`cargo test --workspace`, doc tests included),
//! `features` (the facade's feature matrix), `deny` (`cargo deny`, see [`crate::deny`]).
//! Then every entry of [`SERVICE_SUITES`].

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::Result;
use crate::cmd::{Ran, run_streaming};
use crate::counts::TestCounts;
use crate::features;
use crate::workspace::Workspace;

/// Environment variables a service suite's setup hands to its cargo run.
pub(crate) type SuiteEnv = Vec<(String, String)>;

/// A suite that needs a service or tool prepared by xtask before cargo runs.
///
/// Convention for the tests it runs: they are `#[ignore = "needs <service>: cargo xtask test
/// --suite <name>"]` so a plain `cargo test --workspace` (the `test` suite) reports them as
/// ignored instead of failing for lack of the service, and the suite runs them with
/// `-- --ignored`. Inside the suite a missing service is a FAILURE, never a skip. Suites that
/// start their service themselves from Rust (PostgreSQL through `cdc-testkit`) need no entry:
/// they run in the `test` suite.
pub(crate) struct ServiceSuite {
    /// Name for `--suite` and the summary line.
    pub name: &'static str,
    /// Arguments after `cargo`, e.g. `["test", "-p", "cdc-dms", "--test", "moto", "--",
    /// "--ignored"]`.
    pub cargo_args: &'static [&'static str],
    /// Prepares what the tests need and returns environment variables for the cargo run,
    /// e.g. `ensure_python_venv` and `("CDC_MOTO_PYTHON", <venv python>)`. It must print what
    /// it does.
    pub setup: fn(&Workspace) -> Result<SuiteEnv>,
}

/// Service-backed suites, run after the built-in ones. EXTEND HERE, e.g. for cdc-dms:
///
/// ```text
/// ServiceSuite {
///     name: "dms-moto",
///     cargo_args: &["test", "-p", "cdc-dms", "--test", "moto", "--", "--ignored"],
///     setup: |ws| {
///         let python = crate::python::ensure_python_venv(
///             &ws.default_venv_dir(),
///             &["moto[server]"],
///         )?;
///         Ok(vec![("CDC_MOTO_PYTHON".into(), python.display().to_string())])
///     },
/// },
/// ```
pub(crate) const SERVICE_SUITES: &[ServiceSuite] = &[
    // AWS DMS and Kinesis through the real SDK against moto, started per test by the suite
    // from crates/cdc-dms/tests/moto/launcher.py with the venv's python.
    ServiceSuite {
        name: "dms-moto",
        cargo_args: &[
            "test",
            "-p",
            "cdc-dms",
            "--test",
            "moto_emulator",
            "--",
            "--ignored",
        ],
        setup: |ws| {
            let requirements = ws.root.join("crates/cdc-dms/tests/moto/requirements.txt");
            let text = std::fs::read_to_string(&requirements)
                .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
            let packages: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            let python = crate::python::ensure_python_venv(&ws.default_venv_dir(), &packages)?;
            Ok(vec![(
                "CDC_MOTO_PYTHON".into(),
                python.display().to_string(),
            )])
        },
    },
    // The Bento provider creating its wal2json slot itself and advancing it once the handlers
    // succeeded (feature `postgres`), against a throwaway PostgreSQL that the tests start
    // through cdc-testkit.
    ServiceSuite {
        name: "bento-postgres-feature",
        cargo_args: &[
            "test",
            "-p",
            "cdc-bento",
            "--features",
            "postgres",
            "--test",
            "postgres_slot",
            "--test",
            "managed_postgres",
        ],
        setup: |_ws| {
            println!("bento-postgres-feature: PostgreSQL is started by the tests (cdc-testkit)");
            Ok(Vec::new())
        },
    },
    // The Debezium Kafka transport against rdkafka's in-process mock cluster (feature
    // `kafka`, explicitly: the suite never depends on feature unification to exist).
    ServiceSuite {
        name: "debezium-kafka",
        cargo_args: &[
            "test",
            "-p",
            "cdc-debezium",
            "--features",
            "kafka",
            "--test",
            "kafka_delivery",
            "--test",
            "kafka_control",
            "--test",
            "kafka_undecodable",
            "--test",
            "kafka_offset_reset",
            "--test",
            "kafka_reentrant",
            "--test",
            "kafka_secrets",
            "--test",
            "kafka_heartbeats_history",
        ],
        setup: |_ws| {
            println!("debezium-kafka: the tests start rdkafka's mock cluster in-process");
            Ok(Vec::new())
        },
    },
];

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
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        owned(list)
    }

    #[test]
    fn parses_options() {
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let parsed = parse_options(&args(&["--quick", "--suite", "fmt", "--suite=test"])).unwrap();
        assert!(parsed.quick);
        assert_eq!(parsed.only, ["fmt", "test"]);
        assert_eq!(parsed.timeout, Some(DEFAULT_TIMEOUT));
        assert!(parse_options(&args(&["--suite"])).is_err());
        let unlimited = parse_options(&args(&["--timeout", "0"])).unwrap();
        assert_eq!(unlimited.timeout, None);
        let short = parse_options(&args(&["--timeout", "90"])).unwrap();
        assert_eq!(short.timeout, Some(Duration::from_secs(90)));
        assert!(parse_options(&args(&["--timeout", "soon"])).is_err());
        assert!(parse_options(&args(&["--bogus"])).is_err());
    }

    /// Every cdc-debezium test file that exists only with `kafka` is one of the suite's: a
    /// new one left out would run only when feature unification happens to turn `kafka` on.
    #[test]
    fn every_kafka_test_file_is_in_the_debezium_kafka_suite() {
        let suite = SERVICE_SUITES
            .iter()
            .find(|s| s.name == "debezium-kafka")
            .expect("the debezium-kafka suite");
        let listed: Vec<&str> = suite
            .cargo_args
            .windows(2)
            .filter(|w| w[0] == "--test")
            .map(|w| w[1])
            .collect();
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cdc-debezium/tests");
        let mut gated = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if path.extension().is_some_and(|e| e == "rs")
                && text.contains("#![cfg(feature = \"kafka\")]")
            {
                gated.push(path.file_stem().unwrap().to_string_lossy().into_owned());
            }
        }
        assert!(
            !gated.is_empty(),
            "no kafka test file found in {}",
            dir.display()
        );
        for name in &gated {
            assert!(
                listed.contains(&name.as_str()),
                "{name}.rs is not in the debezium-kafka suite"
            );
        }
    }

    #[test]
    fn suites_run_in_the_documented_order() {
        let names: Vec<&str> = all_suites().iter().map(|s| s.name).collect();
        assert_eq!(&names[..5], ["fmt", "clippy", "test", "features", "deny"]);
        let slow: Vec<&str> = all_suites()
            .iter()
            .filter(|s| s.slow)
            .map(|s| s.name)
            .collect();
        assert_eq!(slow, ["clippy", "features"], "--quick skips exactly these");
    }

    #[test]
    fn summary_lines() {
        let test = Outcome {
            name: "test",
            ok: true,
            counts: Some(TestCounts {
                passed: 312,
                failed: 0,
                ignored: 2,
            }),
            note: None,
            elapsed: Duration::from_millis(41_230),
        };
        assert_eq!(
            test.summary_line(),
            "suite test: ok (312 passed, 0 failed, 2 ignored) in 41.2s"
        );
        let fmt = Outcome {
            name: "fmt",
            ok: true,
            counts: None,
            note: None,
            elapsed: Duration::from_millis(800),
        };
        assert_eq!(fmt.summary_line(), "suite fmt: ok in 0.8s");
        let empty = Outcome {
            name: "dms-moto",
            ok: false,
            counts: Some(TestCounts::default()),
            note: Some("ran no tests".into()),
            elapsed: Duration::from_secs(3),
        };
        assert_eq!(
            empty.summary_line(),
            "suite dms-moto: FAILED (0 passed, 0 failed, 0 ignored; ran no tests) in 3.0s"
        );
    }
}
