//! Go duration strings, as Bento reads them.

/// Checks a Go duration such as `500ms`, `1s`, `1m30s`: one or more number+unit pairs, units
/// `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`, and not zero.
pub fn validate_go_duration(value: &str) -> Result<(), String> {
    go_duration_secs(value).map(|_| ())
}

/// The length of a Go duration in seconds (see [`validate_go_duration`] for the syntax).
pub fn go_duration_secs(value: &str) -> Result<f64, String> {
    let mut rest = value;
    let mut nonzero = false;
    let mut total = 0.0_f64;
    if rest.is_empty() {
        return Err("empty duration; use a Go duration such as 500ms or 1s".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number.parse::<f64>().is_err() {
            return Err(format!(
                "{value:?} is not a Go duration (such as 500ms, 1s, 1m30s)"
            ));
        }
        if number.parse::<f64>().map(|n| n > 0.0).unwrap_or(false) {
            nonzero = true;
        }
        rest = &rest[digits..];
        let (unit, secs) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .into_iter()
        // `ms` must win over `m`: try the longer units first (the list is ordered so).
        .find(|(u, _)| rest.starts_with(u))
        .ok_or_else(|| format!("{value:?} has a number without a unit (ns, us, ms, s, m, h)"))?;
        total += number.parse::<f64>().unwrap_or(0.0) * secs;
        rest = &rest[unit.len()..];
    }
    if !nonzero {
        return Err(format!("{value:?} is zero; the interval must be positive"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_go_durations_and_rejects_others() {
        for ok in ["1s", "500ms", "1m30s", "2h", "1.5s", "100us"] {
            assert!(validate_go_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1", "s", "0s", "1 s", "1d", "-1s", "1s; rm"] {
            assert!(validate_go_duration(bad).is_err(), "{bad}");
        }
    }
}
