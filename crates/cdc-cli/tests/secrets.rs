//! One marker secret in every credential field of every provider, and every output channel
//! of the `cdc` binary grepped for it: `render`, `validate` errors, `run` output, the status
//! file, `status`, and `RUST_LOG=trace` logs. Zero hits. (The `Debug` of every public config
//! type is checked in the workspace's tests/secrets_debug.rs.)
//!
//! The password starts and ends with the marker and holds `/ ? # @ :` in between, so that a
//! mask cut at any of those characters shows a marker.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const MARK: &str = "zq9MARK";
/// The password as typed where nothing parses it as a URL.
const RAW: &str = "zq9MARK/?#@:zq9MARK";
/// The same, percent-encoded, where it sits in a URL's userinfo.
const ENC: &str = "zq9MARK%2F%3F%23%40%3Azq9MARK";

fn cdc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text.replace("RAW", RAW).replace("ENC", ENC)).unwrap();
    p
}

/// Fails naming the channel when `text` holds the marker.
fn assert_clean(channel: &str, text: &str) {
    if let Some(at) = text.find(MARK) {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(120)
            .map_or(0, |(i, _)| i);
        panic!(
            "{channel} shows the secret: ...{}...",
            &text[from..(at + 40).min(text.len())]
        );
    }
}

fn assert_output_clean(channel: &str, out: &Output) {
    assert_clean(
        &format!("{channel} (stdout)"),
        &String::from_utf8_lossy(&out.stdout),
    );
    assert_clean(
        &format!("{channel} (stderr)"),
        &String::from_utf8_lossy(&out.stderr),
    );
}

const ARNS: &str = "source_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:SRC, target_endpoint_arn: arn:aws:dms:eu-west-1:123456789012:endpoint:TGT, replication_instance_arn: arn:aws:dms:eu-west-1:123456789012:rep:INST";

