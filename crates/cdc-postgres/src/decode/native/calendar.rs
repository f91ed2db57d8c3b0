//! PostgreSQL's calendar arithmetic as its C code does it (`j2date`, `timestamp2tm`): a
//! date or timestamp in its binary form (days or microseconds since 2000-01-01) as the
//! fields and digits of its ISO output. Separate from [`Native`](super::Native), which
//! reads the bytes: this is arithmetic on numbers, shared by dates and both timestamp
//! types, and it mirrors the server's code step by step.

use crate::decode::ascii::Ascii;

/// Days from the Julian day 0 to 2000-01-01 (PostgreSQL's epoch).
pub(super) const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
pub(super) const USECS_PER_DAY: i64 = 86_400_000_000;

/// PostgreSQL's `j2date`: a Julian day as (year, month, day); year 0 is 1 BC.
pub(super) fn j2date(jd: i64) -> (i64, u32, u32) {
    let mut julian = jd as u64 + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y as i64 - 4800;
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    (year, month as u32, day as u32)
}

/// `YYYY-MM-DD` as ISO output prints it (the year of a BC date counted from 1 BC).
pub(super) fn push_date<const N: usize>(a: &mut Ascii<N>, year: i64, month: u32, day: u32) {
    let shown = if year > 0 { year } else { 1 - year };
    a.padded(shown as u64, 4);
    a.push(b'-');
    a.two(u64::from(month));
    a.push(b'-');
    a.two(u64::from(day));
}

/// A finite timestamp, split as `timestamp2tm` does in UTC.
pub(super) struct Stamp {
    pub(super) year: i64,
    month: u32,
    day: u32,
    /// Microseconds into the day.
    time: i64,
}

impl Stamp {
    /// `None` for ±infinity and values outside the Julian day range.
    pub(super) fn of(micros: i64) -> Option<Self> {
        if micros == i64::MIN || micros == i64::MAX {
            return None;
        }
        let mut date = micros / USECS_PER_DAY;
        let mut time = micros - date * USECS_PER_DAY;
        if time < 0 {
            time += USECS_PER_DAY;
            date -= 1;
        }
        let jd = date + POSTGRES_EPOCH_JDATE;
        if !(0..=i64::from(i32::MAX)).contains(&jd) {
            return None;
        }
        let (year, month, day) = j2date(jd);
        Some(Self {
            year,
            month,
            day,
            time,
        })
    }

    /// `YYYY-MM-DD<sep>HH:MM:SS[.ffffff]` (fraction without trailing zeros, as
    /// `AppendTimestampSeconds`).
    pub(super) fn push_iso<const N: usize>(&self, a: &mut Ascii<N>, sep: u8) {
        push_date(a, self.year, self.month, self.day);
        a.push(sep);
        let secs = (self.time / 1_000_000) as u64;
        let mut fsec = (self.time % 1_000_000) as u64;
        a.two(secs / 3600);
        a.push(b':');
        a.two(secs / 60 % 60);
        a.push(b':');
        a.two(secs % 60);
        if fsec != 0 {
            a.push(b'.');
            let mut width = 6;
            while fsec.is_multiple_of(10) {
                fsec /= 10;
                width -= 1;
            }
            a.padded(fsec, width);
        }
    }
}
