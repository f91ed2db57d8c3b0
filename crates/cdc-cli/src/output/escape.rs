//! Making text safe for a terminal: event data may hold control characters.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) and every bidirectional override
/// written as a `\u{..}` escape, so that event data cannot move the cursor, change colours
/// or reorder what a terminal shows. Text without any is returned as is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped_and_the_rest_kept() {
        assert_eq!(terminal_safe("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            terminal_safe("a\u{0}b\u{1b}[31mc\u{7f}\u{9b}d\u{202e}e\nf"),
            "a\\u{0}b\\u{1b}[31mc\\u{7f}\\u{9b}d\\u{202e}e\\u{a}f"
        );
    }
}
