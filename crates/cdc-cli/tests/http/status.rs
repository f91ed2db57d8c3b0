//! `cdc status` against a live run, its fallback to the status file, and `--watch`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::common::*;

fn status_json(cfg: &str, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["status", cfg, "--output", "json"];
    args.extend_from_slice(extra);
    let out = cdc_output(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}")),
        err,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_the_live_endpoint_then_the_file_once_the_run_ended() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let cfg = quickstart_config(
        dir.path(),
        &format!(
            "  metrics_interval_secs: 1\n  status_file: {}\n",
            file.display()
        ),
    );
    let cfg_s = cfg.to_str().unwrap();
    let mut run = Run::start(&cfg, &[]);
    run.feed(&quickstart_events());
    scrape_until(&run.base, None, |m| {
        sum(m, "cdc_events_received_total", &[]) == 6.0
    })
    .await;
    // The run wrote its bound address into the status file: that is where status asks.
    let (v, _) = status_json(cfg_s, &[]);
    assert_eq!(v["from"], "endpoint", "{v}");
    assert_eq!(v["endpoint"], format!("{}/status", run.base));
    assert_eq!(v["run"]["running"], true);
    assert_eq!(v["sources"][0]["events"], 6);
    let out = cdc_output(&["status", cfg_s, "--output", "text"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with(&format!(
            "status from the running process ({}/status)\n",
            run.base
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("shop-db") && l.contains("running") && l.contains(" 6 ")),
        "{text}"
    );

    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    let (v, err) = status_json(cfg_s, &[]);
    assert_eq!(v["from"], "status_file", "{v}");
    assert_eq!(v["run"]["running"], false);
    assert_eq!(v["sources"][0]["events"], 6);
    // An ended run is not asked: no note about an endpoint.
    assert!(
        v.get("endpoint_error").is_none() && err.is_empty(),
        "{v} {err}"
    );
    let out = cdc_output(&["status", cfg_s, "--output", "text"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with(&format!("status from the status file {}\n", file.display())),
        "{text}"
    );
}

#[test]
fn an_endpoint_that_does_not_answer_falls_back_to_the_file_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = quickstart_config(
        dir.path(),
        &format!("  status_file: none.json\n  http:\n    listen: 127.0.0.1:{port}\n"),
    );
    let (v, err) = status_json(cfg.to_str().unwrap(), &[]);
    assert_eq!(v["from"], "status_file");
    assert_eq!(v["sources"][0]["state"], "not_running");
    assert!(
        v["endpoint_error"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{v}"
    );
    assert!(
        err.contains(&format!(
            "the endpoint http://127.0.0.1:{port}/status did not answer"
        )) && err.contains("reading the status file"),
        "{err}"
    );
}

#[test]
fn watch_interval_has_a_range() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quickstart_config(dir.path(), "  status_file: none.json\n");
    for bad in ["0", "3601"] {
        let out = cdc_output(&["status", cfg.to_str().unwrap(), "--watch", bad]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("--watch: {bad} is outside 1..=3600 seconds")),
            "{err}"
        );
    }
    let out = cdc_output(&["status", cfg.to_str().unwrap(), "--watch", "-1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_looks_again_with_events_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quickstart_config(dir.path(), "  status_file: s.json\n");
    let mut run = Run::start(&cfg, &[]);
    run.feed(&quickstart_events());
    scrape_until(&run.base, None, |m| {
        sum(m, "cdc_events_received_total", &[]) == 6.0
    })
    .await;
    let mut watch = cdc()
        .args([
            "status",
            cfg.to_str().unwrap(),
            "--output",
            "json",
            "--watch",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(watch.stdout.take().unwrap());
    let mut looks = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "watch ended early");
        looks.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert_eq!(looks[0]["from"], "endpoint");
    assert!(looks[0]["sources"][0].get("events_per_sec").is_none());
    // Nothing arrived between the two looks.
    assert_eq!(looks[1]["sources"][0]["events_per_sec"], 0.0);
    assert_eq!(looks[1]["sources"][0]["events"], 6);
    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
}
