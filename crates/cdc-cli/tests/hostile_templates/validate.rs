//! `cdc validate`: what is refused before any event, and what is never shown.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn an_environment_value_that_looks_like_a_reference_is_never_checked_or_shown() {
    let dir = tempfile::tempdir().unwrap();
    let steps = [status("s", "a-${PW}")];
    for pw in [
        format!("{MARK}${{x.y}}{MARK}"),
        format!("{MARK}${{steps.nope.x}}"),
        format!("${{event.{MARK}"),
    ] {
        let out = cdc(dir.path(), "validate", &config(&steps), &[("PW", &pw)], "");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{pw}: {all}");
        assert!(!all.contains(MARK), "{all}");
    }
}

#[test]
fn trigger_filter_errors_never_show_what_a_variable_brought() {
    let dir = tempfile::tempdir().unwrap();
    let head = "sources:\n  - provider: memory\n    source_id: a\n    options: { events_file: \"-\" }\ntriggers:\n";
    let long = format!("{MARK}{}", "x".repeat(100));
    for (filter, value, line, field) in [
        (
            "    source_id: ${V}\n",
            MARK.to_owned(),
            6,
            "source_id: \"${V}\" is not a source",
        ),
        (
            "    source_id: ${V}\n",
            format!(" {MARK}"),
            6,
            "source_id: \"${V}\" has leading",
        ),
        (
            "    source_id: a\n    tables: [ok, \"${V}\"]\n",
            format!("{MARK} x"),
            7,
            "tables[1]: table name \"${V}\"",
        ),
        (
            "    source_id: a\n    tables: [\"${V}\"]\n",
            format!("{long} x"),
            7,
            "tables[0]: table name \"${V}\"",
        ),
        (
            "    source_id: a\n    actions: [\"p${V}\"]\n",
            long.clone(),
            7,
            "actions[0]: unknown action \"p${V}\"",
        ),
    ] {
        let out = cdc(
            dir.path(),
            "validate",
            &format!("{head}  -{}", &filter[3..]),
            &[("V", &value)],
            "",
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{filter}: {err}");
        assert!(
            err.contains(&format!("t.yaml:{line}: triggers[0].{field}")),
            "{filter}: {err}"
        );
        assert!(!err.contains(MARK), "{err}");
    }
}

#[test]
fn broken_references_are_refused_naming_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("${{event{}}}", ".a".repeat(65));
    let cases: &[(&str, &str)] = &[
        ("x${event.after.id", "unclosed"),
        ("${}", "not a valid reference"),
        ("${event.}", "empty part"),
        ("${event..x}", "empty part"),
        ("${ event.x }", "start with event. or steps."),
        ("${env.HOME}", "start with event. or steps."),
        ("${event.x:-none}", "default"),
        ("${event.after[x]}", "'['"),
        ("${event.after[\"a]}", "'['"),
        ("${event.after[\"a\"]b}", "after a ']'"),
        ("${event.a\u{7}b}", "in a part"),
        ("${steps.later.x}", "not an earlier step"),
        (&deep, "more than 64 parts"),
    ];
    for (template, needle) in cases {
        let yaml = config(&[status("s", template)]);
        let out = cdc(dir.path(), "validate", &yaml, &[], "");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{template}: {err}");
        let at = "t.yaml:11: triggers[0].steps[0].config.source_id: ";
        assert!(err.contains(at), "{template:?}: no {at:?} in {err}");
        assert!(err.contains(needle), "{template:?}: no {needle:?} in {err}");
        assert!(
            !err.contains('\u{7}'),
            "a control character is shown raw: {err}"
        );
    }
}

#[test]
fn what_a_step_can_check_before_any_event_is_refused_naming_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let step = |ty: &str, body: &str| {
        format!(
            "      - type: {ty}\n        name: s\n        config:\n          source_id: ${{event.source_id}}\n{body}"
        )
    };
    let cases = [
        (
            step("step.cdc_monitor", "          warning_multiplier: 5\n"),
            12,
            "warning_multiplier: must be more than 0",
        ),
        (
            step(
                "step.cdc_backpressure",
                "          threshold_lag_bytes: -1\n",
            ),
            12,
            "threshold_lag_bytes: must be 0 (off) or more",
        ),
        (
            step(
                "step.cdc_backpressure",
                "          thresholds: { lag_seconds: 1.5 }\n",
            ),
            12,
            "thresholds.lag_seconds",
        ),
        (
            step("step.cdc_backpressure", "          action: ${ACT}\n"),
            12,
            "action: must be one of check, throttle, resume; got \"${ACT}\"",
        ),
        (
            step("step.cdc_snapshot", "          tables: [ok, \"a b\"]\n"),
            12,
            "tables[1]: is invalid",
        ),
        (
            step("step.cdc_schema_history", "          table: a.b.c\n"),
            12,
            "table: is invalid",
        ),
        (
            step("step.cdc_start", "          tables: \"${ACT}\"\n"),
            12,
            "tables: is invalid: invalid type: a string",
        ),
        (status("s", ""), 11, "config.source_id: is required"),
    ];
    for (steps, line, needle) in cases {
        let out = cdc(
            dir.path(),
            "validate",
            &config(std::slice::from_ref(&steps)),
            &[("ACT", MARK)],
            "",
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{steps}: {err}");
        assert!(
            err.contains(&format!("t.yaml:{line}: triggers[0].steps[0].config.")),
            "{steps}: {err}"
        );
        assert!(err.contains(needle), "{steps}: no {needle:?} in {err}");
        assert!(!err.contains(MARK), "{err}");
    }
    // References leave their fields to be checked per event; the rest still is.
    let ok = step(
        "step.cdc_backpressure",
        "          threshold_lag_bytes: ${event.after.n}\n          thresholds: { lag_seconds: \"${event.after.s}\" }\n          action: check\n",
    );
    let out = cdc(dir.path(), "validate", &config(&[ok]), &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_huge_template_loads_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    // ~4 MiB of references, the most a config file may hold: seconds of quadratic
    // position counting before (one count from the start of the value per `${`).
    let template = "${event.a}".repeat(400_000);
    let yaml = config(&[status("s", &template)]);
    let began = Instant::now();
    let out = cdc(dir.path(), "validate", &yaml, &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let took = began.elapsed();
    assert!(took < Duration::from_secs(8), "validate took {took:?}");
}
