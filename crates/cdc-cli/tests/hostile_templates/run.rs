//! `cdc run`: what references render to, per event.

use super::*;

#[test]
fn row_data_environment_values_and_escapes_are_never_expanded_again() {
    let dir = tempfile::tempdir().unwrap();
    let steps = [
        status("row-env", "${event.after.a}"),
        status("row-before", "x${event.after.b}"),
        status("row-escape", "x${event.after.c}"),
        status("escape", "$${event.before}"),
        status("escape-env", "$${DB_PASSWORD}|$${x.y}"),
        status("env", "${INJ}"),
        status("env-escape", "<${INJ2}>"),
        status("env-default", "${UNSET_HERE:-${event.before}}"),
    ];
    let event = r#"{"op":"INSERT","table":"public.t","before":{"q":"BEFORE"},"after":{"a":"${env.DB_PASSWORD}","b":"${event.before}","c":"$${event.before}"}}"#;
    let env = [
        ("INJ", "${event.before}"),
        ("INJ2", "$${steps.row-env.x}"),
        ("DB_PASSWORD", MARK),
    ];
    let out = cdc(
        dir.path(),
        "run",
        &config(&steps),
        &env,
        &format!("{event}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recs = records(&out);
    for (step, want) in [
        ("row-env", "${env.DB_PASSWORD}"),
        ("row-before", "x${event.before}"),
        ("row-escape", "x$${event.before}"),
        ("escape", "${event.before}"),
        ("escape-env", "${DB_PASSWORD}|${x.y}"),
        ("env", "${event.before}"),
        ("env-escape", "<$${steps.row-env.x}>"),
        ("env-default", "${event.before}"),
    ] {
        assert_eq!(rendered(&recs, step), want, "{step}");
    }
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(MARK), "{all}");
}

#[test]
fn references_the_event_lacks_are_step_errors_naming_field_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let event = r#"{"op":"INSERT","table":"public.t","after":{"tags":[1]}}"#;
    for (template, why) in [
        ("x${event.after.nope}", "event.after has no \"nope\""),
        (
            "${event.after.tags.5}",
            "event.after.tags is a list of 1 item(s), none at \"5\"",
        ),
        (
            "${event.after.tags.99999999999999999999}",
            "none at \"99999999999999999999\"",
        ),
        ("${event.before.id}", "event.before is null"),
        ("${event.table.x}", "event.table is a string"),
    ] {
        let recs = run_event(dir.path(), &[status("s", template)], &[], event);
        let Some((_, Err(e))) = recs.first() else {
            panic!("{template}: no step error in {recs:?}");
        };
        assert!(
            e.contains("config.source_id: ${event.") && e.contains("is not set for this event"),
            "{e}"
        );
        assert!(e.contains(why), "{template}: no {why:?} in {e}");
    }
}

#[test]
fn columns_named_with_dots_spaces_quotes_and_unicode_can_be_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let steps = [
        status("dot", "${event.after[\"a.b\"]}"),
        status("space", "${event.after.my col}"),
        status("unicode", "${event.after.ünï}"),
        status("quote", "${event.after[\"q\\\"\"]}-"),
        status("index", "${event.after.list[1]}/${event.after.list.0}"),
    ];
    let event = r#"{"op":"INSERT","table":"t","after":{"a.b":"D","a":{"b":"nested"},"my col":"S","ünï":"U","q\"":"Q","list":["L0","L1"]}}"#;
    let recs = run_event(dir.path(), &steps, &[], event);
    for (step, want) in [
        ("dot", "D"),
        ("space", "S"),
        ("unicode", "U"),
        ("quote", "Q-"),
        ("index", "L1/L0"),
    ] {
        assert_eq!(rendered(&recs, step), want, "{step}");
    }
}

#[test]
fn whole_references_keep_their_type_and_what_references_bring_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let typed = "      - type: step.cdc_backpressure\n        name: bp\n        config: { source_id: a, threshold_lag_bytes: \"${event.after.n}\" }\n";
    let big = format!("{}{}", "${event.after.big}".repeat(30), "x");
    let steps = [typed.to_owned(), status("big", &big)];
    let event = format!(
        r#"{{"op":"INSERT","table":"t","after":{{"n":12345,"big":"{}"}}}}"#,
        "b".repeat(600_000)
    );
    let recs = run_event(dir.path(), &steps, &[], &event);
    let (_, bp) = recs.iter().find(|(s, _)| s == "bp").unwrap();
    assert_eq!(bp.as_ref().unwrap()["thresholds"]["lag_bytes"], 12345);
    let (_, r) = recs.iter().find(|(s, _)| s == "big").unwrap();
    let e = r.as_ref().unwrap_err();
    assert!(
        e.contains("config.source_id") && e.contains("16 MiB"),
        "{}",
        &e[..e.len().min(300)]
    );
}
