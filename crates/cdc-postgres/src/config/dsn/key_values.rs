//! The key=value form of a connection string (`host=db user=app password='p w'`) as
//! `(key, value)` pairs, with libpq's quoting and escapes.

use super::err;
use crate::error::Result;

/// `k=v k2='v 2'` pairs, libpq style (spaces around `=` allowed, `\'` and `\\` in quotes).
pub(super) fn parse_key_values(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_ws(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            return Err(err(format!(
                "item {} has no '=' (use key=value pairs or a postgres:// URL; quote a value with spaces)",
                pairs.len() + 1
            )));
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(err(format!(
                    "the value of item {} has no closing quote",
                    pairs.len() + 1
                )));
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    value.push(chars[i + 1]);
                    i += 2;
                } else {
                    value.push(chars[i]);
                    i += 1;
                }
            }
        }
        if key.is_empty() {
            return Err(err("has a value without a key"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}
