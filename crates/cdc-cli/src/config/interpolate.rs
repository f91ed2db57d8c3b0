//! `${...}` in config strings, read in one pass over the text as the file writes it.
//!
//! - `${VAR}` and `${VAR:-default}` (a name is `[A-Za-z_][A-Za-z0-9_]*`): the environment,
//!   replaced when the file is read. What a variable (or a default) brings is text: it is
//!   never read for references again, so a value holding `${event.before}` or `$${x}` stays
//!   those characters, in a step config too.
//! - `$${` writes a literal `${`, which stays literal: a step never expands it per event.
//! - A reference that starts with `event.` or `steps.` (or `event[`, `steps[`), and any
//!   other with a dot and no `:-` (`${file:/secrets.properties:pw}`, a Kafka Connect
//!   config-provider reference), is not an environment variable. In a step config it is a
//!   per-event reference (see `crate::run::refs`); elsewhere it stays as written.

/// One piece of a config string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (`$${` already turned into `${`, environment values put in).
    Text(String),
    /// A per-event reference: what is between `${` and `}`.
    Ref(Reference),
}

/// A per-event reference as the file writes it, with the character it starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// What is between `${` and `}`.
    pub body: String,
    /// 1-based character position of its `${` in the value.
    pub at: usize,
}

/// The pieces of `text`, adjacent texts merged. `lookup` returns a variable's value.
/// Errors: an unset variable without default (naming it), a bad name, an unclosed `${`. An
/// error gives the position in the value, never the value's text: the value may be a
/// password that merely holds a `$`.
pub fn pieces(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    // 1-based character position of the `${` at byte `offset`: counted only for a message
    // or a reference, so that a value of many `${` stays linear to read.
    let char_at = |offset: usize| text[..offset].chars().count() + 1;
    let mut counted = (0usize, 1usize); // (byte offset, its character position)
    let mut position = |offset: usize| {
        let (o, c) = counted;
        let c = c + text[o..offset].chars().count();
        counted = (offset, c);
        c
    };
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            lit.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            lit.push('$');
            rest = &after[1..];
            continue;
        };
        let offset = text.len() - after.len();
        let Some(end) = body_start.find('}') else {
            return Err(format!(
                "unclosed \"${{\" at character {} of the value (write $${{ for a literal ${{)",
                char_at(offset)
            ));
        };
        let body = &body_start[..end];
        rest = &body_start[end + 1..];
        if is_reference(body) {
            if !lit.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut lit)));
            }
            out.push(Piece::Ref(Reference {
                body: body.to_owned(),
                at: position(offset),
            }));
            continue;
        }
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err(format!(
                "the \"${{...}}\" at character {} of the value is not a valid reference: use ${{NAME}} or ${{NAME:-default}} with NAME of letters, digits and '_' (or $${{ for a literal ${{)",
                char_at(offset)
            ));
        }
        match (lookup(name), default) {
            (Some(v), _) => lit.push_str(&v),
            (None, Some(d)) => lit.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (and ${{{name}}} has no default; write ${{{name}:-default}} for one)"
                ));
            }
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || out.is_empty() {
        out.push(Piece::Text(lit));
    }
    Ok(out)
}

/// Replaces the environment references of `text` (a value outside step configs): the
/// result is plain text, with per-event references written back as they were.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text, lookup)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Ref(r) => {
                out.push_str("${");
                out.push_str(&r.body);
                out.push('}');
            }
        }
    }
    Ok(out)
}

/// Whether a `${...}` body is a per-event reference rather than an environment variable.
fn is_reference(body: &str) -> bool {
    ["event.", "event[", "steps.", "steps["]
        .iter()
        .any(|p| body.starts_with(p))
        || (body.contains('.') && !body.contains(":-"))
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "USER" => Some("app".into()),
            "EMPTY" => Some(String::new()),
            "INJECT" => Some("${event.before}$${x}".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_and_defaults() {
        let f = |t: &str| interpolate(t, &env);
        assert_eq!(f("postgres://${USER}@db").unwrap(), "postgres://app@db");
        assert_eq!(f("${NOPE:-fallback}/x").unwrap(), "fallback/x");
        assert_eq!(f("${USER:-other}").unwrap(), "app");
        assert_eq!(f("${EMPTY:-d}").unwrap(), "");
        assert_eq!(f("cost $5 and $${USER}").unwrap(), "cost $5 and ${USER}");
        assert_eq!(f("${steps.check.state}").unwrap(), "${steps.check.state}");
        assert_eq!(f("${event.table}").unwrap(), "${event.table}");
        assert_eq!(
            f("${file:/s.properties:pw}").unwrap(),
            "${file:/s.properties:pw}"
        );
    }

    #[test]
    fn pieces_keep_environment_values_and_escapes_as_text() {
        let p = pieces("é${INJECT}$${event.a}${event.b}", &env).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Text("é${event.before}$${x}${event.a}".into()),
                Piece::Ref(Reference {
                    body: "event.b".into(),
                    at: 22
                }),
            ]
        );
        assert_eq!(pieces("", &env).unwrap(), vec![Piece::Text(String::new())]);
    }

    #[test]
    fn errors_name_the_variable() {
        let err = interpolate("x ${DB_PASSWORD} y", &env).unwrap_err();
        assert!(err.contains("DB_PASSWORD is not set"), "{err}");
        assert!(
            interpolate("${1BAD}", &env)
                .unwrap_err()
                .contains("not a valid")
        );
        let err = interpolate("pw${OPEN-MARK", &env).unwrap_err();
        assert!(
            err.contains("unclosed") && err.contains("character 3"),
            "{err}"
        );
        for bad in ["a${MARK-x y}b", "${MARK", "x${1MARK}"] {
            let err = interpolate(bad, &env).unwrap_err();
            assert!(!err.contains("MARK"), "{bad}: {err}");
        }
    }
}
