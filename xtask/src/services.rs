//! The service-backed suites of `cargo xtask test`: what each prepares and runs.

use crate::Result;
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
