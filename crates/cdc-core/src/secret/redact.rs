//! Masking the credentials inside a connection string, or inside free text quoting one.
//!
//! Two passes, in this order:
//! 1. `key=value` pairs (libpq, ODBC, JDBC, URL query strings, JAAS): the value of every key
//!    [`is_secret_key`] names is masked, to the next separator or its closing quote;
//! 2. userinfo: in a URL, everything between `scheme://` and the **last** `@` of the string is
//!    credentials. Cutting at the last `@` rather than at the end of an RFC 3986 authority is
//!    deliberate: a password holding `/`, `?`, `#`, `@` or `:` (typed unencoded, as people do)
//!    would otherwise end the authority early and be shown. Without a scheme, the text before
//!    the last `@` is credentials when it has the `user:password` form (`app:pw@tcp(db)/x`,
//!    a DSN that lost its `:`); a bare `name@host` there is an address, not a secret.
//!
//! A URL without userinfo whose port is not a number (`postgres://user:secret/db`, a DSN missing
//! its `@host`) has that "port" masked too: it is probably a password.

use super::MASK;
use super::keys::is_secret_key;

/// Masks the credentials of one connection string of any of the usual shapes:
///
/// - URL userinfo: `postgres://user:pw@host/db` → `postgres://user:***@host/db`, also with
///   `/ ? # @ :` in the password, and without a scheme (`user:pw@tcp(host:3306)/db`);
/// - secret query parameters: `...?password=pw&sslmode=require` → `...?password=***&sslmode=require`;
/// - secret `key=value` pairs: `host=h password=pw` → `host=h password=***`,
///   `Server=h;Pwd=pw;` → `Server=h;Pwd=***;`.
///
/// The user name is kept when it is a plain name; anything odder is masked with the password.
/// A string with none of these shapes is returned unchanged (a [`super::Secret`] field is the
/// way to hide a value that has no structure).
pub fn redact(raw: &str) -> String {
    redact_userinfo(&redact_key_values(raw))
}

/// [`redact`] applied to every whitespace-separated word of `text` (an error message, a log
/// line that may quote connection strings), after masking its secret `key=value` pairs.
///
/// A URL whose password holds whitespace (`postgres://u:p w@h/db`, typed unencoded) spans
/// several words: its userinfo is masked through the word holding the `@`.
pub fn redact_text(text: &str) -> String {
    let kv = redact_key_values(text);
    let words = word_ranges(&kv);
    let mut out = String::with_capacity(kv.len());
    let mut shown = 0;
    let mut w = 0;
    while w < words.len() {
        let (start, end) = words[w];
        let last = userinfo_spans_to(&kv, &words, w).unwrap_or(w);
        let end = if last > w { words[last].1 } else { end };
        out.push_str(&kv[shown..start]);
        out.push_str(&redact_userinfo(&kv[start..end]));
        shown = end;
        w = last + 1;
    }
    out.push_str(&kv[shown..]);
    out
}

/// The byte ranges of the whitespace-separated words of `text`.
fn word_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

/// When word `w` is a URL cut at whitespace inside its userinfo (`postgres://u:p` of
/// `postgres://u:p w@h/db`: after the scheme a `user:x` with no `@`, no path, and `x` not
/// a port), the index of the later word holding the `@` that ends it, if one comes before
/// the next URL. Each scan stops at the next URL, so the whole text costs linear time.
fn userinfo_spans_to(text: &str, words: &[(usize, usize)], w: usize) -> Option<usize> {
    let word = &text[words[w].0..words[w].1];
    let after = &word[word.find("://")? + 3..];
    let (_, port) = after.split_once(':')?;
    if after.contains(['@', '/', '?', '#']) || port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    for (j, &(s, e)) in words.iter().enumerate().skip(w + 1) {
        let next = &text[s..e];
        if next.contains("://") {
            return None;
        }
        if next.contains('@') {
            return Some(j);
        }
    }
    None
}

