//! What `cdc run` prints: numbers exactly as written, text safe for a terminal, and every
//! bad input line reported with its number and counted, the rest of the file still read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run_file(dir: &Path, events: &[u8], output: &str) -> Output {
    std::fs::write(dir.join("ev.jsonl"), events).unwrap();
    let cfg: PathBuf = dir.join("run.yaml");
    std::fs::write(
        &cfg,
        "sources:\n  - provider: memory\n    source_id: s\n    options: { events_file: ev.jsonl, max_line_bytes: 4096 }\ntriggers:\n  - name: all\n    source_id: s\nsettings: { metrics_interval_secs: 0 }\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_cdc"))
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--output",
            output,
            "--status-file",
        ])
        .arg(dir.join("status.json"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const NUMBERS: &str = r#"{"op": "INSERT", "table": "public.t", "after": {"id": 1, "doc": {"big": 123456789012345678901234567890, "huge": 1e400, "tiny": -1e-400, "exact": 0.1000000000000000055511151231257827}}}
"#;

#[test]
fn numbers_beyond_u64_and_f64_are_printed_exactly_in_json_and_text() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["json", "text"] {
        let out = run_file(dir.path(), NUMBERS.as_bytes(), format);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        for literal in [
            "123456789012345678901234567890",
            // serde_json writes the exponent with its sign; the value is the one written
            "1e+400",
            "-1e-400",
            "0.1000000000000000055511151231257827",
        ] {
            assert!(s.contains(literal), "{format}: {literal} not in {s}");
        }
        assert!(
            !s.contains("e+29") && !s.contains("inf"),
            "{format}: rounded: {s}"
        );
        if format == "json" {
            let v: Value = serde_json::from_str(s.trim()).unwrap();
            assert_eq!(
                v["event"]["after"]["doc"]["big"].to_string(),
                "123456789012345678901234567890"
            );
        }
    }
}

#[test]
fn text_output_escapes_control_characters_from_event_data() {
    let dir = tempfile::tempdir().unwrap();
    let line = "{\"op\": \"INSERT\", \"table\": \"public.t\\u001b[2Jx\\u0000\", \"after\": {\"note\": \"a\\u001b]0;owned\\u0007b\\u202ec\\u009b\"}}\n";
    let out = run_file(dir.path(), line.as_bytes(), "text");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for raw in ['\u{1b}', '\u{0}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(!s.contains(raw), "raw {raw:?} on the terminal: {s:?}");
    }
    assert!(s.contains("\\u{1b}[2Jx\\u{0}"), "{s:?}");
}

#[test]
fn bad_lines_are_reported_with_their_number_and_counted_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |id: u32| {
        format!("{{\"op\": \"INSERT\", \"table\": \"t\", \"after\": {{\"id\": {id}}}}}\n")
    };
    let mut events = ok(1).into_bytes();
    events.extend_from_slice(b"{\"op\": \"INSERT\", \"table\": \"\xff\"}\n"); // line 2: not UTF-8
    events.extend_from_slice(&[b'x'; 10_000]); // line 3: longer than max_line_bytes
    events.push(b'\n');
    events.extend_from_slice(b"{\"op\": \"INSERT\", \"table\":\n"); // line 4: not JSON
    events.extend_from_slice(ok(5).as_bytes());
    let out = run_file(dir.path(), &events, "json");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let ids: Vec<i64> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["after"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 5], "the file goes on after bad lines");
    for needle in [
        "line 2",
        "not UTF-8",
        "line 3",
        "longer than 4096 bytes",
        "line 4",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
    assert!(
        err.contains("2 event(s) read, 2 delivered, 3 bad line(s) skipped"),
        "{err}"
    );
}
