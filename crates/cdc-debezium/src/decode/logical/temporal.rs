//! Debezium's temporal integers (days, time of day and timestamps in milli-, micro- or
//! nanoseconds) as ISO-8601 text. Apart from the decimals: calendar arithmetic, no big
//! numbers.
//!
//! Every integer a connector can write converts: these are values of real rows, and a
//! record that cannot be decoded holds its partition. So the calendar is proleptic Gregorian
//! over the whole `i64` range (years past 9999 as `+12345`, before year 0 as `-0044`, as
//! Java's `java.time`, which Debezium uses, prints them); a time of day past 24 h or before
//! 0 (MySQL `TIME` is an elapsed time, -838:59:59 to 838:59:59) is an elapsed time with as
//! many hour digits as it needs and its sign; and the values Debezium writes for
//! PostgreSQL's `infinity` / `-infinity` become those words.

/// Timestamps Debezium writes for PostgreSQL's `infinity`, in whatever unit the column has:
/// the JDBC driver's `PGStatement.DATE_POSITIVE_INFINITY` (the connector's documented
/// value) and `i64::MAX` (where newer versions saturate a unit that overflows, dbz#2524).
const TIMESTAMP_INFINITY: [i64; 2] = [9_223_372_036_825_200_000, i64::MAX];
/// The same for `-infinity` (`PGStatement.DATE_NEGATIVE_INFINITY`, `i64::MIN`).
const TIMESTAMP_NEG_INFINITY: [i64; 2] = [-9_223_372_036_832_400_000, i64::MIN];
/// Days since the epoch of Debezium's `POSITIVE_INFINITY_LOCAL_DATE` (`+5877611-06-21`),
/// what a PostgreSQL `infinity` date becomes; no real date is that late (PostgreSQL's last
/// is 5874897-12-31).
const DATE_INFINITY: i64 = 2_146_033_979;
/// Days since the epoch of `NEGATIVE_INFINITY_LOCAL_DATE` (`-5877611-06-22`).
const DATE_NEG_INFINITY: i64 = -2_147_472_692;

/// Days since 1970-01-01 → `YYYY-MM-DD`; `infinity` / `-infinity` for Debezium's values of
/// them. Total: every `i64` is a date.
pub fn format_date(days: i64) -> Result<String, String> {
    Ok(match days {
        DATE_INFINITY => "infinity".into(),
        DATE_NEG_INFINITY => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(10);
            push_date(&mut out, i128::from(days));
            out
        }
    })
}

fn frac_digits(per_second: i64) -> usize {
    match per_second {
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    }
}

/// Units since midnight → `HH:MM:SS.fff` (3, 6 or 9 fraction digits by unit). Past a day,
/// or negative, an elapsed time: `838:59:59.000000`, `-01:30:00.000000`. Total.
pub fn format_time_of_day(n: i64, per_second: i64) -> Result<String, String> {
    let per_second = i128::from(per_second.max(1));
    let n = i128::from(n);
    let abs = n.abs();
    let secs = abs / per_second;
    let frac = abs % per_second;
    Ok(format!(
        "{}{:02}:{:02}:{:02}.{:0w$}",
        if n < 0 { "-" } else { "" },
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        frac,
        w = frac_digits(per_second as i64)
    ))
}

/// Units since the epoch (no zone) → `YYYY-MM-DDTHH:MM:SS.fff`; `infinity` / `-infinity`
/// for Debezium's values of them. Total.
pub fn format_timestamp(n: i64, per_second: i64) -> Result<String, String> {
    if TIMESTAMP_INFINITY.contains(&n) {
        return Ok("infinity".into());
    }
    if TIMESTAMP_NEG_INFINITY.contains(&n) {
        return Ok("-infinity".into());
    }
    let per_second = per_second.max(1);
    let secs = n.div_euclid(per_second);
    let frac = n.rem_euclid(per_second);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let mut out = String::with_capacity(32);
    push_date(&mut out, i128::from(days));
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "T{:02}:{:02}:{:02}.{:0w$}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        frac,
        w = frac_digits(per_second)
    );
    Ok(out)
}

/// Appends the proleptic Gregorian date `days` after 1970-01-01, year as `java.time` prints
/// it: four digits at least, `+` past 9999, `-` before year 0 (year 0 is 1 BC).
fn push_date(out: &mut String, days: i128) {
    let (year, month, day) = civil_from_days(days);
    use std::fmt::Write as _;
    let _ = if year > 9999 {
        write!(out, "+{year}-{month:02}-{day:02}")
    } else if year < 0 {
        write!(out, "-{:04}-{month:02}-{day:02}", -year)
    } else {
        write!(out, "{year:04}-{month:02}-{day:02}")
    };
}

