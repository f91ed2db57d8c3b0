//! Config files the YAML layer used to read silently wrong, and a map big enough to be slow
//! to check, fed to the built `cdc` binary: each is refused with exit 2 and its line, or
//! (the big map) checked within a generous guard, never a hang.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

/// Only a hang (or a quadratic blow-up) gets there.
const GUARD: Duration = Duration::from_secs(60);

const MARK: &str = "zq9MARK";

/// Writes `text` to `dir/name` and runs `cdc <cmd> <file>` with `env` set, within [`GUARD`].
fn cdc(dir: &Path, cmd: &str, text: &str, env: &[(&str, &str)]) -> (Output, String) {
    let path = dir.join(format!("{cmd}-{}.yaml", text.len()));
    std::fs::write(&path, text).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cdc"));
    command.arg(cmd).arg(&path).env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    let out = rx
        .recv_timeout(GUARD)
        .expect("cdc did not finish in time")
        .unwrap();
    (out, path.display().to_string())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn merge_keys_and_unknown_tags_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line, needle) in [
        // The second `<<` (an invalid capacity) was dropped and the file validated.
        (
            "sources:\n  - provider: memory\n    source_id: a\n    options:\n      <<: {capacity: 5}\n      <<: {capacity: 0}\n",
            5,
            "merge keys (`<<`) are not supported",
        ),
        // `!include` was dropped and its text became the source id.
        (
            "sources:\n  - provider: memory\n    source_id: !include other.yaml\n",
            3,
            "tag `!include` is not supported",
        ),
        (
            "sources:\n  - provider: memory\n    source_id: a\n    connection: !secret DB_URL\n",
            4,
            "tag `!secret` is not supported",
        ),
    ] {
        let (out, file) = cdc(dir.path(), "validate", text, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(&format!("{file}:{line}:")), "{text}: {err}");
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn a_map_of_fifty_thousand_keys_is_checked_within_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "sources:\n  - provider: debezium\n    source_id: a\n    source_type: postgres\n    connection: http://connect:8083\n    options:\n      database: postgres://u:p@db/shop\n      connector_config:\n",
    );
    for i in 0..45_000 {
        text.push_str(&format!("        k{i}: \"1\"\n"));
    }
    text.push_str("        k7: \"again\"\n");
    let (out, file) = cdc(dir.path(), "validate", &text, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{file}:45009:")), "{err}");
    assert!(err.contains("duplicate key `k7`"), "{err}");
}

#[test]
fn an_env_value_with_yaml_syntax_stays_one_value_and_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let text = "sources:\n  - provider: bento\n    source_id: b\n    source_type: postgres\n    connection: postgres://app:${PW}@db:5432/shop\n    options: { mode: delegated }\n";
    // With a line break it is refused (a control character in a DSN), without it rendered:
    // either way the document keeps its shape and the password never shows.
    for (pw, code) in [
        (
            format!("{MARK}\nsources: []\n- {{x: *y}} # '\"%40@:{MARK}"),
            2,
        ),
        (
            format!("{MARK} sources: [] - {{x: *y}} # '\"%40@:{MARK}"),
            0,
        ),
    ] {
        let (out, _) = cdc(dir.path(), "render", text, &[("PW", &pw)]);
        let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!shown.contains(MARK), "{shown}");
        assert_eq!(out.status.code(), Some(code), "{shown}");
        assert!(
            shown.contains("sources[0] (\"b\")") || shown.contains("# source b"),
            "{shown}"
        );
    }
}
