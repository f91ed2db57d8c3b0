//! The `cdc` binary, run for real: every subcommand, every example, bad files, signals.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The binary, with an environment that does not leak the caller's secrets into examples.
fn cdc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cdc"));
    for var in ["DB_PASSWORD", "KAFKA_CONNECT_URL", "RUST_LOG"] {
        c.env_remove(var);
    }
    c
}

fn run(args: &[&str]) -> Output {
    cdc().args(args).output().expect("run cdc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn example(name: &str) -> String {
    examples().join(name).display().to_string()
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn every_example_validates() {
    for name in [
        "quickstart.yaml",
        "postgres.yaml",
        "debezium.yaml",
        "dms.yaml",
        "bento.yaml",
    ] {
        let out = run(&["validate", &example(name)]);
        assert!(
            out.status.success(),
            "{name}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains(": ok ("), "{name}");
    }
}

#[test]
fn every_example_renders_its_native_config_with_secrets_masked() {
    let out = run(&["render", &example("debezium.yaml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("# source shop-db (provider debezium)"), "{s}");
    let body: String = s.lines().filter(|l| !l.starts_with('#')).collect();
    let connector: Value = serde_json::from_str(&body).expect("connector JSON");
    assert_eq!(
        connector["connector.class"],
        "io.debezium.connector.postgresql.PostgresConnector"
    );
    assert_eq!(
        connector["table.include.list"],
        "public\\.orders,public\\.customers"
    );
    assert!(!s.contains("change-me"), "password not masked: {s}");
    let out = run(&["render", &example("debezium.yaml"), "--show-secrets"]);
    assert!(text(&out.stdout).contains("change-me"));
    // ${VAR} from the environment reaches the rendered config
    let out = cdc()
        .args(["render", &example("debezium.yaml"), "--show-secrets"])
        .env("DB_PASSWORD", "from-env-42")
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("from-env-42"));

    let out = run(&["render", &example("dms.yaml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let body: String = s.lines().filter(|l| !l.starts_with('#')).collect();
    let req: Value = serde_json::from_str(&body).expect("request JSON");
    assert_eq!(req["MigrationType"], "full-load-and-cdc");
    assert_eq!(
        req["SourceEndpointArn"],
        "arn:aws:dms:eu-west-1:123456789012:endpoint:SRC"
    );
    let mappings: Value = serde_json::from_str(req["TableMappings"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = mappings["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["object-locator"]["table-name"].as_str())
        .collect();
    assert_eq!(names, ["orders", "customers"], "{mappings}");

    let out = run(&["render", &example("bento.yaml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("pg_logical_slot"), "{s}");
    assert!(s.contains("http_client"), "{s}");
    assert!(!s.contains("change-me"), "{s}");

    let out = cdc()
        .args(["render", &example("postgres.yaml")])
        .env("PG_DSN", "postgres://cdc:pg-Secret%2F9@db:5432/shop")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("CREATE PUBLICATION \"cdc_shop\" FOR TABLE \"public\".\"orders\""),
        "{s}"
    );
    assert!(
        s.contains("CREATE_REPLICATION_SLOT cdc_shop LOGICAL pgoutput (SNAPSHOT 'export')"),
        "{s}"
    );
    assert!(!s.contains("pg-Secret"), "password not masked: {s}");
    // A malformed connection string (an unencoded '/' in the password) is an error that
    // shows no part of it.
    let out = cdc()
        .args(["validate", &example("postgres.yaml")])
        .env("PG_DSN", "postgres://cdc:pg-Secret/9@db:5432/shop")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stdout) + &text(&out.stderr);
    assert!(e.contains("connection") && !e.contains("Secret"), "{e}");

    let out = run(&["render", &example("quickstart.yaml"), "--source", "shop-db"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("quickstart-events.jsonl"));
    let out = run(&[
        "render",
        &example("quickstart.yaml"),
        "--source",
        "shop-dbb",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `shop-db`?"),
        "{}",
        text(&out.stderr)
    );
}

fn records_of<'a>(records: &'a [Value], trigger: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["trigger"] == trigger).collect()
}

#[test]
fn run_quickstart_prints_events_and_step_outputs_in_order_and_exits_0_at_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let status = status.to_str().unwrap();
    let out = run(&[
        "run",
        &example("quickstart.yaml"),
        "--output",
        "json",
        "--status-file",
        status,
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records = json_lines(&text(&out.stdout));

    // new-orders: INSERTs on public.orders, each followed by its two steps
    let orders = records_of(&records, "new-orders");
    let shape: Vec<(String, String)> = orders
        .iter()
        .map(|r| {
            let kind = r["kind"].as_str().unwrap().to_owned();
            let what = match kind.as_str() {
                "event" => format!(
                    "{} {} {}",
                    r["event"]["op"].as_str().unwrap(),
                    r["event"]["table"].as_str().unwrap(),
                    r["event"]["after"]["id"]
                ),
                _ => r["step"].as_str().unwrap().to_owned(),
            };
            (kind, what)
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("event", "INSERT public.orders 100"),
        ("step", "status"),
        ("step", "lag"),
        ("event", "INSERT public.orders 101"),
        ("step", "status"),
        ("step", "lag"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(shape, expected, "{records:#?}");
    // step outputs: the status step sees the running source, the lag step got its
    // source_id from the status step's output
    assert_eq!(orders[1]["output"]["state"], "running");
    assert_eq!(orders[1]["type"], "step.cdc_status");
    assert_eq!(orders[2]["output"]["source_id"], "shop-db");
    assert_eq!(orders[2]["output"]["status"], "healthy");

    // customer-changes: UPDATE then DELETE of customers, no steps
    let customers = records_of(&records, "customer-changes");
    let ops: Vec<(&str, &str)> = customers
        .iter()
        .map(|r| {
            (
                r["event"]["op"].as_str().unwrap(),
                r["event"]["table"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("UPDATE", "public.customers"),
            ("DELETE", "public.customers")
        ]
    );
    assert_eq!(records.len(), 8, "no other record: {records:#?}");
    assert!(stderr.contains("6 event(s) read, 6 delivered"), "{stderr}");

    // status of the finished run, from the status file it wrote
    let out = run(&[
        "status",
        &example("quickstart.yaml"),
        "--status-file",
        status,
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["run"]["running"], false);
    assert_eq!(v["sources"][0]["source_id"], "shop-db");
    assert_eq!(v["sources"][0]["state"], "running");
    assert_eq!(v["sources"][0]["events"], 6);
    assert!(v["sources"][0]["last_event"].is_string(), "{v}");
    let out = run(&[
        "status",
        &example("quickstart.yaml"),
        "--status-file",
        status,
        "--output",
        "text",
    ]);
    let s = text(&out.stdout);
    assert!(
        s.lines()
            .any(|l| l.starts_with("shop-db") && l.contains("memory") && l.contains("running")),
        "{s}"
    );
}

#[test]
fn run_text_output_is_one_readable_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("s.json");
    let out = run(&[
        "run",
        &example("quickstart.yaml"),
        "--output",
        "text",
        "--status-file",
        status.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(
        s.lines()
            .any(|l| l.starts_with("[new-orders] shop-db INSERT public.orders {")),
        "{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.starts_with("[new-orders]   step lag (step.cdc_backpressure): {")),
        "{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.starts_with("[customer-changes] shop-db DELETE public.customers {")),
        "{s}"
    );
}

#[test]
fn status_before_any_run_says_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("none.json");
    let out = run(&[
        "status",
        &example("dms.yaml"),
        "--status-file",
        status.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["run"], Value::Null);
    assert_eq!(v["sources"][0]["source_id"], "orders");
    assert_eq!(v["sources"][0]["state"], "not_running");
}

#[test]
fn steps_lists_types_and_schemas() {
    let out = run(&["steps"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    for t in [
        "step.cdc_start",
        "step.cdc_stop",
        "step.cdc_status",
        "step.cdc_snapshot",
        "step.cdc_schema_history",
        "step.cdc_backpressure",
        "step.cdc_monitor",
    ] {
        assert!(s.contains(t), "{t} missing: {s}");
    }
    // usage errors exit 2
    assert_eq!(run(&["run"]).status.code(), Some(2));
    assert_eq!(run(&["bogus"]).status.code(), Some(2));
    let out = run(&["validate", "/no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the config file"));
    let out = run(&["steps", "--schema"]);
    let v: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        v["step.cdc_status"]["config"]["source_id"]["required"],
        true
    );
    assert!(v["step.cdc_backpressure"]["config"]["action"]["options"].is_array());
}

/// Writes `yaml` to a file and runs `cdc validate` on it.
fn validate_text(yaml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = cdc()
        .args(["validate", path.to_str().unwrap()])
        .env_remove("CDC_TEST_UNSET_VAR")
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn bad_files_exit_2_naming_the_problem_and_its_line() {
    let (code, err) = validate_text("sources:\n  - provider: memory\n    source_id: [oops\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("YAML syntax error"), "{err}");
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("bad.yaml:3:") || l.contains("bad.yaml:4:")),
        "no line number: {err}"
    );

    let (code, err) = validate_text("sources:\n  - provider: debezum\n    source_id: a\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.yaml:2: sources[0] (\"a\").provider: unknown provider \"debezum\"; did you mean `debezium`?"), "{err}");

    let (code, err) = validate_text(
        "sources:\n  - provider: memory\n    source_id: a\ntriggers:\n  - tables: [orders]\n",
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.yaml:5: triggers[0].source_id: is required"),
        "{err}"
    );

    let (code, err) = validate_text(
        "sources:\n  - provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options:\n      database: postgres://u:${CDC_TEST_UNSET_VAR}@db/x\n",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.yaml:7:"), "{err}");
    assert!(
        err.contains("environment variable CDC_TEST_UNSET_VAR is not set"),
        "{err}"
    );

    let (code, err) =
        validate_text("sources:\n  - provider: memory\n    source_id: a\n    tabels: [orders]\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.yaml:4: sources[0]: unknown key `tabels`; did you mean `tables`?"),
        "{err}"
    );
}

#[test]
fn validate_reports_every_problem_at_once() {
    let (code, err) = validate_text(concat!(
        "sources:\n",
        "  - provider: memory\n",
        "    source_id: a\n",
        "    options: { capacty: 3 }\n",
        "triggers:\n",
        "  - source_id: c\n",
        "    actoins: [INSERT]\n",
        "    steps:\n",
        "      - type: step.cdc_stauts\n",
        "        name: s\n",
        "      - type: step.cdc_status\n",
        "        name: t\n",
        "        config: { source_id: \"${steps.nope.x}\", sourceid: a }\n",
        "setings: {}\n",
    ));
    assert_eq!(code, Some(2));
    // each problem once: the unknown option is not repeated by the provider's own check
    assert_eq!(err.matches("capacty").count(), 1, "{err}");
    for needle in [
        "unknown key `setings`; did you mean `settings`?",
        "unknown key `capacty`; did you mean `capacity`?",
        "unknown key `actoins`; did you mean `actions`?",
        "triggers[0].source_id: \"c\" is not a source of this file; sources: a",
        "unknown step type \"step.cdc_stauts\"; did you mean `step.cdc_status`?",
        "unknown key `sourceid`; did you mean `source_id`?",
        "refers to step \"nope\"",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

/// A config reading events from stdin, with one trigger and no steps.
fn stdin_config(dir: &Path) -> PathBuf {
    let path = dir.join("stdin.yaml");
    std::fs::write(
        &path,
        "sources:\n  - provider: memory\n    source_id: s\n    options: { events_file: \"-\", capacity: 4 }\ntriggers:\n  - name: all\n    source_id: s\nsettings: { metrics_interval_secs: 0 }\n",
    )
    .unwrap();
    path
}

fn event_line(i: usize) -> String {
    format!("{{\"op\": \"INSERT\", \"table\": \"public.t\", \"after\": {{\"id\": {i}}}}}\n")
}

#[test]
fn sigterm_during_run_exits_0_without_losing_an_event_read() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = tempfile::tempdir().unwrap();
    let cfg = stdin_config(dir.path());
    let status = dir.path().join("status.json");
    let mut child = cdc()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--status-file",
        ])
        .arg(&status)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Many events, stdin kept open: the run can only end by the signal.
    let all: String = (1..=3000).map(event_line).collect();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(all.as_bytes());
        // keep stdin open until the process is gone
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(stdin);
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"kind\":\"event\""), "{first}");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status_code = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status_code.success(), "exit {status_code:?}: {stderr}");
    assert!(stderr.contains("stopping (SIGTERM)"), "{stderr}");

    let records = json_lines(&format!("{first}{rest}"));
    let ids: Vec<i64> = records
        .iter()
        .map(|r| r["event"]["after"]["id"].as_i64().unwrap())
        .collect();
    // every event read was delivered, in input order, with no gap
    let expected: Vec<i64> = (1..=ids.len() as i64).collect();
    assert_eq!(ids, expected);
    let read_line = stderr
        .lines()
        .find(|l| l.contains("event(s) read"))
        .unwrap_or_else(|| panic!("no final report: {stderr}"));
    assert!(
        read_line.contains(&format!(
            "s: {} event(s) read, {} delivered",
            ids.len(),
            ids.len()
        )),
        "{read_line} vs {} printed",
        ids.len()
    );
    drop(writer);
}

#[test]
fn stdin_input_ends_the_run_at_eof_and_bad_lines_name_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = stdin_config(dir.path());
    let mut child = cdc()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--status-file",
        ])
        .arg(dir.path().join("st.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(event_line(1).as_bytes()).unwrap();
        stdin
            .write_all(b"{\"op\": \"MERGE\", \"table\": \"t\"}\n")
            .unwrap();
        stdin.write_all(event_line(3).as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let ids: Vec<i64> = json_lines(&text(&out.stdout))
        .iter()
        .map(|r| r["event"]["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3]);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("stopping (end of input)"), "{stderr}");
}

#[test]
fn a_source_that_cannot_start_is_a_runtime_failure_exit_1() {
    // Kafka Connect on a loopback port nobody listens on, retries off.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dbz.yaml");
    std::fs::write(
        &path,
        format!(
            "sources:\n  - provider: debezium\n    source_id: shop-db\n    source_type: postgres\n    connection: http://127.0.0.1:{port}\n    tables: [public.orders]\n    options:\n      database: postgres://u:p@db:5432/shop\n      retry: {{ max_attempts: 1 }}\n"
        ),
    )
    .unwrap();
    let out = run(&["validate", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&[
        "run",
        path.to_str().unwrap(),
        "--status-file",
        dir.path().join("s.json").to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("source \"shop-db\" (provider debezium) failed to start"),
        "{err}"
    );
}

#[test]
fn log_format_json_writes_json_log_lines_filtered_by_rust_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = cdc()
        .args([
            "--log-format",
            "json",
            "run",
            &example("quickstart.yaml"),
            "--output",
            "json",
        ])
        .arg("--status-file")
        .arg(dir.path().join("s.json"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success());
    let logs: Vec<Value> = text(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "source started" && l["level"] == "INFO"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn periodic_summary_reports_rate_lag_and_snapshot_progress() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = stdin_config(dir.path());
    let mut child = cdc()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--metrics-interval",
            "1",
        ])
        .arg("--status-file")
        .arg(dir.path().join("s.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 1..=3 {
        stdin
            .write_all(
                format!(
                    "{{\"op\": \"r\", \"table\": \"public.items\", \"after\": {{\"id\": {i}}}}}\n"
                )
                .as_bytes(),
            )
            .unwrap();
    }
    stdin.flush().unwrap();
    // Wait (without a deadline assertion) for the summary, then end the input.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push(std::mem::take(&mut line));
        // the summary that has seen all three rows (an earlier one may have seen fewer)
        if seen.last().unwrap().contains("public.items 3 rows") {
            break;
        }
    }
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let all = seen.concat();
    let summary = seen
        .iter()
        .rev()
        .find(|l| l.starts_with("cdc: s: running,"))
        .unwrap_or_else(|| panic!("no summary line: {all}"));
    assert!(
        summary.contains("3 events total") && summary.contains("events/s, lag unknown"),
        "{summary}"
    );
    // tables, rows done (no estimate from a memory source), rows/s, then per table
    let snapshot = seen
        .iter()
        .find(|l| l.contains("public.items 3 rows"))
        .unwrap();
    assert!(
        snapshot.starts_with("cdc: s: snapshot: 1 table(s), 3 rows, ")
            && snapshot.contains(" rows/s: public.items 3 rows"),
        "{all}"
    );
}

#[test]
fn status_of_a_live_run_shows_it_running() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = stdin_config(dir.path());
    let status = dir.path().join("live.json");
    let mut child = cdc()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--status-file",
        ])
        .arg(&status)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(event_line(1).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"id\":1"), "{first}");
    let out = run(&[
        "status",
        cfg.to_str().unwrap(),
        "--status-file",
        status.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let v: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["run"]["running"], true, "{v}");
    assert_eq!(v["run"]["pid"], child.id());
    assert_eq!(v["sources"][0]["state"], "running");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let out = run(&[
        "status",
        cfg.to_str().unwrap(),
        "--status-file",
        status.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let v: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["run"]["running"], false, "{v}");
    assert_eq!(v["sources"][0]["events"], 1);
}