/// A serde error message without the values it quotes: `invalid type: string "hunter2",
/// expected u32` becomes `invalid type: a string, expected u32`. Serde quotes the offending
/// value, which may be a secret typed into the wrong field; the field path says enough.
pub fn scrub_serde_message(message: &str) -> String {
    const QUOTED: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(QUOTED) {
        out.push_str(&rest[..start]);
        out.push_str("a string");
        let body = &rest.as_bytes()[start + QUOTED.len() - 1..];
        let end = closing_quote(body, 0, b'"');
        rest = &rest[start + QUOTED.len() - 1 + end..];
    }
    out.push_str(rest);
    out
}

/// Masks everything before the last `@` (after the scheme), keeping a plain user name.
fn redact_userinfo(raw: &str) -> String {
    let (prefix, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    match rest.rfind('@') {
        Some(at) if !prefix.is_empty() || rest[..at].contains(':') => {
            format!("{prefix}{}{}", mask_userinfo(&rest[..at]), &rest[at..])
        }
        None if !prefix.is_empty() => format!("{prefix}{}", mask_odd_port(rest)),
        _ => raw.to_owned(),
    }
}

/// `user:password` → `user:***`; a lone `token` or an odd user → `***`.
fn mask_userinfo(userinfo: &str) -> String {
    let plain = |u: &str| {
        !u.is_empty()
            && u.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%'))
    };
    match userinfo.split_once(':') {
        Some((user, _)) if plain(user) => format!("{user}:{MASK}"),
        _ => MASK.to_owned(),
    }
}

/// `host:port...` where the port is not digits: the "port" is masked.
fn mask_odd_port(rest: &str) -> String {
    // Also `;` and `,`: JDBC URLs carry `;key=value` parameters, broker lists commas.
    let end = rest.find(['/', '?', '#', ';', ',']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.starts_with('[') {
        return rest.to_owned(); // IPv6 literal: its colons are not a port
    }
    match authority.rfind(':') {
        Some(colon) => {
            let port = &authority[colon + 1..];
            if port.is_empty() || port.bytes().all(|b| b.is_ascii_digit()) {
                rest.to_owned()
            } else {
                format!("{}:{MASK}{}", &authority[..colon], &rest[end..])
            }
        }
        None => rest.to_owned(),
    }
}

/// Masks values of secret keys in `k=v` pairs separated by spaces, `;`, `&` or `,`. Blanks
/// around the `=` are allowed, as libpq allows them (`password = pw` is a password).
fn redact_key_values(raw: &str) -> String {
    let blank = |c: char| c == ' ' || c == '\t';
    let mut out = String::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        // Find the next '='; the key is the run of key characters before it (and its blanks).
        let Some(eq_rel) = raw[i..].find('=') else {
            out.push_str(&raw[i..]);
            break;
        };
        let eq = i + eq_rel;
        let key_end = raw[i..eq].trim_end_matches(blank).len() + i;
        // The key starts after the last character that cannot be in one, which may be wider
        // than a byte (`ü=`, `€password=`): step over all of it.
        let key_start = raw[..key_end]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map(|(p, c)| p + c.len_utf8())
            .unwrap_or(0)
            .max(i);
        let key = &raw[key_start..key_end];
        out.push_str(&raw[i..=eq]);
        if key.is_empty() || !is_secret_key(key) {
            i = eq + 1;
            continue;
        }
        let value_start = raw.len() - raw[eq + 1..].trim_start_matches(blank).len();
        out.push_str(&raw[eq + 1..value_start]);
        // The value runs to the next separator; a quoted value runs to its closing quote.
        let value_end = match bytes.get(value_start) {
            Some(&q @ (b'\'' | b'"')) => closing_quote(bytes, value_start, q),
            _ => raw[value_start..]
                .find([' ', ';', '&', ',', '\t', '\n', '\r'])
                .map(|p| value_start + p)
                .unwrap_or(raw.len()),
        };
        if value_end > value_start {
            out.push_str(MASK);
        }
        i = value_end.max(value_start);
    }
    out
}

/// The index just after the quote closing the one at `open` (backslash escapes skipped), or
/// the end of the text when it is not closed.
fn closing_quote(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut j = open + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b if b == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_userinfo_whatever_the_password_holds() {
        for (raw, want) in [
            (
                "postgres://user:s3cret@host/db",
                "postgres://user:***@host/db",
            ),
            (
                "postgres://user:p@ss:w@rd@host:5432/db?sslmode=require",
                "postgres://user:***@host:5432/db?sslmode=require",
            ),
            ("postgres://u:a/b?c#d@h/db", "postgres://u:***@h/db"),
            ("postgres://u:a/b@h/db@x", "postgres://u:***@x"),
            ("mysql://root@host/db", "mysql://***@host/db"),
            ("https://ghp_TOKEN@github.com/x", "https://***@github.com/x"),
            ("http://localhost:8083", "http://localhost:8083"),
            ("http://[::1]:8083/x", "http://[::1]:8083/x"),
            ("user:pw@host:5432", "user:***@host:5432"),
            ("app:p/w@tcp(db:3306)/shop", "app:***@tcp(db:3306)/shop"),
            ("postgres//u:pw@h/db", "***@h/db"),
            ("postgres://u:pw/db", "postgres://u:***/db"),
            ("ops@example.com", "ops@example.com"),
            ("broker-1:9092,broker-2:9092", "broker-1:9092,broker-2:9092"),
        ] {
            assert_eq!(redact(raw), want, "{raw}");
        }
    }

    #[test]
    fn masks_query_and_key_values() {
        assert_eq!(
            redact("postgres://host/db?user=u&password=pw&sslmode=require"),
            "postgres://host/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact("host=h user=u password=pw dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact("host=h password='a b\\' c' dbname=d"),
            "host=h password=*** dbname=d"
        );
        assert_eq!(
            redact("host=h password=p@ss x=1"),
            "host=h password=*** x=1"
        );
        assert_eq!(redact("Server=h;Pwd=pw;Db=d"), "Server=h;Pwd=***;Db=d");
        assert_eq!(
            redact("jdbc:sqlserver://h:1433;databaseName=d;password=pw"),
            "jdbc:sqlserver://h:1433;databaseName=d;password=***"
        );
        assert_eq!(
            redact("PlainLoginModule required username=\"u\" password=\"p w;\";"),
            "PlainLoginModule required username=\"u\" password=***;"
        );
        assert_eq!(redact("plain-value"), "plain-value");
    }

    #[test]
    fn a_wide_character_just_before_a_key_is_stepped_over() {
        for wide in ["ü", "€", "😀", "\u{110a8}"] {
            assert_eq!(
                redact(&format!("x{wide}password=pw y")),
                format!("x{wide}password=*** y")
            );
            assert_eq!(redact(&format!("{wide}=v")), format!("{wide}=v"));
            assert_eq!(
                redact_text(&format!("{wide}{wide}=")),
                format!("{wide}{wide}=")
            );
        }
    }

    #[test]
    fn free_text_masks_every_quoted_connection_string() {
        let text = "cannot connect to \"postgres://u:pw@h/db\" (via mysql://a:b@c) token=t x";
        let out = redact_text(text);
        for secret in ["pw@", "a:b", "=t"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("h/db") && out.ends_with(" x"), "{out}");
    }

    #[test]
    fn serde_messages_lose_their_quoted_values() {
        assert_eq!(
            scrub_serde_message("invalid type: string \"hun\\\"ter2\", expected u32 at line 1"),
            "invalid type: a string, expected u32 at line 1"
        );
        assert_eq!(
            scrub_serde_message("missing field `x`"),
            "missing field `x`"
        );
    }
}