/// Every provider, every credential field (valid: it renders).
fn every_credential_field() -> String {
    format!(
        r#"sources:
  - provider: memory
    source_id: mem
    connection: "postgres://app:RAW@db:5432/shop"
  - provider: debezium
    source_id: dbz
    source_type: postgres
    connection: "http://admin:ENC@connect:8083"
    tables: [public.orders]
    options:
      database: "postgres://dbz:ENC@db:5432/shop"
      auth: {{ basic: {{ username: admin, password: "RAW" }} }}
      signal: {{ table: public.sig, database: "postgres://sig:ENC@db/shop" }}
      connector_config:
        database.url: "jdbc:postgresql://db/shop?user=u&password=ENC"
        aws.secret.access.key: "RAW"
        sasl.jaas.config: "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"RAW\";"
        x.custom.password: "RAW"
        some.callback.url: "https://u:ENC@hooks/x"
  - provider: debezium
    source_id: dbz-bearer
    source_type: mysql
    connection: "https://connect:8083"
    tables: [shop.orders]
    options:
      database: "mysql://dbz:ENC@db:3306/shop"
      auth: {{ bearer: {{ token: "RAW" }} }}
      schema_history: {{ kafka_bootstrap_servers: "broker:9092" }}
  - provider: dms
    source_id: dms
    tables: [public.orders]
    options: {{ {ARNS}, endpoint_url: "http://127.0.0.1:4566" }}
  - provider: bento
    source_id: bento-http
    source_type: postgres
    connection: "postgres://cdc:RAW@db:5432/shop"
    tables: [public.orders]
    options:
      mode: delegated
      env: {{ PGPASSWORD: "RAW", OTHER: "RAW" }}
      output:
        type: http_client
        url: "http://u:ENC@sink:8080/events"
        headers: {{ Authorization: "Bearer RAW", X-Api-Key: "RAW" }}
  - provider: bento
    source_id: bento-nats
    source_type: kafka
    connection: "u:RAW@broker:9092"
    tables: [public.orders]
    options:
      mode: delegated
      output: {{ type: nats, urls: ["nats://u:ENC@nats:4222"], subject: cdc }}
  - provider: bento
    source_id: bento-mysql
    source_type: mysql
    connection: "cdc:RAW@tcp(mysql:3306)/shop"
    tables: [orders]
    options: {{ mode: delegated, flavor: redpanda_connect }}
  - provider: postgres
    source_id: pg
    connection: "postgres://app:ENC@db:5432/shop?sslmode=disable"
    tables: [public.orders]
  - provider: postgres
    source_id: pg-kv
    connection: "host=db port=5432 user=app password='RAW' dbname=shop sslmode=disable"
    tables: [public.orders]
  - provider: bento
    source_id: bento-dynamo
    source_type: dynamodb
    tables: [orders]
    options: {{ mode: delegated, stream_arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/s", endpoint: "http://u:ENC@localstack:4566" }}
"#
    )
}

#[test]
fn render_and_validate_of_every_credential_field_show_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "all.yaml", &every_credential_field());
    let cfg = cfg.to_str().unwrap();
    let out = cdc(&["validate", cfg], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_output_clean("validate", &out);
    let out = cdc(&["render", cfg], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_output_clean("render", &out);
    // The secrets are there to be shown when asked for: the check above is not vacuous.
    let out = cdc(&["render", cfg, "--show-secrets"], dir.path());
    let shown = String::from_utf8_lossy(&out.stdout);
    for source in [
        "# source dbz ",
        "# source bento-http ",
        "# source bento-nats ",
    ] {
        let part = shown.split(source).nth(1).unwrap_or_default();
        let part = part.split("# source ").next().unwrap_or_default();
        assert!(
            part.contains(MARK),
            "--show-secrets: no secret in {source}: {part}"
        );
    }
    let out = cdc(&["status", cfg, "--status-file", "none.json"], dir.path());
    assert_output_clean("status", &out);
}

/// Configs that fail, each in a way whose message could quote a secret.
const BROKEN: &[(&str, &str)] = &[
    (
        "debezium DSN without ://",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres//dbz:RAW@db/shop\" }",
    ),
    (
        "debezium DSN with a bad port",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres://dbz:ENC@db:notaport/shop\" }",
    ),
    (
        "debezium DSN with a raw password",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres://dbz:RAW@db/shop\" }",
    ),
    (
        "connect URL with a bad scheme",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: \"ftp://admin:ENC@connect\"\n    options: { database: \"postgres://d@db/shop\" }",
    ),
    (
        "connect URL that is no URL",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: \"http//admin:RAW@connect\"\n    options: { database: \"postgres://d@db/shop\" }",
    ),
    (
        "unclosed ${ in a password",
        "provider: memory\n    source_id: a\n    connection: \"postgres://u:zq9MARK${zq9MARK@h/db\"",
    ),
    (
        "bad reference in a password",
        "provider: memory\n    source_id: a\n    connection: \"postgres://u:zq9MARK${zq9 MARK}@h/db\"",
    ),
    (
        "unset variable next to a password",
        "provider: memory\n    source_id: a\n    connection: \"postgres://u:zq9MARK${CDC_UNSET_X}@h/db\"",
    ),
    (
        "bearer token as a string",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres://d@db/shop\", auth: { bearer: \"RAW\" } }",
    ),
    (
        "password in the wrong type",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres://d@db/shop\", tasks_max: \"RAW\" }",
    ),
    (
        "memory capacity holding a secret",
        "provider: memory\n    source_id: a\n    options: { capacity: \"RAW\" }",
    ),
    (
        "unknown option next to a secret",
        "provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options: { database: \"postgres://d@db/shop\", passwrd: \"RAW\" }",
    ),
    (
        "DMS endpoint with userinfo",
        "provider: dms\n    source_id: a\n    options: { ARNS, endpoint_url: \"http://u:ENC@127.0.0.1:4566\" }",
    ),
    (
        "DMS endpoint with a bad scheme",
        "provider: dms\n    source_id: a\n    options: { ARNS, endpoint_url: \"ftp://u:RAW@h\" }",
    ),
    (
        "bento output URL with a bad scheme",
        "provider: bento\n    source_id: a\n    source_type: postgres\n    connection: postgres://h/d\n    options: { mode: delegated, output: { type: http_client, url: \"ftp://u:RAW@sink\" } }",
    ),
    (
        "bento header with a control character",
        "provider: bento\n    source_id: a\n    source_type: postgres\n    connection: postgres://h/d\n    options: { mode: delegated, output: { type: http_client, url: \"http://sink\", headers: { Authorization: \"Bearer RAW\\u0001\" } } }",
    ),
    (
        "bento header with ${",
        "provider: bento\n    source_id: a\n    source_type: postgres\n    connection: postgres://h/d\n    options: { mode: delegated, output: { type: http_client, url: \"http://sink\", headers: { Authorization: \"Bearer zq9MARK$${zq9MARK}\" } } }",
    ),
    (
        "postgres DSN with a raw password",
        "provider: postgres\n    source_id: a\n    connection: \"postgres://app:RAW@db:5432/shop\"",
    ),
    (
        "postgres DSN without ://",
        "provider: postgres\n    source_id: a\n    connection: \"postgres//app:RAW@db/shop\"",
    ),
    (
        "postgres key=value with a bad port",
        "provider: postgres\n    source_id: a\n    connection: \"host=db port=RAW user=u password=RAW dbname=d\"",
    ),
    (
        "bento kafka brokers that are not host:port",
        "provider: bento\n    source_id: a\n    source_type: kafka\n    connection: \"u:RAW@tcp(db:3306)/shop\"\n    tables: [public.t]\n    options: { mode: delegated }",
    ),
    (
        "bento DSN with a control character",
        "provider: bento\n    source_id: a\n    source_type: postgres\n    connection: \"postgres://u:RAW\\u0007@h/d\"\n    options: { mode: delegated }",
    ),
];

#[test]
fn validate_errors_never_quote_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (what, source) in BROKEN {
        let text = format!("sources:\n  - {}\n", source.replace("ARNS", ARNS));
        let cfg = write(dir.path(), "broken.yaml", &text);
        let out = cdc(&["validate", cfg.to_str().unwrap()], dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_output_clean(&format!("validate of {what}"), &out);
    }
    // A YAML syntax error on the line holding the password.
    let cfg = write(
        dir.path(),
        "syntax.yaml",
        "sources:\n  - provider: memory\n    source_id: a\n    connection: \"postgres://u:RAW@h/db\n    x: [\n",
    );
    let out = cdc(&["validate", cfg.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax.yaml:4"));
    assert_output_clean("validate of a YAML syntax error", &out);

    // A secret from the environment in a setting that is not a credential (a mistake):
    // the error shows the reference as written, never what it brought.
    for setting in [
        "log_format: ${CDC_TEST_SECRET}",
        "status_file: \"${CDC_TEST_EMPTY}\"",
        "metrics_interval_secs: ${CDC_TEST_SECRET}",
        "http: { listen: \"${CDC_TEST_SECRET}\" }",
        "http: { allow_remote: \"${CDC_TEST_SECRET}\" }",
    ] {
        let cfg = write(
            dir.path(),
            "settings.yaml",
            &format!("sources:\n  - provider: memory\n    source_id: a\nsettings:\n  {setting}\n"),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_cdc"))
            .args(["validate", cfg.to_str().unwrap()])
            .env("CDC_TEST_SECRET", RAW)
            .env("CDC_TEST_EMPTY", "")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{setting}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("settings."), "{setting}: {stderr}");
        assert_output_clean(&format!("validate of {setting}"), &out);
    }
    // The same for a source's provider name.
    let cfg = write(
        dir.path(),
        "provider.yaml",
        "sources:\n  - provider: ${CDC_TEST_SECRET}\n    source_id: a\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(["validate", cfg.to_str().unwrap()])
        .env("CDC_TEST_SECRET", RAW)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown provider \"${CDC_TEST_SECRET}\""),
        "{stderr}"
    );
    assert_output_clean("validate of a provider from the environment", &out);
}

#[test]
fn run_output_status_file_status_and_trace_logs_show_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ev.jsonl"),
        "{\"op\": \"INSERT\", \"table\": \"public.orders\", \"after\": {\"id\": 1}}\n",
    )
    .unwrap();
    let text = r#"sources:
  - provider: memory
    source_id: mem
    connection: "postgres://app:RAW@db:5432/shop"
    options: { events_file: ev.jsonl }
  - provider: bento
    source_id: bento-http
    source_type: postgres
    connection: "postgres://cdc:RAW@db:5432/shop"
    tables: [public.orders]
    options:
      mode: delegated
      env: { PGPASSWORD: "RAW" }
      output: { type: http_client, url: "http://u:ENC@sink:8080/e", headers: { Authorization: "Bearer RAW" } }
triggers:
  - name: all
    source_id: mem
    steps:
      - { type: step.cdc_status, name: bento, config: { source_id: bento-http } }
      - { type: step.cdc_start, name: more, config: { source_id: more, provider: memory, connection: "postgres://x:RAW@db/shop" } }
      - { type: step.cdc_status, name: more-status, config: { source_id: more } }
      - { type: step.cdc_start, name: broken, config: { source_id: broken, provider: debezium, source_type: postgres, connection: "ftp://x:ENC@h", options: { database: "postgres://d:ENC@db/x" } } }
settings: { metrics_interval_secs: 0, status_file: status.json }
"#;
    let cfg = write(dir.path(), "run.yaml", text);
    let cfg = cfg.to_str().unwrap();
    for format in ["json", "text"] {
        // A Bento source runs until a signal: stop the run once the event's last step shows.
        let mut child = Command::new(env!("CARGO_BIN_EXE_cdc"))
            .args(["run", cfg, "--output", format])
            .current_dir(dir.path())
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut { stderr }, &mut s).unwrap();
            s
        });
        let mut stdout = String::new();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            stdout.push_str(&line);
            // The last step fails (its connection has a bad scheme): its error is the end.
            let last_step = line.contains("broken");
            line.clear();
            if last_step {
                break;
            }
        }
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        std::io::Read::read_to_string(&mut reader, &mut stdout).unwrap();
        let code = child.wait().unwrap();
        let logs = logs.join().unwrap();
        assert!(code.success(), "{logs}");
        assert!(
            stdout.contains("more-status") && stdout.contains("broken"),
            "{stdout}"
        );
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "trace logs were on"
        );
        assert_clean(&format!("run --output {format} (stdout)"), &stdout);
        assert_clean(&format!("run --output {format} (logs)"), &logs);
        let status = std::fs::read_to_string(dir.path().join("status.json")).unwrap();
        assert_clean("the status file", &status);
        for output in ["json", "text"] {
            let out = cdc(&["status", cfg, "--output", output], dir.path());
            assert_output_clean(&format!("status --output {output}"), &out);
        }
    }
}

