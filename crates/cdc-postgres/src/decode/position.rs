//! [`PgPosition`]: an event's place in the stream, its [`cdc_core::Position`] token.

use std::fmt;
use std::str::FromStr;

use pgwire_replication::Lsn;

/// Where an event is: the LSN of its transaction's commit record and its ordinal in the
/// transaction (0, 1, ...). For snapshot rows: the slot's consistent point and the row's
/// ordinal in the snapshot.
///
/// The token is `<commit LSN as 16 hex digits>:<ordinal as 10 digits>`, so tokens sort as
/// the events are ordered: a handler deduplicating after a replay keeps the greatest token it
/// handled and skips events at or below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgPosition {
    /// The commit record's LSN.
    pub commit_lsn: Lsn,
    /// The event's ordinal in its transaction.
    pub ordinal: u64,
}

impl PgPosition {
    /// The token, written without the formatting machinery (it is made for every event).
    pub fn token(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut b = [0u8; 27];
        let lsn = self.commit_lsn.as_u64();
        for (i, slot) in b[..16].iter_mut().enumerate() {
            *slot = HEX[((lsn >> ((15 - i) * 4)) & 0xf) as usize];
        }
        b[16] = b':';
        let mut ord = self.ordinal;
        for slot in b[17..].iter_mut().rev() {
            *slot = b'0' + (ord % 10) as u8;
            ord /= 10;
        }
        if ord > 0 {
            // More than 10 digits (never in practice): the general path.
            return format!("{:016X}:{:010}", lsn, self.ordinal);
        }
        let mut token = String::with_capacity(b.len());
        token.extend(b.iter().map(|&c| char::from(c)));
        token
    }
}

impl fmt::Display for PgPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token())
    }
}

impl FromStr for PgPosition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (lsn, ord) = s
            .split_once(':')
            .ok_or_else(|| format!("position {s:?} is not <lsn hex>:<ordinal>"))?;
        let lsn =
            u64::from_str_radix(lsn, 16).map_err(|_| format!("position {s:?}: bad LSN part"))?;
        let ordinal = ord
            .parse()
            .map_err(|_| format!("position {s:?}: bad ordinal part"))?;
        Ok(Self {
            commit_lsn: Lsn::from_u64(lsn),
            ordinal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts() {
        let a = PgPosition {
            commit_lsn: Lsn::from_u64(0x16B3748),
            ordinal: 2,
        };
        let b = PgPosition {
            commit_lsn: Lsn::from_u64(0x1_0000_0000),
            ordinal: 0,
        };
        assert_eq!(a.to_string(), "00000000016B3748:0000000002");
        assert_eq!(a.token(), a.to_string());
        let big = PgPosition {
            commit_lsn: Lsn::from_u64(u64::MAX),
            ordinal: 12_345_678_901,
        };
        assert_eq!(big.token(), "FFFFFFFFFFFFFFFF:12345678901");
        assert_eq!(a.to_string().parse::<PgPosition>().unwrap(), a);
        assert!(a.to_string() < b.to_string() && a < b);
        assert!("x".parse::<PgPosition>().is_err());
    }
}
