//! The suites' order, options and summary lines; the Kafka suite's files.

use super::*;

fn args(list: &[&str]) -> Vec<String> {
    owned(list)
}

#[test]
fn parses_options() {
    assert_eq!(parse_options(&[]).unwrap(), Options::default());
    let parsed = parse_options(&args(&["--quick", "--suite", "fmt", "--suite=test"])).unwrap();
    assert!(parsed.quick);
    assert_eq!(parsed.only, ["fmt", "test"]);
    assert_eq!(parsed.timeout, Some(DEFAULT_TIMEOUT));
    assert!(parse_options(&args(&["--suite"])).is_err());
    let unlimited = parse_options(&args(&["--timeout", "0"])).unwrap();
    assert_eq!(unlimited.timeout, None);
    let short = parse_options(&args(&["--timeout", "90"])).unwrap();
    assert_eq!(short.timeout, Some(Duration::from_secs(90)));
    assert!(parse_options(&args(&["--timeout", "soon"])).is_err());
    assert!(parse_options(&args(&["--bogus"])).is_err());
}

/// Every cdc-debezium test file that exists only with `kafka` is one of the suite's: a
/// new one left out would run only when feature unification happens to turn `kafka` on.
#[test]
fn every_kafka_test_file_is_in_the_debezium_kafka_suite() {
    let suite = SERVICE_SUITES
        .iter()
        .find(|s| s.name == "debezium-kafka")
        .expect("the debezium-kafka suite");
    let listed: Vec<&str> = suite
        .cargo_args
        .windows(2)
        .filter(|w| w[0] == "--test")
        .map(|w| w[1])
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cdc-debezium/tests");
    let mut gated = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "rs")
            && text.contains("#![cfg(feature = \"kafka\")]")
        {
            gated.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        !gated.is_empty(),
        "no kafka test file found in {}",
        dir.display()
    );
    for name in &gated {
        assert!(
            listed.contains(&name.as_str()),
            "{name}.rs is not in the debezium-kafka suite"
        );
    }
}

#[test]
fn suites_run_in_the_documented_order() {
    let names: Vec<&str> = all_suites().iter().map(|s| s.name).collect();
    assert_eq!(&names[..5], ["fmt", "clippy", "test", "features", "deny"]);
    let slow: Vec<&str> = all_suites()
        .iter()
        .filter(|s| s.slow)
        .map(|s| s.name)
        .collect();
    assert_eq!(slow, ["clippy", "features"], "--quick skips exactly these");
}

#[test]
fn summary_lines() {
    let test = Outcome {
        name: "test",
        ok: true,
        counts: Some(TestCounts {
            passed: 312,
            failed: 0,
            ignored: 2,
        }),
        note: None,
        elapsed: Duration::from_millis(41_230),
    };
    assert_eq!(
        test.summary_line(),
        "suite test: ok (312 passed, 0 failed, 2 ignored) in 41.2s"
    );
    let fmt = Outcome {
        name: "fmt",
        ok: true,
        counts: None,
        note: None,
        elapsed: Duration::from_millis(800),
    };
    assert_eq!(fmt.summary_line(), "suite fmt: ok in 0.8s");
    let empty = Outcome {
        name: "dms-moto",
        ok: false,
        counts: Some(TestCounts::default()),
        note: Some("ran no tests".into()),
        elapsed: Duration::from_secs(3),
    };
    assert_eq!(
        empty.summary_line(),
        "suite dms-moto: FAILED (0 passed, 0 failed, 0 ignored; ran no tests) in 3.0s"
    );
}
