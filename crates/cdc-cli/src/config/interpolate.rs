//! `${VAR}` and `${VAR:-default}` in config strings, from the environment.
//!
//! A name is `[A-Za-z_][A-Za-z0-9_]*`. References with a dot (`${event.table}`,
//! `${steps.check.lag_bytes}`) are not environment variables: they are left as they are for
//! the steps to resolve per event (see `crate::run::refs`). `$${` writes a literal `${`.

/// Replaces the environment references of `text`. `lookup` returns a variable's value.
/// Errors: an unset variable without default (naming it), a bad name, an unclosed `${`. An
/// error gives the position in the value, never the value's text: the value may be a
/// password that merely holds a `$`.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        // 1-based character position of this `${` in the value, for the messages below.
        let at = text[..text.len() - after.len()].chars().count() + 1;
        let Some(end) = body_start.find('}') else {
            return Err(format!(
                "unclosed \"${{\" at character {at} of the value (write $${{ for a literal ${{)"
            ));
        };
        let body = &body_start[..end];
        rest = &body_start[end + 1..];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if name.contains('.') && default.is_none() {
            // A per-event reference, resolved at run time.
            out.push_str("${");
            out.push_str(body);
            out.push('}');
            continue;
        }
        if !is_var_name(name) {
            return Err(format!(
                "the \"${{...}}\" at character {at} of the value is not a valid reference: use ${{NAME}} or ${{NAME:-default}} with NAME of letters, digits and '_' (or $${{ for a literal ${{)"
            ));
        }
        match (lookup(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (and ${{{name}}} has no default; write ${{{name}:-default}} for one)"
                ));
            }
        }
    }
    out.push_str(rest);
    Ok(out)
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
