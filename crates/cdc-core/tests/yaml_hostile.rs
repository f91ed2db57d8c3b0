//! Hostile YAML fed to `cdc_core::yaml::from_str`: bombs end in a bounded error, and what
//! YAML would silently reinterpret (a repeated key hidden by a merge, an `!include` read as
//! text) is refused with its line.
//!
//! No timing is asserted: each parse runs in a thread and the test fails only if it has not
//! finished after [`GUARD`], far above what any case needs.

use std::sync::mpsc;
use std::time::Duration;

use cdc_core::yaml::{MAX_DEPTH, MAX_NODES, YamlError, from_str};
use serde_json::Value;

/// Only a hang (or a quadratic blow-up) gets there.
const GUARD: Duration = Duration::from_secs(20);

/// Parses `input` as an untyped value in a thread, failing the test on a hang or a panic.
fn parse(input: String) -> Result<Value, YamlError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(from_str::<Value>(&input));
    });
    rx.recv_timeout(GUARD)
        .expect("the parse neither finished nor failed in time (or it panicked)")
}

fn refused(input: &str) -> YamlError {
    match parse(input.to_owned()) {
        Ok(v) => panic!("accepted {input:?} as {v}"),
        Err(e) => e,
    }
}

#[test]
fn merge_keys_are_refused_so_no_repeated_key_is_silently_dropped() {
    // `<<` twice: YAML merge kept the first and dropped the second without a word.
    let e = refused("c:\n  <<: {x: 1}\n  <<: {x: 2}\n");
    assert_eq!(e.line, Some(2), "{e:?}");
    assert!(
        e.message.contains("merge keys (`<<`) are not supported"),
        "{e:?}"
    );
    // An override through a merge is the same silent last-wins.
    let e = refused("base: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n");
    assert_eq!(e.line, Some(3), "{e:?}");
    // Plain anchors and aliases still work.
    let v = parse("base: &b {x: 1}\nc: *b\n".into()).unwrap();
    assert_eq!(v["c"]["x"], 1);
}

#[test]
fn unknown_tags_are_refused_instead_of_being_read_as_text() {
    for (input, tag) in [
        ("a: !include other.yaml\n", "!include"),
        ("a:\n  b: !secret DB_PASSWORD\n", "!secret"),
        ("a: !<tag:example.com,2000:x> 1\n", "tag:example.com"),
        ("!custom a: 1\n", "!custom"),
    ] {
        let e = refused(input);
        assert!(e.line.is_some(), "{input:?}: {e:?}");
        assert!(
            e.message.contains("is not supported") && e.message.contains(tag),
            "{input:?}: {e:?}"
        );
    }
    // YAML's own tags stay usable.
    let v = parse("a: !!str 12\nb: !!int \"7\"\n".into()).unwrap();
    assert_eq!(v["a"], "12");
    assert_eq!(v["b"], 7);
}

#[test]
fn duplicate_keys_name_the_key_and_line_for_a_person_not_a_developer() {
    for (input, key, line) in [
        ("a: 1\nb: 2\na: 3\n", "a", 3),
        ("a: 1\n\"a\": 3\n", "a", 2),
        ("x:\n  y:\n    k: 1\n    k: 2\n", "k", 4),
        ("[{p: 1, p: 2}]\n", "p", 1),
    ] {
        let e = refused(input);
        assert_eq!(e.line, Some(line), "{input:?}: {e:?}");
        assert!(
            e.message.contains(&format!("duplicate key `{key}`")),
            "{input:?}: {e:?}"
        );
        assert!(!e.message.contains("DuplicateKeyPolicy"), "{e:?}");
    }
}

#[test]
fn a_second_document_is_refused_with_its_line() {
    let e = refused("a: 1\n---\nb: 2\n");
    assert_eq!(e.line, Some(3), "{e:?}");
    assert!(e.message.contains("second YAML document"), "{e:?}");
    assert!(!e.message.contains("from_str_multiple"), "{e:?}");
    // Thousands of documents stop at the second.
    let e = refused(&"---\na: 1\n".repeat(50_000));
    assert_eq!(e.line, Some(4), "{e:?}");
}

#[test]
fn bombs_end_in_a_bounded_error() {
    // Billion laughs: 10 levels of 10 aliases each.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = "a".to_owned();
    for i in 0..10 {
        bomb.push_str(&format!(
            "l{i}: &l{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = format!("l{i}");
    }
    refused(&bomb);
    // 100 000 levels, flow and block, sequences and maps (block maps indent one more
    // column a level: 3 000 levels are already 4.5 MB).
    for deep in [
        "[".repeat(100_000) + &"]".repeat(100_000),
        "{a: ".repeat(100_000) + &"}".repeat(100_000),
        "- ".repeat(100_000) + "x\n",
        (0..3_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>(),
    ] {
        let e = refused(&deep);
        assert!(e.line.is_some(), "{e:?}");
    }
    let e = refused(&("- ".repeat(MAX_DEPTH + 1) + "x\n"));
    assert!(e.message.contains("deeper than"), "{e:?}");
    // Too many values, and too much text.
    let many: String = (0..MAX_NODES).map(|i| format!("- {i}\n")).collect();
    let e = refused(&many);
    assert!(
        e.message.contains(&format!("more than {MAX_NODES} values")),
        "{e:?}"
    );
    let e = refused(&format!("a: {}\n", "x".repeat(9 << 20)));
    assert!(e.message.contains("MiB"), "{e:?}");
    // A long line within the limits parses.
    let v = parse(format!("a: {}\n", "x".repeat(1 << 20))).unwrap();
    assert_eq!(v["a"].as_str().map(str::len), Some(1 << 20));
}

#[test]
fn bom_crlf_tabs_and_odd_scalars_parse_or_fail_clearly() {
    assert_eq!(parse("\u{feff}a: 1\n".into()).unwrap()["a"], 1);
    let v = parse("a: 1\r\nb: [x,\r\n y]\r\n".into()).unwrap();
    assert_eq!(v["b"][1], "y");
    assert_eq!(refused("a: 1\n\u{feff}b: 2\n").line, Some(2));
    let e = refused("a:\n\tb: 1\n");
    assert!(e.line == Some(2) && e.message.contains("tab"), "{e:?}");
    for bad in ["a: .inf\n", "a: -.inf\n", "a: .nan\n", "a: 1e999999\n"] {
        assert_eq!(refused(bad).line, Some(1), "{bad}");
    }
    for (boolish, text) in [("a: yes\n", "yes"), ("a: off\n", "off"), ("a: y\n", "y")] {
        assert_eq!(parse(boolish.into()).unwrap()["a"], text);
    }
}
