//! SIGHUP: the file is read again and what a restart would change is printed; nothing is
//! applied and the run goes on.

use nix::sys::signal::Signal;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_says_what_would_change_and_applies_nothing() {
    const TOKEN: &str = "new-token-9d8c7b6a-not-shown";
    let dir = tempfile::tempdir().unwrap();
    let cfg = quickstart_config(
        dir.path(),
        "  metrics_interval_secs: 0\n  status_file: s.json\n",
    );
    let original = std::fs::read_to_string(&cfg).unwrap();
    let mut run = Run::start(&cfg, &[]);

    run.signal(Signal::SIGHUP);
    let line = run.wait_stderr("cdc: SIGHUP:");
    assert!(line.ends_with(": no change"), "{line}");

    // Another table, a trigger less, another interval, a token: said, not applied.
    let changed = original
        .replace(
            "tables: [public.orders, public.customers]",
            "tables: [public.orders]",
        )
        .replace(
            "  metrics_interval_secs: 0\n",
            &format!("  metrics_interval_secs: 5\n  http:\n    token: {TOKEN}\n"),
        );
    let at = changed.find("  - name: customer-changes").unwrap();
    let end = changed.find("settings:").unwrap();
    let changed = format!("{}{}", &changed[..at], &changed[end..]);
    std::fs::write(&cfg, &changed).unwrap();
    run.signal(Signal::SIGHUP);
    let head = run.wait_stderr("change(s), applied only by a restart");
    assert!(head.contains("4 change(s)"), "{head}\n{}", run.stderr());
    for said in [
        "cdc: SIGHUP:   source shop-db: tables [\"public.orders\", \"public.customers\"] -> [\"public.orders\"]",
        "cdc: SIGHUP:   trigger customer-changes: removed",
        "cdc: SIGHUP:   settings.metrics_interval_secs: 0 -> 5",
        "cdc: SIGHUP:   settings.http.token: changed",
    ] {
        run.wait_stderr(said);
    }

    // Nothing applied: no token is asked for, and both triggers still get their events.
    run.feed(&quickstart_events());
    let m = scrape_until(&run.base, None, |m| {
        sum(m, "cdc_events_received_total", &[]) == 6.0
            && sum(m, "cdc_events_delivered_total", &[]) == 4.0
    })
    .await;
    assert_eq!(
        sum(
            &m,
            "cdc_events_delivered_total",
            &[("trigger", "customer-changes")]
        ),
        2.0
    );

    // A file with a problem: said, and the run goes on.
    std::fs::write(&cfg, changed.replace("provider: memory", "provider: mem")).unwrap();
    run.signal(Signal::SIGHUP);
    run.wait_stderr("problem(s); a restart would fail (nothing applied)");
    run.wait_stderr("cdc: SIGHUP:   ");
    let (code, _) = get(&run.base, "/health/live", None).await;
    assert_eq!(code, 200);

    let (status, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(stderr.contains("6 event(s) read, 6 delivered"), "{stderr}");
}
