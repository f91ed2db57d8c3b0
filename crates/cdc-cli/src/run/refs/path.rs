//! [`Path`]: a parsed per-event reference, and looking it up in an event.

use serde_json::{Map, Value};

/// The most parts a reference has after its root (`event.after.id` has 2).
pub const MAX_PARTS: usize = 64;

/// A parsed `${event...}` or `${steps...}` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// As the file writes it (between `${` and `}`), for messages.
    written: String,
    /// `event` or `steps`, then the parts.
    parts: Vec<String>,
}

impl Path {
    /// Parses the text between `${` and `}`; the error says what is wrong, not where.
    pub fn parse(body: &str) -> Result<Self, String> {
        let root = ["event", "steps"].into_iter().find(|r| {
            body.starts_with(r) && matches!(body[r.len()..].chars().next(), Some('.' | '['))
        });
        let Some(root) = root else {
            return Err("is not one: per-event references start with event. or steps.".into());
        };
        let mut parts = vec![root.to_owned()];
        let mut rest = &body[root.len()..];
        while !rest.is_empty() {
            if parts.len() > MAX_PARTS {
                return Err(format!("has more than {MAX_PARTS} parts"));
            }
            let (part, tail) = if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() {
                    return Err("has an empty part (write [\"a.b\"] for a name with a dot)".into());
                }
                if let Some(c) = name
                    .chars()
                    .find(|c| c.is_control() || matches!(c, ']' | '"'))
                {
                    return Err(format!(
                        "has {c:?} in a part (write [\"...\"] for such a name)"
                    ));
                }
                if name.contains(":-") {
                    return Err(
                        "has a default (`:-`), which only environment variables have".into(),
                    );
                }
                (name.to_owned(), &r[end..])
            } else if let Some(r) = rest.strip_prefix('[') {
                bracketed(r)?
            } else {
                return Err("has text after a ']' (write .name or [\"name\"] there)".into());
            };
            parts.push(part);
            rest = tail;
        }
        Ok(Self {
            written: body.to_owned(),
            parts,
        })
    }

    /// The step a `steps.<name>...` reference reads the output of.
    pub fn step(&self) -> Option<&str> {
        (self.parts[0] == "steps").then(|| self.parts[1].as_str())
    }

    /// The reference as the file writes it, `${...}` included.
    pub fn written(&self) -> String {
        format!("${{{}}}", self.written)
    }

    pub(super) fn lookup<'a>(
        &self,
        event: &'a Value,
        steps: &'a Map<String, Value>,
    ) -> Result<&'a Value, String> {
        let (mut cur, start) = match self.parts[0].as_str() {
            "event" => (event, 1),
            _ => match steps.get(&self.parts[1]) {
                Some(v) => (v, 2),
                None => {
                    return Err(format!(
                        "{} is not set: step {:?} has no output for this event",
                        self.written(),
                        self.parts[1]
                    ));
                }
            },
        };
        for (i, part) in self.parts.iter().enumerate().skip(start) {
            let next = match cur {
                Value::Object(m) => m.get(part),
                Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            // Names what the path reached and its kind, never the event's data.
            cur = next.ok_or_else(|| {
                let what = match cur {
                    Value::Object(_) => format!("has no {part:?}"),
                    Value::Array(a) => {
                        format!("is a list of {} item(s), none at {part:?}", a.len())
                    }
                    other => format!("is {}", cdc::core::event::json_type_name(other)),
                };
                format!(
                    "{} is not set for this event: {} {what}",
                    self.written(),
                    self.parts[..i].join(".")
                )
            })?;
        }
        Ok(cur)
    }
}

/// `"name"]` or `3]` after a `[`: the part and what follows it.
fn bracketed(r: &str) -> Result<(String, &str), String> {
    const BAD: &str = "has a '[' not followed by a JSON string or an index, and ']'";
    if let Some(quoted) = r.strip_prefix('"') {
        let mut escaped = false;
        let end = quoted
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
            .map(|(i, _)| i + 2)
            .ok_or(BAD)?;
        let name: String = serde_json::from_str(&r[..end]).map_err(|_| BAD.to_owned())?;
        let tail = r[end..].strip_prefix(']').ok_or(BAD)?;
        return Ok((name, tail));
    }
    let end = r.find(']').ok_or(BAD)?;
    let index = &r[..end];
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD.into());
    }
    Ok((index.to_owned(), &r[end + 1..]))
}
