//! Wall-clock instants as plain data.

use core::fmt;

/// Seconds since the Unix epoch, UTC.
///
/// The lifecycle never reads a clock: every operation that depends on time takes a
/// `UnixTime` argument, so each time boundary is testable.
///
/// ```
/// use admin_mfa_lifecycle::UnixTime;
///
/// let t = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(t.saturating_add_secs(30).as_secs(), 1_700_000_030);
/// assert!(t < t.saturating_add_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct UnixTime(u64);

impl UnixTime {
    /// The Unix epoch itself (1970-01-01T00:00:00Z).
    pub const EPOCH: Self = Self(0);

    /// The instant `secs` seconds after the Unix epoch.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating at the largest representable instant.
    #[must_use]
    pub const fn saturating_add_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    #[must_use]
    pub const fn saturating_sub_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// Seconds from `earlier` to `self`, or 0 when `earlier` is later.
    #[must_use]
    pub const fn secs_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let max = UnixTime::from_secs(u64::MAX);
        assert_eq!(max.saturating_add_secs(1), max);
        assert_eq!(UnixTime::EPOCH.saturating_sub_secs(5), UnixTime::EPOCH);
        assert_eq!(
            UnixTime::from_secs(10).secs_since(UnixTime::from_secs(4)),
            6
        );
        assert_eq!(
            UnixTime::from_secs(4).secs_since(UnixTime::from_secs(10)),
            0
        );
    }
}
