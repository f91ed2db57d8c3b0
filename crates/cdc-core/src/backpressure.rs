//! [`BackpressureMonitor`]: lag against thresholds, with the Go package's semantics.

use serde::{Deserialize, Serialize};

use crate::status::CdcStatus;

/// Default byte threshold: 1 GiB.
pub const DEFAULT_THRESHOLD_LAG_BYTES: i64 = 1 << 30;
/// Default seconds threshold: 300 s.
pub const DEFAULT_THRESHOLD_LAG_SECONDS: i64 = 300;
/// Default warning multiplier.
pub const DEFAULT_WARNING_MULTIPLIER: f64 = 0.8;

/// How a source's lag compares with the thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Below the warning level.
    Healthy,
    /// At or above `warning_multiplier × threshold`.
    Warning,
    /// At or above a threshold.
    Critical,
}

impl Health {
    /// `healthy`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// Lag thresholds. A threshold of 0 (or less) turns that check off; a multiplier of 0 or less
/// means 0.8.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackpressureMonitor {
    /// Critical at or above this many bytes of lag.
    pub threshold_lag_bytes: i64,
    /// Critical at or above this many seconds of lag.
    pub threshold_lag_seconds: i64,
    /// Warning at or above this fraction of a threshold.
    pub warning_multiplier: f64,
}

impl Default for BackpressureMonitor {
    fn default() -> Self {
        Self {
            threshold_lag_bytes: DEFAULT_THRESHOLD_LAG_BYTES,
            threshold_lag_seconds: DEFAULT_THRESHOLD_LAG_SECONDS,
            warning_multiplier: DEFAULT_WARNING_MULTIPLIER,
        }
    }
}

/// The result of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackpressureStatus {
    /// The source.
    pub source_id: String,
    /// The lag in bytes that was evaluated.
    pub lag_bytes: i64,
    /// The lag in seconds that was evaluated.
    pub lag_seconds: i64,
    /// The verdict.
    pub status: Health,
}

impl BackpressureMonitor {
    /// A monitor with the given thresholds.
    pub fn new(
        threshold_lag_bytes: i64,
        threshold_lag_seconds: i64,
        warning_multiplier: f64,
    ) -> Self {
        Self {
            threshold_lag_bytes,
            threshold_lag_seconds,
            warning_multiplier,
        }
    }

    /// The multiplier in force (0.8 when the configured one is 0 or less).
    pub fn effective_multiplier(&self) -> f64 {
        if self.warning_multiplier <= 0.0 {
            DEFAULT_WARNING_MULTIPLIER
        } else {
            self.warning_multiplier
        }
    }

    /// Evaluates lag values: critical at or above a threshold, warning at or above
    /// multiplier × threshold, else healthy.
    pub fn evaluate(
        &self,
        source_id: &str,
        lag_bytes: i64,
        lag_seconds: i64,
    ) -> BackpressureStatus {
        let m = self.effective_multiplier();
        let over = |lag: i64, threshold: i64, factor: f64| {
            threshold > 0 && (lag as f64) >= (threshold as f64) * factor
        };
        let status = if over(lag_bytes, self.threshold_lag_bytes, 1.0)
            || over(lag_seconds, self.threshold_lag_seconds, 1.0)
        {
            Health::Critical
        } else if over(lag_bytes, self.threshold_lag_bytes, m)
            || over(lag_seconds, self.threshold_lag_seconds, m)
        {
            Health::Warning
        } else {
            Health::Healthy
        };
        BackpressureStatus {
            source_id: source_id.to_owned(),
            lag_bytes,
            lag_seconds,
            status,
        }
    }

    /// Evaluates a status's lag; unknown lag counts as 0.
    pub fn evaluate_status(&self, status: &CdcStatus) -> BackpressureStatus {
        self.evaluate(
            &status.source_id,
            status.lag_bytes.unwrap_or(0),
            status.lag_seconds.unwrap_or(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics() {
        let m = BackpressureMonitor::new(1000, 100, 0.8);
        assert_eq!(m.evaluate("s", 0, 0).status, Health::Healthy);
        assert_eq!(m.evaluate("s", 799, 79).status, Health::Healthy);
        assert_eq!(m.evaluate("s", 800, 0).status, Health::Warning);
        assert_eq!(m.evaluate("s", 0, 80).status, Health::Warning);
        assert_eq!(m.evaluate("s", 1000, 0).status, Health::Critical);
        assert_eq!(m.evaluate("s", 0, 100).status, Health::Critical);
        assert_eq!(m.evaluate("s", 999, 100).status, Health::Critical);
        // multiplier <= 0 means 0.8
        let m = BackpressureMonitor::new(1000, 100, 0.0);
        assert_eq!(m.evaluate("s", 800, 0).status, Health::Warning);
        assert_eq!(m.evaluate("s", 799, 0).status, Health::Healthy);
        // threshold 0 is off
        let m = BackpressureMonitor::new(0, 0, 0.8);
        assert_eq!(m.evaluate("s", i64::MAX, i64::MAX).status, Health::Healthy);
        // defaults
        let d = BackpressureMonitor::default();
        assert_eq!(d.threshold_lag_bytes, 1 << 30);
        assert_eq!(d.threshold_lag_seconds, 300);
        assert_eq!(d.evaluate("s", 0, 300).status, Health::Critical);
        assert_eq!(d.evaluate("s", 0, 240).status, Health::Warning);
    }
}
