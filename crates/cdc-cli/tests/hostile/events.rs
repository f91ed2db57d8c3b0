//! Hostile events files (and stdin): every bad line is skipped, reported with its number and
//! counted in the final summary, and the rest of the input is still read (exit 0). Memory
//! stays bounded whatever the length of a line.

use super::{Expect, check, report, run_cdc, write};

/// One good event line with id `id`.
fn ok(id: u32) -> Vec<u8> {
    format!("{{\"op\": \"INSERT\", \"table\": \"public.t\", \"after\": {{\"id\": {id}}}}}\n")
        .into_bytes()
}

/// An events file: a good line, the bad `middle` (one or more lines), a good line.
fn around(middle: &[u8]) -> Vec<u8> {
    let mut v = ok(1);
    v.extend_from_slice(middle);
    v.extend_from_slice(&ok(2));
    v
}

struct Case {
    name: &'static str,
    events: Vec<u8>,
    /// Read through stdin instead of a file.
    stdin: bool,
    /// Lines that must be reported by number.
    lines: &'static [usize],
    /// Lines counted as skipped in the summary.
    count: usize,
    needles: &'static [&'static str],
}

fn case(
    name: &'static str,
    events: Vec<u8>,
    lines: &'static [usize],
    needles: &'static [&'static str],
) -> Case {
    Case {
        name,
        events,
        stdin: false,
        lines,
        count: lines.len(),
        needles,
    }
}

fn cases() -> Vec<Case> {
    let deep = format!(
        "{{\"op\": \"INSERT\", \"table\": \"t\", \"after\": {{\"x\": {}{}}}}}\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    let mut many_bad = ok(1);
    for _ in 0..10_000 {
        many_bad.extend_from_slice(b"not json\n");
    }
    many_bad.extend_from_slice(&ok(2));
    let mut huge_stdin = ok(1);
    huge_stdin.extend(std::iter::repeat_n(b'x', 64 << 20));
    huge_stdin.push(b'\n');
    huge_stdin.extend_from_slice(&ok(2));
    vec![
        case(
            "invalid UTF-8",
            around(b"{\"op\": \"INSERT\", \"table\": \"\xff\"}\n"),
            &[2],
            &["not UTF-8"],
        ),
        case(
            "a NUL byte",
            around(b"{\"op\": \"INSERT\", \"table\": \"t\"}\x00\n"),
            &[2],
            &["not valid JSON"],
        ),
        case(
            "malformed JSON",
            around(b"{\"op\": \"INSERT\", \"table\":\n"),
            &[2],
            &["not valid JSON"],
        ),
        case(
            "JSON that is not an object",
            around(b"[1, 2, 3]\n"),
            &[2],
            &[],
        ),
        case(
            "an unknown op",
            around(b"{\"op\": \"MERGE\", \"table\": \"t\"}\n"),
            &[2],
            &["MERGE"],
        ),
        case(
            "a typed event with wrong types",
            around(b"{\"operation\": \"insert\", \"table\": 5}\n"),
            &[2],
            &["typed event"],
        ),
        case(
            "a line longer than the limit",
            around(&[vec![b'{'; 2 << 20], b"\n".to_vec()].concat()),
            &[2],
            &["longer than 1048576 bytes"],
        ),
        case(
            "JSON nested 500 deep",
            around(deep.as_bytes()),
            &[2],
            &["not valid JSON"],
        ),
        case(
            "a control byte line",
            around(b"\x1b[2J\x07\n"),
            &[2],
            &["not valid JSON"],
        ),
        case("two bad lines in a row", around(b"{\n}}\n"), &[2, 3], &[]),
        Case {
            name: "10 000 bad lines",
            events: many_bad,
            stdin: false,
            lines: &[2, 5000, 10_001],
            count: 10_000,
            needles: &[],
        },
        Case {
            name: "a 64 MiB line on stdin",
            events: huge_stdin,
            stdin: true,
            lines: &[2],
            count: 1,
            needles: &["stdin", "longer than"],
        },
    ]
}

#[test]
fn hostile_events_are_skipped_reported_and_counted_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let all = cases();
    for (i, case) in all.iter().enumerate() {
        let events = if case.stdin {
            "-".to_owned()
        } else {
            write(dir.path(), &format!("ev{i}.jsonl"), &case.events)
                .display()
                .to_string()
        };
        let cfg = write(
            dir.path(),
            &format!("run{i}.yaml"),
            format!("sources:\n  - provider: memory\n    source_id: s\n    options: {{ events_file: \"{events}\" }}\ntriggers:\n  - {{ name: all, source_id: s }}\nsettings: {{ metrics_interval_secs: 0, status_file: status{i}.json }}\n").as_bytes(),
        );
        let stdin = case.stdin.then(|| case.events.clone());
        let ran = run_cdc(
            dir.path(),
            &["run", cfg.to_str().unwrap(), "--output", "json"],
            stdin,
        );
        let expect = Expect::Skipped {
            lines: case.lines,
            count: case.count,
            needles: case.needles,
        };
        let mut result = check(case.name, "", &ran, &expect);
        let ids: Vec<&str> = ran.stdout.lines().collect();
        if result.is_ok() && ids.len() != 2 {
            result = Err(format!(
                "{}: {} records printed, not the 2 good events:\n{}",
                case.name,
                ids.len(),
                ran.stdout
            ));
        }
        if let Err(e) = result {
            failures.push(e);
        }
    }
    report("events", all.len(), failures);
}
