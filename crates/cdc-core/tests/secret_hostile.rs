//! Passwords holding every character people put in them, in every connection-string shape,
//! through every way a config is shown: [`SecretString`]'s `Display` / `Debug` /
//! `Serialize`, a source's `Debug` (its options through `mask_json`), free text through
//! `redact_text`, and the errors of a config that does not parse. The marker never shows.

use cdc_core::SourceConfig;
use cdc_core::secret::{SecretString, mask_json, redact_text};
use serde_json::json;

const MARK: &str = "zq9MARK";

/// Passwords with the characters that end a URL part, quote, escape or break a line.
fn passwords() -> Vec<String> {
    [
        "/?#@:",
        "'\"\\",
        " \t",
        "\n\r",
        "%40%2F",
        ";&,=",
        "{}[]*&!|>'%",
        "ü€😀",
        "${X}",
    ]
    .iter()
    .map(|mid| format!("{MARK}{mid}{MARK}"))
    .collect()
}

/// Each connection-string shape, with `pw` in it as a user would type it.
fn shapes(pw: &str) -> Vec<String> {
    let quoted = pw.replace('\\', "\\\\").replace('\'', "\\'");
    vec![
        format!("postgres://app:{pw}@db:5432/shop?sslmode=require"),
        format!("postgres://app:{pw}@db/shop"),
        format!("app:{pw}@tcp(db:3306)/shop"),
        // In a query string the value ends at `&`, so it is written encoded there.
        format!("postgres://db/shop?user=app&password={}", encode(pw)),
        format!("host=db user=app password='{quoted}' dbname=shop"),
        format!("host=db user=app password = '{quoted}' dbname=shop"),
        format!("Server=db;Pwd='{quoted}';Database=shop"),
    ]
}

/// `pw` percent-encoded, every byte but letters and digits.
fn encode(pw: &str) -> String {
    pw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn assert_hidden(shown: &str, what: &str) {
    assert!(!shown.contains(MARK), "{what}: {shown}");
}

#[test]
fn secret_strings_never_show_the_password_whatever_it_holds() {
    for pw in passwords() {
        for raw in shapes(&pw) {
            let s = SecretString::new(raw.clone());
            assert_hidden(&s.to_string(), &raw);
            assert_hidden(&format!("{s:?}"), &raw);
            assert_hidden(&serde_json::to_string(&s).unwrap(), &raw);
        }
    }
}

#[test]
fn libpq_blanks_around_the_equals_sign_still_mask_the_password() {
    for raw in [
        format!("host=h password = {MARK} dbname=d"),
        format!("host=h password= {MARK}"),
        format!("host=h password ={MARK}"),
        format!("host=h password\t=\t{MARK}"),
    ] {
        let shown = SecretString::new(raw.clone()).to_string();
        assert_hidden(&shown, &raw);
        assert!(shown.starts_with("host=h password"), "{shown}");
    }
}

#[test]
fn a_url_password_with_blanks_is_masked_in_options_and_free_text() {
    let url = format!("postgres://app:{MARK} x {MARK}@db/shop");
    let masked = mask_json(&json!({ "sink": url, "list": [url.clone()] })).to_string();
    assert_hidden(&masked, "mask_json");
    assert!(masked.contains("@db/shop"), "{masked}");
    let text = redact_text(&format!("cannot reach \"{url}\" (see ops@example.com)"));
    assert_hidden(&text, "redact_text");
    assert!(text.ends_with("(see ops@example.com)"), "{text}");
    // A URL without userinfo, or with a port, is left alone.
    let plain = "connect to postgres://db:5432 for ops@example.com";
    assert_eq!(redact_text(plain), plain);
}

#[test]
fn a_config_that_does_not_parse_never_quotes_the_value() {
    let dsn = format!("postgres://app:{MARK}@db/shop");
    let yaml = format!("source_id: a\ntables: {dsn}\n");
    let json = json!({ "source_id": "a", "tables": dsn });
    for err in [
        SourceConfig::from_yaml(&yaml).unwrap_err(),
        SourceConfig::from_json(&json.to_string()).unwrap_err(),
        SourceConfig::from_value(json.clone()).unwrap_err(),
        SourceConfig::from_value(json!({ "source_id": "a", "provider": 7, "connection": [dsn] }))
            .unwrap_err(),
    ] {
        let shown = err.to_string();
        assert_hidden(&shown, "error");
        assert!(shown.contains("source"), "{shown}");
    }
}
