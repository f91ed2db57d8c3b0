//! Counting tests from cargo test's `test result:` lines.

use std::fmt;
use std::ops::AddAssign;

/// Summed counts of one or more test binaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl TestCounts {
    /// Tests that actually ran.
    pub(crate) fn ran(&self) -> u64 {
        self.passed + self.failed
    }

    /// Parses `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`
    /// (also `FAILED.`); `None` for any other line.
    pub(crate) fn parse_line(line: &str) -> Option<Self> {
        let rest = line.trim().strip_prefix("test result: ")?;
        let (_status, fields) = rest.split_once(". ")?;
        let mut counts = Self::default();
        for field in fields.split(';') {
            let mut words = field.split_whitespace();
            let (Some(number), Some(label)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => counts.passed = number,
                "failed" => counts.failed = number,
                "ignored" => counts.ignored = number,
                _ => {}
            }
        }
        Some(counts)
    }
}

impl AddAssign for TestCounts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

impl fmt::Display for TestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} ignored",
            self.passed, self.failed, self.ignored
        )
    }
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn parses_ok_and_failed_lines() {
        let ok = "test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.31s";
        assert_eq!(
            TestCounts::parse_line(ok),
            Some(TestCounts {
                passed: 12,
                failed: 0,
                ignored: 2
            })
        );
        let failed = "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s";
        assert_eq!(TestCounts::parse_line(failed).unwrap().failed, 1);
        assert_eq!(TestCounts::parse_line("running 3 tests"), None);
        assert_eq!(TestCounts::parse_line("test foo ... ok"), None);
    }

    #[test]
    fn sums_binaries() {
        let mut total = TestCounts::default();
        total += TestCounts::parse_line("test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s").unwrap();
        total += TestCounts::parse_line("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s").unwrap();
        total += TestCounts::parse_line("   test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s").unwrap();
        assert_eq!(total.to_string(), "7 passed, 2 failed, 1 ignored");
        assert_eq!(total.ran(), 9);
    }
}
