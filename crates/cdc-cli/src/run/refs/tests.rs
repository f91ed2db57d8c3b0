//! Parsing, looking up and rendering references, and the masked `Debug`.

use super::path::MAX_PARTS;
use super::*;
use serde_json::json;

fn text(parts: &[&str]) -> Template {
    Template::string(
        parts
            .iter()
            .map(|p| match p.strip_prefix('@') {
                Some(r) => Segment::Ref(Path::parse(r).unwrap()),
                None => Segment::Text((*p).to_owned()),
            })
            .collect(),
    )
}

#[test]
fn paths_quote_names_with_dots_and_refuse_what_no_event_has() {
    let event = json!({"after": {"a.b": 1, "my col": 2, "ünï": 3, "x\"y": 4, "tags": [5]}});
    let steps = Map::new();
    for (body, want) in [
        (r#"event.after["a.b"]"#, 1),
        ("event.after.my col", 2),
        ("event.after.ünï", 3),
        (r#"event.after["x\"y"]"#, 4),
        ("event.after.tags.0", 5),
        ("event.after.tags[0]", 5),
    ] {
        let p = Path::parse(body).unwrap();
        assert_eq!(p.lookup(&event, &steps).unwrap(), &json!(want), "{body}");
    }
    for body in [
        "event.after.tags.1",
        "event.after.tags.-1",
        "event.after.tags.99999999999999999999999",
        "event.after.a.b",
        "event.before.x",
    ] {
        let err = Path::parse(body)
            .unwrap()
            .lookup(&event, &steps)
            .unwrap_err();
        assert!(err.contains(body) && err.contains("not set"), "{err}");
    }
    for bad in [
        "event.",
        "event..x",
        "event.a\u{7}b",
        "event.x:-d",
        "event[\"a",
        "event[x]",
        "event[\"a\"]b",
        " event.x",
        "env.X",
        "steps.",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad}");
    }
    let deep = format!("event{}", ".a".repeat(MAX_PARTS + 1));
    assert!(Path::parse(&deep).unwrap_err().contains("parts"));
}

#[test]
fn referenced_text_is_never_read_again_and_its_size_is_bounded() {
    let event = json!({"after": {"a": "${event.after.b}", "b": "B", "n": 7, "big": "x".repeat((1 << 20) - 2)}});
    let t = text(&["${kept} a=", "@event.after.a", " n=", "@event.after.n"]);
    assert_eq!(
        t.resolve(&event, &Map::new()).unwrap(),
        json!("${kept} a=${event.after.b} n=7")
    );
    assert_eq!(
        text(&["@event.after.n"])
            .resolve(&event, &Map::new())
            .unwrap(),
        json!(7)
    );
    let many = Template::array(vec![text(&["@event.after.big"]); 17]);
    let err = many.resolve(&event, &Map::new()).unwrap_err();
    assert_eq!(err.field, "[16]", "{err}");
    assert!(err.message.contains("MiB"), "{err}");
}

#[test]
fn debug_masks_the_secrets_of_a_step_config() {
    let t = Template::object(vec![
        ("connection".into(), text(&["postgres://u:zq9MARK@db/x"])),
        (
            "options".into(),
            Template::object(vec![(
                "password".into(),
                text(&["zq9MARK", "@event.after.x"]),
            )]),
        ),
    ]);
    let shown = format!("{t:?}");
    assert!(!shown.contains("zq9MARK"), "{shown}");
}
