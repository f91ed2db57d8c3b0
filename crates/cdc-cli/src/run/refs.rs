//! Per-event references in step configs: `${event.<path>}` and `${steps.<name>.<path>}`.
//!
//! Each step of a trigger runs with the scope `{"event": <the event's Go-style JSON>,
//! "steps": {<earlier step name>: <its output>}}`. A string that is exactly one reference
//! becomes the referenced JSON value (a number stays a number); a reference inside a longer
//! string is replaced by the value's text.

use serde_json::Value;

/// The references (`event.table`, `steps.check.lag_bytes`) in `text`, in order.
pub fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        let body = &rest[pos + 2..];
        let Some(end) = body.find('}') else { break };
        let r = &body[..end];
        if r == "event" || r.starts_with("event.") || r.starts_with("steps.") || r.contains('.') {
            out.push(r.to_owned());
        }
        rest = &body[end + 1..];
    }
    out
}

/// `config` with every reference replaced from `scope`. A missing value is an error naming
/// the reference.
pub fn resolve(config: &Value, scope: &Value) -> Result<Value, String> {
    Ok(match config {
        Value::String(s) => resolve_str(s, scope)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve(v, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, scope)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn lookup<'a>(scope: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let mut cur = scope;
    for part in reference.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part),
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| format!("${{{reference}}} is not set for this event"))?;
    }
    Ok(cur)
}

fn resolve_str(s: &str, scope: &Value) -> Result<Value, String> {
    let refs = references(s);
    if refs.is_empty() {
        return Ok(Value::String(s.to_owned()));
    }
    if refs.len() == 1 && s == format!("${{{}}}", refs[0]) {
        return lookup(scope, &refs[0]).cloned();
    }
    // One pass over the template: text put in for a reference is never searched again, so
    // an event value holding `${event.x}` stays that text instead of being expanded (or
    // being replaced in place of the template's own later reference).
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    for r in refs {
        let token = format!("${{{r}}}");
        let Some(at) = rest.find(&token) else { break };
        out.push_str(&rest[..at]);
        match lookup(scope, &r)? {
            Value::String(t) => out.push_str(t),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_references_keep_their_type_and_embedded_ones_become_text() {
        let scope = json!({"event": {"table": "public.orders", "after": {"id": 7}},
                           "steps": {"check": {"lag_bytes": 0, "state": "running"}}});
        let cfg = json!({"source_id": "${event.after.id}", "note": "${event.table} is ${steps.check.state}",
                         "n": "${steps.check.lag_bytes}", "plain": 1});
        assert_eq!(
            resolve(&cfg, &scope).unwrap(),
            json!({"source_id": 7, "note": "public.orders is running", "n": 0, "plain": 1})
        );
        let err = resolve(&json!("${steps.nope.x}"), &scope).unwrap_err();
        assert!(err.contains("${steps.nope.x}"), "{err}");
        assert_eq!(
            references("a ${event.table} b ${HOME} ${steps.x.y}"),
            vec!["event.table", "steps.x.y"]
        );
    }

    #[test]
    fn text_from_an_event_is_never_expanded_again() {
        // Row data is whatever the database holds: a value that looks like a reference
        // stays text, and the template's own references keep their places.
        let scope = json!({"event": {"after": {"a": "${event.after.b}", "b": "B"}}});
        let cfg = json!("a=${event.after.a} b=${event.after.b}");
        assert_eq!(
            resolve(&cfg, &scope).unwrap(),
            json!("a=${event.after.b} b=B")
        );
    }
}
