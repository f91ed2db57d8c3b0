//! `/metrics` and `/health/*` of the memory quickstart.

use serde_json::Value;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_the_quickstart_count_every_input_event() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quickstart_config(dir.path(), "  metrics_interval_secs: 0\n");
    let mut run = Run::start(&cfg, &[]);
    let input = quickstart_events();
    let lines = input.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines, 6);
    run.feed(&input);
    let base = run.base.clone();
    // Every event received and the step runs of both orders done.
    let m = scrape_until(&base, None, |m| {
        sum(m, "cdc_events_received_total", &[]) == lines as f64
            && sum(m, "cdc_step_runs_total", &[("step", "lag")]) == 2.0
            && sum(m, "cdc_events_delivered_total", &[]) == 4.0
    })
    .await;
    let src = ("source", "shop-db");
    let received = |op| sample(&m, "cdc_events_received_total", &[src, ("op", op)]);
    // quickstart-events.jsonl: 3 inserts, 2 updates, 1 delete.
    assert_eq!(received("insert"), Some(3.0));
    assert_eq!(received("update"), Some(2.0));
    assert_eq!(received("delete"), Some(1.0));
    assert_eq!(received("snapshot"), Some(0.0));
    let delivered = |trigger, op| {
        sample(
            &m,
            "cdc_events_delivered_total",
            &[src, ("trigger", trigger), ("op", op)],
        )
    };
    // new-orders: INSERTs on public.orders (ids 100 and 101); customer-changes: UPDATE and
    // DELETE of customers.
    assert_eq!(delivered("new-orders", "insert"), Some(2.0));
    assert_eq!(delivered("new-orders", "update"), Some(0.0));
    assert_eq!(delivered("customer-changes", "update"), Some(1.0));
    assert_eq!(delivered("customer-changes", "delete"), Some(1.0));
    for (step, ty) in [
        ("status", "step.cdc_status"),
        ("lag", "step.cdc_backpressure"),
    ] {
        let labels = [src, ("trigger", "new-orders"), ("step", step), ("type", ty)];
        assert_eq!(sample(&m, "cdc_step_runs_total", &labels), Some(2.0));
        assert_eq!(sample(&m, "cdc_step_errors_total", &labels), Some(0.0));
        assert_eq!(
            sample(&m, "cdc_step_duration_seconds_count", &labels),
            Some(2.0)
        );
    }
    // Every event passed through the run in some batch.
    assert_eq!(sample(&m, "cdc_batch_size_sum", &[src]), Some(6.0));
    assert!(sample(&m, "cdc_batch_size_count", &[src]).unwrap() >= 1.0);
    assert_eq!(
        sample(&m, "cdc_source_state", &[src, ("state", "running")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&m, "cdc_source_state", &[src, ("state", "error")]),
        Some(0.0)
    );
    assert_eq!(sample(&m, "cdc_source_paused", &[src]), Some(0.0));
    assert_eq!(sample(&m, "cdc_handler_errors_total", &[src]), Some(0.0));
    assert_eq!(sample(&m, "cdc_skipped_lines_total", &[src]), Some(0.0));
    // A memory source cannot tell its lag: the gauges are absent, never a made-up zero
    // (the PostgreSQL suite checks them present with values).
    assert_eq!(sum(&m, "cdc_lag_bytes", &[]), 0.0);
    assert!(!m.keys().any(|k| k.starts_with("cdc_lag_")), "{m:?}");

    // Liveness, readiness, and the live status with the same count.
    let (code, body) = get(&base, "/health/live", None).await;
    assert_eq!((code, body.as_str()), (200, r#"{"live":true}"#));
    let (code, body) = get(&base, "/health/ready", None).await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["sources"], serde_json::json!(["shop-db"]));
    let (code, body) = get(&base, "/status", None).await;
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["run"]["running"], true);
    assert_eq!(v["sources"][0]["events"], 6);
    assert_eq!(v["sources"][0]["details"]["injected"], 6);
    let (code, _) = get(&base, "/nope", None).await;
    assert_eq!(code, 404);

    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("6 event(s) read, 6 delivered"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_required_when_set_and_never_shown() {
    const TOKEN: &str = "tok-3f9a7c1e-never-printed";
    let dir = tempfile::tempdir().unwrap();
    let status_file = dir.path().join("status.json");
    let cfg = quickstart_config(
        dir.path(),
        &format!(
            "  metrics_interval_secs: 1\n  status_file: {}\n  http:\n    token: {TOKEN}\n",
            status_file.display()
        ),
    );
    let mut run = Run::start(&cfg, &[]);
    run.feed(&quickstart_events());
    let base = run.base.clone();
    for path in ["/metrics", "/health/live", "/health/ready", "/status"] {
        let (code, body) = get(&base, path, None).await;
        assert_eq!(code, 401, "{path} without the token: {body}");
        assert!(!body.contains(TOKEN));
        let (code, _) = get(&base, path, Some("tok-3f9a7c1e-never-printeD")).await;
        assert_eq!(code, 401, "{path} with a wrong token");
        let (code, body) = get(&base, path, Some(TOKEN)).await;
        assert_eq!(code, 200, "{path} with the token: {body}");
        assert!(!body.contains(TOKEN), "{path} shows the token: {body}");
    }
    scrape_until(&base, Some(TOKEN), |m| {
        sum(m, "cdc_events_received_total", &[]) == 6.0
    })
    .await;
    // `cdc status` asks the endpoint with the file's token.
    let out = cdc_output(&["status", cfg.to_str().unwrap(), "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["from"], "endpoint", "{v}");
    assert_eq!(v["sources"][0]["events"], 6);
    assert!(!text.contains(TOKEN) && !err.contains(TOKEN));
    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(stderr.contains("bearer token required"), "{stderr}");
    let written = std::fs::read_to_string(&status_file).unwrap();
    assert!(!written.contains(TOKEN), "{written}");
}
