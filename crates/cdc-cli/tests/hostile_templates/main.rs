//! Step config templates against hostile input, through the built `cdc` binary: row data,
//! environment values and escapes are inserted as literal text and never expanded again;
//! broken references are refused by `validate` naming the field and its line; a reference
//! the event lacks is a step error naming it, never an empty string; what a template
//! renders is bounded; loading stays linear in the template's size.
//!
//! Each step echoes what its config rendered to through `step.cdc_status`'s error for a
//! source that is not registered: `source "<rendered>" is not registered`.

mod run;
mod validate;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A secret marker: never to be seen in any output.
pub const MARK: &str = "zq9MARK";

/// Runs `cdc <cmd> <file>` in `dir` with `text` as the file, `env` set and `stdin` fed.
pub fn cdc(dir: &Path, cmd: &str, text: &str, env: &[(&str, &str)], stdin: &str) -> Output {
    let file = dir.join("t.yaml");
    std::fs::write(&file, text).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_cdc"));
    c.arg(cmd)
        .arg(&file)
        .current_dir(dir)
        .env_remove("RUST_LOG");
    if cmd == "run" {
        c.args(["--output", "json"]);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_owned();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A memory source reading events from stdin, and one trigger for each step (a failed step
/// ends its trigger's steps for the event).
pub fn config(steps: &[String]) -> String {
    let mut out = "sources:\n  - provider: memory\n    source_id: a\n    options: { events_file: \"-\" }\ntriggers:\n".to_owned();
    for step in steps {
        out.push_str("  - source_id: a\n    steps:\n");
        out.push_str(step);
    }
    out
}

/// A `step.cdc_status` named `name` whose `source_id` is `template` (YAML-quoted).
pub fn status(name: &str, template: &str) -> String {
    format!(
        "      - type: step.cdc_status\n        name: {name}\n        config:\n          source_id: {}\n",
        serde_json::to_string(template).unwrap()
    )
}

/// `cdc run` of `steps` over one `event` (with `env`), which must succeed: its records.
pub fn run_event(
    dir: &Path,
    steps: &[String],
    env: &[(&str, &str)],
    event: &str,
) -> Vec<(String, Result<Value, String>)> {
    let out = cdc(dir, "run", &config(steps), env, &format!("{event}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    records(&out)
}

/// The records of a run, by step name: `Ok(output)` or `Err(error)`.
pub fn records(out: &Output) -> Vec<(String, Result<Value, String>)> {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| {
            let step = r["step"].as_str()?.to_owned();
            match r["kind"].as_str()? {
                "step" => Some((step, Ok(r["output"].clone()))),
                "step_error" => Some((step, Err(r["error"].as_str()?.to_owned()))),
                _ => None,
            }
        })
        .collect()
}

/// What `step`'s `source_id` rendered to, read from its "not registered" error.
pub fn rendered(recs: &[(String, Result<Value, String>)], step: &str) -> String {
    let (_, r) = recs.iter().find(|(s, _)| s == step).expect(step);
    let e = r.as_ref().unwrap_err();
    let start = e.find("source \"").expect(e) + "source ".len();
    let end = e.rfind(" is not registered").expect(e);
    serde_json::from_str(&e[start..end]).unwrap_or_else(|_| panic!("{e}"))
}
