//! SQL mode of the TEST DOUBLE (a file `sql` in `FAKE_BENTO_DIR`): it runs the generated
//! PostgreSQL stream the way Bento would, without Bento. Every `interval` of the `generate`
//! input it runs the `sql_raw` processor's query through `psql` (`FAKE_BENTO_PSQL`) and
//! prints, for each row, what the stream's wal2json mapping writes. The mapping is not
//! evaluated (this is not a Bloblang interpreter): its effect is written out here in Rust,
//! and only the parts the mapping text asks for (the `commit` arm, `commit_lsn` and `seq`)
//! are included. A failed query drops the tick, like the stream's `catch`.
//!
//! Control files: `crash_after` (a number): exit with status 3 after printing that many
//! more lines, mid-poll; `crash` as in the main mode.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{fail, take};

pub(super) fn run(dir: &Path, config: &str) -> ! {
    let config: Value = cdc_core::yaml::from_str(config)
        .unwrap_or_else(|e| fail(&format!("config is not YAML: {e}")));
    let processors = config["pipeline"]["processors"]
        .as_array()
        .unwrap_or_else(|| fail("no pipeline.processors"));
    let sql = processors
        .iter()
        .find_map(|p| p.get("sql_raw"))
        .unwrap_or_else(|| fail("no sql_raw processor"));
    let mapping = processors
        .iter()
        .filter_map(|p| p.get("mapping").and_then(Value::as_str))
        .next_back()
        .unwrap_or_else(|| fail("no mapping"));
    let dsn = sql["dsn"].as_str().unwrap_or_else(|| fail("no dsn"));
    let query = sql["query"].as_str().unwrap_or_else(|| fail("no query"));
    let interval = interval(
        config["input"]["generate"]["interval"]
            .as_str()
            .unwrap_or("1s"),
    );
    let psql = std::env::var("FAKE_BENTO_PSQL").unwrap_or_else(|_| "psql".into());
    let shape = Shape::of(mapping);
    let mut crash_after: Option<u64> = None;
    loop {
        if take(&dir.join("crash")).is_some() {
            crash();
        }
        if let Some(n) = take(&dir.join("crash_after")) {
            crash_after = n.trim().parse().ok();
        }
        let out = Command::new(&psql)
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                dsn,
                "-c",
            ])
            .arg(format!(
                "SELECT coalesce(json_agg(t), '[]'::json) FROM ({query}) AS t"
            ))
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run {psql}: {e}")));
        if out.status.success() {
            let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| fail(&format!("psql printed no JSON array: {e}")));
            let stdout = std::io::stdout();
            let mut w = stdout.lock();
            for row in &rows {
                if let Some(line) = shape.map(row) {
                    if crash_after == Some(0) {
                        crash();
                    }
                    writeln!(w, "{line}").expect("stdout");
                    w.flush().expect("flush");
                    crash_after = crash_after.map(|n| n - 1);
                }
            }
        } else {
            eprintln!(
                "level=error msg=\"sql_raw failed\" err={:?}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        std::thread::sleep(interval);
    }
}

fn crash() -> ! {
    eprintln!("level=fatal msg=\"simulated crash of the test double\"");
    std::process::exit(3)
}

/// `500ms`, `1s`, `2m`.
fn interval(text: &str) -> Duration {
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = num.parse().unwrap_or(1);
    match unit {
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(60 * n),
        _ => Duration::from_secs(n),
    }
}

/// What the mapping text asks for.
struct Shape {
    source_id: Value,
    commits: bool,
    positions: bool,
}

impl Shape {
    fn of(mapping: &str) -> Self {
        let source_id = mapping
            .lines()
            .find_map(|l| l.trim().strip_prefix("\"source_id\": "))
            .and_then(|rest| serde_json::from_str(rest.trim_end_matches(',')).ok())
            .unwrap_or_else(|| fail("the mapping has no source_id line"));
        Self {
            source_id,
            commits: mapping.contains(r#""C" => "commit""#),
            positions: mapping.contains(r#""commit_lsn": this.commit_lsn"#),
        }
    }

    /// One `{lsn, xid, data, ...}` row as the mapping writes it; `None` where it deletes.
    fn map(&self, row: &Value) -> Option<String> {
        let change: Value = serde_json::from_str(row["data"].as_str()?).ok()?;
        let op = match change["action"].as_str()? {
            "I" => "insert",
            "U" => "update",
            "D" => "delete",
            "T" => "truncate",
            "C" if self.commits => "commit",
            _ => return None,
        };
        let fold = |field: &str| match change.get(field).and_then(Value::as_array) {
            None => Value::Null,
            Some(items) => Value::Object(
                items
                    .iter()
                    .filter_map(|c| Some((c["name"].as_str()?.to_owned(), c["value"].clone())))
                    .collect::<Map<_, _>>(),
            ),
        };
        let mut out = json!({
            "source_id": self.source_id,
            "op": op,
            "schema": change["schema"],
            "table": change["table"],
            "key": null,
            "before": fold("identity"),
            "after": fold("columns"),
            "lsn": row["lsn"],
            "xid": row["xid"],
            "commit_time": change["timestamp"],
        });
        if self.positions {
            out["commit_lsn"] = row["commit_lsn"].clone();
            out["seq"] = row["seq"].clone();
        }
        Some(out.to_string())
    }
}
