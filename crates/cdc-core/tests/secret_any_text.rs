//! Every masking function takes any text: whatever characters surround the `=`, `@`, `://`,
//! quotes and separators it looks for (wide ones above all, where a byte offset off by one
//! lands inside a character), it returns without panicking, keeps text with nothing to mask
//! unchanged, and never shows a secret key's value.

use cdc_core::secret::{mask_json, redact, redact_text, scrub_serde_message};
use proptest::prelude::*;
use serde_json::json;

/// Texts built from the pieces the maskers react to, mixed with characters of every width.
fn texts() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("=".to_owned()),
        Just("@".to_owned()),
        Just("://".to_owned()),
        Just(":".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("string \"".to_owned()),
        Just("password".to_owned()),
        Just("pwd".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just(";".to_owned()),
        Just("&".to_owned()),
        Just(",".to_owned()),
        Just("/".to_owned()),
        Just("[".to_owned()),
        "[a-z0-9_.-]{1,4}",
        "[ü€😀𑊨\u{a0}\u{2028}\u{3000}]{1,2}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_masked_without_a_panic(text in texts()) {
        let _ = redact(&text);
        let _ = redact_text(&text);
        let _ = scrub_serde_message(&text);
        let masked = mask_json(&json!({ "dsn": text, "list": [text], "password": text }));
        prop_assert!(masked["password"] == "***" || text.is_empty(), "{masked}");
    }

    #[test]
    fn a_password_after_any_text_is_masked(prefix in texts(), pw in "[a-zA-Z0-9]{6,12}") {
        // A blank before the key: the key is a word of its own whatever the prefix ends with.
        let text = format!("{prefix} password={pw}Z9 tail");
        let secret = format!("{pw}Z9");
        for shown in [redact(&text), redact_text(&text)] {
            prop_assert!(!shown.contains(&secret), "{:?} -> {:?}", text, shown);
        }
    }

    #[test]
    fn text_without_any_marker_is_returned_as_it_is(text in "[^=@:'\"\\\\]{0,40}") {
        prop_assert_eq!(redact(&text), text.clone());
        prop_assert_eq!(redact_text(&text), text);
    }
}