/// Howard Hinnant's `civil_from_days`: (year, month, day) of the day `days` after
/// 1970-01-01. In `i128`, so every `i64` day count (and a timestamp's) has one.
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seventh day from year -9999 to 9999 against the `time` crate's calendar
    /// (proleptic Gregorian too), which the decoder used before it was total.
    #[test]
    fn the_calendar_agrees_with_the_time_crate_over_its_range() {
        let first = time::Date::MIN.to_julian_day() - 2_440_588;
        let last = time::Date::MAX.to_julian_day() - 2_440_588;
        for days in (i64::from(first)..=i64::from(last)).step_by(7) {
            let d = time::Date::from_julian_day((days + 2_440_588) as i32).unwrap();
            let (y, m, dd) = civil_from_days(i128::from(days));
            assert_eq!(
                (y, m, dd),
                (
                    i128::from(d.year()),
                    u32::from(u8::from(d.month())),
                    u32::from(d.day())
                ),
                "day {days}"
            );
        }
    }

    #[test]
    fn dates_past_the_common_range_and_infinity() {
        assert_eq!(format_date(0).unwrap(), "1970-01-01");
        assert_eq!(format_date(-719_528).unwrap(), "0000-01-01");
        assert_eq!(format_date(-719_529).unwrap(), "-0001-12-31");
        assert_eq!(format_date(2_932_897).unwrap(), "+10000-01-01");
        assert_eq!(format_date(DATE_INFINITY).unwrap(), "infinity");
        assert_eq!(format_date(DATE_NEG_INFINITY).unwrap(), "-infinity");
        // The last date PostgreSQL holds, and its first (4714-11-24 BC).
        assert_eq!(format_date(2_145_042_905).unwrap(), "+5874897-12-31");
        assert_eq!(format_date(-2_440_588).unwrap(), "-4713-11-24");
        for days in [i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1] {
            let s = format_date(days).unwrap();
            assert!(s.len() > 10, "{s}");
        }
    }

    #[test]
    fn timestamps_of_every_size() {
        assert_eq!(
            format_timestamp(9_223_372_036_825_200_000, 1_000).unwrap(),
            "infinity"
        );
        assert_eq!(
            format_timestamp(9_223_372_036_825_200_000, 1_000_000).unwrap(),
            "infinity"
        );
        assert_eq!(
            format_timestamp(i64::MIN, 1_000_000_000).unwrap(),
            "-infinity"
        );
        assert_eq!(
            format_timestamp(-9_223_372_036_832_400_000, 1_000_000).unwrap(),
            "-infinity"
        );
        // Year 10000 and later, in µs (MicroTimestamp) and ms.
        assert_eq!(
            format_timestamp(253_402_300_800_000_000, 1_000_000).unwrap(),
            "+10000-01-01T00:00:00.000000"
        );
        assert_eq!(
            format_timestamp(253_402_300_799_999, 1_000).unwrap(),
            "9999-12-31T23:59:59.999"
        );
        assert_eq!(
            format_timestamp(-62_167_219_200_001, 1_000).unwrap(),
            "-0001-12-31T23:59:59.999"
        );
        for n in [i64::MAX - 1, i64::MIN + 1] {
            for unit in [1_000, 1_000_000, 1_000_000_000] {
                assert!(format_timestamp(n, unit).is_ok());
            }
        }
    }

    #[test]
    fn elapsed_times_past_a_day_or_negative() {
        assert_eq!(
            format_time_of_day(3_020_399_000_000, 1_000_000).unwrap(),
            "838:59:59.000000"
        );
        assert_eq!(
            format_time_of_day(-3_020_399_000_000, 1_000_000).unwrap(),
            "-838:59:59.000000"
        );
        assert_eq!(
            format_time_of_day(-5_400_000, 1_000).unwrap(),
            "-01:30:00.000"
        );
        assert_eq!(
            format_time_of_day(86_400_000, 1_000).unwrap(),
            "24:00:00.000"
        );
        assert!(format_time_of_day(i64::MIN, 1_000_000_000).is_ok());
        assert!(format_time_of_day(i64::MAX, 1_000).is_ok());
    }
}
