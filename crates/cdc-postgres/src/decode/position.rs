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
    /// The token, written without the formatting machinery (it is made for every event):
    /// two hex digits per LSN byte and two decimal digits per step from lookup tables.
    pub fn token(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        const DEC: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
        if self.ordinal >= 10_000_000_000 {
            // More than 10 digits (never in practice): the general path.
            return format!("{:016X}:{:010}", self.commit_lsn.as_u64(), self.ordinal);
        }
        let mut b = [0u8; 27];
        for (i, byte) in self
            .commit_lsn
            .as_u64()
            .to_be_bytes()
            .into_iter()
            .enumerate()
        {
            b[2 * i] = HEX[usize::from(byte >> 4)];
            b[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        b[16] = b':';
        let mut ord = self.ordinal;
        for pair in (0..5).rev() {
            let d = (ord % 100) as usize * 2;
            ord /= 100;
            b[17 + 2 * pair] = DEC[d];
            b[18 + 2 * pair] = DEC[d + 1];
        }
        match String::from_utf8(b.to_vec()) {
            Ok(token) => token,
            // ASCII only: unreachable, but no panic on the event path.
            Err(_) => format!("{:016X}:{:010}", self.commit_lsn.as_u64(), self.ordinal),
        }
    }
}

/// The tokens of the positions at one commit LSN (the snapshot's consistent point): its
/// hex part is written once, each token costs its ordinal's digits and one allocation.
#[derive(Clone, Debug)]
pub struct Tokens {
    commit_lsn: Lsn,
    /// `<LSN as 16 hex digits>:`.
    prefix: String,
}

impl Tokens {
    /// Tokens at `commit_lsn`.
    pub fn new(commit_lsn: Lsn) -> Self {
        let mut prefix = PgPosition {
            commit_lsn,
            ordinal: 0,
        }
        .token();
        prefix.truncate(17);
        Self { commit_lsn, prefix }
    }

    /// The token of `ordinal`: the same as [`PgPosition::token`].
    pub fn token(&self, ordinal: u64) -> String {
        if ordinal >= 10_000_000_000 {
            return PgPosition {
                commit_lsn: self.commit_lsn,
                ordinal,
            }
            .token();
        }
        // Pairs of digits sliced from a `&str` table: appended without a UTF-8 check.
        const PAIRS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
        let mut token = String::with_capacity(27);
        token.push_str(&self.prefix);
        let mut div = 100_000_000u64;
        for _ in 0..5 {
            let pair = (ordinal / div % 100) as usize * 2;
            token.push_str(PAIRS.get(pair..pair + 2).unwrap_or("00"));
            div /= 100;
        }
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

    #[test]
    fn token_matches_the_formatted_form() {
        let lsns = [0u64, 1, 0xA5, 0x16B3748, 0xDEAD_BEEF_0123_4567, u64::MAX];
        let ordinals = [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12_345,
            999_999_999,
            1_000_000_000,
            9_999_999_999,
            10_000_000_000,
            u64::MAX,
        ];
        for lsn in lsns {
            for ordinal in ordinals {
                let p = PgPosition {
                    commit_lsn: Lsn::from_u64(lsn),
                    ordinal,
                };
                assert_eq!(p.token(), format!("{lsn:016X}:{ordinal:010}"));
                assert_eq!(Tokens::new(p.commit_lsn).token(ordinal), p.token());
            }
        }
    }
}
