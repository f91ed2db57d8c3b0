//! Debezium's temporal integers (days, time of day and timestamps in milli-, micro- or
//! nanoseconds) as ISO-8601 text. Apart from the decimals: calendar arithmetic, no big
//! numbers.

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn format_date(days: i64) -> Result<String, String> {
    let d = date_of(days)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

fn date_of(days: i64) -> Result<time::Date, String> {
    let jd = days
        .checked_add(2_440_588)
        .and_then(|jd| i32::try_from(jd).ok())
        .ok_or_else(|| format!("date {days} days from epoch is out of range"))?;
    time::Date::from_julian_day(jd)
        .map_err(|_| format!("date {days} days from epoch is out of range"))
}

fn frac_digits(per_second: i64) -> usize {
    match per_second {
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    }
}

/// Units since midnight → `HH:MM:SS.fff` (3, 6 or 9 fraction digits by unit).
pub fn format_time_of_day(n: i64, per_second: i64) -> Result<String, String> {
    if n < 0 || n >= 86_400 * per_second + per_second {
        return Err(format!("time of day {n} is out of range"));
    }
    let secs = n / per_second;
    let frac = n % per_second;
    Ok(format!(
        "{:02}:{:02}:{:02}.{:0w$}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        frac,
        w = frac_digits(per_second)
    ))
}

/// Units since the epoch (no zone) → `YYYY-MM-DDTHH:MM:SS.fff`.
pub fn format_timestamp(n: i64, per_second: i64) -> Result<String, String> {
    let secs = n.div_euclid(per_second);
    let frac = n.rem_euclid(per_second);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let d = date_of(days)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:0w$}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        frac,
        w = frac_digits(per_second)
    ))
}
