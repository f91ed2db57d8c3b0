//! Hostile config files: `cdc validate` and `cdc run` both refuse each with exit 2, naming the
//! field and the line.

use super::{Expect, check, report, run_cdc, write};

/// A config case: its name, the file's bytes, and what `validate` must say.
struct Case {
    name: &'static str,
    text: Vec<u8>,
    expect: Expect,
}

fn rejected(
    name: &'static str,
    text: impl Into<Vec<u8>>,
    line: Option<usize>,
    needles: &'static [&'static str],
) -> Case {
    Case {
        name,
        text: text.into(),
        expect: Expect::Rejected { line, needles },
    }
}

/// `sources:` with one memory source `a` whose `options` are `opts` (line 4).
fn memory(opts: &str) -> String {
    format!("sources:\n  - provider: memory\n    source_id: a\n    options: {{ {opts} }}\n")
}

/// One source of `provider` with the given body lines (the first body line is line 3).
fn source(provider: &str, body: &str) -> String {
    format!("sources:\n  - provider: {provider}\n{body}")
}

const DMS_ARNS: &str = "source_endpoint_arn: arn:aws:dms:eu-west-1:1:endpoint:S, target_endpoint_arn: arn:aws:dms:eu-west-1:1:endpoint:T, replication_instance_arn: arn:aws:dms:eu-west-1:1:rep:I";