#[test]
fn a_provider_that_fails_to_start_logs_no_secret() {
    // Kafka Connect on a loopback port nobody listens on, with every credential set.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "sources:\n  - provider: debezium\n    source_id: dbz\n    source_type: postgres\n    connection: \"http://admin:ENC@127.0.0.1:{port}\"\n    tables: [public.orders]\n    options:\n      database: \"postgres://dbz:ENC@db:5432/shop\"\n      auth: {{ basic: {{ username: admin, password: \"RAW\" }} }}\n      retry: {{ max_attempts: 2, initial_backoff_ms: 1, max_backoff_ms: 1 }}\nsettings: {{ status_file: status.json }}\n"
    );
    let cfg = write(dir.path(), "dbz.yaml", &text);
    let out = cdc(&["run", cfg.to_str().unwrap()], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_output_clean("a failed Debezium start", &out);

    // DMS on a dead endpoint, one attempt, AWS credentials (key and session token) from the
    // environment: the SDK's own trace logs must not show them either.
    let text = format!(
        "sources:\n  - provider: dms\n    source_id: dms\n    tables: [public.orders]\n    options: {{ {ARNS}, region: eu-west-1, endpoint_url: \"http://127.0.0.1:{port}\", max_attempts: 1 }}\nsettings: {{ status_file: status.json }}\n"
    );
    let cfg = write(dir.path(), "dms.yaml", &text);
    let out = Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args(["run", cfg.to_str().unwrap()])
        .current_dir(dir.path())
        .env("RUST_LOG", "trace")
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", RAW)
        .env("AWS_SESSION_TOKEN", RAW)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_output_clean("a failed DMS start", &out);
}
