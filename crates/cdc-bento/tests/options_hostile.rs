//! `poll_interval` values Bento would read as zero (or as a busy loop) are refused, naming
//! the option; the documented range is 1ms ..= 24h.

use cdc_bento::BentoOptions;

fn with_poll_interval(value: &str) -> Result<(), (String, String)> {
    let options: BentoOptions =
        serde_json::from_value(serde_json::json!({ "poll_interval": value })).unwrap();
    options.check_ranges()
}

#[test]
fn a_poll_interval_under_a_millisecond_is_refused() {
    // `0.1ns` is not zero for us, but Go's ParseDuration truncates it to 0.
    for bad in ["0.1ns", "1ns", "999us", "0.5ms"] {
        let (field, message) = with_poll_interval(bad).unwrap_err();
        assert_eq!(field, "options.poll_interval", "{bad}");
        assert!(message.contains("shorter than 1ms"), "{bad}: {message}");
    }
    for ok in ["1ms", "500ms", "1s", "24h"] {
        assert!(with_poll_interval(ok).is_ok(), "{ok}");
    }
    assert!(with_poll_interval("25h").is_err());
}