fn alias_bomb() -> String {
    let mut s = String::from(
        "sources:\n  - provider: memory\n    source_id: a\nx:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n",
    );
    let mut prev = "a".to_owned();
    for i in 0..9 {
        s.push_str(&format!(
            "  l{i}: &l{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = format!("l{i}");
    }
    s
}

fn cases() -> Vec<Case> {
    let dbz = "    source_id: d\n    source_type: postgres\n    connection: http://connect:8083\n";
    let db = "      database: postgres://u:p@db:5432/shop\n";
    vec![
        // --- YAML itself
        rejected(
            "unclosed quote",
            "sources:\n  - provider: memory\n    source_id: \"a\n",
            Some(3),
            &["YAML syntax error"],
        ),
        rejected(
            "unclosed bracket",
            "sources: [\n  { provider: memory, source_id: a }\n",
            Some(1),
            &["YAML syntax error"],
        ),
        rejected(
            "tab indentation",
            "sources:\n\t- provider: memory\n",
            Some(2),
            &["YAML syntax error", "tab"],
        ),
        rejected(
            "duplicate key",
            "sources: []\nsources: []\n",
            Some(2),
            &["duplicate"],
        ),
        rejected(
            "alias bomb",
            alias_bomb(),
            None,
            &["YAML syntax error", "alias"],
        ),
        rejected(
            "deep flow nesting",
            memory(&format!("capacity: {}{}", "[".repeat(300), "]".repeat(300))),
            Some(4),
            &["YAML syntax error"],
        ),
        rejected(
            "deep block nesting",
            format!(
                "{}x:\n{}",
                memory(""),
                (0..100)
                    .map(|i| format!("{}k{i}:\n", "  ".repeat(i + 1)))
                    .collect::<String>()
            ),
            None,
            &["YAML syntax error"],
        ),
        rejected(
            "a file over 4 MiB",
            format!("{}# {}\n", memory(""), "x".repeat(5 << 20)),
            None,
            &["larger than 4 MiB"],
        ),
        rejected(
            "invalid UTF-8",
            b"sources:\n  - provider: memory\n    source_id: \xff\xfe\n".to_vec(),
            Some(3),
            &["not UTF-8"],
        ),
        rejected(
            "a NUL byte",
            b"sources:\n  - provider: memory\n    source_id: a\x00b\n".to_vec(),
            Some(3),
            &["YAML syntax error"],
        ),
        rejected("an empty file", "", None, &["empty"]),
        rejected("only comments", "# nothing\n# here\n", None, &["empty"]),
        rejected(
            "a list at the top",
            "- provider: memory\n",
            Some(1),
            &["config file: must be a map"],
        ),
        rejected(
            "a huge float",
            memory("capacity: 1e999999"),
            Some(4),
            &["YAML syntax error", "non-finite"],
        ),
        // --- keys and types
        rejected(
            "unknown top-level key",
            format!("{}triggerz: []\n", memory("")),
            Some(5),
            &["unknown key `triggerz`", "did you mean `triggers`"],
        ),
        rejected(
            "unknown source key",
            "sources:\n  - provider: memory\n    source_id: a\n    tabels: [t]\n",
            Some(4),
            &["sources[0]: unknown key `tabels`"],
        ),
        rejected(
            "unknown memory option",
            memory("capcity: 3"),
            Some(4),
            &["unknown key `capcity`"],
        ),
        rejected(
            "unknown debezium option",
            source(
                "debezium",
                &format!("{dbz}    options:\n{db}      bogus: 1\n"),
            ),
            Some(6),
            &["bogus"],
        ),
        rejected(
            "source_id as a list",
            "sources:\n  - provider: memory\n    source_id: [a]\n",
            Some(3),
            &["sources[0].source_id"],
        ),
        rejected(
            "tables as a string",
            "sources:\n  - provider: memory\n    source_id: a\n    tables: public.t\n",
            Some(4),
            &["sources[0].tables"],
        ),
        rejected(
            "capacity as a string",
            memory("capacity: lots"),
            Some(4),
            &["options.capacity"],
        ),
        rejected(
            "a YAML 1.1 boolean",
            memory("start_paused: yes"),
            Some(4),
            &["start_paused"],
        ),
        // --- empty and malformed values
        rejected(
            "empty source_id",
            "sources:\n  - provider: memory\n    source_id: \"\"\n",
            Some(3),
            &["source_id: is required"],
        ),
        rejected(
            "source_id with a space",
            "sources:\n  - provider: memory\n    source_id: a b\n",
            Some(3),
            &["source_id", "contains ' '"],
        ),
        rejected(
            "source_id of 200 characters",
            format!(
                "sources:\n  - provider: memory\n    source_id: {}\n",
                "a".repeat(200)
            ),
            Some(3),
            &["source_id", "at most 128"],
        ),
        rejected(
            "empty provider",
            "sources:\n  - provider: \"\"\n    source_id: a\n",
            Some(2),
            &["provider: is required"],
        ),
        rejected(
            "unknown provider",
            "sources:\n  - provider: kafkaa\n    source_id: a\n",
            Some(2),
            &["unknown provider \"kafkaa\""],
        ),
        rejected(
            "the same source twice",
            "sources:\n  - { provider: memory, source_id: a }\n  - { provider: memory, source_id: a }\n",
            Some(3),
            &["defined twice"],
        ),
        rejected(
            "an empty table name",
            "sources:\n  - provider: memory\n    source_id: a\n    tables: [\"\"]\n",
            Some(4),
            &["tables[0]", "empty"],
        ),
        rejected(
            "a table name with a quote",
            "sources:\n  - provider: memory\n    source_id: a\n    tables: [\"o'brien\"]\n",
            Some(4),
            &["tables[0]"],
        ),
        rejected(
            "a missing events file",
            memory("events_file: /no/such/file.jsonl"),
            Some(4),
            &["options.events_file", "not a readable file"],
        ),
        rejected(
            "a missing env variable",
            "sources:\n  - provider: memory\n    source_id: a\n    connection: postgres://u:${CDC_HOSTILE_UNSET}@h/db\n",
            Some(4),
            &["sources[0].connection", "CDC_HOSTILE_UNSET is not set"],
        ),
        rejected(
            "an unclosed ${",
            "sources:\n  - provider: memory\n    source_id: a\n    connection: postgres://u:${PW@h/db\n",
            Some(4),
            &["sources[0].connection", "unclosed"],
        ),
        // --- numbers out of range
        rejected(
            "capacity 0",
            memory("capacity: 0"),
            Some(4),
            &["options.capacity", "1..=1000000"],
        ),
        rejected(
            "capacity u64::MAX",
            memory("capacity: 18446744073709551615"),
            Some(4),
            &["options.capacity"],
        ),
        rejected(
            "capacity 10^12",
            memory("capacity: 1000000000000"),
            Some(4),
            &["options.capacity", "1..=1000000"],
        ),
        rejected(
            "capacity negative",
            memory("capacity: -5"),
            Some(4),
            &["options.capacity"],
        ),
        rejected(
            "capacity 1.5",
            memory("capacity: 1.5"),
            Some(4),
            &["options.capacity"],
        ),
        rejected(
            "max_line_bytes 1 TiB",
            memory("max_line_bytes: 1099511627776"),
            Some(4),
            &["options.max_line_bytes"],
        ),
        rejected(
            "metrics interval u64::MAX",
            format!(
                "{}settings: {{ metrics_interval_secs: 18446744073709551615 }}\n",
                memory("")
            ),
            Some(5),
            &["settings.metrics_interval_secs", "0..=86400"],
        ),
        rejected(
            "metrics interval negative",
            format!("{}settings: {{ metrics_interval_secs: -1 }}\n", memory("")),
            Some(5),
            &["settings.metrics_interval_secs"],
        ),
        rejected(
            "shutdown timeout 0",
            format!("{}settings: {{ shutdown_timeout_secs: 0 }}\n", memory("")),
            Some(5),
            &["settings.shutdown_timeout_secs"],
        ),
        rejected(
            "debezium tasks_max 0",
            source(
                "debezium",
                &format!("{dbz}    options:\n{db}      tasks_max: 0\n"),
            ),
            Some(6),
            &["options.tasks_max"],
        ),
        rejected(
            "debezium timeout u64::MAX",
            source(
                "debezium",
                &format!("{dbz}    options:\n{db}      request_timeout_ms: 18446744073709551615\n"),
            ),
            Some(6),
            &["options.request_timeout_ms"],
        ),
        rejected(
            "dms ready timeout u64::MAX",
            source(
                "dms",
                &format!(
                    "    source_id: d\n    options: {{ {DMS_ARNS}, ready_timeout_secs: 18446744073709551615 }}\n"
                ),
            ),
            Some(4),
            &["options.ready_timeout_secs"],
        ),
        rejected(
            "bento poll interval of centuries",
            source(
                "bento",
                "    source_id: b\n    source_type: postgres\n    connection: postgres://h/d\n    options: { mode: delegated, poll_interval: 99999999999h }\n",
            ),
            Some(6),
            &["options.poll_interval"],
        ),
        // --- table names that would widen the capture, per provider
        rejected(
            "debezium table with a comma",
            source(
                "debezium",
                &format!("{dbz}    tables: [\"a,.*\"]\n    options:\n{db}"),
            ),
            Some(6),
            &["tables[0]", "cannot be a table name"],
        ),
        rejected(
            "debezium table with ${file:}",
            source(
                "debezium",
                &format!(
                    "{dbz}    tables: [\"$${{file:/etc/kafka/secrets:pw}}\"]\n    options:\n{db}"
                ),
            ),
            Some(6),
            &["tables[0]", "config-provider"],
        ),
        rejected(
            "dms table with %",
            source(
                "dms",
                &format!(
                    "    source_id: d\n    tables: [\"public.%\"]\n    options: {{ {DMS_ARNS} }}\n"
                ),
            ),
            Some(4),
            &["tables[0]", "wildcard"],
        ),
        rejected(
            "bento table with ${",
            source(
                "bento",
                "    source_id: b\n    source_type: postgres\n    connection: postgres://h/d\n    tables: [\"public.$${HOME}\"]\n    options: { mode: delegated }\n",
            ),
            Some(6),
            &["tables[0]"],
        ),
        rejected(
            "postgres table of 64 bytes",
            source(
                "postgres",
                &format!(
                    "    source_id: p\n    connection: postgres://u@db/shop\n    tables: [public.{}]\n",
                    "t".repeat(64)
                ),
            ),
            Some(5),
            &["tables[0]"],
        ),
        // --- triggers and steps
        rejected(
            "trigger on an unknown source",
            format!("{}triggers:\n  - source_id: nope\n", memory("")),
            Some(6),
            &["triggers[0].source_id", "not a source of this file"],
        ),
        rejected(
            "unknown step type",
            format!(
                "{}triggers:\n  - source_id: a\n    steps:\n      - {{ type: step.cdc_stauts, name: s }}\n",
                memory("")
            ),
            Some(8),
            &[
                "triggers[0].steps[0].type",
                "did you mean `step.cdc_status`",
            ],
        ),
        rejected(
            "a reference to a later step",
            format!(
                "{}triggers:\n  - source_id: a\n    steps:\n      - {{ type: step.cdc_status, name: s, config: {{ source_id: \"${{steps.later.x}}\" }} }}\n",
                memory("")
            ),
            Some(8),
            &["triggers[0].steps[0].config", "later"],
        ),
        rejected(
            "bad log format",
            format!("{}settings: {{ log_format: xml }}\n", memory("")),
            Some(5),
            &["settings.log_format"],
        ),
    ]
}

#[test]
fn hostile_configs_are_refused_by_validate_naming_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let all = cases();
    assert!(
        all.len() >= 40,
        "the suite holds {} config cases",
        all.len()
    );
    let mut failures = Vec::new();
    for (i, case) in all.iter().enumerate() {
        let name = format!("case{i}.yaml");
        let path = write(dir.path(), &name, &case.text);
        let ran = run_cdc(dir.path(), &["validate", path.to_str().unwrap()], None);
        let file = path.display().to_string();
        if let Err(e) = check(case.name, &file, &ran, &case.expect) {
            failures.push(e);
        }
    }
    report("config", all.len(), failures);
}

#[test]
fn run_refuses_what_validate_refuses_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let all = cases();
    // Every fourth case is enough to show that run loads the file the same way.
    for (i, case) in all.iter().enumerate().step_by(4) {
        let name = format!("run{i}.yaml");
        let path = write(dir.path(), &name, &case.text);
        let status = dir.path().join(format!("status{i}.json"));
        let ran = run_cdc(
            dir.path(),
            &[
                "run",
                path.to_str().unwrap(),
                "--status-file",
                status.to_str().unwrap(),
            ],
            None,
        );
        let file = path.display().to_string();
        if let Err(e) = check(case.name, &file, &ran, &case.expect) {
            failures.push(e);
        }
        if !ran.stdout.is_empty() {
            failures.push(format!(
                "{}: run printed records: {}",
                case.name, ran.stdout
            ));
        }
    }
    report("run", all.len().div_ceil(4), failures);
}
